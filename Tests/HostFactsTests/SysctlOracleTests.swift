import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Differential tests of SysctlProbe against systemd 252 itself (docs/DAEMON-SEMANTICS.md).
///
/// No tool prints the values systemd-sysctl would set without setting them, so the real tool
/// checks what it can print read-only: `systemd-analyze cat-config sysctl.d --root=TREE` lists
/// the files systemd-sysctl reads, in its order, each followed by its lines as systemd's
/// read_line() splits them. Warden's file list and line split must be the same. The values are
/// then checked against sysctl.d(5) and sysctl.c: by a small reference written here from them,
/// fed with the tool's own files and lines (for the generated trees), and by hand-checked
/// expectations (for the fixtures).
@Suite struct SysctlOracleTests {
    static let analyze = "/usr/bin/systemd-analyze"

    // MARK: - What the tool says

    /// The files `systemd-analyze cat-config` printed (paths inside the root) with their lines,
    /// and the file it stopped at (a dangling link, a directory), if any.
    struct ToolView {
        var files: [(path: String, lines: [String])] = []
        var stoppedAt: String?
    }

    static func catConfig(_ root: String) throws -> ToolView {
        let r = run(analyze, ["cat-config", "sysctl.d", "--root=\(root)", "--no-pager"], timeout: 30)
        var view = ToolView()
        let prefix = "# \(root)/"
        for line in byteLines(r.stdout) {
            if line.hasPrefix(prefix) {
                // cat_file() prints an empty line before every header but the first.
                if var last = view.files.popLast() {
                    if last.lines.last == "" { last.lines.removeLast() }
                    view.files.append(last)
                }
                view.files.append((String(line.dropFirst(prefix.count - 1)), []))
            } else if !view.files.isEmpty {
                view.files[view.files.count - 1].lines.append(line)
            } else if !line.isEmpty {
                Issue.record("cat-config printed a line before any file: \(line)")
            }
        }
        if r.status != 0 {
            let marker = "Failed to cat \(root)"
            let failure = try #require(byteLines(r.stderr).first { $0.hasPrefix(marker) }, "systemd-analyze failed: \(r.stderr)")
            let path = String(failure.dropFirst(marker.count).prefix { $0 != ":" })
            view.stoppedAt = path
            if view.files.last?.path != path { view.files.append((path, [])) }
        }
        return view
    }

