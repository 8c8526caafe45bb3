import Evidence
import HostFacts
import LocalFiles
import WardenCore
import WardenFormats

/// Reads findings named on the command line: a findings document, or a DSSE envelope whose
/// in-toto statement carries one (the signature is not checked here: `warden verify` does that).
enum FindingsInput {
    static func load(_ path: String) throws -> ParsedFindings {
        try parse(try LocalFile.read(path, limit: 256 << 20), file: path)
    }

    static func parse(_ bytes: [UInt8], file: String) throws(WardenError) -> ParsedFindings {
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw WardenError(.malformed, file: file, line: error.line, column: error.column, "not JSON: \(error.message)")
        }
        guard json["payloadType"] != nil, json["signatures"] != nil else { return try ParsedFindings(json: json, file: file) }
        let envelope = try Envelope.decode(bytes, file: file)
        guard envelope.payloadType == DSSE.inTotoPayloadType else {
            throw WardenError(
                .malformed, file: file, field: "payloadType", "expected \(DSSE.inTotoPayloadType), found \(envelope.payloadType)")
        }
        let statement: JSON
        do { statement = try JSON.parse(envelope.payload) } catch {
            throw WardenError(.malformed, file: file, field: "payload", "the statement is not JSON: \(error)")
        }
        guard statement["predicateType"]?.stringValue == FindingsStatement.predicateType, let predicate = statement["predicate"] else {
            throw WardenError(.malformed, file: file, field: "payload.predicateType", "expected \(FindingsStatement.predicateType)")
        }
        do {
            return try ParsedFindings(json: predicate, file: file)
        } catch {
            var e = error
            e.field = "payload.predicate." + (error.field ?? "")
            throw e
        }
    }
}
