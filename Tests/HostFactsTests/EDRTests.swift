import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// INT-005: an EDR or IDS agent runs on the host (the site's units, or an agent recognised by
/// its package), enabled and, live, active; a declared network IDS makes it manual. A verdict
/// control at SL3 and SL4 alike.
@Suite struct EDRTests {
    /// A dpkg status database with the given packages installed (and one removed agent).
    static func status(_ packages: [String]) -> String {
        var text = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
        text += "Package: wazuh-agent\nStatus: deinstall ok config-files\nVersion: 4.7.0-1\n\n"
        for p in packages { text += "Package: \(p)\nStatus: install ok installed\nVersion: 7.1.0-1\n\n" }
        return text
    }

    func host(packages: [String] = []) -> TempTree {
        let tree = TempTree()
        tree.file("var/lib/dpkg/status", EDRTests.status(packages))
        tree.directory("etc/systemd/system/multi-user.target.wants")
        return tree
    }

    func enable(_ tree: TempTree, _ unit: String) {
        tree.symlink("etc/systemd/system/multi-user.target.wants/\(unit)", to: "/lib/systemd/system/\(unit)")
    }

    func fact(_ tree: TempTree, site: String? = nil) throws -> JSON {
        let facts = try audit(root: tree.path, site: site, probes: [EDRProbe()]).facts
        guard case .value(let v)? = facts["edr"] else { throw TestFailure("no edr fact") }
        let mismatches = FactContract.mismatches(v, try #require(EDRProbe().facts["edr"]), path: "edr")
        #expect(mismatches.isEmpty, "\(mismatches)")
        return v
    }

    func findings(_ tree: TempTree, site: String? = nil) throws -> [String: Finding] {
        var out: [String: Finding] = [:]
        for profile in ["sl3", "sl4"] {
            out[profile] = try audit(root: tree.path, profile: profile, site: site, probes: [EDRProbe()]).findings["INT-005"]
        }
        return out
    }

    static let siteUnit = "services:\n  edr_units: [acme-edr.service]\n"

    @Test func nothingFoundFailsAtBothLevels() throws {
        let tree = host()
        let v = try fact(tree)
        #expect(v["units"] == [] && v["agents"] == [], "the removed wazuh-agent (config-files) is not an agent: \(v)")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail && !f.advisory, "\(profile): \(f.summary)")
            #expect(f.summary.contains("no recognised EDR or IDS agent package is installed"), "\(f.summary)")
        }
    }

