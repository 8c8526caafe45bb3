public import WardenFormats

/// The contract between probes and controls (issue 16, part 3): every probe declares the facts it
/// produces and their types (`Probe.facts`), and every fact path a check reads must resolve in
/// those declarations, whole, with a type its comparison can work on. A misspelt field or a
/// comparison that can never hold is then a load error with the file and line, not an `error`
/// status on every host.
///
/// The types are deliberately few. Two rules hold for every declaration, and are not repeated in
/// them:
/// - Any value, at any depth (a whole fact, a field, a list item), may instead be a *stated
///   status*: an object with a string `error`, `not_checked` or `not_applicable` (and no
///   `value`), saying why there is no value there (`Context.stated` in Evaluator.swift). Other
///   keys beside it only label it (`path`, `source`, `device`).
/// - A field of an object may be absent: probes leave out what does not apply, and a check reads
///   an absent field as its `if_absent` says. A field that is there has its declared type.
public indirect enum FactType: Sendable, Hashable {
    case bool
    case int
    case string
    /// Octal permission bits as a string (`"0640"`).
    case mode
    /// JSON null: a value that is not set (a sysctl no file sets, a crypttab line without a key).
    case null
    case list(FactType)
    /// Named fields. `others`, when given, is the type of further fields whose names depend on the
    /// host (the keys a configuration file happens to set): a probe may emit them, but a check
    /// may read only the declared fields.
    case object([String: FactType], others: FactType? = nil)
    /// Keys that depend on the host (kernel command line parameters): any key resolves.
    case map(FactType)
    /// A "sourced value", `{"value": V, "source": "file:line"}`: a check compares V, and the
    /// evidence names the source.
    case sourced(FactType)
    /// Any one of these.
    case oneOf([FactType])
    /// Not described further (no check may rely on its shape).
    case any

    /// The type or null.
    public static func optional(_ type: FactType) -> FactType { .oneOf([type, .null]) }
    /// A list of strings.
    public static let strings = FactType.list(.string)

    /// The name inside another type's: a union in parentheses.
    var nestedName: String {
        if case .oneOf = self { return "(\(name))" }
        return name
    }

    /// How docs/FACTS.md and error messages name the type.
    public var name: String {
        switch self {
        case .bool: "bool"
        case .int: "int"
        case .string: "string"
        case .mode: "mode"
        case .null: "null"
        case .list(let t): "list of \(t.nestedName)"
        case .object: "object"
        case .map(let t): "map of \(t.nestedName)"
        case .sourced(let t): "sourced \(t.nestedName)"
        case .oneOf(let ts): ts.map(\.name).joined(separator: " or ")
        case .any: "any"
        }
    }
}

/// A fact path resolved against the declarations.
public struct ResolvedFactPath: Sendable, Hashable {
    /// The type at the end of the path (a sourced value's `.value` is its inner type).
    public var type: FactType
    /// The path as docs/FACTS.md lists it: list items as `[]`, map keys as `<key>`, and a
    /// sourced value's `.value` and `.source` folded into the value itself
    /// (`luks.volumes[].devices[].keyslots[].kdf`, `cmdline.parameters.<key>`).
    public var documented: String
}

/// Why a fact path does not resolve, or a check cannot use what it finds there.
public struct FactPathError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum FactContract {
    // MARK: - Resolving paths

