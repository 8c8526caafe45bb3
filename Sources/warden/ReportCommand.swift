import ArgumentParser
import Evidence
import HostFacts
import LocalFiles
import Reports
import WardenCore
import WardenFormats

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the reviewer's report (Markdown or HTML) for a bundle or one signed findings envelope.",
        discussion: """
            Recomputes the figures from the findings inside PATH (each host re-evaluated against SL3 and \
            SL4) and prints the report on standard output, or writes it to --output. It does not check \
            signatures: run 'warden verify' for that. Exit codes: 0 written, 65 PATH is neither a bundle \
            nor an envelope, 66 PATH does not exist.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case md, html
        // The raw values as they are (ArgumentParser's defaults describe each through reflection).
        static var allValueStrings: [String] { allCases.map(\.rawValue) }
        var defaultValueDescription: String { rawValue }
    }

    @Argument(help: "A bundle directory or a findings envelope.")
    var path: String

    @Option(help: "md or html.")
    var format: Format = .md

    @Option(help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(help: "For an envelope: the time the report is made at, RFC 3339 (default: now).")
    var now: String?

    @Option(help: "For an envelope: findings older than this are reported stale.")
    var maxAge: String = "7d"

    func run() throws {
        try exiting {
            let profiles = try fleetProfiles()
            let summary: FleetSummary
            if BundleVerifier.isBundle(path) {
                summary = try BundleReader.summary(path, profiles: profiles)
            } else if LocalFile.isDirectory(path) {
                throw WardenError(.malformed, file: path, "a directory that is not a bundle (no manifest.json)")
            } else {
                let envelope = try Envelope.decode(try LocalFile.read(path, limit: BundleLayout.fileLimit), file: path)
                let findings: ParsedFindings
                do {
                    guard let predicate = try JSON.parse(envelope.payload)["predicate"] else {
                        throw WardenError(.malformed, file: path, field: "payload.predicate", "missing: not a findings statement")
                    }
                    findings = try ParsedFindings(json: predicate, file: path)
                } catch let error as JSONParseError {
                    throw WardenError(.malformed, file: path, field: "payload", "not JSON: \(error)")
                }
                var builder = FleetSummaryBuilder(
                    profiles: profiles, inventory: nil, createdAt: try currentTime(now), maxAge: try parseMaxAge(maxAge))
                builder.add(findings, keyID: envelope.signatures.first?.keyid ?? "", file: path)
                summary = builder.finish(rejected: [], superseded: [])
            }
            let text = format == .md ? BundleReport.markdown(summary) : BundleReport.html(summary)
            if let output {
                try Interruption.critical { () throws(WardenError) in try LocalFile.write(Array(text.utf8), to: output) }
            } else {
                writeStdout(text)
            }
            return 0
        }
    }
}