    @Test func anEnabledSiteUnitPassesOfflineWithActiveNotChecked() throws {
        let tree = host()
        enable(tree, "acme-edr.service")
        let unit = try #require(try fact(tree, site: EDRTests.siteUnit)["units"]?.arrayValue?.first)
        #expect(unit["enabled"] == ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/acme-edr.service"])
        #expect(unit["active"]?["not_applicable"]?.stringValue?.contains("not checked") == true, "\(unit)")
        for (profile, f) in try findings(tree, site: EDRTests.siteUnit) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func aSiteUnitNotEnabledFails() throws {
        let tree = host()
        for (profile, f) in try findings(tree, site: EDRTests.siteUnit) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.summary.contains("acme-edr.service"), "\(f.summary)")
        }
        // Masked counts as not enabled, link or not.
        enable(tree, "acme-edr.service")
        tree.symlink("etc/systemd/system/acme-edr.service", to: "/dev/null")
        for (profile, f) in try findings(tree, site: EDRTests.siteUnit) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
    }

    /// Enabled is what systemd's manager follows (`SystemdUnits`): a link in a `.requires`
    /// directory, or one in /run only, enables the unit as a `.wants` link does; a unit masked in
    /// /run is not enabled whatever links /etc holds; a regular file in a `.wants` directory
    /// enables nothing (systemd ignores it).
    static let enablements: [(String, @Sendable (TempTree) -> Void, JSON)] = [
        (
            "a .requires link",
            { $0.symlink("etc/systemd/system/sockets.target.requires/acme-edr.service", to: "/lib/systemd/system/acme-edr.service") },
            ["value": true, "source": "/etc/systemd/system/sockets.target.requires/acme-edr.service"]
        ),
        (
            "an .upholds link",
            { $0.symlink("etc/systemd/system/multi-user.target.upholds/acme-edr.service", to: "/lib/systemd/system/acme-edr.service") },
            ["value": true, "source": "/etc/systemd/system/multi-user.target.upholds/acme-edr.service"]
        ),
        (
            "a link in /run only",
            { $0.symlink("run/systemd/system/multi-user.target.wants/acme-edr.service", to: "/lib/systemd/system/acme-edr.service") },
            ["value": true, "source": "/run/systemd/system/multi-user.target.wants/acme-edr.service"]
        ),
        (
            "masked in /run, linked in /etc",
            {
                $0.symlink("etc/systemd/system/multi-user.target.wants/acme-edr.service", to: "/lib/systemd/system/acme-edr.service")
                $0.symlink("run/systemd/system/acme-edr.service", to: "/dev/null")
            },
            [
                "value": false,
                "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/acme-edr.service (no link, or masked)",
            ]
        ),
        (
            "a regular file in .wants",
            { $0.file("etc/systemd/system/multi-user.target.wants/acme-edr.service", "[Service]\nExecStart=/bin/true\n") },
            [
                "value": false,
                "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/acme-edr.service (no link, or masked)",
            ]
        ),
    ]

    @Test(arguments: EDRTests.enablements.indices)
    func enabledAsTheManagerReadsIt(_ row: Int) throws {
        let (name, change, expected) = EDRTests.enablements[row]
        let tree = host()
        change(tree)
        let unit = try #require(try fact(tree, site: EDRTests.siteUnit)["units"]?.arrayValue?.first)
        #expect(unit["enabled"] == expected, "\(name)")
    }

    /// Live, active means systemd's invocation link is there (`SystemdUnits.isActive`); a
    /// leftover cgroup directory is not enough. Offline the same tree says nothing.
    @Test func activeIsTheInvocationLink() throws {
        let tree = host()
        enable(tree, "acme-edr.service")
        tree.directory("sys/fs/cgroup/system.slice/acme-edr.service")
        let units = SystemdUnits(root: try HostRoot(tree.path))
        #expect(
            EDRProbe.unitItem("acme-edr.service", units, .live)["active"]
                == ["value": false, "source": "/run/systemd/units/invocation:acme-edr.service (absent: not active)"])
        tree.symlink("run/systemd/units/invocation:acme-edr.service", to: "5d2ad6e3c0f34b0c9e8b6c1f0a2d4e6b")
        #expect(
            EDRProbe.unitItem("acme-edr.service", units, .live)["active"]
                == ["value": true, "source": "/run/systemd/units/invocation:acme-edr.service"])
        #expect(EDRProbe.unitItem("acme-edr.service", units, .offline)["active"]?["not_applicable"] != nil)
    }

    @Test func aRecognisedAgentCountsOnlyWhenEnabled() throws {
        let tree = host(packages: ["falcon-sensor"])
        let agent = try #require(try fact(tree)["agents"]?.arrayValue?.first)
        #expect(agent["package"] == "falcon-sensor" && agent["version"] == "7.1.0-1" && agent["name"] == "falcon-sensor.service")
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "installed, not enabled, \(profile): \(f.summary)") }
        enable(tree, "falcon-sensor.service")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func aDeclaredNetworkIDSIsManualWhenTheHostShowsNone() throws {
        let site = "services:\n  network_ids: Suricata sensor on the weights VLAN's span port (SOC ticket NET-42)\n"
        let tree = host()
        for (profile, f) in try findings(tree, site: site) {
            #expect(f.status == .manual, "\(profile): \(f.summary)")
            #expect(f.summary.contains("Suricata sensor on the weights VLAN"), "\(f.summary)")
        }
        // What the host shows needs no review.
        let withAgent = host(packages: ["suricata"])
        enable(withAgent, "suricata.service")
        for (profile, f) in try findings(withAgent, site: site) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func anUnreadablePackageDatabaseIsAnErrorUnlessASiteUnitPasses() throws {
        let tree = TempTree()
        tree.file("var/lib/dpkg/status", "Status: install ok installed\n")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .error, "\(profile): \(f.summary)")
            #expect(f.summary.contains("/var/lib/dpkg/status:1"), "\(f.summary)")
        }
        tree.directory("etc/systemd/system/multi-user.target.wants")
        enable(tree, "acme-edr.service")
        for (profile, f) in try findings(tree, site: EDRTests.siteUnit) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    /// Live, a unit also has to be active: canned facts as the probe reports them on a live host.
    @Test(arguments: ["sl3", "sl4"])
    func liveAnEnabledUnitThatIsNotActiveFails(profile: String) throws {
        func unit(active: Bool) -> JSON {
            [
                "name": "acme-edr.service",
                "enabled": ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/acme-edr.service"],
                "active": [
                    "value": .bool(active),
                    "source": .string(
                        "/run/systemd/units/invocation:acme-edr.service" + (active ? "" : " (absent: not active)")),
                ],
            ]
        }
        for (active, expected) in [(true, Status.pass), (false, Status.fail)] {
            let facts = FactSet(
                mode: .live,
                facts: [
                    "edr": .value(["units": [unit(active: active)], "agents": [], "source": "site file"]),
                    "site": .value(["present": true, "services": ["edr_units": ["acme-edr.service"]]]),
                ], files: [:])
            let f = Evaluator.evaluate(try BuiltIn.profile(profile), facts: facts, now: testNow)["INT-005"]
            #expect(f.status == expected, "active \(active): \(f.summary)")
            if !active { #expect(f.summary.contains("EDR unit active"), "\(f.summary)") }
        }
    }
}
