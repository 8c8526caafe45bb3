public import WardenFormats

/// Whether the audited root is the running host (`/`) or an offline tree.
public enum AuditMode: String, Sendable, Hashable {
    case live
    case offline
}

/// Why a probe could not produce a fact. `notChecked` is runtime state that an offline root
/// simply does not have; `error` is anything that should have been readable and was not.
public struct Unavailable: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case error
        case notChecked = "not_checked"
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public static func error(_ reason: String) -> Unavailable { Unavailable(.error, reason) }
    public static func notChecked(_ reason: String) -> Unavailable { Unavailable(.notChecked, reason) }
}

/// One collected fact: a JSON value, or the reason there is none.
public enum Fact: Sendable, Hashable {
    case value(JSON)
    case unavailable(Unavailable)

    var json: JSON {
        switch self {
        case .value(let v): ["value": v]
        case .unavailable(let u): ["unavailable": ["status": .string(u.kind.rawValue), "reason": .string(u.reason)]]
        }
    }
}

/// Everything the probes collected about one host (`warden.facts/v1`). Travels inside the signed
/// findings, so that any profile can be evaluated against it later without touching the host.
public struct FactSet: Sendable, Hashable {
    public static let schema = "warden.facts/v1"

    public var mode: AuditMode
    public var facts: [String: Fact]
    /// Every host file read while collecting, by path inside the root, with its SHA-256
    /// (or `unreadable: reason`).
    public var files: [String: String]

    public init(mode: AuditMode, facts: [String: Fact] = [:], files: [String: String] = [:]) {
        self.mode = mode
        self.facts = facts
        self.files = files
    }

    public subscript(name: String) -> Fact? {
        get { facts[name] }
        set { facts[name] = newValue }
    }

    public var json: JSON {
        .object([
            "schema": .string(FactSet.schema),
            "mode": .string(mode.rawValue),
            "facts": .object(facts.mapValues(\.json)),
            "files": .object(files.mapValues { .string($0) }),
        ])
    }

    /// Reads a `warden.facts/v1` object back; `field` names where in the document it sits.
    public init(json: JSON, field: String = "facts") throws(WardenError) {
        func bad(_ f: String, _ m: String) -> WardenError { WardenError(.malformed, field: f, m) }
        guard case .object(let o) = json else { throw bad(field, "expected an object, found \(json.typeName)") }
        guard o["schema"]?.stringValue == FactSet.schema else {
            throw bad("\(field).schema", "expected \"\(FactSet.schema)\"")
        }
        guard let m = o["mode"]?.stringValue, let mode = AuditMode(rawValue: m) else {
            throw bad("\(field).mode", "expected \"live\" or \"offline\"")
        }
        guard case .object(let rawFacts)? = o["facts"] else { throw bad("\(field).facts", "expected an object") }
        var facts: [String: Fact] = [:]
        for (name, entry) in rawFacts {
            if let v = entry["value"] {
                facts[name] = .value(v)
            } else if let u = entry["unavailable"], let s = u["status"]?.stringValue,
                let kind = Unavailable.Kind(rawValue: s), let reason = u["reason"]?.stringValue
            {
                facts[name] = .unavailable(Unavailable(kind, reason))
            } else {
                throw bad("\(field).facts.\(name)", "expected {\"value\": …} or {\"unavailable\": {\"status\", \"reason\"}}")
            }
        }
        var files: [String: String] = [:]
        if case .object(let f)? = o["files"] {
            for (path, digest) in f {
                guard let d = digest.stringValue else { throw bad("\(field).files.\(path)", "expected a string") }
                files[path] = d
            }
        }
        self.init(mode: mode, facts: facts, files: files)
    }
}
