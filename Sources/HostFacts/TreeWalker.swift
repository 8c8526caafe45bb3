internal import Dispatch
internal import Glibc
internal import LocalFiles
internal import Synchronization
internal import WardenCore
internal import WardenFormats

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
/// never followed. Depth is capped.
///
/// The per-entry system calls (`fstatat`, and the extended attributes in `attributes`) run on
/// every core: the walking thread reads each open directory's names a few batches ahead
/// (`batchSize` names each, `lookAhead` batches per directory) and hands the batches to
/// at most `workers - 1` Dispatch workers (`WalkPool`), running a batch itself when no worker has
/// claimed it. Everything else (visiting, the budget, descending, problems) stays on the walking
/// thread, in the order of a sequential depth-first walk: entries are visited in exactly the
/// order, with exactly the results, that a walk with `workers == 1` gives, however the workers
/// are scheduled. Memory is one open directory stream, one path string and at most `lookAhead`
/// batches per level, however many files there are.
struct TreeWalker {
    let root: HostRoot
    /// Stay on the filesystem of the start directory (do not descend into mount points).
    var oneFilesystem = false
    /// Directories not entered below the start (other scan roots, walked on their own).
    var skip: Set<FileID> = []
    var maxDepth = 256
    /// Extended attributes read for every entry (none when nil), given to `visit` in `Entry.attributes`.
    var attributes: AttributeRequest?
    /// Threads making the per-entry system calls, the walking thread included (1: no helpers).
    var workers = TreeWalker.defaultWorkers
    /// Names per batch of per-entry system calls, and batches read ahead per open directory.
    var batchSize = 16
    var lookAhead = 4
    /// Entries walked alone before helpers start: a thread costs more to start and to hand
    /// batches to than a small tree takes to walk (most of an audit's walks are a few
    /// directories). The facts are the same whenever they start.
    var parallelAfter = 1024

    /// One per online processor, at most 4.
    static let defaultWorkers = LocalSystem.dispatchWorkers ? max(1, min(4, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) : 1

    /// An entry as the walk meets it. `name` is valid only during the visit.
    struct Entry {
        /// The directory that holds the entry (usable with *at calls during the visit).
        let directory: Int32
        let name: UnsafePointer<CChar>
        let parentPath: String
        let info: FileInfo
        /// For the start entry: the path as given, which may differ from its resolved name.
        let fixedPath: String?
        /// The values of the walker's `attributes` for this entry's kind, in the request's order.
        let attributes: ArraySlice<AttributeValue>

        /// The path inside the root, built only when asked for.
        var path: String { fixedPath ?? joinPath(parentPath, String(cString: name)) }
    }

    /// An open directory being walked: its stream, and the batches of names read ahead from it.
    private final class Frame {
        let stream: OpaquePointer
        let descriptor: Int32
        let path: String
        let id: FileID
        /// Batches read from the stream, in stream order; `pending[head]` is being visited.
        var pending: [WalkBatch] = []
        var head = 0
        /// The next entry of `pending[head]` to visit, and whether that batch's results are in.
        var index = 0
        var ready = false
        /// The stream is at its end (`readError`: errno, when it ended in an error).
        var ended = false
        var readError: Int32 = 0

        init(stream: OpaquePointer, descriptor: Int32, path: String, id: FileID) {
            self.stream = stream
            self.descriptor = descriptor
            self.path = path
            self.id = id
        }
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
        var pool: WalkPool?
        // Helpers first (they may be using the directories' descriptors), then the directories.
        defer {
            pool?.finish()
            for frame in stack { closedir(frame.stream) }
        }
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
            var values: [AttributeValue] = []
            attributes?.read(parentFD, start, info.kind, into: &values)
            visit(Entry(directory: parentFD, name: start, parentPath: parent, info: info, fixedPath: shown, attributes: values[...]))
            if info.kind == .directory,
                let frame = enter(parentFD, start, info, path: shown, device: info.device, stack: stack, report: &report)
            {
                stack.append(frame)
            }
        }
        guard report.stopped == nil, !stack.isEmpty else { return info }

        while let top = stack.last {
            if pool == nil && workers > 1 && meter.entries >= parallelAfter {
                pool = WalkPool(helpers: workers - 1, attributes: attributes)
            }
            guard let batch = nextBatch(top, pool) else {
                if top.readError != 0 {
                    report.problems.add(
                        PathProblem(path: top.path, message: "reading the directory: \(String(cString: strerror(top.readError)))"))
                }
                closedir(top.stream)
                stack.removeLast()
                continue
            }
            let i = top.index
            top.index += 1
            if let reason = meter.spend() {
                report.stopped = "stopped at \(reason) after \(meter.entries) entries, in \(top.path)"
                break
            }
            let frame: Frame? = batch.names.withUnsafeBufferPointer { names in
                guard let base = names.baseAddress else { return nil }
                let name = base + Int(batch.starts[i])
                let e = batch.errors[i]
                guard e == 0 else {
                    // An entry removed since readdir listed it is simply gone.
                    if e != ENOENT {
                        report.problems.add(
                            PathProblem(path: joinPath(top.path, String(cString: name)), message: String(cString: strerror(e))))
                    }
                    return nil
                }
                let values = batch.attributes[Int(batch.attributeStarts[i])..<Int(batch.attributeStarts[i + 1])]
                let entry = Entry(
                    directory: top.descriptor, name: name, parentPath: top.path, info: batch.infos[i], fixedPath: nil, attributes: values)
                visit(entry)
                guard entry.info.kind == .directory else { return nil }
                return enter(top.descriptor, name, entry.info, path: entry.path, device: info.device, stack: stack, report: &report)
            }
            if let frame { stack.append(frame) }
        }
        return info
    }

