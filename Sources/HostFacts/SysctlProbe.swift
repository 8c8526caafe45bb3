internal import Glibc
public import WardenCore
package import WardenFormats

/// Kernel parameters as they are now (`/proc/sys`) and as systemd-sysctl will set them at the next
/// boot, read the way systemd 252 (Debian 12) reads sysctl.d (docs/DAEMON-SEMANTICS.md):
///
/// - Files: every `*.conf` entry not starting with `.` in /etc/sysctl.d, /run/sysctl.d,
///   /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d, whatever its type, sorted by
///   name across the directories; a name in an earlier directory hides it in the later ones (a
///   link to /dev/null so masks it). /etc/sysctl.conf counts only through Debian's
///   /etc/sysctl.d/99-sysctl.conf link; where procps' `sysctl --system` (which reads it last) would
///   end with another value, the evidence says so.
/// - Lines: `key = value`; `-key = value` (a failed write is not an error); `-key` (no `=`: the
///   key is set by no glob); `#` and `;` comments. A line without `=` is ignored with a warning, as
///   systemd-sysctl does: shown in the evidence, never an error.
/// - Keys: `.` or `/` separate components; when the first separator is a dot, dots and slashes
///   swap (`net.ipv4.conf.eth0/100.rp_filter` is net/ipv4/conf/eth0.100/rp_filter).
/// - A later assignment replaces an earlier one. A key with glob characters (`*?[`) applies to every
///   matching kernel key that has no entry of its own (explicit settings win whatever their order).
///
/// For each key Warden checks, the fact holds `values`: the runtime value (live) and the persistent
/// value, each with its source. A control passes only when every entry satisfies it; a key no file
/// sets keeps the kernel's built-in default (from the kernel's configuration in /boot), and where
/// that is not known (or the kernel would refuse the value) the persistent entry's value is null,
/// which satisfies nothing.
public struct SysctlProbe: Probe {
    public init() {}
    public let name = "sysctl"
    public let summary = "kernel parameters: runtime /proc/sys and persistent sysctl.d, as systemd-sysctl 252 applies them"
    public let reads = [
        "/proc/sys/<key>", "/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf", "/usr/local/lib/sysctl.d/*.conf",
        "/usr/lib/sysctl.d/*.conf", "/lib/sysctl.d/*.conf", "/etc/sysctl.conf",
    ]
    public var facts: [String: FactType] {
        [
            "sysctl": SysctlProbe.keys.reduce(
                FactType.object([
                    "files": .strings, "problems": .strings, "ignored": .strings, "runtime_available": .bool,
                ])
            ) { tree, key in
                // Each checked key sits at its dotted path; `values` holds the runtime and the persistent value.
                let value: FactType = SysctlProbe.textKeys.contains(key) ? .string : .int
                return tree.inserting(
                    .object(["values": .list(.sourced(.optional(value)))]), at: key.split(separator: ".").map(String.init))
            }
        ]
    }

    /// systemd 252's CONF_PATHS("sysctl.d") as Debian builds it (split-usr: /lib too), in precedence order.
    package static let directories = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"]

    /// The keys controls check. A control naming another key finds no value (an error, not a pass).
    public static let keys = [
        "kernel.yama.ptrace_scope", "kernel.kptr_restrict", "kernel.dmesg_restrict", "kernel.unprivileged_bpf_disabled",
        "kernel.perf_event_paranoid", "net.core.bpf_jit_harden", "kernel.kexec_load_disabled", "kernel.core_pattern",
        "fs.suid_dumpable", "vm.unprivileged_userfaultfd", "user.max_user_namespaces", "kernel.sysrq",
        "fs.protected_hardlinks", "fs.protected_symlinks", "kernel.randomize_va_space", "kernel.modules_disabled",
    ]

    /// Keys the kernel takes as text (proc_dostring); the others are one C int.
    static let textKeys: Set<String> = ["kernel.core_pattern"]

