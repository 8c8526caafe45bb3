import HostFacts
import Testing
import WardenCore
import WardenTestSupport

@Suite struct SysctlProbeTests {
    func hrd(_ root: String, _ id: String = "HRD-001", profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [SysctlProbe()]).findings[id]
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

    @Test func garbageLineIsAnErrorNamingFileAndLine() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 2\nthis is not a setting\n")
        let f = try hrd(tree.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sysctl.d/60-warden.conf:2: not a `key = value` line"), "\(f.summary)")
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
        tree.file("etc/sysctl.d/60-warden.conf", """
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
