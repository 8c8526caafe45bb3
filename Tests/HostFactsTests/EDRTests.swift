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
        try probeFact("edr", of: EDRProbe(), root: tree.path, site: site)
    }

    static let siteUnit = "services:\n  edr_units: [acme-edr.service]\n"

    // MARK: - Probe tests: the facts of each host

    static let source: JSON = "site file (services.edr_units) and /var/lib/dpkg/status"

    @Test func nothingFound() throws {
        // The removed wazuh-agent (config-files) is not an agent.
        #expect(try fact(host()) == ["units": [], "agents": [], "source": EDRTests.source])
    }

    @Test func anEnabledSiteUnitHasActiveNotCheckedOffline() throws {
        let tree = host()
        enable(tree, "acme-edr.service")
        #expect(try fact(tree, site: EDRTests.siteUnit) == ["units": [EDRTests.siteUnitItem()], "agents": [], "source": EDRTests.source])
    }

    @Test func aSiteUnitNotEnabled() throws {
        let tree = host()
        #expect(try fact(tree, site: EDRTests.siteUnit)["units"] == [EDRTests.siteUnitItem(enabled: false)])
        // Masked counts as not enabled, link or not.
        enable(tree, "acme-edr.service")
        tree.symlink("etc/systemd/system/acme-edr.service", to: "/dev/null")
        #expect(try fact(tree, site: EDRTests.siteUnit)["units"] == [EDRTests.siteUnitItem(enabled: false)])
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
            "a link in /run only, offline: runtime state a boot discards",
            { $0.symlink("run/systemd/system/multi-user.target.wants/acme-edr.service", to: "/lib/systemd/system/acme-edr.service") },
            [
                "value": false,
                "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/acme-edr.service (no link, or masked)",
            ]
        ),
        (
            "masked in /run, linked in /etc, offline: the mask does not survive a boot",
            {
                $0.symlink("etc/systemd/system/multi-user.target.wants/acme-edr.service", to: "/lib/systemd/system/acme-edr.service")
                $0.symlink("run/systemd/system/acme-edr.service", to: "/dev/null")
            },
            ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/acme-edr.service"]
        ),
        (
            "masked in /etc, linked in /etc",
            {
                $0.symlink("etc/systemd/system/multi-user.target.wants/acme-edr.service", to: "/lib/systemd/system/acme-edr.service")
                $0.symlink("etc/systemd/system/acme-edr.service", to: "/dev/null")
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

    @Test func aRecognisedAgentIsReportedWithItsPackage() throws {
        let tree = host(packages: ["falcon-sensor"])
        #expect(try fact(tree)["agents"] == [EDRTests.falcon(enabled: false)])
        enable(tree, "falcon-sensor.service")
        #expect(try fact(tree)["agents"] == [EDRTests.falcon()])
    }

    @Test func anUnreadablePackageDatabaseIsAnErrorNamingTheLine() throws {
        let tree = TempTree()
        tree.file("var/lib/dpkg/status", "Status: install ok installed\n")
        let agents = try fact(tree)["agents"]
        #expect(agents == ["error": "/var/lib/dpkg/status:1: Package: missing", "source": "/var/lib/dpkg/status"])
        // The site's units are still reported.
        tree.directory("etc/systemd/system/multi-user.target.wants")
        enable(tree, "acme-edr.service")
        #expect(try fact(tree, site: EDRTests.siteUnit)["units"] == [EDRTests.siteUnitItem()])
    }

    // MARK: - Control tests: INT-005 over canned facts

    /// A unit as the probe reports it offline: enabled by a `.wants` link (unless not), active
    /// not checked.
    static func unitItem(_ unit: String, enabled: Bool = true) -> JSONObject {
        [
            "name": .string(unit),
            "enabled": [
                "value": .bool(enabled),
                "source": .string(
                    enabled
                        ? "/etc/systemd/system/multi-user.target.wants/\(unit)"
                        : "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/\(unit) (no link, or masked)"),
            ],
            "active": [
                "not_applicable": "offline root: whether the unit is active is not checked (known only on a live host)",
                "source": .string("/run/systemd/units/invocation:\(unit)"),
            ],
        ]
    }

    static func siteUnitItem(enabled: Bool = true) -> JSON { .object(unitItem("acme-edr.service", enabled: enabled)) }

    static func agentItem(_ package: String, unit: String, enabled: Bool = true) -> JSON {
        var item = unitItem(unit, enabled: enabled)
        item["package"] = .string(package)
        item["version"] = "7.1.0-1"
        return .object(item)
    }

    static func falcon(enabled: Bool = true) -> JSON { agentItem("falcon-sensor", unit: "falcon-sensor.service", enabled: enabled) }

    static func edr(units: [JSON] = [], agents: JSON = []) -> JSON { ["units": .array(units), "agents": agents, "source": source] }

    static let unitSite: JSON = ["present": true, "source": "site.yaml", "services": ["edr_units": ["acme-edr.service"]]]
    static let idsSite: JSON = [
        "present": true, "source": "site.yaml",
        "services": ["network_ids": "Suricata sensor on the weights VLAN's span port (SOC ticket NET-42)"],
    ]
    static let dpkgError: JSON = [
        "error": "/var/lib/dpkg/status:1: Package: missing", "source": "/var/lib/dpkg/status",
    ]

    /// A row: what changes, the facts, the status (the same at SL3 and SL4), and a part of the
    /// summary where it matters.
    static let int005Table: [(String, [String: JSON], Status, String?)] = [
        ("nothing found", ["edr": edr()], .fail, "no recognised EDR or IDS agent package is installed"),
        ("an enabled site unit, active not checked offline", ["edr": edr(units: [siteUnitItem()]), "site": unitSite], .pass, nil),
        ("a site unit not enabled", ["edr": edr(units: [siteUnitItem(enabled: false)]), "site": unitSite], .fail, "acme-edr.service"),
        ("a recognised agent installed, not enabled", ["edr": edr(agents: [falcon(enabled: false)])], .fail, nil),
        ("a recognised agent enabled", ["edr": edr(agents: [falcon()])], .pass, nil),
        (
            "a declared network IDS and nothing on the host", ["edr": edr(), "site": idsSite], .manual,
            "Suricata sensor on the weights VLAN"
        ),
        (
            "a declared network IDS and an enabled agent",
            ["edr": edr(agents: [agentItem("suricata", unit: "suricata.service")]), "site": idsSite], .pass, nil
        ),
        ("dpkg's database unreadable", ["edr": edr(agents: dpkgError)], .error, "/var/lib/dpkg/status:1"),
        (
            "dpkg's database unreadable, an enabled site unit", ["edr": edr(units: [siteUnitItem()], agents: dpkgError), "site": unitSite],
            .pass, nil
        ),
        (
            "a site unit whose enablement links are unreadable",
            [
                "edr": edr(units: [
                    AuditRulesProbeTests.with(siteUnitItem(), ["enabled": UnknownEnablementTests.stated("acme-edr.service")])
                ]),
                "site": unitSite,
            ], .error, UnknownEnablementTests.unknown
        ),
    ]

    @Test(arguments: EDRTests.int005Table.indices)
    func int005OverATableOfFacts(_ row: Int) throws {
        let (name, facts, expected, summary) = EDRTests.int005Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("INT-005", profile: profile, facts: facts)
            #expect(f.status == expected && !f.advisory, "\(profile) \(name): \(f.summary)")
            if let summary { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
        }
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
            let edr: JSON = ["units": [unit(active: active)], "agents": [], "source": "site file"]
            let site: JSON = ["present": true, "services": ["edr_units": ["acme-edr.service"]]]
            let f = try cannedFinding("INT-005", profile: profile, facts: ["edr": edr, "site": site], mode: .live)
            #expect(f.status == expected, "active \(active): \(f.summary)")
            if !active { #expect(f.summary.contains("EDR unit active"), "\(f.summary)") }
        }
    }
}
