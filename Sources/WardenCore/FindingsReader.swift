public import WardenFormats

/// A findings document read back (from a file or an envelope's predicate): enough to compare
/// runs and to re-evaluate the embedded facts against another profile.
public struct ParsedFindings: Sendable {
    public struct ControlResult: Sendable, Hashable {
        public var control: String
        public var title: String
        public var area: Area
        public var severity: Severity
        public var status: Status
        public var advisory: Bool
        public var summary: String
    }

    public var host: JSON
    public var root: String
    public var profileID: String
    public var profileVersion: String
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var toolVersion: String
    public var results: [ControlResult]
    public var facts: FactSet

    public var hostname: String { host["hostname"]?.stringValue ?? "unknown host" }
    public var machineID: String? { host["machine_id"]?.stringValue }

    /// Reads a `warden.findings/v1` document. Errors name the file and the field at fault.
    public init(json: JSON, file: String) throws(WardenError) {
        func bad(_ field: String, _ message: String) -> WardenError { WardenError(.malformed, file: file, field: field, message) }
        func string(_ key: String) throws(WardenError) -> String {
            guard let s = json[key]?.stringValue else { throw bad(key, "expected a string") }
            return s
        }
        func time(_ key: String) throws(WardenError) -> Timestamp {
            let s = try string(key)
            guard let t = Timestamp(rfc3339: s) else { throw bad(key, "expected an RFC 3339 time, found '\(s)'") }
            return t
        }
        guard case .object = json else { throw bad("(document)", "expected a JSON object, found \(json.typeName)") }
        guard json["schema"]?.stringValue == FindingsDocument.schema else {
            throw bad("schema", "expected \"\(FindingsDocument.schema)\", found \(json["schema"].map { $0.compactString } ?? "nothing")")
        }
        guard let host = json["host"], case .object = host else { throw bad("host", "expected an object") }
        self.host = host
        root = try string("root")
        guard let profileID = json["profile"]?["id"]?.stringValue, let version = json["profile"]?["version"]?.stringValue else {
            throw bad("profile", "expected {id, version, …}")
        }
        self.profileID = profileID
        profileVersion = version
        startedAt = try time("started_at")
        finishedAt = try time("finished_at")
        toolVersion = json["tool"]?["version"]?.stringValue ?? "unknown"
        guard let list = json["results"]?.arrayValue else { throw bad("results", "expected a list") }
        var results: [ControlResult] = []
        for (i, r) in list.enumerated() {
            let field = "results[\(i)]"
            guard let control = r["control"]?.stringValue, let title = r["title"]?.stringValue,
                let area = r["area"]?.stringValue.flatMap(Area.init(rawValue:)),
                let severity = r["severity"]?.stringValue.flatMap(Severity.init(rawValue:)),
                let status = r["status"]?.stringValue.flatMap(Status.init(rawValue:)),
                let advisory = r["advisory"]?.boolValue, let summary = r["summary"]?.stringValue
            else { throw bad(field, "expected control, title, area, severity, status, advisory and summary") }
            results.append(
                ControlResult(
                    control: control, title: title, area: area, severity: severity, status: status, advisory: advisory, summary: summary))
        }
        self.results = results
        guard let facts = json["facts"] else { throw bad("facts", "missing: the findings carry no facts to re-evaluate") }
        do {
            self.facts = try FactSet(json: facts)
        } catch {
            throw bad(error.field ?? "facts", error.message)
        }
    }

    /// The verdict the results give (`Verdict.adding`).
    public var verdict: Verdict {
        results.reduce(.conformant) { $0.adding($1.status, advisory: $1.advisory) }
    }

    public var conformant: Bool { verdict == .conformant }
}

/// What changed between two runs (drift on one host) or two hosts.
public struct Comparison: Sendable {
    public struct Change: Sendable, Hashable {
        public var control: String
        public var title: String
        public var before: Status?
        public var after: Status?
        public var summary: String
    }

    /// Statuses that count as healthy when comparing.
    static let good: Set<Status> = [.pass, .notApplicable, .waived]

    public var regressions: [Change] = []
    public var improvements: [Change] = []
    /// Other status changes (e.g. error → not_checked) and controls present on one side only.
    public var other: [Change] = []

    public init(_ a: ParsedFindings, _ b: ParsedFindings) {
        let before = Dictionary(a.results.map { ($0.control, $0) }, uniquingKeysWith: { x, _ in x })
        let after = Dictionary(b.results.map { ($0.control, $0) }, uniquingKeysWith: { x, _ in x })
        for id in Set(before.keys).union(after.keys).sorted() {
            let x = before[id]
            let y = after[id]
            guard x?.status != y?.status else { continue }
            let change = Change(control: id, title: (y ?? x)!.title, before: x?.status, after: y?.status, summary: (y ?? x)!.summary)
            switch (x.map { Comparison.good.contains($0.status) }, y.map { Comparison.good.contains($0.status) }) {
            case (true?, false?): regressions.append(change)
            case (false?, true?): improvements.append(change)
            default: other.append(change)
            }
        }
    }

    /// Every change: regressions, improvements, then the others.
    public var all: [Change] { regressions + improvements + other }

    public var json: JSON {
        [
            "regressions": .array(regressions.map(\.json)), "improvements": .array(improvements.map(\.json)),
            "other": .array(other.map(\.json)),
        ]
    }
}

extension Comparison.Change {
    public var json: JSON {
        [
            "control": .string(control), "title": .string(title), "before": before.map { .string($0.rawValue) } ?? .null,
            "after": after.map { .string($0.rawValue) } ?? .null, "summary": .string(summary),
        ]
    }
}

/// What a host lacks to conform to a target profile: the verdict controls that are not
/// satisfied, ordered by area, then most severe first.
public enum GapAnalysis {
    public static func missing(_ findings: [Finding]) -> [Finding] {
        findings.filter(\.blocksConformance).sorted {
            ($0.area, $1.severity, $0.control) < ($1.area, $0.severity, $1.control)
        }
    }
}
