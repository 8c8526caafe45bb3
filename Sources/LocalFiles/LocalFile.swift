internal import Glibc
public import WardenFormats

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

    /// Creates `path` and its missing parents with `mode` (as `mkdir -p`); an error names the
    /// directory and `field`, the option that gave the path.
    public static func createDirectories(_ path: String, mode: UInt32, field: String) throws(WardenError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0, errno != EEXIST {
                throw WardenError(.io, file: current, field: field, String(cString: strerror(errno)))
            }
        }
        guard isDirectory(path) else { throw WardenError(.io, file: path, field: field, "not a directory") }
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
package struct Errno: Error {
    package let code: Int32
}

/// Reads `fd` to its end, or to `limit + 1` bytes (so that the caller can tell a file over the
/// limit), into one array sized from `sizeHint` (the file's size, when it has one) and grown
/// when the file is longer, as /proc's files are: no zero-filled scratch buffer, no copy.
package func readToEnd(_ fd: Int32, limit: Int, sizeHint: Int) -> Result<[UInt8], Errno> {
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
                if n == 0 {
                    ended = true
                    return
                }
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
