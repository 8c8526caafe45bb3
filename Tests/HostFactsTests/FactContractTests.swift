import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The probe-to-control contract (issue 16, part 3): what every probe emits conforms to its
/// declaration (`Probe.facts`) on every fixture, the stock Debian 12 root and the live host; and
/// every fact path every check of the built-in catalog reads resolves in the declarations with a
/// type its comparison can work on.
@Suite struct FactContractTests {
    /// Where collected facts depart from the declarations: facts no probe declares, declared
    /// facts a probe did not produce, and every mismatch inside a value.
    static func departures(_ facts: [String: Fact], produced: [String], label: String) -> [String] {
        let declared = ProbeRegistry.factTypes
        var out: [String] = []
        for name in produced where facts[name] == nil { out.append("\(label): \(name): declared, but not produced") }
        for (name, fact) in facts.sorted(by: { $0.key < $1.key }) {
            guard let type = declared[name] else {
                out.append("\(label): \(name): produced, but not declared")
                continue
            }
            if case .value(let v) = fact {
                out += FactContract.mismatches(v, type, path: name).map { "\(label): \($0)" }
            }
        }
        return out
    }

    static func fixtureNames() -> [String] {
        guard let d = opendir(Package.fixtures) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            var st = stat()
            if !name.hasPrefix("."), stat(Package.fixtureRoot(name), &st) == 0, st.st_mode & S_IFMT == S_IFDIR { names.append(name) }
        }
        return names.sorted()
    }

    static func site(_ fixture: String) throws -> Site? {
        let path = Package.fixtures + "/" + fixture + "/site.yaml"
        guard access(path, R_OK) == 0 else { return nil }
        return try Site.parse(try LocalFile.readText(path), file: path, digester: .libcrypto)
    }

    @Test func everyFixtureHasARoot() {
        #expect(FactContractTests.fixtureNames().count >= 40)
    }

    @Test(arguments: FactContractTests.fixtureNames())
    func probesKeepTheirDeclarationsOnFixture(_ fixture: String) throws {
        let facts = Collector.collect(root: try HostRoot(Package.fixtureRoot(fixture)), site: try FactContractTests.site(fixture))
        let produced = ProbeRegistry.all.flatMap(\.produces) + ["site", "weights"]
        let found = FactContractTests.departures(facts.facts, produced: produced, label: fixture)
        #expect(found.isEmpty, "\(found.count) departures from the declarations:\n\(found.joined(separator: "\n"))")
    }

    @Test func probesKeepTheirDeclarationsOnDebian12() throws {
        let root = try RealRoots.debian12()
        let facts = Collector.collect(root: try HostRoot(root), site: nil)
        let produced = ProbeRegistry.all.flatMap(\.produces) + ["site", "weights"]
        let found = FactContractTests.departures(facts.facts, produced: produced, label: "debian12")
        #expect(found.isEmpty, "\(found.count) departures from the declarations:\n\(found.joined(separator: "\n"))")
    }

    /// The live host takes the runtime branches (/proc, /sys, the journal) that offline roots
    /// do not. A registered weights location (a file in a temporary directory) gives the storage,
    /// LUKS, tree and ACL probes something to describe; the stray-weights scan is bounded.
    @Test func probesKeepTheirDeclarationsOnTheLiveHost() throws {
        let tree = TempTree()
        tree.file("weights/model.safetensors", "not really weights")
        let weights = WeightLocations(origin: .site, paths: [tree.path + "/weights"], note: "test")
        let context = ProbeContext(root: try HostRoot("/"), site: nil, weights: weights)
        let probes: [any Probe] = ProbeRegistry.all.map { probe in
            probe is StrayWeightsProbe ? StrayWeightsProbe(budget: WalkBudget(maxEntries: 20_000, maxSeconds: 10)) : probe
        }
        var facts: [String: Fact] = [:]
        for probe in probes {
            for (name, fact) in probe.collect(context) { facts[name] = fact }
        }
        let found = FactContractTests.departures(facts, produced: probes.flatMap(\.produces), label: "live")
        #expect(found.isEmpty, "\(found.count) departures from the declarations:\n\(found.joined(separator: "\n"))")
    }

    /// What no fixture has: crypttab key files (on the root, on another device, in
    /// cryptsetup-keys.d) and site waivers.
    @Test func probesKeepTheirDeclarationsOnAComposedRoot() throws {
        let tree = TempTree()
        tree.copy(fixture: "host-conformant")
        tree.file(
            "etc/crypttab",
            "data UUID=1 /etc/keys/data.key luks\nusb UUID=2 /keys/usb.key:LABEL=KEYS luks\nswap /dev/sdb2 /dev/urandom swap\n")
        tree.file("etc/keys/data.key", "k", mode: 0o400)
        tree.file("etc/cryptsetup-keys.d/backup.key", "k", mode: 0o400)
        let siteText =
            try LocalFile.readText(Package.fixtures + "/host-conformant/site.yaml")
            + "waivers:\n  - {control: LOG-005, reason: test, approved_by: ciso, expires: 2027-01-31}\n"
        let facts = Collector.collect(
            root: try HostRoot(tree.path), site: try Site.parse(siteText, file: "site.yaml", digester: .libcrypto))
        let produced = ProbeRegistry.all.flatMap(\.produces) + ["site", "weights"]
        let found = FactContractTests.departures(facts.facts, produced: produced, label: "composed")
        #expect(found.isEmpty, "\(found.count) departures from the declarations:\n\(found.joined(separator: "\n"))")
        #expect(facts["luks"].flatMap { if case .value(let v) = $0 { v["key_files"]?.arrayValue?.count } else { nil } } == 3)
    }

    @Test func everyProbeDeclaresWhatItProduces() {
        for probe in ProbeRegistry.all {
            #expect(!probe.facts.isEmpty, "\(probe.name) declares no facts")
        }
        #expect(Set(ProbeRegistry.factTypes.keys) == ProbeRegistry.factNames)
    }

    // MARK: - The catalog against the declarations

    @Test func everyPathTheCatalogReadsResolvesWithACompatibleType() throws {
        let problems = FactContract.problems(try BuiltIn.catalog(), facts: ProbeRegistry.factTypes)
        #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.map(\.description).joined(separator: "\n"))")
    }

    @Test func theCatalogReadsSomethingOfEveryProbe() throws {
        let catalog = try BuiltIn.catalog()
        let read = Set(
            catalog.controls.values.flatMap { FactContract.reads($0, facts: ProbeRegistry.factTypes) }
                .map { String($0.path.documented.prefix { $0 != "." && $0 != "[" }) })
        // Facts for identification and evidence only.
        let unread = Set(ProbeRegistry.factTypes.keys).subtracting(read).subtracting(["host", "weights"])
        #expect(unread.isEmpty, "facts no control reads: \(unread.sorted())")
    }

    static let badControls = """
        controls:
          - id: LOG-901
            title: misspelt field
            area: logging
            severity: low
            rationale: test
            references: {}
            check:
              all:
                - {fact: auditd.installed, eq: true}
                - {fact: auditd.conf.disk_full_actoin, in: [single, halt]}
            remediation: none
          - id: LOG-902
            title: wrong types
            area: logging
            severity: low
            rationale: test
            references: {}
            check:
              all:
                - {fact: auditd.enabled, mode_at_most: "0640"}
                - {fact: sshd.settings.maxauthtries, eq: "4"}
                - every: auditd.logs
                  where: {fact: .kind, eq: directory}
                  expect: {fact: .owner_ok, gte: 1}
                  if_empty: pass
                - every: auditd.sendmail
                  expect: {fact: .value, eq: true}
                  if_empty: pass
            remediation: none
          - id: LOG-903
            title: misspelt relative path
            area: logging
            severity: low
            rationale: test
            references: {}
            check:
              every: luks.volumes
              expect:
                every: .devices
                expect: {fact: .keyslot.kdf, eq: argon2id}
                if_empty: error
              if_empty: error
            remediation: none
        """

    @Test func aMisspeltPathOrAWrongTypeIsRejectedWithFileLineAndReason() throws {
        // Loading checks the contract and stops at the first problem, with its file and line.
        #expect(throws: WardenError.self) {
            try Catalog.load(
                files: [("bad-controls.yaml", FactContractTests.badControls)], facts: ProbeRegistry.factTypes, digester: .libcrypto)
        }
        // Every problem, as `problems` lists them, from a catalog decoded without the contract.
        let catalog = try Catalog.load(
            files: [("bad-controls.yaml", FactContractTests.badControls)], knownFacts: ProbeRegistry.factNames, digester: .libcrypto)
        let problems = FactContract.problems(catalog, facts: ProbeRegistry.factTypes)
        let found = problems.map { "\($0.file ?? ""):\($0.line ?? 0): \($0.message)" }
        let expected = [
            "bad-controls.yaml:11: auditd.conf.disk_full_actoin: no such field (did you mean disk_full_action?)",
            "bad-controls.yaml:21: auditd.enabled is sourced bool: 'mode_at_most' needs a mode",
            "bad-controls.yaml:22: sshd.settings.maxauthtries is sourced int: 'eq' compares it with string, which it never is",
            "bad-controls.yaml:25: auditd.logs[].owner_ok is bool: 'gte' needs an int",
            "bad-controls.yaml:27: auditd.sendmail is sourced bool, not a list: 'every' needs a list",
            "bad-controls.yaml:41: luks.volumes[].devices[].keyslot: no such field (did you mean keyslots?)",
        ]
        #expect(found == expected, "\(found.joined(separator: "\n"))")
        #expect(problems.allSatisfy { $0.field?.hasPrefix("controls.LOG-9") == true })
        #expect(throws: WardenError.self) { try FactContract.check(catalog, facts: ProbeRegistry.factTypes) }
    }

    // MARK: - The type functions themselves

    @Test func pathsResolveThroughSourcedValuesMapsAndListItems() throws {
        let facts = ProbeRegistry.factTypes
        func resolve(_ text: String) throws -> ResolvedFactPath { try FactContract.resolve(FactPath(text)!, facts: facts) }
        #expect(try resolve("sshd.settings.permitrootlogin").type == .sourced(.string))
        #expect(try resolve("sshd.settings.permitrootlogin.value").type == .string)
        #expect(try resolve("sshd.settings.permitrootlogin.source").documented == "sshd.settings.permitrootlogin")
        #expect(try resolve("cmdline.parameters[\"module.sig_enforce\"]").documented == "cmdline.parameters.<key>")
        #expect(try resolve("luks.volumes.0.devices").documented == "luks.volumes[].devices")
        #expect(
            throws: FactPathError(
                "sshd.settings.permitrootlogin.foo: sshd.settings.permitrootlogin is a sourced value; only .value and .source follow it")
        ) {
            try resolve("sshd.settings.permitrootlogin.foo")
        }
        #expect(throws: FactPathError("sshd.settigns: no such field (did you mean settings?)")) { try resolve("sshd.settigns") }
        #expect(
            throws: FactPathError("sshd.match_blocks.settings: sshd.match_blocks is a list; its items are read with every, some or none")
        ) {
            try resolve("sshd.match_blocks.settings")
        }
        #expect(throws: FactPathError("sshdd: no fact 'sshdd' (did you mean sshd?)")) { try resolve("sshdd") }
    }

    @Test func valuesAreCheckedAgainstTypesAndStatedStatusesStandAnywhere() {
        let type = FactType.object(["a": .sourced(.int), "b": .list(.object(["m": .mode])), "c": .map(.bool)], others: .string)
        #expect(
            FactContract.mismatches(
                ["a": ["value": 1, "source": "f:1"], "b": [["m": "0640"]], "c": ["x": true], "z": "other"], type, path: "t"
            ).isEmpty)
        #expect(
            FactContract.mismatches(
                ["a": ["error": "unreadable", "source": "f"], "b": [["path": "/x", "not_checked": "offline"]]], type, path: "t"
            ).isEmpty)
        #expect(
            FactContract.mismatches(["a": ["value": "1", "source": "f:1"]], type, path: "t") == [
                "t.a.value: expected int, found string \"1\""
            ])
        #expect(FactContract.mismatches(["b": [["m": "rwx"]]], type, path: "t") == ["t.b[0].m: expected a mode, found \"rwx\""])
        #expect(FactContract.mismatches(["a": ["value": 1]], type, path: "t") == ["t.a.source: missing, or not a string"])
        #expect(FactContract.mismatches(["z": 1], FactType.object(["a": .int]), path: "t") == ["t.z: not declared"])
    }
}
