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

    @Test(arguments: ["sl3", "sl4"])
    func aRecentReviewPassesNamingReviewerAndDay(profile: String) throws {
        let f = try acc015(site: site(review: "2026-10-01"), profile: profile)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.observed == "ciso@example.org" && $0.ok == true })
        #expect(f.evidence.contains { $0.observed == "2026-10-01" && $0.source == "site.yaml" })
    }

    @Test(arguments: ["sl3", "sl4"])
    func aReviewOlderThanSixMonthsFails(profile: String) throws {
        let f = try acc015(site: site(review: "2026-05-01"), profile: profile)
        #expect(f.status == .fail)
        #expect(
            f.summary.contains("is 2026-05-01, expected at most 183 days before 2026-11-29T12:00:00Z"), "\(f.summary)")
        // A date is that day's start: 2026-05-30 is 183.5 days before the evaluation time.
        #expect(try acc015(site: site(review: "2026-05-30"), profile: profile).status == .fail)
        #expect(try acc015(site: site(review: "2026-05-31"), profile: profile).status == .pass)
    }

    @Test(arguments: ["sl3", "sl4"])
    func aReviewAgesWhenEvaluatedLater(profile: String) throws {
        let later = Timestamp(rfc3339: "2027-06-01T00:00:00Z")!
        #expect(try acc015(site: site(review: "2026-10-01"), profile: profile, now: later).status == .fail)
    }

    @Test(arguments: ["sl3", "sl4"])
    func aReviewDatedAfterTheAuditFails(profile: String) throws {
        let f = try acc015(site: site(review: "2026-12-25"), profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary.contains("at most 1 days after"), "\(f.summary)")
        #expect(try acc015(site: site(review: "2026-11-30"), profile: profile).status == .pass)
    }

    @Test(arguments: ["sl3", "sl4"])
    func allowedPrincipalsWithoutAReviewAreAnError(profile: String) throws {
        let f = try acc015(site: site(review: nil), profile: profile)
        #expect(f.status == .error)
        #expect(f.summary.contains("weights.access_review"), "\(f.summary)")
    }

    @Test(arguments: ["sl3", "sl4"])
    func nothingToReviewDoesNotApply(profile: String) throws {
        let none = try acc015(site: site(review: nil, principals: "[]"), profile: profile)
        #expect(none.status == .notApplicable)
        #expect(none.summary.hasPrefix("does not apply: principals the site file allows"), "\(none.summary)")
        #expect(try acc015(site: nil, profile: profile).status == .notApplicable)
    }
}
