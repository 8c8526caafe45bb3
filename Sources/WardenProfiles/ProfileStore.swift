internal import Glibc
internal import LocalFiles
internal import OpenSSLSigning
public import WardenCore
public import WardenFormats

/// The control catalog and the profiles Warden evaluates with: the set built into the binary (the
/// YAML under `Profiles/`, embedded at build time: `EmbeddedProfiles`), or another set in a
/// directory (`controls/*.yaml` and profile files beside it) named explicitly by `--profiles DIR`
/// or `$WARDEN_PROFILES`. Both are decoded by the same loader; nothing found on disk replaces the
/// built-in set unless named.
public struct ProfileStore: Sendable {
    /// The directory of another set; nil for the built-in one.
    public let directory: String?

    /// The set built into the binary.
    public static let builtIn = ProfileStore(directory: nil)

    /// Another set: `directory/controls/*.yaml` and `directory/<id>.yaml`.
    public init(directory: String?) {
        self.directory = directory
    }

    /// `--profiles DIR` when given, else `$WARDEN_PROFILES` when set, else the built-in set.
    public static func selected(_ option: String?) throws(WardenError) -> ProfileStore {
        let (directory, field): (String?, String) =
            if let option { (option, "--profiles") } else {
                (getenv("WARDEN_PROFILES").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }, "WARDEN_PROFILES")
            }
        guard let directory else { return .builtIn }
        guard LocalFile.isDirectory(directory) else {
            throw WardenError(.missing, file: directory, field: field, "not a directory of profiles")
        }
        return ProfileStore(directory: directory)
    }

    /// What findings record as the profile set: `built-in`, or the directory.
    public var name: String { directory ?? "built-in" }

    /// The control files, in path order.
    package func controlFiles() throws(WardenError) -> [(path: String, text: String)] {
        guard let directory else { return EmbeddedProfiles.files.filter { $0.path.hasPrefix(Self.embeddedControls) } }
        var files: [(path: String, text: String)] = []
        let controls = directory + "/controls"
        for name in LocalFile.list(controls) where name.hasSuffix(".yaml") {
            files.append((controls + "/" + name, try LocalFile.readText(controls + "/" + name)))
        }
        guard !files.isEmpty else { throw WardenError(.missing, file: controls, "no control definitions (*.yaml)") }
        return files
    }

    /// The ids of the set's profiles (`sl3`, `sl4`).
    public var profileIDs: [String] {
        guard let directory else {
            return EmbeddedProfiles.files.compactMap { Self.embeddedProfileID($0.path) }
        }
        return LocalFile.list(directory).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
    }

    /// The profile `id` of the set: its path and text, or nil when the set has none.
    package func profileFile(_ id: String) throws(WardenError) -> (path: String, text: String)? {
        guard let directory else { return EmbeddedProfiles.files.first { Self.embeddedProfileID($0.path) == id } }
        let path = directory + "/" + id + ".yaml"
        guard access(path, F_OK) == 0 else { return nil }
        return (path, try LocalFile.readText(path))
    }

    static let embeddedControls = "Profiles/controls/"

    static func embeddedProfileID(_ path: String) -> String? {
        guard path.hasPrefix("Profiles/"), path.hasSuffix(".yaml") else { return nil }
        let name = path.dropFirst("Profiles/".count).dropLast(".yaml".count)
        return name.contains("/") ? nil : String(name)
    }

    /// The control catalog.
    public func catalog(facts: [String: FactType]) throws(WardenError) -> Catalog {
        try Catalog.load(files: try controlFiles(), rand: try randFile(), facts: facts, digester: .libcrypto)
    }

    static let randPath = "references/rand.yaml"

    /// RAND's catalogue of measures (`references/rand.yaml`), or nil for a set without one.
    package func randFile() throws(WardenError) -> (path: String, text: String)? {
        guard let directory else { return EmbeddedProfiles.files.first { $0.path == "Profiles/" + Self.randPath } }
        let path = directory + "/" + Self.randPath
        guard access(path, F_OK) == 0 else { return nil }
        return (path, try LocalFile.readText(path))
    }

    /// The catalog and the profiles `names` (profile ids of this set, or paths), resolved.
    public func load(_ names: [String], facts: [String: FactType]) throws(WardenError) -> (catalog: Catalog, profiles: [ResolvedProfile]) {
        let catalog = try catalog(facts: facts)
        var profiles: [ResolvedProfile] = []
        for name in names { profiles.append(try resolve(name, catalog: catalog)) }
        return (catalog, profiles)
    }

    /// Whether `name` names a profile of the set rather than a file.
    static func isProfileID(_ name: String) -> Bool {
        !name.contains("/") && !name.hasSuffix(".yaml")
    }

    /// Resolves `name`: a profile id of this set (`sl4`) or a path to a profile file. A profile's
    /// `extends` names a profile id or a path relative to the extending file (a built-in profile
    /// extends only ids: it has no place on disk).
    public func resolve(_ name: String, catalog: Catalog) throws(WardenError) -> ResolvedProfile {
        var embedded: Set<String> = []
        var profile = try ProfileLoader.resolve(name, catalog: catalog, digester: .libcrypto) {
            (n: String, from: String?) throws(WardenError) -> (path: String, text: String) in
            if Self.isProfileID(n) {
                guard let file = try profileFile(n) else {
                    throw WardenError(
                        .missing,
                        "no \(directory == nil ? "built-in profile" : "profile in \(name)") '\(n)' (known: \(profileIDs.joined(separator: ", ")))"
                    )
                }
                if directory == nil { embedded.insert(file.path) }
                return file
            }
            if let from, embedded.contains(from) {
                throw WardenError(.malformed, file: from, field: "extends", "a built-in profile extends only profile ids, not '\(n)'")
            }
            let path: String
            if n.hasPrefix("/") || from == nil {
                path = n
            } else {
                let base = from!.lastIndex(of: "/").map { String(from![..<$0]) } ?? "."
                path = base + "/" + n
            }
            return (path, try LocalFile.readText(path))
        }
        profile.set = self.name
        return profile
    }
}
