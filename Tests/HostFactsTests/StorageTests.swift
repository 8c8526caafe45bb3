import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ENC-001 and ENC-007: where the weight paths are stored (docs/DAEMON-SEMANTICS.md).
@Suite struct StorageTests {
    @Test func lvmOnLUKSPasses() throws {
        let (facts, findings) = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"))
        let f = findings["ENC-001"]
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:5" && $0.observed == true })
        let item = try #require(try factValue(facts, "storage")["items"]?.arrayValue?.first)
        #expect(item["devices"] == ["dm-2", "dm-0", "sda3"])
        #expect(item["encryption_kinds"] == ["LUKS2"])
        #expect(item["luks_devices"] == ["/dev/sda3"])
        #expect(item["mount_point"] == "/srv/weights")
        #expect(item["crypt_mappings"]?.arrayValue?.first?["name"] == "sda3_crypt")
    }

    @Test func plainExt4Fails() throws {
        let (facts, findings) = try auditEncryption(Package.fixtureRoot("weights-plain-ext4"))
        let f = findings["ENC-001"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("/srv/weights: encrypted at rest"))
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:2" && $0.observed == false })
        let item = try #require(try factValue(facts, "storage")["items"]?.arrayValue?.first)
        #expect(item["devices"] == ["sdb1"])
        #expect(item["encryption"]?.stringValue?.hasPrefix("not encrypted") == true)
        // Not on LUKS: the header controls have nothing to judge.
        for id in ["ENC-002", "ENC-003", "ENC-004"] { #expect(findings[id].status == .notApplicable, "\(id)") }
    }

    @Test func symlinkIsJudgedByTheMountItPointsInto() throws {
        let (facts, findings) = try auditEncryption(Package.fixtureRoot("weights-symlink-into-encrypted-mount"))
        #expect(findings["ENC-001"].status == .pass)
        let item = try #require(try factValue(facts, "storage")["items"]?.arrayValue?.first)
        #expect(item["resolved_path"] == "/data/secure weights/llm")
        #expect(item["mount_point"] == "/data/secure weights")
        #expect(item["luks_devices"] == ["/dev/sda2"])
        // The link itself lives on the plain root: judging it there would be wrong.
        let (_, plain) = try auditEncryption(Package.fixtureRoot("weights-symlink-into-encrypted-mount"), site: weightsSite("/srv"))
        #expect(plain["ENC-001"].status == .fail)
    }

    @Test func missingSysEntriesOfflineAreNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys"])
        let (_, findings) = try auditEncryption(tree.path)
        for id in ["ENC-001", "ENC-002", "ENC-003", "ENC-004"] {
            #expect(findings[id].status == .notChecked, "\(id): \(findings[id].summary)")
            #expect(findings[id].summary.contains("/sys/dev/block/254:2 does not exist (offline root)"), "\(id)")
        }
        // The mount is known to be ext4, so ENC-007 can still say it is not a network mount.
        #expect(findings["ENC-007"].status == .notApplicable)
    }

