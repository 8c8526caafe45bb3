internal import Evidence
internal import Glibc
internal import OpenSSLSigning
internal import Reports
internal import WardenCore

/// Fuzz targets for what arrives from other machines: DSSE envelopes, the in-toto statements
/// inside them, and bundle manifests. A key made once per process signs whatever the fuzzer
/// invents, so inputs get past the signature check and reach the parsers behind it.
enum EvidenceTargets {
    // PrivateKey is not Sendable (it owns an OpenSSL handle); libFuzzer runs inputs one at a
    // time on one thread, so nothing shares it.
    nonisolated(unsafe) static let key: PrivateKey = {
        do { return try PrivateKey.generate(.ed25519) } catch { fatalError("cannot make a fuzzing key: \(error)") }
    }()

    static let trusted: TrustedKeys = {
        var keys = TrustedKeys()
        keys.add(key.publicKey, source: "fuzzing key")
        return keys
    }()

    static let policy = FindingsPolicy(trusted: trusted, now: DocumentTargets.now, maxAge: nil)

    /// Any bytes as an envelope: decoding must not crash, a decoded envelope must re-encode to
    /// the same envelope, and verifying it must give a value (valid, or the failures).
    static func dsseEnvelope(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let envelope = try? Envelope.decode(bytes, file: "fuzz.dsse.json") else { return }
        let again = try? Envelope.decode(envelope.encoded(), file: "re-encoded")
        try require(again == envelope, "an envelope must survive encode ∘ decode")
        _ = policy.verify(envelope).failures.count
    }

    /// Any bytes as the signed payload of a Warden envelope: the statement and the findings
    /// inside are checked after a valid signature, so this reaches every content check.
    static func inTotoStatement(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let envelope = try? Envelope.sign(payload: bytes, payloadType: DSSE.inTotoPayloadType, with: key) else {
            fatalError("signing failed")
        }
        let result = policy.verify(envelope)
        try require(
            !result.failures.contains { $0.field.hasPrefix("signatures") },
            "a payload signed by a trusted key must pass the signature checks")
    }

    /// A bundle holding only a manifest (the input) and its envelope, signed by a trusted key
    /// that is bound to no host: the verifier's manifest, path and file checks all run on it.
    static let bundle = ScratchDirectory()

    static func bundleManifest(_ bytes: [UInt8]) {
        let dir = bundle.path
        guard let signed = try? Envelope.sign(payload: bytes, payloadType: BundleLayout.manifestPayloadType, with: key) else {
            fatalError("signing failed")
        }
        bundle.write(BundleLayout.manifest, bytes)
        bundle.write(BundleLayout.manifestEnvelope, signed.encoded())
        let verifier = BundleVerifier(
            trusted: trusted, now: DocumentTargets.now, maxAge: nil, inventory: nil,
            profiles: [DocumentTargets.sl3], generatorVersion: "fuzz", documents: BundleReport.documents(coverage: []))
        _ = try? verifier.verify(dir)
    }
}

/// An empty directory under $TMPDIR (see `makeScratchDirectory`).
final class ScratchDirectory: @unchecked Sendable {
    // Written by one fuzzing thread at a time (libFuzzer runs inputs sequentially).
    let path: String

    init() {
        path = makeScratchDirectory("warden-fuzz-bundle")
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        let full = path + "/" + name
        unlink(full)  // a new file, as in ScratchRoot.write
        let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fatalError("cannot write \(full): \(String(cString: strerror(errno)))") }
        bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
