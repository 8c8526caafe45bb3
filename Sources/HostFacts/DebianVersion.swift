/// A Debian package version as dpkg 1.21 reads it (lib/dpkg/parsehelp.c `parseversion`,
/// lib/dpkg/version.c `dpkg_version_compare`): `[epoch:]upstream[-revision]`, the epoch before the
/// first colon, the revision after the last hyphen. Ordering is dpkg's own, checked against
/// `dpkg --compare-versions` in the Debian 12 root (DebianVersionOracleTests).
package struct DebianVersion: Sendable, Comparable, CustomStringConvertible {
    package var epoch: Int
    package var upstream: String
    package var revision: String

    /// Nil for what dpkg refuses as a version: empty, a non-numeric or too large epoch, an empty
    /// upstream part, an empty revision after a hyphen, embedded blanks.
    package init?(_ text: some StringProtocol) {
        let s = text.trimmed
        guard !s.isEmpty, !s.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 }) else { return nil }
        var rest = s
        if let colon = s.firstIndex(of: ":") {
            let digits = s[..<colon]
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), digits.count <= 9, let e = Int(digits)
            else { return nil }
            epoch = e
            rest = s[s.index(after: colon)...]
        } else {
            epoch = 0
        }
        if let dash = rest.lastIndex(of: "-") {
            upstream = String(rest[..<dash])
            revision = String(rest[rest.index(after: dash)...])
            if revision.isEmpty { return nil }
        } else {
            upstream = String(rest)
            revision = ""
        }
        if upstream.isEmpty { return nil }
    }

    package var description: String {
        (epoch > 0 ? "\(epoch):" : "") + upstream + (revision.isEmpty ? "" : "-\(revision)")
    }

    /// Negative, zero or positive, as dpkg's `dpkg_version_compare`.
    package static func compare(_ a: DebianVersion, _ b: DebianVersion) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let u = verrevcmp(Array(a.upstream.utf8), Array(b.upstream.utf8))
        if u != 0 { return u }
        return verrevcmp(Array(a.revision.utf8), Array(b.revision.utf8))
    }

    package static func < (a: DebianVersion, b: DebianVersion) -> Bool { compare(a, b) < 0 }
    package static func == (a: DebianVersion, b: DebianVersion) -> Bool { compare(a, b) == 0 }

    /// dpkg's `verrevcmp`: alternating runs of non-digits (compared character by character by
    /// `order`: `~` before the end of the string, the end before letters, letters before every
    /// other character) and runs of digits (compared as numbers, leading zeros ignored).
    private static func verrevcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func order(_ s: [UInt8], _ i: Int) -> Int {
            guard i < s.count else { return 0 }
            let c = s[i]
            if isDigit(c) { return 0 }
            if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A { return Int(c) }
            if c == UInt8(ascii: "~") { return -1 }
            return Int(c) + 256
        }
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            var firstDiff = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = order(a, i)
                let bc = order(b, j)
                if ac != bc { return ac - bc }
                i += 1
                j += 1
            }
            while i < a.count, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count, b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.count, j < b.count, isDigit(a[i]), isDigit(b[j]) {
                if firstDiff == 0 { firstDiff = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDiff != 0 { return firstDiff }
        }
        return 0
    }
}
