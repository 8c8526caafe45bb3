public import OpenSSLSigning
internal import WardenCore
public import WardenFormats

/// The in-toto Statement v1 that carries a findings document (docs/FORMATS.md, README "Signed findings").
///
/// ```json
/// {"_type": "https://in-toto.io/Statement/v1",
///  "subject": [{"name": "<hostname>", "digest": {"sha256": "<SHA-256 of the machine-id>"}}],
///  "predicateType": "https://warden.dev/findings/v1",
///  "predicate": { …the warden.findings/v1 document… }}
/// ```
///
/// The subject is the audited host: its hostname as the name, and the SHA-256 of its
/// `/etc/machine-id` (the 32 hex digits, no newline) as the digest, so an inventory's machine id
/// can be matched without the statement depending on a hostname. A root without a machine-id
/// (a bare offline tree) has no such digest: its subject names the audited root as a
/// `file://` URI instead.
public enum FindingsStatement {
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://warden.dev/findings/v1"

    /// The subject list for a findings document, computed from its `host` and `root`.
    public static func subject(for findings: JSON) throws(OpenSSLError) -> JSON {
        let host = findings["host"]
        let name = host?["hostname"]?.stringValue ?? "unknown-host"
        if let machineID = host?["machine_id"]?.stringValue, !machineID.isEmpty {
            return [["name": .string(name), "digest": ["sha256": .string(try OpenSSLDigest.sha256Hex(Array(machineID.utf8)))]]]
        }
        let root = findings["root"]?.stringValue ?? "/"
        return [["name": .string(name), "uri": .string("file://" + percentEncoded(root))]]
    }

    public static func statement(findings: JSON) throws(OpenSSLError) -> JSON {
        [
            "_type": .string(statementType),
            "subject": try subject(for: findings),
            "predicateType": .string(predicateType),
            "predicate": findings,
        ]
    }

    /// Signs a findings document: the payload is the statement's compact, key-sorted bytes.
    public static func envelope(findings: JSON, key: PrivateKey) throws(OpenSSLError) -> Envelope {
        try Envelope.sign(payload: try statement(findings: findings).serialized(), payloadType: DSSE.inTotoPayloadType, with: key)
    }

    /// RFC 3986 percent-encoding of a path: unreserved characters and `/` stay as they are.
    static func percentEncoded(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(b)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
