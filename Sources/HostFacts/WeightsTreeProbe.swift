internal import CShim
internal import Glibc
public import WardenCore
internal import WardenFormats

/// Permissions, owners and POSIX ACLs of everything under each weight location (ACC-001,
/// ACC-002), from one streaming walk per location (`TreeWalker`: openat-relative, symlinks never
/// followed, bounded memory however many files).
///
/// Facts are summaries that any profile can judge: per location, counts, and a histogram of the
/// distinct (kind, mode, owner, group) classes with their counts and first example paths, so
/// SL3 (no bits for others, no group write) and SL4 (files ≤ 0440, directories ≤ 0750) are both
/// decided from the same facts, with the offending paths as evidence. Past `maxClasses` (256) distinct
/// classes, further entries of a kind are merged into one class whose mode is the OR of their
/// modes and whose owner (group) is theirs when they share one, "(several)" otherwise: a mode
/// check (`mode_at_most`, `mode_lacks`) and an owner or group equality check give the same verdict
/// on the merged class as on its members, so memory stays bounded without changing those verdicts.
public struct WeightsTreeProbe: Probe {
    static let examplesPerClass = 20
    static let maxNamedACLEntries = 256
    static let examplesPerACLEntry = 5
    static let aclAttributes = (access: "system.posix_acl_access", default: "system.posix_acl_default")

    let budget: WalkBudget
    let attributes: any ExtendedAttributeReader
    /// Distinct (kind, mode, owner, group) classes kept per location before merging.
    let maxClasses: Int
    /// Threads making the walk's system calls, and names per batch of them (`TreeWalker.workers`,
    /// `batchSize`): the facts do not depend on either, which the tests check.
    let workers: Int
    let batchSize: Int
    let parallelAfter: Int

    public init() {
        self.init(budget: .weightsTree)
    }

    package init(
        budget: WalkBudget, attributes: any ExtendedAttributeReader = ProcAttributeReader(), maxClasses: Int = 256,
        workers: Int? = nil, batchSize: Int = 16, parallelAfter: Int = 1024
    ) {
        self.budget = budget
        self.attributes = attributes
        self.maxClasses = maxClasses
        self.workers = workers ?? TreeWalker.defaultWorkers
        self.batchSize = max(1, batchSize)
        self.parallelAfter = parallelAfter
    }

