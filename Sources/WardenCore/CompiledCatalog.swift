/// The control catalog and the built-in profiles, compiled: the same definitions as
/// `Profiles/controls/*.yaml` and the profiles resolved from `Profiles/*.yaml`, as JSON that loads
/// in a fraction of the time (decoding the YAML, with every check the loader makes, is most of an
/// audit's start-up). `warden profiles compile` writes it once the YAML has loaded cleanly,
/// with the SHA-256 digests computed from the YAML then. The catalog is used only while the
/// control files present have the `Fingerprint` they were compiled with, for exactly the facts
/// this Warden's probes produce; a profile only while its own files do. Otherwise the YAML is
/// read. Anything unexpected in it means "not usable", never an error: the YAML is the source of
/// truth.
public enum CompiledCatalog {
    public static let schema = "warden.catalog/v3"
    /// Its file name in a profiles directory.
    public static let fileName = "catalog.compiled.json"

    /// A decoded compiled file.
    public struct Contents: Sendable {
        public var catalog: Catalog
        /// The compiled profiles by built-in name, with the fingerprint of the profile files
        /// they were resolved from and those files' names (in the profiles directory, most
        /// derived first).
        var profiles: [String: (profile: ResolvedProfile, fingerprint: String, files: [String])]

        /// The built-in profile `name` as compiled, when `read(fileName)` gives the profile files
        /// it was compiled from (their fingerprint is the one recorded).
        public func profile(_ name: String, read: (String) -> String?) -> ResolvedProfile? {
            guard let entry = profiles[name] else { return nil }
            var chain: [(name: String, text: String)] = []
            for file in entry.files {
                guard let text = read(file) else { return nil }
                chain.append((file, text))
            }
            guard Fingerprint.of(chain) == entry.fingerprint else { return nil }
            return entry.profile
        }
    }

    /// The compiled file of `catalog` (whose control files have `sourcesFingerprint`) and of
    /// `profiles` (by built-in name, each with the fingerprint of its own files, all in the
    /// profiles directory).
    public static func encode(_ catalog: Catalog, sourcesFingerprint: String, profiles: [String: (profile: ResolvedProfile, fingerprint: String)] = [:],
                              knownFacts: Set<String>) -> [UInt8] {
        let controls = catalog.controls.values.sorted { $0.id < $1.id }.map(encode)
        let document: JSON = ["schema": .string(schema), "sources_sha256": .string(catalog.digest), "sources_fingerprint": .string(sourcesFingerprint),
                              "facts_fingerprint": .string(factsDigest(knownFacts)), "controls": .array(controls),
                              "profiles": .object(profiles.mapValues { encode($0.profile, fingerprint: $0.fingerprint) })]
        return document.serialized()
    }

    /// The contents, or nil when the bytes are not a compiled file of control files with this
    /// fingerprint and of these facts. Definitions name their file as in `directory` (the
    /// compiled form keeps file names only), profiles as in `profilesDirectory`.
    public static func decode(_ bytes: [UInt8], sourcesFingerprint: String, knownFacts: Set<String>, directory: String,
                              profilesDirectory: String) -> Contents? {
        guard let document = try? JSON.parse(bytes), document["schema"]?.stringValue == schema,
              document["sources_fingerprint"]?.stringValue == sourcesFingerprint,
              let digest = document["sources_sha256"]?.stringValue, isSHA256(digest),
              document["facts_fingerprint"]?.stringValue == factsDigest(knownFacts),
              let list = document["controls"]?.arrayValue, let profileList = document["profiles"]?.objectValue else { return nil }
        var controls: [ControlDefinition] = []
        for item in list {
            guard var control = definition(item), !control.file.contains("/"), !controls.contains(where: { $0.id == control.id }) else { return nil }
            control.file = directory + "/" + control.file
            controls.append(control)
        }
        var catalog = Catalog(controls: controls)
        catalog.digest = digest
        var profiles: [String: (profile: ResolvedProfile, fingerprint: String, files: [String])] = [:]
        for (name, value) in profileList {
            guard let entry = profile(value, catalog: catalog, directory: profilesDirectory) else { return nil }
            profiles[name] = entry
        }
        return Contents(catalog: catalog, profiles: profiles)
    }

