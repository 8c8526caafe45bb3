/// A node of a YAML document, with where it starts: 1-based line and column, the column counted
/// in characters (Unicode scalars), as libyaml counts it.
public struct YAMLNode: Sendable {
    public enum Value: Sendable {
        /// `plain` is false for quoted and block scalars (only plain scalars are typed).
        case scalar(String, plain: Bool)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    public var value: Value
    public var line: Int
    public var column: Int
}

/// Where a YAML text stops being YAML that Warden reads, and why.
public struct YAMLSyntaxError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var problem: String

    public var description: String { "\(line):\(column): \(problem)" }
}

/// Warden's YAML reader, for profiles, control definitions, site files and inventories: block and
/// flow mappings and sequences; plain, single- and double-quoted, literal and folded scalars;
/// comments; one document, with or without `---` and `...`. Everything else is refused with its
/// line and column rather than half-understood: anchors, aliases, tags, directives, complex
/// (`?`) keys, more than one document, tabs in indentation, control characters, nesting deeper
/// than 64 levels. Scalars are returned as text; the caller types plain ones (YAML 1.1 rules,
/// `YNode.classify`). Works on UTF-8 bytes in one pass, with no regular expressions.
public enum YAML {
    public static func parse(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = YAMLParser(text)
        return try parser.document()
    }
}

private let newline: UInt8 = 0x0A
private let space: UInt8 = 0x20
private let tab: UInt8 = 0x09
private let hash = UInt8(ascii: "#")
private let colon = UInt8(ascii: ":")
private let dash = UInt8(ascii: "-")

private struct YAMLParser {
    /// The text with every line break made "\n" ("\r\n" and a lone "\r" alike).
    let b: [UInt8]
    /// Where each line starts in `b`.
    let lineStarts: [Int]
    /// The line index of each byte of `b` (every node asks for its line: a lookup, not a search).
    let lineOf: [Int32]
    var p = 0
    var depth = 0
    static let maxDepth = 64

    init(_ text: String) {
        var bytes = Array(text.utf8)
        if bytes.contains(0x0D) {
            var normalised: [UInt8] = []
            normalised.reserveCapacity(bytes.count)
            var previousCR = false
            for c in bytes {
                if c == 0x0D {
                    normalised.append(newline)
                    previousCR = true
                    continue
                }
                if c == newline && previousCR {
                    previousCR = false
                    continue
                }
                previousCR = false
                normalised.append(c)
            }
            bytes = normalised
        }
        b = bytes
        var starts = [0]
        lineOf = [Int32](unsafeUninitializedCapacity: bytes.count) { lines, count in
            bytes.withUnsafeBufferPointer { buffer in
                var line: Int32 = 0
                for i in buffer.indices {
                    lines[i] = line
                    if buffer[i] == newline {
                        starts.append(i + 1)
                        line += 1
                    }
                }
            }
            count = bytes.count
        }
        lineStarts = starts
    }

    // MARK: - Positions and errors

    /// The index of the line holding position `i` (the last line from the end of the text on).
    func lineIndex(_ i: Int) -> Int {
        i < lineOf.count ? Int(lineOf[i]) : lineStarts.count - 1
    }

    func mark(_ i: Int) -> (line: Int, column: Int) {
        let l = lineIndex(i)
        // Columns count characters: every byte but UTF-8 continuation bytes.
        let column = b.withUnsafeBufferPointer { buffer in
            var column = 1
            for j in lineStarts[l]..<max(lineStarts[l], min(i, buffer.count)) where buffer[j] & 0xC0 != 0x80 { column += 1 }
            return column
        }
        return (l + 1, column)
    }

    func fail(_ problem: String, at i: Int? = nil) -> YAMLSyntaxError {
        let m = mark(i ?? p)
        return YAMLSyntaxError(line: m.line, column: m.column, problem: problem)
    }

    func node(_ value: YAMLNode.Value, at i: Int) -> YAMLNode {
        let m = mark(i)
        return YAMLNode(value: value, line: m.line, column: m.column)
    }