    public let name = "weights-tree"
    public let summary =
        "mode, owner, group and POSIX ACLs (system.posix_acl_access/default) of every file and directory under each weight location, in one streaming walk"
    public let reads = [
        "each weight location, recursively (site weights.paths, or the discovered weight files)", "/etc/passwd", "/etc/group",
    ]
    public var facts: [String: FactType] {
        [
            "weights_tree": .object([
                "source": .string, "origin": .string, "entries_walked": .int, "names_error": .string,
                "locations": .list(
                    .object([
                        "path": .string, "kind": .string, "resolved": .string, "files": .int, "directories": .int, "other": .int,
                        "symlinks": .object(["count": .int, "first": .strings, "followed": .bool]),
                        "classes": .list(
                            .object([
                                "name": .string, "kind": .string, "count": .int, "uid": .int, "gid": .int, "merged": .bool,
                                "mode": .sourced(.mode), "owner": .sourced(.string), "group": .sourced(.string), "examples": .strings,
                            ])),
                        "owners": .strings, "groups": .strings, "file_mode_union": .mode, "directory_mode_union": .mode,
                        "errors": .list(FactType.pathProblem),
                    ])),
            ]),
            "weights_acl": .object([
                "source": .string, "origin": .string,
                "locations": .list(
                    .object([
                        "path": .string, "checked": .int, "acl_paths": .object(["count": .int, "first": .strings]),
                        "named_entries": .list(
                            .object([
                                "name": .string, "acl": .string, "type": .string, "id": .int, "permissions": .string,
                                "principal": .sourced(.string), "qualified": .sourced(.string), "count": .int, "examples": .strings,
                            ])),
                        "errors": .list(FactType.pathProblem),
                    ])),
            ]),
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let accounts = AccountNames(root: context.root)
        let aclUnavailable = attributes.unavailableReason
        var walker = TreeWalker(root: context.root)
        walker.workers = workers
        walker.batchSize = batchSize
        walker.parallelAfter = parallelAfter
        if aclUnavailable == nil {
            walker.attributes = AttributeRequest(
                reader: attributes, file: ACLTally.fileAttributes.map(\.0),
                directory: ACLTally.directoryAttributes.map(\.0))
        }
        var meter = BudgetMeter(budget)
        var stopped: String?
        var treeItems: [JSON] = []
        var aclItems: [JSON] = []
        if let e = context.weights.error {
            treeItems.append(["path": "weight locations", "error": .string(e)])
            aclItems.append(["path": "weight locations", "error": .string(e)])
        }
        for location in context.weights.paths {
            if let stopped {
                let item: JSON = ["path": .string(location), "error": .string("not walked: the walk of an earlier location \(stopped)")]
                treeItems.append(item)
                aclItems.append(item)
                continue
            }
            var tree = TreeTally(maxClasses: maxClasses)
            var acl = ACLTally()
            var report = WalkReport()
            let info: FileInfo
            do {
                info = try walker.walk(location, meter: &meter, report: &report) { entry in
                    tree.add(entry)
                    if aclUnavailable == nil { acl.add(entry) }
                }
            } catch {
                let reason = error.isNotFound ? "does not exist (\(error.message))" : "cannot be walked: \(error.message)"
                let item: JSON = ["path": .string(location), "error": .string(reason)]
                treeItems.append(item)
                aclItems.append(item)
                continue
            }
            stopped = report.stopped
            var walkErrors = report.problems.first.map(\.json)
            if report.problems.count > report.problems.first.count {
                walkErrors.append([
                    "path": .string(location),
                    "error": .string("\(report.problems.count - report.problems.first.count) more paths could not be walked"),
                ])
            }
            if let s = report.stopped { walkErrors.append(["path": .string(location), "error": .string("the walk \(s)")]) }
            var treeItem = tree.json(location: location, kind: info.kind, accounts: accounts)
            treeItem["errors"] = .array(walkErrors)
            if let resolved = try? context.root.resolve(location), resolved != location { treeItem["resolved"] = .string(resolved) }
            treeItems.append(.object(treeItem))
            var aclItem = acl.json(location: location, accounts: accounts)
            aclItem["errors"] = .array((aclItem["errors"]?.arrayValue ?? []) + walkErrors)
            aclItems.append(.object(aclItem))
        }
        let source = context.weights.origin == .site ? "weights.paths (site file)" : "discovered weight files"
        var tree: JSONObject = [
            "source": .string(source), "origin": .string(context.weights.origin.rawValue), "locations": .array(treeItems),
            "entries_walked": .int(meter.entries),
        ]
        if !accounts.problems.isEmpty { tree["names_error"] = .string(accounts.problems.joined(separator: "; ")) }
        let aclFact: Fact
        if let aclUnavailable {
            aclFact = .unavailable(.error("cannot read ACLs: \(aclUnavailable)"))
        } else {
            aclFact = .value(["source": .string(source), "origin": .string(context.weights.origin.rawValue), "locations": .array(aclItems)])
        }
        return ["weights_tree": .value(.object(tree)), "weights_acl": aclFact]
    }
}

/// "3 paths: /a, /b, /c" or "/a, /b, … (20 of 1532)": the source text of a summarised value.
private func exampleText(_ sample: FirstFew<String>) -> String {
    let shown = sample.first.joined(separator: ", ")
    return sample.count > sample.first.count ? "\(shown), … (first \(sample.first.count) of \(sample.count))" : shown
}

private func noun(_ kind: FileInfo.Kind, _ count: Int) -> String {
    let one: String
    let many: String
    switch kind {
    case .regular: (one, many) = ("file", "files")
    case .directory: (one, many) = ("directory", "directories")
    case .block: (one, many) = ("block device", "block devices")
    case .character: (one, many) = ("character device", "character devices")
    default: (one, many) = (kind.rawValue, kind.rawValue + "s")
    }
    return count == 1 ? one : many
}

/// The histogram and counts of one location's walk.
struct TreeTally {
    struct Key: Hashable {
        var kind: FileInfo.Kind
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
    }

