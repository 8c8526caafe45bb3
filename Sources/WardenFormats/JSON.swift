/// A JSON value with deterministic serialisation: object keys sorted by their UTF-8 bytes,
/// no insignificant white space, integers only (Warden's documents carry no floating point).
/// Facts, findings and manifests are all built from this one type, so the bytes that are signed
/// are always the bytes `serialized()` returns.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    public static func int(_ value: Int) -> JSON { .int(Int64(value)) }

    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public subscript(index: Int) -> JSON? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    /// Follows a dotted path (`a.b.0.c`; numeric components index lists). Nil when any step is missing.
    public func value(at path: [String]) -> JSON? { value(at: path[...]) }

    public func value(at path: ArraySlice<String>) -> JSON? {
        var current = self
        for component in path {
            switch current {
            case .object(let o):
                guard let next = o[component] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(component), a.indices.contains(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }
}

// MARK: - Serialisation

extension JSON {
    /// Compact, key-sorted UTF-8 bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out, indent: nil, level: 0)
        return out
    }

    /// Key-sorted, two-space indented UTF-8 bytes with a final newline (for files people read).
    /// `capacity`: the size expected, reserved at once (a large document then never regrows).
    public func prettySerialized(capacity: Int = 4096) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        write(into: &out, indent: 2, level: 0)
        out.append(0x0A)
        return out
    }

    public var compactString: String { String(decoding: serialized(), as: UTF8.self) }

    private func write(into out: inout [UInt8], indent: Int?, level: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .string(let s): JSON.writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty {
                out.append(contentsOf: [0x5B, 0x5D])
                return
            }
            out.append(0x5B)
            for (n, element) in a.enumerated() {
                if n > 0 { out.append(0x2C) }
                JSON.newline(&out, indent: indent, level: level + 1)
                element.write(into: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent: indent, level: level)
            out.append(0x5D)
        case .object(let o):
            if o.isEmpty {
                out.append(contentsOf: [0x7B, 0x7D])
                return
            }
            out.append(0x7B)
            // Keys in UTF-8 byte order (the order RFC 8785 and most canonical forms use), the
            // order a JSONObject keeps them in.
            for (n, pair) in o.enumerated() {
                if n > 0 { out.append(0x2C) }
                JSON.newline(&out, indent: indent, level: level + 1)
                JSON.writeString(pair.key, into: &out)
                out.append(0x3A)
                if indent != nil { out.append(0x20) }
                pair.value.write(into: &out, indent: indent, level: level + 1)
            }
            JSON.newline(&out, indent: indent, level: level)
            out.append(0x7D)
        }
    }

    /// Byte-wise comparison of two strings' UTF-8, without allocating.
    static func utf8Less(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                let n = min(x.count, y.count)
                var i = 0
                while i < n {
                    if x[i] != y[i] { return x[i] < y[i] }
                    i += 1
                }
                return x.count < y.count
            }
        }
        if let fast, let less = fast { return less }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static func newline(_ out: inout [UInt8], indent: Int?, level: Int) {
        guard let indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        // In place where the string's bytes are contiguous (always, but for bridged strings).
        if s.utf8.withContiguousStorageIfAvailable({ writeEscaped($0, into: &out) }) == nil {
            var s = s
            s.withUTF8 { writeEscaped($0, into: &out) }
        }
        out.append(0x22)
    }

    /// Copies runs of bytes that need no escaping in one go (most strings are one run).
    private static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var run = 0
        for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i]))
            run = i + 1
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            default: out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...]))
    }
}

// MARK: - Parsing

