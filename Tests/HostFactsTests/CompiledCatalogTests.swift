import HostFacts
import Testing
import WardenCore
import WardenTestSupport

/// The compiled catalog and profiles must be the YAML ones exactly, and must never be used for
/// YAML they were not compiled from.
@Suite struct CompiledCatalogTests {
    static let facts = ProbeRegistry.factNames
    static let controls = Package.profiles + "/controls"

    /// A copy of the built-in profiles directory (without any compiled catalog in it).
    func profilesCopy() -> TempTree {
        let tree = TempTree()
        _ = run("/bin/cp", ["-a", Package.profiles + "/controls", Package.profiles + "/sl3.yaml", Package.profiles + "/sl4.yaml", tree.path])
        return tree
    }

    @Test func roundTripGivesTheYAMLCatalogExactly() throws {
        let yaml = try ProfileStore(directory: Package.profiles).catalog(knownFacts: Self.facts, compiled: false)
        let bytes = CompiledCatalog.encode(yaml, sourcesFingerprint: "f", knownFacts: Self.facts)
        let decoded = try #require(CompiledCatalog.decode(bytes, sourcesFingerprint: "f", knownFacts: Self.facts, directory: Self.controls))
        #expect(decoded.digest == yaml.digest)
        #expect(decoded.controls.count == yaml.controls.count)
        for (id, definition) in yaml.controls {
            #expect(decoded.controls[id] == definition, "\(id)")
        }
        // The same bytes every time (keys sorted, controls by id).
        #expect(CompiledCatalog.encode(decoded, sourcesFingerprint: "f", knownFacts: Self.facts) == bytes)
    }

    @Test func itIsRefusedForOtherSourcesOtherFactsOrDamage() throws {
        let yaml = try ProfileStore(directory: Package.profiles).catalog(knownFacts: Self.facts, compiled: false)
        let bytes = CompiledCatalog.encode(yaml, sourcesFingerprint: "f", knownFacts: Self.facts)
        #expect(CompiledCatalog.decode(bytes, sourcesFingerprint: "g", knownFacts: Self.facts, directory: Self.controls) == nil)
        #expect(CompiledCatalog.decode(bytes, sourcesFingerprint: "f", knownFacts: Self.facts.union(["new_fact"]), directory: Self.controls) == nil)
        #expect(CompiledCatalog.decode(Array(bytes.dropLast(10)), sourcesFingerprint: "f", knownFacts: Self.facts, directory: Self.controls) == nil)
        let text = String(decoding: bytes, as: UTF8.self)
        for damaged in [
            text.replacingFirst("warden.catalog/v3", with: "warden.catalog/v4"),
            text.replacingFirst(yaml.digest, with: "not a digest"),
            text.replacingFirst("\"kind\":\"leaf\"", with: "\"kind\":\"leap\""),
            text.replacingFirst("\"op\":\"eq\"", with: "\"op\":\"equals\""),
            text.replacingFirst("\"severity\":\"high\"", with: "\"severity\":\"dire\""),
        ] {
            #expect(damaged != text)
            #expect(CompiledCatalog.decode(Array(damaged.utf8), sourcesFingerprint: "f", knownFacts: Self.facts, directory: Self.controls) == nil)
        }
    }

    @Test func theStoreUsesItOnlyWhileTheYAMLIsUnchanged() throws {
        let tree = profilesCopy()
        let store = ProfileStore(directory: tree.path)
        let yaml = try store.catalog(knownFacts: Self.facts, compiled: false)
        let title = try #require(yaml.controls["ENC-001"]?.title)
        // A compiled catalog that differs in one title shows when it is read.
        var marked = yaml.controls.values.map { $0 }
        let i = try #require(marked.firstIndex { $0.id == "ENC-001" })
        marked[i].title = "compiled: " + title
        var files: [(path: String, text: String)] = []
        for name in LocalFile.list(store.controlsDirectory) { files.append((name, try LocalFile.readText(store.controlsDirectory + "/" + name))) }
        let compiled = CompiledCatalog.encode(Catalog(controls: marked), sourcesFingerprint: Catalog.fingerprint(files: files), knownFacts: Self.facts)
            .replacingDigest(with: yaml.digest)
        try LocalFile.write(compiled, to: store.compiledCatalogPath)
        #expect(try store.catalog(knownFacts: Self.facts).controls["ENC-001"]?.title == "compiled: " + title)
        #expect(try store.catalog(knownFacts: Self.facts, compiled: false).controls["ENC-001"]?.title == title)
        #expect(try store.resolve("sl4", catalog: try store.catalog(knownFacts: Self.facts)).sha256
                == (try store.resolve("sl4", catalog: yaml)).sha256)
        // Any edit to the YAML and the compiled catalog is no longer used.
        tree.file("controls/encryption.yaml", try LocalFile.readText(tree.path + "/controls/encryption.yaml") + "\n# edited\n")
        #expect(try store.catalog(knownFacts: Self.facts).controls["ENC-001"]?.title == title)
        // A damaged file is simply not used.
        tree.file(CompiledCatalog.fileName, "{")
        #expect(try store.catalog(knownFacts: Self.facts).controls["ENC-001"]?.title == title)
    }
}