    /// Warden's view of the same root: the files and, for each file it reads, its lines.
    static func wardenView(_ root: String) throws -> (reading: SysctlProbe.Reading, lines: [String: [String]]) {
        let host = try HostRoot(root)
        let reading = SysctlProbe.read(root: host)
        var lines: [String: [String]] = [:]
        for file in reading.files {
            let bytes = (try? host.read(file)) ?? []
            lines[file] = SysctlProbe.systemdLines(bytes).lines.map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        return (reading, lines)
    }

    /// Files and lines must be the tool's; where the tool stopped, up to that file.
    static func expectSameFiles(
        _ root: String, _ tool: ToolView, _ warden: (reading: SysctlProbe.Reading, lines: [String: [String]]), _ label: String
    ) {
        let toolPaths = tool.files.map(\.path)
        if tool.stoppedAt != nil {
            #expect(Array(warden.reading.files.prefix(toolPaths.count)) == toolPaths, "\(label): files")
        } else {
            #expect(warden.reading.files == toolPaths, "\(label): files")
        }
        for (path, lines) in tool.files where path != tool.stoppedAt {
            #expect(warden.lines[path] == lines, "\(label): lines of \(path)")
        }
    }

    // MARK: - The reference (sysctl.d(5), sysctl.c), fed with the tool's lines

    enum Reference {
        struct Entry {
            var key: String
            var value: String?
            var source: String
            var ordinal: Int
        }

        /// "If the first separator is a slash, remaining slashes and dots are left intact. If the
        /// first separator is a dot, dots and slashes are interchanged." Then the path is
        /// simplified: no empty or `.` components, no leading slash.
        static func normalize(_ key: String) -> String {
            var chars = Array(key)
            if let i = chars.firstIndex(where: { $0 == "." || $0 == "/" }), chars[i] == "." {
                chars = chars.map { $0 == "." ? "/" : $0 == "/" ? "." : $0 }
            }
            let parts = String(chars).split(separator: "/").filter { $0 != "." }
            if parts.isEmpty { return chars.first == "/" ? "/" : (chars.isEmpty ? "" : ".") }
            return parts.joined(separator: "/")
        }

        static func blank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" }

        static func trim(_ s: Substring) -> Substring {
            var s = s
            while let f = s.first, blank(f) { s = s.dropFirst() }
            while let l = s.last, blank(l) { s = s.dropLast() }
            return s
        }

        /// Lines in file order: assignments and `-key` lines; lines without `=` are invalid.
        static func entries(_ files: [(path: String, lines: [String])]) -> (entries: [Entry], invalid: [String]) {
            var out: [Entry] = []
            var invalid: [String] = []
            for (path, lines) in files {
                for (n, raw) in lines.enumerated() {
                    let t = trim(Substring(raw))
                    guard let c = t.first, c != "#", c != ";" else { continue }
                    let key: Substring
                    let value: String?
                    if let eq = t.firstIndex(of: "=") {
                        key = c == "-" ? t[t.index(after: t.startIndex)..<eq] : t[..<eq]
                        value = String(trim(t[t.index(after: eq)...]))
                    } else if c == "-" {
                        key = t.dropFirst()
                        value = nil
                    } else {
                        invalid.append("\(path):\(n + 1)")
                        continue
                    }
                    out.append(Entry(key: normalize(String(trim(key))), value: value, source: "\(path):\(n + 1)", ordinal: out.count))
                }
            }
            return (out, invalid)
        }

        /// Where a key's entry ends up in the ordered table: an assignment of the same value as
        /// the one before it keeps the earlier place, and is the line that decides.
        static func final(_ lines: [Entry]) -> Entry? {
            guard var kept = lines.first else { return nil }
            for e in lines.dropFirst() {
                if e.value == kept.value { kept.source = e.source } else { kept = e }
            }
            return kept
        }

        /// The value systemd-sysctl writes to `key`, and the line it comes from.
        static func effective(_ key: String, _ entries: [Entry]) -> (value: String?, source: String?) {
            if let own = final(entries.filter { $0.key == key }) { return (own.value, own.source) }
            let globs = Dictionary(grouping: entries.filter { $0.key.contains(where: { "*?[".contains($0) }) }, by: \.key)
            let applying = globs.values.compactMap(final).filter { $0.value != nil && SysctlProbe.glob($0.key, matches: key) }
            guard let last = applying.max(by: { $0.ordinal < $1.ordinal }) else { return (nil, nil) }
            return (last.value, last.source)
        }

        /// What the kernel stores for an integer key (proc_dointvec_minmax): one C int, decimal,
        /// `0x` hexadecimal or `0` octal, within the key's documented limits.
        static let limits: [String: ClosedRange<Int64>] = [
            "kernel.yama.ptrace_scope": 0...3, "kernel.kptr_restrict": 0...2, "kernel.dmesg_restrict": 0...1,
            "kernel.unprivileged_bpf_disabled": 0...2, "net.core.bpf_jit_harden": 0...2, "kernel.kexec_load_disabled": 1...1,
            "fs.suid_dumpable": 0...2, "vm.unprivileged_userfaultfd": 0...1, "user.max_user_namespaces": 0...2_147_483_647,
            "fs.protected_hardlinks": 0...1, "fs.protected_symlinks": 0...1, "kernel.modules_disabled": 1...1,
        ]

        static func stored(_ key: String, _ value: String?) -> JSON {
            guard let value else { return .null }
            if key == "kernel.core_pattern" { return .string(value) }
            var s = Substring(value)
            var sign: Int64 = 1
            if s.hasPrefix("-") {
                sign = -1
                s = s.dropFirst()
            }
            let n: Int64?
            if s.lowercased().hasPrefix("0x"), s.count > 2 {
                n = s.dropFirst(2).allSatisfy(\.isHexDigit) ? Int64(s.dropFirst(2), radix: 16) : nil
            } else if s.hasPrefix("0") {
                n = s.allSatisfy { ("0"..."7").contains($0) } ? Int64(s, radix: 8) : nil
            } else {
                n = s.allSatisfy { ("0"..."9").contains($0) } && !s.isEmpty ? Int64(s) : nil
            }
            guard let n, sign * n >= -2_147_483_648, sign * n <= 2_147_483_647 else { return .null }
            if let r = limits[key], !r.contains(sign * n) { return .null }
            return .int(sign * n)
        }
    }

    /// Warden's persistent value of each checked key, from the probe's fact.
    static func persistentValues(_ root: String) throws -> [String: (value: JSON?, source: String)] {
        let facts = SysctlProbe().collect(ProbeContext(root: try HostRoot(root), site: nil))
        guard case .value(let fact)? = facts["sysctl"] else { throw Failure("no sysctl fact") }
        var out: [String: (JSON?, String)] = [:]
        for key in SysctlProbe.keys {
            var node: JSON? = fact
            for part in key.split(separator: ".") { node = node?[String(part)] }
            let persistent = node?["values"]?.arrayValue?.last
            out[key] = (persistent?["value"], persistent?["source"]?.stringValue ?? persistent?["error"]?.stringValue ?? "")
        }
        return out
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Compares a root three ways: files and lines with the tool; values and ignored lines with
    /// the reference fed with the tool's lines.
    static func check(_ root: String, _ label: String) throws {
        let tool = try catConfig(root)
        let warden = try wardenView(root)
        expectSameFiles(root, tool, warden, label)
        guard tool.stoppedAt == nil else { return }
        let (entries, invalid) = Reference.entries(tool.files)
        let wardenInvalid = warden.reading.ignored.filter { $0.reason.hasPrefix("not an assignment") }.map(\.location)
        #expect(wardenInvalid == invalid, "\(label): lines systemd-sysctl ignores")
        let values = try persistentValues(root)
        for key in SysctlProbe.keys {
            let (value, source) = Reference.effective(Reference.normalize(key), entries)
            let expected = Reference.stored(key, value)
            let mine = values[key]
            #expect(
                mine?.value == expected,
                "\(label): \(key): Warden \(String(describing: mine)), reference \(expected) from \(source ?? "nothing")")
            if let source, expected != .null {
                #expect(mine?.source.hasPrefix(source + " (") == true, "\(label): \(key) from \(source): \(mine?.source ?? "")")
            }
        }
    }

    // MARK: - Fixtures: the tool, the reference and hand-checked values

    static let fixtures = [
        "sysctl-etc-masks-usr-lib", "sysctl-persistent-ok-runtime-wrong", "sysctl-runtime-ok-persistent-wrong",
        "sysctl-upstream-50-default", "sysctl-every-form-passes", "sysctl-explicit-beats-later-glob",
        "host-conformant", "host-debian-default",
    ]

    @Test(arguments: fixtures)
    func fixtureAgreesWithSystemd(_ name: String) throws {
        try Self.check(Package.fixtureRoot(name), name)
    }

    /// Values worked out by hand from sysctl.d(5) for the fixtures written for it (keys not listed: not set).
    static let handChecked: [String: [String: JSON]] = [
        "sysctl-upstream-50-default": [
            "kernel.sysrq": 16, "fs.protected_hardlinks": 1, "fs.protected_symlinks": 1,
            "kernel.core_pattern": "|/lib/systemd/systemd-coredump %P %u %g %s %t %c %h",
        ],
        "sysctl-every-form-passes": [
            "kernel.yama.ptrace_scope": 2, "kernel.kptr_restrict": 2, "kernel.dmesg_restrict": 1, "kernel.unprivileged_bpf_disabled": 1,
            "kernel.perf_event_paranoid": 3, "net.core.bpf_jit_harden": 2, "kernel.kexec_load_disabled": 1,
            "vm.unprivileged_userfaultfd": 0,
            "user.max_user_namespaces": 0, "kernel.sysrq": 0, "fs.protected_hardlinks": 1, "fs.protected_symlinks": 1,
            "kernel.randomize_va_space": 2, "kernel.core_pattern": "|/bin/false", "fs.suid_dumpable": 0, "kernel.modules_disabled": 1,
        ],
        "sysctl-explicit-beats-later-glob": ["kernel.yama.ptrace_scope": 0, "kernel.sysrq": 1, "kernel.dmesg_restrict": 1],
    ]

    @Test(arguments: handChecked.keys.sorted())
    func fixtureValuesAreTheHandCheckedOnes(_ name: String) throws {
        let values = try Self.persistentValues(Package.fixtureRoot(name))
        for key in SysctlProbe.keys {
            #expect(values[key]?.value == (Self.handChecked[name]?[key] ?? .null), "\(name): \(key): \(String(describing: values[key]))")
        }
    }

    @Test func fixturesPassAndFailAsTheyShould() throws {
        let passing = try audit(root: Package.fixtureRoot("sysctl-every-form-passes"), profile: "sl4", probes: [SysctlProbe()]).findings
        for id in ["HRD-001", "HRD-002", "HRD-003", "HRD-004", "HRD-007", "HRD-010"] {
            #expect(passing[id].status == .pass, "\(id): \(passing[id].summary)")
        }
        let failing = try audit(root: Package.fixtureRoot("sysctl-explicit-beats-later-glob"), probes: [SysctlProbe()]).findings
        for id in ["HRD-001", "HRD-002", "HRD-010"] {
            #expect(failing[id].status == .fail, "\(id): \(failing[id].summary)")
        }
        #expect(failing["HRD-002"].evidence.contains { $0.source.contains("`-kernel.kptr_restrict` excludes the key from globs") })
    }

    /// This machine's own configuration, with systemd-analyze's default directories: Warden's
    /// directory list is systemd's.
    @Test func thisMachinesConfigurationAgrees() throws {
        let r = run(Self.analyze, ["cat-config", "sysctl.d", "--no-pager"], timeout: 30)
        try #require(r.status == 0, "\(r.stderr)")
        let directories = Set(SysctlProbe.directories + ["/usr/lib/sysctl.d"])
        let toolPaths = byteLines(r.stdout).filter { line in
            line.hasPrefix("# /")
                && directories.contains(String(line.dropFirst(2).split(separator: "/").dropLast().joined(separator: "/")).withLeadingSlash)
        }.map { String($0.dropFirst(2)) }
        let warden = SysctlProbe.read(root: try HostRoot("/"))
        #expect(warden.files == toolPaths)
    }

    // MARK: - Generated trees

    /// 120 trees built from the line forms systemd-sysctl accepts or warns about.
    @Test(arguments: 0..<120)
    func generatedTreeAgreesWithSystemd(_ seed: Int) throws {
        let tree = TempTree(prefix: "warden-sysctl-oracle")
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 7)
        SysctlTreeGenerator.build(tree, &rng)
        try Self.check(tree.path, "seed \(seed)")
    }
}

