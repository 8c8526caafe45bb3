internal import Synchronization
public import WardenCore
public import WardenFormats

/// What every probe is given: the root to read through, the site file, the weight locations and
/// the storage resolver. The last two are settled once, by the first probe that asks (the others
/// wait for it), so that the probes that need neither run meanwhile; they do not depend on who
/// asks first.
public struct ProbeContext: Sendable {
    public let root: HostRoot
    public let site: Site?
    private let settledWeights: Once<WeightLocations>
    private let settledStorage: Once<Result<StorageResolver, StorageFailure>>
    private let settledUnits: Once<SystemdUnits>

    /// The weight locations: the site's registry, or the weight files discovered under the scan roots.
    public var weights: WeightLocations { settledWeights.value }
    /// The host's mount table and the resolver built on it, read once for every probe that asks
    /// where a path is stored (or why that cannot be known).
    public var storage: Result<StorageResolver, StorageFailure> { settledStorage.value }
    /// The links that enable systemd units, read once for every probe that asks whether a unit
    /// is enabled (a dozen do).
    var units: SystemdUnits { settledUnits.value }

    /// With the weight locations given.
    public init(root: HostRoot, site: Site?, weights: WeightLocations) {
        self.init(root: root, site: site, settledWeights: Once { weights })
    }

    /// With the weight locations found when first asked for (`WeightDiscovery`).
    public init(root: HostRoot, site: Site?) {
        self.init(root: root, site: site, settledWeights: Once { WeightDiscovery.locations(root: root, site: site) })
    }

    private init(root: HostRoot, site: Site?, settledWeights: Once<WeightLocations>) {
        self.root = root
        self.site = site
        self.settledWeights = settledWeights
        settledUnits = Once { SystemdUnits(root: root) }
        settledStorage = Once {
            do throws(MountTableReadError) {
                return .success(StorageResolver(root: root, mounts: try MountTable.read(from: root)))
            } catch {
                if case .read(let e) = error, e.isNotFound {
                    return .failure(.missing("no mount table: \(e.path) does not exist"))
                }
                return .failure(.failed(error.description))
            }
        }
    }

    public var mode: AuditMode { root.mode }

    /// Runtime state that is missing: `not_checked` on an offline root, `error` on a live host,
    /// where it should have been there.
    public func absent(_ reason: String) -> Unavailable {
        mode == .offline ? .notChecked("\(reason) (offline root)") : .error(reason)
    }

    /// How a probe may read `path` under /sys, one rule for every probe (docs/DAEMON-SEMANTICS.md,
    /// "The running kernel's /sys"). On a live host /sys is the kernel's: a missing entry means
    /// the kernel lacks that feature, and a /sys that is not mounted is an error. An offline
    /// root's /sys is at best a partial copy (or a test fixture standing for a kernel): an entry
    /// that is there is read as the running kernel's; a missing one is absent only when its
    /// directory is there (a copied directory is taken whole), and otherwise nothing is known.
    public func sysfs(_ path: String) -> Sysfs {
        if root.exists(path) { return .present }
        if mode == .offline {
            let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            return parent.count > "/sys".count && root.isDirectory(parent) ? .absent : .offline
        }
        return (try? root.list("/sys"))?.isEmpty == false ? .absent : .unmounted
    }
}

/// What `ProbeContext.sysfs(_:)` says of one path under /sys.
public enum Sysfs: Sendable {
    /// There: read it.
    case present
    /// Missing from a live host's /sys, or from a directory an offline root's /sys holds: the
    /// running kernel lacks it.
    case absent
    /// Missing from an offline root, directory and all: nothing is known of it.
    case offline
    /// A live host whose /sys is not mounted.
    case unmounted

    /// What a fact states for `offline` and `unmounted`: offline, `not_checked`, or
    /// `not_applicable` for a question about what runs now (a module loaded, a crash kernel
    /// loaded), which an offline root has no answer to; live, an `error`.
    public func stated(_ path: String, now: Bool = false) -> JSON {
        switch self {
        case .unmounted: ["error": .string("/sys is not mounted, so \(path) cannot be read"), "source": .string(path)]
        case _ where now: ["not_applicable": .string("offline root: \(path) is known only on a live host"), "source": .string(path)]
        default:
            ["not_checked": .string("offline root: no \(path), so the running kernel's state there is not known"), "source": .string(path)]
        }
    }
}

/// A value made once, by the first caller that asks for it; later callers (and those that ask
/// while it is being made) get that same value.
final class Once<Value: Sendable>: Sendable {
    private let state = Mutex<Value?>(nil)
    private let make: @Sendable () -> Value

    init(_ make: @escaping @Sendable () -> Value) { self.make = make }

    var value: Value {
        state.withLock { value in
            if let value { return value }
            let made = make()
            value = made
            return made
        }
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
    /// The facts it produces, each with its type: what it promises to emit (a test holds every
    /// probe to it on every fixture and real root) and what a check may read (profile loading
    /// checks every fact path against it, `FactContract`).
    var facts: [String: FactType] { get }

    func collect(_ context: ProbeContext) -> [String: Fact]
}

extension Probe {
    /// The names of the facts it produces.
    public var produces: [String] { facts.keys.sorted() }
}

/// The weight locations the ENC/ACC/LOG controls look at: the site's registry, or, without one,
/// the weight files discovered under the scan roots (docs/ARCHITECTURE.md).
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
        var o: JSONObject = [
            "origin": .string(origin.rawValue), "paths": .array(paths.map { .string($0) }),
            "note": .string(note), "source": .string(origin == .site ? "site file" : "discovery"),
        ]
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
