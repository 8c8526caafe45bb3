import ArgumentParser
import Glibc
import HostFacts
import Reports
import WardenCore

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit a host (live, or an offline root) against a profile.",
        discussion: """
        Exit codes: 0 conformant, 1 a verdict control fails, 2 incomplete (error or not_checked, no \
        failure), 64 usage, 65 malformed profile or site file, 66 missing input, 74 I/O error.
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, junit, sarif }

    @Option(help: "The root of the host to audit: / (live) or an offline tree.")
    var root: String = "/"

    @Option(help: "A built-in profile id (sl3, sl4) or a path to a profile file.")
    var profile: String = "sl3"

    @Option(help: "The site file (weight locations, owners, listeners, waivers).")
    var site: String?

    @Option(help: "What to print on standard output: text, json (the findings document), junit or sarif.")
    var format: Format = .text

    @Option(help: "Also write the findings document to this path.")
    var output: String?

    @Option(help: "Also write a Prometheus textfile (for node_exporter's textfile collector) to this path.")
    var metrics: String?

    @Flag(help: "Do not sign the findings (signing arrives with host keys; until then findings are always unsigned).")
    var noSign = false

    @Option(help: ArgumentHelp("Evaluate as of this RFC 3339 time (for reproducible runs).", visibility: .hidden))
    var now: String?

    func run() throws {
        try exiting {
            let store = try ProfileStore.builtIn()
            let catalog = try store.catalog(knownFacts: ProbeRegistry.factNames)
            let resolved = try store.resolve(profile, catalog: catalog)
            var siteFile: Site?
            if let site {
                let parsed = try Site.parse(try LocalFile.readText(site), file: site)
                for w in parsed.waivers where catalog.controls[w.control] == nil {
                    throw WardenError(.malformed, file: site, line: w.line, field: "waivers.control", "unknown control '\(w.control)'")
                }
                siteFile = parsed
            }
            let hostRoot: HostRoot
            do {
                hostRoot = try HostRoot(root)
            } catch let error as HostError {
                throw WardenError(error.isNotFound ? .missing : .io, file: root, field: "--root", error.message)
            }
            let clock = ContinuousClock.now
            let started = try currentTime(now)
            let facts = Collector.collect(root: hostRoot, site: siteFile)
            let findings = Evaluator.evaluate(resolved, facts: facts, now: started)
            let finished = now == nil ? try currentTime(nil) : started
            let host: JSON = { if case .value(let h)? = facts["host"] { return h }; return .null }()
            let doc = FindingsDocument(host: host, root: hostRoot.path, profile: resolved, toolVersion: Warden.version,
                                       startedAt: started, finishedAt: finished, findings: findings, facts: facts)
            let bytes = doc.json.prettySerialized()
            if let output { try LocalFile.write(bytes, to: output) }
            if let metrics {
                let elapsed = ContinuousClock.now - clock
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                try LocalFile.write(Array(PrometheusReport.render(doc, durationSeconds: seconds).utf8), to: metrics)
            }
            emit(doc, as: format, json: bytes)
            return doc.summary.verdict.exitCode
        }
    }
}
