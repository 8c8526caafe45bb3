internal import CShim
internal import Glibc
internal import OpenSSLSigning
public import WardenCore

/// Warden's own input files (profiles, site files), as opposed to the audited host's files,
/// which are only ever read through `HostRoot`. Reads are bounded all the same.
public enum LocalFile {
    public static let limit = 8 << 20

    /// Reads a file as UTF-8. Missing → `.missing`; unreadable, too large or not UTF-8 → `.malformed`/`.io`.
    public static func readText(_ path: String, limit: Int = LocalFile.limit) throws(WardenError) -> String {
        let bytes = try read(path, limit: limit)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw WardenError(.malformed, file: path, "not valid UTF-8") }
        return text
    }

    public static func read(_ path: String, limit: Int = LocalFile.limit) throws(WardenError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw WardenError(e == ENOENT ? .missing : .io, file: path, String(cString: strerror(e)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw WardenError(.io, file: path, "not a regular file") }
        switch readToEnd(fd, limit: limit, sizeHint: Int(st.st_size)) {
        case .failure(let e): throw WardenError(.io, file: path, String(cString: strerror(e.code)))
        case .success(let out):
            if out.count > limit { throw WardenError(.malformed, file: path, "larger than \(limit) bytes") }
            return out
        }
    }

    /// Writes atomically: a temporary file beside the target, then rename. On any failure the
    /// target is as it was and no temporary file is left.
    public static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644) throws(WardenError) {
        let temporary = try writeTemporary(bytes, for: path, mode: mode)
        try rename(temporary, to: path)
    }

    /// The first half of `write`: the bytes in a temporary file beside `path`, synced to disk,
    /// for `rename` to put in place (so that several files can be written first and put in
    /// place together). Returns the temporary file's path; removes it on failure.
    public static func writeTemporary(_ bytes: [UInt8], for path: String, mode: UInt32 = 0o644) throws(WardenError) -> String {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode_t(mode))
        guard fd >= 0 else { throw writeError(path, errno) }
        var offset = 0
        var failure: Int32 = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            offset += n
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw writeError(path, failure)
        }
        return temporary
    }

    /// Puts a file made by `writeTemporary` in place, and syncs its directory so that the new
    /// name survives a crash. Removes the temporary file on failure.
    public static func rename(_ temporary: String, to path: String) throws(WardenError) {
        guard Glibc.rename(temporary, path) == 0 else {
            let e = errno
            unlink(temporary)
            throw writeError(path, e)
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// `PATH.tmp-PID`: beside the target (a rename never crosses filesystems), never a name
    /// Warden reads back as a finding or a history entry.
    public static func temporaryName(for path: String) -> String { path + ".tmp-\(getpid())" }

    private static func writeError(_ path: String, _ code: Int32) -> WardenError {
        WardenError(.io, file: path, "cannot write: \(String(cString: strerror(code))); the previous file, if any, is unchanged")
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    public static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// An errno, as a `Result` failure.
struct Errno: Error {
    let code: Int32
}

/// Reads `fd` to its end, or to `limit + 1` bytes (so that the caller can tell a file over the
/// limit), into one array sized from `sizeHint` (the file's size, when it has one) and grown
/// when the file is longer, as /proc's files are: no zero-filled scratch buffer, no copy.
func readToEnd(_ fd: Int32, limit: Int, sizeHint: Int) -> Result<[UInt8], Errno> {
    var result: [UInt8] = []
    var chunk = min(max(sizeHint + 1, 4096), limit + 1)
    while result.count <= limit {
        var failure: Int32 = 0
        var ended = false
        let want = min(chunk, limit + 1 - result.count)
        let part = [UInt8](unsafeUninitializedCapacity: want) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            while count < want {
                let n = Glibc.read(fd, base + count, want - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { ended = true; return }
                count += n
            }
        }
        if failure != 0 { return .failure(Errno(code: failure)) }
        if result.isEmpty { result = part } else { result.append(contentsOf: part) }
        if ended { break }
        chunk *= 2
    }
    return .success(result)
}

/// Finds and loads the control catalog and profiles (`Profiles/` in the source tree, or
/// `share/warden/profiles` beside an installed binary, or `$WARDEN_PROFILES`).
public struct ProfileStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Locates the built-in profiles: `$WARDEN_PROFILES`, else the first `Profiles` (or
    /// `share/warden/profiles`) found walking up from the executable's directory.
    public static func builtIn() throws(WardenError) -> ProfileStore {
        if let env = getenv("WARDEN_PROFILES").map({ String(cString: $0) }), !env.isEmpty {
            guard LocalFile.isDirectory(env) else { throw WardenError(.missing, file: env, "WARDEN_PROFILES is not a directory") }
            return ProfileStore(directory: env)
        }
        guard var dir = executablePath() else {
            throw WardenError(.missing, "cannot locate the warden executable to find its profiles; set WARDEN_PROFILES")
        }
        while let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            dir = String(dir[..<slash])
            for candidate in [dir + "/Profiles", dir + "/share/warden/profiles"] where LocalFile.isDirectory(candidate + "/controls") {
                return ProfileStore(directory: candidate)
            }
        }
        throw WardenError(.missing, "cannot find the built-in profiles (Profiles/controls) above the warden executable; set WARDEN_PROFILES")
    }

    /// The running executable: /proc/self/exe, else (a root without /proc) the path it was
    /// started by, which the kernel passes in the auxiliary vector (`AT_EXECFN`), made absolute.
    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        guard let name = warden_execfn(), let resolved = realpath(name, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public var controlsDirectory: String { directory + "/controls" }

    /// The ids of the built-in profiles (`sl3`, `sl4`).
    public var profileIDs: [String] {
        LocalFile.list(directory).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
    }

    /// The control catalog: from `catalog.compiled.json` when it was compiled from exactly these
    /// YAML files (`compiled: false` reads the YAML regardless, as `profiles lint` must).
    public func catalog(knownFacts: Set<String>, compiled: Bool = true) throws(WardenError) -> Catalog {
        let (files, contents) = try sources(knownFacts: knownFacts, compiled: compiled)
        if let contents { return contents.catalog }
        return try Catalog.load(files: files, knownFacts: knownFacts, digester: .libcrypto)
    }

    /// The catalog and the profiles `names` (built-in ids or paths), resolved. A built-in profile
    /// comes from the compiled file when that was compiled from exactly the files present: the
    /// same catalog and profiles the YAML gives, without decoding it.
    public func load(_ names: [String], knownFacts: Set<String>) throws(WardenError) -> (catalog: Catalog, profiles: [ResolvedProfile]) {
        let (files, contents) = try sources(knownFacts: knownFacts, compiled: true)
        let catalog: Catalog
        if let contents { catalog = contents.catalog } else { catalog = try Catalog.load(files: files, knownFacts: knownFacts, digester: .libcrypto) }
        var profiles: [ResolvedProfile] = []
        for name in names {
            if let contents, Self.isBuiltInName(name),
               let profile = contents.profile(name, read: { try? LocalFile.readText(directory + "/" + $0) }) {
                profiles.append(profile)
            } else {
                profiles.append(try resolve(name, catalog: catalog))
            }
        }
        return (catalog, profiles)
    }

    /// The control files, and the compiled file's contents when it matches them.
    private func sources(knownFacts: Set<String>, compiled: Bool) throws(WardenError) -> ([(path: String, text: String)], CompiledCatalog.Contents?) {
        var files: [(path: String, text: String)] = []
        for name in LocalFile.list(controlsDirectory) where name.hasSuffix(".yaml") {
            let path = controlsDirectory + "/" + name
            files.append((path, try LocalFile.readText(path)))
        }
        guard !files.isEmpty else { throw WardenError(.missing, file: controlsDirectory, "no control definitions (*.yaml)") }
        guard compiled, let bytes = try? LocalFile.read(compiledCatalogPath, limit: 8 << 20) else { return (files, nil) }
        let contents = CompiledCatalog.decode(bytes, sourcesFingerprint: Catalog.fingerprint(files: files), knownFacts: knownFacts,
                                              directory: controlsDirectory, profilesDirectory: directory)
        return (files, contents)
    }

    /// Compiles the catalog and every built-in profile from the YAML (which must load cleanly)
    /// into `path` (default: `catalog.compiled.json` here). Returns the catalog and the names of
    /// the profiles written.
    @discardableResult
    public func compile(knownFacts: Set<String>, to path: String? = nil) throws(WardenError) -> (catalog: Catalog, profiles: [String]) {
        let (files, _) = try sources(knownFacts: knownFacts, compiled: false)
        let catalog = try Catalog.load(files: files, knownFacts: knownFacts, digester: .libcrypto)
        var profiles: [String: (profile: ResolvedProfile, fingerprint: String)] = [:]
        for id in profileIDs {
            let (profile, read) = try resolveReading(id, catalog: catalog)
            // Only a profile resolved from files of this directory alone can be checked by name;
            // its fingerprint is over the very texts it was resolved from.
            guard read.allSatisfy({ $0.path.hasPrefix(directory + "/") && !$0.path.dropFirst(directory.count + 1).contains("/") }) else { continue }
            profiles[id] = (profile, Fingerprint.of(read.map { (String($0.path.dropFirst(directory.count + 1)), $0.text) }))
        }
        let bytes = CompiledCatalog.encode(catalog, sourcesFingerprint: Catalog.fingerprint(files: files), profiles: profiles, knownFacts: knownFacts)
        try LocalFile.write(bytes, to: path ?? compiledCatalogPath)
        return (catalog, profiles.keys.sorted())
    }

    /// Whether `name` names a built-in profile rather than a file.
    static func isBuiltInName(_ name: String) -> Bool {
        !name.contains("/") && !name.hasSuffix(".yaml")
    }

    /// Where `warden profiles compile` writes the compiled catalog by default.
    public var compiledCatalogPath: String { directory + "/" + CompiledCatalog.fileName }

    /// Resolves `name`: a built-in id (`sl4`) or a path to a profile file. A profile's `extends`
    /// names a built-in id or a path relative to the extending file.
    public func resolve(_ name: String, catalog: Catalog) throws(WardenError) -> ResolvedProfile {
        try resolveReading(name, catalog: catalog).profile
    }

    /// `resolve`, with the profile files as they were read for it, most derived first.
    private func resolveReading(_ name: String, catalog: Catalog) throws(WardenError) -> (profile: ResolvedProfile, read: [(path: String, text: String)]) {
        let dir = directory
        var read: [(path: String, text: String)] = []
        let profile = try ProfileLoader.resolve(name, catalog: catalog, digester: .libcrypto) { (n: String, from: String?) throws(WardenError) -> (path: String, text: String) in
            let path: String
            if !Self.isBuiltInName(n) {
                if n.hasPrefix("/") || from == nil {
                    path = n
                } else {
                    let base = from!.lastIndex(of: "/").map { String(from![..<$0]) } ?? "."
                    path = base + "/" + n
                }
            } else {
                path = dir + "/" + n + ".yaml"
                guard access(path, F_OK) == 0 else {
                    throw WardenError(.missing, "no built-in profile '\(n)' (known: \(LocalFile.list(dir).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.joined(separator: ", ")))")
                }
            }
            let text = try LocalFile.readText(path)
            read.append((path, text))
            return (path, text)
        }
        return (profile, read)
    }
}