/// Splits tool output at newline bytes only (Swift's "\r\n" is one Character).
func byteLines(_ s: String) -> [String] {
    var lines = s.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// A small, fixed-seed generator (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &self)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

/// Trees of sysctl.d files from a grammar of the forms seen in the wild and in sysctl.d(5).
enum SysctlTreeGenerator {
    static let keys = SysctlProbe.keys + ["kernel.core_uses_pid", "net.ipv4.conf.all.rp_filter", "kernel.yama"]
    static let globs = [
        "kernel.yama.*", "kernel.*.ptrace_scope", "kernel.sys*", "kernel.*_restrict", "fs.protected_*",
        "fs.protected_*links", "kernel/*/ptrace_scop?", "kernel.[ks]ysrq", "kernel.{sysrq,kptr_restrict}*",
        "net.ipv4.conf.*.rp_filter", "*.sysrq", "kernel.*", "kernel.yama.ptrace_scope*", "vm.*", "user.max_*",
    ]
    static let values = [
        "0", "1", "2", "3", "16", "0x2", "010", "08", "-1", "abc", "1 # trailing comment", "", "|/bin/false",
        "2147483648", "0 2147483647", "|/usr/lib/systemd/systemd-coredump %P %u",
    ]

    /// One spelling of a key: dotted, slashed, with a leading slash, doubled or trailing separators,
    /// or a slash after a dot (another key: the dot stays inside a component).
    static func spell(_ key: String, _ rng: inout SplitMix64) -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1: return key.replacingDots()
        case 2: return "/" + key.replacingDots()
        case 3: return key.replacingFirstDot(with: "..")
        case 4: return key + "."
        case 5: return key.replacingFirstDot(with: "/")
        default: return key
        }
    }

    static func line(_ rng: inout SplitMix64) -> String {
        let key = rng.chance(0.25) ? rng.pick(globs) : spell(rng.pick(keys), &rng)
        let value = rng.pick(values)
        switch Int.random(in: 0..<24, using: &rng) {
        case 0...5: return "\(key) = \(value)"
        case 6, 7: return "\(key)=\(value)"
        case 8: return "  \(key)\t=\t\(value)  "
        case 9, 10: return "-\(key) = \(value)"
        case 11: return "- \(key) =\(value)"
        case 12, 13: return "-\(key)"
        case 14: return "- \(key) "
        case 15: return "# \(key) = \(value)"
        case 16: return "; \(key) = \(value)"
        case 17: return "   # indented \(key)"
        case 18: return rng.pick(["", "   ", "\t"])
        case 19: return "\(key) \(value)"
        case 20: return rng.pick(["this is not a setting", "[section]", "kernel.sysrq"])
        case 21: return rng.pick(["= \(value)", "=", "-", "- = 1"])
        case 22: return "\(key) = \(value) = \(value)"
        default: return "\(key)  =  \(value)\t"
        }
    }

    static func content(_ rng: inout SplitMix64) -> [UInt8] {
        let lines = (0..<Int.random(in: 0...12, using: &rng)).map { _ in line(&rng) }
        let style = Int.random(in: 0..<20, using: &rng)
        var text: String
        switch style {
        case 0...13: text = lines.joined(separator: "\n") + "\n"
        case 14, 15: text = lines.joined(separator: "\r\n") + "\r\n"
        case 16: text = lines.joined(separator: "\r")
        case 17: text = lines.enumerated().map { $0.offset % 3 == 2 ? $0.element + "\n\r" : $0.element + "\n" }.joined()
        case 18: text = lines.joined(separator: "\n")
        default: text = lines.joined(separator: "\n\n")
        }
        var bytes = Array(text.utf8)
        if rng.chance(0.05), !bytes.isEmpty { bytes.insert(0, at: Int.random(in: 0..<bytes.count, using: &rng)) }
        return bytes
    }

    static func build(_ tree: TempTree, _ rng: inout SplitMix64) {
        let merged = rng.chance(0.3)
        if merged { tree.symlink("lib", to: "usr/lib") }
        let dirs = ["etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d"] + (merged ? [] : ["lib/sysctl.d"])
        let names = [
            "10-a.conf", "20-b.conf", "50-default.conf", "60-warden.conf", "99-sysctl.conf", "z.conf", "A.conf", "_x.conf",
            ".hidden.conf", "notes.txt", "60-warden.conf.dpkg-old", "conf", "60-warden.conf~",
        ]
        if rng.chance(0.8) { tree.bytes("etc/sysctl.conf", content(&rng)) }
        var made: Set<String> = []
        for _ in 0..<Int.random(in: 1...7, using: &rng) {
            let dir = rng.pick(dirs)
            let path = dir + "/" + rng.pick(names)
            guard made.insert(path).inserted else { continue }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<8: tree.symlink(path, to: "/dev/null")
            case 8..<14: tree.symlink(path, to: String(repeating: "../", count: dir.split(separator: "/").count) + "etc/sysctl.conf")
            case 14..<16: tree.symlink(path, to: "missing.conf")
            case 16..<18: tree.directory(path)
            default: tree.bytes(path, content(&rng))
            }
        }
    }
}

extension String {
    var withLeadingSlash: String { "/" + self }

    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }

    func replacingFirstDot(with replacement: String) -> String {
        guard let i = firstIndex(of: ".") else { return self }
        return String(self[..<i]) + replacement + String(self[index(after: i)...])
    }
}
