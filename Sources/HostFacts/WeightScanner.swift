internal import Glibc
internal import WardenCore
public import WardenFormats

/// A weight file found by content.
public struct WeightHit: Sendable, Hashable {
    /// The path inside the root.
    public var path: String
    public var size: Int64
    public var format: WeightFormat

    var json: JSON { ["path": .string(path), "size": .int(size), "format": .string(format.rawValue)] }
}

/// What a scan of the scan roots found, and how far it got.
public struct WeightScan: Sendable, Hashable {
    /// One scan root and what became of it.
    public struct Root: Sendable, Hashable {
        public enum Status: String, Sendable, Hashable {
            case scanned
            /// The root does not exist on this host (nothing to scan, not an error).
            case absent
            /// The same directory as an earlier root (scanned once).
            case duplicate
            /// The root could not be opened; the scan is incomplete.
            case error
            /// The budget ran out before this root was reached.
            case notReached = "not_reached"
        }

        public var path: String
        public var status: Status
        public var detail: String?

        var json: JSON {
            var o: JSONObject = ["path": .string(path), "status": .string(status.rawValue)]
            if let detail { o["detail"] = .string(detail) }
            return .object(o)
        }
    }

    public var roots: [Root] = []
    public var minSize: Int64
    public var budget: WalkBudget
    /// The first hits, in walk order (at most the scanner's `maxHits`).
    public var hits: [WeightHit] = []
    /// Every hit, counted.
    public var hitCount = 0
    /// Entries visited (files, directories, symlinks, anything).
    public var entries = 0
    /// Regular files at least `minSize` bytes long whose first bytes were read.
    public var candidates = 0
    /// Subtrees and candidate files that could not be read.
    public var unreadable = FirstFew<PathProblem>(limit: 10)
    /// Mount points met under a root and not crossed (one filesystem per root).
    public var otherFilesystems = FirstFew<String>(limit: 10)
    /// Set when the budget ran out: which, after how many entries, where.
    public var stopped: String?