    /// The batch holding the frame's next entry, its results in; nil when the directory is done.
    private func nextBatch(_ frame: Frame, _ pool: WalkPool?) -> WalkBatch? {
        if frame.head < frame.pending.count && frame.index == frame.pending[frame.head].count {
            frame.head += 1
            frame.index = 0
            frame.ready = false
            if frame.head == frame.pending.count || frame.head >= lookAhead {
                frame.pending.removeFirst(frame.head)
                frame.head = 0
            }
        }
        readAhead(frame, pool)
        guard frame.head < frame.pending.count else { return nil }
        let batch = frame.pending[frame.head]
        if !frame.ready {
            if let pool { pool.acquire(batch) } else { batch.run(attributes) }
            frame.ready = true
        }
        return batch
    }

    /// Reads names from the frame's stream until `lookAhead` batches wait (or the stream ends),
    /// handing each new batch to the helpers.
    private func readAhead(_ frame: Frame, _ pool: WalkPool?) {
        while !frame.ended && frame.pending.count - frame.head < lookAhead {
            let batch = WalkBatch(directory: frame.descriptor)
            while batch.count < batchSize {
                errno = 0
                guard let dirent = readdir(frame.stream) else {
                    frame.readError = errno
                    frame.ended = true
                    break
                }
                withUnsafePointer(to: &dirent.pointee.d_name) { tuple in
                    tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) { name in
                        if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return }
                        batch.append(name)
                    }
                }
            }
            guard batch.count > 0 else { return }
            frame.pending.append(batch)
            pool?.submit(batch)
        }
    }

    /// Opens a directory met by the walk, or records why it is not entered.
    private func enter(
        _ parent: Int32, _ name: UnsafePointer<CChar>, _ info: FileInfo, path: String, device: UInt64,
        stack: [Frame], report: inout WalkReport
    ) -> Frame? {
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
                report.problems.add(
                    PathProblem(path: path, message: "the same directory as an ancestor (a bind mount loop): not walked again"))
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

/// Extended attributes a walk reads for every entry besides its `fstatat`: one list for
/// directories, one for everything else but symlinks (whose attributes are not read).
struct AttributeRequest: Sendable {
    let reader: any ExtendedAttributeReader
    let file: [String]
    let directory: [String]

    func read(_ directory: Int32, _ name: UnsafePointer<CChar>, _ kind: FileInfo.Kind, into values: inout [AttributeValue]) {
        if kind == .symlink { return }
        for attribute in kind == .directory ? self.directory : file {
            values.append(reader.read(directory: directory, name: name, attribute: attribute))
        }
    }
}

/// Up to `TreeWalker.batchSize` names of one directory, in stream order, and once run, their
/// `fstatat` results and requested attributes. Filled by the walking thread, run by the one
/// thread that claims it (a pool worker or the walking thread), read by the walking thread once
/// it has run: `@unchecked Sendable` on those terms, which `WalkPool` keeps.
final class WalkBatch: @unchecked Sendable {
    let directory: Int32
    /// NUL-terminated names back to back, and where each starts.
    private(set) var names: [CChar] = []
    private(set) var starts: [Int32] = []
    /// Per name: errno of `fstatat` (0: it worked), the `FileInfo`, and where its attributes start.
    private(set) var errors: [Int32] = []
    private(set) var infos: [FileInfo] = []
    private(set) var attributeStarts: [Int32] = []
    private(set) var attributes: [AttributeValue] = []
    /// Set by the one thread that runs the batch.
    private let claimed = Atomic<Bool>(false)
    /// Signalled when a worker has run the batch (what the walker waits on, when it needs it).
    let ran = DispatchSemaphore(value: 0)

    init(directory: Int32) { self.directory = directory }

    var count: Int { starts.count }

    /// True for the first caller only: that thread runs the batch.
    func claim() -> Bool { !claimed.exchange(true, ordering: .acquiringAndReleasing) }

    func append(_ name: UnsafePointer<CChar>) {
        starts.append(Int32(names.count))
        names.append(contentsOf: UnsafeBufferPointer(start: name, count: strlen(name) + 1))
    }

    /// Makes the system calls for every name.
    func run(_ request: AttributeRequest?) {
        var errors: [Int32] = []
        var infos: [FileInfo] = []
        var attributeStarts: [Int32] = [0]
        var values: [AttributeValue] = []
        errors.reserveCapacity(count)
        infos.reserveCapacity(count)
        attributeStarts.reserveCapacity(count + 1)
        names.withUnsafeBufferPointer { names in
            guard let base = names.baseAddress else { return }
            for start in starts {
                let name = base + Int(start)
                var st = stat()
                if fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
                    let info = FileInfo(st)
                    errors.append(0)
                    infos.append(info)
                    request?.read(directory, name, info.kind, into: &values)
                } else {
                    errors.append(errno)
                    infos.append(FileInfo(stat()))
                }
                attributeStarts.append(Int32(values.count))
            }
        }
        self.errors = errors
        self.infos = infos
        self.attributeStarts = attributeStarts
        self.attributes = values
    }
}

