internal import Glibc
internal import OpenSSLSigning
public import WardenCore
public import WardenFormats
internal import WardenProfiles

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
        let (directory, field): (String?, String) = if let option { (option, "--profiles") } else {
            (getenv("WARDEN_PROFILES").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }, "WARDEN_PROFILES")
        }
        guard let directory else { return .builtIn }
        guard LocalFile.isDirectory(directory) else { throw WardenError(.missing, file: directory, field: field, "not a directory of profiles") }
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
    public func catalog(facts: [String: FactType] = ProbeRegistry.factTypes) throws(WardenError) -> Catalog {
        try Catalog.load(files: try controlFiles(), facts: facts, digester: .libcrypto)
    }

    /// The catalog and the profiles `names` (profile ids of this set, or paths), resolved.
    public func load(_ names: [String], facts: [String: FactType] = ProbeRegistry.factTypes) throws(WardenError) -> (catalog: Catalog, profiles: [ResolvedProfile]) {
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
        var profile = try ProfileLoader.resolve(name, catalog: catalog, digester: .libcrypto) { (n: String, from: String?) throws(WardenError) -> (path: String, text: String) in
            if Self.isProfileID(n) {
                guard let file = try profileFile(n) else {
                    throw WardenError(.missing, "no \(directory == nil ? "built-in profile" : "profile in \(name)") '\(n)' (known: \(profileIDs.joined(separator: ", ")))")
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
