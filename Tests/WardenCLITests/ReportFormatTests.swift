import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// JUnit, SARIF and Prometheus output, each read back by a real consumer or parser.
@Suite struct ReportFormatTests {
    static let python = Package.root + "/.build-venv/bin/python"

    /// The consumers live in .build-venv (Scripts/python-tools, run by Scripts/setup).
    static func tools() throws {
        if run(python, ["-c", "import junitparser, sarif_pydantic, sarif"]).status != 0 {
            let made = run(Package.root + "/Scripts/python-tools", [])
            try #require(made.status == 0, "Scripts/python-tools failed: \(made.stderr.suffix(400))")
        }
    }

    let root = Package.fixtureRoot("host-debian-default")
    let site = Package.fixtures + "/host-debian-default/site.yaml"

    func audit(_ extra: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, ["audit", "--root", root, "--site", site, "--no-sign", "--now", "2026-11-29T12:00:00Z"] + extra)
    }

    func summary() throws -> JSON {
        try JSON.parse(audit(["--format", "json"]).stdout)["summary"]!
    }

    @Test func junitParsesWithJunitparserAndCountsMatch() throws {
        try Self.tools()
        let tree = TempTree()
        let xml = tree.file("warden.xml", audit(["--format", "junit"]).stdout)
        let script = """
            import sys, junitparser
            suite = next(iter(junitparser.JUnitXml.fromfile(sys.argv[1])))
            failures = sum(1 for c in suite for r in c.result if isinstance(r, junitparser.Failure))
            errors = sum(1 for c in suite for r in c.result if isinstance(r, junitparser.Error))
            skipped = sum(1 for c in suite for r in c.result if isinstance(r, junitparser.Skipped))
            print(suite.tests, failures, errors, skipped, suite.failures, suite.errors)
            """
        let r = run(Self.python, ["-c", script, xml])
        #expect(r.status == 0, "\(r.stderr)")
        let n = r.stdout.split(separator: " ").compactMap { Int($0.filter(\.isNumber)) }
        let counts = try summary()["counts"]!
        let verdictFails = try JSON.parse(audit(["--format", "json"]).stdout)["results"]!.arrayValue!
            .filter { $0["status"] == "fail" && $0["advisory"] == false }.count
        #expect(n.count == 6)
        #expect(n[1] == verdictFails)
        #expect(n[4] == n[1] && n[5] == n[2])
        #expect(n[0] == Status.allCases.reduce(0) { $0 + Int(counts[$1.rawValue]!.intValue!) })
    }

    @Test func sarifValidatesAgainstTheObjectModelAndSarifToolsReadsIt() throws {
        try Self.tools()
        let tree = TempTree()
        let file = tree.file("warden.sarif", audit(["--format", "sarif"]).stdout)
        let validate = run(
            Self.python,
            [
                "-c",
                "import json, sys; from sarif_pydantic import Sarif; s = Sarif.model_validate(json.load(open(sys.argv[1]))); print(len(s.runs[0].results), len(s.runs[0].tool.driver.rules))",
                file,
            ])
        #expect(validate.status == 0, "\(validate.stderr)")
        let fields = validate.stdout.split(separator: " ").compactMap { Int($0.filter(\.isNumber)) }
        let results = try JSON.parse(audit(["--format", "json"]).stdout)["results"]!.arrayValue!
        #expect(fields == [results.filter { !["pass", "not_applicable"].contains($0["status"]!.stringValue!) }.count, results.count])
        let consumer = run(Package.root + "/.build-venv/bin/sarif", ["summary", file])
        #expect(consumer.status == 0, "\(consumer.stderr)")
        #expect(consumer.stdout.contains("ACC-004 fail: PermitRootLogin is yes"), "\(consumer.stdout)")
        // A SARIF document missing required parts is rejected by the same validator (the check can fail).
        let broken = tree.file(
            "broken.sarif", "{\"version\": \"2.1.0\", \"runs\": [{\"tool\": {\"driver\": {}}, \"results\": [{\"message\": {}}]}]}")
        #expect(
            run(
                Self.python,
                ["-c", "import json, sys; from sarif_pydantic import Sarif; Sarif.model_validate(json.load(open(sys.argv[1])))", broken]
            ).status != 0)
    }

    @Test func prometheusTextfileFollowsTheExpositionFormat() throws {
        let tree = TempTree()
        let path = tree.path + "/warden.prom"
        _ = audit(["--metrics", path])
        let text = run("/bin/cat", [path]).stdout
        var samples: [String: Double] = [:]
        var typed: Set<String> = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && parts[3] == "gauge", "\(line)")
                typed.insert(String(parts[2]))
                continue
            }
            // name{label="value",…} number
            let m = line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+)/)
            let match = try #require(m, "not a sample line: \(line)")
            #expect(typed.contains(String(match.1)), "sample before its TYPE: \(line)")
            samples[String(line.split(separator: " ").first!)] = Double(match.4)
        }
        #expect(samples["warden_conformant{profile=\"sl3\"}"] == 0)
        #expect(
            samples[
                "warden_control_status{profile=\"sl3\",control=\"ACC-004\",area=\"access\",severity=\"high\",advisory=\"false\",status=\"fail\"}"
            ] == 1)
        #expect(
            samples[
                "warden_control_status{profile=\"sl3\",control=\"ACC-004\",area=\"access\",severity=\"high\",advisory=\"false\",status=\"pass\"}"
            ] == 0)
        let fails = try summary()["counts"]!["fail"]!.intValue!
        #expect(samples["warden_controls{profile=\"sl3\",status=\"fail\"}"] == Double(fails))
        #expect(samples["warden_last_run_timestamp_seconds{profile=\"sl3\"}"] == 1_795_953_600)
        #expect((samples["warden_last_run_duration_seconds{profile=\"sl3\"}"] ?? -1) >= 0)
        #expect(text.hasSuffix("\n"))
    }
}
