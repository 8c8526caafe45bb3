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

    // MARK: - Probe tests: the facts of a mount table and sysfs

    @Test func aWritableRootOnAPartition() throws {
        let tree = host("21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw,errors=remount-ro\n22 21 0:22 / /proc rw - proc proc rw\n")
        let mounts = try #require(try fact(tree)["mounts"]?.arrayValue)
        #expect(mounts.map { $0["path"] } == ["/", "/usr"])
        // /usr is in /'s filesystem: the same mount, reported for both.
        #expect(mounts.map { $0["mount_point"] } == ["/", "/"])
        #expect(mounts.map { $0["read_only"] } == [false, false])
        #expect(mounts.map { $0["verity"] } == [false, false])
        #expect(mounts.map { $0["device"] } == ["8:1", "8:1"])
        #expect(mounts.map { $0["source"] } == ["/proc/self/mountinfo:1", "/proc/self/mountinfo:1"])
    }

    @Test func aReadOnlyUsr() throws {
        let tree = host(
            """
            21 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            23 21 8:2 / /usr ro,relatime - ext4 /dev/sda2 ro

            """)
        let mounts = try #require(try fact(tree)["mounts"]?.arrayValue)
        #expect(mounts.map { $0["read_only"] } == [false, true])
        #expect(mounts.map { $0["verity"] } == [false, false])
        #expect(mounts.last?["source"] == "/proc/self/mountinfo:2")
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
        #expect(usr["fstype"] == "erofs")
        #expect(usr["dm_name"] == "usr")
        #expect(usr["dm_uuid"] == "CRYPT-VERITY-3b5bd2d6b1e94d0b8f1a2b3c4d5e6f70-usr")
        #expect(usr["source"] == "/proc/self/mountinfo:2")
    }

    @Test func aWritableRootOnDMCryptIsNotVerity() throws {
        let tree = host(
            "21 1 254:0 / / rw,relatime - ext4 /dev/mapper/root rw\n", dmUUID: "CRYPT-LUKS2-0e7c5e3b2f1a4d9c8b7a6f5e4d3c2b1a-root")
        let mounts = try #require(try fact(tree)["mounts"]?.arrayValue)
        #expect(mounts.map { $0["verity"] } == [false, false])
        #expect(mounts.first?["dm_uuid"] == "CRYPT-LUKS2-0e7c5e3b2f1a4d9c8b7a6f5e4d3c2b1a-root")
    }

    @Test func anOfflineRootWithoutAMountTableIsNotChecked() throws {
        let tree = TempTree()
        tree.file("etc/fstab", "/dev/sda2 /usr ext4 ro 0 2\n")
        let fact = try audit(root: tree.path, probes: [ImmutableRootProbe()]).facts["immutable_root"]
        guard case .unavailable(let u)? = fact else {
            Issue.record("\(String(describing: fact))")
            return
        }
        #expect(u.kind == .notChecked && u.reason.contains("mount"), "\(u)")
    }

    @Test func anOfflineRootWithoutSysfsLeavesVerityNotCheckedButStatesReadOnly() throws {
        let rw = TempTree()
        rw.file("proc/self/mountinfo", "21 1 254:0 / / rw,relatime - ext4 /dev/mapper/root rw\n")
        let mount = try #require(try fact(rw)["mounts"]?.arrayValue?.first)
        #expect(mount["verity"]?["not_checked"] != nil, "\(mount)")
        #expect(mount["read_only"] == false)
        let ro = TempTree()
        ro.file("proc/self/mountinfo", "21 1 254:0 / / ro,relatime - ext4 /dev/mapper/root ro\n")
        let roMount = try #require(try fact(ro)["mounts"]?.arrayValue?.first)
        #expect(roMount["verity"]?["not_checked"] != nil, "\(roMount)")
        #expect(roMount["read_only"] == true)
    }

    // MARK: - Control tests: HRD-014 over canned facts

    static func mount(_ path: String, readOnly: Bool = false, verity: JSON = false, line: Int = 1) -> JSON {
        var m: JSONObject = [
            "path": .string(path), "mount_point": .string(line == 1 ? "/" : path), "fstype": "ext4",
            "device": line == 1 ? "8:1" : "254:0", "options": [readOnly ? "ro" : "rw", "relatime"], "read_only": .bool(readOnly),
            "verity": verity, "source": .string("/proc/self/mountinfo:\(line)"),
        ]
        if verity == true {
            m["dm_name"] = "usr"
            m["dm_uuid"] = "CRYPT-VERITY-3b5bd2d6b1e94d0b8f1a2b3c4d5e6f70-usr"
        }
        return .object(m)
    }

    static let noSysfs: JSON = ["not_checked": "/sys/dev/block/254:0 is not in an offline root", "source": "/sys/dev/block/254:0"]

    /// Rows: case, mounts (or why there are none), status at both levels (always advisory), and
    /// one piece of evidence the finding shows: source, observed, ok, and a word of what it expected.
    static let hrd014Table: [(String, [JSON]?, Unavailable?, Status, (String, JSON, Bool, String)?)] = [
        ("/ and /usr writable on a partition", [mount("/"), mount("/usr")], nil, .fail, ("/proc/self/mountinfo:1", false, false, "")),
        (
            "/usr read-only", [mount("/"), mount("/usr", readOnly: true, line: 2)], nil, .pass,
            ("/proc/self/mountinfo:2", true, true, "read-only")
        ),
        (
            "/usr on dm-verity, the mount rw", [mount("/"), mount("/usr", verity: true, line: 2)], nil, .pass,
            ("/proc/self/mountinfo:2", true, true, "dm-verity")
        ),
        ("verity unknown without sysfs, writable", [mount("/", verity: noSysfs), mount("/usr", verity: noSysfs)], nil, .notChecked, nil),
        (
            "verity unknown without sysfs, read-only",
            [mount("/", readOnly: true, verity: noSysfs), mount("/usr", readOnly: true, verity: noSysfs)], nil, .pass, nil
        ),
        ("no mount table offline", nil, .notChecked("no mount table (/proc/self/mountinfo) in an offline root"), .notChecked, nil),
    ]

    @Test(arguments: ImmutableRootTests.hrd014Table.indices)
    func hrd014OverATableOfFacts(_ row: Int) throws {
        let (name, mounts, unavailable, expected, evidence) = ImmutableRootTests.hrd014Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding(
                "HRD-014", profile: profile, facts: mounts.map { ["immutable_root": ["mounts": .array($0)]] } ?? [:],
                unavailable: unavailable.map { ["immutable_root": $0] } ?? [:])
            #expect(f.status == expected, "\(name) at \(profile): \(f.summary)")
            // Reported, never a verdict.
            #expect(f.advisory && !f.blocksConformance, "\(name) at \(profile)")
            // The probe's reason reaches the summary.
            if unavailable != nil { #expect(f.summary.contains("no mount table"), "\(name) at \(profile): \(f.summary)") }
            if let (source, observed, ok, word) = evidence {
                #expect(
                    f.evidence.contains { $0.source == source && $0.observed == observed && $0.ok == ok && $0.expected.contains(word) },
                    "\(name) at \(profile): \(f.evidence)")
            }
        }
    }
}
