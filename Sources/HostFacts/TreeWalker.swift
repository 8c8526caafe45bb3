internal import Glibc
internal import WardenCore

/// How much one scan or walk may take: entries visited and wall-clock seconds. Running out is
/// reported with how far the walk got, never silently treated as the end of the tree.
public struct WalkBudget: Sendable, Hashable {
    public var maxEntries: Int
    public var maxSeconds: Int

    public init(maxEntries: Int, maxSeconds: Int) {
        self.maxEntries = maxEntries
        self.maxSeconds = maxSeconds
    }

    /// Weight discovery and the EXF-005 scan: every scan root together.
    public static let scan = WalkBudget(maxEntries: 2_000_000, maxSeconds: 120)
    /// The weights-tree walk: every weight location together.
    public static let weightsTree = WalkBudget(maxEntries: 50_000_000, maxSeconds: 1800)
}

/// Spends a `WalkBudget`, one entry at a time, across as many walks as share it.
struct BudgetMeter {
    let budget: WalkBudget
    private(set) var entries = 0
    private let deadline: Int64

    init(_ budget: WalkBudget) {
        self.budget = budget
        deadline = BudgetMeter.now() + Int64(budget.maxSeconds) * 1_000_000_000
    }

    /// Counts one entry, or returns which budget is spent (and counts nothing).
    mutating func spend() -> String? {
        if entries >= budget.maxEntries { return "the \(budget.maxEntries)-entry budget" }
        if BudgetMeter.now() >= deadline { return "the \(budget.maxSeconds)-second time budget" }
        entries += 1
        return nil
    }

    /// The coarse monotonic clock (a vDSO read, cheap enough for every entry), in nanoseconds.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A count, and the first few of what was counted (offenders, unreadable paths, examples), so
/// that memory stays bounded however many there are.
public struct FirstFew<Element: Sendable & Hashable>: Sendable, Hashable {
    public let limit: Int
    public private(set) var count = 0
    public private(set) var first: [Element] = []

    public init(limit: Int) { self.limit = limit }

    mutating func add(_ element: @autoclosure () -> Element) {
        count += 1
        if first.count < limit { first.append(element()) }
    }

    /// Adds another tally's count and as many of its first elements as there is room for.
    mutating func merge(_ other: FirstFew<Element>) {
        count += other.count
        first.append(contentsOf: other.first.prefix(limit - first.count))
    }
}

/// A path that could not be read, and why.
public struct PathProblem: Sendable, Hashable {
    public var path: String
    public var message: String

    var json: JSON { ["path": .string(path), "error": .string(message)] }
}

/// What a walk met besides the entries it visited.
struct WalkReport {
    /// Subtrees that could not be opened or read (errno), cycles, and trees too deep to walk.
    var problems = FirstFew<PathProblem>(limit: 10)
    /// Directories on another filesystem, not entered (one-filesystem walks only).
    var otherFilesystems = FirstFew<String>(limit: 10)
    /// Set when the budget ran out: which budget, after how many entries, and where.
    var stopped: String?
}

/// A device and inode: what identifies a directory across bind mounts and renames.
struct FileID: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(_ info: FileInfo) {
        device = info.device
        inode = info.inode
    }
}

/// One streaming, depth-first walk of a tree inside a `HostRoot`, shared by the weight scanner
/// and the weights-tree probe.
///
/// The start path is resolved inside the root (symlinks in it followed as chroot would) and its
/// parent opened one component at a time with `O_NOFOLLOW`; from there everything is relative to
/// directory descriptors: `fstatat(AT_SYMLINK_NOFOLLOW)` for every entry, `openat(O_NOFOLLOW |
/// O_DIRECTORY)` to descend (checked against the `fstatat` result, so a directory swapped for a
/// symlink or another directory is not entered), `readdir` to stream names. Symlinks are visited,
/// never followed. Memory is one open directory stream and one path string per level, however
/// many files there are; depth is capped.
struct TreeWalker {
    let root: HostRoot
    /// Stay on the filesystem of the start directory (do not descend into mount points).
    var oneFilesystem = false
    /// Directories not entered below the start (other scan roots, walked on their own).
    var skip: Set<FileID> = []
    var maxDepth = 256

