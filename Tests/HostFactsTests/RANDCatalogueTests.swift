import Glibc
import HostFacts
import LocalFiles
import Reports
import Testing
import WardenCore
import WardenFormats
import WardenProfiles
import WardenTestSupport

/// The built-in set's anchors in RAND's report: every control cites RAND or says why not, every
/// threshold says where it comes from, levels sit where RAND puts them, and the coverage
/// statement in docs/RAND-COVERAGE.md is what the catalogue gives
/// (`WARDEN_WRITE_RAND_MD=1 swift test --filter RANDCatalogue` rewrites it).
@Suite struct RANDCatalogueTests {
    static let docPath = Package.root + "/docs/RAND-COVERAGE.md"

    @Test func everyControlCitesRANDOrSaysWhyNotAndSaysWhereItsThresholdComesFrom() throws {
        let catalog = try BuiltIn.catalog()
        #expect(catalog.controls.count >= 47)
        for (id, c) in catalog.controls.sorted(by: { $0.key < $1.key }) {
            #expect(!c.references.rand.isEmpty || c.references.randNone != nil, "\(id) neither cites RAND nor says why it cites nothing")
            #expect(c.thresholdSource != nil, "\(id) does not say where its check's fixed thresholds come from (threshold_source)")
            #expect(!c.references.cop.isEmpty || !c.references.appendix4.isEmpty, "\(id) cites no part of the Code of Practice")
        }
    }

    @Test(arguments: ["sl3", "sl4"])
    func everyParameterAProfileSetsHasASource(profile: String) throws {
        let p = try BuiltIn.profile(profile)
        for c in p.controls {
            for name in c.parameters.keys.sorted() {
                #expect(c.parameterSources[name] != nil, "\(profile): \(c.definition.id).\(name) has no source (sources:)")
            }
        }
    }

    @Test func theCatalogueNumbersRANDsHostMeasuresOneToEighty() throws {
        let rand = try #require(try BuiltIn.catalog().rand)
        #expect(rand.report == "RR-A2849-1")
        #expect(rand.measures.map(\.alias) == (1...80).map { "R-\($0)" })
    }

    /// RAND's levels are cumulative: a measure RAND asks for at SL1–SL3 belongs in an SL3 host
    /// profile. A control that implements one is therefore a verdict control of sl3, not an
    /// advisory one and not one that only sl4 adds.
    @Test func aControlImplementingAnSL3MeasureIsAVerdictControlOfSL3() throws {
        let sl3 = try BuiltIn.profile("sl3")
        let verdict = Set(sl3.controls.filter { !$0.advisory }.map(\.definition.id))
        for (id, c) in try BuiltIn.catalog().controls.sorted(by: { $0.key < $1.key }) {
            for r in c.references.rand where r.relation == .implements && r.level.map({ $0 <= .sl3 }) == true {
                #expect(
                    verdict.contains(id), "\(id) implements \(r.measure) (RAND \(r.level!.rawValue)) but is not a verdict control of sl3")
            }
        }
    }

    @Test(arguments: [("sl3", RANDCatalogue.Level.sl3), ("sl4", .sl4)])
    func coverageListsEachMeasureUpToTheLevelExactlyOnce(profile: String, level: RANDCatalogue.Level) throws {
        let catalog = try BuiltIn.catalog()
        let rand = try #require(catalog.rand)
        let coverage = try RANDCoverage(profile: try BuiltIn.profile(profile), catalogue: rand)
        #expect(coverage.level == level)
        #expect(coverage.rows.map(\.measure.alias) == rand.measures.filter { $0.level <= level }.map(\.alias))
        #expect(coverage.counts.values.reduce(0, +) == coverage.rows.count)
        // Every citation in the profile shows up under its measure.
        for c in coverage.profile.controls {
            for r in c.definition.references.rand where r.level.map({ $0 <= level }) == true {
                let row = try #require(coverage.rows.first { $0.measure.alias == r.measure })
                #expect(row.citations.contains { $0.control == c.definition.id && $0.relation == r.relation })
            }
        }
    }

    @Test func theCoverageStatementInDocsIsCurrent() throws {
        let catalog = try BuiltIn.catalog()
        let rand = try #require(catalog.rand)
        var rendered = """
            # RAND coverage: what the built-in profiles check of RAND's measures

            Generated from `Profiles/references/rand.yaml` and the controls' `references.rand` by
            `warden profiles coverage --profile sl3|sl4 --format md`; `RANDCatalogueTests` keeps this
            page current (`WARDEN_WRITE_RAND_MD=1 swift test --filter RANDCatalogue` rewrites it).
            RAND's *Securing AI Model Weights* (RR-A2849-1) describes security levels, not a standard;
            its measures mostly concern organisations, and a host audit can show only the part of each
            that one host holds. The profiles are therefore host controls that support a RAND SL3 or
            SL4 security goal, and this page says, measure by measure, how far they reach.


            """
        for id in ["sl3", "sl4"] {
            rendered += RANDCoverageReport.markdown(try RANDCoverage(profile: try BuiltIn.profile(id), catalogue: rand), depth: 2) + "\n"
        }
        if let v = getenv("WARDEN_WRITE_RAND_MD"), String(cString: v) == "1" {
            try LocalFile.write(Array(rendered.utf8), to: Self.docPath)
            return
        }
        let current = (try? LocalFile.readText(Self.docPath)) ?? ""
        #expect(
            current == rendered,
            "docs/RAND-COVERAGE.md is not what the catalogue gives: run `WARDEN_WRITE_RAND_MD=1 swift test --filter RANDCatalogue` and commit it"
        )
    }
}
