public import WardenFormats

/// A path into the facts: `sshd.settings.permitrootlogin` (fact `sshd`, then fields), or, inside a
/// quantifier, `.encrypted` relative to the current list item.
public struct FactPath: Sendable, Hashable, CustomStringConvertible {
    public var relative: Bool
    public var components: [String]

    /// Components are separated by dots; a component that itself contains dots is written in
    /// brackets and quotes: `cmdline.parameters["module.sig_enforce"]`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        relative = bytes.first == UInt8(ascii: ".")
        let dot = UInt8(ascii: ".")
        let quote = UInt8(ascii: "\"")
        let open = UInt8(ascii: "[")
        let close = UInt8(ascii: "]")
        var parts: [String] = []
        var start = relative ? 1 : 0
        var i = start
        while i <= bytes.count {
            if i < bytes.count, bytes[i] == open, i + 1 < bytes.count, bytes[i + 1] == quote {
                if i > start { parts.append(String(decoding: bytes[start..<i], as: UTF8.self)) }
                var end = i + 2
                while end + 1 < bytes.count, !(bytes[end] == quote && bytes[end + 1] == close) { end += 1 }
                guard end + 1 < bytes.count else { return nil }
                parts.append(String(decoding: bytes[(i + 2)..<end], as: UTF8.self))
                i = end + 2
                if i < bytes.count {
                    guard bytes[i] == dot, i + 1 < bytes.count else { return nil }
                    i += 1
                }
                start = i
                if i == bytes.count { break }
                continue
            }
            if i == bytes.count || bytes[i] == dot {
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                start = i + 1
            }
            i += 1
        }
        components = parts
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty }) else { return nil }
    }

    /// The fact this path starts at (nil for item-relative paths).
    public var factName: String? { relative ? nil : components.first }
    public var description: String {
        var out = relative ? "." : ""
        for (i, c) in components.enumerated() {
            if c.contains(".") {
                out += "[\"\(c)\"]"
                continue
            }
            if i > 0 { out += "." }
            out += c
        }
        return out
    }
    /// The last component, as a short label for messages.
    public var label: String { components.last ?? description }
}

/// A comparison in a leaf check. Operands are literals, profile parameters or site values.
public enum Operator: String, Sendable, Hashable, CaseIterable {
    case eq, ne
    case `in`
    case notIn = "not_in"
    case gte, lte, gt, lt
    /// The observed list contains the operand (or, for strings, the substring).
    case contains
    case notContains = "not_contains"
    /// The observed string starts with the operand (`|` for a piped core_pattern).
    case startsWith = "starts_with"
    /// Octal permission bits: observed has no bit outside the operand (`0440`).
    case modeAtMost = "mode_at_most"
    /// Octal permission bits: observed has none of the operand's bits (`0027`).
    case modeLacks = "mode_lacks"
    /// The observed list (or string) is empty / not empty: operand `true` or `false`.
    case empty
    /// The path exists (operand `true`) or does not (`false`).
    case exists
    /// A date or time (RFC 3339, `2027-01-31`) no later than the evaluation time plus the
    /// operand's number of days; an earlier one, past ones included, passes (an account that
    /// has expired can no longer log in).
    case atMostDaysAhead = "at_most_days_ahead"
    /// A date or time no earlier than the evaluation time minus the operand's number of days:
    /// something done at most N days ago (a review); a later one, future ones included, passes.
    case atMostDaysAgo = "at_most_days_ago"

    var phrase: String {
        switch self {
        case .eq: "="
        case .ne: "≠"
        case .in: "one of"
        case .notIn: "none of"
        case .gte: "≥"
        case .lte: "≤"
        case .gt: ">"
        case .lt: "<"
        case .contains: "contains"
        case .notContains: "does not contain"
        case .startsWith: "starts with"
        case .modeAtMost: "at most"
        case .modeLacks: "without the bits"
        case .empty: "empty:"
        case .exists: "exists:"
        case .atMostDaysAhead: "at most N days after the evaluation time:"
        case .atMostDaysAgo: "at most N days before the evaluation time:"
        }
    }
}

public enum Operand: Sendable, Hashable {
    case literal(JSON)
    /// A parameter the profile sets for this control.
    case param(String)
    /// A value from the site file (`weights.owner`); when the site does not set it, `fallback` is
    /// used, or without one the check does not apply (`not_applicable`).
    case site(String, fallback: JSON?)
}

public enum Quantifier: String, Sendable, Hashable, CaseIterable {
    /// Every item satisfies `expect`.
    case every
    /// At least one item does.
    case some
    /// No item does.
    case none
}