/// Runs a walk's batches on Dispatch's global queue, on at most `helpers` workers at once, most
/// recently queued first (the deepest directory's, which the walk needs soonest). The walking
/// thread runs a batch it needs that no worker has claimed, so it waits only for a batch a worker
/// is running.
final class WalkPool: Sendable {
    private struct Queue {
        var batches: [WalkBatch]
        var workers: Int
        var stopping: Bool
    }

    private let helpers: Int
    private let attributes: AttributeRequest?
    private let queue = Mutex(Queue(batches: [], workers: 0, stopping: false))
    private let running = DispatchGroup()

    init(helpers: Int, attributes: AttributeRequest?) {
        self.helpers = helpers
        self.attributes = attributes
    }

    func submit(_ batch: WalkBatch) {
        let startWorker = queue.withLock { q -> Bool in
            q.batches.append(batch)
            guard q.workers < helpers else { return false }
            q.workers += 1
            return true
        }
        if startWorker { DispatchQueue.global().async(group: running) { self.work() } }
    }

    /// Returns once `batch` has run: here, unless a worker has claimed it.
    func acquire(_ batch: WalkBatch) {
        if batch.claim() { batch.run(attributes) } else { batch.ran.wait() }
    }

    /// Stops handing out batches and waits for the workers to finish the one each is running
    /// (they use the walk's directory descriptors).
    func finish() {
        queue.withLock { q in
            q.stopping = true
            q.batches.removeAll()
        }
        running.wait()
    }

    /// A worker: runs the newest unclaimed batch until there is none.
    private func work() {
        while let batch = queue.withLock({ q -> WalkBatch? in
            if !q.stopping, let batch = q.batches.popLast() { return batch }
            q.workers -= 1
            return nil
        }) {
            if batch.claim() {
                batch.run(attributes)
                batch.ran.signal()
            }
        }
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
        for component in HostRoot.components(resolved) {
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
    func openRegularFile(in directory: Int32, _ name: UnsafePointer<CChar>, expected: FileInfo, reportAs path: String) throws(HostError)
        -> Int32
    {
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
