import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Core dumps (HRD-005): where kernel.core_pattern sends them, systemd-coredump's settings and the
/// hard core limit. Probe tests build a root and assert the coredump fact; a control test
/// evaluates a table of canned facts at sl3 and sl4.
@Suite struct CoredumpProbeTests {
    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    func coredump(_ tree: TempTree) throws -> JSON { try probeFact("coredump", of: CoredumpProbe(), root: tree.path) }

    func hardened(_ tree: TempTree, pattern: String = "|/bin/false") {
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.core_pattern = \(pattern)\nfs.suid_dumpable = 0\n")
        tree.file("etc/security/limits.d/60-warden.conf", "*  hard  core  0\n")
    }

    // MARK: - Probe tests

    @Test func aHardLimitOfZeroAndSystemdsDefaults() throws {
        let tree = TempTree()
        hardened(tree)
        let coredump = try coredump(tree)
        #expect(coredump["hard_core_limit"] == Self.sourced(0, "/etc/security/limits.d/60-warden.conf:1"))
        #expect(coredump["storage"] == Self.sourced("external", "default (systemd)"))
        #expect(coredump["process_size_max"] == Self.sourced(2_147_483_648, "default (systemd)"))
        #expect(coredump["files"] == [])
        #expect(coredump["ignored"] == [])
    }

    @Test func theCorePatternIsTheSysctlFacts() throws {
        let tree = TempTree()
        hardened(tree, pattern: "/var/crash/core.%e.%p")
        let sysctl = try probeFact("sysctl", of: SysctlProbe(), root: tree.path)
        let persistent = "(persistent; offline root: no runtime value, decided on this alone)"
        #expect(
            sysctl["kernel"]?["core_pattern"]?["values"]
                == [Self.sourced("/var/crash/core.%e.%p", "/etc/sysctl.d/60-warden.conf:1 \(persistent)")])
        #expect(sysctl["fs"]?["suid_dumpable"]?["values"] == [Self.sourced(0, "/etc/sysctl.d/60-warden.conf:2 \(persistent)")])
    }

    @Test func systemdCoredumpSettingsFromDropIns() throws {
        let tree = TempTree()
        hardened(tree, pattern: "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h")
        tree.file("etc/systemd/coredump.conf.d/60-warden.conf", "[Coredump]\nStorage=none\nProcessSizeMax=0\n")
        let stored = try coredump(tree)
        #expect(stored["storage"] == Self.sourced("none", "/etc/systemd/coredump.conf.d/60-warden.conf:2"))
        #expect(stored["process_size_max"] == Self.sourced(0, "/etc/systemd/coredump.conf.d/60-warden.conf:3"))
        tree.file("etc/systemd/coredump.conf.d/70-debug.conf", "[Coredump]\nProcessSizeMax=lots\n")
        // An invalid value is ignored, as systemd ignores it: the earlier 0 stands.
        let invalid = try coredump(tree)
        #expect(invalid["process_size_max"] == Self.sourced(0, "/etc/systemd/coredump.conf.d/60-warden.conf:3"))
        #expect(invalid["ignored"] == ["/etc/systemd/coredump.conf.d/70-debug.conf:2: invalid ProcessSizeMax=lots (systemd ignores it)"])
        #expect(invalid["files"] == ["/etc/systemd/coredump.conf.d/60-warden.conf", "/etc/systemd/coredump.conf.d/70-debug.conf"])
    }

    @Test func aLaterLimitsFileWins() throws {
        let tree = TempTree()
        hardened(tree)
        tree.file("etc/security/limits.d/90-dev.conf", "* - core unlimited\n")
        #expect(try coredump(tree)["hard_core_limit"] == Self.sourced("unlimited", "/etc/security/limits.d/90-dev.conf:1"))
    }

    @Test func garbageInLimitsIsAStatedErrorNamingTheLine() throws {
        let tree = TempTree()
        hardened(tree)
        tree.file("etc/security/limits.conf", "@ml soft nofile 1024 extra\n")
        #expect(
            try coredump(tree)["hard_core_limit"]
                == ["error": "/etc/security/limits.conf:1: expected `domain type item value`", "source": "/etc/security/limits.conf"])
    }

    // MARK: - Control test: a table of canned facts

    static let persistent = "(persistent; offline root: no runtime value, decided on this alone)"
    static let systemdCoredump = "|/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h"

    /// The sysctl and coredump facts of a hardened host; each row changes one thing.
    static func host(
        pattern: JSON = "|/bin/false", suidDumpable: JSON = 0, storage: JSON = sourced("external", "default (systemd)"),
        processSizeMax: JSON = sourced(2_147_483_648, "default (systemd)"),
        limit: JSON = sourced(0, "/etc/security/limits.d/60-warden.conf:1")
    ) -> [String: Fact] {
        [
            "sysctl": .value([
                "kernel": ["core_pattern": ["values": [sourced(pattern, "/etc/sysctl.d/60-warden.conf:1 \(persistent)")]]],
                "fs": ["suid_dumpable": ["values": [sourced(suidDumpable, "/etc/sysctl.d/60-warden.conf:2 \(persistent)")]]],
            ]),
            "coredump": .value([
                "hard_core_limit": limit, "storage": storage, "process_size_max": processSizeMax, "files": [], "ignored": [], "unread": [],
                "source": "/etc/systemd/coredump.conf",
            ]),
        ]
    }

    /// Each row: what changed, the facts, the status (the same at sl3 and sl4), and text the
    /// summary must contain (empty: not checked).
    static let hrd005Table: [(String, [String: Fact], Status, String)] = [
        ("piped to /bin/false, hard limit 0", host(), .pass, ""),
        (
            "written to a file", host(pattern: "/var/crash/core.%e.%p"), .fail,
            "kernel.core_pattern is /var/crash/core.%e.%p, expected starts with |"
        ),
        // systemd-coredump's defaults: Storage=external, ProcessSizeMax=2G.
        (
            "systemd-coredump with its defaults", host(pattern: .string(systemdCoredump)), .fail,
            "systemd-coredump Storage is external, expected = none"
        ),
        (
            "systemd-coredump storing nothing",
            host(
                pattern: .string(systemdCoredump), storage: sourced("none", "/etc/systemd/coredump.conf.d/60-warden.conf:2"),
                processSizeMax: sourced(0, "/etc/systemd/coredump.conf.d/60-warden.conf:3")), .pass, ""
        ),
        (
            "systemd-coredump storing nothing but processing 2G",
            host(pattern: .string(systemdCoredump), storage: sourced("none", "/etc/systemd/coredump.conf.d/60-warden.conf:2")), .fail,
            "systemd-coredump ProcessSizeMax is 2147483648, expected = 0"
        ),
        ("setuid programs dump", host(suidDumpable: 2), .fail, "fs.suid_dumpable is 2"),
        (
            "a later limits file sets unlimited", host(limit: sourced("unlimited", "/etc/security/limits.d/90-dev.conf:1")), .fail,
            "`* hard core` limit is unlimited, expected = 0"
        ),
        (
            "a limits file that cannot be parsed",
            host(limit: ["error": "/etc/security/limits.conf:1: expected `domain type item value`", "source": "/etc/security/limits.conf"]),
            .error, "/etc/security/limits.conf:1"
        ),
    ]

    @Test(arguments: CoredumpProbeTests.hrd005Table.indices)
    func hrd005OverATableOfFacts(_ row: Int) throws {
        let (name, facts, expected, says) = Self.hrd005Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("HRD-005", profile: profile, facts: facts)
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(says.isEmpty || finding.summary.contains(says), "\(profile) \(name): \(finding.summary)")
        }
    }
}