/// Where a JSON document is malformed: byte offset, line and column (1-based) and what was expected.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSON {
    /// Parses RFC 8259 JSON. Rejects floating-point numbers (not used in Warden documents),
    /// duplicate keys, nesting deeper than `maxDepth`, and trailing data.
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 256) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError>? = bytes.withContiguousStorageIfAvailable { parse(buffer: $0, maxDepth: maxDepth) }
        return try (result ?? Array(bytes).withUnsafeBufferPointer { parse(buffer: $0, maxDepth: maxDepth) }).get()
    }

    /// Parses as `parse`, but the value at `path` (object keys from the top, e.g. `["predicate",
    /// "results"]`) is only checked, as strictly as the rest, and not built: it stands as an empty
    /// value of its type. For documents whose large parts the reader does not use.
    public static func parse(_ bytes: [UInt8], omitting path: [String]) throws(JSONParseError) -> JSON {
        try parse(bytes, omitting: [path])
    }

    /// As `parse(_:omitting:)`, for several paths.
    public static func parse(_ bytes: [UInt8], omitting paths: [[String]]) throws(JSONParseError) -> JSON {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, maxDepth: 256)
            parser.omit = paths.filter { !$0.isEmpty }
            parser.candidates = [Array(parser.omit.indices)]
            return parser.document()
        }.get()
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        var text = text
        return try text.withUTF8 { parse(buffer: $0, maxDepth: 256) }.get()
    }

    /// Parses as `parse`, and gives the line of each object member's key by its path (object keys,
    /// and list positions as decimal strings): for evidence that cites the line of a setting.
    public static func parseWithKeyLines(_ text: String) throws(JSONParseError) -> (value: JSON, keyLines: [[String]: Int]) {
        var text = text
        let (result, keyLines) = text.withUTF8 { buffer in
            var parser = Parser(bytes: buffer, maxDepth: 256)
            parser.keyLines = [:]
            return (parser.document(), parser.keyLines ?? [:])
        }
        return (try result.get(), keyLines)
    }

    /// The parser reads the bytes in place (no copy, no bounds-checked `Array` indexing) and
    /// builds each string once, from the bytes between its quotes when it holds no escape.
    private static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) -> Result<JSON, JSONParseError> {
        var parser = Parser(bytes: buffer, maxDepth: maxDepth)
        return parser.document()
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let base: UnsafePointer<UInt8>?
        let count: Int
        let maxDepth: Int
        var index = 0

        /// The paths whose values are checked but not built; `keep` is false while inside one.
        var omit: [[String]] = []
        /// The paths the objects being parsed are all under so far, innermost object last: the
        /// object at depth `d` is under the first `d` keys of each path in `candidates[d]`.
        var candidates: [[Int]] = []
        var keep = true
        /// The keys of the unbuilt objects being checked, innermost last (for duplicates): where
        /// each key's bytes are, in the input (a plain ASCII key, as written) or in `sideKeys`
        /// (one with escapes or non-ASCII, decoded), so that no string is made for them; and its
        /// first eight bytes as a number, which tells most keys apart at once.
        struct CheckedKey {
            var offset: Int
            var count: Int
            var side: Bool
            var head: UInt64
        }
        var checkedKeys: [CheckedKey] = []
        var sideKeys: [UInt8] = []

        /// When not nil, the line of each built member's key by its path (`parseWithKeyLines`),
        /// with the path to the value being parsed and how far lines have been counted.
        var keyLines: [[String]: Int]?
        var path: [String] = []
        var counted = (offset: 0, line: 1)

        /// The line of `offset`, which is never before the last one asked about.
        mutating func line(at offset: Int) -> Int {
            for i in counted.offset..<offset where at(i) == 0x0A { counted.line += 1 }
            counted.offset = offset
            return counted.line
        }

        /// The bytes of a checked key.
        func withKeyBytes<R>(_ key: CheckedKey, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
            guard key.side else { return body(UnsafeBufferPointer(rebasing: bytes[key.offset..<key.offset + key.count])) }
            return sideKeys.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[key.offset..<key.offset + key.count])) }
        }

        func checkedKey(offset: Int, count: Int, side: Bool) -> CheckedKey {
            var key = CheckedKey(offset: offset, count: count, side: side, head: 0)
            key.head = withKeyBytes(key) { bytes in
                var head: UInt64 = 0
                for i in 0..<min(8, bytes.count) { head |= UInt64(bytes[i]) << (8 * UInt64(i)) }
                return head
            }
            return key
        }

        func sameKey(_ a: CheckedKey, _ b: CheckedKey) -> Bool {
            guard a.count == b.count, a.head == b.head else { return false }
            guard a.count > 8 else { return true }
            return withKeyBytes(a) { x in
                withKeyBytes(b) { y in
                    var i = 8
                    while i < x.count {
                        if x[i] != y[i] { return false }
                        i += 1
                    }
                    return true
                }
            }
        }

        func keyText(_ key: CheckedKey) -> String { withKeyBytes(key) { String(decoding: $0, as: UTF8.self) } }

        mutating func document() -> Result<JSON, JSONParseError> {
            do throws(JSONParseError) {
                skipWhitespace()
                let value = try parseValue(depth: 0)
                skipWhitespace()
                if index != count { throw error("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            base = bytes.baseAddress
            count = bytes.count
            self.maxDepth = maxDepth
        }

        /// The byte at `i`, which the caller has checked is below `count`.
        @inline(__always) func at(_ i: Int) -> UInt8 { base.unsafelyUnwrapped[i] }

        func error(_ message: String) -> JSONParseError {
            var line = 1
            var column = 1
            for b in bytes[..<min(index, count)] {
                if b == 0x0A {
                    line += 1
                    column = 1
                } else if b & 0xC0 != 0x80 {
                    column += 1
                }
            }
            return JSONParseError(offset: index, line: line, column: column, message: message)
        }

        mutating func skipWhitespace() {
            while index < count {
                switch at(index) {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString, _ value: JSON) throws(JSONParseError) -> JSON {
            let n = literal.utf8CodeUnitCount
            guard index + n <= count else { throw error("invalid literal") }
            let lit = literal.utf8Start
            for i in 0..<n where at(index + i) != lit[i] { throw error("invalid literal") }
            index += n
            return value
        }

        mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth)") }
            guard index < count else { throw error("unexpected end of input") }
            switch at(index) {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character")
            }
        }

        /// Where each key of the objects being built starts, innermost object last (to report a
        /// repeated key where it is).
        var keyOffsets: [Int] = []

        mutating func parseObject(depth: Int) throws(JSONParseError) -> JSON {
            index += 1
            skipWhitespace()
            if index < count, at(index) == UInt8(ascii: "}") {
                index += 1
                return .object([:])
            }
            let first = keep ? keyOffsets.count : checkedKeys.count
            var manyKeys: Set<String>?
            // The members of this object when it is built, and whether they came in key order
            // (Warden's own documents are written so).
            var built: [JSONObject.Member] = []
            var inOrder = true
            if keep { built.reserveCapacity(8) }
            while true {
                skipWhitespace()
                guard index < count, at(index) == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let keyStart = index
                if !keep {
                    // An unbuilt object is still checked for duplicate keys, by their bytes: a
                    // plain ASCII key is not made into a string (an unbuilt parse returns "" for
                    // it), one with escapes or non-ASCII is decoded aside.
                    let decoded = try parseString()
                    let key: CheckedKey
                    if decoded.isEmpty {
                        key = checkedKey(offset: keyStart + 1, count: index - keyStart - 2, side: false)
                    } else {
                        sideKeys.append(contentsOf: decoded.utf8)
                        key = checkedKey(offset: sideKeys.count - decoded.utf8.count, count: decoded.utf8.count, side: true)
                    }
                    skipWhitespace()
                    guard index < count, at(index) == UInt8(ascii: ":") else { throw error("expected ':'") }
                    index += 1
                    skipWhitespace()
                    // A short scan for the few keys of most objects; a set past that, so that a
                    // hostile object with many keys costs no more than a built one.
                    let duplicate: Bool
                    if manyKeys != nil {
                        duplicate = !manyKeys!.insert(keyText(key)).inserted
                    } else {
                        duplicate = checkedKeys[first...].contains { sameKey($0, key) }
                        checkedKeys.append(key)
                        if checkedKeys.count - first > 32 { manyKeys = Set(checkedKeys[first...].map(keyText)) }
                    }
                    if duplicate {
                        index = keyStart
                        throw error("duplicate key \"\(keyText(key))\"")
                    }
                    _ = try parseValue(depth: depth + 1)
                } else {
                    let key = try parseString()
                    skipWhitespace()
                    guard index < count, at(index) == UInt8(ascii: ":") else { throw error("expected ':'") }
                    index += 1
                    skipWhitespace()
                    if inOrder, let last = built.last, !JSON.utf8Less(last.key, key) { inOrder = false }
                    keyOffsets.append(keyStart)
                    if keyLines != nil {
                        path.append(key)
                        keyLines![path] = line(at: keyStart)
                    }
                    defer { if keyLines != nil { path.removeLast() } }
                    let value: JSON
                    let under = candidates.count == depth + 1 ? candidates[depth].filter { omit[$0][depth] == key } : []
                    if under.isEmpty {
                        value = try parseValue(depth: depth + 1)
                    } else {
                        // Inside an omitted value, or an object on the way to one.
                        keep = !under.contains { omit[$0].count == depth + 1 }
                        candidates.append(under.filter { omit[$0].count > depth + 1 })
                        value = try parseValue(depth: depth + 1)
                        candidates.removeLast()
                        keep = true
                    }
                    built.append(JSONObject.Member(key: key, value: value))
                }
                skipWhitespace()
                guard index < count else { throw error("unexpected end of input in object") }
                if at(index) == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if at(index) == UInt8(ascii: "}") { break }
                throw error("expected ',' or '}'")
            }
            guard keep else {
                checkedKeys.removeSubrange(first...)
                index += 1
                return .object([:])
            }
            if !inOrder {
                // Sorted here; a key given twice is reported where it comes the second time (the
                // first such place in the text).
                let offsets = keyOffsets[first...]
                let order = built.indices.sorted {
                    JSON.utf8Less(built[$0].key, built[$1].key)
                        || (built[$0].key == built[$1].key && offsets[first + $0] < offsets[first + $1])
                }
                var duplicate: (key: String, offset: Int)?
                for (a, b) in zip(order, order.dropFirst()) where built[a].key == built[b].key {
                    let offset = offsets[first + b]
                    if duplicate == nil || offset < duplicate!.offset { duplicate = (built[b].key, offset) }
                }
                if let duplicate {
                    index = duplicate.offset
                    throw error("duplicate key \"\(duplicate.key)\"")
                }
                built = order.map { built[$0] }
            }
            keyOffsets.removeSubrange(first...)
            index += 1
            return .object(JSONObject(sortedUniqueMembers: built))
        }

        mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
            index += 1
            var result: [JSON] = []
            skipWhitespace()
            if index < count, at(index) == UInt8(ascii: "]") {
                index += 1
                return .array(result)
            }
            while true {
                skipWhitespace()
                // keyLines is set only by parseWithKeyLines, which omits nothing: every item is
                // kept, so the count is the item's position.
                if keyLines != nil { path.append(String(result.count)) }
                defer { if keyLines != nil { path.removeLast() } }
                let value = try parseValue(depth: depth + 1)
                if keep { result.append(value) }
                skipWhitespace()
                guard index < count else { throw error("unexpected end of input in list") }
                if at(index) == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                if at(index) == UInt8(ascii: "]") {
                    index += 1
                    return .array(result)
                }
                throw error("expected ',' or ']'")
            }
        }

        /// Digits accumulated as a negative number (so that Int64.min fits), checked for overflow.
        mutating func parseNumber() throws(JSONParseError) -> JSON {
            let start = index
            let negative = at(index) == UInt8(ascii: "-")
            if negative { index += 1 }
            guard index < count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(at(index)) else {
                throw error("invalid number")
            }
            if at(index) == UInt8(ascii: "0"), index + 1 < count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(at(index + 1))
            {
                throw error("leading zero in number")
            }
            var value: Int64 = 0
            var overflow = false
            while index < count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(at(index)) {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.subtractingReportingOverflow(Int64(at(index) - UInt8(ascii: "0")))
                overflow = overflow || o1 || o2
                value = next
                index += 1
            }
            if index < count, at(index) == UInt8(ascii: ".") || at(index) == UInt8(ascii: "e") || at(index) == UInt8(ascii: "E") {
                throw error("non-integer numbers are not used in Warden documents")
            }
            if !negative {
                if value == .min { overflow = true } else { value = -value }
            }
            guard !overflow else {
                index = start
                throw error("integer out of range")
            }
            return .int(value)
        }

        mutating func parseHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = at(index)
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid \\u escape")
                }
                v = v * 16 + d
                index += 1
            }
            return v
        }

        /// The bytes of `word` (little-endian) that end or escape a string or are not ASCII, as their
        /// high bits (the "has zero byte" and "has byte less than" tests of Bit Twiddling Hacks).
        /// A test can also mark bytes above one it rightly marks (a borrow runs upwards), never
        /// below: the lowest mark is always the first such byte.
        @inline(__always) static func specialBytes(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
            let control = (word &- ones &* 0x20) & ~word & highs
            return (word & highs) | control | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5C))
        }

        /// A string without escapes becomes a `String` straight from the bytes between its quotes
        /// (validated once); one with escapes is decoded into a scratch buffer first.
        mutating func parseString() throws(JSONParseError) -> String {
            index += 1
            let start = index
            var high: UInt8 = 0
            // Eight bytes at a time while none is a quote, a backslash, a control character or
            // non-ASCII (long strings such as an envelope's base64 payload are all plain); then
            // straight to the first byte that is (most often the closing quote).
            if let base {
                let raw = UnsafeRawPointer(base)
                while index + 8 <= count {
                    let special = Parser.specialBytes(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    if special == 0 {
                        index += 8
                        continue
                    }
                    index += special.trailingZeroBitCount >> 3
                    break
                }
            }
            while index < count {
                let c = at(index)
                if c == UInt8(ascii: "\"") {
                    let run = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    // ASCII needs no validation (and the generic validating initialiser is slow).
                    if high < 0x80 { return keep ? String(decoding: run, as: UTF8.self) : "" }
                    guard let s = String(validating: run, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                    return s
                }
                if c == UInt8(ascii: "\\") || c < 0x20 { break }
                high |= c
                index += 1
            }
            var out: [UInt8] = []
            out.reserveCapacity(index - start + 16)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while true {
                guard index < count else { throw error("unterminated string") }
                let c = at(index)
                switch c {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                    return s
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < count else { throw error("unterminated escape") }
                    let e = at(index)
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try parseHex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 2 <= count, at(index) == UInt8(ascii: "\\"), at(index + 1) == UInt8(ascii: "u") else {
                                throw error("unpaired surrogate")
                            }
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error("unpaired surrogate")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                        out.append(contentsOf: String(Character(u)).utf8)
                    default: throw error("invalid escape")
                    }
                case 0x00..<0x20:
                    throw error("control character in string")
                default:
                    out.append(c)
                    index += 1
                }
            }
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
    public init(nilLiteral: ()) { self = .null }
}
