import Evidence
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A bundle evaluates every host against SL3 and SL4 at once, each shared control once, and
/// statuses alone for the hosts it does not show as examples: both shortcuts must give exactly
/// what evaluating each profile on its own gives.
@Suite struct EvaluationPlanTests {
    static let hosts = ["host-conformant", "host-debian-default", "sshd-hardened", "weights-plain-ext4"]

    /// The fixture's own site file, or one whose waivers (one expired) meet failing controls.
    static func facts(_ host: String) throws -> FactSet {
        let own = Package.fixtures + "/" + host + "/site.yaml"
        let site =
            (try? LocalFile.readText(own)) ?? """
                waivers:
                  - {control: HRD-001, reason: vendor kernel, approved_by: ciso, expires: 2027-01-31}
                  - {control: ACC-004, reason: migration, approved_by: ciso, expires: 2026-01-31}
                  - {control: LOG-001, reason: migration, approved_by: ciso, expires: 2027-01-31}
                """
        return try audit(root: Package.fixtureRoot(host), site: site).facts
    }

    /// Every fixture host there is, for the agreement below (the evaluator's status-only mode
    /// stops at the first child that decides a node, so every shape of check tree needs hosts
    /// that make it pass, fail and neither).
    static let allHosts: [String] = {
        let found = run("/usr/bin/find", [Package.fixtures, "-mindepth", "2", "-maxdepth", "2", "-name", "root", "-type", "d"])
        return found.stdout.split(separator: "\n").map { String($0.dropLast("/root".count).split(separator: "/").last ?? "") }.sorted()
    }()

    @Test(arguments: allHosts)
    func sharedControlsAndStatusOnlyAgreeWithSeparateEvaluation(_ host: String) throws {
        let profiles = [try BuiltIn.profile("sl3"), try BuiltIn.profile("sl4")]
        let facts = try Self.facts(host)
        let plan = EvaluationPlan(profiles)
        let detailed = plan.evaluate(facts: facts, now: testNow)
        let statuses = plan.statuses(facts: facts, now: testNow)
        for (p, profile) in profiles.enumerated() {
            let alone = Evaluator.evaluate(profile, facts: facts, now: testNow)
            #expect(detailed[p].count == alone.count)
            #expect(statuses[p].count == alone.count)
            for (i, expected) in alone.enumerated() {
                let shared = detailed[p][i]
                #expect(shared.control == expected.control)
                #expect(shared.status == expected.status, "\(profile.id) \(expected.control)")
                #expect(shared.advisory == expected.advisory, "\(profile.id) \(expected.control)")
                #expect(shared.summary == expected.summary)
                #expect(shared.evidence == expected.evidence)
                #expect(shared.waiver == expected.waiver)
                #expect(statuses[p][i] == expected.status, "\(profile.id) \(expected.control): status-only evaluation differs")
            }
        }
    }

    /// What a fleet summary records of a host (its verdict and every status other than pass, per
    /// profile, from statuses alone) is what evaluating each profile on its own says.
    @Test(arguments: allHosts)
    func fleetRecordsAgreeWithSeparateEvaluation(_ host: String) throws {
        let profiles = [try BuiltIn.profile("sl3"), try BuiltIn.profile("sl4")]
        let facts = try Self.facts(host)
        guard case .value(let identity)? = facts["host"], var machine = identity.objectValue else {
            Issue.record("no host fact")
            return
        }
        machine["machine_id"] = "0123456789abcdef0123456789abcdef"
        let document = FindingsDocument(
            host: .object(machine), root: "/", profile: profiles[1], toolVersion: "test",
            startedAt: testNow, finishedAt: testNow, findings: [], facts: facts)
        var builder = FleetSummaryBuilder(profiles: profiles, inventory: nil, createdAt: testNow, maxAge: 86_400)
        builder.add(try ParsedFindings(json: document.json, file: "f.json"), keyID: "k", file: "findings/f.dsse.json")
        let recorded = try #require(builder.finish(rejected: [], superseded: []).hosts.first)
        for (p, profile) in profiles.enumerated() {
            let alone = Evaluator.evaluate(profile, facts: facts, now: testNow)
            #expect(recorded.results[p].verdict == Summary(alone).verdict, "\(profile.id)")
            #expect(
                recorded.results[p].notPassed
                    == Dictionary(uniqueKeysWithValues: alone.filter { $0.status != .pass }.map { ($0.control, $0.status) }),
                "\(profile.id)")
        }
    }

    /// The fixture hosts above must between them exercise every status the bundle tallies, or
    /// the agreement says little.
    @Test func theFixturesCoverEveryStatus() throws {
        let profile = try BuiltIn.profile("sl4")
        var seen: Set<Status> = []
        for host in Self.hosts {
            let facts = try Self.facts(host)
            seen.formUnion(Evaluator.evaluate(profile, facts: facts, now: testNow).map(\.status))
        }
        #expect(seen.isSuperset(of: [.pass, .fail, .error, .notApplicable, .notChecked, .waived]), "\(seen)")
    }
}