    func byte(_ i: Int) -> UInt8? { i < b.count ? b[i] : nil }
    func isBlank(_ i: Int) -> Bool { i >= b.count || b[i] == space || b[i] == tab || b[i] == newline }
    func isFlowIndicator(_ c: UInt8) -> Bool {
        c == UInt8(ascii: ",") || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: "{") || c == UInt8(ascii: "}")
    }
    func lineStart(_ i: Int) -> Int { lineStarts[lineIndex(i)] }
    func text(_ from: Int, _ to: Int) -> String { String(decoding: b[from..<to], as: UTF8.self) }

    /// `---` or `...` at the start of a line, followed by a blank.
    func isDocumentMarker(_ i: Int) -> Bool {
        guard i + 3 <= b.count, i == lineStart(i), isBlank(i + 3) else { return false }
        return (b[i] == dash && b[i + 1] == dash && b[i + 2] == dash)
            || (b[i] == UInt8(ascii: ".") && b[i + 1] == UInt8(ascii: ".") && b[i + 2] == UInt8(ascii: "."))
    }

    func isSequenceEntry(_ i: Int) -> Bool { byte(i) == dash && isBlank(i + 1) }

    // MARK: - Characters YAML refuses

    func checkCharacters() throws(YAMLSyntaxError) {
        // Printable ASCII, the common case, in one test per byte; the rest below.
        let firstOther = b.withUnsafeBufferPointer { buffer in
            buffer.firstIndex { $0 < 0x20 && $0 != newline && $0 != tab || $0 >= 0x7F } ?? buffer.count
        }
        var i = firstOther
        while i < b.count {
            let c = b[i]
            if c < 0x20 && c != tab && c != newline || c == 0x7F {
                throw fail("control characters are not allowed (byte 0x\(String(c, radix: 16)))", at: i)
            }
            if c == 0xC2, i + 1 < b.count, b[i + 1] >= 0x80, b[i + 1] <= 0x9F, b[i + 1] != 0x85 {
                throw fail("control characters are not allowed (U+00\(String(b[i + 1], radix: 16, uppercase: true)))", at: i)
            }
            if c == 0xEF, i + 2 < b.count, b[i + 1] == 0xBF, b[i + 2] == 0xBE || b[i + 2] == 0xBF {
                throw fail("the non-characters U+FFFE and U+FFFF are not allowed", at: i)
            }
            i += 1
        }
    }

    // MARK: - Lines

    /// Skips spaces and tabs, then a comment; what remains of the line must be nothing.
    mutating func endLine(after what: String) throws(YAMLSyntaxError) {
        while p < b.count, b[p] == space || b[p] == tab { p += 1 }
        // A '#' here starts a comment: a plain scalar keeps a '#' that follows no blank, so one
        // can only follow a blank, a closing quote or bracket, or a block scalar's indicator.
        if p < b.count, b[p] == hash {
            while p < b.count, b[p] != newline { p += 1 }
        }
        guard p >= b.count || b[p] == newline else {
            if b[p] == colon && isBlank(p + 1) {
                throw fail("mapping values are not allowed here (a key must be a plain or quoted scalar on one line)")
            }
            throw fail("unexpected content after \(what)")
        }
    }

    /// From the end of a line (`p` at "\n" or the end), the first character of the next line
    /// with content, and its indentation; nil at the end of the document. Blank and comment
    /// lines are skipped; a tab in the indentation of a content line is an error.
    func nextContent() throws(YAMLSyntaxError) -> (position: Int, indent: Int)? {
        var i = p
        while i < b.count, b[i] != newline { i += 1 }
        while i < b.count {
            i += 1  // past "\n"
            let start = i
            while i < b.count, b[i] == space { i += 1 }
            guard i < b.count else { return nil }
            // As libyaml: a tab where indentation is read, even on a blank or comment line.
            if b[i] == tab { throw fail("tabs are not allowed in indentation", at: i) }
            if b[i] == newline { continue }
            if b[i] == hash {
                while i < b.count, b[i] != newline { i += 1 }
                continue
            }
            return (i, i - start)
        }
        return nil
    }

    // MARK: - Document

    mutating func document() throws(YAMLSyntaxError) -> YAMLNode? {
        try checkCharacters()
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { p = 3 }
        var root: YAMLNode?
        // Position p as if at the end of a line before the first one.
        guard var first = try firstContent() else { return nil }
        if b[first.position] == UInt8(ascii: "%") && first.indent == 0 {
            throw fail("YAML directives are not supported", at: first.position)
        }
        if isDocumentMarker(first.position) && b[first.position] == dash {
            p = first.position + 3
            while p < b.count, b[p] == space || b[p] == tab { p += 1 }
            if p < b.count, b[p] != newline, b[p] != hash {
                if isSequenceEntry(p) || keyColon(at: p) != nil { throw fail("a block list or mapping starts on the line after '---'") }
                root = try inlineValue(parent: -1)
            }
            try endLine(after: "the value")
            // "---" alone: the document is there, and empty (null), as libyaml reads it.
            guard let next = try nextContent() else { return root ?? empty(at: p) }
            first = next
        }
        if root == nil && !isDocumentMarker(first.position) {
            p = first.position
            root = try nodeAt(indent: first.indent, parent: -1)
        }
        // After the root: nothing, or "..." and then nothing.
        guard let after = try nextContent() else { return root }
        if isDocumentMarker(after.position) && b[after.position] == UInt8(ascii: ".") {
            p = after.position + 3
            try endLine(after: "'...'")
            guard let more = try nextContent() else { return root }
            throw fail(
                isDocumentMarker(more.position)
                    ? "more than one YAML document is not supported" : "content after the end of the document ('...')", at: more.position)
        }
        if isDocumentMarker(after.position) { throw fail("more than one YAML document is not supported", at: after.position) }
        throw fail("unexpected content at indentation \(after.indent) (is it indented as its siblings are?)", at: after.position)
    }

    /// The first content line of the document (p is at its start, not at a line end).
    mutating func firstContent() throws(YAMLSyntaxError) -> (position: Int, indent: Int)? {
        let start = p
        var i = start
        while i < b.count, b[i] == space { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == tab { throw fail("tabs are not allowed in indentation", at: i) }
        if b[i] != newline && b[i] != hash { return (i, i - start) }
        p = i
        while p < b.count, b[p] != newline { p += 1 }
        return try nextContent()
    }

    // MARK: - Block structure

    /// A node whose first character is at `p`, in a line position with indentation `indent`;
    /// continuation lines of a scalar must be indented more than `parent`.
    mutating func nodeAt(indent: Int, parent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) levels deep") }
        if isSequenceEntry(p) { return try blockSequence(indent: indent) }
        if keyColon(at: p) != nil { return try blockMapping(indent: indent) }
        let value = try inlineValue(parent: parent)
        try endLine(after: "the value")
        return value
    }

    /// The value of a key or entry that continues on the following lines (nothing after the
    /// indicator on its own line): a node indented more than `parent`, or a block sequence at
    /// `parent` itself when `sequenceAtParent` (`key:` followed by `- item` lines). Nil when
    /// there is none (an empty value).
    mutating func blockValue(parent: Int, sequenceAtParent: Bool) throws(YAMLSyntaxError) -> YAMLNode? {
        guard let next = try nextContent(), !isDocumentMarker(next.position) else { return nil }
        if next.indent > parent || (sequenceAtParent && next.indent == parent && isSequenceEntry(next.position)) {
            p = next.position
            return try nodeAt(indent: next.indent, parent: parent)
        }
        return nil
    }

    mutating func blockSequence(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        var items: [YAMLNode] = []
        while true {
            let entry = p
            p += 1
            if byte(p) == tab { throw fail("a tab after '-' (use spaces)") }
            while p < b.count, b[p] == space || b[p] == tab { p += 1 }
            if p >= b.count || b[p] == newline || b[p] == hash {
                try endLine(after: "'-'")
                items.append(try blockValue(parent: indent, sequenceAtParent: false) ?? empty(at: entry + 1))
            } else {
                items.append(try nodeAt(indent: indent + (p - entry), parent: indent))
            }
            guard let next = try nextContent(), !isDocumentMarker(next.position) else { break }
            if next.indent > indent {
                throw fail("unexpected indentation (expected a '- ' entry at column \(indent + 1))", at: next.position)
            }
            guard next.indent == indent, isSequenceEntry(next.position) else { break }
            p = next.position
        }
        return node(.sequence(items), at: start)
    }

    mutating func blockMapping(indent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        while true {
            guard let colonAt = keyColon(at: p) else {
                throw fail(
                    isSequenceEntry(p)
                        ? "a '- ' entry where a key was expected (is the list indented under its key?)"
                        : b[p] == colon
                            ? "the key is missing before ':'"
                            : b[p] == UInt8(ascii: "?") && isBlank(p + 1)
                                ? "complex mapping keys ('? ') are not supported"
                                : b[p] == UInt8(ascii: "|") || b[p] == UInt8(ascii: ">")
                                    ? "a block scalar must be indented more than its key"
                                    : "expected a 'key: value' entry")
            }
            if colonAt == p { throw fail("the key is missing before ':'") }
            let key = try mappingKey(end: colonAt)
            p = colonAt + 1
            while p < b.count, b[p] == space || b[p] == tab { p += 1 }
            let value: YAMLNode
            if p >= b.count || b[p] == newline || b[p] == hash {
                try endLine(after: "':'")
                value = try blockValue(parent: indent, sequenceAtParent: true) ?? empty(at: colonAt + 1)
            } else {
                if isSequenceEntry(p) { throw fail("a block list cannot start on the line of its key") }
                value = try inlineValue(parent: indent)
                try endLine(after: "the value")
            }
            pairs.append((key, value))
            guard let next = try nextContent(), !isDocumentMarker(next.position) else { break }
            if next.indent > indent { throw fail("unexpected indentation (expected a key at column \(indent + 1))", at: next.position) }
            guard next.indent == indent else { break }
            p = next.position
        }
        return node(.mapping(pairs), at: start)
    }

    func empty(at i: Int) -> YAMLNode { node(.scalar("", plain: true), at: i) }

    /// Where the ':' of a `key: value` entry starting at `i` is, or nil when the line at `i` is
    /// not one. Keys are plain or quoted scalars on one line.
    func keyColon(at i: Int) -> Int? {
        guard i < b.count, !isSequenceEntry(i) else { return nil }
        var j = i
        let c = b[i]
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            j += 1
            while true {
                guard j < b.count, b[j] != newline else { return nil }
                if c == UInt8(ascii: "\"") && b[j] == UInt8(ascii: "\\") {
                    j += 2
                    continue
                }
                if b[j] == c {
                    if c == UInt8(ascii: "'") && byte(j + 1) == c {
                        j += 2
                        continue
                    }
                    break
                }
                j += 1
            }
            j += 1
            while j < b.count, b[j] == space || b[j] == tab { j += 1 }
            return byte(j) == colon && isBlank(j + 1) ? j : nil
        }
        if isFlowIndicator(c) || c == hash { return nil }
        while j < b.count, b[j] != newline {
            if b[j] == colon && isBlank(j + 1) { return j }
            if b[j] == hash && j > i && (b[j - 1] == space || b[j - 1] == tab) { return nil }
            j += 1
        }
        return nil
    }

    /// The key scalar of an entry starting at `p`, whose ':' is at `end`.
    mutating func mappingKey(end: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let c = b[p]
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            let key = try quoted(parent: -1)
            return key
        }
        if c == UInt8(ascii: "?") && isBlank(p + 1) { throw fail("complex mapping keys ('? ') are not supported") }
        if c == UInt8(ascii: "|") || c == UInt8(ascii: ">") { throw fail("'\(Character(Unicode.Scalar(c)))' cannot start a key") }
        try refuseIndicator(c)
        var e = end
        while e > p, b[e - 1] == space || b[e - 1] == tab { e -= 1 }
        return node(.scalar(text(p, e), plain: true), at: p)
    }

    func refuseIndicator(_ c: UInt8) throws(YAMLSyntaxError) {
        switch c {
        case UInt8(ascii: "&"): throw fail("YAML anchors ('&') are not supported")
        case UInt8(ascii: "*"): throw fail("YAML aliases ('*') are not supported")
        case UInt8(ascii: "!"): throw fail("YAML tags ('!') are not supported")
        case UInt8(ascii: "@"), UInt8(ascii: "`"):
            throw fail("'\(Character(Unicode.Scalar(c)))' is reserved and cannot start a plain scalar")
        case UInt8(ascii: "%"): throw fail("'%' cannot start a plain scalar")
        default: break
        }
    }

    /// A value that starts on the current line at `p` (after `key: ` or `- `, or after `---`):
    /// a scalar of any style or a flow collection. Continuation lines must be indented more than
    /// `parent`. Leaves `p` after the value, on its last line.
    mutating func inlineValue(parent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let c = b[p]
        switch c {
        case UInt8(ascii: "|"), UInt8(ascii: ">"): return try blockScalar(parent: parent)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let start = p
            let value = try flowCollection()
            skipSpaces()
            if byte(p) == colon && isBlank(p + 1) {
                throw fail("complex mapping keys (a flow collection as a key) are not supported", at: start)
            }
            return value
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return try quoted(parent: parent)
        case UInt8(ascii: "?") where isBlank(p + 1): throw fail("complex mapping keys ('? ') are not supported")
        case UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ","):
            throw fail("'\(Character(Unicode.Scalar(c)))' cannot start a plain scalar")
        default:
            try refuseIndicator(c)
            return try plainScalar(parent: parent)
        }
    }

    mutating func skipSpaces() {
        while p < b.count, b[p] == space || b[p] == tab { p += 1 }
    }

    // MARK: - Plain scalars (block context)

    mutating func plainScalar(parent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        var out: [UInt8] = []
        var lineEnd = plainLine(from: p)
        out.append(contentsOf: b[p..<lineEnd.end])
        p = lineEnd.end
        // A ': ' on the first line: the caller reports it where it is.
        while !lineEnd.stoppedAtComment && !lineEnd.keyColon {
            // Continuation lines: indented more than the parent, not comments or document markers.
            var i = p
            var breaks = 0
            var candidate: Int?
            while i < b.count {
                while i < b.count, b[i] != newline { i += 1 }
                guard i < b.count else { break }
                i += 1
                breaks += 1
                let ls = i
                while i < b.count, b[i] == space || b[i] == tab { i += 1 }
                if i >= b.count { break }
                if b[i] == newline { continue }
                let spaces = b[ls..<i].prefix(while: { $0 == space }).count
                if b[i] == hash || spaces <= parent || isDocumentMarker(ls) { break }
                candidate = i
                break
            }
            guard let next = candidate else { break }
            if breaks == 1 { out.append(space) } else { out.append(contentsOf: repeatElement(newline, count: breaks - 1)) }
            lineEnd = plainLine(from: next)
            if lineEnd.keyColon {
                throw fail(
                    "mapping values are not allowed here (is a key missing its indentation, or a value its quotes?)", at: lineEnd.end)
            }
            out.append(contentsOf: b[next..<lineEnd.end])
            p = lineEnd.end
        }
        return node(.scalar(String(decoding: out, as: UTF8.self), plain: true), at: start)
    }

    /// The end of a plain scalar's text on one line, without trailing blanks: before " #", or
    /// before a ': ' (reported as `keyColon`), or at the end of the line.
    func plainLine(from i: Int) -> (end: Int, stoppedAtComment: Bool, keyColon: Bool) {
        var j = i
        var comment = false
        var key = false
        while j < b.count, b[j] != newline {
            if b[j] == hash && j > i && (b[j - 1] == space || b[j - 1] == tab) {
                comment = true
                break
            }
            if b[j] == colon && isBlank(j + 1) {
                key = true
                break
            }
            j += 1
        }
        var e = j
        while e > i, b[e - 1] == space || b[e - 1] == tab { e -= 1 }
        return (e, comment, key)
    }

    // MARK: - Quoted scalars

    /// A single- or double-quoted scalar at `p`, possibly over several lines (folded as YAML
    /// folds them). Leaves `p` after the closing quote.
    mutating func quoted(parent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        let q = b[p]
        let double = q == UInt8(ascii: "\"")
        p += 1
        var out: [UInt8] = []
        // Where trailing white space that a line break would remove starts in `out`.
        var trailing = 0
        while true {
            guard p < b.count else {
                throw fail(
                    "unterminated \(double ? "double" : "single")-quoted scalar (it starts at \(mark(start).line):\(mark(start).column))")
            }
            let c = b[p]
            if c == q {
                if !double && byte(p + 1) == q {
                    out.append(q)
                    p += 2
                    trailing = out.count
                    continue
                }
                p += 1
                break
            }
            if double && c == UInt8(ascii: "\\") {
                p += 1
                guard p < b.count else { continue }
                if b[p] == newline {
                    // An escaped line break: joined without a space, the next line's indentation dropped.
                    p += 1
                    while p < b.count, b[p] == space || b[p] == tab { p += 1 }
                    trailing = out.count
                    continue
                }
                try escape(into: &out)
                trailing = out.count
                continue
            }
            if c == newline {
                out.removeSubrange(trailing...)
                var breaks = 0
                while p < b.count, b[p] == newline {
                    breaks += 1
                    p += 1
                    if isDocumentMarker(p) { throw fail("a document marker inside a quoted scalar", at: p) }
                    while p < b.count, b[p] == space || b[p] == tab { p += 1 }
                }
                if breaks == 1 { out.append(space) } else { out.append(contentsOf: repeatElement(newline, count: breaks - 1)) }
                trailing = out.count
                continue
            }
            out.append(c)
            p += 1
            if c != space && c != tab { trailing = out.count }
        }
        return node(.scalar(String(decoding: out, as: UTF8.self), plain: false), at: start)
    }

    /// One escape of a double-quoted scalar (`p` after the backslash).
    mutating func escape(into out: inout [UInt8]) throws(YAMLSyntaxError) {
        let at = p - 1
        let c = b[p]
        p += 1
        let simple: UInt8?
        switch c {
        case UInt8(ascii: "0"): simple = 0x00
        case UInt8(ascii: "a"): simple = 0x07
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "t"), tab: simple = tab
        case UInt8(ascii: "n"): simple = newline
        case UInt8(ascii: "v"): simple = 0x0B
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "e"): simple = 0x1B
        case space: simple = space
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        default: simple = nil
        }
        if let simple {
            out.append(simple)
            return
        }
        let scalar: UInt32
        switch c {
        case UInt8(ascii: "N"): scalar = 0x85
        case UInt8(ascii: "_"): scalar = 0xA0
        case UInt8(ascii: "L"): scalar = 0x2028
        case UInt8(ascii: "P"): scalar = 0x2029
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = c == UInt8(ascii: "x") ? 2 : c == UInt8(ascii: "u") ? 4 : 8
            guard p + count <= b.count, let v = UInt32(text(p, p + count), radix: 16),
                b[p..<(p + count)].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != dash })
            else {
                throw fail("'\\\(Character(Unicode.Scalar(c)))' needs \(count) hexadecimal digits", at: at)
            }
            p += count
            scalar = v
        default:
            throw fail("unknown escape '\\\(String(decoding: [c], as: UTF8.self))' in a double-quoted scalar", at: at)
        }
        guard let u = Unicode.Scalar(scalar) else {
            throw fail("escape '\\\(Character(Unicode.Scalar(c)))' is not a Unicode scalar value", at: at)
        }
        out.append(contentsOf: String(Character(u)).utf8)
    }

    // MARK: - Block scalars

    /// A literal (`|`) or folded (`>`) scalar: `p` at the indicator.
    mutating func blockScalar(parent: Int) throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        let literal = b[p] == UInt8(ascii: "|")
        p += 1
        var chomp: UInt8?  // "-" strip, "+" keep, nil clip
        var explicit: Int?
        for _ in 0..<2 {
            guard p < b.count else { break }
            if (b[p] == dash || b[p] == UInt8(ascii: "+")) && chomp == nil {
                chomp = b[p]
                p += 1
                continue
            }
            if b[p] >= UInt8(ascii: "1") && b[p] <= UInt8(ascii: "9") && explicit == nil {
                explicit = Int(b[p] - UInt8(ascii: "0"))
                p += 1
                continue
            }
            if b[p] == UInt8(ascii: "0") { throw fail("a block scalar's indentation indicator is 1 to 9") }
            break
        }
        try endLine(after: "the block scalar indicator")
        // An explicit indentation counts from the parent's (from column 0 at the top level).
        var contentIndent = explicit.map { max(parent, 0) + $0 }
        if contentIndent == nil {
            // The first non-empty line sets it; leading empty lines may not be indented more.
            var i = p
            var maxEmpty = 0
            while i < b.count {
                i += 1
                let ls = i
                while i < b.count, b[i] == space { i += 1 }
                if i < b.count, b[i] == tab { throw fail("a tab where a block scalar's indentation space is expected", at: i) }
                if i < b.count, b[i] == newline {
                    maxEmpty = max(maxEmpty, i - ls)
                    continue
                }
                if i >= b.count { break }
                let indent = i - ls
                // At least one space, as libyaml requires even at the top level.
                if indent > parent && indent >= 1 {
                    if maxEmpty > indent { throw fail("an empty line of a block scalar is indented more than its first line", at: ls) }
                    contentIndent = indent
                }
                break
            }
        }
        let indent = contentIndent ?? Int.max
        var out: [UInt8] = []
        var emptyLines = 0
        var didReadContent = false
        var atMoreIndented = false
        var end = p
        var i = p
        while i < b.count {
            i += 1  // past "\n"
            let ls = i
            while i < b.count, b[i] == space, i - ls < indent { i += 1 }
            // The end of the text: a last line without a line break adds nothing.
            if i >= b.count { break }
            // libyaml refuses a tab before the indentation is complete, even on a line that would
            // end the scalar.
            if b[i] == tab, i - ls < indent { throw fail("a tab where a block scalar's indentation space is expected", at: i) }
            if b[i] == newline {
                emptyLines += 1
                end = i
                continue
            }
            // A line indented less, with content, ends the scalar (a document marker at column 0
            // among them: the content is indented at least one space).
            if i - ls < indent { break }
            // A content line: everything after the indentation.
            var e = i
            while e < b.count, b[e] != newline { e += 1 }
            let moreIndented = i < e && (b[i] == space || b[i] == tab)
            if literal {
                out.append(contentsOf: repeatElement(newline, count: didReadContent ? 1 + emptyLines : emptyLines))
            } else if moreIndented {
                atMoreIndented = true
                out.append(contentsOf: repeatElement(newline, count: didReadContent ? 1 + emptyLines : emptyLines))
            } else if atMoreIndented {
                atMoreIndented = false
                out.append(contentsOf: repeatElement(newline, count: emptyLines + 1))
            } else if emptyLines == 0 {
                if didReadContent { out.append(space) }
            } else {
                out.append(contentsOf: repeatElement(newline, count: emptyLines))
            }
            out.append(contentsOf: b[i..<e])
            didReadContent = true
            emptyLines = 0
            i = e
            end = e
        }
        switch chomp {
        case UInt8(ascii: "+"): out.append(contentsOf: repeatElement(newline, count: didReadContent ? 1 + emptyLines : emptyLines))
        case nil: if didReadContent { out.append(newline) }
        default: break
        }
        // Leave p at the end of the last line that belongs to the scalar.
        p = min(end, b.count)
        while p < b.count, b[p] != newline { p += 1 }
        return node(.scalar(String(decoding: out, as: UTF8.self), plain: false), at: start)
    }

    // MARK: - Flow collections

    /// Skips white space, line breaks and comments inside a flow collection.
    mutating func skipFlowSpace() {
        while p < b.count {
            let c = b[p]
            if c == space || c == tab || c == newline {
                p += 1
                continue
            }
            if c == hash && (p == 0 || b[p - 1] == space || b[p - 1] == tab || b[p - 1] == newline) {
                while p < b.count, b[p] != newline { p += 1 }
                continue
            }
            break
        }
    }

    mutating func flowCollection() throws(YAMLSyntaxError) -> YAMLNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("nested more than \(Self.maxDepth) levels deep") }
        let start = p
        let isSequence = b[p] == UInt8(ascii: "[")
        let close = isSequence ? UInt8(ascii: "]") : UInt8(ascii: "}")
        let name = isSequence ? "flow list ('[')" : "flow mapping ('{')"
        p += 1
        var items: [YAMLNode] = []
        var pairs: [(key: YAMLNode, value: YAMLNode)] = []
        while true {
            skipFlowSpace()
            guard p < b.count else { throw fail("unterminated \(name) that starts at \(mark(start).line):\(mark(start).column)") }
            if b[p] == close {
                p += 1
                break
            }
            if b[p] == UInt8(ascii: ",") { throw fail("an empty entry in a \(name)") }
            let entry = try flowNode(in: name)
            skipFlowSpace()
            if isSequence {
                if byte(p) == colon { throw fail("a 'key: value' pair inside a flow list is not supported (write it as {key: value})") }
                items.append(entry)
            } else {
                guard case .scalar = entry.value else {
                    throw fail("complex mapping keys (a flow collection as a key) are not supported", at: start)
                }
                var value = node(.scalar("", plain: true), at: p)
                if byte(p) == colon {
                    if lineIndex(p) != entry.line - 1 { throw fail("the ':' after a key must be on the key's line") }
                    p += 1
                    skipFlowSpace()
                    guard p < b.count else { throw fail("unterminated \(name) that starts at \(mark(start).line):\(mark(start).column)") }
                    if b[p] != UInt8(ascii: ",") && b[p] != close {
                        value = try flowNode(in: name)
                        skipFlowSpace()
                    }
                }
                pairs.append((entry, value))
            }
            guard p < b.count else { throw fail("unterminated \(name) that starts at \(mark(start).line):\(mark(start).column)") }
            if b[p] == UInt8(ascii: ",") {
                p += 1
                continue
            }
            if b[p] == close {
                p += 1
                break
            }
            throw fail("expected ',' or '\(Character(Unicode.Scalar(close)))' in a \(name)")
        }
        return node(isSequence ? .sequence(items) : .mapping(pairs), at: start)
    }

    mutating func flowNode(in name: String) throws(YAMLSyntaxError) -> YAMLNode {
        let c = b[p]
        switch c {
        case UInt8(ascii: "["), UInt8(ascii: "{"): return try flowCollection()
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return try quoted(parent: -1)
        case UInt8(ascii: "|"), UInt8(ascii: ">"):
            throw fail("a block scalar ('\(Character(Unicode.Scalar(c)))') cannot be inside a \(name)")
        case UInt8(ascii: "]"), UInt8(ascii: "}"): throw fail("'\(Character(Unicode.Scalar(c)))' does not close this \(name)")
        case UInt8(ascii: "?") where isBlank(p + 1): throw fail("complex mapping keys ('? ') are not supported")
        case dash where isBlank(p + 1): throw fail("a block list entry ('- ') cannot be inside a \(name)")
        case hash: throw fail("'#' cannot start a plain scalar (a comment needs a space before it)")
        case colon: throw fail("a plain scalar in a flow collection cannot start with ':'")
        default:
            try refuseIndicator(c)
            let start = p
            let scalar = try flowPlain()
            if p == start { throw fail("expected a value in a \(name)") }
            return scalar
        }
    }

    /// Whether a plain scalar in a flow collection ends at `i`: at `,`, `[`, `]`, `{`, `}`, or
    /// a ':' followed by a blank. A ':' followed by one of those is refused, as libyaml refuses
    /// it (`{a:[b]}` is not `{a: [b]}`).
    func endsFlowPlain(_ i: Int) throws(YAMLSyntaxError) -> Bool {
        if b[i] == colon, i + 1 < b.count, isFlowIndicator(b[i + 1]) || b[i + 1] == UInt8(ascii: "?") {
            throw fail("a ':' in a flow collection must be followed by a space", at: i)
        }
        return isFlowIndicator(b[i]) || (b[i] == colon && isBlank(i + 1))
    }

    /// A plain scalar inside a flow collection: up to where `endsFlowPlain` says, or a comment;
    /// folded over line breaks.
    mutating func flowPlain() throws(YAMLSyntaxError) -> YAMLNode {
        let start = p
        var out: [UInt8] = []
        while p < b.count, !(try endsFlowPlain(p)) {
            let c = b[p]
            guard c == space || c == tab || c == newline else {
                out.append(c)
                p += 1
                continue
            }
            // White space inside the scalar is kept, at its end dropped; line breaks fold.
            var j = p
            var breaks = 0
            while j < b.count, b[j] == space || b[j] == tab || b[j] == newline {
                if b[j] == newline { breaks += 1 }
                j += 1
            }
            if j >= b.count || b[j] == hash { break }
            if try endsFlowPlain(j) { break }
            if breaks == 0 {
                out.append(contentsOf: b[p..<j])
            } else if breaks == 1 {
                out.append(space)
            } else {
                out.append(contentsOf: repeatElement(newline, count: breaks - 1))
            }
            p = j
        }
        return node(.scalar(String(decoding: out, as: UTF8.self), plain: true), at: start)
    }
}
