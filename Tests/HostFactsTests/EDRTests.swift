import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

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