    /// The values the kernel accepts for the bounded integer keys (their proc_dointvec_minmax
    /// limits); a write outside is refused with EINVAL and the key keeps the value it had.
    static let ranges: [String: ClosedRange<Int64>] = [
        "kernel.yama.ptrace_scope": 0...3, "kernel.kptr_restrict": 0...2, "kernel.dmesg_restrict": 0...1,
        "kernel.unprivileged_bpf_disabled": 0...2, "net.core.bpf_jit_harden": 0...2, "kernel.kexec_load_disabled": 1...1,
        "fs.suid_dumpable": 0...2, "vm.unprivileged_userfaultfd": 0...1, "user.max_user_namespaces": 0...Int64(Int32.max),
        "fs.protected_hardlinks": 0...1, "fs.protected_symlinks": 0...1, "kernel.modules_disabled": 1...1,
    ]

    /// systemd's LONG_LINE_MAX: a line this long ends the reading of its file.
    static let lineLimit = 1 << 20

    // MARK: - systemd-sysctl's table

    /// One entry of systemd-sysctl's ordered table of options.
    package struct Option: Sendable, Hashable {
        /// Normalised as systemd normalises it: `/`-separated, simplified (`kernel/yama/ptrace_scope`).
        package var key: String
        /// The key as the line wrote it.
        package var written: String
        /// nil for `-key` (a "negative match": excludes the key from globs, sets nothing).
        package var value: String?
        package var ignoreFailure: Bool
        /// `file:line`.
        package var source: String
        package var fileIndex: Int

        /// systemd's string_is_glob().
        package var isGlob: Bool { key.utf8.contains { $0 == 0x2A || $0 == 0x3F || $0 == 0x5B } }
    }

    /// A line or file systemd-sysctl skips (with a warning, or silently).
    package struct Ignored: Sendable, Hashable {
        package var location: String
        package var reason: String
        package var text: String?

        package var description: String { text.map { "\(location): \(reason): `\($0)`" } ?? "\(location): \(reason)" }
    }

    /// How systemd-sysctl would end up setting one key.
    package enum Effective: Sendable, Hashable {
        case unset
        /// The key's own entry, with a value.
        case explicit(Option)
        /// The key's own entry is `-key`: no glob sets it, and nothing else does.
        case excluded(Option)
        /// No entry of its own; the last glob entry (in table order) that matches it.
        case glob(Option)

        package var option: Option? {
            switch self {
            case .unset: nil
            case .explicit(let o), .excluded(let o), .glob(let o): o
            }
        }

        /// The value the kernel would be asked to take, or nil.
        package var value: String? {
            switch self {
            case .explicit(let o), .glob(let o): o.value
            case .unset, .excluded: nil
            }
        }
    }

    /// systemd-sysctl's OrderedHashmap of options (parse_file): a new key is appended; a key
    /// assigned again with the same value stays where it is (its source becomes the later line);
    /// with another value (or turned into or out of `-key`) it is removed and appended anew.
    package struct Table: Sendable {
        private var slots: [Option?] = []
        private var index: [[UInt8]: Int] = [:]
        /// For each key, the last file (by index) that had an entry for it: a file that cannot be
        /// read decides nothing about a key a later file names.
        private var lastNamed: [[UInt8]: Int] = [:]
        package var ignored: [Ignored] = []

        package init() {}

        /// The entries in the order systemd-sysctl applies them.
        package var options: [Option] { slots.compactMap { $0 } }

        mutating func put(_ option: Option) {
            let k = Array(option.key.utf8)
            lastNamed[k] = max(lastNamed[k] ?? -1, option.fileIndex)
            if let i = index[k], let existing = slots[i] {
                if existing.value == option.value {
                    // The entry keeps its place, but the line that decides is the later one:
                    // editing the earlier line alone would change nothing.
                    var later = option
                    later.ignoreFailure = existing.ignoreFailure || option.ignoreFailure
                    slots[i] = later
                    return
                }
                slots[i] = nil
            }
            index[k] = slots.count
            slots.append(option)
        }

        package func lastFileNaming(_ key: String) -> Int? { lastNamed[Array(key.utf8)] }

        /// What the table sets `key` (normalised) to: its own entry wins over every glob.
        package func effective(_ key: String) -> Effective {
            if let i = index[Array(key.utf8)], let own = slots[i] {
                return own.value == nil ? .excluded(own) : .explicit(own)
            }
            var winner: Option?
            for case let option? in slots where option.value != nil && option.isGlob && SysctlProbe.glob(option.key, matches: key) {
                winner = option
            }
            return winner.map { .glob($0) } ?? .unset
        }
    }

