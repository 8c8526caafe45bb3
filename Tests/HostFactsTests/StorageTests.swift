import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Where the weight paths are stored (docs/DAEMON-SEMANTICS.md): the `storage` fact of fixtures
/// and small trees, and ENC-001 and ENC-007 over tables of canned facts.
@Suite struct StorageTests {
    // MARK: - Probe tests

    /// The `storage` fact of `tree` for the weight paths `site` registers.
    func storage(_ tree: TempTree, site: String = weightsSite("/srv/weights")) throws -> JSON {
        try probeFact("storage", of: StorageProbe(), root: tree.path, site: site)
    }

    func storage(fixture: String, site: String = weightsSite("/srv/weights")) throws -> JSON {
        try probeFact("storage", of: StorageProbe(), root: Package.fixtureRoot(fixture), site: site)
    }

    @Test func lvmOnLUKS() throws {
        let fact = try storage(fixture: "weights-lvm-on-luks")
        #expect(fact["weights_origin"] == "site")
        #expect(fact["network_items"] == [])
        let item = try #require(fact["items"]?[0])
        #expect(item["path"] == "/srv/weights")
        #expect(item["mount_point"] == "/srv/weights")
        #expect(item["class"] == "block")
        #expect(item["devices"] == ["dm-2", "dm-0", "sda3"])
        #expect(item["encryption_kinds"] == ["LUKS2"])
        #expect(item["luks_devices"] == ["/dev/sda3"])
        #expect(item["crypt_mappings"]?[0]?["name"] == "sda3_crypt")
        #expect(item["encrypted"] == ["value": true, "source": "/proc/self/mountinfo:5"])
    }

    @Test func plainExt4() throws {
        let item = try #require(try storage(fixture: "weights-plain-ext4")["items"]?[0])
        #expect(item["devices"] == ["sdb1"])
        #expect(item["encrypted"] == ["value": false, "source": "/proc/self/mountinfo:2"])
        #expect(item["encryption"]?.stringValue?.hasPrefix("not encrypted") == true)
        #expect(item["luks_devices"] == [])
        // The fixture files carry no fscrypt policy; the probe says so rather than fail.
        #expect(item["encryption_kinds"] == [])
        #expect(item["encryption"]?.stringValue?.contains("no fscrypt policy") == true)
    }

    @Test func aSymlinkIsJudgedByTheMountItPointsInto() throws {
        let item = try #require(try storage(fixture: "weights-symlink-into-encrypted-mount")["items"]?[0])
        #expect(item["resolved_path"] == "/data/secure weights/llm")
        #expect(item["mount_point"] == "/data/secure weights")
        #expect(item["luks_devices"] == ["/dev/sda2"])
        #expect(item["encrypted"]?["value"] == true)
        // The link itself lives on the plain root: judging it there would be wrong.
        let link = try #require(try storage(fixture: "weights-symlink-into-encrypted-mount", site: weightsSite("/srv"))["items"]?[0])
        #expect(link["mount_point"] == "/")
        #expect(link["encrypted"]?["value"] == false)
    }

    @Test func missingSysEntriesOfflineAreNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys"])
        let fact = try storage(tree)
        #expect(fact["items"]?[0]?["not_checked"] == "/sys/dev/block/254:2 does not exist (offline root)")
        // The mount is known to be ext4, so it is known not to be a network mount.
        #expect(fact["network_items"] == [])
        // The LUKS probe, walking the same stack, cannot say either (ENC-002, ENC-003, ENC-004).
        let luks = try probeFact("luks", of: LUKSProbe(), root: tree.path, site: weightsSite("/srv/weights"))
        #expect(luks["volumes"]?[0]?["not_checked"] == "/sys/dev/block/254:2 does not exist (offline root)")
    }

    @Test func aMissingSlaveDirectoryUnderADMDeviceIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys/devices/virtual/block/dm-0/slaves"])
        let reason = try #require(try storage(tree)["items"]?[0]?["not_checked"]?.stringValue)
        #expect(reason.contains("/sys/devices/virtual/block/dm-0/slaves does not exist"), "\(reason)")
    }

    @Test func aMissingMountTableOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/proc"])
        let fact = try audit(root: tree.path, site: weightsSite("/srv/weights"), probes: [StorageProbe()]).facts["storage"]
        guard case .unavailable(let u)? = fact else {
            Issue.record("storage is \(String(describing: fact))")
            return
        }
        #expect(u.kind == .notChecked)
        #expect(u.reason.contains("/proc/self/mountinfo does not exist"), "\(u.reason)")
    }

    @Test func missingRuntimeStateIsAnErrorOnALiveHost() throws {
        let live = ProbeContext(root: try HostRoot("/"), site: nil, weights: WeightLocations(origin: .site, paths: [], note: ""))
        #expect(live.absent("/sys/dev/block/8:3 does not exist").kind == .error)
        let tree = TempTree()
        let offline = ProbeContext(root: try HostRoot(tree.path), site: nil, weights: WeightLocations(origin: .site, paths: [], note: ""))
        #expect(offline.absent("/sys/dev/block/8:3 does not exist").kind == .notChecked)
    }

    /// End to end on purpose: without a site file nothing registers the weights and the fixture
    /// holds none discovery recognises, and every control that judges their storage must say
    /// error all the way through, never pass.
    @Test func noWeightLocationsIsAnErrorNeverAPass() throws {
        let (facts, findings) = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"), site: nil)
        #expect(facts["storage"] == .unavailable(.error("no weight locations registered or found")))
        for id in ["ENC-001", "ENC-002", "ENC-003", "ENC-004", "ENC-007"] {
            #expect(findings[id].status == .error, "\(id): \(findings[id].summary)")
            #expect(findings[id].summary.contains("no weight locations registered or found"), "\(id)")
        }
    }

    @Test func aWeightPathThatDoesNotExistIsAnError() throws {
        let fact = try storage(fixture: "weights-lvm-on-luks", site: weightsSite("/srv/weights/gone/model"))
        let item = try #require(fact["items"]?[0])
        #expect(item["path"] == "/srv/weights/gone/model")
        #expect(item["error"]?.stringValue?.contains("/srv/weights/gone/model does not exist") == true, "\(item)")
    }

    @Test func tmpfsIsMemory() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.directory("dev/shm")
        let item = try #require(try storage(tree, site: weightsSite("/dev/shm"))["items"]?[0])
        #expect(item["class"] == "memory")
        #expect(item["fstype"] == "tmpfs")
        #expect(item["encryption"]?.stringValue?.hasPrefix("memory (tmpfs): not persistent") == true)
        #expect(item["luks_devices"] == [])
    }

    /// A mirror (or an LVM volume) with one encrypted and one plain leg keeps data in the clear.
    @Test func aRAIDWithOnePlainLegIsNotEncrypted() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        let md = "sys/devices/virtual/block/md0"
        tree.directory(md + "/slaves")
        tree.symlink(md + "/slaves/dm-0", to: "../../dm-0")
        tree.directory("sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1")
        tree.symlink(md + "/slaves/sdb1", to: "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1")
        tree.symlink("sys/dev/block/9:0", to: "../../devices/virtual/block/md0")
        tree.file(
            "proc/self/mountinfo", "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n31 21 9:0 / /srv/weights rw - ext4 /dev/md0 rw\n")
        let mixed = try #require(try storage(tree)["items"]?[0])
        #expect(mixed["encrypted"] == ["value": false, "source": "/proc/self/mountinfo:2"])
        #expect(mixed["encryption"]?.stringValue?.hasPrefix("not encrypted") == true, "\(mixed)")
        // Encrypt the second leg too (sdb1 under its own LUKS mapping dm-9): now every leg is.
        tree.file("sys/devices/virtual/block/dm-9/dm/uuid", "CRYPT-LUKS2-00000000000000000000000000000000-sdb1_crypt\n")
        tree.directory("sys/devices/virtual/block/dm-9/slaves")
        tree.symlink(
            "sys/devices/virtual/block/dm-9/slaves/sdb1",
            to: "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1")
        unlink(tree.path + "/" + md + "/slaves/sdb1")
        tree.symlink(md + "/slaves/dm-9", to: "../../dm-9")
        let both = try #require(try storage(tree)["items"]?[0])
        #expect(both["encrypted"]?["value"] == true)
        #expect(both["luks_devices"]?.arrayValue?.count == 2)
    }

    @Test(arguments: [
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=krb5p,addr=10.0.0.2", true, "sec=krb5p"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,xprtsec=mtls,sec=sys", true, "xprtsec=mtls"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=sys", false, "sec=sys (needs"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=krb5i", false, "sec=krb5i"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs nas:/models rw,vers=3", false, "no sec=krb5p"),
        ("40 21 0:52 / /mnt/models rw - cifs //nas/models rw,vers=3.1.1,seal,sec=krb5", true, "seal"),
        ("40 21 0:52 / /mnt/models rw - cifs //nas/models rw,vers=3.1.1,sec=ntlmssp", false, "no seal option"),
    ])
    func networkFilesystemsInTransit(line: String, encrypted: Bool, how: String) throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.directory("mnt/models")
        tree.file("proc/self/mountinfo", "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n" + line + "\n")
        let fact = try storage(tree, site: weightsSite("/srv/weights", "/mnt/models"))
        let network = try #require(fact["network_items"]?.arrayValue)
        #expect(network.count == 1)
        let item = try #require(network.first)
        #expect(item["path"] == "/mnt/models")
        #expect(item["class"] == "network")
        #expect(item["in_transit_encrypted"] == ["value": .bool(encrypted), "source": "/proc/self/mountinfo:2"])
        #expect(item["in_transit"]?.stringValue?.contains(how) == true, "\(item)")
        // An encrypted network mount counts as encrypted at rest as well (ENC-001).
        #expect(item["encrypted"]?["value"] == .bool(encrypted))
        #expect(fact["items"]?.arrayValue?.map { $0["path"] } == ["/srv/weights", "/mnt/models"])
    }

    // MARK: - Control tests: ENC-001 and ENC-007 over canned storage facts

    /// Where one weight path is stored, as the probe describes it: /srv/weights on LVM over
    /// LUKS, unless told otherwise.
    static func item(
        _ path: String = "/srv/weights", encrypted: Bool = true, storageClass: String = "block", fstype: String = "ext4",
        inTransit: Bool? = nil
    ) -> JSON {
        var o: JSONObject = [
            "path": .string(path), "resolved_path": .string(path), "mount_point": .string(path), "mount_source": "/dev/mapper/vg0-weights",
            "mount_options": ["rw"], "super_options": ["rw"], "fstype": .string(fstype), "device_number": "254:2",
            "class": .string(storageClass), "encrypted": ["value": .bool(encrypted), "source": "/proc/self/mountinfo:5"],
            "encryption": encrypted ? "dm-crypt LUKS2 (/dev/sda3)" : "not encrypted", "encryption_kinds": encrypted ? ["LUKS2"] : [],
            "devices": ["dm-2", "dm-0", "sda3"], "crypt_mappings": [], "luks_devices": encrypted ? ["/dev/sda3"] : [],
            "network": .bool(storageClass == "network"),
        ]
        if let inTransit {
            o["in_transit_encrypted"] = ["value": .bool(inTransit), "source": "/proc/self/mountinfo:2"]
            o["in_transit"] = inTransit ? "sec=krb5p" : "sec=sys (needs sec=krb5p)"
        }
        return .object(o)
    }

    static func nfs(encrypted: Bool) -> JSON {
        item("/mnt/models", encrypted: encrypted, storageClass: "network", fstype: "nfs4", inTransit: encrypted)
    }

    static func storage(_ items: [JSON], network: [JSON] = []) -> JSON {
        ["source": "/proc/self/mountinfo", "weights_origin": "site", "items": .array(items), "network_items": .array(network)]
    }

    static let notChecked: JSON = ["path": "/srv/weights", "not_checked": "/sys/dev/block/254:2 does not exist (offline root)"]
    static let missing: JSON = ["path": "/srv/weights/gone/model", "error": "/srv/weights/gone/model does not exist"]

    typealias Row = (name: String, storage: JSON, sl3: Status, sl4: Status, summary: String?)

    static let enc001Table: [Row] = [
        ("LVM on LUKS", storage([item()]), .pass, .pass, nil),
        ("plain ext4", storage([item(encrypted: false)]), .fail, .fail, "/srv/weights: encrypted at rest"),
        ("tmpfs is memory", storage([item("/dev/shm", encrypted: false, storageClass: "memory", fstype: "tmpfs")]), .pass, .pass, nil),
        ("one of two paths plain", storage([item(), item("/srv/other", encrypted: false)]), .fail, .fail, "/srv/other: encrypted at rest"),
        ("an NFS mount with sec=krb5p", storage([item(), nfs(encrypted: true)], network: [nfs(encrypted: true)]), .pass, .pass, nil),
        ("an NFS mount with sec=sys", storage([item(), nfs(encrypted: false)], network: [nfs(encrypted: false)]), .fail, .fail, nil),
        (
            "the device stack cannot be walked offline", storage([notChecked]), .notChecked, .notChecked,
            "/srv/weights: /sys/dev/block/254:2 does not exist (offline root)"
        ),
        (
            "a weight path that does not exist", storage([missing]), .error, .error,
            "/srv/weights/gone/model: /srv/weights/gone/model does not exist"
        ),
        ("no weight locations", storage([]), .error, .error, "no weight locations registered or found"),
    ]

    static let enc007Table: [Row] = [
        ("no network weights", storage([item()]), .notApplicable, .notApplicable, "no weight path is on a network filesystem"),
        ("NFS with sec=krb5p", storage([item(), nfs(encrypted: true)], network: [nfs(encrypted: true)]), .pass, .pass, nil),
        (
            "NFS with sec=sys", storage([item(), nfs(encrypted: false)], network: [nfs(encrypted: false)]), .fail, .fail,
            "/mnt/models: encrypted in transit is false"
        ),
        // A path whose storage is unknown may be on a network mount: the probe lists it there too.
        ("a path whose mount is unknown", storage([notChecked], network: [notChecked]), .notChecked, .notChecked, nil),
    ]

    func evaluate(_ control: String, _ row: Row) throws {
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let f = try cannedFinding(control, profile: profile, facts: ["storage": row.storage])
            #expect(f.status == expected, "\(control) \(profile) \(row.name): \(f.summary)")
            if let summary = row.summary { #expect(f.summary.contains(summary), "\(control) \(profile) \(row.name): \(f.summary)") }
        }
    }

    @Test(arguments: StorageTests.enc001Table.indices)
    func enc001OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-001", Self.enc001Table[row]) }

    @Test(arguments: StorageTests.enc007Table.indices)
    func enc007OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-007", Self.enc007Table[row]) }

    @Test func enc001WithoutAMountTableOfflineIsNotChecked() throws {
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding(
                "ENC-001", profile: profile, facts: [:],
                unavailable: ["storage": .notChecked("no mount table: /proc/self/mountinfo does not exist (offline root)")])
            #expect(f.status == .notChecked, "\(profile): \(f.summary)")
            #expect(f.summary.contains("/proc/self/mountinfo does not exist"), "\(f.summary)")
        }
    }
}
