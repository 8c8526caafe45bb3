import LocalFiles
import Testing
import WardenFormats
import WardenTestSupport

/// `warden profiles coverage`, and what Warden says of itself: the profile titles, the README's
/// first lines and `warden --help` claim the same thing, which is support for a RAND goal, not
/// RAND conformance.
@Suite struct RANDCoverageCLITests {
    static let claim = "host controls that support a rand sl3 or sl4 security goal"

    /// Lower case, with every run of white space one space (help and the README wrap lines).
    static func flat(_ s: some StringProtocol) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ").lowercased()
    }

    @Test func profileTitlesTheReadmeAndHelpSayTheSameTrueThing() throws {
        let help = warden(["--help"])
        #expect(help.status == 0)
        #expect(Self.flat(help.stdout).contains(Self.claim), "\(help.stdout.prefix(300))")
        let readme = try LocalFile.readText(Package.root + "/README.md")
        let opening = readme.split(separator: "\n\n").dropFirst().first.map { String($0) } ?? ""
        #expect(Self.flat(opening).contains(Self.claim), "\(opening)")
        let list = warden(["profiles", "list"]).stdout
        #expect(list.contains("Host controls that support a RAND SL3 security goal"), "\(list)")
        #expect(list.contains("Host controls that support a RAND SL4 security goal"), "\(list)")
        for text in [help.stdout, readme, list] {
            for overclaim in ["SL3/SL4-equivalent", "RAND SL3 for hosts", "RAND SL4 for hosts", "against RAND SL3/SL4 profiles"] {
                #expect(!text.contains(overclaim), "\(overclaim)")
            }
        }
    }

    @Test func coverageCountsComeFirstAndEveryMeasureUpToTheLevelIsListedOnce() throws {
        let text = warden(["profiles", "coverage", "--profile", "sl4"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("RAND RR-A2849-1 (") == true)
        #expect(lines.first?.contains("the 80 measures at SL1–SL4 that concern one host, against sl4") == true, "\(lines.first ?? "")")
        #expect(
            lines.dropFirst().first?.wholeMatch(
                of: /\d+ implemented, \d+ supported, \d+ proxied, \d+ reported, \d+ organisational, \d+ not covered/) != nil)
        let aliases = lines.compactMap { $0.firstMatch(of: #/^(R-\d+) SL\d p\. /#).map { String($0.1) } }
        #expect(aliases == (1...80).map { "R-\($0)" })
        // An organisational measure says what to attest; a host measure nobody checks says so.
        let json = try JSON.parse(Array(warden(["profiles", "coverage", "--profile", "sl3", "--format", "json"]).stdout.utf8))
        let measures = json["measures"]?.arrayValue ?? []
        #expect(measures.count == 58)
        #expect(measures.allSatisfy { ($0["scope"] == "organisational") == ($0["attestation"] != nil) })
        #expect(measures.contains { $0["status"] == "not_covered" && $0["controls"] == [] })
        let md = warden(["profiles", "coverage", "--format", "md"])
        #expect(md.status == 0 && md.stdout.hasPrefix("# RAND coverage of sl3\n"))
    }

    @Test func aSetWithoutTheCatalogueOrAProfileWithoutALevelIsRefused() throws {
        let tree = TempTree(prefix: "warden-coverage")
        _ = tree.file("set/controls/c.yaml", try LocalFile.readText(Package.profiles + "/controls/logging.yaml"))
        _ = tree.file("set/p.yaml", "id: p\ntitle: P\nversion: \"1\"\ncontrols:\n  LOG-008: {}\n")
        // Its controls cite RAND: without references/rand.yaml the set does not load.
        let missing = warden(["profiles", "coverage", "--profiles", tree.path + "/set", "--profile", "p"])
        #expect(missing.status == 65 && missing.stderr.contains("the profile set has no references/rand.yaml"), "\(missing.stderr)")
        _ = tree.file("set/references/rand.yaml", try LocalFile.readText(Package.profiles + "/references/rand.yaml"))
        let noLevel = warden(["profiles", "coverage", "--profiles", tree.path + "/set", "--profile", "p"])
        #expect(noLevel.status == 64 && noLevel.stderr.contains("profile p names no RAND level (rand_level)"), "\(noLevel.stderr)")
    }

    @Test func theFindingsSayWhichOfRANDsSL3AlternativesWasJudged() throws {
        let tree = TempTree(prefix: "warden-environment")
        let site = tree.file("site.yaml", "environment: isolated-network\n")
        let root = Package.fixtureRoot("sshd-hardened")
        let isolated = warden(["audit", "--root", root, "--site", site, "--no-sign"])
        #expect(isolated.stdout.contains("\nEnvironment: isolated-network (RAND's SL3 alternative C)\n"), "\(isolated.stdout.prefix(400))")
        let json = try JSON.parse(Array(warden(["audit", "--root", root, "--site", site, "--no-sign", "--format", "json"]).stdout.utf8))
        #expect(json["facts"]?["facts"]?["site"]?["value"]?["environment"] == "isolated-network")
        let plain = warden(["audit", "--root", root, "--no-sign"])
        #expect(plain.stdout.contains("\nEnvironment: production (RAND's SL3 alternative A)\n"), "\(plain.stdout.prefix(400))")
    }
}