    // MARK: - Collecting

    /// Everything systemd-sysctl would read from a root: the files in order, the table they make,
    /// what it skips, and what could not be read (with the indexes of the unreadable files).
    package struct Reading: Sendable {
        package var files: [String] = []
        package var table = Table()
        package var ignored: [Ignored] = []
        package var problems: [String] = []
        package var listingFailed = false
        package var unreadable: [Int] = []

        /// Whether the table decides `key` (normalised): nothing unread could have named it after
        /// the last file that does.
        package func decides(_ key: String) -> Bool {
            !listingFailed && unreadable.allSatisfy { $0 < (table.lastFileNaming(key) ?? -1) }
        }
    }

    package static func read(root: HostRoot) -> Reading {
        var r = Reading()
        r.files = configFiles(root: root, problems: &r.problems)
        r.listingFailed = !r.problems.isEmpty
        for (i, file) in r.files.enumerated() {
            switch root.readConfigFile(file, daemon: "systemd-sysctl") {
            case .bytes(let bytes): parse(bytes, file: file, fileIndex: i, into: &r.table)
            case .skipped(let reason): r.ignored.append(Ignored(location: file, reason: reason))
            case .failed(let problem):
                r.problems.append(problem)
                r.unreadable.append(i)
            }
        }
        r.ignored += r.table.ignored
        return r
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let reading = SysctlProbe.read(root: root)
        let (files, table, notes, problems) = (reading.files, reading.table, reading.ignored, reading.problems)
        // procps reads /etc/sysctl.conf last, whether or not 99-sysctl.conf links to it.
        var procps = Table()
        if root.exists("/etc/sysctl.conf"), case .bytes(let bytes) = root.readConfigFile("/etc/sysctl.conf", daemon: "procps") {
            SysctlProbe.parse(bytes, file: "/etc/sysctl.conf", fileIndex: 0, into: &procps)
        }

        let hasProcSys = root.isDirectory("/proc/sys")
        let kernelDefaults = KernelDefaults.read(root, live: root.isLive)
        let offline = hasProcSys ? "" : "; offline root: no runtime value, decided on this alone"
        var tree: JSONObject = [:]
        for key in SysctlProbe.keys {
            var values: [JSON] = []
            if hasProcSys {
                let path = "/proc/sys/" + key.replacingDots()
                do {
                    let raw = try root.readText(path, limit: 65536)
                    // A text key stays text whatever it holds (a core_pattern of digits is not a number).
                    let text = String(raw.trimmed)
                    values.append([
                        "value": SysctlProbe.textKeys.contains(key) ? .string(text) : SysctlProbe.typed(text),
                        "source": .string("\(path) (runtime)"),
                    ])
                } catch {
                    if error.isNotFound {
                        values.append(["value": .null, "source": .string("\(path) (runtime): not present in this kernel")])
                    } else {
                        values.append(["source": .string(path), "error": .string(error.description)])
                    }
                }
            }
            let slashed = SysctlProbe.slashed(key)
            // A file that could not be read may have set the key, unless a later file names it.
            if reading.decides(slashed) {
                let effective = table.effective(slashed)
                let procpsValue = procps.effective(slashed)
                var persistent = SysctlProbe.persistent(key, effective, offline: offline, defaults: kernelDefaults)
                var source = persistent["source"]?.stringValue ?? ""
                if case .explicit(let p) = procpsValue, let v = p.value {
                    if let mine = effective.value, v != mine {
                        source += "; note: `sysctl --system` would end with \(v) from \(p.source)"
                    } else if effective.value == nil, effective.option == nil {
                        source = "not applied at boot by systemd-sysctl (only \(p.source), which procps reads but systemd-sysctl does not)"
                    }
                }
                let relevant = notes.filter { $0.concerns(key) }
                if !relevant.isEmpty {
                    source += "; systemd-sysctl ignores " + relevant.map(\.description).joined(separator: "; ")
                }
                persistent["source"] = .string(source)
                values.append(.object(persistent))
            } else {
                // A line systemd-sysctl could not read may have been meant for this key: undecided.
                for problem in problems { values.append(["source": "sysctl configuration", "error": .string(problem)]) }
            }
            tree.insert(["values": .array(values)], at: key.split(separator: ".").map(String.init))
        }
        var fact = tree
        fact["files"] = .array(files.map { .string($0) })
        fact["problems"] = .array(problems.map { .string($0) })
        fact["ignored"] = .array(notes.map { .string($0.description) })
        fact["runtime_available"] = .bool(hasProcSys)
        return ["sysctl": .value(.object(fact))]
    }

