public import WardenFormats

/// The verdict over a whole profile.
public enum Verdict: String, Sendable {
    case conformant
    /// At least one verdict control fails.
    case nonconformant
    /// No failure, but something could not be decided (error or not_checked).
    case incomplete

    /// Whether a result keeps a host from conforming: the one definition of conformance (docs/ARCHITECTURE.md),
    /// used by findings, `gap`, fleets and reports. A control that decides the verdict (not
    /// advisory; a `manual` one never blocks) blocks it when it fails, errs or was not checked.
    public static func blocks(_ status: Status, advisory: Bool) -> Bool {
        !advisory && status.blocksConformance
    }

    /// The verdict with one more result counted: a blocking `fail` makes it nonconformant, any
    /// other block incomplete (unless already nonconformant).
    public func adding(_ status: Status, advisory: Bool) -> Verdict {
        guard Verdict.blocks(status, advisory: advisory) else { return self }
        return status == .fail || self == .nonconformant ? .nonconformant : .incomplete
    }

    /// `warden audit`'s exit code (docs/ARCHITECTURE.md).
    public var exitCode: Int32 {
        switch self {
        case .conformant: 0
        case .nonconformant: 1
        case .incomplete: 2
        }
    }
}

public struct Summary: Sendable {
    public var counts: [Status: Int]
    public var verdict: Verdict
    public var expiredWaivers: [String]

    public init(_ findings: [Finding]) {
        counts = Dictionary(uniqueKeysWithValues: Status.allCases.map { ($0, 0) })
        for f in findings { counts[f.status, default: 0] += 1 }
        verdict = findings.reduce(.conformant) { $0.adding($1.status, advisory: $1.advisory) }
        expiredWaivers = findings.compactMap { f in f.waiver?.expired == true ? f.control : nil }
    }

    public var json: JSON {
        .object([
            "counts": .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, JSON.int($0.value)) })),
            "conformant": .bool(verdict == .conformant),
            "verdict": .string(verdict.rawValue),
            "expired_waivers": .array(expiredWaivers.map { .string($0) }),
        ])
    }
}

/// The findings document (`warden.findings/v1`), docs/FORMATS.md.
public struct FindingsDocument: Sendable {
    public static let schema = "warden.findings/v1"

    public var host: JSON
    public var root: String
    public var profile: ResolvedProfile
    public var toolVersion: String
    public var startedAt: Timestamp
    public var finishedAt: Timestamp
    public var findings: [Finding]
    public var facts: FactSet

    public init(
        host: JSON, root: String, profile: ResolvedProfile, toolVersion: String,
        startedAt: Timestamp, finishedAt: Timestamp, findings: [Finding], facts: FactSet
    ) {
        self.host = host
        self.root = root
        self.profile = profile
        self.toolVersion = toolVersion
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.findings = findings
        self.facts = facts
    }

    public var summary: Summary { Summary(findings) }

    public var json: JSON {
        var siteJSON: JSON = .null
        if case .value(let s)? = facts["site"], let sha = s["sha256"] { siteJSON = ["sha256": sha] }
        return .object([
            "schema": .string(FindingsDocument.schema),
            "host": host,
            "root": .string(root),
            "mode": .string(facts.mode.rawValue),
            "profile": [
                "id": .string(profile.id), "title": .string(profile.title), "version": .string(profile.version),
                "sha256": .string(profile.sha256),
                "set": profile.set.map { .string($0) } ?? .null,
            ],
            "site": siteJSON,
            "tool": ["name": "warden", "version": .string(toolVersion)],
            "started_at": .string(startedAt.description),
            "finished_at": .string(finishedAt.description),
            "results": .array(findings.map(\.json)),
            "summary": summary.json,
            "facts": facts.json,
        ])
    }
}

extension Finding {
    public var json: JSON {
        var o: JSONObject = [
            "control": .string(control), "title": .string(title), "area": .string(area.rawValue),
            "severity": .string(severity.rawValue), "status": .string(status.rawValue), "advisory": .bool(advisory),
            "summary": .string(summary), "evidence": .array(evidence.map(\.json)), "references": references.json,
            "remediation": .string(remediation),
        ]
        if let waiver { o["waiver"] = waiver.json }
        return .object(o)
    }
}
