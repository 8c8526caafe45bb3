public import WardenFormats

/// RAND's security measures that concern one Linux host, from RAND's *Securing AI Model Weights*
/// (RR-A2849-1, 2024), as `Profiles/references/rand.yaml` lists them. RAND's levels are
/// cumulative (an SL3 system has every SL1 and SL2 measure too); its measures have labels but no
/// numbers, so each carries an alias of Warden's (`R-31`).
public struct RANDCatalogue: Sendable, Equatable {
    public enum Level: String, Sendable, Hashable, CaseIterable, Comparable {
        case sl1 = "SL1"
        case sl2 = "SL2"
        case sl3 = "SL3"
        case sl4 = "SL4"

        public static func < (a: Level, b: Level) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// Whether a host audit can check a measure (fully or in part), or only an organisation can
    /// show it.
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case host, organisational
    }

    public struct Measure: Sendable, Equatable {
        /// Warden's alias, `R-<n>`.
        public var alias: String
        /// The lowest level at which RAND asks for it.
        public var level: Level
        /// The report's printed page or pages (`78`, `74-75`).
        public var page: String
        public var label: String
        public var scope: Scope
        /// For an organisational measure: what a reviewer should ask the provider for.
        public var attestation: String?
        /// RAND's category, subcategory and NIST CSF tag, where the report gives them.
        public var category: String?
        public var subcategory: String?
        public var csf: String?

        public var json: JSON {
            var o: JSONObject = [
                "alias": .string(alias), "level": .string(level.rawValue), "page": .string(page), "label": .string(label),
                "scope": .string(scope.rawValue),
            ]
            if let attestation { o["attestation"] = .string(attestation) }
            if let category { o["category"] = .string(category) }
            if let subcategory { o["subcategory"] = .string(subcategory) }
            if let csf { o["csf"] = .string(csf) }
            return .object(o)
        }
    }

    public var report: String
    public var title: String
    public var published: String
    /// In the file's order.
    public var measures: [Measure]

    public subscript(alias: String) -> Measure? { measures.first { $0.alias == alias } }

    /// Parses the catalogue. Every error names the file, line and field.
    public static func parse(_ text: String, file: String) throws(WardenError) -> RANDCatalogue {
        let root = try YNode.parse(text, file: file)
        let f = try root.fields(
            allowed: ["report", "title", "published", "measures"], required: ["report", "title", "published", "measures"])
        var catalogue = RANDCatalogue(
            report: try f.required("report").nonEmptyString(), title: try f.required("title").nonEmptyString(),
            published: try f.required("published").nonEmptyString(), measures: [])
        var seen: Set<String> = []
        for item in try f.required("measures").list() {
            let mf = try item.fields(
                allowed: ["alias", "level", "page", "label", "scope", "attestation", "category", "subcategory", "csf"],
                required: ["alias", "level", "page", "label", "scope"])
            let aliasNode = try mf.required("alias")
            let alias = try aliasNode.string()
            guard isAlias(alias) else { throw aliasNode.error("an alias looks like R-31, found '\(alias)'") }
            guard seen.insert(alias).inserted else { throw aliasNode.error("\(alias) is listed twice") }
            let levelNode = try mf.required("level")
            guard let level = Level(rawValue: try levelNode.string()) else {
                throw levelNode.error("expected one of \(Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let scopeNode = try mf.required("scope")
            guard let scope = Scope(rawValue: try scopeNode.string()) else {
                throw scopeNode.error("expected one of \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let attestation = try mf["attestation"]?.nonEmptyString()
            switch (scope, attestation) {
            case (.organisational, nil): throw item.error("an organisational measure says what to attest (attestation)")
            case (.host, _?): throw mf["attestation"]!.error("only an organisational measure has an attestation")
            default: break
            }
            catalogue.measures.append(
                Measure(
                    alias: alias, level: level, page: try mf.required("page").nonEmptyString(),
                    label: try mf.required("label").nonEmptyString(), scope: scope, attestation: attestation,
                    category: try mf["category"]?.nonEmptyString(), subcategory: try mf["subcategory"]?.nonEmptyString(),
                    csf: try mf["csf"]?.nonEmptyString()))
        }
        return catalogue
    }

    /// `R-` and a number without leading zeros, checked byte by byte (a regex literal is compiled
    /// anew at each use: most of the catalogue's decoding time).
    static func isAlias(_ s: String) -> Bool {
        let b = Array(s.utf8)
        return b.count >= 3 && b[0] == UInt8(ascii: "R") && b[1] == UInt8(ascii: "-") && b[2] != UInt8(ascii: "0")
            && b[2...].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

/// A control's anchor in RAND's report (`references.rand`): the measure's alias and how the
/// control relates to it, with the measure's level, page and label once the catalog is loaded.
public struct RANDReference: Sendable, Hashable {
    public enum Relation: String, Sendable, Hashable, CaseIterable, Comparable {
        /// For this host, the check decides the measure (as far as a host can show it).
        case implements
        /// The check verifies a part or a precondition of the measure.
        case supports
        /// The measure cannot be seen from the host; the check verifies what stands in for it.
        case proxy

        public static func < (a: Relation, b: Relation) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public var measure: String
    public var relation: Relation
    public var level: RANDCatalogue.Level?
    public var page: String?
    public var label: String?

    public init(measure: String, relation: Relation) {
        self.measure = measure
        self.relation = relation
    }

    public var json: JSON {
        var o: JSONObject = ["measure": .string(measure), "relation": .string(relation.rawValue)]
        if let level { o["level"] = .string(level.rawValue) }
        if let page { o["page"] = .string(page) }
        if let label { o["label"] = .string(label) }
        return .object(o)
    }
}

/// Where a threshold comes from: RAND's report, the Code of Practice, or Warden's own reading
/// of what the level means for one host.
public enum ThresholdSource: String, Sendable, Hashable, CaseIterable {
    case rand, code, design
}
