public import WardenFormats

/// The outcome of one control on one host.
public enum Status: String, Sendable, Hashable, CaseIterable {
    case pass
    case fail
    case error
    case notApplicable = "not_applicable"
    case notChecked = "not_checked"
    case waived
    case manual

    /// `fail`, `error` or `not_checked`: what keeps a verdict control from conforming (and what
    /// a site waiver can stand in for).
    public var blocksConformance: Bool { self == .fail || self == .error || self == .notChecked }
}

public enum Area: String, Sendable, Hashable, CaseIterable, Comparable {
    case encryption, access, logging, hardening, integrity, exfiltration

    /// The ID prefix of the area's controls.
    public var prefix: String {
        switch self {
        case .encryption: "ENC"
        case .access: "ACC"
        case .logging: "LOG"
        case .hardening: "HRD"
        case .integrity: "INT"
        case .exfiltration: "EXF"
        }
    }

    public var title: String {
        switch self {
        case .encryption: "Encryption"
        case .access: "Access control"
        case .logging: "Logging"
        case .hardening: "Hardening"
        case .integrity: "Integrity and boot"
        case .exfiltration: "Exfiltration paths"
        }
    }

    public static func < (a: Area, b: Area) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum Severity: String, Sendable, Hashable, CaseIterable, Comparable {
    case low, medium, high, critical

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum ParameterType: String, Sendable, Hashable {
    case bool, int, string, strings, mode
    /// A list of any JSON values (e.g. integers for `in`).
    case list

    func accepts(_ value: JSON) -> Bool {
        switch (self, value) {
        case (.bool, .bool), (.int, .int), (.string, .string): true
        case (.mode, .string(let s)): parseMode(s) != nil
        case (.strings, .array(let a)): a.allSatisfy { $0.stringValue != nil }
        case (.list, .array): true
        default: false
        }
    }
}

public struct ParameterSpec: Sendable, Hashable {
    public var type: ParameterType
    public var description: String
}

/// References that tie a control to the texts a reviewer knows.
public struct References: Sendable, Hashable {
    /// Code of Practice, third draft (`II.7.3`).
    public var cop: [String] = []
    /// Final Code, Appendix 4 (`A4.2(3)`).
    public var appendix4: [String] = []
    /// NIST SP 800-53 r5 (`SC-28`).
    public var nist: [String] = []
    /// ComplianceAsCode rule ids.
    public var cac: [String] = []
    /// RAND's measures the control implements, supports or stands in for (`Profiles/references/rand.yaml`).
    public var rand: [RANDReference] = []
    /// Why a control anchors to no RAND measure (its source is the Code, or Warden's design).
    public var randNone: String?

    public var json: JSON {
        var o: JSONObject = [
            "cop": .array(cop.map { .string($0) }), "appendix4": .array(appendix4.map { .string($0) }),
            "nist": .array(nist.map { .string($0) }), "cac": .array(cac.map { .string($0) }),
            "rand": .array(rand.map(\.json)),
        ]
        if let randNone { o["rand_none"] = .string(randNone) }
        return .object(o)
    }
}

/// One requirement with a stable ID, defined once in `Profiles/controls/*.yaml`.
public struct ControlDefinition: Sendable, Equatable {
    public var id: String
    public var title: String
    public var area: Area
    public var severity: Severity
    public var rationale: String
    public var references: References
    /// Where the fixed expectations of the check come from (a profile says it of each
    /// parameter it sets).
    public var thresholdSource: ThresholdSource?
    public var parameters: [String: ParameterSpec]
    /// Nil for `manual` (organisational) controls.
    public var check: Check?
    /// When given and it does not pass, the control is `not_applicable` (the subject is absent,
    /// e.g. no SSH server installed); when it cannot be decided, the control takes its status.
    public var appliesIf: Check?
    public var remediation: String
    public var file: String
    public var line: Int?

    /// Whether `id` looks like `ENC-001`: three capital letters, a hyphen, three digits (checked
    /// byte by byte: a regex literal is compiled anew at each use, a tenth of loading the catalog).
    static func isID(_ id: String) -> Bool {
        let b = Array(id.utf8)
        return b.count == 7 && b[3] == UInt8(ascii: "-")
            && b[0..<3].allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
            && b[4..<7].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    static let keys: Set<String> = [
        "id", "title", "area", "severity", "threshold_source", "rationale", "references", "parameters", "check", "applies_if", "manual",
        "remediation",
    ]

    /// Decodes a control; its RAND references take their level, page and label from `rand`.
    static func decode(_ y: YNode, knownFacts: Set<String>, rand: RANDCatalogue?) throws(WardenError) -> ControlDefinition {
        let f = try y.fields(allowed: keys, required: ["id", "title", "area", "severity", "rationale", "references", "remediation"])
        let idNode = try f.required("id")
        let id = try idNode.string()
        guard ControlDefinition.isID(id) else { throw idNode.error("control id '\(id)' must look like ENC-001") }
        let areaNode = try f.required("area")
        guard let area = Area(rawValue: try areaNode.string()) else {
            throw areaNode.error("unknown area (expected \(Area.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard id.hasPrefix(area.prefix + "-") else {
            throw idNode.error("control id '\(id)' does not match area '\(area.rawValue)' (\(area.prefix)-…)")
        }
        let sevNode = try f.required("severity")
        guard let severity = Severity(rawValue: try sevNode.string()) else {
            throw sevNode.error("unknown severity (expected \(Severity.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var refs = References()
        let rf = try f.required("references").fields(allowed: ["cop", "appendix4", "nist", "cac", "rand", "rand_none"])
        refs.cop = try rf["cop"]?.strings() ?? []
        refs.appendix4 = try rf["appendix4"]?.strings() ?? []
        refs.nist = try rf["nist"]?.strings() ?? []
        refs.cac = try rf["cac"]?.strings() ?? []
        if let r = rf["rand"] {
            for item in try r.list() {
                let ef = try item.fields(allowed: ["measure", "relation"], required: ["measure", "relation"])
                let relationNode = try ef.required("relation")
                guard let relation = RANDReference.Relation(rawValue: try relationNode.string()) else {
                    throw relationNode.error("expected one of \(RANDReference.Relation.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let measureNode = try ef.required("measure")
                let alias = try measureNode.nonEmptyString()
                if refs.rand.contains(where: { $0.measure == alias }) { throw item.error("\(alias) is cited twice") }
                guard let measure = rand?[alias] else {
                    let why = rand == nil ? "the profile set has no references/rand.yaml" : "no such measure in \(rand!.report)'s catalogue"
                    throw measureNode.error("\(try f.required("id").string()) cites \(alias): \(why)")
                }
                var reference = RANDReference(measure: alias, relation: relation)
                reference.level = measure.level
                reference.page = measure.page
                reference.label = measure.label
                refs.rand.append(reference)
            }
        }
        if let n = rf["rand_none"] {
            guard refs.rand.isEmpty else { throw n.error("a control cites RAND measures (rand) or says why it cites none, not both") }
            refs.randNone = try n.nonEmptyString()
        }
        let thresholdSource = try f["threshold_source"].map { (n: YNode) throws(WardenError) -> ThresholdSource in
            guard let s = ThresholdSource(rawValue: try n.string()) else {
                throw n.error("expected one of \(ThresholdSource.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return s
        }

        var parameters: [String: ParameterSpec] = [:]
        if let p = f["parameters"] {
            for (name, spec) in try p.mapping() {
                let sf = try spec.fields(allowed: ["type", "description"], required: ["type", "description"])
                let typeNode = try sf.required("type")
                guard let type = ParameterType(rawValue: try typeNode.string()) else {
                    throw typeNode.error("unknown parameter type (expected bool, int, string, strings, mode, list)")
                }
                parameters[name] = ParameterSpec(type: type, description: try sf.required("description").nonEmptyString())
            }
        }
        let manual = try f["manual"]?.bool() ?? false
        let check: Check?
        switch (manual, f["check"]) {
        case (true, nil): check = nil
        case (true, let c?): throw c.error("a manual control has no check")
        case (false, nil): throw y.error("missing required key 'check' (or 'manual: true')")
        case (false, let c?): check = try Check.decode(c, knownFacts: knownFacts, parameters: parameters, relativeAllowed: false)
        }
        let appliesIf = try f["applies_if"].map { (c: YNode) throws(WardenError) -> Check in
            let check = try Check.decode(c, knownFacts: knownFacts, parameters: parameters, relativeAllowed: false)
            // Whether a control applies is the host's to show; a review cannot stand in for it.
            if check.yieldsManual { throw c.error("'manual' is not allowed in applies_if") }
            return check
        }
        return ControlDefinition(
            id: id, title: try f.required("title").nonEmptyString(), area: area, severity: severity,
            rationale: try f.required("rationale").nonEmptyString(), references: refs, thresholdSource: thresholdSource,
            parameters: parameters,
            check: check, appliesIf: appliesIf, remediation: try f.required("remediation").nonEmptyString(), file: y.file, line: y.line)
    }
}