    /// Resolves `components` inside a value of type `type`. `shown` names that value in messages
    /// (`auditd.conf`), `documented` in docs/FACTS.md.
    public static func resolve(_ components: ArraySlice<String>, in type: FactType, shown: String, documented: String) throws(FactPathError)
        -> ResolvedFactPath
    {
        var type = type
        var shown = shown
        var documented = documented
        var rest = components
        while let c = rest.popFirst() {
            let next = shown + display(c)
            switch type {
            case .any:
                return ResolvedFactPath(type: .any, documented: documented + display(c) + rest.map(display).joined())
            case .object(let fields, _):
                guard let t = fields[c] else {
                    let hint =
                        closest(to: c, in: fields.keys).map { " (did you mean \($0)?)" }
                        ?? " (its fields: \(fields.keys.sorted().joined(separator: ", ")))"
                    throw FactPathError("\(next): no such field\(hint)")
                }
                type = t
                documented += display(c)
            case .map(let t):
                type = t
                documented += ".<key>"
            case .sourced(let t):
                switch c {
                case "value": type = t
                case "source": type = .string
                default: throw FactPathError("\(next): \(shown) is a sourced value; only .value and .source follow it")
                }
            case .list(let t):
                guard Int(c) != nil else {
                    throw FactPathError("\(next): \(shown) is a list; its items are read with every, some or none")
                }
                type = t
                documented += "[]"
            case .oneOf(let alternatives):
                // Each alternative that has structure is followed; the path must go on in one.
                var found: [ResolvedFactPath] = []
                var firstError: FactPathError?
                for alternative in alternatives where alternative != .null {
                    do throws(FactPathError) {
                        found.append(try resolve(([c] + Array(rest))[...], in: alternative, shown: shown, documented: documented))
                    } catch {
                        if firstError == nil { firstError = error }
                    }
                }
                guard let first = found.first else {
                    throw firstError ?? FactPathError("\(next): \(shown) is \(type.name); it has no field '\(c)'")
                }
                let types = found.map(\.type)
                return ResolvedFactPath(type: types.count == 1 ? types[0] : .oneOf(types), documented: first.documented)
            case .bool, .int, .string, .mode, .null:
                throw FactPathError("\(next): \(shown) is \(type.name); it has no field '\(c)'")
            }
            shown = next
        }
        return ResolvedFactPath(type: type, documented: documented)
    }

    /// Resolves a path of a check. An absolute path starts at a declared fact; a relative one
    /// (`.encrypted`) at `item`, the item type of the list the enclosing quantifier walks, with
    /// `itemShown` naming that list's items (`luks.volumes[]`).
    public static func resolve(_ path: FactPath, facts: [String: FactType], item: (type: FactType, shown: String)? = nil)
        throws(FactPathError) -> ResolvedFactPath
    {
        if path.relative {
            guard let item else { throw FactPathError("\(path): relative to a list item, but not inside every, some or none") }
            return try resolve(path.components[...], in: item.type, shown: item.shown, documented: item.shown)
        }
        let name = path.components[0]
        guard let type = facts[name] else {
            let hint = closest(to: name, in: facts.keys).map { " (did you mean \($0)?)" } ?? ""
            throw FactPathError("\(path): no fact '\(name)'\(hint)")
        }
        return try resolve(path.components.dropFirst(), in: type, shown: name, documented: name)
    }

    static func display(_ component: String) -> String {
        component.contains(".") ? "[\"\(component)\"]" : "." + component
    }

    // MARK: - Checks against declarations

    /// One fact path a control reads, resolved.
    public struct Read: Sendable, Hashable {
        public var control: String
        public var path: ResolvedFactPath
        public var line: Int?
    }

    /// Every problem of the catalog's checks against the declarations (`applies_if` too), in
    /// file and line order: a path that does not resolve, a quantifier over what is not a list,
    /// a comparison the type at the path cannot satisfy.
    public static func problems(_ catalog: Catalog, facts: [String: FactType]) -> [WardenError] {
        catalog.controls.values.flatMap { problems($0, facts: facts) }.sorted {
            ($0.file ?? "", $0.line ?? 0, $0.message) < ($1.file ?? "", $1.line ?? 0, $1.message)
        }
    }

    /// Throws the first of `problems(catalog, facts:)`: what profile loading calls once the
    /// catalog is decoded.
    public static func check(_ catalog: Catalog, facts: [String: FactType]) throws(WardenError) {
        if let first = problems(catalog, facts: facts).first { throw first }
    }

    /// The problems of one control.
    public static func problems(_ control: ControlDefinition, facts: [String: FactType]) -> [WardenError] {
        var walker = Walker(control: control, facts: facts)
        walker.walkControl()
        return walker.problems
    }

    /// Every fact path one control reads (the paths that resolve), for docs/FACTS.md.
    public static func reads(_ control: ControlDefinition, facts: [String: FactType]) -> [Read] {
        var walker = Walker(control: control, facts: facts)
        walker.walkControl()
        return walker.reads
    }

    struct Walker {
        let control: ControlDefinition
        let facts: [String: FactType]
        var problems: [WardenError] = []
        var reads: [Read] = []

