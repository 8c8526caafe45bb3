import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Every persistent local filesystem on dm-crypt, /boot and the EFI system partition excepted
/// (docs/DAEMON-SEMANTICS.md, "Every persistent local filesystem"): the `filesystems` fact of
/// fixtures and small trees, and ENC-010 over a table of canned facts.
@Suite struct FilesystemEncryptionTests {
    // MARK: - Probe tests

    func filesystems(_ root: String) throws -> JSON { try probeFact("filesystems", of: FilesystemsProbe(), root: root) }
    // Taking the tree, not its path, keeps it (and its files) alive while the probe reads it.
    func filesystems(_ tree: TempTree) throws -> JSON { try filesystems(tree.path) }

    func items(_ fact: JSON) throws -> [JSON] { try #require(fact["items"]?.arrayValue) }

    /// A copy of weights-lvm-on-luks with the given mount table and a plain disk sdb (8:16,
    /// partitions sdb1 8:17 and sdb2 8:18) beside its LUKS one.
    func host(_ mountinfo: String) -> TempTree {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        let sdb = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb"
        for (number, name) in [("8:17", "sdb1"), ("8:18", "sdb2")] {
            tree.file("sys/\(sdb)/\(name)/dev", number + "\n")
            tree.symlink("sys/dev/block/\(number)", to: "../../\(sdb)/\(name)")
        }
        tree.file("proc/self/mountinfo", mountinfo)
        return tree
    }

    @Test func rootAndWeightsOnLVMOverLUKS() throws {
        let fact = try filesystems(Package.fixtureRoot("weights-lvm-on-luks"))
        let list = try items(fact)
        #expect(list.map { $0["name"] } == ["/ (/dev/mapper/vg0-root)", "/srv/weights (/dev/mapper/vg0-weights)"])
        #expect(
            list.map { $0["encrypted"] } == [
                ["value": true, "source": "/proc/self/mountinfo:1"], ["value": true, "source": "/proc/self/mountinfo:5"],
            ])
        #expect(list.first?["devices"] == ["dm-1", "dm-0", "sda3"])
        #expect(list.first?["encryption"] == "dm-crypt LUKS2 (/dev/sda3)")
        // /boot is the boot loader's; devtmpfs and tmpfs have no block device and are not listed.
        #expect(fact["excluded"]?.arrayValue?.map { $0["mount_point"] } == ["/boot"])
        #expect(fact["excluded"]?[0]?["device"] == "/dev/sda1")
    }

    @Test func plainDisksNamingMountPointAndDevice() throws {
        let list = try items(try filesystems(Package.fixtureRoot("weights-plain-ext4")))
        #expect(list.map { $0["name"] } == ["/ (/dev/sda1)", "/srv/weights (/dev/sdb1)"])
        #expect(list.first?["device"] == "/dev/sda1")
        #expect(list.first?["encrypted"] == ["value": false, "source": "/proc/self/mountinfo:1"])
        #expect(list.first?["encryption"] == "not encrypted: no dm-crypt mapping under every device of sda1")
        #expect(list.last?["encrypted"]?["value"] == false)
    }

