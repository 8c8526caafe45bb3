public import WardenFormats

/// What the facts say instead of a canary's path (SECURITY.md, "Canaries"): `canary:` and
/// the hex HMAC-SHA256 of the path under a key that only the host's state directory holds. RAND
/// asks that most employees neither know nor can review where the honeypots are (SL3, pp. 84–85),
/// and findings are shared with reviewers and whole fleets; the digest still lets two runs on
/// one host be compared, and only the operator's terminal maps it back (`reveal`).
///
/// The core receives the MAC as a function, as it receives the `Digester`: it links no C. In
/// every string of the facts (values, object keys, reasons, the read log), each canary's whole
/// path becomes its digest, wherever it occurs; then each canary's file name becomes the same
/// digest wherever it stands as a word of its own (not inside a longer name: `.canary.bak` stays),
/// so a relative path or a message naming only the file does not give it away either.
public struct CanaryRedaction: Sendable {
    public struct Canary: Sendable, Hashable {
        public let path: String
        /// `canary:` and 64 hex digits.
        public let digest: String
    }

    public static let prefix = "canary:"
    private static let prefixBytes = Array(prefix.utf8)

    /// The site's canaries in its order, each with its digest.
    public let canaries: [Canary]
    private let paths: [Pattern]
    private let names: [Pattern]
    /// What a text must hold for a redaction to change it: each canary's file name (its path holds
    /// it), or its path when it has no name. Most facts name no canary, and are kept as they are.
    private let needles: [[UInt8]]

    private struct Pattern: Sendable {
        var bytes: [UInt8]
        var digest: [UInt8]
    }

    /// `mac` is HMAC-SHA256 under the host's canary key (`CanaryRedaction(canaries:key:)` in
    /// OpenSSLSigning); a failure is an error, never a clear path.
    public init(canaries paths: [String], mac: ([UInt8]) throws(WardenError) -> [UInt8]) throws(WardenError) {
        var canaries: [Canary] = []
        for path in paths where !canaries.contains(where: { $0.path == path }) {
            canaries.append(Canary(path: path, digest: CanaryRedaction.prefix + Hex.lowercase(try mac(Array(path.utf8)))))
        }
        self.canaries = canaries
        // Longest first, so that a canary whose path (or name) extends another's is replaced whole.
        self.paths = canaries.map { Pattern(bytes: Array($0.path.utf8), digest: Array($0.digest.utf8)) }
            .sorted { $0.bytes.count > $1.bytes.count }
        // A name shared by several canaries stands for the first of them in the site file.
        var names: [Pattern] = []
        for canary in canaries {
            let name = Array((canary.path.split(separator: "/").last ?? "").utf8)
            if !name.isEmpty, !names.contains(where: { $0.bytes == name }) {
                names.append(Pattern(bytes: name, digest: Array(canary.digest.utf8)))
            }
        }
        self.names = names.sorted { $0.bytes.count > $1.bytes.count }
        self.needles = canaries.map { canary in
            let name = canary.path.split(separator: "/").last ?? ""
            return Array((name.isEmpty ? Substring(canary.path) : name).utf8)
        }
    }

    public var isEmpty: Bool { canaries.isEmpty }

    /// Every fact, the read log's paths and what it says of each read, with canaries replaced.
    public func redact(_ facts: FactSet) -> FactSet {
        guard !isEmpty else { return facts }
        var out = FactSet(mode: facts.mode)
        for (name, fact) in facts.facts {
            switch fact {
            case .value(let v): out[name] = .value(redact(v))
            case .unavailable(let u): out[name] = .unavailable(Unavailable(u.kind, redact(u.reason)))
            }
        }
        for (path, digest) in facts.files { out.files[redact(path)] = redact(digest) }
        return out
    }

    /// Every string and object key of `json`, redacted.
    public func redact(_ json: JSON) -> JSON {
        mentions(json) ? rebuilt(json) : json
    }

    private func rebuilt(_ json: JSON) -> JSON {
        switch json {
        case .string(let s): return .string(redact(s))
        case .array(let a): return .array(a.map { rebuilt($0) })
        case .object(let o):
            var out = JSONObject()
            for (key, value) in o { out[redact(key)] = rebuilt(value) }
            return .object(out)
        default: return json
        }
    }

