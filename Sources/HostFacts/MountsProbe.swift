public import WardenCore
internal import WardenFormats

/// Mount-level hardening from the host's mount table: whether /proc hides other users'
/// processes (`hidepid=2|invisible`), whether debugfs is mounted, and for the temporary areas
/// (/tmp, /var/tmp, /dev/shm) whether they are memory or encrypted storage and which of
/// `nosuid`, `nodev`, `noexec` their mount has.
public struct MountsProbe: Probe {
    public init() {}
    public let name = "mounts"
    public let summary = "proc hidepid, debugfs, and storage and options of /tmp, /var/tmp, /dev/shm from the mount table"
    public let reads = ["/proc/1/mountinfo (else /proc/self/mountinfo)", "/sys/dev/block/…"]
    public var facts: [String: FactType] {
        [
            "mounts": .object([
                "source": .string, "proc_hidepid": .sourced(.bool), "debugfs_mounted": .sourced(.bool),
                "tmp_areas": .list(
                    .object([
                        "path": .string, "source": .string, "memory_or_encrypted": .bool, "storage": .string,
                        "nosuid": .bool, "nodev": .bool, "noexec": .bool,
                    ])),
            ])
        ]
    }

    public static let temporaryAreas = ["/tmp", "/var/tmp", "/dev/shm"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let resolver: StorageResolver
        switch context.storage {
        case .success(let r): resolver = r
        case .failure(let f): return ["mounts": .unavailable(f.unavailable(context))]
        }
        let table = resolver.mounts
        var fact: JSONObject = ["source": .string(table.source)]
        if let proc = table.entries.last(where: { $0.mountPoint == "/proc" && $0.fstype == "proc" }) {
            let hidepid = proc.option("hidepid")
            fact["proc_hidepid"] = [
                "value": .bool(hidepid == "2" || hidepid == "invisible"),
                "source": .string("\(proc.location) (hidepid=\(hidepid ?? "unset"))"),
            ]
        } else {
            fact["proc_hidepid"] = ["error": "no proc mount on /proc in the mount table", "source": .string(table.source)]
        }
        let debugfs = table.entries.filter { $0.fstype == "debugfs" }
        fact["debugfs_mounted"] = [
            "value": .bool(!debugfs.isEmpty),
            "source": .string(debugfs.first.map { "\($0.location) (\($0.mountPoint))" } ?? "\(table.source) (no debugfs mount)"),
        ]
        fact["tmp_areas"] = .array(
            MountsProbe.temporaryAreas.map { path in
                switch resolver.resolve(path) {
                case .failure(let f):
                    return f.item(context, label: path)
                case .success(let r):
                    let options = Set(r.mount.options)
                    return [
                        "path": .string(path), "source": .string("\(r.mount.location) (\(r.mount.mountPoint), \(r.mount.fstype))"),
                        "memory_or_encrypted": .bool(r.storageClass == .memory || r.encrypted), "storage": .string(r.encryption),
                        "nosuid": .bool(options.contains("nosuid")), "nodev": .bool(options.contains("nodev")),
                        "noexec": .bool(options.contains("noexec")),
                    ]
                }
            })
        return ["mounts": .value(.object(fact))]
    }
}