        init(control: ControlDefinition, facts: [String: FactType]) {
            self.control = control
            self.facts = facts
        }

        mutating func walkControl() {
            if let c = control.appliesIf { walk(c, item: nil) }
            if let c = control.check { walk(c, item: nil) }
        }

        mutating func problem(_ line: Int?, _ message: String) {
            problems.append(
                WardenError(.malformed, file: control.file, line: line ?? control.line, field: "controls.\(control.id)", message))
        }

        mutating func resolve(_ path: FactPath, item: (type: FactType, shown: String)?, line: Int?) -> ResolvedFactPath? {
            do throws(FactPathError) {
                let r = try FactContract.resolve(path, facts: facts, item: item)
                reads.append(Read(control: control.id, path: r, line: line))
                return r
            } catch {
                problem(line, error.message)
                return nil
            }
        }

        mutating func walk(_ check: Check, item: (type: FactType, shown: String)?) {
            switch check {
            case .all(let children, _), .any(let children, _):
                for c in children { walk(c, item: item) }
            case .leaf(let path, let op, let operand, let meta):
                // A site operand reads the site fact.
                if case .site(let field, _) = operand, let sitePath = FactPath("site." + field) {
                    _ = resolve(sitePath, item: nil, line: meta.line)
                }
                guard let r = resolve(path, item: item, line: meta.line) else { return }
                if let why = FactContract.incompatibility(op, r.type, operandType(operand)) {
                    problem(meta.line, "\(r.documented) is \(r.type.name): \(why)")
                }
            case .quantified(let q, let path, let filter, let expect, _, let meta):
                guard let r = resolve(path, item: item, line: meta.line) else { return }
                let items = FactContract.listItems(r.type)
                guard let element = items else {
                    problem(meta.line, "\(r.documented) is \(r.type.name), not a list: '\(q.rawValue)' needs a list")
                    return
                }
                let scope = (type: element, shown: r.documented + "[]")
                if let filter { walk(filter, item: scope) }
                walk(expect, item: scope)
            case .manual(_, let field, let meta):
                // It reads the site value it names (shown to the reviewer).
                if let sitePath = FactPath("site." + field) { _ = resolve(sitePath, item: nil, line: meta.line) }
            }
        }

        func operandType(_ operand: Operand) -> FactType {
            switch operand {
            case .literal(let v): return FactContract.type(of: v)
            case .param(let name):
                switch control.parameters[name]?.type {
                case .bool?: return .bool
                case .int?: return .int
                case .string?: return .string
                case .mode?: return .mode
                case .strings?: return .strings
                case .list?: return .list(.any)
                case nil: return .any
                }
            case .site(let path, let fallback):
                let components = path.split(separator: ".").map(String.init)
                let declared = facts["site"].flatMap {
                    try? FactContract.resolve(components[...], in: $0, shown: "site", documented: "site").type
                }
                switch (declared, fallback) {
                case (let t?, let f?): return .oneOf([t, FactContract.type(of: f)])
                case (let t?, nil): return t
                case (nil, let f?): return FactContract.type(of: f)
                case (nil, nil): return .any
                }
            }
        }
    }

    // MARK: - Types and comparisons

    /// The type of a literal operand.
    static func type(of value: JSON) -> FactType {
        switch value {
        case .null: .null
        case .bool: .bool
        case .int: .int
        case .string: .string
        case .array(let a): .list(a.isEmpty ? .any : .oneOf(Array(Set(a.map { type(of: $0) }))))
        case .object: .object([:], others: .any)
        }
    }

    /// The alternatives a value of `type` may be, with sourced values and unions unwrapped, as
    /// a leaf comparison sees them; nil when anything may be there.
    static func leafAlternatives(_ type: FactType) -> [FactType]? {
        switch type {
        case .any: return nil
        case .sourced(let t): return leafAlternatives(t)
        case .oneOf(let ts):
            var out: [FactType] = []
            for t in ts {
                guard let a = leafAlternatives(t) else { return nil }
                out += a
            }
            return out
        default: return [type]
        }
    }

