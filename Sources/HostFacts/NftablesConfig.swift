internal import WardenFormats

/// The ruleset `nft -f /etc/nftables.conf` would load (nftables 1.0.6, Debian 12), as far as
/// egress and SSH access need it: tables, base chains with their type, hook and policy, and each
/// chain's rules as words with their file and line (docs/DAEMON-SEMANTICS.md, "nftables").
///
/// Like nft's scanner, `include "PATH"` is replaced by the files it names wherever it stands
/// (globs expanded in sorted order, directories skipped, no match is no error; a missing plain
/// file is an error); `./` and `../` paths are relative to the working directory, which is `/`
/// for nftables.service; any other relative path is looked for in nft's include directory, /etc.
/// Commands apply in order: `flush ruleset`, `delete table`, `flush chain` and the rest change
/// what later lines see, as in the single transaction nft builds.
struct NftablesConfig {
    static let mainFile = "/etc/nftables.conf"
    /// nft's MAX_INCLUDE_DEPTH.
    static let maxIncludeDepth = 16
    static let families: Set<String> = ["ip", "ip6", "inet", "arp", "bridge", "netdev"]

    struct Failure: Error, CustomStringConvertible {
        var place: String
        var message: String
        var description: String { "\(place): \(message)" }
    }

    enum Kind: Equatable { case word, string, open, close, end }

    struct Token {
        var kind: Kind
        var text: String
        var source: String
        /// Where the token is: its file's index in `files` and its bytes there.
        var file: Int
        var bytes: Range<Int>
    }

    struct Rule {
        var words: [String]
        var source: String
        /// The rule as the file has it (its lines joined by a space), for evidence: `words` are
        /// what the checks read, not what a reviewer finds in the file.
        var written: String
    }

    struct Chain {
        var family: String
        var table: String
        var name: String
        var source: String
        var type: String?
        var hook: String?
        var policy: String?
        var policySource: String?
        var rules: [Rule] = []
    }

    struct Table {
        var family: String
        var name: String
        var dormant = false
        var chains: [String: Chain] = [:]
        var order: [String] = []
    }

    var files: [String] = []
    /// The bytes of each of `files`, for quoting rules as written.
    var texts: [[UInt8]] = []
    var tables: [String: Table] = [:]
    var tableOrder: [String] = []

    // MARK: - Reading

    static func load(_ root: HostRoot) throws(Failure) -> NftablesConfig {
        var config = NftablesConfig()
        var tokens: [Token] = []
        try config.lex(file: mainFile, root: root, depth: 0, into: &tokens)
        var parser = Parser(tokens: tokens)
        try parser.run(&config)
        return config
    }

