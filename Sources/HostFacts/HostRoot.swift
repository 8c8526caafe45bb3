internal import CShim
internal import Glibc
internal import LocalFiles
internal import OpenSSLSigning
internal import Synchronization
public import WardenCore
internal import WardenFormats

/// A failed read of the audited host: the path (as seen inside the root) and the errno.
public struct HostError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var message: String

    public init(path: String, errno: Int32, message: String? = nil) {
        self.path = path
        self.errno = errno
        self.message = message ?? String(cString: strerror(errno))
    }

    public var description: String { "\(path): \(message)" }
    public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR }
    public var isPermissionDenied: Bool { errno == EACCES || errno == EPERM }
}

/// What `stat` says about a path, without the platform types.
public struct FileInfo: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case regular = "file"
        case directory, symlink, block, character, fifo, socket, unknown
    }

    public var kind: Kind
    /// Permission bits, including setuid/setgid/sticky (07777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var device: UInt64
    public var inode: UInt64
    /// For block and character devices: the device number they stand for.
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32

    init(_ s: stat) {
        switch s.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        case S_IFBLK: kind = .block
        case S_IFCHR: kind = .character
        case S_IFIFO: kind = .fifo
        case S_IFSOCK: kind = .socket
        default: kind = .unknown
        }
        mode = UInt32(s.st_mode) & 0o7777
        uid = s.st_uid
        gid = s.st_gid
        size = Int64(s.st_size)
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
        rdevMajor = UInt32(truncatingIfNeeded: ((s.st_rdev >> 8) & 0xfff) | ((s.st_rdev >> 32) & ~0xfff))
        rdevMinor = UInt32(truncatingIfNeeded: (s.st_rdev & 0xff) | ((s.st_rdev >> 12) & ~0xff))
    }
}

/// Records every file read during an audit, with its SHA-256, for the facts document.
public final class ReadLog: Sendable {
    private let entries = Mutex<[String: String]>([:])

    public init() {}

    func record(_ path: String, _ digest: String) {
        entries.withLock { $0[path] = digest }
    }

    public var snapshot: [String: String] { entries.withLock { $0 } }
}

/// The one seam through which every read of the audited host goes (docs/ARCHITECTURE.md).
///
/// Paths are given as the host sees them (`/etc/ssh/sshd_config`) and are resolved inside the
/// root as chroot would: an absolute symlink target is re-rooted, `..` never climbs above the
/// root. Reads are bounded, never block on FIFOs or devices, and errors carry the path and errno.
///
/// What is read is opened relative to its directory, itself opened one component at a time from
/// the root with `O_NOFOLLOW`: a directory replaced by a symlink between `resolve` and the read
/// (a host changing under the audit, or an attacker racing it) makes the read fail; it never
/// leads out of the root. `resolve` itself only looks at names and link texts, and whatever it
/// returns is re-rooted.
public struct HostRoot: Sendable {
    /// The directory on this machine that stands for `/` of the audited host.
    public let path: String
    public let log: ReadLog

    /// Ordinary files larger than this are refused (configuration files are far smaller).
    public static let defaultLimit = 4 << 20
    /// The most a block-device read may take (LUKS headers live in the first 16 MiB).
    public static let deviceLimit = 16 << 20
    /// Symlinks followed in one resolution before giving up (Linux uses 40).
    static let maxLinks = 40

