/// A YAML node together with where it came from, so every decoding error can name
/// `file:line:column` and the field path. Profiles and site files are decoded through this
/// walker (not `Codable`), which rejects unknown keys and wrong types with a precise message.
package struct YNode {
    package let node: YAMLNode
    package let path: FieldPath

    /// Where a node sits: its file and the path from the document root, spelt out only for an
    /// error (building the text for every node was a fifth of decoding the control catalog).
    package indirect enum FieldPath {
        case root(file: String)
        case key(FieldPath, String)
        case index(FieldPath, Int)

        package var file: String {
            switch self {
            case .root(let file): return file
            case .key(let parent, _), .index(let parent, _): return parent.file
            }
        }

        package var text: String {
            switch self {
            case .root: return ""
            case .key(let parent, let key):
                let p = parent.text
                return p.isEmpty ? key : p + "." + key
            case .index(let parent, let i): return parent.text + "[\(i)]"
            }
        }
    }

    /// The field path from the document root, e.g. `controls[2].check.all[0].fact`.
    package var field: String { path.text }
    package var file: String { path.file }

    /// Parses one YAML document. An empty document is an error (there is nothing to use).
    package static func parse(_ text: String, file: String) throws(WardenError) -> YNode {
        let root: YAMLNode?
        do {
            root = try YAML.parse(text)
        } catch {
            throw WardenError(.malformed, file: file, line: error.line, column: error.column, "invalid YAML: \(error.problem)")
        }
        guard let root else { throw WardenError(.malformed, file: file, "the document is empty") }
        return YNode(node: root, path: .root(file: file))
    }

    /// Whether this is a plain null scalar (what `classify` calls `.null`, without typing the
    /// other scalars: a string read as a string needs only this test).
    package var isNull: Bool {
        guard case .scalar(let text, true) = node.value else { return false }
        switch text {
        case "", "~", "null", "Null", "NULL": return true
        default: return false
        }
    }

    /// The type YAML 1.1 gives a plain (unquoted) scalar: null, bool, int, or string. A quoted
    /// scalar is always a string. Nil for mappings and lists.
    package enum ScalarType: Equatable {
        case null
        case bool(Bool)
        case int(Int64)
        case string
    }

    package var scalarType: ScalarType? {
        guard case .scalar(let text, let plain) = node.value else { return nil }
        guard plain else { return .string }
        return YNode.classify(text)
    }

    package static func classify(_ text: String) -> ScalarType {
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
    package var isMapping: Bool {
        if case .mapping = node.value { return true }
        return false
    }

    package var line: Int? { node.line }
    package var column: Int? { node.column }

    package func error(_ message: String) -> WardenError {
        WardenError(.malformed, file: file, line: line, column: column, field: field.isEmpty ? nil : field, message)
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
    package func mapping(allowed: Set<String>? = nil) throws(WardenError) -> [(key: String, value: YNode)] {
        try keyedMapping(allowed: allowed).map { ($0.key, $0.value) }
    }

    /// Like `mapping(allowed:)`, with each key's own node, for errors about the key itself.
    package func keyedMapping(allowed: Set<String>? = nil) throws(WardenError) -> [(key: String, keyNode: YNode, value: YNode)] {
        guard case .mapping(let m) = node.value else { throw error("expected a mapping, found \(kindName)") }
        var result: [(key: String, keyNode: YNode, value: YNode)] = []
        result.reserveCapacity(m.count)
        // Duplicates found by comparing with the keys so far (mappings are small); a set only for
        // a long mapping.
        var seen: Set<String>? = m.count > 16 ? [] : nil
        for (k, v) in m {
            guard case .scalar(let key, _) = k.value else { throw YNode(node: k, path: path).error("mapping keys must be scalars") }
            let keyed = YNode.FieldPath.key(path, key)
            if let allowed, !allowed.contains(key) { throw YNode(node: k, path: keyed).unknownKey(key, allowed: allowed) }
            let repeated = seen != nil ? !seen!.insert(key).inserted : result.contains { $0.key == key }
            guard !repeated else { throw YNode(node: k, path: keyed).error("duplicate key '\(key)'") }
            result.append((key, YNode(node: k, path: keyed), YNode(node: v, path: keyed)))
        }
        return result
    }

    /// The error for a key (this node) outside `allowed`, with a "did you mean".
    package func unknownKey(_ key: String, allowed: Set<String>) -> WardenError {
        let hint = closest(to: key, in: allowed).map { " (did you mean '\($0)'?)" } ?? ""
        return error("unknown key '\(key)'\(hint)")
    }

    /// The mapping's fields, after the same checks as `mapping(allowed:)`, with every key of
    /// `required` present.
    package func fields(allowed: Set<String>, required: Set<String> = []) throws(WardenError) -> Fields {
        try Fields(node: self, entries: try keyedMapping(allowed: allowed), required: required)
    }

    /// `fields(allowed:required:)` of entries `keyedMapping()` already gave (the same checks,
    /// without decoding the mapping again).
    package func fields(_ entries: [(key: String, keyNode: YNode, value: YNode)], allowed: Set<String>, required: Set<String> = [])
        throws(WardenError) -> Fields
    {
        for e in entries where !allowed.contains(e.key) { throw e.keyNode.unknownKey(e.key, allowed: allowed) }
        return try Fields(node: self, entries: entries, required: required)
    }

    /// A mapping's fields by key (looked up in order: mappings are small).
    package struct Fields {
        package let node: YNode
        package let entries: [(key: String, keyNode: YNode, value: YNode)]

        /// The entries of `node` (already checked by `keyedMapping(allowed:)`), with every key of
        /// `required` present (the first missing one in key order is the error).
        package init(node: YNode, entries: [(key: String, keyNode: YNode, value: YNode)], required: Set<String> = []) throws(WardenError) {
            self.node = node
            self.entries = entries
            var missing: String?
            for key in required where !entries.contains(where: { $0.key == key }) {
                if missing.map({ key < $0 }) ?? true { missing = key }
            }
            if let missing { throw node.error("missing required key '\(missing)'") }
        }

        package subscript(key: String) -> YNode? { entries.first { $0.key == key }?.value }
        package var count: Int { entries.count }

        /// A key `fields(required:)` has checked, or the error naming the mapping without it.
        package func required(_ key: String) throws(WardenError) -> YNode {
            guard let value = self[key] else { throw node.error("missing required key '\(key)'") }
            return value
        }
    }

    package func list() throws(WardenError) -> [YNode] {
        guard case .sequence(let s) = node.value else { throw error("expected a list, found \(kindName)") }
        return s.enumerated().map { i, n in YNode(node: n, path: .index(path, i)) }
    }

    package func string() throws(WardenError) -> String {
        guard case .scalar(let text, _) = node.value, !isNull else { throw error("expected a string, found \(kindName)") }
        return text
    }

    package func nonEmptyString() throws(WardenError) -> String {
        let s = try string()
        // A printable ASCII byte settles it; only other text needs the Unicode whitespace test.
        guard s.utf8.contains(where: { $0 > 0x20 && $0 < 0x7F }) || !s.trimmingWhitespace.isEmpty else { throw error("must not be empty") }
        return s
    }

    package func bool() throws(WardenError) -> Bool {
        guard case .bool(let b)? = scalarType else {
            throw error("expected true or false, found \(describeScalar)")
        }
        return b
    }

    package func int() throws(WardenError) -> Int {
        guard case .int(let big)? = scalarType, let i = Int(exactly: big) else {
            throw error("expected an integer, found \(describeScalar)")
        }
        return i
    }

    package func strings() throws(WardenError) -> [String] {
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
    package func json() throws(WardenError) -> JSON {
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