    /// The item type when `type` is a list a quantifier can walk (a sourced value is not
    /// unwrapped there: the evaluator walks only a list itself); nil otherwise.
    static func listItems(_ type: FactType) -> FactType? {
        switch type {
        case .any: return .any
        case .list(let t): return t
        case .oneOf(let ts):
            let items = ts.compactMap { $0 == .null ? nil : listItems($0) }
            return items.isEmpty ? nil : items.count == 1 ? items[0] : .oneOf(items)
        default: return nil
        }
    }

    /// Whether a value of type `observed` can equal one of type `operand`.
    static func comparable(_ observed: FactType, _ operand: FactType) -> Bool {
        guard let left = leafAlternatives(observed), let right = leafAlternatives(operand) else { return true }
        if right.contains(.null) || left.contains(.null) { return true }
        for r in right {
            for l in left {
                switch (l, r) {
                case (.bool, .bool), (.int, .int), (.string, .string), (.string, .mode), (.mode, .string), (.mode, .mode): return true
                case (.list, .list), (.object, .object), (.map, .object), (.object, .map), (.map, .map): return true
                default: continue
                }
            }
        }
        return false
    }

    static func admits(_ type: FactType, _ accepted: (FactType) -> Bool) -> Bool {
        guard let alternatives = leafAlternatives(type) else { return true }
        return alternatives.contains(where: accepted)
    }

    /// Why `op` with an operand of type `operand` can never hold for a value of type `observed`,
    /// or nil when it can.
    public static func incompatibility(_ op: Operator, _ observed: FactType, _ operand: FactType) -> String? {
        switch op {
        case .exists:
            return nil
        case .eq, .ne:
            return comparable(observed, operand) ? nil : "'\(op.rawValue)' compares it with \(operand.name), which it never is"
        case .in, .notIn:
            guard let elements = listItems(operand) else { return "'\(op.rawValue)' needs a list" }
            return comparable(observed, elements) ? nil : "'\(op.rawValue)' looks for it in a list of \(elements.name), which it never is"
        case .gte, .lte, .gt, .lt:
            return admits(observed) { $0 == .int } ? nil : "'\(op.rawValue)' needs an int"
        case .contains, .notContains:
            let ok = admits(observed) { t in
                if case .list(let e) = t { return comparable(e, operand) }
                return t == .string && comparable(.string, operand)
            }
            return ok ? nil : "'\(op.rawValue)' needs a list of \(operand.name) (or a string, for a string)"
        case .startsWith:
            return admits(observed) { $0 == .string } ? nil : "'\(op.rawValue)' needs a string"
        case .atMostDaysAhead, .atMostDaysAgo:
            guard admits(operand, { $0 == .int }) else { return "'\(op.rawValue)' needs a number of days" }
            return admits(observed) { $0 == .string } ? nil : "'\(op.rawValue)' needs a date (a string)"
        case .modeAtMost, .modeLacks:
            return admits(observed) { $0 == .mode || $0 == .string } ? nil : "'\(op.rawValue)' needs a mode"
        case .empty:
            let ok = admits(observed) { t in
                switch t {
                case .list, .object, .map, .string: true
                default: false
                }
            }
            return ok ? nil : "'empty' needs a list, an object or a string"
        }
    }

    // MARK: - Values against declarations

    /// Where `value` departs from `type`, one message per place (`sshd.settings.port: expected
    /// sourced string, found integer`); empty when it conforms. `path` names the value.
    public static func mismatches(_ value: JSON, _ type: FactType, path: String) -> [String] {
        var out: [String] = []
        conform(value, type, path, &out)
        return out
    }

    /// Whether `value` is a stated status: `{"error" | "not_checked" | "not_applicable": reason}`
    /// without a `value`.
    public static func isStated(_ value: JSON) -> Bool {
        guard case .object(let o) = value, o["value"] == nil else { return false }
        return ["error", "not_checked", "not_applicable"].contains { o[$0]?.stringValue != nil }
    }

    static func conform(_ value: JSON, _ type: FactType, _ path: String, _ out: inout [String]) {
        var mine: [String] = []
        check(value, type, path, &mine)
        // Any value may be replaced by a stated status.
        if !mine.isEmpty && isStated(value) { return }
        out += mine
    }

