import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-012 (SELinux enforcing, or AppArmor enforcing with no profile in complain mode) and the
/// `mac` probe behind it.
@Suite struct MACProbeTests {
    func mac(_ root: String) throws -> JSON { try probeFact("mac", of: MACProbe(), root: root) }

    static let enforce = "/sys/fs/selinux/enforce"
    static let enabled = "/sys/module/apparmor/parameters/enabled"
    static let profiles = "/sys/kernel/security/apparmor/profiles"

    /// What the probe says of AppArmor on an offline root whose /sys does not have it.
    static func offlineAppArmor(_ configured: [JSON] = []) -> JSON {
        [
            "enabled": .null, "runtime": false,
            "profiles": .array(
                configured + [
                    [
                        "source": .string(profiles),
                        "not_checked": "AppArmor runtime state (enabled, loaded profiles) is not available on an offline root",
                    ]
                ]),
            "note": "offline: only complain-mode profiles configured in /etc/apparmor.d can be seen",
        ]
    }

    static let selinuxNotConfigured: JSON = [
        "mode": "not configured", "runtime": false,
        "enforcing": ["value": false, "source": "/etc/selinux/config (absent: SELinux is not configured)"],
    ]

    // MARK: - Probe tests: the facts of each fixture

    @Test func selinuxEnforcing() throws {
        let v = try mac(Package.fixtureRoot("mac-selinux-enforcing"))
        #expect(v["source"] == .string(MACProbeTests.enforce))
        #expect(
            v["selinux"] == ["mode": "enforcing", "runtime": true, "enforcing": ["value": true, "source": .string(MACProbeTests.enforce)]])
        // The fixture's /sys has no AppArmor module directory: offline, its state is not known.
        #expect(v["apparmor"] == MACProbeTests.offlineAppArmor())
    }

    @Test func selinuxPermissiveAndAppArmorDisabled() throws {
        let v = try mac(Package.fixtureRoot("mac-selinux-permissive"))
        #expect(
            v["selinux"] == [
                "mode": "permissive", "runtime": true, "enforcing": ["value": false, "source": .string(MACProbeTests.enforce)],
            ])
        #expect(
            v["apparmor"] == ["enabled": ["value": false, "source": .string(MACProbeTests.enabled)], "runtime": true, "profiles": []])
    }

    @Test func apparmorEnforcingEveryProfile() throws {
        let v = try mac(Package.fixtureRoot("mac-apparmor-enforcing"))
        #expect(v["selinux"] == MACProbeTests.selinuxNotConfigured)
        #expect(v["apparmor"]?["enabled"] == ["value": true, "source": .string(MACProbeTests.enabled)])
        let loaded = v["apparmor"]?["profiles"]?.arrayValue ?? []
        #expect(loaded.count == 7)
        #expect(loaded.last == ["source": "/sys/kernel/security/apparmor/profiles:7", "profile": "/usr/sbin/chronyd", "mode": "enforce"])
        #expect(v["apparmor"]?["counts"] == ["enforce": 7])
    }

    @Test func apparmorComplainProfile() throws {
        let v = try mac(Package.fixtureRoot("mac-apparmor-complain-profile"))
        let loaded = v["apparmor"]?["profiles"]?.arrayValue ?? []
        #expect(
            loaded.last
                == ["source": "/sys/kernel/security/apparmor/profiles:8", "profile": "/usr/local/bin/weights-server", "mode": "complain"])
        #expect(v["apparmor"]?["counts"] == ["enforce": 7, "complain": 1])
    }

    @Test func apparmorEnabledWithoutProfiles() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "Y\n")
        t.file("sys/kernel/security/apparmor/profiles", "")
        #expect(
            try mac(t.path)["apparmor"]
                == ["enabled": ["value": true, "source": .string(MACProbeTests.enabled)], "runtime": true, "profiles": [], "counts": [:]])
    }

    @Test func apparmorDisabledListsNoProfile() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "N\n")
        t.file("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\n")
        #expect(
            try mac(t.path)["apparmor"]
                == ["enabled": ["value": false, "source": .string(MACProbeTests.enabled)], "runtime": true, "profiles": []])
    }

    @Test func garbageInTheProfileListIsAnErrorItemNamingTheLine() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "Y\n")
        t.file("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\nnot a profile line\n")
        #expect(
            try mac(t.path)["apparmor"]?["profiles"]
                == [
                    ["source": "/sys/kernel/security/apparmor/profiles:1", "profile": "/usr/bin/man", "mode": "enforce"],
                    [
                        "source": "/sys/kernel/security/apparmor/profiles:2",
                        "error": "unexpected line 'not a profile line' (expected 'name (mode)')",
                    ],
                ])
    }

    @Test func anUnexpectedRuntimeValueLeavesNoFact() throws {
        let t = TempTree()
        t.file("sys/fs/selinux/enforce", "2\n")
        let facts = try audit(root: t.path, probes: [MACProbe()]).facts
        #expect(facts["mac"] == .unavailable(.error("/sys/fs/selinux/enforce: unexpected value '2' (expected 0 or 1)")))
    }

    @Test func offlineSELinuxConfigEnforcing() throws {
        let t = TempTree()
        t.file("etc/selinux/config", "# comment\nSELINUX=Enforcing\nSELINUXTYPE=targeted\n")
        let v = try mac(t.path)
        #expect(v["selinux"] == ["mode": "enforcing", "runtime": false, "enforcing": ["value": true, "source": "/etc/selinux/config:2"]])
        #expect(v["apparmor"] == MACProbeTests.offlineAppArmor())
    }

    @Test func offlineKernelCommandLineOverridesSELinuxConfig() throws {
        let t = TempTree()
        t.file("etc/selinux/config", "SELINUX=enforcing\n")
        t.file("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"quiet enforcing=0\"\n")
        #expect(
            try mac(t.path)["selinux"]
                == [
                    "mode": "permissive (enforcing=0 on the kernel command line)", "runtime": false,
                    "enforcing": ["value": false, "source": "/etc/default/grub:2"],
                ])
    }

    @Test func offlineAppArmorComplainProfileInConfiguration() throws {
        // Disabled profiles and dpkg leftovers are not loaded, so they are not listed.
        #expect(
            try mac(Package.fixtureRoot("mac-offline-apparmor-complain-configured"))["apparmor"]
                == MACProbeTests.offlineAppArmor([
                    [
                        "source": "/etc/apparmor.d/usr.local.bin.weights-server:5", "profile": "weights-server", "mode": "complain",
                        "configured_by": "flags=(complain)",
                    ]
                ]))
    }

    @Test func offlineForceComplainEntry() throws {
        let t = TempTree()
        t.file("etc/apparmor.d/usr.sbin.chronyd", "/usr/sbin/chronyd {\n}\n")
        t.symlink("etc/apparmor.d/force-complain/usr.sbin.chronyd", to: "/etc/apparmor.d/usr.sbin.chronyd")
        #expect(
            try mac(t.path)["apparmor"]
                == MACProbeTests.offlineAppArmor([
                    [
                        "source": "/etc/apparmor.d/force-complain/usr.sbin.chronyd", "profile": "usr.sbin.chronyd", "mode": "complain",
                        "configured_by": "force-complain",
                    ]
                ]))
    }

    @Test func offlineAppArmorWithoutComplainProfiles() throws {
        let t = TempTree()
        t.file("etc/apparmor.d/usr.sbin.chronyd", "/usr/sbin/chronyd {\n  capability sys_time,\n}\n")
        let v = try mac(t.path)
        #expect(v["selinux"] == MACProbeTests.selinuxNotConfigured)
        #expect(v["apparmor"] == MACProbeTests.offlineAppArmor())
    }

    @Test(arguments: [
        ("profile x /usr/bin/x flags=(complain) {", true),
        ("/usr/bin/x flags = ( attach_disconnected , complain ) {", true),
        ("/usr/bin/x flags=(enforce) {", false),
        ("/usr/bin/x flags=(unconfined) {", false),
        ("/usr/bin/complain-tool {", false),
    ])
    func complainFlags(line: String, complain: Bool) {
        #expect(MACProbe.declaresComplain(Substring(line)) == complain)
    }

    // MARK: - Control tests: ACC-012 over a table of canned facts

    static func selinux(_ mode: String, runtime: Bool = true, source: String = enforce) -> JSON {
        ["mode": .string(mode), "runtime": .bool(runtime), "enforcing": ["value": .bool(mode == "enforcing"), "source": .string(source)]]
    }

    /// AppArmor at run time: enabled, with these loaded profiles (`name (mode)`, one a line).
    static func loaded(_ modes: [String], enabled: Bool = true) -> JSON {
        [
            "enabled": ["value": .bool(enabled), "source": .string(MACProbeTests.enabled)], "runtime": true,
            "profiles": .array(
                modes.enumerated().map { i, mode in
                    ["source": .string("\(profiles):\(i + 1)"), "profile": .string("/usr/bin/p\(i)"), "mode": .string(mode)]
                }),
        ]
    }

    static func canned(selinux: JSON = selinuxNotConfigured, apparmor: JSON = offlineAppArmor()) -> Fact {
        .value(["source": .string(enforce), "selinux": selinux, "apparmor": apparmor])
    }

    static let complainConfigured: JSON = [
        "source": "/etc/apparmor.d/usr.local.bin.weights-server:5", "profile": "weights-server", "mode": "complain",
        "configured_by": "flags=(complain)",
    ]

    /// The same at SL3 and SL4; `summary` are parts of the summary.
    static let acc012Table: [(String, Fact, Status, [String])] = [
        ("SELinux enforcing", canned(selinux: selinux("enforcing")), .pass, []),
        (
            "SELinux permissive, AppArmor disabled", canned(selinux: selinux("permissive"), apparmor: loaded([], enabled: false)), .fail,
            ["SELinux enforcing is false", "AppArmor is not enabled"]
        ),
        ("AppArmor enforcing every profile", canned(apparmor: loaded(Array(repeating: "enforce", count: 7))), .pass, []),
        ("AppArmor kill mode enforces too", canned(apparmor: loaded(["kill"])), .pass, []),
        ("AppArmor with a profile in complain mode", canned(apparmor: loaded(["enforce", "complain"])), .fail, ["complain mode"]),
        ("AppArmor enabled without profiles", canned(apparmor: loaded([])), .fail, ["enforces no profile"]),
        ("AppArmor disabled", canned(apparmor: loaded([], enabled: false)), .fail, []),
        (
            "a line of the profile list that cannot be read",
            canned(apparmor: [
                "enabled": ["value": true, "source": .string(enabled)], "runtime": true,
                "profiles": [
                    ["source": "/sys/kernel/security/apparmor/profiles:1", "profile": "/usr/bin/man", "mode": "enforce"],
                    [
                        "source": "/sys/kernel/security/apparmor/profiles:2",
                        "error": "unexpected line 'not a profile line' (expected 'name (mode)')",
                    ],
                ],
            ]), .error, ["/sys/kernel/security/apparmor/profiles:2"]
        ),
        (
            "an unexpected runtime value", .unavailable(.error("/sys/fs/selinux/enforce: unexpected value '2' (expected 0 or 1)")), .error,
            ["/sys/fs/selinux/enforce: unexpected value '2'"]
        ),
        (
            "offline, SELinux configured enforcing", canned(selinux: selinux("enforcing", runtime: false, source: "/etc/selinux/config:2")),
            .pass, []
        ),
        (
            "offline, the kernel command line overrides the configuration",
            canned(selinux: selinux("permissive (enforcing=0 on the kernel command line)", runtime: false, source: "/etc/default/grub:2")),
            .notChecked, []
        ),
        (
            "offline, a profile configured in complain mode", canned(apparmor: offlineAppArmor([complainConfigured])), .fail,
            ["complain mode"]
        ),
        (
            "offline, a force-complain entry",
            canned(
                apparmor: offlineAppArmor([
                    [
                        "source": "/etc/apparmor.d/force-complain/usr.sbin.chronyd", "profile": "usr.sbin.chronyd", "mode": "complain",
                        "configured_by": "force-complain",
                    ]
                ])), .fail, []
        ),
        ("offline, no complain profile configured", canned(), .notChecked, ["not available on an offline root"]),
    ]

    @Test(arguments: MACProbeTests.acc012Table.indices)
    func acc012OverATableOfFacts(_ row: Int) throws {
        let (name, fact, expected, summary) = MACProbeTests.acc012Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("ACC-012", profile: profile, facts: ["mac": fact])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            for part in summary { #expect(finding.summary.contains(part), "\(profile) \(name): \(finding.summary)") }
        }
    }

    /// The evidence cites the line each fact came from.
    @Test func theEvidenceCitesTheFactsSources() throws {
        func evidence(_ fact: Fact) throws -> [Observation] { try cannedFinding("ACC-012", profile: "sl3", facts: ["mac": fact]).evidence }
        #expect(
            try evidence(MACProbeTests.canned(selinux: MACProbeTests.selinux("enforcing"))).contains {
                $0.source == MACProbeTests.enforce && $0.observed == true
            })
        #expect(
            try evidence(MACProbeTests.canned(apparmor: MACProbeTests.offlineAppArmor([MACProbeTests.complainConfigured]))).contains {
                $0.source == "/etc/apparmor.d/usr.local.bin.weights-server:5" && $0.observed == "weights-server"
            })
    }

    /// End to end, once: the complain-mode fixture fails through the whole path, so that the
    /// probe's runtime profile list and the control's reading of it are shown to meet.
    @Test func aComplainProfileFailsEndToEnd() throws {
        let f = try audit(root: Package.fixtureRoot("mac-apparmor-complain-profile"), probes: [MACProbe()]).findings["ACC-012"]
        #expect(f.status == .fail, "\(f.summary)")
    }
}
