public import WardenCore
internal import WardenFormats

/// Whether every persistent local filesystem sits on dm-crypt, not only the weights' (ENC-010,
/// docs/DAEMON-SEMANTICS.md, "Every persistent local filesystem"). A filesystem is in scope when
/// the kernel gives it a block device: a real device number in mountinfo (major not 0), or, for
/// filesystems that report an anonymous one (btrfs), a `/dev` node as their source. Everything the
/// kernel backs with an anonymous device is out: pseudo filesystems (proc, sysfs, cgroup2,
/// devtmpfs…), memory (tmpfs, ramfs), network filesystems (nfs, cifs, ceph, sshfs) and stacked
/// ones (overlay, whose bytes live on the filesystem of its upper directory, judged in its own
/// right). /boot and the EFI system partition are excluded by design: the firmware and the boot
/// loader must read them before any key is available.
public struct FilesystemsProbe: Probe {
    public init() {}
    public let name = "filesystems"
    public let summary =
        "every mount backed by a block device, but /boot and the EFI system partition: device stack through /sys/dev/block and slaves/, dm-crypt; loop devices by their backing file"
    public let reads = [
        "/proc/1/mountinfo (else /proc/self/mountinfo)", "/sys/dev/block/MAJ:MIN", "/sys/devices/…/dm/uuid, dm/name, slaves/",
        "/sys/dev/block/MAJ:MIN/loop/backing_file", "/run/udev/data/bMAJ:MIN (ID_PART_ENTRY_TYPE)",
    ]
    public var facts: [String: FactType] {
        [
            "filesystems": .object([
                "source": .string,
                "items": .list(
                    .object([
                        "name": .string, "mount_point": .string, "device": .string, "fstype": .string, "devices": .strings,
                        "encrypted": .sourced(.bool), "encryption": .string,
                    ])),
                "excluded": .list(.object(["mount_point": .string, "device": .string, "reason": .string])),
            ])
        ]
    }

    /// Mount points of the boot loader's and the firmware's partitions (systemd's `/efi` too).
    public static let bootMountPoints: Set<String> = ["/boot", "/boot/efi", "/efi"]
    /// GPT type GUIDs (and the MBR type) of the EFI system partition and the extended boot loader
    /// partition, as udev records them (`ID_PART_ENTRY_TYPE`).
    static let bootPartitionTypes: Set<String> = [
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "0xef", "bc13c2ff-59e6-4262-a352-b275fd6f7172",
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let resolver: StorageResolver
        switch context.storage {
        case .success(let r): resolver = r
        case .failure(let f): return ["filesystems": .unavailable(f.unavailable(context))]
        }
        var items: [JSON] = []
        var excluded: [JSON] = []
        // A filesystem mounted again (bind mounts, PrivateTmp=) is the same bytes: judged once,
        // where it was mounted first.
        var seen: Set<String> = []
        for mount in resolver.mounts.entries {
            guard !StorageResolver.memoryFilesystems.contains(mount.fstype),
                !StorageResolver.networkFilesystems.contains(mount.fstype),
                mount.major != 0 || mount.source.hasPrefix("/dev/")
            else { continue }
            let key = mount.major != 0 ? mount.deviceNumber : mount.source
            guard seen.insert(key).inserted else { continue }
            if let reason = bootReason(mount, context) {
                excluded.append(["mount_point": .string(mount.mountPoint), "device": .string(mount.source), "reason": .string(reason)])
                continue
            }
            items.append(judge(mount, resolver: resolver, context))
        }
        return [
            "filesystems": .value([
                "source": .string(resolver.mounts.source), "items": .array(items), "excluded": .array(excluded),
            ])
        ]
    }

    /// Why a mount is the boot loader's or the firmware's, or nil.
    func bootReason(_ mount: MountEntry, _ context: ProbeContext) -> String? {
        if FilesystemsProbe.bootMountPoints.contains(mount.mountPoint) {
            return "boot partition (\(mount.mountPoint)): read by the firmware or the boot loader before any key is available"
        }
        guard mount.major != 0, let text = try? context.root.readText("/run/udev/data/b\(mount.deviceNumber)", limit: 65536) else {
            return nil
        }
        for line in lines(text) where line.hasPrefix("E:ID_PART_ENTRY_TYPE=") {
            let type = String(line.dropFirst("E:ID_PART_ENTRY_TYPE=".count)).trimmed.lowercased()
            if FilesystemsProbe.bootPartitionTypes.contains(type) {
                return "EFI system or boot loader partition (partition type \(type), /run/udev/data/b\(mount.deviceNumber))"
            }
        }
        return nil
    }

    /// The item for one in-scope mount: its device stack and whether dm-crypt is under every leg.
    func judge(_ mount: MountEntry, resolver: StorageResolver, _ context: ProbeContext) -> JSON {
        let name = "\(mount.mountPoint) (\(mount.source))"
        let label: JSONObject = ["mount_point": .string(mount.mountPoint), "device": .string(mount.source)]
        let link: String
        switch resolver.blockDevice(for: mount) {
        case .failure(let f): return f.item(context, key: "name", label: name, extra: label)
        case .success(nil): return StorageFailure.failed("no block device").item(context, key: "name", label: name, extra: label)
        case .success(let l?): link = l
        }
        let stack: DeviceStack
        do { stack = try DeviceStack.walk(root: resolver.root, link: link) } catch {
            return error.item(context, key: "name", label: name, extra: label)
        }
        var encrypted = stack.encrypted
        var how: String
        if encrypted {
            let luks = Set(stack.cryptMappings.filter(\.kind.isLUKS).flatMap(\.backingDevices)).sorted()
            how = "dm-crypt \(stack.kinds.joined(separator: " + "))" + (luks.isEmpty ? "" : " (\(luks.joined(separator: ", ")))")
        } else {
            how = "not encrypted: no dm-crypt mapping under every device of \(stack.devices.joined(separator: " → "))"
        }
        // A loop device has no slaves/: its bytes are a file on another filesystem, judged there.
        if !encrypted, stack.devices.count == 1, stack.devices[0].hasPrefix("loop"),
            let backing = try? resolver.root.readText(link + "/loop/backing_file", limit: 4096)
        {
            let file = String(lines(backing).first?.trimmed ?? "")
            switch resolver.resolve(file) {
            case .success(let r) where r.encrypted && r.storageClass != .network:
                encrypted = true
                how = "\(stack.devices[0]) backed by \(file): \(r.encryption)"
            case .success(let r):
                how = "not encrypted: \(stack.devices[0]) backed by \(file): \(r.encryption)"
            case .failure(let f):
                return f.item(context, key: "name", label: name, extra: label)
            }
        }
        var o = label
        o["name"] = .string(name)
        o["fstype"] = .string(mount.fstype)
        o["devices"] = .array(stack.devices.map { .string($0) })
        o["encrypted"] = ["value": .bool(encrypted), "source": .string(mount.location)]
        o["encryption"] = .string(how)
        return .object(o)
    }
}