    /// Encrypting the weights is not enough: the plain root is still listed, and plain.
    @Test func encryptedWeightsOnAPlainRoot() throws {
        let list = try items(try filesystems(Package.fixtureRoot("weights-symlink-into-encrypted-mount")))
        #expect(list.map { $0["name"] } == ["/ (/dev/sda1)", "/data/secure weights (/dev/mapper/weights_crypt)"])
        #expect(
            list.map { $0["encrypted"] } == [
                ["value": false, "source": "/proc/self/mountinfo:1"], ["value": true, "source": "/proc/self/mountinfo:2"],
            ])
    }

    @Test func pseudoMemoryNetworkAndOverlayMountsAreOutOfScope() throws {
        let tree = host(
            """
            21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw
            22 21 0:22 / /proc rw - proc proc rw
            23 21 0:21 / /sys rw - sysfs sysfs rw
            24 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
            25 21 0:5 / /dev rw - devtmpfs udev rw
            26 21 0:24 / /tmp rw - tmpfs tmpfs rw
            27 21 0:51 / /mnt/models rw - nfs4 nas:/models rw,sec=sys
            28 21 0:60 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/a,upperdir=/b,workdir=/c
            29 21 0:61 / /run/user/1000/doc rw - fuse.portal portal rw

            """)
        let fact = try filesystems(tree)
        #expect(try items(fact).map { $0["mount_point"] } == ["/"])
        #expect(fact["excluded"] == [])
    }

    /// A bind mount (or PrivateTmp=) is the same filesystem: judged once, where first mounted.
    @Test func bindMountsAreListedOnce() throws {
        let tree = host("21 1 8:17 / / rw - ext4 /dev/sdb1 rw\n31 21 8:17 /srv /srv/again rw - ext4 /dev/sdb1 rw\n")
        let list = try items(try filesystems(tree))
        #expect(list.map { $0["mount_point"] } == ["/"])
        #expect(list.first?["encrypted"]?["value"] == false)
    }

    @Test func theEFISystemPartitionIsExcludedByMountPointOrPartitionType() throws {
        func mounts(_ esp: String) -> String {
            "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n30 21 8:18 / \(esp) rw - vfat /dev/sdb2 rw\n"
        }
        let tree = host(mounts("/mnt/esp"))
        // Without udev's record, a vfat partition elsewhere than /boot/efi or /efi is a plain filesystem.
        let plain = try items(try filesystems(tree))
        #expect(plain.map { $0["name"] } == ["/ (/dev/mapper/vg0-root)", "/mnt/esp (/dev/sdb2)"])
        #expect(plain.last?["encrypted"]?["value"] == false)
        tree.file("run/udev/data/b8:18", "S:disk/by-partuuid/1234\nE:ID_PART_ENTRY_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n")
        let byType = try filesystems(tree)
        #expect(try items(byType).map { $0["mount_point"] } == ["/"])
        #expect(byType["excluded"]?[0]?["mount_point"] == "/mnt/esp")
        #expect(
            byType["excluded"]?[0]?["reason"]?.stringValue?.contains("partition type c12a7328-f81f-11d2-ba4b-00a0c93ec93b") == true)
        // At /boot/efi it is excluded by its mount point alone.
        unlink(tree.path + "/run/udev/data/b8:18")
        tree.file("proc/self/mountinfo", mounts("/boot/efi"))
        let byMountPoint = try filesystems(tree)
        #expect(try items(byMountPoint).map { $0["mount_point"] } == ["/"])
        #expect(byMountPoint["excluded"]?.arrayValue?.map { $0["mount_point"] } == ["/boot/efi"])
    }

    /// A loop device has no slaves/: it is judged by the filesystem that holds its backing file.
    @Test func aLoopDeviceIsJudgedByItsBackingFile() throws {
        let tree = host("21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n40 21 7:0 / /var/lib/images rw - ext4 /dev/loop0 rw\n")
        tree.file("sys/devices/virtual/block/loop0/dev", "7:0\n")
        tree.file("sys/devices/virtual/block/loop0/loop/backing_file", "/srv/weights/disk.img\n")
        tree.symlink("sys/dev/block/7:0", to: "../../devices/virtual/block/loop0")
        tree.file("srv/weights/disk.img", "")
        let image = try #require(try items(try filesystems(tree)).last)
        #expect(image["name"] == "/var/lib/images (/dev/loop0)")
        #expect(image["encrypted"] == ["value": true, "source": "/proc/self/mountinfo:2"])
        #expect(image["encryption"]?.stringValue?.hasPrefix("loop0 backed by /srv/weights/disk.img: dm-crypt LUKS2") == true)
        // The same image on the plain disk sdb1 is not encrypted.
        tree.file(
            "proc/self/mountinfo",
            "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n31 21 8:17 / /data rw - ext4 /dev/sdb1 rw\n"
                + "40 21 7:0 / /var/lib/images rw - ext4 /dev/loop0 rw\n")
        tree.file("data/disk.img", "")
        tree.file("sys/devices/virtual/block/loop0/loop/backing_file", "/data/disk.img\n")
        let plain = try #require(try items(try filesystems(tree)).last)
        #expect(plain["name"] == "/var/lib/images (/dev/loop0)")
        #expect(plain["encrypted"] == ["value": false, "source": "/proc/self/mountinfo:3"])
    }

    @Test func onlyMemoryAndNetworkMountsListNothing() throws {
        let tree = host("21 1 0:30 / / rw - nfs4 nas:/root rw,sec=krb5p\n26 21 0:24 / /tmp rw - tmpfs tmpfs rw\n")
        let fact = try filesystems(tree)
        #expect(fact["items"] == [])
        #expect(fact["excluded"] == [])
    }

    @Test func noMountTableOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/proc"])
        let fact = try audit(root: tree.path, probes: [FilesystemsProbe()]).facts["filesystems"]
        #expect(
            fact == .unavailable(.notChecked("no mount table: /proc/self/mountinfo does not exist (offline root)")),
            "\(String(describing: fact))")
    }

    /// A device stack that cannot be walked is not_checked offline (error live), never encrypted.
    @Test func missingSysEntriesOfflineAreNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys/devices/virtual/block/dm-0/slaves"])
        let first = try #require(try items(try filesystems(tree)).first)
        #expect(first["name"] == "/ (/dev/mapper/vg0-root)")
        #expect(first["not_checked"]?.stringValue?.contains("/sys/devices/virtual/block/dm-0/slaves does not exist") == true, "\(first)")
        #expect(first["encrypted"] == nil)
    }

    // MARK: - Control tests: ENC-010 over canned filesystems facts

    /// One filesystem as the probe describes it: on LUKS under LVM, unless told otherwise.
    static func filesystem(_ mountPoint: String, device: String = "/dev/mapper/vg0-root", encrypted: Bool = true, line: Int = 1) -> JSON {
        [
            "name": .string("\(mountPoint) (\(device))"), "mount_point": .string(mountPoint), "device": .string(device),
            "fstype": "ext4", "devices": encrypted ? ["dm-1", "dm-0", "sda3"] : ["sdb1"],
            "encrypted": ["value": .bool(encrypted), "source": .string("/proc/self/mountinfo:\(line)")],
            "encryption": encrypted ? "dm-crypt LUKS2 (/dev/sda3)" : "not encrypted: no dm-crypt mapping under every device of sdb1",
        ]
    }

    static func fact(_ items: [JSON], excluded: [JSON] = [["mount_point": "/boot", "device": "/dev/sda1", "reason": "the boot loader's"]])
        -> JSON
    {
        ["source": "/proc/self/mountinfo", "items": .array(items), "excluded": .array(excluded)]
    }

    typealias Row = (name: String, filesystems: JSON, status: Status, summary: String?)

    /// ENC-010 has no parameters: each row has the same status at SL3 and SL4.
    static let enc010Table: [Row] = [
        (
            "root and weights on LUKS", fact([filesystem("/"), filesystem("/srv/weights", device: "/dev/mapper/vg0-weights", line: 5)]),
            .pass, nil
        ),
        (
            "a plain root under encrypted weights",
            fact([
                filesystem("/", device: "/dev/sda1", encrypted: false),
                filesystem("/data/secure weights", device: "/dev/mapper/weights_crypt", line: 2),
            ]),
            .fail, "/ (/dev/sda1): on dm-crypt under every device of its stack is false"
        ),
        (
            "a plain loop image", fact([filesystem("/"), filesystem("/var/lib/images", device: "/dev/loop0", encrypted: false, line: 3)]),
            .fail,
            "/var/lib/images (/dev/loop0)"
        ),
        ("only the excluded /boot is plain", fact([filesystem("/")]), .pass, nil),
        (
            "no persistent local filesystem", fact([], excluded: []), .notApplicable,
            "no persistent local filesystem is mounted (every mount is memory, pseudo, network or boot)"
        ),
        (
            "a stack that cannot be walked offline",
            fact([
                [
                    "name": "/ (/dev/mapper/vg0-root)", "mount_point": "/", "device": "/dev/mapper/vg0-root",
                    "not_checked": "/sys/devices/virtual/block/dm-0/slaves does not exist (offline root)",
                ]
            ]), .notChecked, "/ (/dev/mapper/vg0-root): /sys/devices/virtual/block/dm-0/slaves does not exist"
        ),
    ]

    @Test(arguments: FilesystemEncryptionTests.enc010Table.indices)
    func enc010OverATableOfFacts(_ row: Int) throws {
        let (name, filesystems, expected, summary) = Self.enc010Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("ENC-010", profile: profile, facts: ["filesystems": filesystems])
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
            if let summary { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
            // Only what is plain is named.
            for item in filesystems["items"]?.arrayValue ?? [] where item["encrypted"]?["value"] == true {
                let named = "\(item["name"]?.stringValue ?? ""): on dm-crypt under every device of its stack is false"
                #expect(!f.summary.contains(named), "\(profile) \(name): \(f.summary)")
            }
        }
    }

    @Test(arguments: ["sl3", "sl4"]) func enc010WithoutAMountTableOfflineIsNotChecked(profile: String) throws {
        let f = try cannedFinding(
            "ENC-010", profile: profile, facts: [:],
            unavailable: ["filesystems": .notChecked("no mount table: /proc/self/mountinfo does not exist (offline root)")])
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("/proc/self/mountinfo does not exist (offline root)"), "\(f.summary)")
    }
}
