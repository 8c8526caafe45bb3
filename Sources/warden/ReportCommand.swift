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
        abstract: "Render the reviewer's report (Markdown, HTML or OSCAL) for a bundle or one signed findings envelope.",
        discussion: """
            Verifies PATH first, with all of 'warden verify''s checks (--trust, --inventory, --now, \
            --max-age; an envelope signed by this host's own key verifies without --trust), then \
            recomputes the figures from the verified findings (each host re-evaluated against SL3 and \
            SL4) and prints the report on standard output, or writes it to --output. --format oscal \
            writes an OSCAL 1.2.1 assessment-results document: an observation per host and control \
            with its evidence, findings per control and per Code of Practice item, UUIDs derived \
            from the bundle id (the same input gives the same bytes). Exit codes: 0 \
            written, 64 input that nothing verifies (without --unverified), 65 PATH is malformed or \
            fails verification, 66 PATH does not exist.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case md, html, oscal
        // The raw values as they are (ArgumentParser's defaults describe each through reflection).
        static var allValueStrings: [String] { allCases.map(\.rawValue) }
        var defaultValueDescription: String { rawValue }
    }

    @Argument(help: "A bundle directory or a findings envelope.")
    var path: String

    @Option(help: "md, html or oscal (OSCAL 1.2.1 assessment-results, JSON).")
    var format: Format = .md

    @Option(help: "Write the report to this file instead of standard output.")
    var output: String?

    @Option(help: "The time the report is made at and the input judged at, RFC 3339 (default: now).")
    var now: String?

    @Option(
        help:
            "Reject findings finished longer ago than this; for a bundle, a validity shorter than its own (e.g. 7d, 36h). An envelope's findings older than 7 days are reported stale otherwise."
    )
    var maxAge: String?

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try exiting {
            let (profiles, coverage) = try fleetProfiles()
            let at = try currentTime(now)
            let age = try maxAge.map(parseMaxAge)
            let read: Read
            if BundleVerifier.isBundle(path) {
                read = try bundle(profiles: profiles, coverage: coverage, now: at, maxAge: age)
            } else if LocalFile.isDirectory(path) {
                throw WardenError(.malformed, file: path, "a directory that is not a bundle (no manifest.json)")
            } else {
                let input = try FindingsInput.load(path, trust: trust, now: at, maxAge: age)
                var builder = FleetSummaryBuilder(profiles: profiles, inventory: nil, createdAt: at, maxAge: age ?? 7 * 86_400)
                builder.add(input.findings, keyID: input.keyID ?? "", file: path)
                read = Read(
                    summary: builder.finish(rejected: [], superseded: []), unverified: input.unverifiedReason, id: input.sha256,
                    signer: input.keyID, findings: [input.findings])
            }
            let banner = unverifiedBanner(read.unverified.map { [$0] } ?? [])
            if let banner { printError("warden: \(banner)") }
            let source = BundleReport.Source(unverified: banner, envelope: BundleVerifier.isBundle(path) ? nil : path, coverage: coverage)
            let bytes: [UInt8]
            switch format {
            case .md: bytes = Array(BundleReport.markdown(read.summary, source: source).utf8)
            case .html: bytes = Array(BundleReport.html(read.summary, source: source).utf8)
            case .oscal:
                bytes = try OSCALReport.document(
                    read.summary,
                    OSCALReport.Input(
                        id: read.id, kind: BundleVerifier.isBundle(path) ? "bundle" : "envelope", signer: read.signer,
                        unverified: read.unverified, findings: read.findings, profiles: profiles, generatorVersion: Warden.version))
            }
            if let output {
                try Interruption.critical { () throws(WardenError) in try LocalFile.write(bytes, to: output) }
            } else {
                writeStdout(String(decoding: bytes, as: UTF8.self))
            }
            return 0
        }
    }

    /// What a report is made from.
    struct Read {
        var summary: FleetSummary
        /// Why the input is not verified (only with `--unverified`).
        var unverified: String?
        /// The bundle's manifest id, or the envelope's SHA-256.
        var id: String
        var signer: String?
        /// Every host's findings (kept for OSCAL only).
        var findings: [ParsedFindings]
    }

    /// A bundle: verified as `warden verify` verifies it (the figures are then the ones the
    /// verifier recomputed), or, with `--unverified`, read as it is.
    func bundle(profiles: [ResolvedProfile], coverage: [RANDCoverage], now: Timestamp, maxAge: Int64?) throws -> Read {
        try trust.check()
        guard let trustPath = trust.trust else {
            guard trust.unverified else {
                throw WardenError(
                    .usage, file: path, field: "--trust",
                    "a bundle is verified against its bundler's public key: give --trust, or --unverified to read it anyway")
            }
            let contents = try BundleReader.contents(path, profiles: profiles, keepingFindings: format == .oscal)
            return Read(
                summary: contents.summary, unverified: "\(path) is not verified", id: contents.id, signer: nil, findings: contents.findings)
        }
        let reviewerInventory = try trust.inventory.map(loadInventory)
        var verifier = BundleVerifier(
            trusted: try loadTrustedKeys(trustPath), now: now, maxAge: maxAge, inventory: reviewerInventory?.inventory,
            profiles: profiles, generatorVersion: Warden.version, documents: BundleReport.documents(coverage: coverage))
        verifier.inventoryBytes = reviewerInventory?.bytes
        verifier.keepsFindings = format == .oscal
        let result = try verifier.verify(path)
        guard result.isValid, let summary = result.summary else {
            let failure = result.failures.first
            let more = result.failures.count > 1 ? " (and \(result.failures.count - 1) more: run 'warden verify')" : ""
            throw WardenError(
                .malformed,
                file: failure.map { $0.file.hasPrefix("/") || $0.file == trust.inventory ? $0.file : path + "/" + $0.file } ?? path,
                field: failure?.field,
                "verification failed: \(failure?.reason ?? "no summary")\(more)")
        }
        return Read(summary: summary, id: result.id ?? "", signer: result.signer, findings: result.findings)
    }
}