/// The check language: small and declarative, after goss and InSpec (fact → property → matcher).
public indirect enum Check: Sendable, Equatable {
    case all([Check], CheckMeta)
    case any([Check], CheckMeta)
    case leaf(FactPath, Operator, Operand, CheckMeta)
    /// Over a list: `filter` selects items (optional), `expect` is checked per item, and `ifEmpty`
    /// says what an empty selection means, with the reason shown to the user.
    case quantified(Quantifier, FactPath, filter: Check?, expect: Check, ifEmpty: EmptyRule, CheckMeta)
    /// `manual` when the site sets `site` (a person must review what the host cannot show, named
    /// in `reason`), `not_applicable` when it does not.
    case manual(reason: String, site: String, CheckMeta)

    var meta: CheckMeta {
        switch self {
        case .all(_, let m), .any(_, let m), .leaf(_, _, _, let m), .quantified(_, _, _, _, _, let m), .manual(_, _, let m): m
        }
    }

    /// Whether a `manual` node is anywhere in this check.
    var yieldsManual: Bool {
        switch self {
        case .all(let children, _), .any(let children, _): children.contains { $0.yieldsManual }
        case .leaf: false
        case .quantified(_, _, let filter, let expect, _, _): (filter?.yieldsManual ?? false) || expect.yieldsManual
        case .manual: true
        }
    }
}

/// Options every check node may carry.
public struct CheckMeta: Sendable, Equatable {
    /// Evaluate this node only when this boolean parameter is true (else `not_applicable`).
    public var when: String?
    /// A human label for evidence and summaries (`"root login over SSH"`).
    public var describe: String?
    /// For a leaf: the status when the path has no value (default `error`). Used where absence
    /// has a meaning, e.g. a kernel parameter not on the command line is simply not set (`fail`).
    public var ifAbsent: Status?
    public var line: Int?

    public init(when: String? = nil, describe: String? = nil, ifAbsent: Status? = nil, line: Int? = nil) {
        self.when = when
        self.describe = describe
        self.ifAbsent = ifAbsent
        self.line = line
    }
}

/// What an empty list means for a quantifier: stated in every control, never implied.
public struct EmptyRule: Sendable, Equatable {
    public var status: Status
    public var reason: String
}

// MARK: - Decoding

extension Check {
    static let metaKeys: Set<String> = ["when", "describe"]
    static let leafKeys: Set<String> = Set(["fact", "if_absent"] + Operator.allCases.map(\.rawValue)).union(metaKeys)
    static let quantifierKeys: Set<String> = Set(Quantifier.allCases.map(\.rawValue) + ["where", "expect", "if_empty", "empty_reason"])
        .union(metaKeys)
    static let manualKeys: Set<String> = Set(["manual", "site"]).union(metaKeys)

