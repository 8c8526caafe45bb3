internal import OpenSSLSigning
internal import WardenCore
public import WardenFormats

/// One reason an envelope is not acceptable: the field at fault (a path into the envelope, such
/// as `signatures[0].keyid` or `payload.predicate.finished_at`) and why.
public struct VerificationFailure: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// The outcome of checking one envelope. Never thrown: a forged or stale envelope is a result.
public struct EnvelopeVerification: Sendable {
    public var failures: [VerificationFailure] = []
    /// The keyid of the trusted key whose signature verified, when one did.
    public var keyID: String?
    /// The statement, parsed from the exact payload bytes that were signed, once the signature verified.
    public var statement: JSON?

    public var isValid: Bool { failures.isEmpty }
    public var findings: JSON? { statement?["predicate"] }
}

/// How a signed findings envelope is judged (docs/FORMATS.md): exactly one signature, by a trusted
/// key named by its keyid, over PAE of an in-toto payload; an in-toto Statement v1 with Warden's
/// predicate type, a subject matching the findings' host, a `warden.findings/v1` predicate, and
/// a `finished_at` not in the future and, with `maxAge`, not older than that at `now`.
public struct FindingsPolicy: Sendable {
    public var trusted: TrustedKeys
    public var now: Timestamp
    /// Seconds; nil for no limit.
    public var maxAge: Int64?
    /// Clock skew allowed for `finished_at` ahead of `now`.
    public var clockSkew: Int64 = 300
    /// Whether the predicate's `results` and the list of files its facts were read from are only
    /// checked to be well-formed and not read: bundles re-evaluate every host's facts and never
    /// use the results the host computed (more than half of a payload) nor the files' digests,
    /// so `findings` then holds an empty `results` and an empty `facts.files`.
    public var omitsUnusedParts = false

    public init(trusted: TrustedKeys, now: Timestamp, maxAge: Int64? = nil) {
        self.trusted = trusted
        self.now = now
        self.maxAge = maxAge
    }

    public func verify(_ envelope: Envelope) -> EnvelopeVerification {
        var result = EnvelopeVerification()
        func fail(_ field: String, _ reason: String) -> EnvelopeVerification {
            result.failures.append(VerificationFailure(field, reason))
            return result
        }
        // Authenticity first; nothing in the payload is looked at until the signature verified.
        guard envelope.signatures.count == 1 else {
            return fail("signatures", "expected exactly one signature, found \(envelope.signatures.count)")
        }
        guard envelope.payloadType == DSSE.inTotoPayloadType else {
            return fail("payloadType", "expected '\(DSSE.inTotoPayloadType)', found '\(envelope.payloadType)'")
        }
        let signature = envelope.signatures[0]
        guard let keyID = signature.keyid, !keyID.isEmpty else {
            return fail(
                "signatures[0].keyid", "missing: a Warden envelope names its key (hex SHA-256 of the public key's SubjectPublicKeyInfo)")
        }
        guard let key = trusted[keyID] else {
            return fail(
                "signatures[0].keyid",
                "\(keyID) is not a trusted key (\(trusted.count) trusted key\(trusted.count == 1 ? "" : "s") from --trust)")
        }
        guard key.isValidSignature(signature.sig, for: DSSE.pae(payloadType: envelope.payloadType, payload: envelope.payload)) else {
            return fail(
                "signatures[0].sig",
                "does not verify with trusted key \(keyID) (\(key.algorithm.rawValue)): the payload, its type or the signature was altered, or another key signed it"
            )
        }
        result.keyID = keyID

        let statement: JSON
        do {
            statement =
                omitsUnusedParts
                ? try JSON.parse(envelope.payload, omitting: [["predicate", "results"], ["predicate", "facts", "files"]])
                : try JSON.parse(envelope.payload)
        } catch {
            return fail("payload", "the signed payload is not a JSON statement: \(error)")
        }
        result.statement = statement
        var failures: [VerificationFailure] = []
        func expect(_ field: String, _ value: JSON?, equals expected: String) {
            guard value?.stringValue != expected else { return }
            failures.append(VerificationFailure(field, "expected '\(expected)', found \(describe(value))"))
        }
        expect("payload._type", statement["_type"], equals: FindingsStatement.statementType)
        expect("payload.predicateType", statement["predicateType"], equals: FindingsStatement.predicateType)
        guard let findings = statement["predicate"], case .object = findings else {
            failures.append(
                VerificationFailure("payload.predicate", "expected a findings object, found \(describe(statement["predicate"]))"))
            result.failures = failures
            return result
        }
        expect("payload.predicate.schema", findings["schema"], equals: FindingsDocument.schema)
        let required: [(String, String)] = [
            ("host", "object"), ("root", "string"), ("mode", "string"), ("profile", "object"),
            ("started_at", "string"), ("finished_at", "string"), ("results", "list"), ("summary", "object"), ("facts", "object"),
        ]
        for (name, type) in required where findings[name]?.typeName != type {
            failures.append(
                VerificationFailure("payload.predicate.\(name)", "expected \(article(type)), found \(describe(findings[name]))"))
        }
        do {
            let expectedSubject = try FindingsStatement.subject(for: findings)
            if statement["subject"] != expectedSubject {
                failures.append(
                    VerificationFailure(
                        "payload.subject",
                        "does not identify the host in the findings: expected \(expectedSubject.compactString), found \(describe(statement["subject"]))"
                    ))
            }
        } catch {
            failures.append(VerificationFailure("payload.subject", "cannot be checked: \(error.message)"))
        }
        if let text = findings["finished_at"]?.stringValue {
            if let finished = Timestamp(rfc3339: text) {
                if finished.seconds > now.seconds + clockSkew {
                    failures.append(VerificationFailure("payload.predicate.finished_at", "\(text) is in the future at \(now)"))
                } else if let maxAge, now.seconds - finished.seconds > maxAge {
                    failures.append(
                        VerificationFailure(
                            "payload.predicate.finished_at", "\(text) is older than the maximum age \(Durations.text(maxAge)) at \(now)"))
                }
            } else {
                failures.append(VerificationFailure("payload.predicate.finished_at", "not an RFC 3339 time: '\(text)'"))
            }
        }
        result.failures = failures
        return result
    }

    private func describe(_ value: JSON?) -> String {
        guard let value else { return "nothing" }
        if case .string(let s) = value { return "'\(s)'" }
        let text = value.compactString
        return text.count > 120 ? article(value.typeName) : text
    }
}
