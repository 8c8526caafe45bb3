internal import Glibc
internal import WardenCore
internal import WardenFormats

/// A dm-crypt mapping met while walking a device's stack: its kind from `dm/uuid`, and the
/// devices under it (for LUKS, the nodes that carry the header).
public struct CryptMapping: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case luks1 = "LUKS1"
        case luks2 = "LUKS2"
        case plain = "PLAIN"
        case bitlk = "BITLK"

        /// The `dm/uuid` prefix the kernel gives such a mapping.
        var prefix: String { "CRYPT-\(rawValue)-" }
        var isLUKS: Bool { self == .luks1 || self == .luks2 }
    }

    public var kind: Kind
    /// The kernel name of the mapping (`dm-0`).
    public var mapping: String
    /// Its device-mapper name (`sda3_crypt`), from `dm/name`.
    public var name: String?
    public var dmUUID: String
    /// `/dev/NAME` of each entry of its `slaves/` directory.
    public var backingDevices: [String]
    /// Where it was found (`/sys/devices/virtual/block/dm-0`).
    public var sysPath: String
}

/// Where a path's bytes are kept (docs/DAEMON-SEMANTICS.md).
public struct StorageResolution: Sendable, Hashable {
    public enum StorageClass: String, Sendable, Hashable {
        /// On a block device (possibly a stack of dm, md, partitions).
        case block
        /// tmpfs or ramfs: memory, not persistent.
        case memory
        /// A network filesystem (nfs, cifs, ceph, sshfs, glusterfs).
        case network
        /// Anything else without a block device (fuse, 9p, overlay, virtiofs, zfs…).
        case other
    }

    public var path: String
    public var resolvedPath: String
    public var mount: MountEntry
    public var storageClass: StorageClass
    public var encrypted: Bool
    /// A readable account of the encryption found (or why there is none).
    public var encryption: String
    /// The kinds of encryption found: `LUKS2`, `PLAIN`, `fscrypt`, `nfs sec=krb5p`…
    public var kinds: [String]
    /// The block devices walked, from the mounted one down (`dm-2`, `dm-0`, `sda3`).
    public var devices: [String]
    public var cryptMappings: [CryptMapping]
    /// For network filesystems: whether traffic is encrypted, and by which option.
    public var inTransitEncrypted: Bool?
    public var inTransit: String?

    /// The LUKS header nodes behind this path (`/dev/sda3`).
    public var luksDevices: [String] {
        var seen: Set<String> = []
        return cryptMappings.filter(\.kind.isLUKS).flatMap(\.backingDevices).filter { seen.insert($0).inserted }
    }
}

/// Why a path's storage could not be resolved. `missing` is runtime state (a `/sys` or `/dev`
/// entry) that is absent: `not_checked` offline, `error` live. `failed` is any other error.
public enum StorageFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case missing(String)
    case failed(String)

    public var description: String {
        switch self {
        case .missing(let r), .failed(let r): r
        }
    }

    /// As an `Unavailable` for this audit's mode.
    func unavailable(_ context: ProbeContext) -> Unavailable {
        switch self {
        case .missing(let r): context.absent(r)
        case .failed(let r): .error(r)
        }
    }

    /// As a list item the evaluator reads as `error` or `not_checked`, labelled by `key: label`.
    func item(_ context: ProbeContext, key: String = "path", label: String, extra: JSONObject = [:]) -> JSON {
        let u = unavailable(context)
        var o = extra
        o[key] = .string(label)
        o[u.kind.rawValue] = .string(u.reason)
        return .object(o)
    }
}

/// Resolves paths to their storage: the mount, its device number, the block-device stack under
/// `/sys/dev/block/MAJ:MIN` (through `slaves/`), and the dm-crypt mappings in it.
///
/// A stacked device is encrypted when it is a dm-crypt mapping or when *every* device under it
/// is: an LVM volume spanning an encrypted and a plain physical volume, or a mirror with one plain
/// leg, keeps data in the clear and is not counted as encrypted (stricter than "any device under
/// it", which §1 could be read as).
public struct StorageResolver: Sendable {
    public let root: HostRoot
    public let mounts: MountTable

