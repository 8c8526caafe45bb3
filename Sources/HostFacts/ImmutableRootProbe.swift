public import WardenCore
internal import WardenFormats

/// Whether the operating system's files can be changed where they lie (HRD-014, RAND SL4
/// "limiting the attack surface": a verified, minimal OS): the mounts of / and /usr, read-only
/// or not (mountinfo), and whether the device under each is a dm-verity mapping. sysfs shows no
/// device-mapper table (that is an ioctl, `dmsetup table`); it shows `dm/uuid`, which
/// libcryptsetup, and so veritysetup and systemd-veritysetup, sets to `CRYPT-VERITY-…` for every
/// verity device it makes (docs/DAEMON-SEMANTICS.md, "Read-only and verity-protected root").
public struct ImmutableRootProbe: Probe {
    public init() {}
    public let name = "immutable_root"
    public let summary = "the mounts of / and /usr: read-only, and dm-verity under them (dm/uuid CRYPT-VERITY-)"
    public let reads = [
        "/proc/1/mountinfo (else /proc/self/mountinfo)", "/sys/dev/block/MAJ:MIN/dm/uuid", "/sys/dev/block/MAJ:MIN/dm/name",
    ]
    public var facts: [String: FactType] {
        [
            "immutable_root": .object([
                "mounts": .list(
                    .object([
                        "path": .string, "mount_point": .string, "fstype": .string, "device": .string, "options": .list(.string),
                        "read_only": .bool, "verity": .bool, "dm_name": .string, "dm_uuid": .string, "source": .string,
                    ]))
            ])
        ]
    }

    /// The dm/uuid prefix libcryptsetup gives a verity mapping (`CRYPT-<type>-…`, type VERITY).
    static let verityPrefix = "CRYPT-VERITY-"

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let resolver: StorageResolver
        switch context.storage {
        case .success(let r): resolver = r
        case .failure(let f): return ["immutable_root": .unavailable(f.unavailable(context))]
        }
        var items: [JSON] = []
        for path in ["/", "/usr"] {
            guard let mount = resolver.mounts.mount(containing: path) else {
                items.append(["path": .string(path), "error": .string("no mount in \(resolver.mounts.source) holds \(path)")])
                continue
            }
            var item: JSONObject = [
                "path": .string(path), "mount_point": .string(mount.mountPoint), "fstype": .string(mount.fstype),
                "device": .string(mount.deviceNumber), "options": .array(mount.options.map { .string($0) }),
                // Either the mount or its superblock read-only keeps every write out (mount(2)).
                "read_only": .bool(mount.options.contains("ro") || mount.superOptions.contains("ro")),
                "source": .string(mount.location),
            ]
            switch resolver.blockDevice(for: mount) {
            case .success(nil):
                item["verity"] = false
            case .success(let link?):
                let dm = link + "/dm"
                if context.root.isDirectory(dm) {
                    do {
                        let uuid = try DeviceStack.sysAttribute(context.root, dm + "/uuid")
                        item["dm_uuid"] = .string(uuid)
                        item["verity"] = .bool(uuid.hasPrefix(Self.verityPrefix))
                        if let name = try? DeviceStack.sysAttribute(context.root, dm + "/name") { item["dm_name"] = .string(name) }
                    } catch {
                        item["verity"] = error.item(context, key: "source", label: dm + "/uuid")
                    }
                } else if context.root.exists(link) {
                    // A partition or disk, not a device-mapper device: no verity mapping.
                    item["verity"] = false
                } else {
                    item["verity"] = StorageFailure.missing("\(link) does not exist").item(context, key: "source", label: link)
                }
            case .failure(let f):
                item["verity"] = f.item(context, key: "source", label: mount.source)
            }
            items.append(.object(item))
        }
        return ["immutable_root": .value(["mounts": .array(items)])]
    }
}
