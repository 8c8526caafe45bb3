import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// HRD-014: / or /usr mounted read-only, or on a dm-verity device (dm/uuid CRYPT-VERITY-), read
/// from the mount table and sysfs; reported (advisory) at both levels.
@Suite struct ImmutableRootTests {
    static let sda = "devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"

    /// A running system with this mount table, partitions sda1 (8:1) and sda2 (8:2), and dm-0
    /// (254:0) whose dm/uuid is `dmUUID`.
    func host(_ mountinfo: String, dmUUID: String = "CRYPT-VERITY-3b5bd2d6b1e94d0b8f1a2b3c4d5e6f70-usr") -> TempTree {
        let tree = TempTree()
        tree.file("proc/self/mountinfo", mountinfo)
        for (number, name) in [("8:1", "sda1"), ("8:2", "sda2")] {
            tree.file("sys/\(Self.sda)/\(name)/dev", number + "\n")
            tree.symlink("sys/dev/block/\(number)", to: "../../\(Self.sda)/\(name)")
        }
        tree.file("sys/devices/virtual/block/dm-0/dm/uuid", dmUUID + "\n")
        tree.file("sys/devices/virtual/block/dm-0/dm/name", "usr\n")
        tree.file("sys/devices/virtual/block/dm-0/slaves/sda2", "")
        tree.symlink("sys/dev/block/254:0", to: "../../devices/virtual/block/dm-0")
        return tree
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("immutable_root", of: ImmutableRootProbe(), root: tree.path) }

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("HRD-014", root: tree.path, probes: [ImmutableRootProbe()])
    }

    @Test func aWritableRootOnAPartitionFailsAndIsOnlyReported() throws {
        let tree = host("21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro\n22 21 0:22 / /proc rw - proc proc rw\n")
        let mounts = try #require(try fact(tree)["mounts"]?.arrayValue)
        #expect(mounts.map { $0["path"] } == ["/", "/usr"])
        // /usr is in /'s filesystem: the same mount, reported for both.
        #expect(mounts.map { $0["mount_point"] } == ["/", "/"])
        #expect(mounts.map { $0["read_only"] } == [false, false])
        #expect(mounts.map { $0["verity"] } == [false, false])
        #expect(mounts.first?["source"] == "/proc/self/mountinfo:1")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.advisory, "\(profile): reported, never a verdict")
            #expect(!f.blocksConformance)
            #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:1" && $0.observed == false && $0.ok == false })
        }
    }

    @Test func aReadOnlyUsrPasses() throws {
        let tree = host(
            """
            21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            23 21 8:2 / /usr ro,relatime - ext4 /dev/sda2 ro

            """)
        let mounts = try #require(try fact(tree)["mounts"]?.arrayValue)
        #expect(mounts.map { $0["read_only"] } == [false, true])
        #expect(mounts.last?["source"] == "/proc/self/mountinfo:2")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:2" && $0.observed == true && $0.ok == true })
        }
    }

    @Test func usrOnDMVerityIsReportedAsVerity() throws {
        // A verity device is read-only; the per-mount flag is left rw here so that verity alone decides.
        let tree = host(
            """
            21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            23 21 254:0 / /usr rw,relatime - erofs /dev/mapper/usr rw

            """)
        let usr = try #require(try fact(tree)["mounts"]?.arrayValue?.last)
        #expect(usr["verity"] == true)
        #expect(usr["read_only"] == false)
        #expect(usr["dm_name"] == "usr")
        #expect(usr["dm_uuid"]?.stringValue?.hasPrefix("CRYPT-VERITY-") == true)
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.observed == true && $0.ok == true && $0.expected.contains("dm-verity") }, "\(f.evidence)")
        }
    }

    @Test func aWritableRootOnDMCryptIsNotVerity() throws {
        let tree = host(
            "21 1 254:0 / / rw,relatime - ext4 /dev/mapper/root rw\n", dmUUID: "CRYPT-LUKS2-0e7c5e3b2f1a4d9c8b7a6f5e4d3c2b1a-root")
        #expect(try fact(tree)["mounts"]?.arrayValue?.map { $0["verity"] } == [false, false])
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
    }

    @Test func anOfflineRootWithoutAMountTableIsNotChecked() throws {
        let tree = TempTree()
        tree.file("etc/fstab", "/dev/sda2 /usr ext4 ro 0 2\n")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .notChecked, "\(profile): \(f.summary)")
            #expect(f.summary.contains("mount"), "\(f.summary)")
        }
    }

    @Test func anOfflineRootWithoutSysfsLeavesVerityNotCheckedButReadOnlyStillDecides() throws {
        let rw = TempTree()
        rw.file("proc/self/mountinfo", "21 1 254:0 / / rw,relatime - ext4 /dev/mapper/root rw\n")
        #expect(try fact(rw)["mounts"]?.arrayValue?.first?["verity"]?["not_checked"] != nil)
        for (profile, f) in try findings(rw) { #expect(f.status == .notChecked, "\(profile): \(f.summary)") }
        let ro = TempTree()
        ro.file("proc/self/mountinfo", "21 1 254:0 / / ro,relatime - ext4 /dev/mapper/root ro\n")
        for (profile, f) in try findings(ro) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }
}