    mutating func lex(file: String, root: HostRoot, depth: Int, into out: inout [Token]) throws(Failure) {
        let text: String
        do { text = try root.readText(file) } catch { throw Failure(place: file, message: error.message) }
        files.append(file)
        let bytes = Array(text.utf8)
        texts.append(bytes)
        let index = files.count - 1
        var line = 1
        var i = 0
        func here() -> String { "\(file):\(line)" }
        func token(_ kind: Kind, _ text: String, _ range: Range<Int>) -> Token {
            Token(kind: kind, text: text, source: here(), file: index, bytes: range)
        }
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\n"):
                out.append(token(.end, "\n", i..<i + 1))
                line += 1
                i += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: ","):
                i += 1
            case UInt8(ascii: "\\") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                line += 1
                i += 2
            case UInt8(ascii: "#"):
                while i < bytes.count && bytes[i] != UInt8(ascii: "\n") { i += 1 }
            case UInt8(ascii: ";"):
                out.append(token(.end, ";", i..<i + 1))
                i += 1
            case UInt8(ascii: "{"):
                out.append(token(.open, "{", i..<i + 1))
                i += 1
            case UInt8(ascii: "}"):
                out.append(token(.close, "}", i..<i + 1))
                i += 1
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") && bytes[j] != UInt8(ascii: "\n") { j += 1 }
                guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else {
                    throw Failure(place: here(), message: "unterminated string")
                }
                let value = String(decoding: bytes[(i + 1)..<j], as: UTF8.self)
                let range = i..<j + 1
                i = j + 1
                // `include "PATH"`: the scanner reads the named files in its place.
                if out.last?.kind == .word, out.last?.text == "include",
                    out.count < 2 || [.end, .open, .close].contains(out[out.count - 2].kind)
                {
                    let at = out.removeLast().source
                    try include(value, at: at, root: root, depth: depth, into: &out)
                } else {
                    out.append(token(.string, "\"" + value + "\"", range))
                }
            default:
                var j = i
                while j < bytes.count, !" \t\r\n,;{}\"#".utf8.contains(bytes[j]) { j += 1 }
                out.append(token(.word, String(decoding: bytes[i..<j], as: UTF8.self), i..<j))
                i = j
            }
        }
        out.append(token(.end, "\n", bytes.count..<bytes.count))
    }

    mutating func include(_ name: String, at place: String, root: HostRoot, depth: Int, into out: inout [Token]) throws(Failure) {
        guard depth + 1 <= NftablesConfig.maxIncludeDepth else {
            throw Failure(place: place, message: "include \"\(name)\": includes nested deeper than \(NftablesConfig.maxIncludeDepth)")
        }
        let path: String
        if name.hasPrefix("/") {
            path = name
        } else if name.hasPrefix("./") || name.hasPrefix("../") {
            // Relative to nftables.service's working directory, /, whose parent is itself.
            var rest = Substring(name)
            while rest.hasPrefix("./") || rest.hasPrefix("../") { rest = rest.drop { $0 == "." }.dropFirst() }
            path = "/" + rest
        } else {
            path = "/etc/" + name
        }
        let wild = path.contains { "*?[".contains($0) }
        if !wild {
            guard root.mayExist(path) else {
                throw Failure(place: place, message: "Could not process include: File '\(name)' not found (looked for \(path))")
            }
            try lex(file: path, root: root, depth: depth + 1, into: &out)
            return
        }
        let matches: [String]
        do { matches = try root.glob(path).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } } catch {
            throw Failure(place: place, message: "include \"\(name)\": \(error.message)")
        }
        for match in matches where !root.isDirectory(match) {
            try lex(file: match, root: root, depth: depth + 1, into: &out)
        }
    }

    // MARK: - What the checks ask

    /// The base chains of `type filter` on `hook` that filter IP traffic (ip, ip6, inet) in
    /// tables that are not dormant, in the order they were declared.
    func baseChains(hook: String) -> [Chain] {
        var out: [Chain] = []
        for key in tableOrder {
            guard let table = tables[key], !table.dormant, ["ip", "ip6", "inet"].contains(table.family) else { continue }
            for name in table.order {
                if let chain = table.chains[name], chain.type == "filter", chain.hook == hook { out.append(chain) }
            }
        }
        return out
    }

    func chain(_ family: String, _ table: String, _ name: String) -> Chain? { tables[family + " " + table]?.chains[name] }

    /// Whether a chain drops what no rule accepted: `policy drop`, or a last rule that drops or
    /// rejects whatever reaches it. Names the rule or policy that does, or says why not.
    static func defaultDeny(_ chain: Chain) -> (deny: Bool, because: String) {
        if chain.policy == "drop" { return (true, "policy drop at \(chain.policySource ?? chain.source)") }
        if let last = chain.rules.last, unconditionalDrop(last.words) { return (true, "\(last.source): \(last.written)") }
        let policy = chain.policy.map { "policy \($0) at \(chain.policySource ?? chain.source)" } ?? "no policy (accept)"
        return (false, "\(policy), and the last rule does not drop everything")
    }

    /// A rule that matches every packet and drops or rejects it: only `counter`, `log` and
    /// their arguments before the verdict, an optional `comment` after.
    static func unconditionalDrop(_ words: [String]) -> Bool {
        var words = words
        if words.count >= 2, words[words.count - 2] == "comment" { words.removeLast(2) }
        guard let verdict = words.firstIndex(where: { $0 == "drop" || $0 == "reject" }) else { return false }
        if words[verdict] == "drop" && verdict != words.count - 1 { return false }
        if words[verdict] == "reject" && verdict != words.count - 1 && words[verdict + 1] != "with" { return false }
        var i = 0
        while i < verdict {
            switch words[i] {
            case "counter", "log": i += 1
            case "packets", "bytes", "prefix", "level", "group", "snaplen", "queue-threshold", "flags": i += 2
            default: return false
            }
        }
        return i == verdict
    }

    func outputItem(_ chain: Chain) -> JSON {
        let (deny, because) = NftablesConfig.defaultDeny(chain)
        let allow = chain.rules.filter { $0.words.contains("accept") || $0.words.contains("jump") || $0.words.contains("goto") }
        return [
            "name": .string("\(chain.family) \(chain.table) \(chain.name)"), "family": .string(chain.family), "table": .string(chain.table),
            "chain": .string(chain.name),
            "source": .string(chain.source), "policy": .string(chain.policy ?? "accept"),
            "policy_source": .string(chain.policySource ?? "nft's default (no policy statement)"),
            "ends_with": .string(because), "default_deny": .bool(deny),
            "allowlist": .array(allow.map { .string("\($0.source): \($0.written)") }),
        ]
    }

    /// Whether the input chains admit SSH (`ports`, sshd's Port) only from internal sources:
    /// IPv4 and IPv6 both covered by input chains that drop by default, and no rule in them (or
    /// in the chains they jump to) accepting SSH without a `saddr` match on internal addresses.
    func sshBySource(ports: [String]) -> JSONObject {
        let inputs = baseChains(hook: "input")
        func result(_ restricted: Bool, _ reason: String, _ source: String) -> JSONObject {
            ["restricted": ["value": .bool(restricted), "source": .string(source)], "reason": .string(reason)]
        }
        guard !inputs.isEmpty else { return result(false, "no input-hook filter chain", NftablesConfig.mainFile) }
        if !inputs.contains(where: { $0.family != "ip6" }) {
            return result(false, "no input chain sees IPv4 (only ip6 tables)", inputs[0].source)
        }
        if !inputs.contains(where: { $0.family != "ip" }) {
            return result(false, "no input chain sees IPv6 (only ip tables)", inputs[0].source)
        }
        var sources: [String] = []
        for chain in inputs {
            let (deny, because) = NftablesConfig.defaultDeny(chain)
            guard deny else { return result(false, "input chain \(chain.family) \(chain.table) \(chain.name): \(because)", chain.source) }
            if let open = opening(chain, ports: ports, depth: 0) {
                return result(false, "\(open.source): \(open.written) admits SSH from any source", open.source)
            }
            sources.append(chain.source)
        }
        return result(
            true, "every input chain drops by default and admits SSH only from internal saddr matches",
            sources.joined(separator: ", "))
    }

    /// The first rule of `chain` (or of a chain it jumps to) that may accept SSH from a source
    /// that is not internal.
    func opening(_ chain: Chain, ports: [String], depth: Int) -> Rule? {
        for rule in chain.rules {
            let w = rule.words
            let target = w.firstIndex { $0 == "jump" || $0 == "goto" }.flatMap { $0 + 1 < w.count ? w[$0 + 1] : nil }
            guard w.contains("accept") || target != nil else { continue }
            guard NftablesConfig.mayAdmitSSH(w, ports: ports) else { continue }
            if let target {
                guard depth < NftablesConfig.maxIncludeDepth, let next = self.chain(chain.family, chain.table, target) else { return rule }
                if let inner = opening(next, ports: ports, depth: depth + 1) { return inner }
                continue
            }
            return rule
        }
        return nil
    }

    /// Whether a rule's matches let a TCP connection to an SSH port from any non-internal
    /// source through. Conservative: what is not understood admits.
    static func mayAdmitSSH(_ w: [String], ports: [String]) -> Bool {
        if let s = w.firstIndex(of: "saddr") {
            let values = operand(w, after: s)
            if !values.isEmpty && values.allSatisfy({ InternalAddress.isInternal($0) }) { return false }
        }
        for (i, word) in w.enumerated() where word == "iif" || word == "iifname" {
            if i + 1 < w.count, w[i + 1] == "lo" || w[i + 1] == "\"lo\"" { return false }
        }
        if let state = w.firstIndex(of: "state"), state > 0, w[state - 1] == "ct" {
            let values = operand(w, after: state)
            if !values.isEmpty && values.allSatisfy({ $0 == "established" || $0 == "related" }) { return false }
        }
        let otherProtocols: Set<String> = ["udp", "icmp", "icmpv6", "ipv6-icmp", "igmp", "sctp", "esp", "ah", "udplite", "dccp", "gre"]
        if w.contains(where: { otherProtocols.contains($0) }) { return false }
        if let d = w.firstIndex(of: "dport") {
            let values = operand(w, after: d)
            guard !values.isEmpty else { return true }
            let wanted = Set(ports.compactMap { Int($0) })
            return values.contains { value in
                if value == "ssh" { return wanted.contains(22) }
                let ends = value.split(separator: "-").map { Int($0) }
                if ends.count == 2, let low = ends[0], let high = ends[1] { return wanted.contains { low <= $0 && $0 <= high } }
                guard let n = Int(value) else { return true }
                return wanted.contains(n)
            }
        }
        return true
    }

    /// The values a match compares with: the next word, or the words of the `{ … }` set that
    /// follows. A negation (`!=`) or a named set (`@name`) gives no values: not understood.
    static func operand(_ w: [String], after index: Int) -> [String] {
        var i = index + 1
        if i < w.count, w[i] == "==" { i += 1 }
        guard i < w.count, w[i] != "!=", !w[i].hasPrefix("@") else { return [] }
        if w[i] != "{" { return [w[i]] }
        var out: [String] = []
        i += 1
        while i < w.count, w[i] != "}" {
            if w[i].hasPrefix("@") { return [] }
            out.append(w[i])
            i += 1
        }
        return out
    }
}

