/// An input Warden could not use, with where it is wrong. Thrown only when an input cannot be
/// read or understood; a non-compliant host is a result, never an error.
public struct WardenError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Bad command-line use (exit 64).
        case usage
        /// A profile, site file, findings document, envelope or bundle is malformed (exit 65).
        case malformed
        /// An input file or directory does not exist (exit 66).
        case missing
        /// Reading or writing failed (exit 74).
        case io
        /// Another run holds the state directory's lock beyond the wait allowed (exit 75, EX_TEMPFAIL:
        /// try again later).
        case busy
        /// A signal (SIGINT, SIGTERM, SIGHUP) stopped the run before it finished; the process then
        /// ends by that signal, as a shell's 128 + signal number (130 is SIGINT's).
        case interrupted

        /// The sysexits code the CLI exits with.
        public var exitCode: Int32 {
            switch self {
            case .usage: 64
            case .malformed: 65
            case .missing: 66
            case .io: 74
            case .busy: 75
            case .interrupted: 130
            }
        }
    }

    public var code: Code
    public var file: String?
    public var line: Int?
    public var column: Int?
    /// The field at fault, as a path (`controls.ACC-004.parameters.allowed`).
    public var field: String?
    public var message: String

    public init(_ code: Code, file: String? = nil, line: Int? = nil, column: Int? = nil, field: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `file:line:column: error: field: message`, the form compilers use, so editors can jump to it.
    public var description: String {
        var location = ""
        if let file {
            location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            location += ": "
        }
        let fieldPart = field.map { "\($0): " } ?? ""
        return "\(location)error: \(fieldPart)\(message)"
    }
}

/// Suggests the closest of `candidates` to a misspelt `word`, for "did you mean" messages.
package func closest(to word: String, in candidates: some Sequence<String>) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
    let w = Array(word.lowercased())
    let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    guard let best = scored.first, best.1 <= Swift.max(2, w.count / 3) else { return nil }
    return best.0
}
