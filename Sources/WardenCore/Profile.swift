public import WardenFormats

/// Every control definition, read from `Profiles/controls/*.yaml`. Each control is defined once.
public struct Catalog: Sendable {
    public private(set) var controls: [String: ControlDefinition] = [:]
    /// RAND's measures that the controls cite (`Profiles/references/rand.yaml`); nil for a set
    /// without the file, whose controls then cite none.
    public private(set) var rand: RANDCatalogue?
    /// SHA-256 over the control files (by file name, in name order) and the RAND catalogue,
    /// part of every profile digest.
    /// (Of no files, as an empty catalog is: the SHA-256 of no bytes.)
    public internal(set) var digest: String = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(controls: [ControlDefinition] = []) {
        for c in controls { self.controls[c.id] = c }
    }

    /// SHA-256 over the control files by name and bytes, in name order: what a profile digest
    /// includes.
    public static func digest(files: [(path: String, text: String)], digester: Digester) throws(WardenError) -> String {
        try ProfileLoader.digest(files.sorted(by: { $0.path < $1.path }).map { (baseName($0.path), $0.text) }, digester: digester)
    }

    /// Decodes control files (`controls:` list of definitions) and checks every fact path their
    /// checks read, whole, against the probes' declared `facts` and every comparison against the
    /// type there (`FactContract`): a misspelt fact or member, or a comparison its fact cannot
    /// satisfy, is a load error naming file and line, not an `error` status at evaluation.
    public static func load(
        files: [(path: String, text: String)], rand: (path: String, text: String)? = nil, facts: [String: FactType], digester: Digester
    ) throws(WardenError) -> Catalog {
        let catalog = try load(files: files, rand: rand, knownFacts: Set(facts.keys), digester: digester)
        try FactContract.check(catalog, facts: facts)
        return catalog
    }

    /// Decodes control files, checking only that each fact path starts with one of `knownFacts`
    /// (the decoder's own tests, with facts no probe declares).
    package static func load(
        files: [(path: String, text: String)], rand: (path: String, text: String)? = nil, knownFacts: Set<String>, digester: Digester
    ) throws(WardenError) -> Catalog {
        var catalog = Catalog()
        let sorted = files.sorted(by: { $0.path < $1.path })
        catalog.digest = try digest(files: files, digester: digester)
        if let rand {
            catalog.rand = try RANDCatalogue.parse(rand.text, file: rand.path)
            catalog.digest = try ProfileLoader.digest(
                [("controls", catalog.digest), ("references/rand.yaml", rand.text)], digester: digester)
        }
        for file in sorted {
            let root = try YNode.parse(file.text, file: file.path)
            let top = try root.fields(allowed: ["controls"], required: ["controls"])
            for item in try top.required("controls").list() {
                let control = try ControlDefinition.decode(item, knownFacts: knownFacts, rand: catalog.rand)
                if let previous = catalog.controls[control.id] {
                    throw item.error("control \(control.id) is already defined at \(previous.file):\(previous.line ?? 0)")
                }
                catalog.controls[control.id] = control
            }
        }
        return catalog
    }
}

/// A control as a resolved profile selects it.
public struct SelectedControl: Sendable {
    public var definition: ControlDefinition
    /// Shown with its real status but outside the verdict (docs/ARCHITECTURE.md).
    public var advisory: Bool
    public var parameters: JSONObject
    /// Where each parameter's value comes from, as the profile that set it says.
    public var parameterSources: [String: ThresholdSource] = [:]
    /// Why this profile sets these thresholds.
    public var rationale: String?
}

/// A profile after `extends` is followed and every parameter is set.
public struct ResolvedProfile: Sendable {
    public var id: String
    public var title: String
    public var version: String
    public var description: String
    /// The RAND level whose goal the profile supports (`rand_level`; the most derived profile
    /// that says it), which `warden profiles coverage` measures against.
    public var randLevel: RANDCatalogue.Level?
    /// The profile and its ancestors, most derived first (`["sl4", "sl3"]`).
    public var chain: [String]
    /// Sorted by control id.
    public var controls: [SelectedControl]
    /// The profile files of the chain as they were read, most derived first.
    public var files: [String]