    /// Decodes a check node. `knownFacts` catches misspelt fact names; `parameters` catches
    /// references to parameters the control does not declare; `relativeAllowed` is true inside a
    /// quantifier, where `.field` paths refer to the current item.
    static func decode(_ y: YNode, knownFacts: Set<String>, parameters: [String: ParameterSpec], relativeAllowed: Bool) throws(WardenError)
        -> Check
    {
        // The mapping is decoded once; each form then checks its keys on these entries.
        let entries = try y.keyedMapping()
        let keys = entries.map(\.key)
        var meta = CheckMeta(line: y.line)
        for (k, _, v) in entries where metaKeys.contains(k) {
            if k == "describe" { meta.describe = try v.nonEmptyString() }
            if k == "when" {
                let name = try v.string()
                guard let spec = parameters[name] else { throw v.error("unknown parameter '\(name)'") }
                guard spec.type == .bool else { throw v.error("'when' needs a bool parameter; '\(name)' is \(spec.type.rawValue)") }
                meta.when = name
            }
        }
        func sub(_ v: YNode, relative: Bool) throws(WardenError) -> Check {
            try decode(v, knownFacts: knownFacts, parameters: parameters, relativeAllowed: relative)
        }
        func path(_ v: YNode, relative: Bool) throws(WardenError) -> FactPath {
            let text = try v.string()
            guard let p = FactPath(text) else { throw v.error("invalid fact path '\(text)'") }
            if p.relative && !relative {
                throw v.error("'\(text)' is relative to a list item, but this check is not inside every/some/none")
            }
            if let name = p.factName, !knownFacts.contains(name) {
                let hint = closest(to: name, in: knownFacts).map { " (did you mean '\($0)'?)" } ?? ""
                throw v.error("unknown fact '\(name)'\(hint)")
            }
            return p
        }

        if keys.contains("all") || keys.contains("any") {
            let key = keys.contains("all") ? "all" : "any"
            let allowed = metaKeys.union([key])
            for (k, _, v) in entries where !allowed.contains(k) { throw v.error("unexpected key '\(k)' beside '\(key)'") }
            guard let node = entries.first(where: { $0.key == key })?.value else { throw y.error("missing '\(key)'") }
            var children: [Check] = []
            for item in try node.list() { children.append(try sub(item, relative: relativeAllowed)) }
            guard !children.isEmpty else { throw node.error("'\(key)' needs at least one check") }
            return key == "all" ? .all(children, meta) : .any(children, meta)
        }

        if let q = Quantifier.allCases.first(where: { keys.contains($0.rawValue) }) {
            let fields = try y.fields(entries, allowed: quantifierKeys, required: ["expect", "if_empty"])
            let others = Quantifier.allCases.filter { $0 != q && keys.contains($0.rawValue) }
            if let other = others.first {
                throw try fields.required(other.rawValue).error("'\(other.rawValue)' cannot be combined with '\(q.rawValue)'")
            }
            let listPath = try path(try fields.required(q.rawValue), relative: relativeAllowed)
            let filter = try fields["where"].map { (v: YNode) throws(WardenError) -> Check in try sub(v, relative: true) }
            let expect = try sub(try fields.required("expect"), relative: true)
            let emptyNode = try fields.required("if_empty")
            let emptyText = try emptyNode.string()
            guard let status = Status(rawValue: emptyText), [.pass, .fail, .error, .notApplicable].contains(status) else {
                throw emptyNode.error("if_empty must be pass, fail, error or not_applicable, found '\(emptyText)'")
            }
            let reason = try fields["empty_reason"]?.nonEmptyString() ?? "the list \(listPath) is empty"
            return .quantified(q, listPath, filter: filter, expect: expect, ifEmpty: EmptyRule(status: status, reason: reason), meta)
        }

        if keys.contains("manual") {
            let fields = try y.fields(entries, allowed: manualKeys, required: ["manual", "site"])
            let reason = try fields.required("manual").nonEmptyString()
            let siteNode = try fields.required("site")
            let sitePath = try siteNode.string()
            guard Site.knownPaths.contains(sitePath) else {
                throw siteNode.error("unknown site field '\(sitePath)' (known: \(Site.knownPaths.sorted().joined(separator: ", ")))")
            }
            return .manual(reason: reason, site: sitePath, meta)
        }

        guard keys.contains("fact") else {
            throw y.error("a check needs 'fact' with a comparison, 'all', 'any', 'every', 'some', 'none' or 'manual'")
        }
        let fields = try y.fields(entries, allowed: leafKeys)
        let factPath = try path(try fields.required("fact"), relative: relativeAllowed)
        let ops = Operator.allCases.filter { fields[$0.rawValue] != nil }
        guard ops.count == 1, let op = ops.first else {
            throw y.error(
                ops.isEmpty
                    ? "'fact' needs one comparison (\(Operator.allCases.map(\.rawValue).joined(separator: ", ")))"
                    : "only one comparison per check, found \(ops.map(\.rawValue).joined(separator: ", "))")
        }
        if let a = fields["if_absent"] {
            let text = try a.string()
            guard let status = Status(rawValue: text), [.pass, .fail, .error, .notApplicable].contains(status) else {
                throw a.error("if_absent must be pass, fail, error or not_applicable, found '\(text)'")
            }
            meta.ifAbsent = status
        }
        let operandNode = try fields.required(op.rawValue)
        let operand = try decodeOperand(operandNode, parameters: parameters)
        if case .literal(let value) = operand { try validate(op, value, at: operandNode) }
        return .leaf(factPath, op, operand, meta)
    }

    static func decodeOperand(_ y: YNode, parameters: [String: ParameterSpec]) throws(WardenError) -> Operand {
        if y.isMapping {
            let f = try y.fields(allowed: ["param", "site", "default"])
            if let p = f["param"] {
                guard f.count == 1 else { throw y.error("'param' stands alone") }
                let name = try p.string()
                guard parameters[name] != nil else {
                    let hint = closest(to: name, in: parameters.keys).map { " (did you mean '\($0)'?)" } ?? ""
                    throw p.error("unknown parameter '\(name)'\(hint)")
                }
                return .param(name)
            }
            if let s = f["site"] {
                let path = try s.string()
                guard Site.knownPaths.contains(path) else {
                    throw s.error("unknown site field '\(path)' (known: \(Site.knownPaths.sorted().joined(separator: ", ")))")
                }
                return .site(path, fallback: try f["default"]?.json())
            }
            throw y.error("an operand mapping needs 'param' or 'site'")
        }
        return .literal(try y.json())
    }

    static func validate(_ op: Operator, _ value: JSON, at y: YNode) throws(WardenError) {
        switch op {
        case .in, .notIn:
            guard case .array = value else { throw y.error("'\(op.rawValue)' needs a list") }
        case .gte, .lte, .gt, .lt, .atMostDaysAhead, .atMostDaysAgo:
            guard case .int = value else { throw y.error("'\(op.rawValue)' needs an integer") }
        case .modeAtMost, .modeLacks:
            guard let s = value.stringValue, parseMode(s) != nil else {
                throw y.error("'\(op.rawValue)' needs an octal mode like \"0440\"")
            }
        case .empty, .exists:
            guard case .bool = value else { throw y.error("'\(op.rawValue)' needs true or false") }
        default:
            break
        }
    }
}

/// Parses an octal mode string (`"0640"`, `"640"`); nil when it is not octal or too large.
public func parseMode(_ text: String) -> UInt32? {
    guard !text.isEmpty, text.count <= 6, let v = UInt32(text, radix: 8), v <= 0o7777 else { return nil }
    return v
}

/// Formats permission bits as four octal digits.
public func formatMode(_ mode: UInt32) -> String {
    let s = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}
