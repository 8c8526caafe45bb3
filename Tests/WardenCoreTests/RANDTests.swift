import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// RAND's catalogue, the controls' anchors in it, the sources of thresholds, and the coverage
/// they add up to, on small inline sets (the built-in set: `RANDCatalogueTests`).
@Suite struct RANDTests {
    static let catalogue = """
        report: RR-A2849-1
        title: Securing AI Model Weights
        published: RAND, 2024
        measures:
          - {alias: R-1, level: SL1, page: "71", label: Weight encryption, scope: host}
          - {alias: R-2, level: SL2, page: "74", label: FIDO keys, scope: host}
          - {alias: R-3, level: SL3, page: "78", label: Interface-only access, scope: host}
          - {alias: R-4, level: SL3, page: "84-85", label: Honeypots, scope: host}
          - {alias: R-5, level: SL3, page: "83", label: Awareness, scope: host}
          - alias: R-6
            level: SL3
            page: "78"
            label: Guarded premises
            scope: organisational
            attestation: the site security plan and guard logs
          - {alias: R-7, level: SL4, page: "87", label: Hardware log protection, scope: host}
        """

    static func control(_ id: String, area: String, rand: String, extra: String = "") -> String {
        """
          - id: \(id)
            title: \(id) title
            area: \(area)
            severity: high
            threshold_source: design
            rationale: why
            references:
              cop: [II.7.3]
              \(rand)
        \(extra)    check: {fact: sshd.installed, eq: true}
            remediation: fix it

        """
    }

    static let controls =
        "controls:\n"
        + control("ENC-001", area: "encryption", rand: "rand: [{measure: R-1, relation: implements}, {measure: R-6, relation: supports}]")
        + control("ACC-006", area: "access", rand: "rand: [{measure: R-2, relation: supports}]")
        + control(
            "LOG-004", area: "logging", rand: "rand: [{measure: R-7, relation: proxy}, {measure: R-4, relation: implements}]",
            extra: "    parameters:\n      strict: {type: bool, description: stricter}\n")
        + control("HRD-001", area: "hardening", rand: "rand_none: Warden's own reading of kernel hardening.")

    static func catalog(_ controls: String = controls, rand: String? = catalogue) throws(WardenError) -> Catalog {
        try Catalog.load(
            files: [("controls/c.yaml", controls)], rand: rand.map { ("references/rand.yaml", $0) }, knownFacts: ["sshd"],
            digester: .libcrypto)
    }

    static let sl3 = """
        id: sl3
        title: Host controls supporting a RAND SL3 security goal
        version: "1"
        rand_level: SL3
        controls:
          ENC-001: {}
          ACC-006: {}
          LOG-004:
            parameters: {strict: false}
            sources: {strict: design}
            advisory: true
          HRD-001: {}
        """

    static let sl4 = """
        id: sl4
        extends: sl3
        title: Host controls supporting a RAND SL4 security goal
        version: "1"
        rand_level: SL4
        controls:
          LOG-004:
            parameters: {strict: true}
            advisory: false
        """

    static func resolve(_ name: String, files: [String: String] = ["sl3": sl3, "sl4": sl4]) throws(WardenError) -> ResolvedProfile {
        try ProfileFixture.resolve(name, files, catalog: try catalog())
    }