    /// The classes past `maxClasses`, one per kind: modes OR-ed, owner kept while it is shared.
    struct Merged {
        var mode: UInt32 = 0
        var uid: UInt32?
        var gid: UInt32?
        var severalOwners = false
        var severalGroups = false
        var paths = FirstFew<String>(limit: WeightsTreeProbe.examplesPerClass)

        mutating func add(_ info: FileInfo, _ path: @autoclosure () -> String) {
            mode |= info.mode
            if paths.count == 0 {
                uid = info.uid
                gid = info.gid
            }
            if uid != info.uid { severalOwners = true }
            if gid != info.gid { severalGroups = true }
            paths.add(path())
        }
    }

    let maxClasses: Int
    var classes: [Key: FirstFew<String>] = [:]
    var merged: [FileInfo.Kind: Merged] = [:]
    var files = 0
    var directories = 0
    var other = 0
    var symlinks = FirstFew<String>(limit: 5)
    var fileModes: UInt32 = 0
    var directoryModes: UInt32 = 0

    mutating func add(_ entry: TreeWalker.Entry) {
        let info = entry.info
        switch info.kind {
        case .symlink:
            symlinks.add(entry.path)
            return
        case .directory:
            directories += 1
            directoryModes |= info.mode
        case .regular:
            files += 1
            fileModes |= info.mode
        default:
            other += 1
            fileModes |= info.mode
        }
        let key = Key(kind: info.kind, mode: info.mode, uid: info.uid, gid: info.gid)
        if classes[key] != nil || classes.count < maxClasses {
            classes[key, default: FirstFew(limit: WeightsTreeProbe.examplesPerClass)].add(entry.path)
        } else {
            merged[info.kind, default: Merged()].add(info, entry.path)
        }
    }

    func json(location: String, kind: FileInfo.Kind, accounts: AccountNames) -> JSONObject {
        func sourced(_ value: String, _ paths: FirstFew<String>) -> JSON {
            ["value": .string(value), "source": .string(exampleText(paths))]
        }
        var items: [JSON] = []
        var owners: Set<String> = []
        var groups: Set<String> = []
        let keys = classes.keys.sorted { ($0.kind.rawValue, $0.mode, $0.uid, $0.gid) < ($1.kind.rawValue, $1.mode, $1.uid, $1.gid) }
        for key in keys {
            guard let paths = classes[key] else { continue }
            let owner = accounts.user(key.uid)
            let group = accounts.group(key.gid)
            let mode = formatMode(key.mode)
            owners.insert(owner)
            groups.insert(group)
            items.append([
                "name": .string("\(location): \(paths.count) \(noun(key.kind, paths.count)) \(mode) \(owner):\(group)"),
                "kind": .string(key.kind.rawValue), "count": .int(paths.count), "uid": .int(Int(key.uid)), "gid": .int(Int(key.gid)),
                "mode": sourced(mode, paths), "owner": sourced(owner, paths), "group": sourced(group, paths),
                "examples": .array(paths.first.map { .string($0) }),
            ])
        }
        for kind in merged.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            guard let m = merged[kind] else { continue }
            let owner = m.severalOwners ? "(several)" : m.uid.map(accounts.user) ?? "(several)"
            let group = m.severalGroups ? "(several)" : m.gid.map(accounts.group) ?? "(several)"
            owners.insert(owner)
            groups.insert(group)
            items.append([
                "name": .string(
                    "\(location): \(m.paths.count) more \(noun(kind, m.paths.count)) past the limit of \(maxClasses) distinct classes, modes combined"
                ),
                "kind": .string(kind.rawValue), "count": .int(m.paths.count), "merged": true,
                "mode": sourced(formatMode(m.mode), m.paths), "owner": sourced(owner, m.paths), "group": sourced(group, m.paths),
                "examples": .array(m.paths.first.map { .string($0) }),
            ])
        }
        var o: JSONObject = [
            "path": .string(location), "kind": .string(kind.rawValue),
            "files": .int(files), "directories": .int(directories), "other": .int(other),
            "symlinks": ["count": .int(symlinks.count), "first": .array(symlinks.first.map { .string($0) }), "followed": false],
            "classes": .array(items),
            "owners": .array(owners.sorted().map { .string($0) }), "groups": .array(groups.sorted().map { .string($0) }),
        ]
        if files + other > 0 { o["file_mode_union"] = .string(formatMode(fileModes)) }
        if directories > 0 { o["directory_mode_union"] = .string(formatMode(directoryModes)) }
        return o
    }
}

