import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct CoredumpProbeTests {
    func hrd005(_ tree: TempTree) throws -> Finding {
        try audit(root: tree.path, probes: [SysctlProbe(), CoredumpProbe()]).findings["HRD-005"]
    }

    func hardened(_ tree: TempTree, pattern: String = "|/bin/false") {
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.core_pattern = \(pattern)\nfs.suid_dumpable = 0\n")
        tree.file("etc/security/limits.d/60-warden.conf", "*  hard  core  0\n")
    }

    @Test func pipeToFalseWithHardLimitPasses() throws {
        let tree = TempTree()
        hardened(tree)
        let f = try hrd005(tree)
        #expect(f.status == .pass, "\(f.summary)")
    }

    @Test func filePatternFails() throws {
        let tree = TempTree()
        hardened(tree, pattern: "/var/crash/core.%e.%p")
        let f = try hrd005(tree)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.observed == "/var/crash/core.%e.%p" })
    }

    @Test func systemdCoredumpMustStoreNothing() throws {
        let tree = TempTree()
        hardened(tree, pattern: "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h")
        #expect(try hrd005(tree).status == .fail)  // defaults: Storage=external, ProcessSizeMax=2G
        tree.file("etc/systemd/coredump.conf.d/60-warden.conf", "[Coredump]\nStorage=none\nProcessSizeMax=0\n")
        #expect(try hrd005(tree).status == .pass)
        tree.file("etc/systemd/coredump.conf.d/70-debug.conf", "[Coredump]\nProcessSizeMax=lots\n")
        // An invalid value is ignored: the earlier 0 stands.
        #expect(try hrd005(tree).status == .pass)
    }

    @Test func laterLimitsFileWinsAndUnlimitedFails() throws {
        let tree = TempTree()
        hardened(tree)
        tree.file("etc/security/limits.d/90-dev.conf", "* - core unlimited\n")
        let f = try hrd005(tree)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/security/limits.d/90-dev.conf:1" && $0.observed == "unlimited" })
    }

    @Test func garbageInLimitsIsAnErrorNamingTheLine() throws {
        let tree = TempTree()
        hardened(tree)
        tree.file("etc/security/limits.conf", "@ml soft nofile 1024 extra\n")
        let f = try hrd005(tree)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/security/limits.conf:1"))
    }
}