    /// Why the result cannot be taken as everything there is (nil when the scan finished).
    public var incompleteReason: String? {
        var reasons: [String] = []
        if let stopped { reasons.append("the scan \(stopped)") }
        let failedRoots = roots.filter { $0.status == .error }
        if !failedRoots.isEmpty {
            reasons.append(
                "scan roots could not be opened: " + failedRoots.map { "\($0.path) (\($0.detail ?? "error"))" }.joined(separator: ", "))
        }
        if unreadable.count > 0 {
            let shown = unreadable.first.prefix(3).map { "\($0.path): \($0.message)" }.joined(separator: "; ")
            reasons.append(
                "\(unreadable.count) unreadable path\(unreadable.count == 1 ? "" : "s") (\(shown)\(unreadable.count > 3 ? "; …" : ""))")
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// For the findings document: the first 100 hits and the counts.
    public var json: JSON {
        var o: JSONObject = [
            "roots": .array(roots.map(\.json)),
            "min_size": .int(minSize),
            "budget": ["max_entries": .int(budget.maxEntries), "max_seconds": .int(budget.maxSeconds)],
            "hits": .array(hits.prefix(100).map(\.json)),
            "hit_count": .int(hitCount),
            "entries": .int(entries),
            "candidates": .int(candidates),
            "unreadable": ["count": .int(unreadable.count), "first": .array(unreadable.first.map(\.json))],
            "other_filesystems": ["count": .int(otherFilesystems.count), "first": .array(otherFilesystems.first.map { .string($0) })],
            "complete": .bool(incompleteReason == nil),
        ]
        if let stopped { o["stopped"] = .string(stopped) }
        if let incompleteReason { o["incomplete"] = .string(incompleteReason) }
        return .object(o)
    }
}

/// Finds weight files by content under scan roots (EXF-005, and weight discovery without a
/// site registry, docs/ARCHITECTURE.md): one streaming walk per root, staying on the root's filesystem,
/// never following symlinks, reading at most a few KiB of each regular file at least `minSize`
/// bytes long, within a budget of entries and seconds shared by all roots.
package struct WeightScanner: Sendable {
    /// The most read from one candidate (head, zip tail and central directory, protobuf headers).
    static let readLimit = 16 << 10

    let root: HostRoot
    let roots: [String]
    let minSize: Int64
    let budget: WalkBudget
    let maxHits: Int

    package init(root: HostRoot, roots: [String], minSize: Int64, budget: WalkBudget = .scan, maxHits: Int = 1000) {
        self.root = root
        self.roots = roots
        self.minSize = minSize
        self.budget = budget
        self.maxHits = maxHits
    }

    package func scan() -> WeightScan {
        var result = WeightScan(minSize: minSize, budget: budget)
        // Identify every root first, so that a root nested in another is walked once, as itself.
        var planned: [(path: String, id: FileID)] = []
        for path in roots {
            do {
                let info = try root.info(path)
                guard info.kind == .directory else {
                    result.roots.append(.init(path: path, status: .error, detail: "not a directory"))
                    continue
                }
                let id = FileID(info)
                if let first = planned.first(where: { $0.id == id }) {
                    result.roots.append(.init(path: path, status: .duplicate, detail: "the same directory as \(first.path)"))
                    continue
                }
                planned.append((path, id))
            } catch {
                result.roots.append(
                    .init(path: path, status: error.isNotFound ? .absent : .error, detail: error.isNotFound ? nil : error.message))
            }
        }
        var walker = TreeWalker(root: root)
        walker.oneFilesystem = true
        walker.skip = Set(planned.map(\.id))
        var meter = BudgetMeter(budget)
        var report = WalkReport()
        for (path, _) in planned {
            if report.stopped != nil {
                result.roots.append(.init(path: path, status: .notReached, detail: "the budget ran out first"))
                continue
            }
            do {
                try walker.walk(path, meter: &meter, report: &report) { entry in
                    examine(entry, into: &result)
                }
                result.roots.append(.init(path: path, status: .scanned))
            } catch {
                result.roots.append(.init(path: path, status: .error, detail: error.message))
            }
        }
        result.unreadable.merge(report.problems)
        result.otherFilesystems = report.otherFilesystems
        result.stopped = report.stopped
        result.entries = meter.entries
        result.roots.sort { (roots.firstIndex(of: $0.path) ?? 0) < (roots.firstIndex(of: $1.path) ?? 0) }
        return result
    }

    private func examine(_ entry: TreeWalker.Entry, into result: inout WeightScan) {
        guard entry.info.kind == .regular, entry.info.size >= minSize, entry.info.size > 0 else { return }
        result.candidates += 1
        let fd: Int32
        do {
            fd = try root.openRegularFile(in: entry.directory, entry.name, expected: entry.info, reportAs: entry.path)
        } catch {
            result.unreadable.add(PathProblem(path: entry.path, message: error.message))
            return
        }
        let source = DescriptorSource(fd: fd, size: entry.info.size, limit: WeightScanner.readLimit)
        defer { source.close() }
        guard let format = WeightRecognizer.recognize(source) else {
            if let e = source.failure { result.unreadable.add(PathProblem(path: entry.path, message: e)) }
            return
        }
        result.hitCount += 1
        if result.hits.count < maxHits {
            result.hits.append(WeightHit(path: entry.path, size: entry.info.size, format: format))
        }
    }
}

/// A `ByteSource` over an open file: `pread` at the offsets asked for, refusing reads once
/// `limit` bytes have been read in total.
final class DescriptorSource: ByteSource {
    let fd: Int32
    let size: Int64
    private var remaining: Int
    /// The first read error (errno text), for the report.
    private(set) var failure: String?

    init(fd: Int32, size: Int64, limit: Int) {
        self.fd = fd
        self.size = size
        remaining = limit
    }

    func close() { _ = Glibc.close(fd) }

    func bytes(at offset: Int64, count: Int) -> [UInt8]? {
        guard offset >= 0, offset <= size, count <= remaining else { return nil }
        let want = Int(min(Int64(count), size - offset))
        var out = [UInt8](repeating: 0, count: want)
        var done = 0
        while done < want {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress?.advanced(by: done), want - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = failure ?? String(cString: strerror(errno))
                return nil
            }
            if n == 0 { break }
            done += n
        }
        remaining -= done
        return done == want ? out : Array(out[0..<done])
    }
}