    /// An entry as the walk meets it. `name` is valid only during the visit.
    struct Entry {
        /// The directory that holds the entry (usable with *at calls during the visit).
        let directory: Int32
        let name: UnsafePointer<CChar>
        let parentPath: String
        let info: FileInfo
        /// For the start entry: the path as given, which may differ from its resolved name.
        let fixedPath: String?

        /// The path inside the root, built only when asked for.
        var path: String { fixedPath ?? joinPath(parentPath, String(cString: name)) }
    }

    private struct Frame {
        let stream: OpaquePointer
        let descriptor: Int32
        let path: String
        let id: FileID
    }

    /// Walks `virtual`, calling `visit` for the start entry and everything below it. Throws when
    /// the start cannot be found or opened; problems below the start go into `report`, and an
    /// exhausted `meter` stops the walk with `report.stopped` set.
    @discardableResult
    func walk(_ virtual: String, meter: inout BudgetMeter, report: inout WalkReport, visit: (Entry) -> Void) throws(HostError) -> FileInfo {
        let resolved = try root.resolve(virtual)
        let shown = virtual.count > 1 && virtual.hasSuffix("/") ? String(virtual.dropLast()) : virtual
        let slash = resolved.lastIndex(of: "/") ?? resolved.startIndex
        let parent = slash == resolved.startIndex ? "/" : String(resolved[..<slash])
        let name = resolved == "/" ? "." : String(resolved[resolved.index(after: slash)...])
        let parentFD = try root.openResolvedDirectory(parent, reportAs: virtual)
        defer { close(parentFD) }

        var stack: [Frame] = []
        defer { for frame in stack { closedir(frame.stream) } }
        let cName = Array(name.utf8CString)
        var st = stat()
        guard fstatat(parentFD, cName, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw HostError(path: virtual, errno: errno) }
        let info = FileInfo(st)
        if let reason = meter.spend() {
            report.stopped = "stopped at \(reason) after \(meter.entries) entries, before \(shown)"
            return info
        }
        cName.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            visit(Entry(directory: parentFD, name: start, parentPath: parent, info: info, fixedPath: shown))
            if info.kind == .directory, let frame = enter(parentFD, start, info, path: shown, device: info.device, stack: stack, report: &report) {
                stack.append(frame)
            }
        }
        guard report.stopped == nil else { return info }

        while let top = stack.last {
            errno = 0
            guard let dirent = readdir(top.stream) else {
                let e = errno
                if e != 0 { report.problems.add(PathProblem(path: top.path, message: "reading the directory: \(String(cString: strerror(e)))")) }
                closedir(top.stream)
                stack.removeLast()
                continue
            }
            let stop: Bool = withUnsafePointer(to: &dirent.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) { name in
                    if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return false }
                    if let reason = meter.spend() {
                        report.stopped = "stopped at \(reason) after \(meter.entries) entries, in \(top.path)"
                        return true
                    }
                    var st = stat()
                    guard fstatat(top.descriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                        let e = errno
                        // An entry removed since readdir listed it is simply gone.
                        if e != ENOENT {
                            report.problems.add(PathProblem(path: joinPath(top.path, String(cString: name)), message: String(cString: strerror(e))))
                        }
                        return false
                    }
                    let entry = Entry(directory: top.descriptor, name: name, parentPath: top.path, info: FileInfo(st), fixedPath: nil)
                    visit(entry)
                    if entry.info.kind == .directory,
                       let frame = enter(top.descriptor, name, entry.info, path: entry.path, device: info.device, stack: stack, report: &report) {
                        stack.append(frame)
                    }
                    return false
                }
            }
            if stop { break }
        }
        return info
    }

    /// Opens a directory met by the walk, or records why it is not entered.
    private func enter(_ parent: Int32, _ name: UnsafePointer<CChar>, _ info: FileInfo, path: String, device: UInt64,
                       stack: [Frame], report: inout WalkReport) -> Frame? {
        let id = FileID(info)
        if !stack.isEmpty {
            if oneFilesystem && info.device != device {
                report.otherFilesystems.add(path)
                return nil
            }
            if skip.contains(id) { return nil }
            if stack.count >= maxDepth {
                report.problems.add(PathProblem(path: path, message: "more than \(maxDepth) directory levels deep: not walked"))
                return nil
            }
            if stack.contains(where: { $0.id == id }) {
                report.problems.add(PathProblem(path: path, message: "the same directory as an ancestor (a bind mount loop): not walked again"))
                return nil
            }
        }
        var fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | openNoAccessTime)
        if fd < 0 && errno == EPERM { fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        guard fd >= 0 else {
            report.problems.add(PathProblem(path: path, message: String(cString: strerror(errno))))
            return nil
        }
        var st = stat()
        guard fstat(fd, &st) == 0, FileID(FileInfo(st)) == id else {
            close(fd)
            report.problems.add(PathProblem(path: path, message: "replaced while being walked: not entered"))
            return nil
        }
        guard let stream = fdopendir(fd) else {
            let e = errno
            close(fd)
            report.problems.add(PathProblem(path: path, message: String(cString: strerror(e))))
            return nil
        }
        return Frame(stream: stream, descriptor: fd, path: path, id: id)
    }
}