// MARK: - Commands

extension NftablesConfig {
    /// Walks the token stream as nft's grammar would, keeping what the checks need and
    /// skipping (with balanced braces) what they do not: sets, maps, flowtables, objects.
    struct Parser {
        var tokens: [Token]
        var i = 0

        var atEnd: Bool { i >= tokens.count }
        var current: Token? { atEnd ? nil : tokens[i] }
        var place: String { current?.source ?? tokens.last?.source ?? NftablesConfig.mainFile }

        func failure(_ message: String) -> Failure { Failure(place: place, message: message) }

        mutating func word() -> String? {
            guard let t = current, t.kind == .word || t.kind == .string else { return nil }
            i += 1
            return t.text
        }

        /// The words of one statement (up to `;`, a line end or a `}` at depth 0), braces
        /// kept; line ends inside braces do not end it.
        mutating func statement() throws(Failure) -> [String] {
            var out: [String] = []
            var depth = 0
            while let t = current {
                switch t.kind {
                case .end where depth == 0: return out
                case .end: break
                case .close where depth == 0: return out
                case .open:
                    depth += 1
                    out.append("{")
                case .close:
                    depth -= 1
                    out.append("}")
                case .word, .string: out.append(t.text)
                }
                i += 1
            }
            if depth != 0 { throw failure("unbalanced braces") }
            return out
        }