    /// Opens a root. `path` must be an existing directory; it is made absolute and canonical.
    public init(_ path: String, log: ReadLog = ReadLog()) throws(HostError) {
        guard let real = realpath(path, nil) else { throw HostError(path: path, errno: errno) }
        defer { free(real) }
        let canonical = String(cString: real)
        var st = stat()
        guard lstat(canonical, &st) == 0 else { throw HostError(path: path, errno: errno) }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw HostError(path: path, errno: ENOTDIR) }
        // A root this process cannot list (a non-root user, a 0700 image mount) would make every
        // probe fail one by one: refuse it once, with the reason.
        let fd = open(canonical, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw HostError(path: path, errno: errno) }
        close(fd)
        self.path = canonical
        self.log = log
    }

    /// True when auditing the running host (`--root /`).
    public var isLive: Bool { path == "/" }
    public var mode: AuditMode { isLive ? .live : .offline }

    /// The path on this machine for an already-resolved path inside the root.
    public func hostPath(_ resolved: String) -> String {
        path == "/" ? resolved : path + (resolved == "/" ? "" : resolved)
    }

    /// Resolves `virtual` inside the root, following symlinks the way the kernel would inside a
    /// chroot. With `followFinal: false` the last component is not followed (lstat semantics).
    /// A missing last component is not an error: its resolved path is returned.
    public func resolve(_ virtual: String, followFinal: Bool = true) throws(HostError) -> String {
        var pending: [Substring] = HostRoot.components(virtual).reversed()
        // The resolved path so far ("" for the root), and its length before each component.
        var resolved = ""
        var lengths: [Int] = []
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if let n = lengths.popLast() { resolved = String(Substring(resolved.utf8.prefix(n))) }
                continue
            }
            let isLast = pending.isEmpty
            let candidate = resolved + "/" + component
            if isLast && !followFinal {
                lengths.append(resolved.utf8.count)
                resolved = candidate
                break
            }
            var st = stat()
            if lstat(hostPath(candidate), &st) != 0 {
                let e = errno
                if isLast && e == ENOENT {
                    lengths.append(resolved.utf8.count)
                    resolved = candidate
                    break
                }
                throw HostError(path: virtual, errno: e)
            }
            if st.st_mode & S_IFMT == S_IFLNK {
                links += 1
                guard links <= HostRoot.maxLinks else { throw HostError(path: virtual, errno: ELOOP) }
                let target = try readLinkRaw(candidate, reportAs: virtual)
                if target.hasPrefix("/") {
                    resolved = ""
                    lengths = []
                }
                pending.append(contentsOf: HostRoot.components(target).reversed())
            } else {
                if !isLast && st.st_mode & S_IFMT != S_IFDIR { throw HostError(path: virtual, errno: ENOTDIR) }
                lengths.append(resolved.utf8.count)
                resolved = candidate
            }
        }
        return resolved.isEmpty ? "/" : resolved
    }

    /// The non-empty components of a path, split at "/".
    static func components(_ path: String) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
    }

    private func readLinkRaw(_ resolvedPath: String, reportAs: String) throws(HostError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(hostPath(resolvedPath), &buffer, Int(PATH_MAX))
        guard n >= 0 else { throw HostError(path: reportAs, errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The target of a symlink, as written (not resolved).
    public func readLink(_ virtual: String) throws(HostError) -> String {
        try readLinkRaw(try resolve(virtual, followFinal: false), reportAs: virtual)
    }

    /// stat (following symlinks inside the root) or, with `followFinal: false`, lstat.
    public func info(_ virtual: String, followFinal: Bool = true) throws(HostError) -> FileInfo {
        let (directory, name) = try openParent(try resolve(virtual, followFinal: followFinal), reportAs: virtual)
        defer { close(directory) }
        var st = stat()
        guard fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw HostError(path: virtual, errno: errno) }
        return FileInfo(st)
    }

    public func exists(_ virtual: String) -> Bool {
        (try? info(virtual)) != nil
    }

    /// Whether anything is at `virtual`, a symlink that leads nowhere (or out of the root) and a
    /// path that cannot be resolved (a loop, a denied directory) included: only "no such file"
    /// is absence. For files whose absence means "not installed", so that a configuration that
    /// cannot be read is reported as unreadable, never as missing.
    public func mayExist(_ virtual: String) -> Bool {
        do {
            _ = try info(virtual, followFinal: false)
            return true
        } catch {
            return !error.isNotFound
        }
    }

    public func isDirectory(_ virtual: String) -> Bool {
        (try? info(virtual))?.kind == .directory
    }

    /// Reads a regular file, at most `limit` bytes (a larger file is an error, not a truncation).
    /// FIFOs, sockets and devices are refused without blocking. The digest goes into the read log.
    public func read(_ virtual: String, limit: Int = HostRoot.defaultLimit) throws(HostError) -> [UInt8] {
        let bytes = try readBounded(virtual, limit: limit, allowDevice: false, truncate: false)
        do {
            log.record(virtual, try Digester.libcrypto.sha256Hex(bytes))
        } catch {
            throw HostError(path: virtual, errno: EIO, message: error.message)
        }
        return bytes
    }

    /// Reads a text file (invalid UTF-8 is replaced, never trusted to be valid).
    public func readText(_ virtual: String, limit: Int = HostRoot.defaultLimit) throws(HostError) -> String {
        String(decoding: try read(virtual, limit: limit), as: UTF8.self)
    }

    /// Reads the first `count` bytes (at most 16 MiB) of a block device or regular file, for
    /// on-disk headers. Never more. Block devices are read on a live host only: a device node in
    /// an offline root names a device of the machine running Warden, not of the audited host.
    public func readHead(_ virtual: String, count: Int) throws(HostError) -> [UInt8] {
        try readBounded(virtual, limit: min(count, HostRoot.deviceLimit), allowDevice: isLive, truncate: true)
    }

    private func readBounded(_ virtual: String, limit: Int, allowDevice: Bool, truncate: Bool) throws(HostError) -> [UInt8] {
        let (fd, size) = try openForReading(virtual, allowDevice: allowDevice)
        defer { close(fd) }
        let out: [UInt8]
        switch readToEnd(fd, limit: limit, sizeHint: size) {
        case .failure(let e): throw HostError(path: virtual, errno: e.code)
        case .success(let bytes): out = bytes
        }
        if out.count > limit {
            if truncate { return Array(out.prefix(limit)) }
            throw HostError(path: virtual, errno: EFBIG, message: "larger than the \(limit)-byte limit for this file")
        }
        return out
    }

    /// Opens `virtual` for reading (with its size, for a regular file), opening nothing that is not to be read: the entry is first
    /// opened with `O_PATH` (which opens no device and waits for no FIFO writer), its type checked
    /// on that descriptor, and only then is that same inode opened for reading through
    /// `/proc/self/fd`. Opening a device node can act on the device (a watchdog arms, a tape
    /// rewinds), and a FIFO's writer may never come. Without /proc the name is opened
    /// non-blocking and checked to be the same inode.
    private func openForReading(_ virtual: String, allowDevice: Bool) throws(HostError) -> (fd: Int32, size: Int) {
        let (directory, name) = try openParent(try resolve(virtual), reportAs: virtual)
        let pathFD = openat(directory, name, O_NOFOLLOW | O_CLOEXEC | openPathOnly)
        let pathError = errno
        defer { close(directory) }
        guard pathFD >= 0 else { throw HostError(path: virtual, errno: pathError) }
        defer { close(pathFD) }
        var st = stat()
        guard fstat(pathFD, &st) == 0 else { throw HostError(path: virtual, errno: errno) }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || (allowDevice && kind == S_IFBLK) else {
            let message =
                kind == S_IFDIR
                ? "is a directory"
                : kind == S_IFLNK
                    ? "a symlink swapped in while being read (refusing to read it)"
                    : kind == S_IFBLK
                        ? "a block device in an offline root is a device of this machine, not of the audited host (refusing to read it)"
                        : "not a regular file (refusing to read it)"
            throw HostError(path: virtual, errno: EINVAL, message: message)
        }
        let flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
        var fd = openWithoutAccessTime(AT_FDCWD, "/proc/self/fd/\(pathFD)", flags)
        if fd < 0 && errno == ENOENT {
            fd = openWithoutAccessTime(directory, name, flags | O_NOFOLLOW)
            var opened = stat()
            if fd >= 0 && (fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
                close(fd)
                throw HostError(path: virtual, errno: EINVAL, message: "replaced while being read (refusing to read it)")
            }
        }
        guard fd >= 0 else { throw HostError(path: virtual, errno: errno) }
        return (fd, kind == S_IFREG ? Int(st.st_size) : 0)
    }

    /// The names in a directory, sorted, without `.` and `..`; at most `limit` names.
    public func list(_ virtual: String, limit: Int = 100_000) throws(HostError) -> [String] {
        let (directory, name) = try openParent(try resolve(virtual), reportAs: virtual)
        let fd = openWithoutAccessTime(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        let openError = errno
        close(directory)
        guard fd >= 0 else { throw HostError(path: virtual, errno: openError) }
        guard let dir = fdopendir(fd) else {
            let e = errno
            close(fd)
            throw HostError(path: virtual, errno: e)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            names.append(name)
            if names.count > limit { throw HostError(path: virtual, errno: E2BIG, message: "more than \(limit) entries") }
        }
        return names.sorted()
    }

    /// An extended attribute of a path (not following a final symlink), or nil when absent.
    /// The entry is looked up inside its directory's descriptor (`/proc/self/fd/N/NAME`), not
    /// through a path string that could be re-resolved.
    public func xattr(_ virtual: String, name: String, limit: Int = 65536) throws(HostError) -> [UInt8]? {
        let (directory, entry) = try openParent(try resolve(virtual, followFinal: false), reportAs: virtual)
        defer { close(directory) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let n = buffer.withUnsafeMutableBytes { lgetxattr("/proc/self/fd/\(directory)/\(entry)", name, $0.baseAddress, limit) }
        if n < 0 {
            let e = errno
            if e == ENODATA || e == ENOTSUP { return nil }
            throw HostError(path: virtual, errno: e)
        }
        return Array(buffer[0..<n])
    }
}

/// `openat` with `O_NOATIME`, so that reading the audited host does not change its access times
/// (the read-only proof checks them); without ownership or CAP_FOWNER the kernel refuses the
/// flag with EPERM, and the file is opened normally.
func openWithoutAccessTime(_ directory: Int32, _ name: String, _ flags: Int32) -> Int32 {
    let fd = openat(directory, name, flags | openNoAccessTime)
    if fd < 0 && errno == EPERM { return openat(directory, name, flags) }
    return fd
}

/// Joins a directory and a name into a path inside the root.
public func joinPath(_ dir: String, _ name: String) -> String {
    dir.hasSuffix("/") ? dir + name : dir + "/" + name
}