    /// The persistent entry of one key: the value the kernel would take, and where it comes from.
    /// A key no file sets keeps the kernel's own default (`KernelDefaults`), when it is known.
    static func persistent(_ key: String, _ effective: Effective, offline: String, defaults: KernelDefaults? = nil) -> JSONObject {
        switch effective {
        case .unset:
            if let (value, why) = defaults?.value(key) {
                return ["value": value, "source": .string("not set in any sysctl.d file: the kernel's default (\(why))")]
            }
            return [
                "value": .null,
                "source": .string(
                    "not set in any sysctl.d file, and the kernel's default is not known\(defaults == nil ? " (no kernel configuration in /boot)" : "")"
                ),
            ]
        case .excluded(let o):
            if let (value, why) = defaults?.value(key) {
                return [
                    "value": value,
                    "source": .string(
                        "\(o.source): `-\(o.written)` excludes the key from globs, so it keeps the kernel's default (\(why))"),
                ]
            }
            return [
                "value": .null,
                "source": .string(
                    "\(o.source) (persistent\(offline); `-\(o.written)` excludes the key from globs: systemd-sysctl does not set it)"),
            ]
        case .explicit(let o), .glob(let o):
            let raw = o.value ?? ""
            var qualifiers = "persistent\(offline)"
            if case .glob = effective { qualifiers += "; by the glob `\(o.written)`" }
            switch SysctlProbe.kernelValue(key, raw) {
            case .success(let value):
                return ["value": value, "source": .string("\(o.source) (\(qualifiers))")]
            case .failure(let refusal):
                return [
                    "value": .null,
                    "source": .string(
                        "\(o.source) (\(qualifiers); `\(raw)` \(refusal.reason): the kernel refuses the write and keeps the value it had)"),
                ]
            }
        }
    }

    package struct Refusal: Error { package var reason: String }

