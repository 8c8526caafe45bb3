internal import Glibc
internal import LocalFiles
internal import WardenCore
public import WardenFormats

/// The file operations a bundle needs: bounded reads that never follow a symbolic link, new files
/// only, a walk that reports every entry's kind, and removal of a staging tree. Bundles are
/// written and read here, never through the audited host's `HostRoot`.
public enum BundleFiles {
    public enum Kind: Sendable, Equatable {
        case file
        case directory
        case symlink
        case other
    }

    /// Reads a regular file, refusing symbolic links. Missing → `.missing`; too large → `.malformed`.
    public static func read(_ path: String, limit: Int) throws(WardenError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw WardenError(.malformed, file: path, "a symbolic link, not a regular file") }
            throw WardenError(e == ENOENT ? .missing : .io, file: path, String(cString: strerror(e)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw WardenError(.malformed, file: path, "not a regular file") }
        guard Int(st.st_size) <= limit else { throw WardenError(.malformed, file: path, "larger than \(limit) bytes") }
        // One byte more than the file's size is asked for (readToEnd): a file that grew since
        // fstat is refused, whatever it has become (envelopes do not grow).
        let size = Int(st.st_size)
        switch readToEnd(fd, limit: size, sizeHint: size) {
        case .failure(let e): throw WardenError(.io, file: path, String(cString: strerror(e.code)))
        case .success(let out):
            guard out.count <= size else { throw WardenError(.malformed, file: path, "changed size while being read") }
            return out
        }
    }

    /// Creates a new file (never replacing one) with these bytes.
    public static func create(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws(WardenError) {
        guard try createIfAbsent(path, bytes, mode: mode) else { throw WardenError(.io, file: path, String(cString: strerror(EEXIST))) }
    }

    /// Creates a new file with these bytes; false, leaving it as it is, when something is at `path` already.
    public static func createIfAbsent(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644) throws(WardenError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        if fd < 0, errno == EEXIST { return false }
        guard fd >= 0 else { throw WardenError(.io, file: path, String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                throw WardenError(.io, file: path, String(cString: strerror(e)))
            }
            offset += n
        }
        guard close(fd) == 0 else { throw WardenError(.io, file: path, String(cString: strerror(errno))) }
        return true
    }

    public static func makeDirectory(_ path: String) throws(WardenError) {
        guard mkdir(path, 0o755) == 0 else { throw WardenError(.io, file: path, String(cString: strerror(errno))) }
    }

    /// What is at `path`, without following a final symbolic link; nil when nothing is.
    public static func kind(_ path: String) -> Kind? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// The names in a directory, sorted (bytewise), without `.` and `..`.
    public static func list(_ dir: String) -> [String] { entries(dir).map(\.name) }

    /// The entries of a directory with their kinds, sorted by name (bytewise), without `.` and
    /// `..`. The kind comes from the directory entry itself (no `lstat` per file) where the
    /// filesystem records it; nil when the entry vanished before it could be looked at.
    static func entries(_ dir: String) -> [(name: String, kind: Kind?)] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [(name: String, kind: Kind?)] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name != "." && name != ".." else { continue }
            switch Int32(e.pointee.d_type) {
            case Int32(DT_REG): out.append((name, .file))
            case Int32(DT_DIR): out.append((name, .directory))
            case Int32(DT_LNK): out.append((name, .symlink))
            case Int32(DT_UNKNOWN): out.append((name, kind(dir + "/" + name)))
            default: out.append((name, .other))
            }
        }
        return out.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// Every entry below `root` other than directories, as paths relative to it with their kind
    /// (symbolic links are reported, never followed). Directories nested deeper than `maxDepth`
    /// are reported as `.other`.
    public static func walk(_ root: String, maxDepth: Int = 16) -> [(path: String, kind: Kind)] {
        var out: [(path: String, kind: Kind)] = []
        func visit(_ relative: String, depth: Int) {
            let dir = relative.isEmpty ? root : root + "/" + relative
            for (name, kind) in entries(dir) {
                let rel = relative.isEmpty ? name : relative + "/" + name
                switch kind {
                case .directory?:
                    if depth < maxDepth { visit(rel, depth: depth + 1) } else { out.append((rel, .other)) }
                case let k?:
                    out.append((rel, k))
                case nil:
                    break
                }
            }
        }
        visit("", depth: 0)
        return out
    }

    /// Removes a tree this process created (a bundle's staging directory), not following links.
    public static func removeTree(_ path: String) {
        if kind(path) == .directory {
            for name in list(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    public static func rename(_ from: String, _ to: String) throws(WardenError) {
        guard Glibc.rename(from, to) == 0 else { throw WardenError(.io, file: to, String(cString: strerror(errno))) }
    }

    public static func removeEmptyDirectory(_ path: String) throws(WardenError) {
        guard rmdir(path) == 0 else { throw WardenError(.io, file: path, String(cString: strerror(errno))) }
    }

    /// Expands glob patterns (`*`, `?`, `[…]`) the shell left alone; nil when nothing matches.
    public static func glob(_ pattern: String) -> [String]? {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return nil }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out
    }

    public static var processID: Int32 { getpid() }
}