    static func check(_ value: JSON, _ type: FactType, _ path: String, _ out: inout [String]) {
        func wrong() { out.append("\(path): expected \(type.name), found \(value.typeName) \(preview(value))") }
        switch (type, value) {
        case (.any, _), (.bool, .bool), (.int, .int), (.string, .string), (.null, .null):
            return
        case (.mode, .string(let s)):
            if parseMode(s) == nil { out.append("\(path): expected a mode, found \"\(s)\"") }
        case (.list(let t), .array(let items)):
            for (i, item) in items.enumerated() { conform(item, t, "\(path)[\(i)]", &out) }
        case (.object(let fields, let others), .object(let o)):
            for (key, v) in o.sorted(by: { $0.key < $1.key }) {
                if let t = fields[key] ?? others {
                    conform(v, t, path + display(key), &out)
                } else {
                    out.append("\(path)\(display(key)): not declared")
                }
            }
        case (.map(let t), .object(let o)):
            for (key, v) in o.sorted(by: { $0.key < $1.key }) { conform(v, t, path + display(key), &out) }
        case (.sourced(let t), .object(let o)):
            guard let v = o["value"] else { return wrong() }
            guard o["source"]?.stringValue != nil else { return out.append("\(path).source: missing, or not a string") }
            for key in o.keys where key != "value" && key != "source" {
                out.append("\(path)\(display(key)): not declared (a sourced value has only value and source)")
            }
            conform(v, t, path + ".value", &out)
        case (.oneOf(let alternatives), _):
            var best: [String]?
            for alternative in alternatives {
                var attempt: [String] = []
                conform(value, alternative, path, &attempt)
                if attempt.isEmpty { return }
                if best == nil || attempt.count < best!.count { best = attempt }
            }
            // An object that matches none: the nearest structured alternative says where it departs.
            let structured = alternatives.contains { t in
                switch t {
                case .object, .map, .sourced: true
                default: false
                }
            }
            if case .object = value, structured, let best { out += best } else { wrong() }
        default:
            wrong()
        }
    }

    static func preview(_ value: JSON) -> String {
        let text = value.compactString
        return text.count > 60 ? String(text.prefix(60)) + "…" : text
    }

    // MARK: - Documentation

    /// The rows docs/FACTS.md lists for one declaration: every path with its type, items of
    /// lists as `[]`, keys of maps as `<key>`, further keys of an object as `<other>`. A large
    /// object type met at several paths (the settings of sshd and of its Match blocks) is listed
    /// once, where it is least nested, and named elsewhere.
    public static func rows(_ type: FactType, path: String) -> [(path: String, type: String)] {
        // Where each large object type occurs.
        var occurrences: [FactType: [String]] = [:]
        func collect(_ t: FactType, _ p: String) {
            switch t {
            case .object(let fields, _):
                if fields.count > 5 { occurrences[t, default: []].append(p) }
                for (key, f) in fields { collect(f, p + display(key)) }
            case .map(let e): collect(e, p + ".<key>")
            case .list(let e): collect(e, p + "[]")
            default: break
            }
        }
        collect(type, path)
        // How many list items deep a path is.
        func depth(_ path: String) -> Int {
            zip(path, path.dropFirst()).filter { $0 == "[" && $1 == "]" }.count
        }
        var canonical: [FactType: String] = [:]
        for (t, paths) in occurrences where paths.count > 1 {
            canonical[t] = paths.min { a, b in
                (depth(a), a.count, a) < (depth(b), b.count, b)
            }
        }
        var out: [(String, String)] = []
        func walk(_ t: FactType, _ p: String, row: Bool = true) {
            if let home = canonical[t], home != p {
                out.append((p, "object, as `\(home)`"))
                return
            }
            switch t {
            case .object(let fields, let others):
                if row { out.append((p, "object")) }
                for key in fields.keys.sorted() { walk(fields[key]!, p + display(key)) }
                if let others { out.append((p + ".<other>", others.name + " (keys the host sets; not for checks)")) }
            case .map(let e):
                out.append((p, "map"))
                walk(e, p + ".<key>")
            case .list(let e):
                if case .object = e {
                    out.append((p, "list of objects"))
                    walk(e, p + "[]", row: false)
                } else {
                    out.append((p, t.name))
                }
            default:
                out.append((p, t.name))
            }
        }
        walk(type, path)
        return out
    }
}
