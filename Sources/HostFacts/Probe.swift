public import WardenCore

/// What every probe is given: the root to read through, the site file, and the weight
/// locations settled before any probe runs.
public struct ProbeContext: Sendable {
    public let root: HostRoot
    public let site: Site?
    public let weights: WeightLocations
    /// The host's mount table and the resolver built on it, read once for every probe that asks
    /// where a path is stored (or why that cannot be known).
    public let storage: Result<StorageResolver, StorageFailure>

    public init(root: HostRoot, site: Site?, weights: WeightLocations) {
        self.root = root
        self.site = site
        self.weights = weights
        do {
            storage = .success(StorageResolver(root: root, mounts: try MountTable.read(from: root)))
        } catch {
            if case .read(let e) = error, e.isNotFound {
                storage = .failure(.missing("no mount table: \(e.path) does not exist"))
            } else {
                storage = .failure(.failed(error.description))
            }
        }
    }

    public var mode: AuditMode { root.mode }

    /// Runtime state that is missing: `not_checked` on an offline root, `error` on a live host,
    /// where it should have been there.
    public func absent(_ reason: String) -> Unavailable {
        mode == .offline ? .notChecked("\(reason) (offline root)") : .error(reason)
    }
}

/// Reads one kind of host state and produces typed facts. Never decides pass or fail.
/// A probe that cannot read returns `.unavailable` with the reason, never an empty,
/// healthy-looking value.
public protocol Probe: Sendable {
    /// Short name, as `warden probes list` prints it (`sshd`).
    var name: String { get }
    /// One line: what it reads and how.
    var summary: String { get }
    /// The paths (globs) it reads, inside the root.
    var reads: [String] { get }
    /// The names of the facts it produces.
    var produces: [String] { get }

    func collect(_ context: ProbeContext) -> [String: Fact]
}

/// The weight locations the ENC/ACC/LOG controls look at: the site's registry, or, without one,
/// the weight files discovered under the scan roots (DESIGN.md §1).
public struct WeightLocations: Sendable, Hashable {
    public enum Origin: String, Sendable, Hashable {
        /// From the site file's `weights.paths`.
        case site
        /// Found by content under the scan roots (no registry).
        case discovered
    }

    public var origin: Origin
    public var paths: [String]
    /// How the locations were obtained, for the findings.
    public var note: String
    /// Set when discovery could not finish (budget exhausted, unreadable roots).
    public var error: String?
    /// The scan behind discovered locations: roots, hits with format and size, counts.
    public var scan: WeightScan?

    public init(origin: Origin, paths: [String], note: String, error: String? = nil, scan: WeightScan? = nil) {
        self.origin = origin
        self.paths = paths
        self.note = note
        self.error = error
        self.scan = scan
    }

    var json: JSON {
        var o: [String: JSON] = ["origin": .string(origin.rawValue), "paths": .array(paths.map { .string($0) }),
                                 "note": .string(note), "source": .string(origin == .site ? "site file" : "discovery")]
        if let error { o["discovery_error"] = .string(error) }
        if let scan { o["discovery"] = scan.json }
        return .object(o)
    }
}

extension Fact {
    /// The fact for a failed read: `not_checked` when a runtime path is absent offline,
    /// otherwise `error` with the path and errno.
    static func failedRead(_ error: HostError, _ context: ProbeContext, runtime: Bool = false) -> Fact {
        if runtime && error.isNotFound { return .unavailable(context.absent("\(error.path) does not exist")) }
        return .unavailable(.error(error.description))
    }
}
