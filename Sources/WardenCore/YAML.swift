/// A YAML node together with where it came from, so every decoding error can name
/// `file:line:column` and the field path. Profiles and site files are decoded through this
/// walker (not `Codable`), which rejects unknown keys and wrong types with a precise message.
struct YNode {
    let node: YAMLNode
    let file: String
    /// The field path from the document root, e.g. `controls[2].check.all[0].fact`.
    let field: String

    /// Parses one YAML document. An empty document is an error (there is nothing to use).
    static func parse(_ text: String, file: String) throws(WardenError) -> YNode {
        let root: YAMLNode?
        do {
            root = try YAML.parse(text)
        } catch {
            throw WardenError(.malformed, file: file, line: error.line, column: error.column, "invalid YAML: \(error.problem)")
        }
        guard let root else { throw WardenError(.malformed, file: file, "the document is empty") }
        return YNode(node: root, file: file, field: "")
    }

    /// Whether this is a plain null scalar (what `classify` calls `.null`, without typing the
    /// other scalars: a string read as a string needs only this test).
    var isNull: Bool {
        guard case .scalar(let text, true) = node.value else { return false }
        switch text {
        case "", "~", "null", "Null", "NULL": return true
        default: return false
        }
    }

    /// The type YAML 1.1 gives a plain (unquoted) scalar: null, bool, int, or string. A quoted
    /// scalar is always a string. Nil for mappings and lists.
    enum ScalarType: Equatable {
        case null
        case bool(Bool)
        case int(Int64)
        case string
    }

    var scalarType: ScalarType? {
        guard case .scalar(let text, let plain) = node.value else { return nil }
        guard plain else { return .string }
        return YNode.classify(text)
    }