/// `O_NOATIME` (Linux, asm-generic value; Swift's Glibc module does not export it): reading a
/// file's first bytes must not change its access time on the audited host.
let openNoAccessTime: Int32 = 0o1000000
/// `O_PATH` (Linux, asm-generic value): a descriptor that only names a directory for *at calls.
let openPathOnly: Int32 = 0o10000000

extension HostRoot {
    /// Opens a directory already resolved inside the root, one component at a time from the
    /// root's own directory with `O_NOFOLLOW`, so that a symlink swapped in after `resolve`
    /// cannot lead out of the root. The descriptor (`O_PATH`: usable with *at calls only) is the
    /// caller's to close.
    func openResolvedDirectory(_ resolved: String, reportAs virtual: String) throws(HostError) -> Int32 {
        var fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | openPathOnly)
        guard fd >= 0 else { throw HostError(path: virtual, errno: errno) }
        for component in resolved.split(separator: "/") {
            let next = openat(fd, String(component), O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | openPathOnly)
            let e = errno
            close(fd)
            guard next >= 0 else { throw HostError(path: virtual, errno: e) }
            fd = next
        }
        return fd
    }

    /// Opens the directory that holds an already-resolved path (`openResolvedDirectory`) and
    /// returns it with the last component's name, for *at calls. The root itself is `.` in the
    /// root's directory.
    func openParent(_ resolved: String, reportAs virtual: String) throws(HostError) -> (directory: Int32, name: String) {
        guard resolved != "/", let slash = resolved.lastIndex(of: "/") else {
            return (try openResolvedDirectory("/", reportAs: virtual), ".")
        }
        let parent = slash == resolved.startIndex ? "/" : String(resolved[..<slash])
        return (try openResolvedDirectory(parent, reportAs: virtual), String(resolved[resolved.index(after: slash)...]))
    }

    /// Opens a regular file for reading its first bytes: relative to a walk's directory, never
    /// following a symlink, never blocking, not touching the access time; refused unless it is
    /// still the regular file the walk saw. The descriptor is the caller's to close.
    func openRegularFile(in directory: Int32, _ name: UnsafePointer<CChar>, expected: FileInfo, reportAs path: String) throws(HostError) -> Int32 {
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
        var fd = openat(directory, name, flags | openNoAccessTime)
        // O_NOATIME needs ownership or CAP_FOWNER; without it, open normally.
        if fd < 0 && errno == EPERM { fd = openat(directory, name, flags) }
        guard fd >= 0 else { throw HostError(path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw HostError(path: path, errno: e)
        }
        let info = FileInfo(st)
        guard info.kind == .regular, FileID(info) == FileID(expected) else {
            close(fd)
            throw HostError(path: path, errno: EINVAL, message: "replaced while being scanned: not read")
        }
        return fd
    }
}