/// Named user and group entries of the ACLs met in one location's walk.
struct ACLTally {
    struct Key: Hashable {
        var acl: String
        var tag: PosixACL.Tag
        var id: UInt32
        var permissions: UInt16
    }

    var named: [Key: FirstFew<String>] = [:]
    /// Named entries not listed because `maxNamedACLEntries` distinct ones were already.
    var unlisted = 0
    /// Paths that carry any ACL attribute.
    var carriers = FirstFew<String>(limit: 10)
    var errors = FirstFew<PathProblem>(limit: 10)
    var checked = 0

    static let fileAttributes = [(WeightsTreeProbe.aclAttributes.access, "access")]
    static let directoryAttributes = [
        (WeightsTreeProbe.aclAttributes.access, "access"), (WeightsTreeProbe.aclAttributes.default, "default"),
    ]

    /// Tallies the ACLs of an entry of a walk whose `attributes` request is `fileAttributes` and
    /// `directoryAttributes` (the walk reads them, on its worker threads).
    mutating func add(_ entry: TreeWalker.Entry) {
        guard entry.info.kind != .symlink else { return }
        checked += 1
        var carries = false
        // A default ACL exists only on directories; every entry's access ACL is read.
        for ((attribute, acl), value) in zip(
            entry.info.kind == .directory ? ACLTally.directoryAttributes : ACLTally.fileAttributes, entry.attributes)
        {
            switch value {
            case .absent:
                continue
            case .failed(let message):
                errors.add(PathProblem(path: entry.path, message: "\(attribute): \(message)"))
            case .value(let bytes):
                carries = true
                do {
                    for e in try PosixACL.decode(bytes).entries where e.isNamed {
                        let key = Key(acl: acl, tag: e.tag, id: e.id, permissions: e.permissions)
                        if named[key] != nil || named.count < WeightsTreeProbe.maxNamedACLEntries {
                            named[key, default: FirstFew(limit: WeightsTreeProbe.examplesPerACLEntry)].add(entry.path)
                        } else {
                            unlisted += 1
                        }
                    }
                } catch {
                    errors.add(PathProblem(path: entry.path, message: "\(attribute): \(error)"))
                }
            }
        }
        if carries { carriers.add(entry.path) }
    }

    func json(location: String, accounts: AccountNames) -> JSONObject {
        var entries: [JSON] = []
        let keys = named.keys.sorted { ($0.acl, $0.tag.rawValue, $0.id, $0.permissions) < ($1.acl, $1.tag.rawValue, $1.id, $1.permissions) }
        for key in keys {
            guard let paths = named[key] else { continue }
            let isUser = key.tag == .user
            let principal = isUser ? accounts.user(key.id) : accounts.group(key.id)
            let type = isUser ? "user" : "group"
            let perms = permissionString(key.permissions)
            let source = exampleText(paths)
            entries.append([
                "name": .string(
                    "\(location): \(type) \(principal) (\(isUser ? "uid" : "gid") \(key.id)) \(perms) in the \(key.acl) ACL of \(paths.count) path\(paths.count == 1 ? "" : "s")"
                ),
                "acl": .string(key.acl), "type": .string(type), "id": .int(Int(key.id)), "permissions": .string(perms),
                "principal": ["value": .string(principal), "source": .string(source)],
                "qualified": ["value": .string("\(type):\(principal)"), "source": .string(source)],
                "count": .int(paths.count), "examples": .array(paths.first.map { .string($0) }),
            ])
        }
        var errorItems = errors.first.map(\.json)
        if errors.count > errors.first.count {
            errorItems.append([
                "path": .string(location), "error": .string("\(errors.count - errors.first.count) more ACLs could not be read or decoded"),
            ])
        }
        if unlisted > 0 {
            errorItems.append([
                "path": .string(location),
                "error": .string(
                    "more than \(WeightsTreeProbe.maxNamedACLEntries) distinct named ACL entries; \(unlisted) more were not listed"),
            ])
        }
        return [
            "path": .string(location), "checked": .int(checked),
            "acl_paths": ["count": .int(carriers.count), "first": .array(carriers.first.map { .string($0) })],
            "named_entries": .array(entries), "errors": .array(errorItems),
        ]
    }
}