    /// SHA-256 over what the profile was resolved from: the control catalog's files and every
    /// profile file of the chain (by file name and bytes). Two hosts audited with the same
    /// profile files report the same digest wherever the files are installed.
    public var sha256: String
    /// The profile set it was resolved in (`ProfileStore.name`): `built-in` (embedded in the
    /// binary) or the directory named by `--profiles` or `WARDEN_PROFILES`; nil when resolved
    /// outside a store.
    public var set: String?
}

/// A profile file as written, before `extends` is applied.
struct ProfileDocument {
    struct Selection {
        var advisory: Bool?
        var exclude: Bool
        var parameters: [(name: String, value: JSON, node: YNode)]
        var sources: [(name: String, source: ThresholdSource, node: YNode)]
        var rationale: String?
        var node: YNode
        /// The control id as written, for errors about the id itself.
        var keyNode: YNode
    }

    var id: String
    var title: String
    var version: String
    var description: String
    var randLevel: RANDCatalogue.Level?
    var file: String
    var text: String
    var extends: (id: String, node: YNode)?
    var selections: [(id: String, selection: Selection)]

    static func decode(_ text: String, file: String) throws(WardenError) -> ProfileDocument {
        let root = try YNode.parse(text, file: file)
        let f = try root.fields(
            allowed: ["id", "title", "version", "rand_level", "description", "extends", "controls"],
            required: ["id", "title", "version", "controls"])
        let idNode = try f.required("id")
        let id = try idNode.string()
        guard let first = id.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "_"), first != UInt8(ascii: "-"),
            id.utf8.allSatisfy({
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            })
        else { throw idNode.error("profile id '\(id)' must be lower-case letters, digits, '.', '_' or '-'") }
        var doc = ProfileDocument(
            id: id, title: try f.required("title").nonEmptyString(), version: try f.required("version").nonEmptyString(),
            description: try f["description"]?.string() ?? "", file: file, text: text, extends: nil, selections: [])
        if let e = f["extends"] { doc.extends = (try e.nonEmptyString(), e) }
        if let l = f["rand_level"] {
            guard let level = RANDCatalogue.Level(rawValue: try l.string()) else {
                throw l.error("expected one of \(RANDCatalogue.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            doc.randLevel = level
        }
        for (controlID, keyNode, value) in try f.required("controls").keyedMapping() {
            var sel = Selection(advisory: nil, exclude: false, parameters: [], sources: [], rationale: nil, node: value, keyNode: keyNode)
            if !value.isNull {
                let sf = try value.fields(allowed: ["advisory", "exclude", "parameters", "sources", "rationale"])
                sel.advisory = try sf["advisory"]?.bool()
                sel.exclude = try sf["exclude"]?.bool() ?? false
                sel.rationale = try sf["rationale"]?.nonEmptyString()
                if let p = sf["parameters"] {
                    for (name, v) in try p.mapping() { sel.parameters.append((name, try v.json(), v)) }
                }
                if let s = sf["sources"] {
                    for (name, v) in try s.mapping() {
                        guard let source = ThresholdSource(rawValue: try v.string()) else {
                            throw v.error("expected one of \(ThresholdSource.allCases.map(\.rawValue).joined(separator: ", "))")
                        }
                        sel.sources.append((name, source, v))
                    }
                }
            }
            doc.selections.append((controlID, sel))
        }
        return doc
    }
}

public enum ProfileLoader {
    /// Resolves a profile and everything it extends. `source(name, fromFile)` returns the path
    /// and text of the profile called `name` (a built-in id or a path relative to the profile
    /// that extends it), or throws `.missing`.
    public static func resolve(
        _ name: String,
        catalog: Catalog,
        digester: Digester,
        source: (_ name: String, _ fromFile: String?) throws(WardenError) -> (path: String, text: String)
    ) throws(WardenError) -> ResolvedProfile {
        var chain: [ProfileDocument] = []
        var seen: [String: String] = [:]
        var next: (name: String, from: YNode?) = (name, nil)
        while true {
            let src: (path: String, text: String)
            do {
                src = try source(next.name, next.from?.file)
            } catch {
                if let from = next.from { throw from.error("cannot find the profile '\(next.name)' it extends: \(error.message)") }
                throw error
            }
            let doc = try ProfileDocument.decode(src.text, file: src.path)
            if let first = seen[doc.id] {
                throw next.from!.error("cyclic 'extends': \((chain.map(\.id) + [doc.id]).joined(separator: " → ")) (\(doc.id) is \(first))")
            }
            seen[doc.id] = src.path
            chain.append(doc)
            guard let e = doc.extends else { break }
            next = (e.id, e.node)
        }

        // Apply from the base profile down to the most derived one.
        var selected: [String: SelectedControl] = [:]
        var origin: [String: YNode] = [:]
        for doc in chain.reversed() {
            for (controlID, sel) in doc.selections {
                guard let def = catalog.controls[controlID] else {
                    let hint = closest(to: controlID, in: catalog.controls.keys).map { " (did you mean '\($0)'?)" } ?? ""
                    throw sel.keyNode.error("unknown control '\(controlID)'\(hint)")
                }
                if sel.exclude {
                    guard selected.removeValue(forKey: controlID) != nil else {
                        throw sel.keyNode.error("cannot exclude \(controlID): no parent profile selects it")
                    }
                    continue
                }
                var c = selected[controlID] ?? SelectedControl(definition: def, advisory: false, parameters: [:], rationale: nil)
                if let a = sel.advisory { c.advisory = a }
                if let r = sel.rationale { c.rationale = r }
                for p in sel.parameters {
                    guard let spec = def.parameters[p.name] else {
                        let hint = closest(to: p.name, in: def.parameters.keys).map { " (did you mean '\($0)'?)" } ?? ""
                        throw p.node.error("\(controlID) has no parameter '\(p.name)'\(hint)")
                    }
                    guard spec.type.accepts(p.value) else {
                        throw p.node.error("parameter '\(p.name)' of \(controlID) must be \(spec.type.rawValue), found \(p.value.typeName)")
                    }
                    c.parameters[p.name] = p.value
                    c.parameterSources[p.name] = nil  // a new value needs its own source
                }
                for s in sel.sources {
                    guard def.parameters[s.name] != nil else {
                        throw s.node.error("\(controlID) has no parameter '\(s.name)' to give a source for")
                    }
                    c.parameterSources[s.name] = s.source
                }
                selected[controlID] = c
                origin[controlID] = sel.keyNode
            }
        }
        for (id, c) in selected.sorted(by: { $0.key < $1.key }) {
            for (name, spec) in c.definition.parameters.sorted(by: { $0.key < $1.key }) where c.parameters[name] == nil {
                let message = "profile \(chain[0].id) does not set parameter '\(name)' of \(id) (\(spec.description))"
                guard let node = origin[id] else { throw WardenError(.malformed, field: "controls.\(id)", message) }
                throw node.error(message)
            }
        }
        let top = chain[0]
        let digest = try ProfileLoader.digest(
            catalogDigest: catalog.digest, chain: chain.map { (baseName($0.file), $0.text) }, digester: digester)
        return ResolvedProfile(
            id: top.id, title: top.title, version: top.version, description: top.description,
            randLevel: chain.lazy.compactMap(\.randLevel).first, chain: chain.map(\.id),
            controls: selected.values.sorted { $0.definition.id < $1.definition.id },
            files: chain.map(\.file), sha256: digest)
    }

    /// The digest of a profile resolved from these files (`catalogDigest`, then each profile file
    /// of the chain, most derived first, by file name and text).
    static func digest(catalogDigest: String, chain: [(name: String, text: String)], digester: Digester) throws(WardenError) -> String {
        try digest([("catalog", catalogDigest)] + chain, digester: digester)
    }

    /// SHA-256 over named texts: each name and text followed by a NUL byte.
    static func digest(_ parts: [(name: String, text: String)], digester: Digester) throws(WardenError) -> String {
        var bytes: [UInt8] = []
        for part in parts {
            bytes += part.name.utf8
            bytes.append(0)
            bytes += part.text.utf8
            bytes.append(0)
        }
        return try digester.sha256Hex(bytes)
    }
}

/// The last component of a path.
func baseName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
