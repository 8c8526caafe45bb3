import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-015's parts in the core: the site file's `weights.access_review` and the check language's
/// `at_most_days_old` (docs/CHECK-LANGUAGE.md, docs/FORMATS.md).
@Suite struct AccessReviewTests {
    @Test func aReviewIsParsedAndCarriedInTheSiteFact() throws {
        let text =
            "weights:\n  allowed_principals: [group:ops]\n  access_review:\n    reviewed_at: 2026-10-01\n    reviewer: ciso@example.org\n"
        let site = try Site.parse(text, file: "site.yaml", digester: .libcrypto)
        #expect(site.accessReview?.reviewedAt == "2026-10-01")
        #expect(site.accessReview?.reviewer == "ciso@example.org")
        #expect(site.json["weights"]?["access_review"] == ["reviewed_at": "2026-10-01", "reviewer": "ciso@example.org"])
        // Without a review the site fact has none (its absence is what ACC-015 reports).
        #expect(try Site.parse("role: storage\n", file: "s.yaml", digester: .libcrypto).json["weights"]?["access_review"] == nil)
    }

    @Test(arguments: [
        ("weights:\n  access_review:\n    reviewer: a\n", 3, "weights.access_review", "missing required key 'reviewed_at'"),
        ("weights:\n  access_review:\n    reviewed_at: 2026-10-01\n", 3, "weights.access_review", "missing required key 'reviewer'"),
        (
            "weights:\n  access_review:\n    reviewed_at: 2026-10-01\n    reviewer: ''\n", 4, "weights.access_review.reviewer",
            "must not be empty"
        ),
        ("weights:\n  access_review:\n    reviewed_at: last week\n    reviewer: a\n", 3, "weights.access_review.reviewed_at", "YYYY-MM-DD"),
        (
            "weights:\n  access_review:\n    reviewed_at: 2026-02-30\n    reviewer: a\n", 3, "weights.access_review.reviewed_at",
            "YYYY-MM-DD"
        ),
        ("weights:\n  access_review:\n    reviewed_at: 2026-1-5\n    reviewer: a\n", 3, "weights.access_review.reviewed_at", "YYYY-MM-DD"),
        (
            "weights:\n  access_review:\n    reviewed_at: 2026-10-01T09:00:00Z\n    reviewer: a\n", 3, "weights.access_review.reviewed_at",
            "YYYY-MM-DD"
        ),
        ("weights:\n  access_review:\n    reviewed_at: 20261001\n    reviewer: a\n", 3, "weights.access_review.reviewed_at", "YYYY-MM-DD"),
        ("weights:\n  access_review:\n    reviewed: 2026-10-01\n    reviewer: a\n", 3, "weights.access_review.reviewed", "unknown key"),
        ("weights:\n  access_review: 2026-10-01\n", 2, "weights.access_review", "expected a mapping"),
    ])
    func aMalformedReviewNamesFileLineAndField(text: String, line: Int, field: String, fragment: String) {
        let error = #expect(throws: WardenError.self) { try Site.parse(text, file: "site.yaml", digester: .libcrypto) }
        #expect(error?.code == .malformed)
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("site.yaml:\(line):") == true)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    /// `at_most_days_old`: a date no earlier than the evaluation time minus N days passes, a later
    /// one too; an older one fails, no date fails, a value that is not a date is an error. Both
    /// modes of the evaluator agree (`EvaluatorTests.evaluate` checks it).
    @Test func aDateAtMostSomeDaysAgo() throws {
        let harness = EvaluatorTests()
        func status(_ observed: JSON, _ operand: String = "30") throws -> Finding {
            try harness.evaluate(
                check: "fact: f.reviewed\nat_most_days_old: \(operand)\ndescribe: last review",
                facts: ["f": .value(["reviewed": observed])],
                now: "2026-11-29T12:00:00Z")
        }
        #expect(try status("2026-10-30").status == .fail)  // 30.5 days ago: a date is that day's start
        #expect(try status("2026-10-31").status == .pass)  // 29.5 days ago
        #expect(try status("2026-10-30T12:00:00Z").status == .pass)  // exactly 30 days
        #expect(try status("2026-10-30T11:59:59Z").status == .fail)
        #expect(try status("2027-01-01").status == .pass)  // later dates are not old
        let old = try status("2026-01-01")
        #expect(old.status == .fail)
        #expect(old.summary == "last review is 2026-01-01, expected at most 30 days before 2026-11-29T12:00:00Z", "\(old.summary)")
        #expect(old.evidence.first?.expected == "last review at most 30 days before 2026-11-29T12:00:00Z")
        #expect(try status(.null).status == .fail)
        #expect(try status("recently").status == .error)
        #expect(throws: WardenError.self) { try status("2026-10-30", "\"30\"") }
    }
}