    public static let memoryFilesystems: Set<String> = ["tmpfs", "ramfs"]
    public static let networkFilesystems: Set<String> = [
        "nfs", "nfs4", "cifs", "smb3", "ceph", "fuse.sshfs", "glusterfs", "fuse.glusterfs",
    ]
    /// `FS_ENCRYPT_FL` in the inode flags (`FS_IOC_GETFLAGS`): the inode is fscrypt-encrypted.
    static let fsEncryptFlag: UInt = 0x800

    public init(root: HostRoot, mounts: MountTable) {
        self.root = root
        self.mounts = mounts
    }

    /// Where `path` (as the host names it; symlinks are followed inside the root) is stored.
    public func resolve(_ path: String) -> Result<StorageResolution, StorageFailure> {
        let resolved: String
        do {
            resolved = try root.resolve(path)
            _ = try root.info(resolved)
        } catch {
            return .failure(.failed(error.isNotFound ? "\(error.path) does not exist" : error.description))
        }
        guard let mount = mounts.mount(containing: resolved) else {
            return .failure(.failed("no mount in \(mounts.source) holds \(resolved)"))
        }
        var r = StorageResolution(
            path: path, resolvedPath: resolved, mount: mount, storageClass: .other, encrypted: false,
            encryption: "", kinds: [], devices: [], cryptMappings: [])
        if StorageResolver.memoryFilesystems.contains(mount.fstype) {
            r.storageClass = .memory
            r.encryption = "memory (\(mount.fstype)): not persistent, so not encrypted at rest; swap is ENC-005's concern"
            return .success(r)
        }
        if StorageResolver.networkFilesystems.contains(mount.fstype) {
            let (encrypted, how) = StorageResolver.inTransit(mount)
            r.storageClass = .network
            r.inTransitEncrypted = encrypted
            r.inTransit = how
            r.encrypted = encrypted
            r.kinds = encrypted ? ["\(mount.fstype) \(how)"] : []
            r.encryption =
                encrypted
                ? "network filesystem encrypted in transit (\(mount.fstype), \(how))"
                : "network filesystem not encrypted in transit (\(mount.fstype): \(how))"
            return .success(r)
        }
        if let fscrypt = fscryptEncrypted(resolved), fscrypt {
            r.kinds.append("fscrypt")
        }
        switch blockDevice(for: mount) {
        case .failure(let f):
            return .failure(f)
        case .success(nil):
            r.storageClass = .other
        case .success(let sysLink?):
            r.storageClass = .block
            do {
                let stack = try DeviceStack.walk(root: root, link: sysLink)
                r.devices = stack.devices
                r.cryptMappings = stack.cryptMappings
                if stack.encrypted { r.kinds.insert(contentsOf: stack.kinds, at: 0) }
            } catch {
                return .failure(error)
            }
        }
        r.encrypted = !r.kinds.isEmpty
        if r.encrypted {
            let luks = r.luksDevices
            r.encryption =
                r.kinds.map { $0 == "fscrypt" ? "fscrypt-encrypted directory" : "dm-crypt \($0)" }.joined(separator: " + ")
                + (luks.isEmpty ? "" : " (\(luks.joined(separator: ", ")))")
        } else if r.storageClass == .block {
            r.encryption =
                "not encrypted: no dm-crypt mapping under every device of \(r.devices.joined(separator: " → ")), no fscrypt policy"
        } else {
            r.encryption = "not encrypted: \(mount.fstype) has no block device, and no fscrypt policy was found on the path"
        }
        return .success(r)
    }

    /// The `/sys/dev/block/MAJ:MIN` link of a mount's device; nil for filesystems without one.
    /// Filesystems that report an anonymous device number (major 0, e.g. btrfs) are looked up by
    /// their source when it is a `/dev` node.
    func blockDevice(for mount: MountEntry) -> Result<String?, StorageFailure> {
        if mount.major != 0 { return .success("/sys/dev/block/\(mount.deviceNumber)") }
        guard mount.source.hasPrefix("/dev/") else { return .success(nil) }
        do {
            let info = try root.info(mount.source)
            guard info.kind == .block else {
                return .failure(.failed("\(mount.source) (source of \(mount.mountPoint), device 0:\(mount.minor)) is not a block device"))
            }
            return .success("/sys/dev/block/\(info.rdevMajor):\(info.rdevMinor)")
        } catch {
            if error.isNotFound { return .failure(.missing("\(mount.source) (source of \(mount.mountPoint)) does not exist")) }
            return .failure(.failed(error.description))
        }
    }

