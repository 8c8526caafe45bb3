import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ENC-010: every persistent local filesystem on dm-crypt, /boot and the EFI system partition
/// excepted (docs/DAEMON-SEMANTICS.md, "Every persistent local filesystem").
@Suite struct FilesystemEncryptionTests {
    /// Audits a root with the filesystems probe only, at `profile`.
    func auditFilesystems(_ root: String, profile: String = "sl3") throws -> (facts: FactSet, finding: Finding) {
        let (facts, findings) = try audit(root: root, profile: profile, site: weightsSite("/srv/weights"), probes: [FilesystemsProbe()])
        return (facts, findings["ENC-010"])
    }

    func items(_ facts: FactSet) throws -> [JSON] {
        try #require(try factValue(facts, "filesystems")["items"]?.arrayValue)
    }

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

    @Test(arguments: ["sl3", "sl4"]) func rootAndWeightsOnLVMOverLUKSPass(profile: String) throws {
        let (facts, f) = try auditFilesystems(Package.fixtureRoot("weights-lvm-on-luks"), profile: profile)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:1" && $0.observed == true })
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:5" && $0.observed == true })
        let list = try items(facts)
        #expect(list.map { $0["name"] } == ["/ (/dev/mapper/vg0-root)", "/srv/weights (/dev/mapper/vg0-weights)"])
        #expect(list.first?["devices"] == ["dm-1", "dm-0", "sda3"])
        #expect(list.first?["encryption"] == "dm-crypt LUKS2 (/dev/sda3)")
        // /boot is the boot loader's; devtmpfs and tmpfs have no block device and are not listed.
        let excluded = try #require(try factValue(facts, "filesystems")["excluded"]?.arrayValue)
        #expect(excluded.map { $0["mount_point"] } == ["/boot"])
        #expect(excluded.first?["device"] == "/dev/sda1")
    }

    @Test(arguments: ["sl3", "sl4"]) func plainDisksFailNamingMountPointAndDevice(profile: String) throws {
        let (facts, f) = try auditFilesystems(Package.fixtureRoot("weights-plain-ext4"), profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary.contains("/ (/dev/sda1): on dm-crypt under every device of its stack is false"), "\(f.summary)")
        #expect(f.summary.contains("/srv/weights (/dev/sdb1)"), "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:1" && $0.observed == false })
        let list = try items(facts)
        #expect(list.first?["device"] == "/dev/sda1")
        #expect(list.first?["encryption"] == "not encrypted: no dm-crypt mapping under every device of sda1")
    }

    /// Encrypting the weights is not enough: the plain root still fails, and only it is named.
    @Test(arguments: ["sl3", "sl4"]) func encryptedWeightsOnAPlainRootFail(profile: String) throws {
        let (_, f) = try auditFilesystems(Package.fixtureRoot("weights-symlink-into-encrypted-mount"), profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary.contains("/ (/dev/sda1)"))
        #expect(
            !f.summary.contains("/data/secure weights (/dev/mapper/weights_crypt): on dm-crypt under every device of its stack is false"))
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:2" && $0.observed == true })
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
        let (facts, f) = try auditFilesystems(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(try items(facts).map { $0["mount_point"] } == ["/"])
    }

    /// A bind mount (or PrivateTmp=) is the same filesystem: judged once, where first mounted.
    @Test func bindMountsAreJudgedOnce() throws {
        let tree = host(
            "21 1 8:17 / / rw - ext4 /dev/sdb1 rw\n31 21 8:17 /srv /srv/again rw - ext4 /dev/sdb1 rw\n")
        let (facts, f) = try auditFilesystems(tree.path)
        #expect(f.status == .fail)
        #expect(try items(facts).map { $0["mount_point"] } == ["/"])
    }

    @Test func efiSystemPartitionIsExcludedByMountPointOrPartitionType() throws {
        func mounts(_ esp: String) -> String {
            "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n30 21 8:18 / \(esp) rw - vfat /dev/sdb2 rw\n"
        }
        let tree = host(mounts("/mnt/esp"))
        // Without udev's record, a vfat partition elsewhere than /boot/efi or /efi is a plain filesystem.
        let (_, plain) = try auditFilesystems(tree.path)
        #expect(plain.status == .fail)
        #expect(plain.summary.contains("/mnt/esp (/dev/sdb2)"))
        tree.file("run/udev/data/b8:18", "S:disk/by-partuuid/1234\nE:ID_PART_ENTRY_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n")
        let (facts, f) = try auditFilesystems(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        let excluded = try #require(try factValue(facts, "filesystems")["excluded"]?.arrayValue)
        #expect(excluded.first?["reason"]?.stringValue?.contains("partition type c12a7328-f81f-11d2-ba4b-00a0c93ec93b") == true)
        // At /boot/efi it is excluded by its mount point alone.
        unlink(tree.path + "/run/udev/data/b8:18")
        tree.file("proc/self/mountinfo", mounts("/boot/efi"))
        #expect(try auditFilesystems(tree.path).finding.status == .pass)
    }

    /// A loop device has no slaves/: it is judged by the filesystem that holds its backing file.
    @Test func loopDeviceIsJudgedByItsBackingFile() throws {
        let tree = host("21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n40 21 7:0 / /var/lib/images rw - ext4 /dev/loop0 rw\n")
        tree.file("sys/devices/virtual/block/loop0/dev", "7:0\n")
        tree.file("sys/devices/virtual/block/loop0/loop/backing_file", "/srv/weights/disk.img\n")
        tree.symlink("sys/dev/block/7:0", to: "../../devices/virtual/block/loop0")
        tree.file("srv/weights/disk.img", "")
        let (facts, f) = try auditFilesystems(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(
            try items(facts).last?["encryption"]?.stringValue?.hasPrefix("loop0 backed by /srv/weights/disk.img: dm-crypt LUKS2") == true)
        // The same image on the plain disk sdb1 is not encrypted.
        tree.file(
            "proc/self/mountinfo",
            "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n31 21 8:17 / /data rw - ext4 /dev/sdb1 rw\n"
                + "40 21 7:0 / /var/lib/images rw - ext4 /dev/loop0 rw\n")
        tree.file("data/disk.img", "")
        tree.file("sys/devices/virtual/block/loop0/loop/backing_file", "/data/disk.img\n")
        let (_, plain) = try auditFilesystems(tree.path)
        #expect(plain.status == .fail)
        #expect(plain.summary.contains("/var/lib/images (/dev/loop0)"), "\(plain.summary)")
    }

    @Test func onlyMemoryAndNetworkMountsIsNotApplicable() throws {
        let tree = host("21 1 0:30 / / rw - nfs4 nas:/root rw,sec=krb5p\n26 21 0:24 / /tmp rw - tmpfs tmpfs rw\n")
        let f = try auditFilesystems(tree.path).finding
        #expect(f.status == .notApplicable)
        #expect(f.summary.contains("no persistent local filesystem is mounted"))
    }

    @Test(arguments: ["sl3", "sl4"]) func noMountTableOfflineIsNotChecked(profile: String) throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/proc"])
        let f = try auditFilesystems(tree.path, profile: profile).finding
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("/proc/self/mountinfo does not exist (offline root)"), "\(f.summary)")
    }

    /// A device stack that cannot be walked is not_checked offline (error live), never a pass.
    @Test func missingSysEntriesOfflineAreNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys/devices/virtual/block/dm-0/slaves"])
        let f = try auditFilesystems(tree.path).finding
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("/ (/dev/mapper/vg0-root): /sys/devices/virtual/block/dm-0/slaves does not exist"), "\(f.summary)")
    }
}
