public import WardenFormats

/// How far a profile's controls reach RAND's measures up to the profile's level: for each
/// measure, the controls that implement, support or stand in for it, or that it is organisational
/// (with what a reviewer should ask for), or that nothing covers it.
public struct RANDCoverage: Sendable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// A verdict control implements it.
        case implemented
        /// Verdict controls check part of it (none implements it).
        case supported
        /// Only a stand-in is checked: the measure cannot be seen from a host.
        case proxied
        /// Only advisory controls touch it: reported, outside the verdict.
        case reported
        /// Only the organisation can show it: an attestation, whatever the controls say.
        case organisational
        /// A host could check it and no control of the profile does.
        case notCovered = "not_covered"
    }

    public struct Citation: Sendable, Hashable {
        public var control: String
        public var title: String
        public var relation: RANDReference.Relation
        public var advisory: Bool
    }

    public struct Row: Sendable {
        public var measure: RANDCatalogue.Measure
        public var status: Status
        /// The profile's controls that cite the measure, strongest relation first.
        public var citations: [Citation]
    }

    public var catalogue: RANDCatalogue
    public var profile: ResolvedProfile
    public var level: RANDCatalogue.Level
    /// Every measure of the catalogue at or below `level`, in the catalogue's order.
    public var rows: [Row]

    /// The coverage of `profile`, whose `rand_level` says which measures count.
    public init(profile: ResolvedProfile, catalogue: RANDCatalogue) throws(WardenError) {
        guard let level = profile.randLevel else {
            throw WardenError(
                .usage, file: profile.files.first, field: "rand_level", "profile \(profile.id) names no RAND level (rand_level)")
        }
        self.catalogue = catalogue
        self.profile = profile
        self.level = level
        rows = catalogue.measures.filter { $0.level <= level }.map { measure in
            let citations = profile.controls.compactMap { c -> Citation? in
                guard let r = c.definition.references.rand.first(where: { $0.measure == measure.alias }) else { return nil }
                return Citation(control: c.definition.id, title: c.definition.title, relation: r.relation, advisory: c.advisory)
            }.sorted { ($0.advisory ? 1 : 0, $0.relation, $0.control) < ($1.advisory ? 1 : 0, $1.relation, $1.control) }
            return Row(measure: measure, status: Self.status(measure, citations), citations: citations)
        }
    }

    static func status(_ measure: RANDCatalogue.Measure, _ citations: [Citation]) -> Status {
        if measure.scope == .organisational { return .organisational }
        let verdict = Set(citations.filter { !$0.advisory }.map(\.relation))
        if verdict.contains(.implements) { return .implemented }
        if verdict.contains(.supports) { return .supported }
        if verdict.contains(.proxy) { return .proxied }
        return citations.isEmpty ? .notCovered : .reported
    }

    /// How many measures have each status (every status, zeros included).
    public var counts: [Status: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Status.allCases.map { ($0, 0) })
        for row in rows { counts[row.status, default: 0] += 1 }
        return counts
    }

    /// `warden.rand-coverage/v1` (docs/FORMATS.md).
    public var json: JSON {
        [
            "format": "warden.rand-coverage/v1",
            "report": ["id": .string(catalogue.report), "title": .string(catalogue.title), "published": .string(catalogue.published)],
            "profile": [
                "id": .string(profile.id), "title": .string(profile.title), "version": .string(profile.version),
                "sha256": .string(profile.sha256), "rand_level": .string(level.rawValue),
            ],
            "counts": .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, JSON.int($0.value)) })),
            "measures": .array(
                rows.map { row in
                    var o = row.measure.json.objectValue ?? [:]
                    o["status"] = .string(row.status.rawValue)
                    o["controls"] = .array(
                        row.citations.map {
                            [
                                "id": .string($0.control), "title": .string($0.title), "relation": .string($0.relation.rawValue),
                                "advisory": .bool($0.advisory),
                            ]
                        })
                    return .object(o)
                }),
        ]
    }
}
