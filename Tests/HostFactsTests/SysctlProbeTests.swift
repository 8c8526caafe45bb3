import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct SysctlProbeTests {
    func hrd(_ root: String, _ id: String = "HRD-001", profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [SysctlProbe()]).findings[id]
    }

    /// A key no file sets keeps the kernel's own default, read from the configuration of the kernel
    /// that will boot (the newest /boot/config-* offline); without one it is unknown, never a pass.
    @Test func anUnsetKeyKeepsTheKernelsDefault() throws {
        let tree = TempTree()
        tree.directory("etc/sysctl.d")
        #expect(try hrd(tree.path).status == .fail)
        tree.file("boot/config-6.1.0-9-amd64", "CONFIG_SECURITY_YAMA=y\n")
        tree.file("boot/config-6.1.0-10-amd64", "CONFIG_SECURITY_YAMA=y\nCONFIG_MAGIC_SYSRQ_DEFAULT_ENABLE=0x01b6\n")
        let sl3 = try hrd(tree.path)
        #expect(sl3.status == .pass, "\(sl3.summary)")
        #expect(
            sl3.evidence.first?.source
                == "not set in any sysctl.d file: the kernel's default (Yama is built in, /boot/config-6.1.0-10-amd64)")
        #expect(try hrd(tree.path, profile: "sl4").status == .fail)
        // The newest kernel (version order: 10 after 9) decides.
        tree.file("boot/config-6.1.0-10-amd64", "# CONFIG_SECURITY_YAMA is not set\n")
        #expect(try hrd(tree.path).status == .fail)
    }

    @Test func sameNamedFileInEtcMasksUsrLib() throws {
        let f = try hrd(Package.fixtureRoot("sysctl-etc-masks-usr-lib"))
        #expect(f.status == .pass, "\(f.summary)")
        let e = try #require(f.evidence.first)
        #expect(e.observed == 2)
        #expect(e.source.hasPrefix("/etc/sysctl.d/50-hardening.conf:1 (persistent; offline root"))
        // The masked file's kptr_restrict = 0 does not apply; 10-early.conf's 1 stands.
        let kptr = try hrd(Package.fixtureRoot("sysctl-etc-masks-usr-lib"), "HRD-002")
        #expect(kptr.evidence.first { $0.expected.contains("kptr") }?.observed == 1)
    }

    @Test func runtimeRightButPersistentWrongFails() throws {
        let f = try hrd(Package.fixtureRoot("sysctl-runtime-ok-persistent-wrong"))
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == true && $0.source == "/proc/sys/kernel/yama/ptrace_scope (runtime)" })
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/etc/sysctl.d/10-debug.conf:1 (persistent)" && $0.observed == 0 })
    }

    @Test func persistentRightButRuntimeWrongFails() throws {
        let f = try hrd(Package.fixtureRoot("sysctl-persistent-ok-runtime-wrong"))
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/proc/sys/kernel/yama/ptrace_scope (runtime)" })
        // The key was written with slashes, which sysctl.d accepts.
        #expect(f.evidence.contains { $0.ok == true && $0.source.hasPrefix("/etc/sysctl.d/60-warden.conf:1") })
    }

    @Test func neitherRuntimeNorPersistentFails() throws {
        let tree = TempTree()
        tree.directory("etc")
        let f = try hrd(tree.path)
        #expect(f.status == .fail)
        #expect(f.summary.contains("not set"))
    }

    @Test func laterFileAndLaterLineWin() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "kernel.yama.ptrace_scope = 3\n")
        tree.file("usr/lib/sysctl.d/20-b.conf", "; comment\n-kernel.yama.ptrace_scope=0\nkernel.yama.ptrace_scope =   1\n")
        let f = try hrd(tree.path)
        #expect(f.evidence.first?.observed == 1)
        #expect(f.evidence.first?.source.hasPrefix("/usr/lib/sysctl.d/20-b.conf:3") == true)
    }

    /// A file saved with CRLF line ends is read line by line as systemd-sysctl reads it (the
    /// carriage return is trailing white space), with the editor's line numbers.
    @Test func crlfLinesAreSeparateLines() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "# hardening\r\nkernel.yama.ptrace_scope = 0\r\nkernel.yama.ptrace_scope = 2\r\n")
        let f = try hrd(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.first?.observed == 2)
        #expect(f.evidence.first?.source.hasPrefix("/etc/sysctl.d/10-a.conf:3") == true, "\(f.evidence)")
    }

    @Test func fileLinkedToDevNullMasksItsNamesake() throws {
        let tree = TempTree()
        tree.symlink("etc/sysctl.d/50-x.conf", to: "/dev/null")
        tree.file("usr/lib/sysctl.d/50-x.conf", "kernel.yama.ptrace_scope = 2\n")
        let f = try hrd(tree.path)
        #expect(f.status == .fail)
    }

    @Test func sysctlConfReadOnlyByProcpsIsNoted() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.conf", "kernel.yama.ptrace_scope = 2\n")
        let f = try hrd(tree.path)
        #expect(f.status == .fail)
        #expect(f.evidence.first?.source.contains("procps reads but systemd-sysctl does not") == true)
        // With Debian's usual link it counts.
        tree.symlink("etc/sysctl.d/99-sysctl.conf", to: "../sysctl.conf")
        #expect(try hrd(tree.path).status == .pass)
    }

    @Test func procpsOrderDifferenceIsNoted() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.file("etc/sysctl.conf", "kernel.yama.ptrace_scope = 0\n")
        let f = try hrd(tree.path)
        #expect(f.status == .pass)
        #expect(f.evidence.first?.source.contains("`sysctl --system` would end with 0 from /etc/sysctl.conf:1") == true)
    }

    /// systemd-sysctl warns about a line without `=` and goes on: the line is ignored, shown in the
    /// evidence of the key it names, and decides nothing.
    @Test func lineWithoutAssignmentIsIgnoredAndShown() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\nthis is not a setting\nkernel.yama.ptrace_scope 0\n= 1\n")
        let f = try hrd(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        let source = try #require(f.evidence.first?.source)
        #expect(
            source.contains(
                "systemd-sysctl ignores /etc/sysctl.d/60-warden.conf:3: not an assignment (no `=`), ignored: `kernel.yama.ptrace_scope 0`"),
            "\(source)")
        let facts = try audit(root: tree.path, probes: [SysctlProbe()]).facts
        guard case .value(let v)? = facts["sysctl"] else {
            Issue.record("no fact")
            return
        }
        let ignored = v["ignored"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            ignored.contains("/etc/sysctl.d/60-warden.conf:2: not an assignment (no `=`), ignored: `this is not a setting`"), "\(ignored)")
        #expect(ignored.contains { $0.hasPrefix("/etc/sysctl.d/60-warden.conf:4: empty key") }, "\(ignored)")
        #expect(v["problems"]?.arrayValue?.isEmpty == true)
    }

    /// Upstream systemd's 50-default.conf (v252) uses globs and `-key` lines: they set what they set
    /// and no control turns into an error.
    @Test func upstreamDefaultsAreReadNotErrors() throws {
        let findings = try audit(root: Package.fixtureRoot("sysctl-upstream-50-default"), probes: [SysctlProbe()]).findings
        for id in ["HRD-001", "HRD-002", "HRD-003", "HRD-004", "HRD-007", "HRD-010"] {
            #expect(findings[id].status == .fail, "\(id): \(findings[id].summary)")
        }
        let baseline = findings["HRD-010"]
        #expect(baseline.status == .fail)
        #expect(
            baseline.evidence.contains { $0.observed == 16 && $0.source.hasPrefix("/usr/lib/sysctl.d/50-default.conf:19") },
            "\(baseline.evidence)")
        #expect(baseline.evidence.contains { $0.observed == 1 && $0.expected.contains("fs.protected_hardlinks") })
    }

    @Test func explicitKeyBeatsAGlobWhateverTheOrder() throws {
        let tree = TempTree()
        tree.file("usr/lib/sysctl.d/10-early.conf", "kernel.yama.ptrace_scope = 0\n")
        tree.file("etc/sysctl.d/90-late.conf", "kernel.yama.* = 2\nkernel/*/ptrace_scop? = 3\n")
        let f = try hrd(tree.path)
        #expect(f.status == .fail)
        #expect(f.evidence.first?.observed == 0)
        // Without the explicit line the last matching glob (in the table's order) sets it.
        tree.file("usr/lib/sysctl.d/10-early.conf", "# nothing\n")
        let g = try hrd(tree.path)
        #expect(g.status == .pass)
        #expect(g.evidence.first?.observed == 3)
        #expect(
            g.evidence.first?.source.hasPrefix(
                "/etc/sysctl.d/90-late.conf:2 (persistent; offline root: no runtime value, decided on this alone; by the glob `kernel/*/ptrace_scop?`)"
            ) == true,
            "\(g.evidence)")
    }

    @Test func dashKeyWithoutValueExcludesItFromGlobsAndUnsetsIt() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/10-a.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.file("etc/sysctl.d/20-b.conf", "kernel.yama.* = 1\n-kernel.yama.ptrace_scope\n")
        let f = try hrd(tree.path)
        #expect(f.status == .fail)
        #expect(f.evidence.first?.observed == .null)
        #expect(f.evidence.first?.source.contains("`-kernel.yama.ptrace_scope` excludes the key from globs") == true, "\(f.evidence)")
    }

    @Test func sameValueKeepsItsPlaceAnotherValueMovesToTheEnd() throws {
        var table = SysctlProbe.Table()
        SysctlProbe.parse(Array("kernel.sys* = 1\nkernel.s* = 0\n".utf8), file: "a", fileIndex: 0, into: &table)
        SysctlProbe.parse(Array("kernel.sys* = 1\n".utf8), file: "b", fileIndex: 1, into: &table)
        #expect(table.effective("kernel/sysrq").value == "0")
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
    /// procps' /etc/sysctl.conf); a link climbing out of the root is unreadable, not skipped.
    @Test func danglingLinkIsSkippedLinkOutOfTheRootIsUndecided() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\n")
        tree.symlink("etc/sysctl.d/99-sysctl.conf", to: "../sysctl.conf")
        #expect(try hrd(tree.path).status == .pass)
        tree.symlink("etc/sysctl.d/70-out.conf", to: "../../../elsewhere.conf")
        let f = try hrd(tree.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("70-out.conf"), "\(f.summary)")
        // A later file that names the key decides it whatever the unreadable file holds.
        tree.file("etc/sysctl.d/80-later.conf", "kernel.yama.ptrace_scope = 2\n")
        #expect(try hrd(tree.path).status == .pass)
    }

    /// systemd's read_line(): a lone CR ends a line too.
    @Test func lineEndsAreSystemds() {
        let lines = SysctlProbe.systemdLines(Array("a\rb\r\nc\n\rd\n\ne\0f".utf8)).lines
        let bytes = Array("a\rb\r\nc\n\rd\n\ne\0f".utf8)
        #expect(lines.map { String(decoding: bytes[$0], as: UTF8.self) } == ["a", "b", "c", "d", "", "e", "f"])
    }

    @Test func sl4ThresholdIsStricter() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\nkernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\n")
        #expect(try hrd(tree.path).status == .pass)
        #expect(try hrd(tree.path, profile: "sl4").status == .fail)
        #expect(try hrd(tree.path, "HRD-002").status == .pass)
        #expect(try hrd(tree.path, "HRD-002", profile: "sl4").status == .fail)
    }

    @Test func userNamespacesAllowedWhenTheSiteRunsContainers() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "vm.unprivileged_userfaultfd = 0\nuser.max_user_namespaces = 100\n")
        let noSite = try audit(root: tree.path, profile: "sl4", probes: [SysctlProbe()]).findings["HRD-007"]
        #expect(noSite.status == .fail)
        let containers = try audit(root: tree.path, profile: "sl4", site: "containers: true\n", probes: [SysctlProbe()]).findings["HRD-007"]
        #expect(containers.status == .pass)
        #expect(try audit(root: tree.path, profile: "sl3", probes: [SysctlProbe()]).findings["HRD-007"].status == .pass)
    }

    @Test func completeBaselinePasses() throws {
        let tree = TempTree()
        tree.file(
            "etc/sysctl.d/60-warden.conf",
            """
            kernel.yama.ptrace_scope = 2
            kernel.kptr_restrict = 2
            kernel.dmesg_restrict = 1
            kernel.unprivileged_bpf_disabled = 1
            kernel.perf_event_paranoid = 3
            net.core.bpf_jit_harden = 2
            kernel.kexec_load_disabled = 1
            vm.unprivileged_userfaultfd = 0
            user.max_user_namespaces = 0
            kernel.sysrq = 0
            fs.protected_hardlinks = 1
            fs.protected_symlinks = 1
            kernel.randomize_va_space = 2

            """)
        for profile in ["sl3", "sl4"] {
            let findings = try audit(root: tree.path, profile: profile, probes: [SysctlProbe()]).findings
            for id in ["HRD-001", "HRD-002", "HRD-003", "HRD-004", "HRD-007", "HRD-010"] {
                #expect(findings[id].status == .pass, "\(profile) \(id): \(findings[id].summary)")
            }
        }
        tree.file("etc/sysctl.d/70-debug.conf", "kernel.sysrq = 1\nkernel.kexec_load_disabled = 0\nkernel.unprivileged_bpf_disabled = 0\n")
        let findings = try audit(root: tree.path, profile: "sl3", probes: [SysctlProbe()]).findings
        for id in ["HRD-003", "HRD-004", "HRD-010"] { #expect(findings[id].status == .fail) }
    }
}
