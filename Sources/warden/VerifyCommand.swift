import ArgumentParser
import Evidence
import HostFacts
import WardenCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify signed findings envelopes against trusted public keys.",
        discussion: """
        Prints one line per envelope: valid, or which field failed and why. Exit codes: 0 every \
        envelope valid, 1 some envelope failed verification, 65 a path is not an envelope, 66 a \
        path does not exist; with several paths the highest code wins. 64 for bad usage.
        """
    )

    @Argument(help: "DSSE envelope files (as written by 'warden audit').")
    var paths: [String]

    @Option(help: "A PEM file of trusted public keys, or a directory of them (*.pem).")
    var trust: String

    @Option(help: "Judge freshness as of this RFC 3339 time (default: now).")
    var now: String?

    @Option(help: "Reject findings finished longer ago than this (e.g. 7d, 36h).")
    var maxAge: String?

    func run() throws {
        try exiting {
            guard !paths.isEmpty else { throw WardenError(.usage, field: "ENVELOPE", "give at least one envelope to verify") }
            var maxAgeSeconds: Int64?
            if let maxAge {
                guard let s = Durations.seconds(maxAge), s > 0 else {
                    throw WardenError(.usage, field: "--max-age", "expected a duration like 7d, 36h or 1d12h, found '\(maxAge)'")
                }
                maxAgeSeconds = s
            }
            let policy = FindingsPolicy(trusted: try trustedKeys(trust), now: try currentTime(now), maxAge: maxAgeSeconds)
            var worst: Int32 = 0
            for path in paths {
                do {
                    if LocalFile.isDirectory(path) {
                        throw WardenError(.malformed, file: path, "a directory, not a DSSE envelope file")
                    }
                    let envelope = try Envelope.decode(try LocalFile.read(path), file: path)
                    let result = policy.verify(envelope)
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

    /// Trusted keys from a PEM file, or from every `*.pem` in a directory.
    func trustedKeys(_ path: String) throws(WardenError) -> TrustedKeys {
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
            } catch where error.code == .missing {
                throw WardenError(.missing, file: path, field: "--trust", error.message)
            }
        }
        return keys
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
