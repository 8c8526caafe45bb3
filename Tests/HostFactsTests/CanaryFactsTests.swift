import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Redacted facts (SECURITY.md, "Canaries"): no canary path or name is left in them, they
/// keep the probes' declarations, and every control reaches the status it reaches on the clear
/// facts; LOG-010 passes and fails on them at SL3 and SL4 as on the clear ones.
@Suite struct CanaryFactsTests {
    static let key = HMACKey(testBytes: Array(100..<132))
    static let canarySite = "weights:\n  paths: [/srv/weights]\n  canary: [/srv/weights/.canary]\n"

    /// A fixture's own site file, or one registering /srv/weights with a canary in it.
    static func site(_ fixture: String) throws -> String {
        let path = Package.fixtures + "/" + fixture + "/site.yaml"
        guard let text = try? LocalFile.readText(path), text.contains("canary") else { return canarySite }
        return text
    }

    static func statuses(_ findings: [Finding]) -> [String: Status] {
        Dictionary(uniqueKeysWithValues: findings.map { ($0.control, $0.status) })
    }

    @Test(arguments: FactContractTests.fixtureNames())
    func everyControlReachesTheSameStatusOnRedactedFacts(_ fixture: String) throws {
        let siteText = try Self.site(fixture)
        let site = try Site.parse(siteText, file: "site.yaml", digester: .libcrypto)
        let redaction = try CanaryRedaction(canaries: site.canary, key: Self.key)
        let clear = Collector.collect(root: try HostRoot(Package.fixtureRoot(fixture)), site: site)
        let redacted = Collector.collect(root: try HostRoot(Package.fixtureRoot(fixture)), site: site, redaction: redaction)
        #expect(redacted == redaction.redact(clear))
        let bytes = String(decoding: redacted.json.serialized(), as: UTF8.self)
        #expect(!bytes.contains("/srv/weights/.canary") && !bytes.contains("\".canary") && !bytes.contains("/.canary"))
        #expect(bytes.contains(redaction.canaries[0].digest))
        let produced = ProbeRegistry.all.flatMap(\.produces) + ["site", "weights"]
        let departures = FactContractTests.departures(redacted.facts, produced: produced, label: fixture)
        #expect(departures.isEmpty, "\(departures.joined(separator: "\n"))")
        for profile in ["sl3", "sl4"] {
            let resolved = try BuiltIn.profile(profile)
            let before = Evaluator.evaluate(resolved, facts: clear, now: testNow)
            let after = Evaluator.evaluate(resolved, facts: redacted, now: testNow)
            #expect(Self.statuses(after) == Self.statuses(before), "\(fixture) \(profile)")
            #expect(after["LOG-010"].evidence.map(\.ok) == before["LOG-010"].evidence.map(\.ok))
        }
    }

    /// The audit rules' fact names the canary by its digest everywhere: the site, the canaries'
    /// coverage, the rules themselves.
    @Test func auditRulesAndSiteCarryTheDigest() throws {
        let root = Package.fixtureRoot("host-conformant")
        let site = try LocalFile.readText(Package.fixtures + "/host-conformant/site.yaml")
        let facts = try audit(root: root, site: site, canaryKey: Self.key).facts
        let digest = try CanaryRedaction(canaries: ["/srv/weights/.canary"], key: Self.key).canaries[0].digest
        guard case .value(let rules)? = facts["audit_rules"], case .value(let s)? = facts["site"] else {
            Issue.record("no audit_rules or site fact")
            return
        }
        #expect(s["weights"]?["canary"] == [.string(digest)])
        #expect(rules["canaries"]?[0]?["path"] == .string(digest))
        #expect(rules["canaries"]?[0]?["rule"] == .string("-w \(digest) -p r -k weights-canary"))
        #expect(rules["canaries"]?[0]?["own_rule"] == true && rules["canaries"]?[0]?["exists"] == true)
        #expect(rules["rules"]?.arrayValue?.contains { $0["path"] == .string(digest) && $0["key"] == "weights-canary" } == true)
    }

    /// LOG-010 on redacted facts: its own first rule passes, a rule shadowed by the weights
    /// directory's fails, a missing canary fails, at SL3 and at SL4; the evidence names the
    /// canary by its digest only.
    @Test(arguments: ["sl3", "sl4"])
    func log010PassesAndFailsOnRedactedFacts(_ profile: String) throws {
        let tree = TempTree()
        tree.file("srv/weights/.canary", "honeytoken\n")
        let digest = try CanaryRedaction(canaries: ["/srv/weights/.canary"], key: Self.key).canaries[0].digest
        func log010() throws -> Finding {
            try audit(
                root: tree.path, profile: profile, site: Self.canarySite, probes: [AuditRulesProbe(), AuditdProbe()], canaryKey: Self.key
            ).findings["LOG-010"]
        }
        let own = "-w /srv/weights/.canary -p r -k canary\n"
        let weights = "-a always,exit -F dir=/srv/weights -F perm=rw -k weights\n"
        tree.file("etc/audit/rules.d/40-weights.rules", own + weights)
        let pass = try log010()
        #expect(pass.status == .pass, "\(pass.summary)")
        #expect(pass.evidence.map(\.subject) == [digest, digest, digest])
        #expect(pass.evidence.allSatisfy { $0.ok == true })

        tree.file("etc/audit/rules.d/40-weights.rules", weights + own)
        let shadowed = try log010()
        #expect(shadowed.status == .fail)
        #expect(shadowed.summary.contains("\(digest): the first matching rule names the canary and has its own key is false"))
        #expect(shadowed.evidence.first { $0.ok == false }?.source == "/etc/audit/rules.d/40-weights.rules:1")

        tree.file("etc/audit/rules.d/40-weights.rules", own + weights)
        _ = run("/bin/rm", [tree.path + "/srv/weights/.canary"])
        let missing = try log010()
        #expect(missing.status == .fail)
        #expect(missing.summary.contains("\(digest): the canary file exists is false"))
        for f in [pass, shadowed, missing] {
            let text = String(decoding: f.json.serialized(), as: UTF8.self)
            #expect(!text.contains("/srv/weights/.canary") && !text.contains("/.canary"), "\(text)")
        }
    }
}
