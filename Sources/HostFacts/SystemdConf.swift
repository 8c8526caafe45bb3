internal import WardenCore
internal import WardenFormats

/// A systemd configuration file with its drop-ins, read as the systemd 252 daemon that owns it
/// reads it (docs/DAEMON-SEMANTICS.md, "journald.conf and coredump.conf"):
///
/// - **Files** (`config_parse_many_nulstr`, `conf_files_list_nulstr` with flags 0): the main
///   file `/etc/systemd/<name>`, then every `*.conf` not starting with `.` in `<name>.d/` under
///   /etc/systemd, /run/systemd, /usr/local/lib/systemd, /usr/lib/systemd and /lib/systemd
///   (Debian builds systemd 252 with split /usr), sorted by name as `strcmp` sorts bytes across
///   the directories, a name in an earlier directory hiding the same name in later ones. A link
///   to /dev/null (and an empty file) reads as empty; a link to nothing is skipped.
/// - **Lines** (`config_parse`, `parse_line`): `read_line()` ends a line at `\n`, `\r` or NUL;
///   a line whose first non-blank is `#` or `;` is a comment, even inside a continuation; a line
///   ending in an unescaped `\` continues on the next (the `\` becomes a space), and the joined
///   line is numbered by its last line; a byte-order mark is dropped once per file. Assignments
///   count only inside the daemon's section (`[Journal]`); other sections, lines outside any
///   section, lines without `=` or without a key, unknown keys and invalid values are ignored
///   (and listed); the later valid assignment wins; values are not unquoted.
/// - **Where the daemon stops.** A section header that does not end in `]` or holds a quote, a
///   backslash or a control character, a line that is not UTF-8, a drop-in that is a directory
///   or a line of 1 MiB: the daemon stops reading there, keeping what it read before, and reads
///   none of the later files. Warden does the same and lists where it stopped.
package struct SystemdConf {
    package struct Setting {
        package var value: String
        package var source: String
        var json: JSON { ["value": .string(value), "source": .string(source)] }
    }

    /// The effective value of each key (only keys the file set; defaults are the caller's).
    package var settings: [String: Setting] = [:]
    /// Lines (and files) the daemon ignores, with file:line and why, and where it stops reading.
    package var ignored: [String] = []
    /// The files the daemon reads, in its order (links to /dev/null included: they read as empty).
    package var files: [String] = []
    /// Files listed after the point where the daemon stopped reading.
    package var unread: [String] = []
    /// Files that could not be read (with errno).
    package var errors: [String] = []
    /// Every valid assignment of each key, in the daemon's order: list settings of unit files
    /// (`RestrictAddressFamilies=`) add up across lines until an empty assignment resets them.
    package var assignments: [String: [Setting]] = [:]
    /// Sections the daemon knows but the caller does not read (a unit file's `[Unit]` and
    /// `[Install]`): their lines are skipped without listing them as ignored.
    var quietSections: Set<String> = []

    static let dropInParents = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd"]
    static let longLine = 1 << 20

    /// The main file (if there is an entry of that name) and the drop-ins, in the daemon's order.
    package static func listing(root: HostRoot, name: String, problems: inout [String]) -> [String] {
        var byName: [[UInt8]: String] = [:]
        for parent in dropInParents {
            let dir = "\(parent)/\(name).d"
            let names: [String]
            do { names = try root.list(dir) } catch {
                if !error.isNotFound { problems.append(error.description) }
                continue
            }
            for entry in names where entry.hasSuffix(".conf") && !entry.hasPrefix(".") {
                let bytes = Array(entry.utf8)
                if byName[bytes] == nil { byName[bytes] = joinPath(dir, entry) }
            }
        }
        let main = "/etc/systemd/\(name)"
        let hasMain = (try? root.info(main, followFinal: false)) != nil
        return (hasMain ? [main] : []) + byName.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
    }

    /// Reads `/etc/systemd/<name>` and its drop-ins. `valid` says whether the daemon accepts a
    /// value; `known`, when given, is every key of the section the daemon knows (others are
    /// ignored and listed).
    package static func read(
        root: HostRoot, name: String, section: String, valid: [String: (String) -> Bool],
        known: Set<String>? = nil
    ) -> SystemdConf {
        var conf = SystemdConf()
        let daemon = "systemd-" + (name.hasSuffix(".conf") ? String(name.dropLast(5)) : name)
        let listed = listing(root: root, name: name, problems: &conf.errors)
        for (index, file) in listed.enumerated() {
            let stop: String?
            if root.isMasked(file) {
                conf.files.append(file)
                continue
            }
            if (try? root.info(file))?.kind == .directory {
                stop = "\(file): a directory: \(daemon) cannot read it"
            } else {
                switch root.readConfigFile(file, daemon: daemon) {
                case .bytes(let bytes):
                    conf.files.append(file)
                    stop = conf.parse(bytes, file: file, section: section, valid: valid, known: known, daemon: daemon)
                case .skipped(let reason):
                    conf.ignored.append("\(file): \(reason)")
                    stop = nil
                case .failed(let problem):
                    conf.errors.append(problem)
                    stop = nil
                }
            }
            if let stop {
                conf.unread = Array(listed[(index + 1)...])
                let later = conf.unread.isEmpty ? "" : "; the later files are not read: " + conf.unread.joined(separator: ", ")
                conf.ignored.append("\(stop): \(daemon) stops reading its configuration here\(later)")
                break
            }
        }
        return conf
    }

    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    static func strip(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = s
        while let f = s.first, isBlank(f) { s = s.dropFirst() }
        while let l = s.last, isBlank(l) { s = s.dropLast() }
        return s
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Parses one file (config_parse). Returns why the daemon stops reading, or nil.
    mutating func parse(
        _ bytes: [UInt8], file: String, section wanted: String, valid: [String: (String) -> Bool],
        known: Set<String>?, daemon: String
    ) -> String? {
        let (lines, overlong) = SysctlProbe.systemdLines(bytes)
        var state = LineState()
        var number = 0
        var continuation: [UInt8]?
        var bomAllowed = true
        for range in lines {
            number += 1
            let buffer = bytes[range]
            if let first = buffer.first(where: { !SystemdConf.isBlank($0) }), first == UInt8(ascii: "#") || first == UInt8(ascii: ";") {
                continue
            }
            var text = buffer
            if bomAllowed, text.starts(with: SystemdConf.byteOrderMark) {
                text = text.dropFirst(3)
                bomAllowed = false
            }
            var joined = (continuation ?? []) + text
            var escaped = false
            for c in joined { escaped = escaped ? false : c == UInt8(ascii: "\\") }
            if escaped {
                joined[joined.count - 1] = 0x20
                continuation = joined
                continue
            }
            continuation = nil
            if let stop = parseLine(joined[...], at: "\(file):\(number)", section: wanted, state: &state, valid: valid, known: known) {
                return stop
            }
        }
        if let overlong {
            return "\(file):\(overlong): a line of \(SystemdConf.longLine) bytes or more"
        }
        if let continuation {
            number += 1
            return parseLine(continuation[...], at: "\(file):\(number)", section: wanted, state: &state, valid: valid, known: known)
        }
        return nil
    }

    struct LineState {
        var section: String?
        var sectionIgnored = false
    }

    /// parse_line(): one logical line. Returns why the daemon stops reading, or nil.
    mutating func parseLine(
        _ raw: ArraySlice<UInt8>, at here: String, section wanted: String, state: inout LineState,
        valid: [String: (String) -> Bool], known: Set<String>?
    ) -> String? {
        let line = SystemdConf.strip(raw)
        guard !line.isEmpty else { return nil }
        // utf8_is_valid(): UTF-8 without surrogates or noncharacters (U+FDD0…U+FDEF, U+xFFFE, U+xFFFF).
        guard let text = String(validating: line, as: UTF8.self),
            !text.unicodeScalars.contains(where: { (0xFDD0...0xFDEF).contains($0.value) || $0.value & 0xFFFE == 0xFFFE })
        else {
            return "\(here): not valid UTF-8"
        }
        if line.first == UInt8(ascii: "[") {
            guard line.count >= 2, line.last == UInt8(ascii: "]") else {
                return "\(here): invalid section header `\(text)`"
            }
            let name = line.dropFirst().dropLast()
            if name.contains(where: {
                ($0 > 0 && $0 < 0x20) || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\")
            }) {
                return "\(here): bad characters in section header `\(text)`"
            }
            let section = String(decoding: name, as: UTF8.self)
            if section == wanted {
                state.section = section
                state.sectionIgnored = false
            } else {
                state.section = nil
                state.sectionIgnored = true
                if !section.hasPrefix("X-") && !quietSections.contains(section) {
                    ignored.append("\(here): unknown section [\(section)]: its lines are ignored")
                }
            }
            return nil
        }
        guard state.section != nil else {
            if !state.sectionIgnored { ignored.append("\(here): assignment outside of a section, ignored") }
            return nil
        }
        guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else {
            ignored.append("\(here): not a `Key=value` line")
            return nil
        }
        guard eq != line.startIndex else {
            ignored.append("\(here): no key before `=`, ignored")
            return nil
        }
        let key = String(decoding: SystemdConf.strip(line[..<eq]), as: UTF8.self)
        let value = String(decoding: SystemdConf.strip(line[(eq + 1)...]), as: UTF8.self)
        if let known, !known.contains(key) {
            if !key.hasPrefix("X-") { ignored.append("\(here): unknown key `\(key)` in [\(wanted)], ignored") }
            return nil
        }
        if let check = valid[key], !check(value) {
            ignored.append("\(here): invalid \(key)=\(value) (systemd ignores it)")
            return nil
        }
        settings[key] = Setting(value: value, source: here)
        assignments[key, default: []].append(Setting(value: value, source: here))
        return nil
    }

    /// The value of `key`, or the compiled-in default.
    func value(_ key: String, default value: String) -> Setting {
        settings[key] ?? Setting(value: value, source: "default (systemd)")
    }

    /// systemd's boolean syntax (parse_boolean).
    package static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "1", "yes", "y", "true", "t", "on": true
        case "0", "no", "n", "false", "f", "off": false
        default: nil
        }
    }

    static func isBool(_ s: String) -> Bool { parseBool(s) != nil }

    /// A size as systemd's parse_size(…, 1024) reads it, in bytes: one or more terms, each a
    /// decimal number (an optional fraction, blanks allowed before the suffix) with one of the
    /// suffixes E, P, T, G, M, K, B or none, in decreasing order (`1G 512M`, `1.5G`, `2 G`).
    /// `infinity`, `-1`, `0x10`, `1GB` and the empty string are refused.
    package static func parseSize(_ s: String) -> UInt64? {
        let suffixes: [(String, UInt64)] = [
            ("E", 1 << 60), ("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1), ("", 1),
        ]
        let b = Array(s.utf8)
        func blank(_ c: UInt8) -> Bool { isBlank(c) }
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        var p = 0
        var total: UInt64 = 0
        var start = 0
        repeat {
            while p < b.count, blank(b[p]) { p += 1 }
            // strtoull(p, &e, 10): blanks were skipped; an optional sign, then digits.
            var e = p
            if e < b.count, b[e] == UInt8(ascii: "-") { return nil }
            if e < b.count, b[e] == UInt8(ascii: "+") { e += 1 }
            let digitsStart = e
            while e < b.count, digit(b[e]) { e += 1 }
            guard e > digitsStart else { return nil }
            var whole: UInt64 = 0
            for c in b[digitsStart..<e] {
                let (m, o1) = whole.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                guard !o1, !o2 else { return nil }
                whole = a
            }
            var fraction = 0.0
            if e < b.count, b[e] == UInt8(ascii: ".") {
                e += 1
                if e < b.count, digit(b[e]) {
                    let fractionStart = e
                    var l2: UInt64 = 0
                    var overflow = false
                    while e < b.count, digit(b[e]) {
                        let (m, o1) = l2.multipliedReportingOverflow(by: 10)
                        let (a, o2) = m.addingReportingOverflow(UInt64(b[e] - 0x30))
                        if o1 || o2 { overflow = true }
                        l2 = a
                        e += 1
                    }
                    guard !overflow else { return nil }
                    fraction = Double(l2)
                    for _ in fractionStart..<e { fraction /= 10 }
                }
            }
            while e < b.count, blank(b[e]) { e += 1 }
            guard let i = (start..<suffixes.count).first(where: { b[e...].starts(with: Array(suffixes[$0].0.utf8)) }) else { return nil }
            let factor = suffixes[i].1
            guard whole <= UInt64.max / factor - (fraction > 0 ? 1 : 0) else { return nil }
            let term = whole * factor + UInt64(fraction * Double(factor))
            guard term <= UInt64.max - total else { return nil }
            total += term
            p = e + suffixes[i].0.utf8.count
            start = i + 1
        } while p < b.count
        return total
    }
}
