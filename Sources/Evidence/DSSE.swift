public import OpenSSLSigning
internal import WardenCore
public import WardenFormats

/// Dead Simple Signing Envelope (DSSE v1): the pre-authentication encoding and the JSON envelope.
public enum DSSE {
    /// The payload type of an in-toto statement.
    public static let inTotoPayloadType = "application/vnd.in-toto+json"

    /// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII
    /// decimal of the UTF-8 byte counts. This is what is signed, never the JSON envelope.
    public static func pae(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var out = Array("DSSEv1 \(type.count) ".utf8)
        out.append(contentsOf: type)
        out.append(contentsOf: Array(" \(payload.count) ".utf8))
        out.append(contentsOf: payload)
        return out
    }
}

/// A DSSE envelope: the payload bytes exactly as signed, their type, and the signatures.
public struct Envelope: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        /// Hex SHA-256 of the signer's SubjectPublicKeyInfo; optional in DSSE, required by Warden's policy.
        public var keyid: String?
        public var sig: [UInt8]

        public init(keyid: String?, sig: [UInt8]) {
            self.keyid = keyid
            self.sig = sig
        }
    }

    public var payloadType: String
    public var payload: [UInt8]
    public var signatures: [Signature]

    public init(payloadType: String, payload: [UInt8], signatures: [Signature]) {
        self.payloadType = payloadType
        self.payload = payload
        self.signatures = signatures
    }

    /// Signs `payload` as is: the signature covers PAE(payloadType, payload).
    public static func sign(payload: [UInt8], payloadType: String, with key: PrivateKey) throws(OpenSSLError) -> Envelope {
        let sig = try key.sign(DSSE.pae(payloadType: payloadType, payload: payload))
        return Envelope(payloadType: payloadType, payload: payload, signatures: [Signature(keyid: key.keyID, sig: sig)])
    }

    public var json: JSON {
        .object([
            "payloadType": .string(payloadType),
            "payload": .string(Base64.encode(payload)),
            "signatures": .array(
                signatures.map { s in
                    var o: JSONObject = ["sig": .string(Base64.encode(s.sig))]
                    if let keyid = s.keyid { o["keyid"] = .string(keyid) }
                    return .object(o)
                }),
        ])
    }

    /// The envelope file: key-sorted, indented JSON with standard base64.
    public func encoded() -> [UInt8] { json.prettySerialized(capacity: 1_024 + payload.count / 3 * 4 + signatures.count * 256) }

    /// Reads an envelope file. Anything that is not a DSSE envelope (not JSON, missing or
    /// mistyped fields, invalid base64) is `.malformed` with the file, position or field.
    public static func decode(_ bytes: [UInt8], file: String) throws(WardenError) -> Envelope {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw WardenError(
                .malformed, file: file, line: error.line, column: error.column, "not a DSSE envelope: invalid JSON: \(error.message)")
        }
        guard case .object(let o) = json else {
            throw WardenError(.malformed, file: file, "not a DSSE envelope: expected a JSON object, found \(article(json.typeName))")
        }
        func string(_ value: JSON?, _ field: String) throws(WardenError) -> String {
            guard let value else { throw WardenError(.malformed, file: file, field: field, "missing: not a DSSE envelope") }
            guard case .string(let s) = value else {
                throw WardenError(.malformed, file: file, field: field, "expected a string, found \(article(value.typeName))")
            }
            return s
        }
        func base64(_ text: String, _ field: String) throws(WardenError) -> [UInt8] {
            guard let bytes = Base64.decode(text) else {
                throw WardenError(.malformed, file: file, field: field, "not valid base64 (standard or URL-safe)")
            }
            return bytes
        }
        let payloadType = try string(o["payloadType"], "payloadType")
        let payload = try base64(try string(o["payload"], "payload"), "payload")
        guard let list = o["signatures"] else {
            throw WardenError(.malformed, file: file, field: "signatures", "missing: not a DSSE envelope")
        }
        guard case .array(let items) = list else {
            throw WardenError(.malformed, file: file, field: "signatures", "expected a list, found \(article(list.typeName))")
        }
        var signatures: [Signature] = []
        for (n, item) in items.enumerated() {
            let field = "signatures[\(n)]"
            guard case .object(let s) = item else {
                throw WardenError(.malformed, file: file, field: field, "expected an object, found \(article(item.typeName))")
            }
            let sig = try base64(try string(s["sig"], field + ".sig"), field + ".sig")
            var keyid: String?
            if let k = s["keyid"] { keyid = try string(k, field + ".keyid") }
            signatures.append(Signature(keyid: keyid, sig: sig))
        }
        return Envelope(payloadType: payloadType, payload: payload, signatures: signatures)
    }
}

/// "an object", "a list": a JSON type name with its article, for messages.
func article(_ typeName: String) -> String {
    guard let first = typeName.first, "aeiou".contains(first) else { return "a \(typeName)" }
    return "an \(typeName)"
}