/// What a resolved profile is made of, comparable.
func summary(_ p: ResolvedProfile) -> [String] {
    [p.id, p.title, p.version, p.description, p.chain.joined(separator: ","), p.files.joined(separator: ","), p.sha256]
        + p.controls.map { c in
            "\(c.definition.id) advisory=\(c.advisory) rationale=\(c.rationale ?? "-") parameters=\(String(decoding: JSON.object(c.parameters).serialized(), as: UTF8.self))"
        }
}

@Suite struct CompiledProfileTests {
    static let facts = ProbeRegistry.factNames

    @Test func compiledProfilesAreTheYAMLProfilesExactly() throws {
        let tree = TempTree()
        _ = run("/bin/cp", ["-a", Package.profiles + "/controls", Package.profiles + "/sl3.yaml", Package.profiles + "/sl4.yaml", tree.path])
        let store = ProfileStore(directory: tree.path)
        let yaml = try store.catalog(knownFacts: Self.facts, compiled: false)
        let expected = try ["sl3", "sl4"].map { try store.resolve($0, catalog: yaml) }
        let (_, written) = try store.compile(knownFacts: Self.facts)
        #expect(written == ["sl3", "sl4"])
        let (catalog, profiles) = try store.load(["sl3", "sl4"], knownFacts: Self.facts)
        #expect(catalog.digest == yaml.digest)
        #expect(profiles.map(summary) == expected.map(summary))
        for (p, e) in zip(profiles, expected) {
            #expect(p.controls.map(\.definition) == e.controls.map(\.definition))
        }
    }

    @Test func aCompiledProfileIsUsedOnlyWhileItsFilesAreUnchanged() throws {
        let tree = TempTree()
        _ = run("/bin/cp", ["-a", Package.profiles + "/controls", Package.profiles + "/sl3.yaml", Package.profiles + "/sl4.yaml", tree.path])
        let store = ProfileStore(directory: tree.path)
        try store.compile(knownFacts: Self.facts)
        // Mark the compiled profiles, so that their use shows.
        let compiled = try LocalFile.readText(store.compiledCatalogPath)
        let title = try #require(try store.load(["sl4"], knownFacts: Self.facts).profiles.first?.title)
        tree.file(CompiledCatalog.fileName, compiled.replacingFirst("\"title\":\"\(title)\"", with: "\"title\":\"compiled\""))
        #expect(try store.load(["sl4"], knownFacts: Self.facts).profiles[0].title == "compiled")
        // A profile given as a file is always read from it.
        #expect(try store.load([tree.path + "/sl4.yaml"], knownFacts: Self.facts).profiles[0].title == title)
        // An edit to a profile it extends: SL4 is resolved from the YAML again.
        tree.file("sl3.yaml", try LocalFile.readText(tree.path + "/sl3.yaml") + "\n# edited\n")
        let reloaded = try store.load(["sl4"], knownFacts: Self.facts).profiles[0]
        #expect(reloaded.title == title)
        #expect(reloaded.sha256 == (try store.resolve("sl4", catalog: try store.catalog(knownFacts: Self.facts, compiled: false))).sha256)
        // A missing profile file is an error, compiled or not.
        _ = run("/bin/rm", [tree.path + "/sl4.yaml"])
        #expect(throws: WardenError.self) { try store.load(["sl4"], knownFacts: Self.facts) }
    }
}

extension [UInt8] {
    /// The compiled bytes with their `sources_sha256` set to `digest`.
    func replacingDigest(with digest: String) -> [UInt8] {
        guard var json = try? JSON.parse(self), case .object(var o) = json else { return self }
        o["sources_sha256"] = .string(digest)
        json = .object(o)
        return json.serialized()
    }
}
