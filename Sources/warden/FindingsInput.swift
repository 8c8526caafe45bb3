import HostFacts
import WardenCore

/// Reads a findings document named on the command line.
enum FindingsInput {
    static func load(_ path: String) throws -> ParsedFindings {
        let bytes = try LocalFile.read(path, limit: 256 << 20)
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw WardenError(.malformed, file: path, line: error.line, column: error.column, "not JSON: \(error.message)")
        }
        return try ParsedFindings(json: json, file: path)
    }
}
