import ArgumentParser
import Evidence
import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import WardenCore
import WardenFormats

/// How a command that reads findings trusts them (docs/FORMATS.md, "Verified inputs"). Nothing
/// is read from an envelope until its signature verified: with `--trust`, as `warden verify`
/// checks it; without, an envelope signed by this host's own key (the state directory's host key)
/// is verified against that key. Anything else (another signer, an unsigned document, a bundle)
/// is refused unless `--unverified` says to read it anyway, and every output then says so.
struct TrustOptions: ParsableArguments {
    @Option(
        help:
            "Trusted public keys (a PEM file, or a directory of *.pem): the input is verified as 'warden verify' does before anything in it is read."
    )
    var trust: String?

    @Option(help: "With --trust: your inventory of hosts, whose host-to-key bindings the input must match.")
    var inventory: String?

    @Flag(
        help:
            "Read findings that nothing can verify (unsigned, or signed by a key neither trusted nor this host's; never ones that fail verification); every output then starts with UNVERIFIED."
    )
    var unverified = false

    @Option(
        help:
            "The state directory (default /var/lib/warden as root, else ~/.local/state/warden): its host key verifies this host's own envelopes without --trust."
    )
    var stateDir: String?

    /// The combinations that make no sense (checked before any input is read).
    func check() throws(WardenError) {
        if trust != nil && unverified {
            throw WardenError(
                .usage, field: "--unverified", "--trust verifies the input and --unverified reads it unverified: give one of them")
        }
        if inventory != nil && trust == nil {
            throw WardenError(.usage, field: "--inventory", "an inventory binds hosts to trusted keys: give --trust with it")
        }
    }

    /// The keys an input is verified against: `--trust`, or this host's own key.
    func keys() throws(WardenError) -> (keys: TrustedKeys, explicit: Bool)? {
        if let trust { return (try loadTrustedKeys(trust), true) }
        let state = try StateDirectory.path(stateDir)
        let path = state + "/" + StateDirectory.hostKeyName
        guard access(path, F_OK) == 0 else { return nil }
        // A host key that cannot be read (another user's state directory) verifies nothing.
        guard let key = try? PrivateKey.load(path) else { return nil }
        var keys = TrustedKeys()
        keys.add(key.publicKey, source: path)
        return (keys, false)
    }
}

/// Findings as a command may use them, with what vouches for them.
struct VerifiedFindings {
    var findings: ParsedFindings
    /// The keyid whose signature verified; nil when read with `--unverified`.
    var keyID: String?
    /// Why the findings are not verified (only with `--unverified`).
    var unverifiedReason: String?
    /// The SHA-256 of the file as read (what names a lone envelope in an OSCAL document).
    var sha256 = ""
}

/// The line that opens every output of a command that read unverified input.
func unverifiedBanner(_ reasons: [String]) -> String? {
    guard let first = reasons.first else { return nil }
    let what = reasons.count <= 2 ? reasons.joined(separator: "; ") : "\(first), and \(reasons.count - 1) more inputs are not verified"
    return "UNVERIFIED: \(what) (read with --unverified: nothing vouches for these facts)"
}

/// Reads findings named on the command line: a findings document, or a DSSE envelope whose
/// in-toto statement carries one, verified as `TrustOptions` allows.
enum FindingsInput {
    static let limit = 256 << 20

    /// What verifies the inputs: the keys and the inventory, each read once, when the first input
    /// that needs it comes (an unsigned document needs neither).
    struct Verifiers {
        let trust: TrustOptions
        private var keys: (keys: TrustedKeys, explicit: Bool)??
        private var registry: Inventory?

        init(_ trust: TrustOptions) { self.trust = trust }

        mutating func trustedKeys() throws(WardenError) -> (keys: TrustedKeys, explicit: Bool)? {
            if let keys { return keys }
            let loaded = try trust.keys()
            keys = .some(loaded)
            return loaded
        }

        mutating func inventory() throws -> Inventory? {
            guard let path = trust.inventory else { return nil }
            if let registry { return registry }
            let loaded = try loadInventory(path).inventory
            registry = loaded
            return loaded
        }
    }

    /// `now` and `maxAge` judge freshness as `warden verify` does.
    static func load(_ path: String, trust: TrustOptions, now: Timestamp, maxAge: Int64? = nil) throws -> VerifiedFindings {
        try load([path], trust: trust, now: now, maxAge: maxAge)[0]
    }

    /// Several inputs, in order, verified against keys read once.
    static func load(_ paths: [String], trust: TrustOptions, now: Timestamp, maxAge: Int64? = nil) throws -> [VerifiedFindings] {
        try trust.check()
        var verifiers = Verifiers(trust)
        return try paths.map { try load($0, verifiers: &verifiers, now: now, maxAge: maxAge) }
    }

    private static func load(_ path: String, verifiers: inout Verifiers, now: Timestamp, maxAge: Int64?) throws -> VerifiedFindings {
        let bytes = try LocalFile.read(path, limit: limit)
        var input = try read(bytes, path: path, verifiers: &verifiers, now: now, maxAge: maxAge)
        input.sha256 = try Digester.libcrypto.sha256Hex(bytes)
        return input
    }