    @Test func missingSlaveDirectoryUnderADMDeviceIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys/devices/virtual/block/dm-0/slaves"])
        let f = try auditEncryption(tree.path).findings["ENC-001"]
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("/sys/devices/virtual/block/dm-0/slaves does not exist"))
    }

    @Test func missingMountTableOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-rf", tree.path + "/proc"])
        let f = try auditEncryption(tree.path).findings["ENC-001"]
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("/proc/self/mountinfo does not exist"))
    }

    @Test func missingRuntimeStateIsAnErrorOnALiveHost() throws {
        let live = ProbeContext(root: try HostRoot("/"), site: nil, weights: WeightLocations(origin: .site, paths: [], note: ""))
        #expect(live.absent("/sys/dev/block/8:3 does not exist").kind == .error)
        let tree = TempTree()
        let offline = ProbeContext(root: try HostRoot(tree.path), site: nil, weights: WeightLocations(origin: .site, paths: [], note: ""))
        #expect(offline.absent("/sys/dev/block/8:3 does not exist").kind == .notChecked)
    }

    @Test func noWeightLocationsIsAnErrorNeverAPass() throws {
        let (_, findings) = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"), site: nil)
        for id in ["ENC-001", "ENC-002", "ENC-003", "ENC-004", "ENC-007"] {
            #expect(findings[id].status == .error, "\(id): \(findings[id].summary)")
            #expect(findings[id].summary.contains("no weight locations registered or found"), "\(id)")
        }
    }

    @Test func weightPathThatDoesNotExistIsAnError() throws {
        let f = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"), site: weightsSite("/srv/weights/gone/model")).findings[
            "ENC-001"]
        #expect(f.status == .error)
        #expect(f.summary.contains("/srv/weights/gone/model: /srv/weights/gone/model does not exist"))
    }

    @Test func tmpfsPassesAsMemory() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.directory("dev/shm")
        let (facts, findings) = try auditEncryption(tree.path, site: weightsSite("/dev/shm"))
        #expect(findings["ENC-001"].status == .pass)
        #expect(findings["ENC-001"].evidence.contains { $0.observed == "memory" })
        let item = try #require(try factValue(facts, "storage")["items"]?.arrayValue?.first)
        #expect(item["encryption"]?.stringValue?.hasPrefix("memory (tmpfs): not persistent") == true)
        #expect(findings["ENC-002"].status == .notApplicable)
    }

    /// A mirror (or an LVM volume) with one encrypted and one plain leg keeps data in the clear.
    @Test func raidWithOnePlainLegIsNotEncrypted() throws {
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
        let f = try auditEncryption(tree.path).findings["ENC-001"]
        #expect(f.status == .fail)
        // Encrypt the second leg too (sdb1 under its own LUKS mapping dm-9): now every leg is.
        tree.file("sys/devices/virtual/block/dm-9/dm/uuid", "CRYPT-LUKS2-00000000000000000000000000000000-sdb1_crypt\n")
        tree.directory("sys/devices/virtual/block/dm-9/slaves")
        tree.symlink(
            "sys/devices/virtual/block/dm-9/slaves/sdb1",
            to: "../../../../pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1")
        unlink(tree.path + "/" + md + "/slaves/sdb1")
        tree.symlink(md + "/slaves/dm-9", to: "../../dm-9")
        #expect(try auditEncryption(tree.path).findings["ENC-001"].status == .pass)
    }

    func networkMount(_ line: String) throws -> (FactSet, [Finding]) {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.directory("mnt/models")
        tree.file("proc/self/mountinfo", "21 1 254:1 / / rw - ext4 /dev/mapper/vg0-root rw\n" + line + "\n")
        return try auditEncryption(tree.path, site: weightsSite("/srv/weights", "/mnt/models"))
    }

    @Test(arguments: [
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=krb5p,addr=10.0.0.2", Status.pass, "sec=krb5p"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,xprtsec=mtls,sec=sys", .pass, "xprtsec=mtls"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=sys", .fail, "sec=sys (needs"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs4 nas:/models rw,vers=4.2,sec=krb5i", .fail, "sec=krb5i"),
        ("40 21 0:51 / /mnt/models rw,relatime - nfs nas:/models rw,vers=3", .fail, "no sec=krb5p"),
        ("40 21 0:52 / /mnt/models rw - cifs //nas/models rw,vers=3.1.1,seal,sec=krb5", .pass, "seal"),
        ("40 21 0:52 / /mnt/models rw - cifs //nas/models rw,vers=3.1.1,sec=ntlmssp", .fail, "no seal option"),
    ])
    func networkFilesystemsInTransit(line: String, status: Status, how: String) throws {
        let (facts, findings) = try networkMount(line)
        let f = findings["ENC-007"]
        #expect(f.status == status, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/proc/self/mountinfo:2" })
        // An encrypted network mount counts as encrypted for ENC-001 as well.
        #expect(findings["ENC-001"].status == status)
        let network = try #require(try factValue(facts, "storage")["network_items"]?.arrayValue)
        #expect(network.count == 1)
        #expect(network.first?["in_transit"]?.stringValue?.contains(how) == true)
    }

    @Test func noNetworkWeightsIsNotApplicable() throws {
        let f = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks")).findings["ENC-007"]
        #expect(f.status == .notApplicable)
        #expect(f.summary == "no weight path is on a network filesystem")
    }

    @Test func fscryptFlagIsReadWithoutError() throws {
        // The fixture files carry no fscrypt policy; the check must say so rather than fail.
        let (facts, _) = try auditEncryption(Package.fixtureRoot("weights-plain-ext4"))
        let item = try #require(try factValue(facts, "storage")["items"]?.arrayValue?.first)
        #expect(item["encryption_kinds"] == [])
        #expect(item["encryption"]?.stringValue?.contains("no fscrypt policy") == true)
    }
}