    /// Whether a network mount encrypts its traffic, and the option that says so (or why not).
    /// nfs/nfs4: `sec=krb5p` (every flavour listed must be krb5p) or `xprtsec=tls|mtls`; cifs and
    /// smb3: `seal`; ceph: `ms_mode=secure`; sshfs always runs over SSH; glusterfs's TLS is
    /// configured on the volume, not visible in the mount options.
    static func inTransit(_ m: MountEntry) -> (Bool, String) {
        switch m.fstype {
        case "nfs", "nfs4":
            if let x = m.option("xprtsec"), x == "tls" || x == "mtls" { return (true, "xprtsec=\(x)") }
            if let sec = m.option("sec") {
                let flavours = sec.split(separator: ":")
                if !flavours.isEmpty && flavours.allSatisfy({ $0 == "krb5p" }) { return (true, "sec=\(sec)") }
                return (false, "sec=\(sec) (needs sec=krb5p or xprtsec=tls|mtls)")
            }
            return (false, "no sec=krb5p or xprtsec=tls|mtls option")
        case "cifs", "smb3":
            return m.option("seal") != nil ? (true, "seal") : (false, "no seal option")
        case "ceph":
            if let mode = m.option("ms_mode") {
                return mode == "secure" ? (true, "ms_mode=secure") : (false, "ms_mode=\(mode) (needs secure)")
            }
            return (false, "no ms_mode=secure option")
        case "fuse.sshfs":
            return (true, "ssh transport")
        default:
            return (false, "transport encryption of \(m.fstype) is not visible in its mount options")
        }
    }

    /// Whether the inode at `resolved` carries an fscrypt policy (`FS_ENCRYPT_FL`). Nil when the
    /// flags cannot be read.
    func fscryptEncrypted(_ resolved: String) -> Bool? {
        root.inodeFlags(resolved).map { $0 & StorageResolver.fsEncryptFlag != 0 }
    }
}

/// A block device and everything under it through `slaves/`, as sysfs shows it.
public struct DeviceStack: Sendable, Hashable {
    /// Kernel names from the top device down (`dm-2`, `dm-0`, `sda3`).
    public var devices: [String] = []
    public var cryptMappings: [CryptMapping] = []
    /// A crypt mapping itself, or stacked only on encrypted devices.
    public var encrypted = false

    /// The crypt kinds found (`LUKS2`), sorted.
    public var kinds: [String] { Set(cryptMappings.map(\.kind.rawValue)).sorted() }

    /// How deep a device stack may go (dm over md over dm…) before it is called a loop.
    static let maxDepth = 16

    /// Walks the device at `link` (`/sys/dev/block/MAJ:MIN` or `/sys/class/block/NAME`).
    public static func walk(root: HostRoot, link: String) throws(StorageFailure) -> DeviceStack {
        var stack = DeviceStack()
        var visited: Set<String> = []
        stack.encrypted = try walk(link, root: root, depth: 0, into: &stack, visited: &visited)
        return stack
    }