    private static func read(_ bytes: [UInt8], path: String, verifiers: inout Verifiers, now: Timestamp, maxAge: Int64?) throws
        -> VerifiedFindings
    {
        let trust = verifiers.trust
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw WardenError(.malformed, file: path, line: error.line, column: error.column, "not JSON: \(error.message)")
        }
        guard json["payloadType"] != nil, json["signatures"] != nil else {
            guard json["schema"] != nil else {
                throw WardenError(.malformed, file: path, "neither a signed findings envelope nor a findings document")
            }
            guard trust.unverified else {
                throw WardenError(
                    .usage, file: path,
                    "an unsigned findings document: nothing vouches for its facts. Use the signed envelope ('warden audit' writes one) with --trust, or give --unverified to read it anyway"
                )
            }
            return VerifiedFindings(findings: try ParsedFindings(json: json, file: path), unverifiedReason: "\(path) is not signed")
        }
        let envelope = try Envelope.decode(bytes, file: path)
        let signer = envelope.signatures.first?.keyid ?? "no key"
        if let trusted = try verifiers.trustedKeys(), trusted.explicit || trusted.keys[signer] != nil {
            return try verified(envelope, path: path, keys: trusted.keys, now: now, maxAge: maxAge, verifiers: &verifiers)
        }
        guard trust.unverified else {
            throw WardenError(
                .usage, file: path,
                "signed by \(signer), which is not this host's key: give --trust with the signer's public key to verify it, or --unverified to read it anyway"
            )
        }
        return VerifiedFindings(
            findings: try unverifiedFindings(envelope, path: path), unverifiedReason: "\(path)'s signature is not checked")
    }

    /// The findings of an envelope that verified against `keys` (all of `warden verify`'s checks;
    /// a failure is exit 65 naming the field).
    static func verified(
        _ envelope: Envelope, path: String, keys: TrustedKeys, now: Timestamp, maxAge: Int64?, verifiers: inout Verifiers
    ) throws -> VerifiedFindings {
        var result = FindingsPolicy(trusted: keys, now: now, maxAge: maxAge).verify(envelope)
        if result.isValid, let registry = try verifiers.inventory() { result.failures += inventoryBinding(result, registry) }
        if let failure = result.failures.first {
            let more = result.failures.count > 1 ? " (and \(result.failures.count - 1) more: run 'warden verify')" : ""
            throw WardenError(.malformed, file: path, field: failure.field, "verification failed: \(failure.reason)\(more)")
        }
        guard let predicate = result.findings else {
            throw WardenError(.malformed, file: path, field: "payload.predicate", "missing: not a findings statement")
        }
        do {
            return VerifiedFindings(findings: try ParsedFindings(json: predicate, file: path), keyID: result.keyID)
        } catch {
            throw error.under("payload.predicate")
        }
    }

    /// An envelope's findings, its signature unchecked (`--unverified` only).
    static func unverifiedFindings(_ envelope: Envelope, path: String) throws(WardenError) -> ParsedFindings {
        guard envelope.payloadType == DSSE.inTotoPayloadType else {
            throw WardenError(
                .malformed, file: path, field: "payloadType", "expected \(DSSE.inTotoPayloadType), found \(envelope.payloadType)")
        }
        let statement: JSON
        do { statement = try JSON.parse(envelope.payload) } catch {
            throw WardenError(.malformed, file: path, field: "payload", "the statement is not JSON: \(error)")
        }
        guard statement["predicateType"]?.stringValue == FindingsStatement.predicateType, let predicate = statement["predicate"] else {
            throw WardenError(.malformed, file: path, field: "payload.predicateType", "expected \(FindingsStatement.predicateType)")
        }
        do {
            return try ParsedFindings(json: predicate, file: path)
        } catch {
            throw error.under("payload.predicate")
        }
    }
}

extension WardenError {
    /// The same error with its field under `prefix`.
    func under(_ prefix: String) -> WardenError {
        var e = self
        e.field = prefix + "." + (field ?? "")
        return e
    }
}

/// The inventory's binding for one verified envelope: its host is registered, with this key.
func inventoryBinding(_ result: EnvelopeVerification, _ registry: Inventory) -> [VerificationFailure] {
    guard let machineID = result.findings?["host"]?["machine_id"]?.stringValue, let host = registry[machineID: machineID] else {
        return [
            VerificationFailure(
                "payload.predicate.host.machine_id",
                "\(result.findings?["host"]?["machine_id"]?.compactString ?? "nothing") is not a host in \(registry.file)")
        ]
    }
    guard host.keyID == result.keyID else {
        return [
            VerificationFailure(
                "signatures[0].keyid",
                "signed by trusted key \(result.keyID ?? "?"), but \(registry.file) binds \(host.name) to key \(host.keyID)")
        ]
    }
    return []
}