    /// The value the kernel stores for a write of `raw` (what systemd-sysctl writes, stripped):
    /// text for text keys; for integer keys one C int as proc_dointvec reads it (an optional `-`,
    /// then decimal, `0x` hexadecimal or `0` octal), within the key's limits.
    package static func kernelValue(_ key: String, _ raw: String) -> Result<JSON, Refusal> {
        if textKeys.contains(key) { return .success(.string(raw)) }
        var digits = Substring(raw)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        guard let first = digits.first, first.isASCII, first.isNumber else { return .failure(Refusal(reason: "is not an integer")) }
        var radix = 10
        let lower = digits.lowercased()
        if lower.hasPrefix("0x"), lower.count > 2, lower.dropFirst(2).first?.isHexDigit == true {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.first == "0", digits.count > 1 {
            radix = 8
            digits = digits.dropFirst()
        }
        guard digits.allSatisfy({ $0.isASCII && $0.isHexDigit }), let magnitude = UInt64(digits, radix: radix) else {
            return .failure(Refusal(reason: "is not an integer"))
        }
        let limit: UInt64 = negative ? UInt64(Int32.max) + 1 : UInt64(Int32.max)
        guard magnitude <= limit else { return .failure(Refusal(reason: "does not fit in an int")) }
        let value = negative ? -Int64(magnitude) : Int64(magnitude)
        if let range = ranges[key], !range.contains(value) {
            return .failure(Refusal(reason: "is outside \(range.lowerBound)…\(range.upperBound)"))
        }
        return .success(.int(value))
    }

    // MARK: - Files

    /// The files systemd 252's conf_files_list_strv(".conf", CONF_PATHS("sysctl.d")) returns, in
    /// order: entries ending in `.conf` and not starting with `.`, of any type (a link to
    /// /dev/null, a dangling link or a directory still takes its name), the first directory
    /// holding a name winning, sorted by name as strcmp sorts. A directory that exists but cannot
    /// be listed goes into `problems`.
    package static func configFiles(root: HostRoot, problems: inout [String]) -> [String] {
        var byName: [[UInt8]: String] = [:]
        for dir in directories {
            let names: [String]
            do { names = try root.list(dir) } catch {
                if !error.isNotFound { problems.append(error.description) }
                continue
            }
            for name in names where name.hasSuffix(".conf") && !name.hasPrefix(".") {
                let bytes = Array(name.utf8)
                if byName[bytes] == nil { byName[bytes] = joinPath(dir, name) }
            }
        }
        return byName.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
    }

    // MARK: - Parsing

    /// Adds the lines of one sysctl.d file to systemd-sysctl's table (parse_file()).
    package static func parse(_ bytes: [UInt8], file: String, fileIndex: Int, into table: inout Table) {
        let (lines, overlong) = systemdLines(bytes)
        for (n, range) in lines.enumerated() {
            let here = "\(file):\(n + 1)"
            var p = strip(bytes[range])
            guard let first = p.first, first != UInt8(ascii: "#"), first != UInt8(ascii: ";") else { continue }
            var ignoreFailure = false
            let value: String?
            if let eq = p.firstIndex(of: UInt8(ascii: "=")) {
                value = String(decoding: strip(p[(eq + 1)...]), as: UTF8.self)
                p = p[..<eq]
                if first == UInt8(ascii: "-") {
                    ignoreFailure = true
                    p = p.dropFirst()
                }
            } else if first == UInt8(ascii: "-") {
                value = nil
                p = p.dropFirst()
            } else {
                table.ignored.append(
                    Ignored(location: here, reason: "not an assignment (no `=`), ignored", text: String(decoding: p, as: UTF8.self)))
                continue
            }
            let written = String(decoding: strip(p), as: UTF8.self)
            let key = String(decoding: normalize(Array(strip(p))), as: UTF8.self)
            if key.isEmpty {
                table.ignored.append(
                    Ignored(
                        location: here, reason: "empty key: nothing can be written",
                        text: String(decoding: strip(bytes[range]), as: UTF8.self)))
            }
            table.put(Option(key: key, written: written, value: value, ignoreFailure: ignoreFailure, source: here, fileIndex: fileIndex))
        }
        if let overlong {
            table.ignored.append(
                Ignored(
                    location: "\(file):\(overlong)",
                    reason: "line of \(lineLimit) bytes or more: systemd-sysctl stops reading the file here"))
        }
    }

    /// Fuzzing entry point (Fuzz/Targets): one file parsed as systemd-sysctl parses it, then what
    /// it sets for the keys Warden checks (dotted), lines systemd-sysctl ignores as problems.
    package struct Assignment {
        package var value: String
        package var source: String
    }

    package static func parse(_ text: String, file: String, into values: inout [String: Assignment], problems: inout [String]) {
        var table = Table()
        parse(Array(text.utf8), file: file, fileIndex: 0, into: &table)
        for key in keys {
            let effective = table.effective(slashed(key))
            if let o = effective.option, let v = effective.value { values[key] = Assignment(value: v, source: o.source) }
        }
        problems += table.ignored.map(\.description)
    }

    /// The lines of a file as systemd's read_line() splits them: `\n`, `\r`, `\0`, and the pairs
    /// and triples of them listed in fileio.c (`\r\n`, `\n\r`, `\n\0`, …), each end one line.
    /// `overlong` is the number of the line that reached LONG_LINE_MAX (reading stops there).
    package static func systemdLines(_ b: [UInt8]) -> (lines: [Range<Int>], overlong: Int?) {
        var lines: [Range<Int>] = []
        var i = 0
        while i < b.count {
            let start = i
            var end = i
            var previous: UInt8 = 0
            while true {
                if end - start >= lineLimit { return (lines, lines.count + 1) }
                guard i < b.count else { break }
                let c = b[i]
                let eol: UInt8 = c == 0x0A ? 1 : c == 0x0D ? 2 : c == 0 ? 4 : 0
                if previous & 4 != 0 || (eol == 0 && previous != 0) || (eol != 0 && previous & eol != 0) { break }
                i += 1
                if eol != 0 {
                    previous |= eol
                    continue
                }
                end = i
            }
            lines.append(start..<end)
        }
        return (lines, nil)
    }

    /// strstrip(): without leading and trailing spaces, tabs, carriage returns and newlines.
    static func strip(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        var s = s
        while let f = s.first, blank(f) { s = s.dropFirst() }
        while let l = s.last, blank(l) { s = s.dropLast() }
        return s
    }

    /// systemd's sysctl_normalize(): when the first separator is a dot, dots and slashes swap;
    /// then path_simplify() (no empty or `.` components, no trailing slash) and no leading slash.
    package static func normalize(_ key: [UInt8]) -> [UInt8] {
        let dot = UInt8(ascii: ".")
        let slash = UInt8(ascii: "/")
        var s = key
        if let n = s.firstIndex(where: { $0 == dot || $0 == slash }), s[n] == dot {
            for i in n..<s.count {
                if s[i] == dot { s[i] = slash } else if s[i] == slash { s[i] = dot }
            }
        }
        guard !s.isEmpty else { return s }
        let absolute = s[0] == slash
        let components = s.split(separator: slash).filter { $0.count != 1 || $0.first != dot }
        var out: [UInt8] = absolute ? [slash] : []
        out += components.joined(separator: [slash])
        if out.isEmpty { out = [dot] }
        if out.count > 1, out[0] == slash { out.removeFirst() }
        return out
    }

    /// A dotted key (`kernel.yama.ptrace_scope`) in systemd's normalised form.
    package static func slashed(_ key: String) -> String { String(decoding: normalize(Array(key.utf8)), as: UTF8.self) }

    /// Whether the glob entry `pattern` (normalised) reaches the existing kernel key `key`
    /// (normalised), as glob(3) with GLOB_BRACE finds it under /proc/sys: each brace alternative
    /// matched with fnmatch(FNM_PATHNAME | FNM_PERIOD), `*` never crossing a `/`.
    package static func glob(_ pattern: String, matches key: String) -> Bool {
        braceAlternatives(Array(pattern.utf8)).contains { alternative in
            fnmatch(String(decoding: alternative, as: UTF8.self), key, FNM_PATHNAME | FNM_PERIOD) == 0
        }
    }

    /// glibc's GLOB_BRACE expansion: the first unescaped `{` with its matching `}` (nested braces
    /// and `\` escapes respected) gives one pattern per top-level `,` alternative, each expanded
    /// again; a `{` without its `}` is taken literally.
    static func braceAlternatives(_ p: [UInt8]) -> [[UInt8]] {
        let open = UInt8(ascii: "{")
        let close = UInt8(ascii: "}")
        let comma = UInt8(ascii: ",")
        let backslash = UInt8(ascii: "\\")
        var begin = 0
        while begin < p.count {
            if p[begin] == backslash, begin + 1 < p.count {
                begin += 2
                continue
            }
            if p[begin] == open { break }
            begin += 1
        }
        guard begin < p.count else { return [p] }
        // next_brace_sub(): the end of one alternative (a `,` at depth 0, or the closing `}`).
        func nextSub(_ from: Int) -> Int? {
            var cp = from
            var depth = 0
            while cp < p.count {
                if p[cp] == backslash {
                    cp += 1
                    if cp >= p.count { break }
                    cp += 1
                    continue
                }
                if p[cp] == close {
                    if depth == 0 { return cp }
                    depth -= 1
                } else if p[cp] == comma && depth == 0 {
                    return cp
                }
                if p[cp] == open { depth += 1 }
                cp += 1
            }
            return nil
        }
        var ends: [Int] = []
        guard var next = nextSub(begin + 1) else { return [p] }
        ends.append(next)
        while p[next] != close {
            guard let n = nextSub(next + 1) else { return [p] }
            next = n
            ends.append(n)
        }
        let prefix = p[..<begin]
        let rest = p[(next + 1)...]
        var out: [[UInt8]] = []
        var start = begin + 1
        for end in ends {
            out += braceAlternatives(Array(prefix) + p[start..<end] + rest)
            start = end + 1
        }
        return out
    }

    /// Integers as integers (so `gte` works), anything else as the trimmed string (runtime values
    /// and kernel command line parameters).
    static func typed(_ value: String) -> JSON {
        if let i = Int64(value) { return .int(i) }
        return .string(value)
    }
}

extension SysctlProbe.Ignored {
    /// Whether an ignored line names `key` (dotted), in either spelling.
    func concerns(_ key: String) -> Bool {
        guard let text else { return false }
        return text.contains(key) || text.contains(key.replacingDots())
    }
}

/// What reading one configuration file of a drop-in directory came to.
enum ConfigRead {
    case bytes([UInt8])
    /// The daemon skips it (a dangling link, a directory): why, for the evidence.
    case skipped(String)
    /// It could not be read: whatever it says is unknown.
    case failed(String)
}

extension HostRoot {
    /// Reads a file listed in a drop-in directory the way the daemons treat it: a link to
    /// /dev/null is empty; a link to nothing inside the root is skipped (the daemons skip a file
    /// that does not exist); a directory is skipped. A link that climbs out of the root, a loop,
    /// a FIFO or device, a file too large or unreadable is a failure: what it holds is unknown.
    func readConfigFile(_ path: String, daemon: String) -> ConfigRead {
        if isMasked(path) { return .bytes([]) }
        if leavesRoot(path) {
            return .failed(
                "\(path): a link that leads out of the root (the audited host's \(daemon) would read whatever is there; Warden does not follow it)"
            )
        }
        if (try? info(path))?.kind == .directory { return .skipped("a directory: \(daemon) reads nothing from it") }
        do { return .bytes(try read(path)) } catch {
            if error.isNotFound { return .skipped("a link to nothing: \(daemon) skips a file that does not exist") }
            return .failed(error.description)
        }
    }

