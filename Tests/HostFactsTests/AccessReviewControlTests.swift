import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-015 at SL3 and SL4: the site's review of the weights' allowed principals is at most 183
/// days old at the evaluation time (2026-11-29T12:00:00Z here).
@Suite struct AccessReviewControlTests {
    func site(review: String?, principals: String = "[group:weights-breakglass]") -> String {
        var text = "weights:\n  paths: [/srv/weights]\n  allowed_principals: \(principals)\n"
        if let review { text += "  access_review:\n    reviewed_at: \(review)\n    reviewer: ciso@example.org\n" }
        return text
    }

    func acc015(site: String?, profile: String, now: Timestamp = testNow) throws -> Finding {
        let t = TempTree()
        let facts = try audit(root: t.path, profile: profile, site: site, probes: []).facts
        return Evaluator.evaluate(try BuiltIn.profile(profile), facts: facts, now: now)["ACC-015"]
    }

    func siteFact(_ text: String?) throws -> JSON {
        let empty = TempTree()
        let facts = try audit(root: empty.path, site: text, probes: []).facts
        guard case .value(let v)? = facts["site"] else { throw TestFailure("no site fact: \(facts)") }
        #expect(FactContract.mismatches(v, ProbeRegistry.factTypes["site"]!, path: "site") == [])
        return v
    }

    // MARK: - Fact tests: the site fact ACC-015 reads (no probe: the collector parses the site file)

    @Test func theReviewAndThePrincipalsAsTheSiteFileSaysThem() throws {
        let v = try siteFact(site(review: "2026-10-01"))
        #expect(v["source"] == "site.yaml")
        #expect(v["weights"]?["allowed_principals"] == ["group:weights-breakglass"])
        #expect(v["weights"]?["access_review"] == ["reviewed_at": "2026-10-01", "reviewer": "ciso@example.org"])
    }

    @Test func withoutAReviewOrASiteThereIsNone() throws {
        let unreviewed = try siteFact(site(review: nil))
        #expect(unreviewed["weights"]?["access_review"] == nil)
        #expect(unreviewed["weights"]?["allowed_principals"] == ["group:weights-breakglass"])
        #expect(try siteFact(site(review: nil, principals: "[]"))["weights"]?["allowed_principals"] == [])
        let none = try siteFact(nil)
        #expect(none["present"] == false)
        #expect(none["weights"]?["allowed_principals"] == [])
    }

    // MARK: - Control tests: ACC-015 over a table of canned facts

    /// The site fact with these principals and review; each row changes one thing.
    static func canned(
        reviewed: String? = "2026-10-01", reviewer: String = "ciso@example.org", principals: [String] = ["group:weights-breakglass"]
    )
        -> JSON
    {
        var weights: JSONObject = ["paths": ["/srv/weights"], "allowed_principals": .array(principals.map { .string($0) })]
        if let reviewed { weights["access_review"] = ["reviewed_at": .string(reviewed), "reviewer": .string(reviewer)] }
        return ["present": true, "source": "site.yaml", "weights": .object(weights)]
    }

    static let later = Timestamp(rfc3339: "2027-06-01T00:00:00Z")!

    /// The same at SL3 and SL4 (evaluated at 2026-11-29T12:00:00Z unless `now`): the status and a
    /// part of the summary where the old tests asserted one.
    static let acc015Table: [(String, JSON, Timestamp, Status, String?)] = [
        ("a review two months old", canned(), testNow, .pass, nil),
        (
            "a review seven months old", canned(reviewed: "2026-05-01"), testNow, .fail,
            "is 2026-05-01, expected at most 183 days before 2026-11-29T12:00:00Z"
        ),
        // A date is that day's start: 2026-05-30 is 183.5 days before the evaluation time.
        ("a review 183.5 days old", canned(reviewed: "2026-05-30"), testNow, .fail, nil),
        ("a review 182.5 days old", canned(reviewed: "2026-05-31"), testNow, .pass, nil),
        ("the same review, evaluated eight months later", canned(), later, .fail, nil),
        ("a review dated after the audit", canned(reviewed: "2026-12-25"), testNow, .fail, "at most 1 days after"),
        ("a review dated the next day", canned(reviewed: "2026-11-30"), testNow, .pass, nil),
        ("no reviewer named", canned(reviewer: ""), testNow, .fail, nil),
        ("principals without a review", canned(reviewed: nil), testNow, .error, "weights.access_review"),
        (
            "nothing to review", canned(reviewed: nil, principals: []), testNow, .notApplicable,
            "does not apply: principals the site file allows"
        ),
    ]

    @Test(arguments: AccessReviewControlTests.acc015Table.indices)
    func acc015OverATableOfFacts(_ row: Int) throws {
        let (name, site, now, expected, summary) = AccessReviewControlTests.acc015Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("ACC-015", profile: profile, facts: ["site": site], now: now)
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            if let summary { #expect(finding.summary.contains(summary), "\(profile) \(name): \(finding.summary)") }
        }
    }

    /// The evidence of a pass names the reviewer, the day and the file.
    @Test func aPassNamesReviewerAndDay() throws {
        let f = try cannedFinding("ACC-015", profile: "sl3", facts: ["site": AccessReviewControlTests.canned()])
        #expect(f.evidence.contains { $0.observed == "ciso@example.org" && $0.ok == true })
        #expect(f.evidence.contains { $0.observed == "2026-10-01" && $0.source == "site.yaml" })
    }

    /// End to end, once per outcome a site file can give: parsed by the collector, then evaluated.
    @Test(arguments: ["sl3", "sl4"])
    func siteFilesEndToEnd(profile: String) throws {
        #expect(try acc015(site: site(review: "2026-10-01"), profile: profile).status == .pass)
        #expect(try acc015(site: nil, profile: profile).status == .notApplicable)
    }
}