    @Test func referencesCarryTheMeasuresLevelPageAndLabel() throws {
        let c = try Self.catalog()
        let refs = try #require(c.controls["ENC-001"]).references
        #expect(refs.rand.map(\.measure) == ["R-1", "R-6"])
        #expect(refs.rand[0].level == .sl1 && refs.rand[0].page == "71" && refs.rand[0].label == "Weight encryption")
        #expect(refs.rand[1].relation == .supports)
        #expect(
            refs.json["rand"]
                == [
                    ["measure": "R-1", "relation": "implements", "level": "SL1", "page": "71", "label": "Weight encryption"],
                    ["measure": "R-6", "relation": "supports", "level": "SL3", "page": "78", "label": "Guarded premises"],
                ])
        #expect(c.controls["HRD-001"]?.references.randNone == "Warden's own reading of kernel hardening.")
        #expect(c.controls["HRD-001"]?.references.json["rand_none"] == "Warden's own reading of kernel hardening.")
        #expect(c.controls["HRD-001"]?.thresholdSource == .design)
        // The catalogue is part of every profile digest.
        let other = try Self.catalog(rand: Self.catalogue.replacingFirst("Guarded premises", with: "Guarded site"))
        #expect(other.digest != c.digest)
    }

    @Test(arguments: [
        ("rand: [{measure: R-99, relation: implements}]", "controls[0].references.rand[0].measure", "ENC-001 cites R-99: no such measure"),
        (
            "rand: [{measure: R-1, relation: inspires}]", "controls[0].references.rand[0].relation",
            "expected one of implements, supports, proxy"
        ),
        (
            "rand: [{measure: R-1, relation: implements}, {measure: R-1, relation: supports}]", "controls[0].references.rand[1]",
            "R-1 is cited twice"
        ),
        ("rand: [{measure: R-1, relation: implements}]\n      rand_none: no", "controls[0].references.rand_none", "not both"),
        ("rand: [{measure: R-1}]", "controls[0].references.rand[0]", "missing required key 'relation'"),
    ])
    func badReferencesNameTheField(rand: String, field: String, fragment: String) {
        let text = "controls:\n" + Self.control("ENC-001", area: "encryption", rand: rand)
        let error = #expect(throws: WardenError.self) { try Self.catalog(text) }
        #expect(error?.file == "controls/c.yaml", "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func aCitationWithoutACatalogueIsAnError() {
        let error = #expect(throws: WardenError.self) { try Self.catalog(rand: nil) }
        #expect(error?.message.contains("the profile set has no references/rand.yaml") == true, "\(String(describing: error))")
        #expect(error?.line == 10 && error?.field == "controls[0].references.rand[0].measure", "\(String(describing: error))")
    }

    @Test(arguments: [
        ("  - {alias: R-1, level: SL1, page: \"71\", label: L, scope: host}\n", "measures[1].alias", "R-1 is listed twice"),
        ("  - {alias: X-8, level: SL1, page: \"71\", label: L, scope: host}\n", "measures[1].alias", "an alias looks like R-31"),
        ("  - {alias: R-08, level: SL1, page: \"71\", label: L, scope: host}\n", "measures[1].alias", "an alias looks like R-31"),
        ("  - {alias: R-8a, level: SL1, page: \"71\", label: L, scope: host}\n", "measures[1].alias", "an alias looks like R-31"),
        ("  - {alias: R-8, level: SL5, page: \"71\", label: L, scope: host}\n", "measures[1].level", "expected one of SL1, SL2, SL3, SL4"),
        ("  - {alias: R-8, level: SL1, page: \"71\", label: L, scope: organisational}\n", "measures[1]", "says what to attest"),
        (
            "  - {alias: R-8, level: SL1, page: \"71\", label: L, scope: host, attestation: a}\n", "measures[1].attestation",
            "only an organisational measure"
        ),
        ("  - {alias: R-8, level: SL1, label: L, scope: host}\n", "measures[1]", "missing required key 'page'"),
    ])
    func badCataloguesNameLineAndField(entry: String, field: String, fragment: String) {
        let text =
            "report: R\ntitle: T\npublished: P\nmeasures:\n  - {alias: R-1, level: SL1, page: \"71\", label: L, scope: host}\n" + entry
        let error = #expect(throws: WardenError.self) { try RANDCatalogue.parse(text, file: "rand.yaml") }
        #expect(error?.code == .malformed)
        #expect(error?.line == 6, "\(String(describing: error))")
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func profilesSayWhereEachParameterComesFromAndANewValueNeedsItsOwnSource() throws {
        let sl3 = try Self.resolve("sl3")
        #expect(sl3.randLevel == .sl3)
        #expect(sl3.controls.first { $0.definition.id == "LOG-004" }?.parameterSources == ["strict": .design])
        // sl4 sets `strict` again without a source: the inherited one does not describe the new value.
        let sl4 = try Self.resolve("sl4")
        #expect(sl4.randLevel == .sl4)
        #expect(sl4.controls.first { $0.definition.id == "LOG-004" }?.parameterSources == [:])
        // A source for a parameter the control does not have is an error at its line.
        let bad = Self.sl3.replacingFirst("sources: {strict: design}", with: "sources: {stricter: design}")
        let error = #expect(throws: WardenError.self) { try Self.resolve("sl3", files: ["sl3": bad]) }
        #expect(error?.line == 10 && error?.message.contains("LOG-004 has no parameter 'stricter'") == true, "\(String(describing: error))")
        let unknown = Self.sl3.replacingFirst("sources: {strict: design}", with: "sources: {strict: folklore}")
        let e2 = #expect(throws: WardenError.self) { try Self.resolve("sl3", files: ["sl3": unknown]) }
        #expect(e2?.field == "controls.LOG-004.sources.strict" && e2?.message.contains("rand, code, design") == true)
    }

    @Test func coverageListsEveryMeasureUpToTheLevelOnceWithItsStatus() throws {
        let c = try Self.catalog()
        let sl3 = try RANDCoverage(profile: try Self.resolve("sl3"), catalogue: try #require(c.rand))
        #expect(sl3.rows.map(\.measure.alias) == ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6"])
        let status = Dictionary(uniqueKeysWithValues: sl3.rows.map { ($0.measure.alias, $0.status) })
        #expect(
            status == [
                "R-1": .implemented, "R-2": .supported, "R-3": .notCovered, "R-4": .reported, "R-5": .notCovered, "R-6": .organisational,
            ])
        #expect(sl3.counts == [.implemented: 1, .supported: 1, .proxied: 0, .reported: 1, .organisational: 1, .notCovered: 2])
        #expect(sl3.rows.first { $0.measure.alias == "R-6" }?.citations.map(\.control) == ["ENC-001"])
        // SL4 adds R-7, and LOG-004 is a verdict control there: its proxy and its implementation count.
        let sl4 = try RANDCoverage(profile: try Self.resolve("sl4"), catalogue: try #require(c.rand))
        #expect(sl4.rows.count == 7)
        #expect(sl4.rows.first { $0.measure.alias == "R-7" }?.status == .proxied)
        #expect(sl4.rows.first { $0.measure.alias == "R-4" }?.status == .implemented)
        let json = sl4.json
        #expect(json["format"] == "warden.rand-coverage/v1")
        #expect(json["profile"]?["rand_level"] == "SL4")
        #expect(json["counts"]?["not_covered"] == 2)
        #expect(json["measures"]?[5]?["attestation"] == "the site security plan and guard logs")
        #expect(
            json["measures"]?[3]?["controls"]
                == [["id": "LOG-004", "title": "LOG-004 title", "relation": "implements", "advisory": false]])
    }

    @Test func aProfileWithoutALevelHasNoCoverage() throws {
        let c = try Self.catalog()
        let plain = Self.sl3.replacingFirst("rand_level: SL3\n", with: "")
        let p = try ProfileFixture.resolve("sl3", ["sl3": plain], catalog: c)
        let error = #expect(throws: WardenError.self) { try RANDCoverage(profile: p, catalogue: try #require(c.rand)) }
        #expect(error?.code == .usage && error?.field == "rand_level")
    }
}
