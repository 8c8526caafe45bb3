import ArgumentParser
import Evidence
import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import Reports
import WardenCore
import WardenFormats
import WardenProfiles

struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Collect hosts' signed findings into an evidence bundle for Commitment II.7 / Appendix 4.",
        discussion: """
            Verifies every input envelope against --trust and binds it to its inventory host; keeps the \
            newest envelope per host byte for byte; re-evaluates each host's facts against SL3 and SL4; \
            and writes DIR with manifest.json (signed by --key in manifest.dsse.json), findings/, keys/, \
            inventory.yaml, summary.json, report.md and report.html. Inputs that do not verify, are not \
            in the inventory or are signed by another key are left out and listed as rejected.

            Exit codes: 0 every inventory host present, fresh, verified and SL3-conformant; 1 the \
            bundle was written but some host is not (each listed); 64 usage; 65 no truthful bundle can \
            be written (the bundler's key is a host's key, a malformed inventory or trust file); 66 an \
            input does not exist; 74 I/O error.
            """
    )

    @Argument(help: "Signed findings envelopes: files, directories (every *.json below them) or glob patterns.")
    var findings: [String] = []

    @Option(help: "The bundle directory to create (it must not exist, or be empty).")
    var output: String

    @Option(help: "The public keys trusted to sign host findings: a PEM file or a directory of *.pem.")
    var trust: String

    @Option(help: "The bundler's private key, which signs the manifest; it must be bound to no host.")
    var key: String

    @Option(help: "The inventory of hosts that store weights (name, machine_id, keyid, role).")
    var inventory: String?

    @Option(help: "Findings older than this at bundling time are stale; also the bundle's validity (e.g. 7d, 36h).")
    var maxAge: String = "7d"

    @Option(help: "The bundle's creation time, RFC 3339 (default: now).")
    var now: String?

    func run() throws {
        try exiting {
            guard !findings.isEmpty else {
                throw WardenError(.usage, field: "FINDINGS", "give at least one findings envelope, directory or pattern")
            }
            let maxAgeSeconds = try parseMaxAge(maxAge)
            let createdAt = try currentTime(now)
            let trusted = try loadTrustedKeys(trust)
            let signer = try loadKey(key)
            let registry = try inventory.map(loadInventory)
            let fleet = try fleetProfiles()
            var bundler = Bundler(
                trusted: trusted, key: signer, inventory: registry?.inventory, inventoryBytes: registry?.bytes,
                profiles: fleet.profiles, createdAt: createdAt, maxAge: maxAgeSeconds,
                generatorVersion: Warden.version, documents: BundleReport.documents(coverage: fleet.coverage))
            let inputs = try BundleInputs.expand(findings)
            bundler.stopRequested = { stage in
                Interruption.checkpoint("bundle.\(stage)")
                return Interruption.requested != nil
            }
            // A signal stops the run at its next stage; the staging directory is removed, so no
            // directory is left that could pass for a bundle.
            Interruption.cooperate()
            let summary: FleetSummary
            do {
                summary = try bundler.write(inputs: inputs, to: output)
            } catch let error as WardenError where error.code == .interrupted {
                Interruption.end(
                    Interruption.requested ?? SIGTERM,
                    ": the bundle \(error.message); nothing was written to \(output) (its staging directory was removed)")
            }
            if let signal = Interruption.requested {
                Interruption.end(signal, " after the bundle was complete: \(output) is a finished bundle")
            }
            writeStdout(describe(summary, at: output))
            return summary.completeAndConformant ? 0 : 1
        }
    }

    func describe(_ s: FleetSummary, at path: String) -> String {
        let conformance = s.profiles.indices.map { "\(s.profiles[$0].id.uppercased()) \(s.conformantCount($0))/\(s.hosts.count)" }.joined(
            separator: ", ")
        var out =
            "\(path): \(s.hosts.count) hosts bundled (\(conformance) conformant) from \(s.hosts.count + s.rejected.count + s.superseded.count) inputs\n"
        if s.inventory == nil { out += "  no inventory: coverage of the hosts that store weights is not established\n" }
        for h in s.missing { out += "  missing: \(h.name) (\(h.machineID)): in the inventory, no accepted findings\n" }
        for h in s.stale {
            out += "  stale: \(h.name) (\(h.machineID)): finished \(h.finishedAt), older than \(Durations.text(s.maxAge))\n"
        }
        for r in s.rejected { out += "  rejected (\(r.kind.rawValue)): \(r.input): \(r.reason)\n" }
        for x in s.superseded { out += "  superseded: \(x.input): a newer envelope of \(x.machineID) was kept\n" }
        for h in s.hosts where !h.results[0].conformant {
            out += "  not \(s.profiles[0].id.uppercased())-conformant: \(h.name) (\(h.results[0].verdict.rawValue))\n"
        }
        return out
    }
}

/// The profiles a fleet is measured against: SL3 (the Code's minimum) and SL4 (Measure II.7.8).
/// The built-in SL3 and SL4 a fleet is judged against, and what each covers of RAND's measures
/// (the reports state it).
func fleetProfiles() throws -> (profiles: [ResolvedProfile], coverage: [RANDCoverage]) {
    let (catalog, profiles) = try ProfileStore.selected(nil).load(["sl3", "sl4"], facts: ProbeRegistry.factTypes)
    guard let rand = catalog.rand else { return (profiles, []) }
    return (profiles, try profiles.map { try RANDCoverage(profile: $0, catalogue: rand) })
}

/// `--inventory`: the parsed inventory and its bytes (copied into a bundle as they are).
func loadInventory(_ path: String) throws -> (inventory: Inventory, bytes: [UInt8]) {
    let bytes = try LocalFile.read(path)
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw WardenError(.malformed, file: path, field: "--inventory", "not UTF-8 text")
    }
    return (try Inventory.parse(text, file: path, digester: .libcrypto), bytes)
}

func parseMaxAge(_ text: String) throws(WardenError) -> Int64 {
    guard let s = Durations.seconds(text), s > 0 else {
        throw WardenError(.usage, field: "--max-age", "expected a duration like 7d, 36h or 1d12h, found '\(text)'")
    }
    return s
}