    /// Whether any string or key of `json` holds a needle (when none does, nothing is replaced).
    private func mentions(_ json: JSON) -> Bool {
        switch json {
        case .string(let s): return mentions(s)
        case .array(let a): return a.contains { mentions($0) }
        case .object(let o): return o.contains { mentions($0.key) || mentions($0.value) }
        default: return false
        }
    }

    private func mentions(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { input in
            needles.contains { needle in
                guard let first = needle.first, input.count >= needle.count else { return false }
                var i = 0
                while i <= input.count - needle.count {
                    if input[i] == first, needle.indices.allSatisfy({ input[i + $0] == needle[$0] }) { return true }
                    i += 1
                }
                return false
            }
        }
    }

    /// `text` with every canary path, and every canary file name standing alone, replaced by
    /// its digest. Digests already there are left as they are, so redacting twice changes nothing.
    public func redact(_ text: String) -> String {
        guard mentions(text) else { return text }
        // A digest put after the text before it can complete another canary's name or path
        // ("." and "canary:…" read ".canary:…"), so the result is redacted again until nothing
        // changes (each pass consumes text before a digest; eight passes bound it).
        var current = text
        for _ in 0..<8 {
            let next = redactOnce(current)
            if next == current { break }
            current = next
        }
        return current
    }

    private func redactOnce(_ text: String) -> String {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        var copied = 0
        var i = 0
        func replace(_ length: Int, with digest: [UInt8]) {
            out.append(contentsOf: input[copied..<i])
            out.append(contentsOf: digest)
            i += length
            copied = i
        }
        scan: while i < input.count {
            if let length = CanaryRedaction.digestLength(input, at: i) {
                i += length
                continue
            }
            for p in paths where CanaryRedaction.matches(p.bytes, input, at: i) {
                replace(p.bytes.count, with: p.digest)
                continue scan
            }
            if i == 0 || !CanaryRedaction.isNameByte(input[i - 1]) {
                for n in names where CanaryRedaction.matches(n.bytes, input, at: i) {
                    let end = i + n.bytes.count
                    guard end == input.count || !CanaryRedaction.isNameByte(input[end]) else { continue }
                    replace(n.bytes.count, with: n.digest)
                    continue scan
                }
            }
            i += 1
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: input[copied...])
        return String(decoding: out, as: UTF8.self)
    }

    /// For the operator's terminal only: each digest of these canaries followed by its path,
    /// shortened (`canary:1a2b3c4d… (/srv/weights/.canary)`). Digests of other keys stay as they are.
    public func reveal(_ text: String) -> String {
        guard !isEmpty else { return text }
        let input = Array(text.utf8)
        var out: [UInt8] = []
        var copied = 0
        var i = 0
        while i < input.count {
            guard let length = CanaryRedaction.digestLength(input, at: i),
                let canary = canaries.first(where: { CanaryRedaction.matches(Array($0.digest.utf8), input, at: i) })
            else {
                i += 1
                continue
            }
            out.append(contentsOf: input[copied..<i])
            out.append(contentsOf: Array("\(canary.digest.prefix(CanaryRedaction.prefix.count + 8))… (\(canary.path))".utf8))
            i += length
            copied = i
        }
        guard copied > 0 else { return text }
        out.append(contentsOf: input[copied...])
        return String(decoding: out, as: UTF8.self)
    }

    /// The length of a digest (`canary:` and 64 lower-case hex digits) starting at `i`, if one does.
    private static func digestLength(_ input: [UInt8], at i: Int) -> Int? {
        let length = prefixBytes.count + 64
        guard input[i] == prefixBytes[0], i + length <= input.count, matches(prefixBytes, input, at: i) else { return nil }
        for b in input[(i + prefixBytes.count)..<(i + length)] where !(b >= 0x30 && b <= 0x39) && !(b >= 0x61 && b <= 0x66) {
            return nil
        }
        return length
    }

    private static func matches(_ pattern: [UInt8], _ input: [UInt8], at i: Int) -> Bool {
        guard i + pattern.count <= input.count else { return false }
        for j in pattern.indices where input[i + j] != pattern[j] { return false }
        return true
    }

    /// Bytes that would continue a file name in running text: letters, digits, `.`, `_`, `-`,
    /// and anything beyond ASCII.
    private static func isNameByte(_ b: UInt8) -> Bool {
        b >= 0x80 || (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
            || b == 0x2D
    }
}