    /// Whether following the chain of links at `path` climbs above the root with `..` (chroot
    /// semantics would clamp it at the root; the host's daemon would not).
    func leavesRoot(_ path: String) -> Bool {
        var current = path
        for _ in 0..<HostRoot.maxLinks {
            guard let target = try? readLink(current) else { return false }
            if target.hasPrefix("/") {
                current = target
                continue
            }
            var parts = current.split(separator: "/").dropLast().map(String.init)
            for component in target.split(separator: "/") where component != "." {
                if component == ".." {
                    if parts.isEmpty { return true }
                    parts.removeLast()
                } else {
                    parts.append(String(component))
                }
            }
            current = "/" + parts.joined(separator: "/")
        }
        return false
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}

extension JSONObject {
    /// Inserts `value` at a nested key path, creating objects on the way.
    mutating func insert(_ value: JSON, at path: [String]) {
        guard let first = path.first else { return }
        if path.count == 1 {
            self[first] = value
            return
        }
        var child = self[first]?.objectValue ?? [:]
        child.insert(value, at: Array(path.dropFirst()))
        self[first] = .object(child)
    }
}

/// The values the kernel gives the checked keys at boot when nothing sets them (Linux 6.1 as Debian
/// 12 builds it), from the build configuration in /boot/config-VERSION of the kernel that will
/// boot: the running one live (its release in /proc/sys/kernel/osrelease), else the newest
/// installed. Keys whose default depends on the machine (user.max_user_namespaces) have none.
struct KernelDefaults {
    let release: String
    let config: [String: String]

