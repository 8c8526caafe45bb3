import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenProfiles
import WardenTestSupport

/// The built-in profile set is the YAML under Profiles/, embedded in the binary at build time
/// (Sources/WardenProfiles/Embedded.swift, written by Scripts/embed-profiles): it must hold
/// exactly the files there, so that what the other tests check (the repository's YAML) is what
/// a binary evaluates with.
@Suite struct EmbeddedProfilesTests {
    @Test func theBuiltInSetIsTheRepositorysYAML() throws {
        let disk = ProfileStore(directory: Package.profiles)
        let builtIn = ProfileStore.builtIn
        let onDisk = try disk.controlFiles().map { ("Profiles/controls/" + $0.path.split(separator: "/").last!, $0.text) }
        let embedded = try builtIn.controlFiles()
        let stale = "Sources/WardenProfiles/Embedded.swift differs from Profiles/: run Scripts/embed-profiles"
        #expect(embedded.map(\.path) == onDisk.map(\.0), "\(stale)")
        for (e, d) in zip(embedded, onDisk) { #expect(e.text == d.1, "\(e.path): \(stale)") }
        #expect(builtIn.profileIDs == disk.profileIDs, "\(stale)")
        #expect(try builtIn.randFile()?.text == disk.randFile()?.text, "references/rand.yaml: \(stale)")
        for id in disk.profileIDs {
            #expect(try builtIn.profileFile(id)?.text == disk.profileFile(id)?.text, "\(id): \(stale)")
        }
    }

    /// The same digests as the files on disk give (they name files by their base names), and
    /// the set each profile was resolved in.
    @Test func builtInProfilesResolveAsTheFilesDo() throws {
        let disk = ProfileStore(directory: Package.profiles)
        let (diskCatalog, diskProfiles) = try disk.load(["sl3", "sl4"], facts: ProbeRegistry.factTypes)
        let (catalog, profiles) = try ProfileStore.builtIn.load(["sl3", "sl4"], facts: ProbeRegistry.factTypes)
        #expect(catalog.digest == diskCatalog.digest)
        #expect(catalog.controls.keys.sorted() == diskCatalog.controls.keys.sorted())
        for (p, d) in zip(profiles, diskProfiles) {
            #expect(p.sha256 == d.sha256)
            // Each definition names its file: Profiles/controls/NAME.yaml built in, its path on disk.
            func named(_ c: SelectedControl) -> ControlDefinition {
                var d = c.definition
                d.file = "Profiles/controls/" + (d.file.split(separator: "/").last.map(String.init) ?? "")
                return d
            }
            #expect(p.controls.map(named) == d.controls.map(named))
            #expect(p.controls.map(\.definition.file) == p.controls.map(named).map(\.file))
            #expect(p.set == "built-in")
            #expect(d.set == Package.profiles)
        }
        #expect(profiles[1].files == ["Profiles/sl4.yaml", "Profiles/sl3.yaml"])
    }

    /// A profile file on disk may extend a built-in profile by id; a missing id names the known ones.
    @Test func aProfileFileExtendsABuiltInProfile() throws {
        let tree = TempTree()
        tree.file("site-sl4.yaml", "id: site-sl4\ntitle: Site SL4\nversion: \"1\"\nextends: sl4\ncontrols:\n  LOG-004: {advisory: false}\n")
        tree.file("bad.yaml", "id: bad\ntitle: Bad\nversion: \"1\"\nextends: sl9\ncontrols: {}\n")
        let catalog = try ProfileStore.builtIn.catalog(facts: ProbeRegistry.factTypes)
        let profile = try ProfileStore.builtIn.resolve(tree.path + "/site-sl4.yaml", catalog: catalog)
        #expect(profile.chain == ["site-sl4", "sl4", "sl3"])
        #expect(profile.files == [tree.path + "/site-sl4.yaml", "Profiles/sl4.yaml", "Profiles/sl3.yaml"])
        #expect(throws: WardenError.self) { try ProfileStore.builtIn.resolve(tree.path + "/bad.yaml", catalog: catalog) }
        do {
            _ = try ProfileStore.builtIn.resolve(tree.path + "/bad.yaml", catalog: catalog)
        } catch {
            #expect(error.message.contains("no built-in profile 'sl9' (known: sl3, sl4)"), "\(error)")
        }
    }
}
