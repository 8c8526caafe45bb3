import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The `manual` node (docs/CHECK-LANGUAGE.md, section 2): a site value that leaves part of a
/// check to a reviewer. Every evaluation here also runs status-only (`evaluate` compares them).
extension EvaluatorTests {
    static let keyService = "kms.example.org (Keylime-gated)"
    static let manualNode = """
        manual: a reviewer checks that the service releases the key only after attesting this host
        site: encryption.attested_key_service
        describe: an attestation-gated key service
        """

    /// `any` of a leaf on `f.x` and the manual node.
    static func manualAlternative(_ leaf: String = "{fact: f.x, eq: 1, describe: x}") -> String {
        "any:\n  - \(leaf)\n  - " + manualNode.split(separator: "\n").joined(separator: "\n    ")
    }

    static func siteWithService(_ service: String? = keyService) -> JSON {
        var site: JSONObject = ["present": true, "source": "/etc/warden/site.yaml"]
        if let service { site["encryption"] = ["attested_key_service": .string(service)] }
        return .object(site)
    }

    @Test func aManualAlternativeMakesAFailingCheckManualWhenTheSiteSetsIt() throws {
        let f = try evaluate(check: Self.manualAlternative(), facts: ["f": .value(["x": 2])], site: Self.siteWithService())
        #expect(f.status == .manual)
        #expect(
            f.summary
                == "a reviewer checks that the service releases the key only after attesting this host (encryption.attested_key_service is kms.example.org (Keylime-gated))",
            "\(f.summary)")
        #expect(
            f.evidence.contains {
                $0.source == "/etc/warden/site.yaml" && $0.observed == .string(Self.keyService) && $0.ok == nil
                    && $0.expected == "an attestation-gated key service"
            }, "\(f.evidence)")
        // The failed leaf stays in the evidence: the reviewer sees what the host lacks.
        #expect(f.evidence.contains { $0.ok == false && $0.source == "f" })
        // Manual never blocks conformance.
        #expect(!f.blocksConformance)
    }

    @Test func withoutTheSiteValueTheManualNodeIsNotApplicable() throws {
        let f = try evaluate(check: Self.manualAlternative(), facts: ["f": .value(["x": 2])], site: Self.siteWithService(nil))
        #expect(f.status == .fail)
        #expect(f.summary == "x is 2, expected = 1")
        let alone = try evaluate(check: Self.manualNode, facts: [:], site: Self.siteWithService(nil))
        #expect(alone.status == .notApplicable)
        #expect(alone.summary == "the site file does not set encryption.attested_key_service")
    }

    @Test func aPassingAlternativeNeedsNoReview() throws {
        let f = try evaluate(check: Self.manualAlternative(), facts: ["f": .value(["x": 1])], site: Self.siteWithService())
        #expect(f.status == .pass)
        #expect(f.summary == "x is 1")
    }

    /// `manual` stands between pass and fail: `all` fails with a failing part and is manual
    /// only when every other part passes; an unknown part still decides as it would otherwise.
    @Test(arguments: [
        ("all", "{fact: f.x, eq: 1}", Status.manual),
        ("all", "{fact: f.x, eq: 2}", .fail),
        ("all", "{fact: f.missing, eq: 1}", .error),
        ("all", "{fact: r.x, eq: 1}", .notChecked),
        ("any", "{fact: f.x, eq: 1}", .pass),
        ("any", "{fact: f.x, eq: 2}", .manual),
        ("any", "{fact: f.missing, eq: 1}", .error),
        ("any", "{fact: r.x, eq: 1}", .notChecked),
    ])
    func manualCombinesBetweenPassAndFail(connective: String, leaf: String, status: Status) throws {
        let check = "\(connective):\n  - \(leaf)\n  - " + Self.manualNode.split(separator: "\n").joined(separator: "\n    ")
        let f = try evaluate(
            check: check, facts: ["f": .value(["x": 1]), "r": .unavailable(.notChecked("offline"))], site: Self.siteWithService(),
            known: ["f", "r", "site"])
        #expect(f.status == status, "\(check): \(f.summary)")
    }

    /// Inside a quantifier the reason names the item, and one item left to review makes the
    /// whole `every` manual unless another fails.
    @Test func insideAQuantifierTheReasonNamesTheItem() throws {
        let check = """
            every: f.devices
            expect:
              any:
                - {fact: .strong, eq: true, describe: a strong token}
                - manual: a reviewer checks the key service
                  site: encryption.attested_key_service
            if_empty: error
            empty_reason: no devices
            """
        let devices: JSON = [["device": "/dev/sda3", "strong": false], ["device": "/dev/sdb1", "strong": true]]
        let f = try evaluate(check: check, facts: ["f": .value(["devices": devices])], site: Self.siteWithService())
        #expect(f.status == .manual)
        #expect(f.summary == "/dev/sda3: a reviewer checks the key service (encryption.attested_key_service is \(Self.keyService))")
        #expect(f.evidence.contains { $0.subject == "/dev/sda3" && $0.ok == nil })
        let failing: JSON = [["device": "/dev/sda3", "strong": false], ["device": "/dev/sdb1"]]
        let g = try evaluate(check: check, facts: ["f": .value(["devices": failing])], site: Self.siteWithService())
        #expect(g.status == .error, "an item that cannot be judged still decides: \(g.summary)")
    }

    @Test func aManualResultIsNeverWaived() throws {
        var site = Self.siteWithService().objectValue ?? [:]
        site["waivers"] = [["control": "HRD-001", "reason": "r", "approved_by": "ciso", "expires": "2026-12-31"]]
        let f = try evaluate(check: Self.manualAlternative(), facts: ["f": .value(["x": 2])], site: .object(site))
        #expect(f.status == .manual)
        #expect(f.waiver == nil)
    }

    @Test(arguments: [
        ("manual: review it", "missing required key 'site'"),
        ("manual: review it\nsite: encryption.attested_key_servce", "unknown site field 'encryption.attested_key_servce'"),
        ("manual: review it\nsite: encryption.attested_key_service\nfact: f.x", "unknown key 'fact'"),
        ("manual: ''\nsite: encryption.attested_key_service", "empty"),
    ])
    func malformedManualNodesAreRefusedWhenLoading(check: String, message: String) throws {
        do {
            _ = try evaluate(check: check, facts: [:])
            Issue.record("loaded: \(check)")
        } catch let error as WardenError {
            #expect(error.description.contains(message), "\(error)")
            #expect(error.line != nil)
        }
    }

    @Test func manualIsNotAllowedInAppliesIf() throws {
        let controls = """
            controls:
              - id: HRD-001
                title: T
                area: hardening
                severity: high
                rationale: R
                references: {}
                applies_if:
                  manual: review it
                  site: encryption.attested_key_service
                check: {fact: f.x, eq: 1}
                remediation: fix it
            """
        #expect(throws: WardenError.self) {
            _ = try Catalog.load(files: [("c.yaml", controls)], knownFacts: ["f", "site"], digester: .libcrypto)
        }
    }
}