    static func read(_ root: HostRoot, live: Bool) -> KernelDefaults? {
        var release: String?
        if live, let text = try? root.readText("/proc/sys/kernel/osrelease", limit: 256) { release = String(text.trimmed) }
        if release == nil {
            let installed = ((try? root.list("/boot")) ?? []).filter { $0.hasPrefix("config-") }.map { String($0.dropFirst(7)) }
            release = installed.sorted { versionOrder($0, $1) < 0 }.last
        }
        guard let release, let text = try? root.readText("/boot/config-" + release, limit: 4 << 20) else { return nil }
        var config: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("CONFIG_") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            config[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return KernelDefaults(release: release, config: config)
    }

    /// The default of `key` and why, or nil when it is not known.
    func value(_ key: String) -> (JSON, String)? {
        func yes(_ option: String) -> Bool { config[option] == "y" }
        let from = "/boot/config-\(release)"
        switch key {
        case "kernel.yama.ptrace_scope":
            return yes("CONFIG_SECURITY_YAMA") ? (1, "Yama is built in, \(from)") : nil
        case "kernel.dmesg_restrict":
            return (yes("CONFIG_SECURITY_DMESG_RESTRICT") ? 1 : 0, "CONFIG_SECURITY_DMESG_RESTRICT in \(from)")
        case "kernel.unprivileged_bpf_disabled":
            return (yes("CONFIG_BPF_UNPRIV_DEFAULT_OFF") ? 2 : 0, "CONFIG_BPF_UNPRIV_DEFAULT_OFF in \(from)")
        case "kernel.perf_event_paranoid":
            // Debian's patch: CONFIG_SECURITY_PERF_EVENTS_RESTRICT makes it 3; upstream's is 2.
            return (yes("CONFIG_SECURITY_PERF_EVENTS_RESTRICT") ? 3 : 2, "CONFIG_SECURITY_PERF_EVENTS_RESTRICT in \(from)")
        case "kernel.sysrq":
            guard let raw = config["CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE"] else { return nil }
            let value = raw.hasPrefix("0x") ? Int64(raw.dropFirst(2), radix: 16) : Int64(raw)
            return value.map { (.int($0), "CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE=\(raw) in \(from)") }
        case "kernel.randomize_va_space":
            return (yes("CONFIG_COMPAT_BRK") ? 1 : 2, "CONFIG_COMPAT_BRK in \(from)")
        case "kernel.kptr_restrict", "net.core.bpf_jit_harden", "kernel.kexec_load_disabled", "fs.suid_dumpable",
            "vm.unprivileged_userfaultfd", "fs.protected_hardlinks", "fs.protected_symlinks", "kernel.modules_disabled":
            return (0, "the kernel's built-in 0, \(from)")
        case "kernel.core_pattern":
            return ("core", "the kernel's built-in `core`, \(from)")
        default:
            return nil
        }
    }
}
