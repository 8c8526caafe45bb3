internal import WardenFormats

/// Control files in dpkg's format (deb-control(5), lib/dpkg/parse.c of dpkg 1.21): stanzas of
/// `Name: value` fields separated by empty lines, a line starting with a space or tab continuing
/// the field before it. Only the fields asked for are kept (their first line, trimmed), so the
/// package lists of a whole archive are read without keeping them.
package enum Deb822 {
    package struct Stanza {
        package var line: Int
        package var fields: [String: String]
    }

    package struct Malformed: Error {
        package var line: Int
        package var reason: String
    }

    package static func stanzas(_ bytes: [UInt8], keeping wanted: Set<String>) throws(Malformed) -> [Stanza] {
        var out: [Stanza] = []
        var current: Stanza?
        var seen: Set<Substring> = []
        var number = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            number += 1
            let line = bytes[start..<end]
            start = end + 1
            guard let first = line.first else {
                if let c = current { out.append(c) }
                current = nil
                seen = []
                continue
            }
            if first == 0x20 || first == 0x09 {
                // dpkg: a continuation line with no field before it is a field name that is empty.
                if current == nil { throw Malformed(line: number, reason: "a continuation line with no field before it") }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw Malformed(line: number, reason: "a field name must be followed by a colon")
            }
            let name = Substring(decoding: line[line.startIndex..<colon], as: UTF8.self)
            if name.isEmpty || name.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 }) {
                throw Malformed(line: number, reason: "'\(name)' is not a field name")
            }
            if current == nil { current = Stanza(line: number, fields: [:]) }
            // dpkg refuses a field given twice in one stanza ("duplicate value for … field").
            guard seen.insert(name).inserted else { throw Malformed(line: number, reason: "duplicate field '\(name)'") }
            if wanted.contains(String(name)) {
                current?.fields[String(name)] = String(Substring(decoding: line[(colon + 1)...], as: UTF8.self).trimmed)
            }
        }
        if let c = current { out.append(c) }
        return out
    }
}

/// apt's downloaded package lists (/var/lib/apt/lists) and the Release file each came with.
enum AptLists {
    static let directory = "/var/lib/apt/lists"

    struct Release {
        var path: String
        var suite: String?
        var codename: String?
        var date: Timestamp?
        var rawDate: String?

        /// A security archive: Debian's `bookworm-security` (Suite `stable-security`), Ubuntu's
        /// `jammy-security`. The name apt gave the file is not trusted for this, only its fields.
        var isSecurity: Bool {
            [suite, codename].contains { $0?.hasSuffix("-security") == true }
        }
    }

    /// The Release file (InRelease preferred, as apt does) that a list file came with: apt names
    /// both after their URI with `/` turned into `_` (`…_dists_bookworm-security_InRelease` for
    /// `…_dists_bookworm-security_main_binary-amd64_Packages`), so the longest prefix of the
    /// list's name that has one is its own.
    static func releaseFile(of listName: String, among names: Set<String>) -> String? {
        var prefix = Substring(listName)
        while let underscore = prefix.lastIndex(of: "_") {
            prefix = prefix[..<underscore]
            for kind in ["_InRelease", "_Release"] where names.contains(prefix + kind) { return String(prefix + kind) }
        }
        return nil
    }

    /// The fields of a Release or InRelease file. An InRelease file is an OpenPGP clearsigned
    /// message: the fields are between the armour header's blank line and the signature, with
    /// dash-escaped lines. The signature is apt's to check when it fetched the file; Warden
    /// does not verify it (docs/DAEMON-SEMANTICS.md).
    static func readRelease(_ bytes: [UInt8], path: String) throws(Deb822.Malformed) -> Release {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("-----BEGIN PGP SIGNED MESSAGE-----") {
            var body: [Substring] = []
            var inHeader = true
            for line in lines(text).dropFirst() {
                if inHeader {
                    if line.trimmed.isEmpty { inHeader = false }
                    continue
                }
                if line.hasPrefix("-----BEGIN PGP SIGNATURE-----") { break }
                body.append(line.hasPrefix("- ") ? line.dropFirst(2) : line)
            }
            text = body.joined(separator: "\n")
        }
        let stanzas = try Deb822.stanzas(Array(text.utf8), keeping: ["Suite", "Codename", "Date"])
        guard let fields = stanzas.first?.fields else { throw Deb822.Malformed(line: 1, reason: "no fields") }
        var release = Release(path: path, suite: fields["Suite"], codename: fields["Codename"], rawDate: fields["Date"])
        if let raw = fields["Date"] {
            guard let date = parseDate(raw) else { throw Deb822.Malformed(line: 1, reason: "Date '\(raw)' is not an RFC 1123 date") }
            release.date = date
        }
        return release
    }

    /// An RFC 1123 date as apt's `RFC1123StrToTime` accepts it in Release files:
    /// `Sat, 28 Nov 2026 10:00:00 UTC` (also `GMT`, `Z`, `+0000`, or a numeric offset).
    static func parseDate(_ text: String) -> Timestamp? {
        var words = text.words.map(String.init)
        if let first = words.first, first.hasSuffix(",") { words.removeFirst() }
        guard words.count == 5 else { return nil }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        guard let day = Int(words[0]), (1...31).contains(day), let m = months.firstIndex(of: words[1].lowercased()),
            let year = Int(words[2]), words[2].count == 4
        else { return nil }
        let clock = words[3].split(separator: ":")
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && Int($0) != nil }) else { return nil }
        let zone: String
        switch words[4] {
        case "UTC", "GMT", "Z", "+0000", "-0000": zone = "Z"
        case let z where z.count == 5 && (z.first == "+" || z.first == "-") && Int(z.dropFirst()) != nil:
            zone = "\(z.prefix(3)):\(z.suffix(2))"
        default: return nil
        }
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return Timestamp(rfc3339: "\(year)-\(two(m + 1))-\(two(day))T\(clock.joined(separator: ":"))\(zone)")
    }
}