    /// The catalog alone (see `decode(_:sourcesFingerprint:knownFacts:directory:profilesDirectory:)`).
    public static func decode(_ bytes: [UInt8], sourcesFingerprint: String, knownFacts: Set<String>, directory: String) -> Catalog? {
        decode(bytes, sourcesFingerprint: sourcesFingerprint, knownFacts: knownFacts, directory: directory, profilesDirectory: "")?.catalog
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    static func factsDigest(_ facts: Set<String>) -> String {
        Fingerprint.of([("facts", facts.sorted().joined(separator: "\n"))])
    }

    // MARK: - Encoding

    static func encode(_ p: ResolvedProfile, fingerprint: String) -> JSON {
        let controls: [JSON] = p.controls.map { c in
            var o: JSONObject = ["id": .string(c.definition.id), "advisory": .bool(c.advisory), "parameters": .object(c.parameters)]
            if let rationale = c.rationale { o["rationale"] = .string(rationale) }
            return .object(o)
        }
        return ["id": .string(p.id), "title": .string(p.title), "version": .string(p.version), "description": .string(p.description),
                "chain": .array(p.chain.map(JSON.string)), "files": .array(p.files.map { .string(baseName($0)) }),
                "sha256": .string(p.sha256), "fingerprint": .string(fingerprint), "controls": .array(controls)]
    }

    static func encode(_ d: ControlDefinition) -> JSON {
        var o: JSONObject = [
            "id": .string(d.id), "title": .string(d.title), "area": .string(d.area.rawValue), "severity": .string(d.severity.rawValue),
            "rationale": .string(d.rationale), "references": d.references.json, "remediation": .string(d.remediation), "file": .string(baseName(d.file)),
            "parameters": .object(d.parameters.mapValues { ["type": .string($0.type.rawValue), "description": .string($0.description)] }),
        ]
        if let line = d.line { o["line"] = .int(line) }
        if let check = d.check { o["check"] = encode(check) }
        if let appliesIf = d.appliesIf { o["applies_if"] = encode(appliesIf) }
        return .object(o)
    }

    static func encode(_ check: Check) -> JSON {
        var o: JSONObject
        switch check {
        case .all(let children, _): o = ["kind": "all", "children": .array(children.map(encode))]
        case .any(let children, _): o = ["kind": "any", "children": .array(children.map(encode))]
        case .leaf(let path, let op, let operand, _):
            o = ["kind": "leaf", "fact": .string(path.description), "op": .string(op.rawValue)]
            switch operand {
            case .literal(let value): o["literal"] = value
            case .param(let name): o["param"] = .string(name)
            case .site(let path, let fallback):
                o["site"] = .string(path)
                if let fallback { o["default"] = fallback }
            }
        case .quantified(let q, let path, let filter, let expect, let ifEmpty, _):
            o = ["kind": .string(q.rawValue), "fact": .string(path.description), "expect": encode(expect),
                 "if_empty": .string(ifEmpty.status.rawValue), "empty_reason": .string(ifEmpty.reason)]
            if let filter { o["where"] = encode(filter) }
        }
        let meta = check.meta
        if let when = meta.when { o["when"] = .string(when) }
        if let describe = meta.describe { o["describe"] = .string(describe) }
        if let ifAbsent = meta.ifAbsent { o["if_absent"] = .string(ifAbsent.rawValue) }
        if let line = meta.line { o["line"] = .int(line) }
        return .object(o)
    }

    // MARK: - Decoding (nil for anything unexpected)

    static func strings(_ v: JSON?) -> [String]? {
        guard let list = v?.arrayValue else { return nil }
        let out = list.compactMap(\.stringValue)
        return out.count == list.count ? out : nil
    }

    static func profile(_ v: JSON, catalog: Catalog, directory: String) -> (profile: ResolvedProfile, fingerprint: String, files: [String])? {
        guard case .object(let o) = v, let id = o["id"]?.stringValue, let title = o["title"]?.stringValue,
              let version = o["version"]?.stringValue, let description = o["description"]?.stringValue,
              let chain = strings(o["chain"]), let files = strings(o["files"]), !files.isEmpty, files.count == chain.count,
              files.allSatisfy({ !$0.contains("/") }), let sha256 = o["sha256"]?.stringValue, isSHA256(sha256),
              let fingerprint = o["fingerprint"]?.stringValue, let list = o["controls"]?.arrayValue else { return nil }
        var controls: [SelectedControl] = []
        for item in list {
            guard case .object(let c) = item, let controlID = c["id"]?.stringValue, let definition = catalog.controls[controlID],
                  let advisory = c["advisory"]?.boolValue, let parameters = c["parameters"]?.objectValue else { return nil }
            var rationale: String?
            if let r = c["rationale"] { guard let text = r.stringValue else { return nil }; rationale = text }
            controls.append(SelectedControl(definition: definition, advisory: advisory, parameters: parameters, rationale: rationale))
        }
        let profile = ResolvedProfile(id: id, title: title, version: version, description: description, chain: chain,
                                      controls: controls, files: files.map { directory + "/" + $0 }, sha256: sha256)
        return (profile, fingerprint, files)
    }

    static func definition(_ v: JSON) -> ControlDefinition? {
        guard case .object(let o) = v, let id = o["id"]?.stringValue, let title = o["title"]?.stringValue,
              let area = o["area"]?.stringValue.flatMap(Area.init(rawValue:)),
              let severity = o["severity"]?.stringValue.flatMap(Severity.init(rawValue:)),
              let rationale = o["rationale"]?.stringValue, let remediation = o["remediation"]?.stringValue,
              let file = o["file"]?.stringValue, let refs = o["references"],
              let cop = strings(refs["cop"]), let appendix4 = strings(refs["appendix4"]), let nist = strings(refs["nist"]), let cac = strings(refs["cac"]),
              let specs = o["parameters"]?.objectValue else { return nil }
        var parameters: [String: ParameterSpec] = [:]
        for (name, spec) in specs {
            guard let type = spec["type"]?.stringValue.flatMap(ParameterType.init(rawValue:)), let description = spec["description"]?.stringValue else { return nil }
            parameters[name] = ParameterSpec(type: type, description: description)
        }
        var check: Check?
        if let c = o["check"] { guard let decoded = self.check(c) else { return nil }; check = decoded }
        var appliesIf: Check?
        if let c = o["applies_if"] { guard let decoded = self.check(c) else { return nil }; appliesIf = decoded }
        var line: Int?
        if let l = o["line"] { guard let n = l.intValue else { return nil }; line = Int(n) }
        return ControlDefinition(id: id, title: title, area: area, severity: severity, rationale: rationale,
                                 references: References(cop: cop, appendix4: appendix4, nist: nist, cac: cac), parameters: parameters,
                                 check: check, appliesIf: appliesIf, remediation: remediation, file: file, line: line)
    }

    static func check(_ v: JSON) -> Check? {
        guard case .object(let o) = v, let kind = o["kind"]?.stringValue else { return nil }
        var meta = CheckMeta(when: o["when"]?.stringValue, describe: o["describe"]?.stringValue)
        if let a = o["if_absent"] { guard let status = a.stringValue.flatMap(Status.init(rawValue:)) else { return nil }; meta.ifAbsent = status }
        if let l = o["line"] { guard let n = l.intValue else { return nil }; meta.line = Int(n) }
        func children() -> [Check]? {
            guard let list = o["children"]?.arrayValue else { return nil }
            let out = list.compactMap(check)
            return out.count == list.count && !out.isEmpty ? out : nil
        }
        switch kind {
        case "all": return children().map { .all($0, meta) }
        case "any": return children().map { .any($0, meta) }
        case "leaf":
            guard let path = o["fact"]?.stringValue.flatMap(FactPath.init), let op = o["op"]?.stringValue.flatMap(Operator.init(rawValue:)) else { return nil }
            let operand: Operand
            if let literal = o["literal"] {
                operand = .literal(literal)
            } else if let name = o["param"]?.stringValue {
                operand = .param(name)
            } else if let site = o["site"]?.stringValue {
                operand = .site(site, fallback: o["default"])
            } else {
                return nil
            }
            return .leaf(path, op, operand, meta)
        default:
            guard let q = Quantifier(rawValue: kind), let path = o["fact"]?.stringValue.flatMap(FactPath.init),
                  let expect = o["expect"].flatMap(check), let status = o["if_empty"]?.stringValue.flatMap(Status.init(rawValue:)),
                  let reason = o["empty_reason"]?.stringValue else { return nil }
            var filter: Check?
            if let w = o["where"] { guard let decoded = check(w) else { return nil }; filter = decoded }
            return .quantified(q, path, filter: filter, expect: expect, ifEmpty: EmptyRule(status: status, reason: reason), meta)
        }
    }
}
