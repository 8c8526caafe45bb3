import ArgumentParser
import Evidence
import HostFacts
import LocalFiles
import Reports
import WardenCore
import WardenFormats

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify signed findings envelopes and evidence bundles against trusted public keys.",
        discussion: """
            An envelope gets one line: valid, or which field failed and why. A bundle (a directory) is \
            checked by the rules of docs/FORMATS.md: every file's size and digest, nothing added or missing, \
            no symbolic links or paths outside it, the manifest signed by a trusted key bound to no host, \
            every host envelope's signature and host-to-key binding (the bundle's inventory, or \
            --inventory), hosts[], summary.json and the reports recomputed from the findings, and the \
            validity period at --now. Each failure is listed with the file and the reason.

            Exit codes: 0 every path valid, 1 some path failed verification, 65 a path is neither an \
            envelope nor a bundle, 66 a path does not exist; with several paths the highest code wins. \
            64 for bad usage.
            """
    )

    @Argument(help: "DSSE envelope files (as written by 'warden audit') or bundle directories ('warden bundle').")
    var paths: [String]

    @Option(help: "A PEM file of trusted public keys, or a directory of them (*.pem).")
    var trust: String

    @Option(help: "Your inventory of hosts: the host-to-key bindings to check (takes precedence over a bundle's own).")
    var inventory: String?

    @Option(help: "Judge freshness and validity as of this RFC 3339 time (default: now).")
    var now: String?

    @Option(help: "Reject findings finished longer ago than this; for a bundle, a validity shorter than its own (e.g. 7d, 36h).")
    var maxAge: String?

    func run() throws {
        try exiting {
            guard !paths.isEmpty else { throw WardenError(.usage, field: "ENVELOPE", "give at least one envelope or bundle to verify") }
            let maxAgeSeconds = try maxAge.map(parseMaxAge)
            let at = try currentTime(now)
            let trusted = try loadTrustedKeys(trust)
            let reviewerInventory = try inventory.map(loadInventory)
            let registry = reviewerInventory?.inventory
            let policy = FindingsPolicy(trusted: trusted, now: at, maxAge: maxAgeSeconds)
            var fleet: (profiles: [ResolvedProfile], coverage: [RANDCoverage])?
            var worst: Int32 = 0
            for path in paths {
                do {
                    if LocalFile.isDirectory(path) {
                        if fleet == nil { fleet = try fleetProfiles() }
                        var verifier = BundleVerifier(
                            trusted: trusted, now: at, maxAge: maxAgeSeconds, inventory: registry, profiles: fleet?.profiles ?? [],
                            generatorVersion: Warden.version, documents: BundleReport.documents(coverage: fleet?.coverage ?? []))
                        verifier.inventoryBytes = reviewerInventory?.bytes
                        let result = try verifier.verify(path)
                        writeStdout(report(result, path: path))
                        if !result.isValid { worst = max(worst, 1) }
                        continue
                    }
                    let envelope = try Envelope.decode(try LocalFile.read(path), file: path)
                    var result = policy.verify(envelope)
                    if result.isValid, let registry { result.failures += inventoryBinding(result, registry) }
                    if result.isValid {
                        writeStdout("\(path): valid: \(summary(result))\n")
                    } else {
                        writeStdout("\(path): FAILED: \(result.failures.map(\.description).joined(separator: "; "))\n")
                        worst = max(worst, 1)
                    }
                } catch let error as WardenError {
                    printError("warden: \(error)")
                    worst = max(worst, error.code.exitCode)
                }
            }
            return worst
        }
    }

    func report(_ result: BundleVerification, path: String) -> String {
        var out: String
        if result.isValid, let s = result.summary {
            let conformance = s.profiles.indices.map { "\(s.profiles[$0].id.uppercased()) \(s.conformantCount($0))/\(s.hosts.count)" }
                .joined(separator: ", ")
            out =
                "\(path): valid bundle: \(s.hosts.count) hosts (\(conformance) conformant); \(s.missing.count) missing, \(s.stale.count) stale, \(s.rejected.count) rejected"
            out +=
                "; created \(result.createdAt.map(\.description) ?? "?"), valid until \(result.validUntil.map(\.description) ?? "?"), signed by \(result.signer ?? "?")\n"
        } else {
            out = "\(path): FAILED: \(result.failures.count) problem\(result.failures.count == 1 ? "" : "s")\n"
            for f in result.failures {
                let file = f.file.hasPrefix("/") || f.file == inventory ? f.file : path + "/" + f.file
                out += "\(file): \(f.field.map { "\($0): " } ?? "")\(f.reason)\n"
            }
        }
        for note in result.notes { out += "\(path): note: \(note)\n" }
        return out
    }

    func summary(_ result: EnvelopeVerification) -> String {
        let findings = result.findings
        let host = findings?["host"]?["hostname"]?.stringValue ?? "unknown host"
        let profile = findings?["profile"]?["id"]?.stringValue ?? "?"
        let finished = findings?["finished_at"]?.stringValue ?? "?"
        let verdict = findings?["summary"]?["verdict"]?.stringValue ?? "?"
        return "host \(host), profile \(profile), finished \(finished), \(verdict), signed by \(result.keyID ?? "?")"
    }
}

/// Trusted keys from a PEM file, or from every `*.pem` in a directory.
func loadTrustedKeys(_ path: String) throws(WardenError) -> TrustedKeys {
    var keys = TrustedKeys()
    if LocalFile.isDirectory(path) {
        let files = LocalFile.list(path).filter { $0.hasSuffix(".pem") }
        for name in files {
            let file = path + "/" + name
            try keys.add(pem: try LocalFile.read(file), file: file)
        }
        guard keys.count > 0 else { throw WardenError(.missing, file: path, field: "--trust", "no public keys (*.pem) in this directory") }
    } else {
        do {
            try keys.add(pem: try LocalFile.read(path), file: path)
        } catch  where error.code == .missing {
            throw WardenError(.missing, file: path, field: "--trust", error.message)
        }
    }
    return keys
}
