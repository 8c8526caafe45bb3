import HostFacts
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The sysctl probe's facts from fixtures (probe tests), its parsing helpers against systemd's
/// rules, and HRD-001 to HRD-004, HRD-007 and HRD-010 over tables of canned facts (control
/// tests): docs/FACTS.md, "Testing, the pattern to follow".
@Suite struct SysctlProbeTests {
    // MARK: - Probe tests: the values of each key, with their sources

    /// The `values` (runtime and persistent) the probe gives `key` on `root`.
    func values(_ root: String, _ key: String) throws -> JSON {
        values(try probeFact("sysctl", of: SysctlProbe(), root: root), key)
    }

    func values(_ sysctl: JSON, _ key: String) -> JSON {
        var node: JSON? = sysctl
        for component in key.split(separator: ".") { node = node?[String(component)] }
        return node?["values"] ?? .null
    }

    static let offline = "(persistent; offline root: no runtime value, decided on this alone)"
    static let unknownDefault =
        "not set in any sysctl.d file, and the kernel's default is not known (no kernel configuration in /boot)"

    /// A key no file sets keeps the kernel's own default, read from the configuration of the kernel
    /// that will boot (the newest /boot/config-* offline); without one it is unknown, never a value.
    @Test func anUnsetKeyKeepsTheKernelsDefault() throws {
        let tree = TempTree()
        tree.directory("etc/sysctl.d")
        #expect(try values(tree.path, "kernel.yama.ptrace_scope") == [["value": nil, "source": .string(Self.unknownDefault)]])
        tree.file("boot/config-6.1.0-9-amd64", "CONFIG_SECURITY_YAMA=y\n")
        tree.file("boot/config-6.1.0-10-amd64", "CONFIG_SECURITY_YAMA=y\nCONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE=0x01b6\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                [
                    "value": 1,
                    "source": "not set in any sysctl.d file: the kernel's default (Yama is built in, /boot/config-6.1.0-10-amd64)",
                ]
            ])
        #expect(
            try values(tree.path, "kernel.sysrq") == [
                [
                    "value": 438,
                    "source":
                        "not set in any sysctl.d file: the kernel's default (CONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE=0x01b6 in /boot/config-6.1.0-10-amd64)",
                ]
            ])
        // The newest kernel (version order: 10 after 9) decides.
        tree.file("boot/config-6.1.0-10-amd64", "# CONFIG_SECURITY_YAMA is not set\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": nil, "source": "not set in any sysctl.d file, and the kernel's default is not known"]
            ])
    }

    @Test func sameNamedFileInEtcMasksUsrLib() throws {
        let v = try probeFact("sysctl", of: SysctlProbe(), root: Package.fixtureRoot("sysctl-etc-masks-usr-lib"))
        #expect(v["files"] == ["/usr/lib/sysctl.d/10-early.conf", "/etc/sysctl.d/50-hardening.conf"])
        #expect(
            values(v, "kernel.yama.ptrace_scope") == [["value": 2, "source": .string("/etc/sysctl.d/50-hardening.conf:1 \(Self.offline)")]])
        // The masked file's kptr_restrict = 0 does not apply; 10-early.conf's 1 stands.
        #expect(
            values(v, "kernel.kptr_restrict") == [["value": 1, "source": .string("/usr/lib/sysctl.d/10-early.conf:1 \(Self.offline)")]])
        #expect(v["runtime_available"] == false)
    }

    @Test func runtimeAndPersistentValuesAreBothKept() throws {
        #expect(
            try values(Package.fixtureRoot("sysctl-runtime-ok-persistent-wrong"), "kernel.yama.ptrace_scope") == [
                ["value": 2, "source": "/proc/sys/kernel/yama/ptrace_scope (runtime)"],
                ["value": 0, "source": "/etc/sysctl.d/10-debug.conf:1 (persistent)"],
            ])
        // The key was written with slashes, which sysctl.d accepts.
        #expect(
            try values(Package.fixtureRoot("sysctl-persistent-ok-runtime-wrong"), "kernel.yama.ptrace_scope") == [
                ["value": 0, "source": "/proc/sys/kernel/yama/ptrace_scope (runtime)"],
                ["value": 2, "source": "/etc/sysctl.d/60-warden.conf:1 (persistent)"],
            ])
    }

    @Test func neitherRuntimeNorPersistentIsUnknown() throws {
        let tree = TempTree()
        tree.directory("etc")
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        #expect(v["files"] == [])
        #expect(values(v, "kernel.yama.ptrace_scope") == [["value": nil, "source": .string(Self.unknownDefault)]])
    }

    @Test func laterFileAndLaterLineWin() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "kernel.yama.ptrace_scope = 3\n")
        tree.file("usr/lib/sysctl.d/20-b.conf", "; comment\n-kernel.yama.ptrace_scope=0\nkernel.yama.ptrace_scope =   1\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": 1, "source": .string("/usr/lib/sysctl.d/20-b.conf:3 \(Self.offline)")]
            ])
    }

    /// systemd-sysctl keeps the first entry's place when a later file sets the same value, but
    /// the later line is what decides the value: the source names it.
    @Test func theSameValueSetAgainIsSourcedToTheLaterLine() throws {
        let tree = TempTree()
        tree.file("usr/lib/sysctl.d/10-vendor.conf", "kernel.yama.ptrace_scope = 2\nkernel.kptr_restrict = 1\n")
        tree.file("etc/sysctl.d/60-site.conf", "# site hardening\nkernel/yama/ptrace_scope = 2\n")
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        #expect(values(v, "kernel.yama.ptrace_scope") == [["value": 2, "source": .string("/etc/sysctl.d/60-site.conf:2 \(Self.offline)")]])
        #expect(
            values(v, "kernel.kptr_restrict") == [["value": 1, "source": .string("/usr/lib/sysctl.d/10-vendor.conf:2 \(Self.offline)")]])
    }

    /// A file saved with CRLF line ends is read line by line as systemd-sysctl reads it (the
    /// carriage return is trailing white space), with the editor's line numbers.
    @Test func crlfLinesAreSeparateLines() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "# hardening\r\nkernel.yama.ptrace_scope = 0\r\nkernel.yama.ptrace_scope = 2\r\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": 2, "source": .string("/etc/sysctl.d/10-a.conf:3 \(Self.offline)")]
            ])
    }

    @Test func fileLinkedToDevNullMasksItsNamesake() throws {
        let tree = TempTree()
        tree.symlink("etc/sysctl.d/50-x.conf", to: "/dev/null")
        tree.file("usr/lib/sysctl.d/50-x.conf", "kernel.yama.ptrace_scope = 2\n")
        #expect(try values(tree.path, "kernel.yama.ptrace_scope") == [["value": nil, "source": .string(Self.unknownDefault)]])
    }

    @Test func sysctlConfReadOnlyByProcpsIsNoted() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.conf", "kernel.yama.ptrace_scope = 2\n")
        let unread = try values(tree.path, "kernel.yama.ptrace_scope")
        #expect(unread[0]?["value"] == .null)
        #expect(unread[0]?["source"]?.stringValue?.contains("procps reads but systemd-sysctl does not") == true, "\(unread)")
        // With Debian's usual link it counts.
        tree.symlink("etc/sysctl.d/99-sysctl.conf", to: "../sysctl.conf")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": 2, "source": .string("/etc/sysctl.d/99-sysctl.conf:1 \(Self.offline)")]
            ])
    }

    @Test func procpsOrderDifferenceIsNoted() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.file("etc/sysctl.conf", "kernel.yama.ptrace_scope = 0\n")
        let v = try values(tree.path, "kernel.yama.ptrace_scope")
        #expect(v[0]?["value"] == 2)
        #expect(v[0]?["source"]?.stringValue?.hasPrefix("/etc/sysctl.d/60-warden.conf:1") == true, "\(v)")
        #expect(v[0]?["source"]?.stringValue?.contains("`sysctl --system` would end with 0 from /etc/sysctl.conf:1") == true, "\(v)")
    }

    /// systemd-sysctl warns about a line without `=` and goes on: the line is ignored, shown in the
    /// source of the key it names, and decides nothing.
    @Test func lineWithoutAssignmentIsIgnoredAndShown() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\nthis is not a setting\nkernel.yama.ptrace_scope 0\n= 1\n")
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        let ptrace = values(v, "kernel.yama.ptrace_scope")
        #expect(ptrace.arrayValue?.map { $0["value"] } == [2])
        let source = ptrace[0]?["source"]?.stringValue ?? ""
        #expect(source.hasPrefix("/etc/sysctl.d/60-warden.conf:1"), "\(source)")
        #expect(
            source.contains(
                "systemd-sysctl ignores /etc/sysctl.d/60-warden.conf:3: not an assignment (no `=`), ignored: `kernel.yama.ptrace_scope 0`"),
            "\(source)")
        let ignored = v["ignored"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            ignored.contains("/etc/sysctl.d/60-warden.conf:2: not an assignment (no `=`), ignored: `this is not a setting`"), "\(ignored)")
        #expect(ignored.contains { $0.hasPrefix("/etc/sysctl.d/60-warden.conf:4: empty key") }, "\(ignored)")
        #expect(v["problems"] == [])
    }

    /// Upstream systemd's 50-default.conf (v252) uses globs and `-key` lines: they set what they
    /// set, and leave the rest unknown rather than wrong. procps' 99-protect-links.conf sets the
    /// protected links again, to the same values: its lines are the ones that decide.
    @Test func upstreamDefaultsAreRead() throws {
        let v = try probeFact("sysctl", of: SysctlProbe(), root: Package.fixtureRoot("sysctl-upstream-50-default"))
        #expect(v["problems"] == [])
        #expect(values(v, "kernel.sysrq") == [["value": 16, "source": .string("/usr/lib/sysctl.d/50-default.conf:19 \(Self.offline)")]])
        #expect(
            values(v, "fs.protected_hardlinks") == [
                ["value": 1, "source": .string("/usr/lib/sysctl.d/99-protect-links.conf:8 \(Self.offline)")]
            ])
        #expect(
            values(v, "fs.protected_symlinks") == [
                ["value": 1, "source": .string("/usr/lib/sysctl.d/99-protect-links.conf:10 \(Self.offline)")]
            ])
        #expect(values(v, "kernel.yama.ptrace_scope") == [["value": nil, "source": .string(Self.unknownDefault)]])
        #expect(values(v, "kernel.kptr_restrict") == [["value": nil, "source": .string(Self.unknownDefault)]])
    }

    @Test func explicitKeyBeatsAGlobWhateverTheOrder() throws {
        let tree = TempTree()
        tree.file("usr/lib/sysctl.d/10-early.conf", "kernel.yama.ptrace_scope = 0\n")
        tree.file("etc/sysctl.d/90-late.conf", "kernel.yama.* = 2\nkernel/*/ptrace_scop? = 3\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": 0, "source": .string("/usr/lib/sysctl.d/10-early.conf:1 \(Self.offline)")]
            ])
        // Without the explicit line the last matching glob (in the table's order) sets it.
        tree.file("usr/lib/sysctl.d/10-early.conf", "# nothing\n")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                [
                    "value": 3,
                    "source":
                        "/etc/sysctl.d/90-late.conf:2 (persistent; offline root: no runtime value, decided on this alone; by the glob `kernel/*/ptrace_scop?`)",
                ]
            ])
    }

    @Test func dashKeyWithoutValueExcludesItFromGlobsAndUnsetsIt() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.file("etc/sysctl.d/20-b.conf", "kernel.yama.* = 1\n-kernel.yama.ptrace_scope\n")
        let v = try values(tree.path, "kernel.yama.ptrace_scope")
        #expect(v.arrayValue?.map { $0["value"] } == [.null])
        #expect(v[0]?["source"]?.stringValue?.contains("`-kernel.yama.ptrace_scope` excludes the key from globs") == true, "\(v)")
    }

    /// A dangling link is skipped as systemd-sysctl skips it (Debian's 99-sysctl.conf without
    /// procps' /etc/sysctl.conf); a link climbing out of the root is unreadable, not skipped.
    @Test func danglingLinkIsSkippedLinkOutOfTheRootIsUndecided() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.symlink("etc/sysctl.d/99-sysctl.conf", to: "../sysctl.conf")
        #expect(
            try values(tree.path, "kernel.yama.ptrace_scope") == [
                ["value": 2, "source": .string("/etc/sysctl.d/60-warden.conf:1 \(Self.offline)")]
            ])
        tree.symlink("etc/sysctl.d/70-out.conf", to: "../../../elsewhere.conf")
        let out =
            "/etc/sysctl.d/70-out.conf: a link that leads out of the root (the audited host's systemd-sysctl would read whatever is there; Warden does not follow it)"
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        #expect(v["problems"] == [.string(out)])
        #expect(values(v, "kernel.yama.ptrace_scope") == [["error": .string(out), "source": "sysctl configuration"]])
        // A later file that names the key decides it whatever the unreadable file holds, and so
        // is the source, though the same value keeps the earlier entry's place in the table.
        tree.file("etc/sysctl.d/80-later.conf", "kernel.yama.ptrace_scope = 2\n")
        let later = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        #expect(later["problems"] == [.string(out)])
        #expect(
            values(later, "kernel.yama.ptrace_scope") == [
                ["value": 2, "source": .string("/etc/sysctl.d/80-later.conf:1 \(Self.offline)")]
            ])
    }

    @Test func valuesBelowSL4sThresholdsAreKeptAsWritten() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\nkernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\n")
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        for (line, key) in ["kernel.yama.ptrace_scope", "kernel.kptr_restrict", "kernel.dmesg_restrict"].enumerated() {
            #expect(
                values(v, key) == [["value": 1, "source": .string("/etc/sysctl.d/60-warden.conf:\(line + 1) \(Self.offline)")]], "\(key)")
        }
    }

    @Test func completeBaselineIsReadKeyByKey() throws {
        let baseline: KeyValuePairs<String, Int> = [
            "kernel.yama.ptrace_scope": 2, "kernel.kptr_restrict": 2, "kernel.dmesg_restrict": 1, "kernel.unprivileged_bpf_disabled": 1,
            "kernel.perf_event_paranoid": 3, "net.core.bpf_jit_harden": 2, "kernel.kexec_load_disabled": 1,
            "vm.unprivileged_userfaultfd": 0, "user.max_user_namespaces": 0, "kernel.sysrq": 0, "fs.protected_hardlinks": 1,
            "fs.protected_symlinks": 1, "kernel.randomize_va_space": 2,
        ]
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", baseline.map { "\($0.key) = \($0.value)\n" }.joined())
        let v = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        for (line, (key, value)) in baseline.enumerated() {
            #expect(
                values(v, key) == [["value": .int(value), "source": .string("/etc/sysctl.d/60-warden.conf:\(line + 1) \(Self.offline)")]],
                "\(key)")
        }
        // A later file turns three back; kexec_load_disabled = 0 is a value the kernel refuses.
        tree.file("etc/sysctl.d/70-debug.conf", "kernel.sysrq = 1\nkernel.kexec_load_disabled = 0\nkernel.unprivileged_bpf_disabled = 0\n")
        let debug = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        #expect(values(debug, "kernel.sysrq") == [["value": 1, "source": .string("/etc/sysctl.d/70-debug.conf:1 \(Self.offline)")]])
        #expect(values(debug, "kernel.kexec_load_disabled").arrayValue?.map { $0["value"] } == [.null])
        #expect(
            values(debug, "kernel.unprivileged_bpf_disabled") == [
                ["value": 0, "source": .string("/etc/sysctl.d/70-debug.conf:3 \(Self.offline)")]
            ])
    }

    // MARK: - How systemd-sysctl reads keys, globs, values and lines

    @Test func sameValueKeepsItsPlaceAnotherValueMovesToTheEnd() throws {
        var table = SysctlProbe.Table()
        SysctlProbe.parse(Array("kernel.sys* = 1\nkernel.s* = 0\n".utf8), file: "a", fileIndex: 0, into: &table)
        SysctlProbe.parse(Array("kernel.sys* = 1\n".utf8), file: "b", fileIndex: 1, into: &table)
        #expect(table.effective("kernel/sysrq").value == "0")
        // The first place, the later line: b's `kernel.sys* = 1` is the one that decides.
        #expect(table.options.map(\.source) == ["b:1", "a:2"])
        SysctlProbe.parse(Array("kernel.sys* = 2\n".utf8), file: "c", fileIndex: 2, into: &table)
        #expect(table.effective("kernel/sysrq").value == "2")
        #expect(table.options.map(\.source) == ["a:2", "c:1"])
    }

    @Test(arguments: [
        ("kernel.yama.ptrace_scope", "kernel/yama/ptrace_scope"),
        ("kernel/yama/ptrace_scope", "kernel/yama/ptrace_scope"),
        ("net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter"),
        ("net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter"),
        ("kernel/yama.ptrace_scope", "kernel/yama.ptrace_scope"),
        ("/kernel/sysrq", "kernel/sysrq"),
        ("kernel..sysrq.", "kernel/sysrq"),
        ("kernel/./sysrq/", "kernel/sysrq"),
        ("/", "/"),
        ("", ""),
        (".", "/"),
    ])
    func keysAreNormalisedAsSystemdDoes(_ written: String, _ normalised: String) {
        #expect(String(decoding: SysctlProbe.normalize(Array(written.utf8)), as: UTF8.self) == normalised)
    }

    @Test(arguments: [
        ("kernel/yama/*", "kernel/yama/ptrace_scope", true),
        ("kernel/*", "kernel/yama/ptrace_scope", false),
        ("kernel/*/ptrace_scope", "kernel/yama/ptrace_scope", true),
        ("kernel/{sysrq,kptr_restrict}*", "kernel/kptr_restrict", true),
        ("kernel/{yama/ptrace,sysr}*", "kernel/yama/ptrace_scope", true),
        ("kernel/{sysrq*", "kernel/{sysrq", true),
        ("kernel/[sk]ysrq", "kernel/sysrq", true),
        ("fs/protected_*links", "fs/protected_symlinks", true),
        ("*/sysrq", "kernel/sysrq", true),
        ("*", "kernel/sysrq", false),
    ])
    func globsMatchAsGlobDoes(_ pattern: String, _ key: String, _ matches: Bool) {
        #expect(SysctlProbe.glob(pattern, matches: key) == matches)
    }

    @Test(arguments: [
        ("kernel.yama.ptrace_scope", "2", JSON.int(2)), ("kernel.yama.ptrace_scope", "0x2", .int(2)),
        ("kernel.yama.ptrace_scope", "02", .int(2)), ("kernel.yama.ptrace_scope", "08", .null),
        ("kernel.yama.ptrace_scope", "4", .null), ("kernel.yama.ptrace_scope", "1 # comment", .null),
        ("kernel.yama.ptrace_scope", "", .null), ("kernel.yama.ptrace_scope", "+1", .null),
        ("kernel.perf_event_paranoid", "-1", .int(-1)), ("kernel.perf_event_paranoid", "2147483648", .null),
        ("kernel.sysrq", "0x01b6", .int(438)), ("kernel.modules_disabled", "0", .null),
        ("kernel.core_pattern", "|/bin/false", .string("|/bin/false")), ("kernel.core_pattern", "010", .string("010")),
    ])
    func valuesAreWhatTheKernelStores(_ key: String, _ raw: String, _ stored: JSON) {
        let value: JSON
        switch SysctlProbe.kernelValue(key, raw) {
        case .success(let v): value = v
        case .failure: value = .null
        }
        #expect(value == stored, "\(key) = \(raw)")
    }

    /// A dangling link is skipped as systemd-sysctl skips it (Debian's 99-sysctl.conf without

    @Test func lineEndsAreSystemds() {
        let lines = SysctlProbe.systemdLines(Array("a\rb\r\nc\n\rd\n\ne\0f".utf8)).lines
        let bytes = Array("a\rb\r\nc\n\rd\n\ne\0f".utf8)
        #expect(lines.map { String(decoding: bytes[$0], as: UTF8.self) } == ["a", "b", "c", "d", "", "e", "f"])
    }

    // MARK: - Control tests: tables of canned facts

    /// The value of each checked key on a host that meets SL4, as one sysctl.d file sets it.
    static let conformant: [String: JSON] = [
        "kernel.yama.ptrace_scope": 2, "kernel.kptr_restrict": 2, "kernel.dmesg_restrict": 1, "kernel.unprivileged_bpf_disabled": 1,
        "kernel.perf_event_paranoid": 3, "net.core.bpf_jit_harden": 2, "kernel.kexec_load_disabled": 1,
        "kernel.core_pattern": "|/bin/false",
        "fs.suid_dumpable": 0, "vm.unprivileged_userfaultfd": 0, "user.max_user_namespaces": 0, "kernel.sysrq": 0,
        "fs.protected_hardlinks": 1, "fs.protected_symlinks": 1, "kernel.randomize_va_space": 2, "kernel.modules_disabled": 1,
    ]

    static func persistent(_ value: JSON, line: Int = 1) -> JSON {
        ["value": value, "source": .string("/etc/sysctl.d/60-warden.conf:\(line) (persistent)")]
    }

    static func runtime(_ value: JSON, _ key: String) -> JSON {
        ["value": value, "source": .string("/proc/sys/\(key.split(separator: ".").joined(separator: "/")) (runtime)")]
    }

    static let unset: JSON = ["value": nil, "source": .string(unknownDefault)]

    /// The sysctl fact of a host that meets SL4; `changes` replaces the values of some keys.
    static func sysctl(_ changes: [String: [JSON]] = [:]) -> JSON {
        var fact: JSON = ["files": ["/etc/sysctl.d/60-warden.conf"], "problems": [], "ignored": [], "runtime_available": false]
        for (line, key) in SysctlProbe.keys.enumerated() {
            let values = changes[key] ?? [persistent(conformant[key]!, line: line + 1)]
            fact = setting(fact, key.split(separator: ".").map(String.init)[...], ["values": .array(values)])
        }
        return fact
    }

    static func setting(_ tree: JSON, _ path: ArraySlice<String>, _ value: JSON) -> JSON {
        guard let first = path.first else { return value }
        var o = tree.objectValue ?? [:]
        o[first] = setting(o[first] ?? [:], path.dropFirst(), value)
        return .object(o)
    }

    /// The site fact as the collector adds it: the defaults, or a site file's values.
    static func site(_ text: String? = nil) throws -> JSON {
        let parsed = try text.map { try Site.parse($0, file: "site.yaml", digester: .libcrypto) }
        var o = (parsed ?? Site()).json.objectValue ?? [:]
        o["present"] = .bool(parsed != nil)
        o["source"] = .string(parsed == nil ? "no site file (defaults)" : "site.yaml")
        return .object(o)
    }

    static let out =
        "/etc/sysctl.d/70-out.conf: a link that leads out of the root (the audited host's systemd-sysctl would read whatever is there; Warden does not follow it)"

    /// Rows: control, case, changed values, site file, status at sl3 and sl4, and what the summary
    /// says where it matters.
    static let table: [(String, String, [String: [JSON]], String?, Status, Status, String?)] = [
        ("HRD-001", "ptrace_scope 2", [:], nil, .pass, .pass, nil),
        ("HRD-001", "ptrace_scope 3", ["kernel.yama.ptrace_scope": [persistent(3)]], nil, .pass, .pass, nil),
        ("HRD-001", "ptrace_scope 1: SL3 only", ["kernel.yama.ptrace_scope": [persistent(1)]], nil, .pass, .fail, nil),
        ("HRD-001", "ptrace_scope 0", ["kernel.yama.ptrace_scope": [persistent(0)]], nil, .fail, .fail, "kernel.yama.ptrace_scope is 0"),
        ("HRD-001", "not set, the kernel's default unknown", ["kernel.yama.ptrace_scope": [unset]], nil, .fail, .fail, "not set"),
        (
            "HRD-001", "right at runtime, wrong at the next boot",
            ["kernel.yama.ptrace_scope": [runtime(2, "kernel.yama.ptrace_scope"), persistent(0)]], nil, .fail, .fail, nil
        ),
        (
            "HRD-001", "right at the next boot, wrong at runtime",
            ["kernel.yama.ptrace_scope": [runtime(0, "kernel.yama.ptrace_scope"), persistent(2)]], nil, .fail, .fail, nil
        ),
        (
            "HRD-001", "right at runtime and at the next boot",
            ["kernel.yama.ptrace_scope": [runtime(2, "kernel.yama.ptrace_scope"), persistent(2)]], nil, .pass, .pass, nil
        ),
        ("HRD-001", "no value at all", ["kernel.yama.ptrace_scope": []], nil, .error, .error, nil),
        (
            "HRD-001", "a file Warden cannot read",
            ["kernel.yama.ptrace_scope": [["error": .string(out), "source": "sysctl configuration"]]],
            nil, .error, .error, "70-out.conf"
        ),
        ("HRD-002", "kptr_restrict 2, dmesg_restrict 1", [:], nil, .pass, .pass, nil),
        ("HRD-002", "kptr_restrict 1: SL3 only", ["kernel.kptr_restrict": [persistent(1)]], nil, .pass, .fail, nil),
        ("HRD-002", "kptr_restrict 0", ["kernel.kptr_restrict": [persistent(0)]], nil, .fail, .fail, nil),
        ("HRD-002", "dmesg_restrict 0", ["kernel.dmesg_restrict": [persistent(0)]], nil, .fail, .fail, nil),
        ("HRD-003", "bpf disabled one way, perf 3, JIT hardened", [:], nil, .pass, .pass, nil),
        ("HRD-003", "unprivileged_bpf_disabled 2: SL3 only", ["kernel.unprivileged_bpf_disabled": [persistent(2)]], nil, .pass, .fail, nil),
        ("HRD-003", "unprivileged_bpf_disabled 0", ["kernel.unprivileged_bpf_disabled": [persistent(0)]], nil, .fail, .fail, nil),
        ("HRD-003", "perf_event_paranoid 1", ["kernel.perf_event_paranoid": [persistent(1)]], nil, .fail, .fail, nil),
        ("HRD-003", "bpf_jit_harden 1", ["net.core.bpf_jit_harden": [persistent(1)]], nil, .fail, .fail, nil),
        ("HRD-004", "kexec_load_disabled 1", [:], nil, .pass, .pass, nil),
        (
            "HRD-004", "kexec_load_disabled 0, which the kernel refuses", ["kernel.kexec_load_disabled": [persistent(nil)]], nil, .fail,
            .fail, nil
        ),
        ("HRD-007", "userfaultfd 0, no user namespaces", [:], nil, .pass, .pass, nil),
        ("HRD-007", "unprivileged_userfaultfd 1", ["vm.unprivileged_userfaultfd": [persistent(1)]], nil, .fail, .fail, nil),
        ("HRD-007", "user namespaces allowed: SL3 only", ["user.max_user_namespaces": [persistent(100)]], nil, .pass, .fail, nil),
        (
            "HRD-007", "user namespaces allowed where the site runs containers", ["user.max_user_namespaces": [persistent(100)]],
            "containers: true\n", .pass, .pass, nil
        ),
        ("HRD-010", "sysrq 0, links protected, full ASLR", [:], nil, .pass, .pass, nil),
        ("HRD-010", "sysrq 1", ["kernel.sysrq": [persistent(1)]], nil, .fail, .fail, nil),
        ("HRD-010", "sysrq 16 (upstream systemd's default)", ["kernel.sysrq": [persistent(16)]], nil, .fail, .fail, "kernel.sysrq is 16"),
        ("HRD-010", "protected_hardlinks unknown", ["fs.protected_hardlinks": [unset]], nil, .fail, .fail, nil),
        ("HRD-010", "randomize_va_space 1", ["kernel.randomize_va_space": [persistent(1)]], nil, .fail, .fail, nil),
    ]

    @Test(arguments: SysctlProbeTests.table.indices)
    func hardeningControlsOverATableOfFacts(_ row: Int) throws {
        let (control, name, changes, siteText, sl3, sl4, summary) = SysctlProbeTests.table[row]
        let facts: [String: JSON] = ["sysctl": SysctlProbeTests.sysctl(changes), "site": try SysctlProbeTests.site(siteText)]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let f = try cannedFinding(control, profile: profile, facts: facts)
            #expect(f.status == expected, "\(control) \(profile) \(name): \(f.summary)")
            if let summary, expected != .pass { #expect(f.summary.contains(summary), "\(control) \(profile) \(name): \(f.summary)") }
        }
    }

    // MARK: - End to end

    /// The whole path once: upstream systemd's own sysctl.d files (globs, `-key` lines) leave the
    /// hardening controls failing on what they do not set, and none of them turns into an error.
    @Test func upstreamDefaultsFailTheHardeningControlsWithoutErrorsEndToEnd() throws {
        let findings = try audit(root: Package.fixtureRoot("sysctl-upstream-50-default"), probes: [SysctlProbe()]).findings
        for id in ["HRD-001", "HRD-002", "HRD-003", "HRD-004", "HRD-007", "HRD-010"] {
            #expect(findings[id].status == .fail, "\(id): \(findings[id].summary)")
        }
        let baseline = findings["HRD-010"]
        #expect(
            baseline.evidence.contains { $0.observed == 16 && $0.source.hasPrefix("/usr/lib/sysctl.d/50-default.conf:19") },
            "\(baseline.evidence)")
        #expect(baseline.evidence.contains { $0.observed == 1 && $0.expected.contains("fs.protected_hardlinks") })
    }
}