/// The value of one extended attribute of an entry met by a walk.
package enum AttributeValue: Sendable {
    case absent
    case value([UInt8])
    /// errno text
    case failed(String)
}

/// Reads extended attributes relative to a walk's directory descriptor. A protocol so tests can
/// present bytes the kernel would refuse to store (a malformed ACL).
package protocol ExtendedAttributeReader: Sendable {
    /// Why attributes cannot be read at all on this machine; nil when they can.
    var unavailableReason: String? { get }
    func read(directory: Int32, name: UnsafePointer<CChar>, attribute: String) -> AttributeValue
}

/// Reads an attribute of the name inside the directory the walk holds open, never through a
/// re-resolved path string, and never following a final symlink: `getxattrat(2)` relative to the
/// directory descriptor (Linux 6.13 and later: one name lookup, like the walk's `fstatat`), else
/// `lgetxattr` on `/proc/self/fd/<directory>/<name>` (older kernels, or a seccomp filter that
/// refuses the newer call; the kernel then walks procfs for every entry, about twice the cost).
package struct ProcAttributeReader: ExtendedAttributeReader {
    package init() {}

    package var unavailableReason: String? {
        if ProcAttributeReader.relativeCallWorks { return nil }
        return access("/proc/self/fd", X_OK) == 0
            ? nil
            : "/proc/self/fd is not available on the machine running Warden (ACLs are read through it)"
    }

    /// Whether this kernel (and any seccomp filter around Warden) serves `getxattrat`: asked once,
    /// about the root directory, whose answer (a value, or no such attribute) does not matter.
    static let relativeCallWorks: Bool = {
        let n = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { byte in
            warden_getxattrat(AT_FDCWD, "/", WeightsTreeProbe.aclAttributes.access, byte.baseAddress, 0)
        }
        return n >= 0 || (errno != ENOSYS && errno != EPERM)
    }()

    package func read(directory: Int32, name: UnsafePointer<CChar>, attribute: String) -> AttributeValue {
        // An ACL of up to 31 entries fits the first buffer (the kernel zeroes a buffer of the size
        // asked for on every call, found or not); larger ones are asked for again.
        for capacity in [256, 65536] {
            let outcome: AttributeValue? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                let n = call(directory, name, attribute, buffer)
                if n >= 0 { return .value(Array(buffer[0..<n])) }
                let e = errno
                if e == ENODATA || e == EOPNOTSUPP { return .absent }
                if e == ERANGE { return nil }
                return .failed(String(cString: strerror(e)))
            }
            if let outcome { return outcome }
        }
        return .failed("larger than 64 KiB")
    }

    private func call(_ directory: Int32, _ name: UnsafePointer<CChar>, _ attribute: String, _ buffer: UnsafeMutableBufferPointer<UInt8>)
        -> Int
    {
        if ProcAttributeReader.relativeCallWorks {
            return warden_getxattrat(directory, name, attribute, buffer.baseAddress, UInt32(buffer.count))
        }
        return lgetxattr("/proc/self/fd/\(directory)/" + String(cString: name), attribute, buffer.baseAddress, buffer.count)
    }
}