        /// The tokens from `first` up to the current one as the file has them: what separates
        /// two on one line is kept (`22, 443`); a line's end, with a comment or a `\` before it,
        /// becomes one space.
        func written(from first: Int, _ config: NftablesConfig) -> String {
            let span = tokens[first..<i].filter { $0.kind != .end }
            func text(_ t: Token) -> String { String(decoding: config.texts[t.file][t.bytes], as: UTF8.self) }
            guard let head = span.first else { return "" }
            var out = text(head)
            for (a, b) in zip(span, span.dropFirst()) {
                let gap = a.file == b.file ? config.texts[a.file][a.bytes.upperBound..<b.bytes.lowerBound] : [0x0A]
                if let end = gap.firstIndex(where: { $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\\") }) {
                    out += String(decoding: gap[..<end], as: UTF8.self).trimmed + " "
                } else {
                    out += String(decoding: gap, as: UTF8.self)
                }
                out += text(b)
            }
            return out
        }

        mutating func skipEnds() {
            while let t = current, t.kind == .end { i += 1 }
        }

        /// `[family] name`: nft's default family is ip.
        mutating func tableRef() throws(Failure) -> (family: String, name: String) {
            guard let first = word() else { throw failure("a table name was expected") }
            if NftablesConfig.families.contains(first), let t = current, t.kind == .word || t.kind == .string {
                return (first, word() ?? first)
            }
            return ("ip", first)
        }

        mutating func run(_ config: inout NftablesConfig) throws(Failure) {
            while true {
                skipEnds()
                guard let t = current else { return }
                if t.kind == .close { throw failure("unexpected '}'") }
                let start = t.source
                var verb = word() ?? ""
                if ["add", "create", "insert", "replace"].contains(verb), let t = current, t.kind == .word {
                    let object = t.text
                    if object == "table" || object == "chain" || object == "rule" {
                        i += 1
                        try command(object, insert: verb == "insert", source: start, &config)
                        continue
                    }
                }
                switch verb {
                case "table", "chain", "rule":
                    try command(verb, insert: false, source: start, &config)
                case "flush":
                    verb = word() ?? ""
                    if verb == "ruleset" {
                        let rest = try statement()
                        if let family = rest.first {
                            config.tableOrder.removeAll { $0.hasPrefix(family + " ") }
                            config.tables = config.tables.filter { $0.value.family != family }
                        } else {
                            config.tables = [:]
                            config.tableOrder = []
                        }
                    } else if verb == "table" {
                        let (family, name) = try tableRef()
                        if var table = config.tables[family + " " + name] {
                            for key in table.chains.keys { table.chains[key]?.rules = [] }
                            config.tables[family + " " + name] = table
                        }
                        _ = try statement()
                    } else if verb == "chain" {
                        let (family, name) = try tableRef()
                        if let chain = word() { config.tables[family + " " + name]?.chains[chain]?.rules = [] }
                        _ = try statement()
                    } else {
                        _ = try statement()
                    }
                case "delete", "destroy":
                    verb = word() ?? ""
                    if verb == "table" {
                        let (family, name) = try tableRef()
                        config.tables[family + " " + name] = nil
                        config.tableOrder.removeAll { $0 == family + " " + name }
                    } else if verb == "chain" {
                        let (family, name) = try tableRef()
                        if let chain = word() {
                            config.tables[family + " " + name]?.chains[chain] = nil
                            config.tables[family + " " + name]?.order.removeAll { $0 == chain }
                        }
                    }
                    _ = try statement()
                default:
                    // define, list, add set/element/map…: nothing the checks read.
                    _ = try statement()
                }
                if let t = current, t.kind == .close { throw failure("unexpected '}'") }
            }
        }

        mutating func ensureTable(_ family: String, _ name: String, _ config: inout NftablesConfig) -> String {
            let key = family + " " + name
            if config.tables[key] == nil {
                config.tables[key] = Table(family: family, name: name)
                config.tableOrder.append(key)
            }
            return key
        }

        mutating func ensureChain(_ key: String, _ name: String, source: String, _ config: inout NftablesConfig) {
            guard let table = config.tables[key], table.chains[name] == nil else { return }
            config.tables[key]?.chains[name] = Chain(family: table.family, table: table.name, name: name, source: source)
            config.tables[key]?.order.append(name)
        }

        mutating func command(_ object: String, insert: Bool, source: String, _ config: inout NftablesConfig) throws(Failure) {
            let (family, tableName) = try tableRef()
            guard NftablesConfig.families.contains(family) else { throw failure("unknown family '\(family)'") }
            switch object {
            case "table":
                let key = ensureTable(family, tableName, &config)
                if current?.kind == .open {
                    i += 1
                    try tableBody(key, &config)
                }
            case "chain":
                guard let name = word() else { throw failure("a chain name was expected") }
                guard config.tables[family + " " + tableName] != nil else {
                    throw Failure(place: source, message: "chain \(name): table \(family) \(tableName) does not exist")
                }
                let key = family + " " + tableName
                ensureChain(key, name, source: source, &config)
                if current?.kind == .open {
                    i += 1
                    try chainBody(key, name, &config)
                }
            default:
                guard let name = word() else { throw failure("a chain name was expected") }
                guard config.tables[family + " " + tableName]?.chains[name] != nil else {
                    throw Failure(place: source, message: "rule: chain \(family) \(tableName) \(name) does not exist")
                }
                let first = i
                var words = try statement()
                if words.count >= 2, ["position", "handle", "index"].contains(words[0]) { words.removeFirst(2) }
                let rule = Rule(words: words, source: source, written: written(from: first, config))
                if insert {
                    config.tables[family + " " + tableName]?.chains[name]?.rules.insert(rule, at: 0)
                } else {
                    config.tables[family + " " + tableName]?.chains[name]?.rules.append(rule)
                }
            }
            _ = try statement()
        }

        mutating func tableBody(_ key: String, _ config: inout NftablesConfig) throws(Failure) {
            while true {
                skipEnds()
                guard let t = current else { throw failure("table \(key) is not closed") }
                if t.kind == .close {
                    i += 1
                    return
                }
                let start = t.source
                let head = word()
                if head == "chain" {
                    guard let name = word() else { throw failure("a chain name was expected") }
                    ensureChain(key, name, source: start, &config)
                    guard current?.kind == .open else { throw failure("chain \(name): '{' was expected") }
                    i += 1
                    try chainBody(key, name, &config)
                    // nft's grammar wants a newline or ';' after a chain's '}'.
                    guard current?.kind == .end else { throw failure("syntax error: a newline or ';' was expected after '}'") }
                    continue
                }
                let rest = try statement()
                if head == "flags" && rest.contains("dormant") { config.tables[key]?.dormant = true }
            }
        }

        mutating func chainBody(_ key: String, _ name: String, _ config: inout NftablesConfig) throws(Failure) {
            while true {
                skipEnds()
                guard let t = current else { throw failure("chain \(name) is not closed") }
                if t.kind == .close {
                    i += 1
                    return
                }
                let start = t.source
                let first = i
                let words = try statement()
                guard let head = words.first else { continue }
                switch head {
                case "type":
                    guard words.count >= 4, words[2] == "hook" else {
                        throw Failure(place: start, message: "chain \(name): bad type statement")
                    }
                    config.tables[key]?.chains[name]?.type = words[1]
                    config.tables[key]?.chains[name]?.hook = words[3]
                case "policy":
                    guard words.count >= 2, words[1] == "accept" || words[1] == "drop" else {
                        throw Failure(
                            place: start, message: "chain \(name): policy \(words.dropFirst().joined(separator: " ")) is not accept or drop"
                        )
                    }
                    config.tables[key]?.chains[name]?.policy = words[1]
                    config.tables[key]?.chains[name]?.policySource = start
                case "comment", "devices", "device", "flags": break
                default:
                    let rule = Rule(words: words, source: start, written: written(from: first, config))
                    config.tables[key]?.chains[name]?.rules.append(rule)
                }
            }
        }
    }
}
