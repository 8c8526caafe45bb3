import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-003 (RAND SL3: no person reads the weights directly; break-glass at most 20 people; an
/// isolated network at most 50 direct readers) and the probe behind it, `weight_readers`, on the
/// `weight-readers-*` fixtures, each with its own site.yaml.
@Suite struct WeightReadersTests {
    static func siteText(_ fixture: String) throws -> String {
        try LocalFile.readText(Package.fixtures + "/" + fixture + "/site.yaml")
    }

    /// The fixture (changed by `change` in a copy) audited with its own site or `site`.
    func finding(
        _ fixture: String, profile: String = "sl3", site: String? = nil, _ change: ((TempTree) -> Void)? = nil
    ) throws -> Finding {
        let text = try site ?? Self.siteText(fixture)
        guard let change else { return try audit(root: Package.fixtureRoot(fixture), profile: profile, site: text).findings["ACC-003"] }
        let tree = TempTree()
        tree.copy(fixture: fixture)
        change(tree)
        return try audit(root: tree.path, profile: profile, site: text).findings["ACC-003"]
    }

    func readers(_ fixture: String, site: String? = nil) throws -> JSON? {
        let facts = try audit(root: Package.fixtureRoot(fixture), site: try site ?? Self.siteText(fixture), probes: [WeightReadersProbe()])
            .facts
        guard case .value(let v)? = facts["weight_readers"] else {
            Issue.record("no weight_readers value: \(String(describing: facts["weight_readers"]))")
            return nil
        }
        #expect(FactContract.mismatches(v, WeightReadersProbe().facts["weight_readers"]!, path: "weight_readers") == [])
        return v
    }

    // MARK: - The probe's facts

    @Test func readersOfTheBreakGlassFixture() throws {
        let r = try #require(try readers("weight-readers-break-glass"))
        #expect(r["environment"] == "production (RAND SL3 alternative A)")
        // The owner, the group's members by primary group and by /etc/group, then the ACL's group.
        let all = r["readers"]?.arrayValue ?? []
        #expect(all.map { $0["name"] } == ["mlsvc", "infer", "loader", "backup", "alice", "bob", "carol"])
        #expect(all.map { $0["kind"] } == ["service", "service", "service", "service", "human", "human", "human"])
        #expect(
            all.first?["via"] == ["owner (weights.owner)", "primary group weights (weights.group)"],
            "\(String(describing: all.first))")
        #expect(all[1]["source"] == "/etc/passwd:4: primary group weights (weights.group)")
        // backup has a UID in the login range but nologin: a service account, as ACC-007 counts it.
        #expect(all[3]["uid"] == 1500)
        let humans = r["humans"]?.arrayValue ?? []
        #expect(humans.map { $0["name"] } == ["alice", "bob", "carol"])
        #expect(humans.allSatisfy { $0["break_glass"] == true })
        #expect(
            humans.first?["source"]
                == "/etc/group:6: member of weights-breakglass, ACL entry group:weights-breakglass (weights.allowed_principals)")
        // dave, a person in no registered group, and root, are not readers.
        #expect(!all.contains { $0["name"] == "dave" || $0["name"] == "root" })
        #expect(
            r["break_glass"]
                == [
                    "group": "weights-breakglass", "gid": 995, "members": ["alice", "bob", "carol"],
                    "humans": ["value": 3, "source": "/etc/group:6: people alice, bob, carol"], "source": "/etc/group:6",
                ])
        #expect(
            r["direct_readers"]?["not_applicable"]
                == "environment production (RAND SL3 alternative A): no person reads the weights directly")
    }

    @Test func onAnIsolatedNetworkThePeopleAreCounted() throws {
        let r = try #require(try readers("weight-readers-isolated-10"))
        #expect(r["environment"] == "isolated-network (RAND SL3 alternative C)")
        #expect(r["direct_readers"] == 10)
        #expect(r["humans"]?.arrayValue?.allSatisfy { $0["break_glass"] == false } == true)
        #expect(r["break_glass"]?["humans"]?["not_applicable"] == "the site file names no weights.break_glass_group")
    }

    @Test func aBareNameIsTheUserAndTheGroupOfThatName() throws {
        let site = "weights:\n  owner: root\n  group: weights\n  allowed_principals: [alice, user:bob, group:sudo]\n"
        let r = try #require(try readers("weight-readers-break-glass", site: site))
        let all = r["readers"]?.arrayValue ?? []
        // root owns: it is root, not a person; alice (user and group alice), bob, and sudo's dave.
        #expect(all.first?["kind"] == "root")
        #expect((r["humans"]?.arrayValue ?? []).map { $0["name"] } == ["alice", "bob", "dave"])
        #expect(
            all.first { $0["name"] == "alice" }?["via"]
                == ["ACL entry alice (weights.allowed_principals)", "primary group alice, ACL entry alice (weights.allowed_principals)"])
    }

    @Test func whatCannotBeResolvedIsAnErrorItem() throws {
        let site = "weights:\n  owner: nobody-here\n  group: weights\n  allowed_principals: [group:gone]\n"
        let r = try #require(try readers("weight-readers-break-glass", site: site))
        let errors = (r["humans"]?.arrayValue ?? []).compactMap { $0["error"]?.stringValue }
        #expect(
            errors == [
                "the weights' owner nobody-here (weights.owner) has no account in /etc/passwd",
                "the allowed principal group:gone (weights.allowed_principals) is not in /etc/group",
            ])
    }

    // MARK: - ACC-003 at SL3 and SL4

    @Test(arguments: ["sl3", "sl4"])
    func peopleOnlyThroughTheBreakGlassGroupPass(profile: String) throws {
        let f = try finding("weight-readers-break-glass", profile: profile)
        #expect(f.status == .pass, "\(profile): \(f.summary)")
        // The environment judged, each person with how they read, and the group's count.
        #expect(f.evidence.contains { $0.observed == "production (RAND SL3 alternative A)" && $0.ok == true })
        #expect(
            f.evidence.contains {
                $0.subject == "alice"
                    && $0.source
                        == "/etc/group:6: member of weights-breakglass, ACL entry group:weights-breakglass (weights.allowed_principals)"
                    && $0.observed == true
            }, "\(f.evidence)")
        #expect(
            f.evidence.contains {
                $0.source == "/etc/group:6: people alice, bob, carol" && $0.observed == 3
                    && $0.expected == "people in the break-glass group ≤ 20"
            })
    }

    @Test(arguments: ["sl3", "sl4"])
    func aPersonInTheWeightsGroupFails(profile: String) throws {
        let f = try finding("weight-readers-human-in-group", profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary.contains("dave: in the break-glass group is false"), "\(f.summary)")
        // The failure says which environment was judged.
        #expect(f.summary.contains("dave: environment is production, expected = isolated-network"), "\(f.summary)")
        #expect(f.evidence.contains { $0.subject == "dave" && $0.source == "/etc/group:4: member of weights (weights.group)" })
    }

    @Test func aPersonWhosePrimaryGroupIsTheWeightsGroupFails() throws {
        let f = try finding("weight-readers-break-glass") { t in
            let passwd = (try? LocalFile.readText(t.path + "/etc/passwd")) ?? ""
            t.file("etc/passwd", passwd.replacingFirst("dave:x:1003:1003:", with: "dave:x:1003:990:"))
        }
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.subject == "dave" && $0.source == "/etc/passwd:10: primary group weights (weights.group)" })
    }

    @Test(arguments: ["sl3", "sl4"])
    func aBreakGlassGroupOf21Fails(profile: String) throws {
        let f = try finding("weight-readers-break-glass-21", profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary == "people in the break-glass group is 21, expected ≤ 20", "\(f.summary)")
    }

    @Test(arguments: ["sl3", "sl4"])
    func tenDirectReadersPassOnAnIsolatedNetwork(profile: String) throws {
        let f = try finding("weight-readers-isolated-10", profile: profile)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.summary.contains("environment is isolated-network (RAND SL3 alternative C)"), "\(f.summary)")
        #expect(f.summary.contains("people who read the weights directly is 10"), "\(f.summary)")
        // The same people in production fail: there no one reads directly.
        let production = try finding("weight-readers-isolated-10", profile: profile, site: "weights:\n  owner: mlsvc\n  group: weights\n")
        #expect(production.status == .fail)
    }

    @Test(arguments: ["sl3", "sl4"])
    func fiftyOneDirectReadersFailOnAnIsolatedNetwork(profile: String) throws {
        let f = try finding("weight-readers-isolated-51", profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary == "people who read the weights directly is 51, expected ≤ 50", "\(f.summary)")
    }

    @Test func withoutARegistryItIsAnError() throws {
        let fixture = "weight-readers-break-glass"
        let none = try audit(root: Package.fixtureRoot(fixture)).findings["ACC-003"]
        #expect(none.status == .error)
        #expect(
            none.summary.contains("no site file: who may read the weights (weights.owner, weights.group) is not registered"),
            "\(none.summary)")
        let neither = try finding(fixture, site: "weights:\n  paths: [/srv/weights]\n")
        #expect(neither.status == .error)
        #expect(neither.summary.contains("does not set weights.owner and weights.group"), "\(neither.summary)")
        let noGroup = try finding(fixture, site: "weights:\n  owner: mlsvc\n")
        #expect(noGroup.status == .error)
        #expect(noGroup.summary.contains("does not set weights.group:"), "\(noGroup.summary)")
    }

    @Test func anUnresolvedReaderIsAnErrorUnlessAPersonAlreadyFails() throws {
        let gone = try finding(
            "weight-readers-break-glass",
            site: try Self.siteText("weight-readers-break-glass").replacingFirst(
                "[group:weights-breakglass]", with: "[group:weights-breakglass, ghost]"))
        #expect(gone.status == .error)
        #expect(
            gone.summary.contains("ghost: the allowed principal ghost (weights.allowed_principals) is neither an account nor a group"),
            "\(gone.summary)")
        // A member listed in the group without an account cannot be told a person or not.
        let dangling = try finding("weight-readers-break-glass") { t in
            let group = (try? LocalFile.readText(t.path + "/etc/group")) ?? ""
            t.file("etc/group", group.replacingFirst("weights:x:990:loader,backup", with: "weights:x:990:loader,backup,erin"))
        }
        #expect(dangling.status == .error)
        #expect(dangling.summary.contains("erin is listed in group weights"), "\(dangling.summary)")
        let failing = try finding("weight-readers-human-in-group") { t in
            let group = (try? LocalFile.readText(t.path + "/etc/group")) ?? ""
            t.file("etc/group", group.replacingFirst("loader,backup,dave", with: "loader,backup,dave,erin"))
        }
        #expect(failing.status == .fail)
    }

    @Test func aBreakGlassGroupTheHostLacksIsAnError() throws {
        let site = try Self.siteText("weight-readers-break-glass").replacingFirst(
            "break_glass_group: weights-breakglass", with: "break_glass_group: glass")
        let f = try finding("weight-readers-break-glass", site: site)
        // Its would-be members read through the ACL, and are in no break-glass group.
        #expect(f.status == .fail)
        let quiet = try finding(
            "weight-readers-break-glass", site: "weights:\n  owner: mlsvc\n  group: weights\n  break_glass_group: glass\n")
        #expect(quiet.status == .error)
        #expect(quiet.summary.contains("the break-glass group glass (weights.break_glass_group) is not in /etc/group"), "\(quiet.summary)")
    }

    @Test func loginDefsDecidesWhoIsAPerson() throws {
        // With UID_MIN above theirs, the three are no longer logins, as for ACC-007.
        let f = try finding("weight-readers-human-in-group") { t in
            t.file("etc/login.defs", "UID_MIN 1004\n")
        }
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.summary.contains("no person's account can read the weights"), "\(f.summary)")
    }
}
