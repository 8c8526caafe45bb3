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

    /// The weight_readers fact of the fixture (changed by `change` in a copy) with its own site or
    /// `site`, as the probe states it (a value, or why there is none).
    func state(_ fixture: String, site: String?? = .none, _ change: ((TempTree) -> Void)? = nil) throws -> Fact? {
        let text = try site ?? Self.siteText(fixture)
        let tree = TempTree()
        tree.copy(fixture: fixture)
        change?(tree)
        return try audit(root: tree.path, site: text, probes: [WeightReadersProbe()]).facts["weight_readers"]
    }

    /// The fact's value, checked against the type the probe declares.
    func readers(_ fixture: String, site: String? = nil, _ change: ((TempTree) -> Void)? = nil) throws -> JSON? {
        let text = try site ?? Self.siteText(fixture)
        guard case .value(let v)? = try state(fixture, site: text, change) else {
            Issue.record("no weight_readers value: \(String(describing: try state(fixture, site: text, change)))")
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

    @Test func aPersonInTheWeightsGroupIsAPersonOutsideTheBreakGlassGroup() throws {
        let r = try #require(try readers("weight-readers-human-in-group"))
        let humans = r["humans"]?.arrayValue ?? []
        #expect(humans.map { $0["name"] } == ["dave", "alice", "bob", "carol"])
        #expect(
            humans.first
                == [
                    "name": "dave", "uid": 1003, "kind": "human", "via": ["member of weights (weights.group)"], "break_glass": false,
                    "source": "/etc/group:4: member of weights (weights.group)",
                ])
    }

    @Test func aPersonWhosePrimaryGroupIsTheWeightsGroupReads() throws {
        let r = try #require(
            try readers("weight-readers-break-glass") { t in
                let passwd = (try? LocalFile.readText(t.path + "/etc/passwd")) ?? ""
                t.file("etc/passwd", passwd.replacingFirst("dave:x:1003:1003:", with: "dave:x:1003:990:"))
            })
        let dave = r["humans"]?.arrayValue?.first { $0["name"] == "dave" }
        #expect(dave?["source"] == "/etc/passwd:10: primary group weights (weights.group)")
        #expect(dave?["break_glass"] == false)
    }

    @Test func aBreakGlassGroupOf21CountsItsPeople() throws {
        let r = try #require(try readers("weight-readers-break-glass-21"))
        #expect(r["break_glass"]?["humans"]?["value"] == 21)
        #expect(r["humans"]?.arrayValue?.count == 21)
        #expect(r["humans"]?.arrayValue?.allSatisfy { $0["break_glass"] == true } == true)
    }

    @Test func directReadersAreCountedOnlyOnAnIsolatedNetwork() throws {
        #expect(try readers("weight-readers-isolated-51")?["direct_readers"] == 51)
        // The same ten people in production: none may read directly, so there is nothing to count.
        let production = try #require(try readers("weight-readers-isolated-10", site: "weights:\n  owner: mlsvc\n  group: weights\n"))
        #expect(production["environment"] == "production (RAND SL3 alternative A)")
        #expect(
            production["direct_readers"]
                == ["not_applicable": "environment production (RAND SL3 alternative A): no person reads the weights directly"])
        #expect(production["humans"]?.arrayValue?.count == 10)
    }

    @Test func withoutARegistryThereIsNoFact() throws {
        let fixture = "weight-readers-break-glass"
        #expect(
            try state(fixture, site: .some(nil))
                == .unavailable(.error("no site file: who may read the weights (weights.owner, weights.group) is not registered")))
        #expect(
            try state(fixture, site: "weights:\n  paths: [/srv/weights]\n")
                == .unavailable(
                    .error(
                        "the site file site.yaml does not set weights.owner and weights.group: who may read the weights is not registered"))
        )
        #expect(
            try state(fixture, site: "weights:\n  owner: mlsvc\n")
                == .unavailable(.error("the site file site.yaml does not set weights.group: who may read the weights is not registered")))
    }

    @Test func anUnresolvedReaderIsAnErrorItemAmongThePeople() throws {
        let ghost = try #require(
            try readers(
                "weight-readers-break-glass",
                site: try Self.siteText("weight-readers-break-glass").replacingFirst(
                    "[group:weights-breakglass]", with: "[group:weights-breakglass, ghost]")))
        #expect(
            ghost["humans"]?.arrayValue?.last
                == [
                    "name": "ghost", "error": "the allowed principal ghost (weights.allowed_principals) is neither an account nor a group",
                    "source": "site file site.yaml",
                ])
        // A member listed in the group without an account cannot be told a person or not.
        let erin: JSON = [
            "name": "erin", "error": "erin is listed in group weights (weights.group) but has no account in /etc/passwd",
            "source": "/etc/group:4",
        ]
        let dangling = try #require(
            try readers("weight-readers-break-glass") { t in
                let group = (try? LocalFile.readText(t.path + "/etc/group")) ?? ""
                t.file("etc/group", group.replacingFirst("weights:x:990:loader,backup", with: "weights:x:990:loader,backup,erin"))
            })
        #expect(dangling["humans"]?.arrayValue?.last == erin)
        let failing = try #require(
            try readers("weight-readers-human-in-group") { t in
                let group = (try? LocalFile.readText(t.path + "/etc/group")) ?? ""
                t.file("etc/group", group.replacingFirst("loader,backup,dave", with: "loader,backup,dave,erin"))
            })
        #expect(failing["humans"]?.arrayValue?.map { $0["name"] } == ["dave", "alice", "bob", "carol", "erin"])
        #expect(failing["humans"]?.arrayValue?.last == erin)
    }

    @Test func aBreakGlassGroupTheHostLacksCannotBeCounted() throws {
        let lacking: JSON = [
            "group": "glass", "members": [], "source": "/etc/group",
            "humans": ["error": "the break-glass group glass (weights.break_glass_group) is not in /etc/group"],
        ]
        let site = try Self.siteText("weight-readers-break-glass").replacingFirst(
            "break_glass_group: weights-breakglass", with: "break_glass_group: glass")
        let r = try #require(try readers("weight-readers-break-glass", site: site))
        #expect(r["break_glass"] == lacking)
        // Its would-be members read through the ACL, and are in no break-glass group.
        #expect(r["humans"]?.arrayValue?.map { $0["break_glass"] } == [false, false, false])
        let quiet = try #require(
            try readers("weight-readers-break-glass", site: "weights:\n  owner: mlsvc\n  group: weights\n  break_glass_group: glass\n"))
        #expect(quiet["break_glass"] == lacking)
        #expect(quiet["humans"] == [])
    }

    @Test func loginDefsDecidesWhoIsAPerson() throws {
        // With UID_MIN above theirs, the four are no longer logins, as for ACC-007.
        let r = try #require(try readers("weight-readers-human-in-group") { t in t.file("etc/login.defs", "UID_MIN 1004\n") })
        #expect(r["humans"] == [])
        #expect(r["readers"]?.arrayValue?.first { $0["name"] == "dave" }?["kind"] == "service")
    }

    // MARK: - Control tests: ACC-003 over a table of canned facts

    static func person(_ name: String, uid: Int = 1000, breakGlass: Bool) -> JSON {
        let via = breakGlass ? "member of weights-breakglass" : "member of weights (weights.group)"
        return [
            "name": .string(name), "uid": .int(Int64(uid)), "kind": "human", "via": [.string(via)], "break_glass": .bool(breakGlass),
            "source": .string("/etc/group:6: \(via)"),
        ]
    }

    static func people(_ count: Int, breakGlass: Bool) -> [JSON] {
        (1...count).map { person("p\($0)", uid: 2000 + $0, breakGlass: breakGlass) }
    }

    static let alice = person("alice", breakGlass: true)
    static let threeInBreakGlass = [alice, person("bob", uid: 1001, breakGlass: true), person("carol", uid: 1002, breakGlass: true)]

    /// The facts of the break-glass fixture (production, three people through the break-glass
    /// group); each row changes one thing. A site on an isolated network names no break-glass
    /// group unless `breakGlassGroup` says so.
    static func canned(
        environment: String = "production", humans: [JSON] = threeInBreakGlass, breakGlassHumans: JSON? = nil, direct: JSON? = nil,
        breakGlassGroup: Bool? = nil
    ) -> [String: Fact] {
        let isolated = environment == "isolated-network"
        let group = breakGlassGroup ?? !isolated
        let judged = isolated ? "isolated-network (RAND SL3 alternative C)" : "production (RAND SL3 alternative A)"
        let names = humans.compactMap { $0["break_glass"] == true ? $0["name"]?.stringValue : nil }
        let readers: JSON = [
            "source": "site.yaml", "environment": .string(judged), "readers": .array(humans), "humans": .array(humans),
            "direct_readers": direct
                ?? (isolated
                    ? .int(Int64(humans.count))
                    : ["not_applicable": .string("environment \(judged): no person reads the weights directly")]),
            "break_glass": group
                ? [
                    "group": "weights-breakglass", "gid": 995, "members": .array(names.map { .string($0) }), "source": "/etc/group:6",
                    "humans": breakGlassHumans ?? ["value": .int(Int64(names.count)), "source": "/etc/group:6: people"],
                ]
                : ["members": [], "humans": ["not_applicable": "the site file names no weights.break_glass_group"]],
        ]
        return [
            "weight_readers": .value(readers),
            "site": .value(["present": true, "source": "site.yaml", "environment": .string(environment)]),
        ]
    }

    static func unavailable(_ reason: String) -> [String: Fact] {
        ["weight_readers": .unavailable(.error(reason)), "site": .value(["present": false, "source": "no site file (defaults)"])]
    }

    static let dave = person("dave", uid: 1003, breakGlass: false)
    static let erin: JSON = [
        "name": "erin", "error": "erin is listed in group weights (weights.group) but has no account in /etc/passwd",
        "source": "/etc/group:4",
    ]

    /// The same at SL3 and SL4 (SL4 keeps SL3's thresholds); `summary` is the whole summary when
    /// `exactly`, else a part of it.
    static let acc003Table: [(name: String, facts: [String: Fact], status: Status, summary: [String], exactly: Bool)] = [
        ("people only through the break-glass group", canned(), .pass, [], false),
        (
            // The environment is the site's, not dave's: it is named once, without him.
            "a person in the weights' group", canned(humans: [dave] + threeInBreakGlass), .fail,
            [
                "none of the alternatives holds: dave: in the break-glass group is false, expected = true; environment is production, expected = isolated-network"
            ], true
        ),
        ("a break-glass group of 20", canned(humans: people(20, breakGlass: true)), .pass, [], false),
        (
            "a break-glass group of 21", canned(humans: people(21, breakGlass: true)), .fail,
            ["people in the break-glass group is 21, expected ≤ 20"], true
        ),
        (
            "ten direct readers on an isolated network", canned(environment: "isolated-network", humans: people(10, breakGlass: false)),
            .pass, ["environment is isolated-network (RAND SL3 alternative C)", "people who read the weights directly is 10"], false
        ),
        ("the same ten in production", canned(humans: people(10, breakGlass: false), breakGlassGroup: false), .fail, [], false),
        (
            "50 direct readers on an isolated network", canned(environment: "isolated-network", humans: people(50, breakGlass: false)),
            .pass, [], false
        ),
        (
            "51 direct readers on an isolated network", canned(environment: "isolated-network", humans: people(51, breakGlass: false)),
            .fail, ["people who read the weights directly is 51, expected ≤ 50"], true
        ),
        (
            "no site file", unavailable("no site file: who may read the weights (weights.owner, weights.group) is not registered"), .error,
            ["no site file: who may read the weights (weights.owner, weights.group) is not registered"], false
        ),
        (
            "a site without weights.owner and weights.group",
            unavailable("the site file site.yaml does not set weights.owner and weights.group: who may read the weights is not registered"),
            .error, ["does not set weights.owner and weights.group"], false
        ),
        (
            "an allowed principal that resolves to nothing",
            canned(
                humans: threeInBreakGlass + [
                    [
                        "name": "ghost",
                        "error": "the allowed principal ghost (weights.allowed_principals) is neither an account nor a group",
                        "source": "site file site.yaml",
                    ]
                ]), .error, ["ghost: the allowed principal ghost (weights.allowed_principals) is neither an account nor a group"], false
        ),
        (
            "a group member without an account", canned(humans: threeInBreakGlass + [erin]), .error, ["erin is listed in group weights"],
            false
        ),
        ("an unresolved member beside a person who fails", canned(humans: [dave] + threeInBreakGlass + [erin]), .fail, [], false),
        (
            "a break-glass group the host lacks, people reading through the ACL",
            canned(
                humans: [person("alice", breakGlass: false)],
                breakGlassHumans: ["error": "the break-glass group glass (weights.break_glass_group) is not in /etc/group"]), .fail, [],
            false
        ),
        (
            "a break-glass group the host lacks, nobody reading",
            canned(humans: [], breakGlassHumans: ["error": "the break-glass group glass (weights.break_glass_group) is not in /etc/group"]),
            .error, ["the break-glass group glass (weights.break_glass_group) is not in /etc/group"], false
        ),
        ("no person reads", canned(humans: []), .pass, ["no person's account can read the weights"], false),
    ]

    @Test(arguments: WeightReadersTests.acc003Table.indices)
    func acc003OverATableOfFacts(_ row: Int) throws {
        let (name, facts, expected, summary, exactly) = WeightReadersTests.acc003Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("ACC-003", profile: profile, facts: facts)
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            for part in summary {
                #expect(exactly ? finding.summary == part : finding.summary.contains(part), "\(profile) \(name): \(finding.summary)")
            }
        }
    }

    /// The evidence names the environment judged, each person with how they read, and the count.
    @Test func theEvidenceOfAPassShowsEachPersonAndTheCount() throws {
        let facts = WeightReadersTests.canned(breakGlassHumans: ["value": 3, "source": "/etc/group:6: people alice, bob, carol"])
        let f = try cannedFinding("ACC-003", profile: "sl3", facts: facts)
        #expect(f.evidence.contains { $0.observed == "production (RAND SL3 alternative A)" && $0.ok == true })
        #expect(
            f.evidence.contains {
                $0.subject == "alice" && $0.source == "/etc/group:6: member of weights-breakglass" && $0.observed == true
            },
            "\(f.evidence)")
        #expect(
            f.evidence.contains {
                $0.source == "/etc/group:6: people alice, bob, carol" && $0.observed == 3
                    && $0.expected == "people in the break-glass group ≤ 20"
            })
    }

    /// End to end, once per way in: ACC-003 reads both the probe's fact and the site file's
    /// environment (the site fact the collector makes), so the two are shown to meet on a fixture.
    @Test func fixturesEndToEnd() throws {
        for (fixture, expected) in [
            ("weight-readers-break-glass", Status.pass), ("weight-readers-isolated-10", .pass), ("weight-readers-human-in-group", .fail),
        ] {
            let f = try audit(root: Package.fixtureRoot(fixture), site: try Self.siteText(fixture)).findings["ACC-003"]
            #expect(f.status == expected, "\(fixture): \(f.summary)")
        }
    }
}