    /// Walks a block device and its `slaves/`, recording devices and crypt mappings. Returns
    /// whether the device is encrypted: a crypt mapping itself, or stacked only on encrypted ones.
    static func walk(_ link: String, root: HostRoot, depth: Int, into r: inout DeviceStack, visited: inout Set<String>)
        throws(StorageFailure) -> Bool
    {
        guard depth <= maxDepth else { throw .failed("\(link): device stack deeper than \(maxDepth) levels") }
        let sysPath: String
        let info: FileInfo
        do {
            sysPath = try root.resolve(link)
            info = try root.info(sysPath)
        } catch {
            if error.isNotFound { throw .missing("\(link) does not exist") }
            throw .failed(error.description)
        }
        guard info.kind == .directory else { throw .failed("\(link) is not a sysfs device directory") }
        let name = String(sysPath.split(separator: "/").last ?? "")
        guard visited.insert(sysPath).inserted else { throw .failed("\(sysPath): device stack loops back on itself") }
        r.devices.append(name)
        let dmDir = joinPath(sysPath, "dm")
        var dmUUID: String?
        var dmName: String?
        if root.isDirectory(dmDir) {
            dmUUID = try sysAttribute(root, joinPath(dmDir, "uuid"))
            dmName = try? sysAttribute(root, joinPath(dmDir, "name"))
        }
        let slavesDir = joinPath(sysPath, "slaves")
        var slaves: [String] = []
        if root.isDirectory(slavesDir) {
            do { slaves = try root.list(slavesDir, limit: 256) } catch { throw .failed(error.description) }
        } else if dmUUID != nil {
            throw .missing("\(slavesDir) does not exist")
        }
        if let uuid = dmUUID, let kind = CryptMapping.Kind.allCases.first(where: { uuid.hasPrefix($0.prefix) }) {
            r.cryptMappings.append(
                CryptMapping(
                    kind: kind, mapping: name, name: dmName, dmUUID: uuid,
                    backingDevices: slaves.map { "/dev/" + $0 }, sysPath: sysPath))
            for slave in slaves { _ = try walk(joinPath(slavesDir, slave), root: root, depth: depth + 1, into: &r, visited: &visited) }
            return true
        }
        guard !slaves.isEmpty else { return false }
        var all = true
        for slave in slaves {
            if !(try walk(joinPath(slavesDir, slave), root: root, depth: depth + 1, into: &r, visited: &visited)) { all = false }
        }
        return all
    }

    /// A one-line sysfs attribute: its first line, trimmed.
    static func sysAttribute(_ root: HostRoot, _ path: String) throws(StorageFailure) -> String {
        do {
            let text = try root.readText(path, limit: 4096)
            return String(lines(text).first?.trimmed ?? "")
        } catch {
            if error.isNotFound { throw .missing("\(path) does not exist") }
            throw .failed(error.description)
        }
    }
}

extension HostRoot {
    /// The inode flags (`FS_IOC_GETFLAGS`, as lsattr shows them) of a regular file or directory
    /// inside the root. Nil when the filesystem does not support them or the path is anything
    /// else (devices and FIFOs are never opened).
    func inodeFlags(_ virtual: String) -> UInt? {
        guard let resolved = try? resolve(virtual), let kind = try? info(resolved).kind, kind == .regular || kind == .directory else {
            return nil
        }
        guard let (directory, name) = try? openParent(resolved, reportAs: virtual) else { return nil }
        let fd = openat(directory, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
        close(directory)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var flags: UInt = 0
        // FS_IOC_GETFLAGS = _IOR('f', 1, long)
        guard ioctl(fd, 0x8008_6601, &flags) == 0 else { return nil }
        return flags
    }
}

extension StorageResolution {
    /// The storage fact's item for this path.
    var json: JSON {
        var o: JSONObject = [
            "path": .string(path),
            "resolved_path": .string(resolvedPath),
            "mount_point": .string(mount.mountPoint),
            "mount_source": .string(mount.source),
            "mount_options": .array(mount.options.map { .string($0) }),
            "super_options": .array(mount.superOptions.map { .string($0) }),
            "fstype": .string(mount.fstype),
            "device_number": .string(mount.deviceNumber),
            "class": .string(storageClass.rawValue),
            "encrypted": ["value": .bool(encrypted), "source": .string(mount.location)],
            "encryption": .string(encryption),
            "encryption_kinds": .array(kinds.map { .string($0) }),
            "devices": .array(devices.map { .string($0) }),
            "crypt_mappings": .array(
                cryptMappings.map { m in
                    var c: JSONObject = [
                        "mapping": .string(m.mapping), "kind": .string(m.kind.rawValue), "dm_uuid": .string(m.dmUUID),
                        "backing_devices": .array(m.backingDevices.map { .string($0) }),
                    ]
                    if let n = m.name { c["name"] = .string(n) }
                    return .object(c)
                }),
            "luks_devices": .array(luksDevices.map { .string($0) }),
            "network": .bool(storageClass == .network),
        ]
        if let t = inTransitEncrypted { o["in_transit_encrypted"] = ["value": .bool(t), "source": .string(mount.location)] }
        if let i = inTransit { o["in_transit"] = .string(i) }
        return .object(o)
    }
}