    static func classify(_ text: String) -> ScalarType {
        // Most scalars are words: decide from the first byte before any string matching.
        guard let first = text.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "~"),
             UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "t"), UInt8(ascii: "T"),
             UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            break
        default:
            return .string
        }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return .bool(true)
        case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return .bool(false)
        default: break
        }
        var body = Substring(text)
        var sign: Int64 = 1
        if body.first == "-" || body.first == "+" {
            if body.first == "-" { sign = -1 }
            body = body.dropFirst()
        }
        let digits = body.filter { $0 != "_" }
        guard let first = digits.first, first.isASCII, first.isNumber else { return .string }
        let value: Int64?
        if digits.hasPrefix("0x") {
            value = Int64(digits.dropFirst(2), radix: 16)
        } else if digits.hasPrefix("0b") {
            value = Int64(digits.dropFirst(2), radix: 2)
        } else if digits.count > 1, first == "0" {
            value = Int64(digits.dropFirst(), radix: 8)  // YAML 1.1: a leading zero is octal
        } else {
            value = Int64(digits, radix: 10)
        }
        guard let value, digits.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "x" || $0 == "b") }) else { return .string }
        return .int(sign * value)
    }
    var isMapping: Bool { if case .mapping = node.value { return true }; return false }

    var line: Int? { node.line }
    var column: Int? { node.column }

    func error(_ message: String) -> WardenError {
        WardenError(.malformed, file: file, line: line, column: column, field: field.isEmpty ? nil : field, message)
    }

    private func child(_ n: YAMLNode, _ key: String) -> YNode {
        YNode(node: n, file: file, field: field.isEmpty ? key : "\(field).\(key)")
    }

    private var kindName: String {
        switch node.value {
        case .scalar: return isNull ? "null" : "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// The entries of a mapping, in document order. Duplicate keys are an error; so is any key
    /// outside `allowed` (with a "did you mean" suggestion) when `allowed` is given.
    func mapping(allowed: Set<String>? = nil) throws(WardenError) -> [(key: String, value: YNode)] {
        try keyedMapping(allowed: allowed).map { ($0.key, $0.value) }
    }

    /// Like `mapping(allowed:)`, with each key's own node, for errors about the key itself.
    func keyedMapping(allowed: Set<String>? = nil) throws(WardenError) -> [(key: String, keyNode: YNode, value: YNode)] {
        guard case .mapping(let m) = node.value else { throw error("expected a mapping, found \(kindName)") }
        var seen: Set<String> = []
        var result: [(key: String, keyNode: YNode, value: YNode)] = []
        for (k, v) in m {
            let keyNode = YNode(node: k, file: file, field: field)
            guard case .scalar(let key, _) = k.value else { throw keyNode.error("mapping keys must be scalars") }
            let keyed = YNode(node: k, file: file, field: field.isEmpty ? key : "\(field).\(key)")
            if let allowed, !allowed.contains(key) {
                let hint = closest(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                throw keyed.error("unknown key '\(key)'\(hint)")
            }
            guard seen.insert(key).inserted else { throw keyed.error("duplicate key '\(key)'") }
            result.append((key, keyed, child(v, key)))
        }
        return result
    }

    /// The mapping's fields, after the same checks as `mapping(allowed:)`, with every key of
    /// `required` present.
    func fields(allowed: Set<String>, required: Set<String> = []) throws(WardenError) -> Fields {
        var d: [String: YNode] = [:]
        for (k, v) in try mapping(allowed: allowed) { d[k] = v }
        for key in required.sorted() where d[key] == nil {
            throw error("missing required key '\(key)'")
        }
        return Fields(node: self, entries: d)
    }

    /// A mapping's fields by key.
    struct Fields {
        let node: YNode
        let entries: [String: YNode]

        subscript(key: String) -> YNode? { entries[key] }
        var count: Int { entries.count }

        /// A key `fields(required:)` has checked, or the error naming the mapping without it.
        func required(_ key: String) throws(WardenError) -> YNode {
            guard let value = entries[key] else { throw node.error("missing required key '\(key)'") }
            return value
        }
    }

    func list() throws(WardenError) -> [YNode] {
        guard case .sequence(let s) = node.value else { throw error("expected a list, found \(kindName)") }
        return s.enumerated().map { i, n in YNode(node: n, file: file, field: "\(field)[\(i)]") }
    }

    func string() throws(WardenError) -> String {
        guard case .scalar(let text, _) = node.value, !isNull else { throw error("expected a string, found \(kindName)") }
        return text
    }

    func nonEmptyString() throws(WardenError) -> String {
        let s = try string()
        guard !s.trimmingWhitespace.isEmpty else { throw error("must not be empty") }
        return s
    }

    func bool() throws(WardenError) -> Bool {
        guard case .bool(let b)? = scalarType else {
            throw error("expected true or false, found \(describeScalar)")
        }
        return b
    }

    func int() throws(WardenError) -> Int {
        guard case .int(let big)? = scalarType, let i = Int(exactly: big) else {
            throw error("expected an integer, found \(describeScalar)")
        }
        return i
    }

    func strings() throws(WardenError) -> [String] {
        var out: [String] = []
        for item in try list() { out.append(try item.string()) }
        return out
    }

    private var describeScalar: String {
        if case .scalar(let text, _) = node.value { return "'\(text)'" }
        return kindName
    }

    /// The node as JSON: YAML's core schema types (bool, int, null) become JSON types; everything
    /// else stays a string. Floats are kept as their text.
    func json() throws(WardenError) -> JSON {
        switch node.value {
        case .scalar(let text, _):
            switch scalarType {
            case .null?: return .null
            case .bool(let b)?: return .bool(b)
            case .int(let i)?: return .int(i)
            default: break
            }
            return .string(text)
        case .sequence:
            var out: [JSON] = []
            for item in try list() { out.append(try item.json()) }
            return .array(out)
        case .mapping:
            var out: JSONObject = [:]
            for (k, v) in try mapping() { out[k] = try v.json() }
            return .object(out)
        }
    }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
