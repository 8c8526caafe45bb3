import HostFacts
import Testing
import WardenCore
import WardenTestSupport

@Suite struct MountsCrashDumpTests {
    let probes: [any Probe] = [MountsProbe(), CrashDumpProbe(), KernelCmdlineProbe()]

    func finding(_ root: String, _ id: String, profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: probes).findings[id]
    }

    func mountinfo(_ tree: TempTree, _ lines: [String]) {
        tree.file("proc/self/mountinfo", lines.enumerated().map { "\($0.offset + 20) 1 \($0.element)" }.joined(separator: "\n") + "\n")
        tree.directory("sys/kernel")
    }

    let proc = "0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible"
    let root = "0:30 / / rw,relatime shared:1 - tmpfs rootfs rw"
    func tmpfs(_ path: String, _ options: String) -> String { "0:4\(path.count) / \(path) rw,\(options) shared:5 - tmpfs tmpfs rw" }

    @Test func temporaryAreasOnTmpfsWithOptions() throws {
        let tree = TempTree()
        for p in ["tmp", "var/tmp", "dev/shm"] { tree.directory(p) }
        mountinfo(tree, [root, proc, tmpfs("/tmp", "nosuid,nodev"), tmpfs("/var/tmp", "nosuid,nodev"), tmpfs("/dev/shm", "nosuid,nodev")])
        #expect(try finding(tree.path, "HRD-009").status == .pass)
        let sl4 = try finding(tree.path, "HRD-009", profile: "sl4")
        #expect(sl4.status == .fail)
        #expect(sl4.evidence.filter { $0.ok == false }.count == 3)
        mountinfo(
            tree,
            [
                root, proc, tmpfs("/tmp", "nosuid,nodev,noexec"), tmpfs("/var/tmp", "nosuid,nodev,noexec"),
                tmpfs("/dev/shm", "nosuid,noexec"),
            ])
        let nodev = try finding(tree.path, "HRD-009", profile: "sl4")
        #expect(nodev.status == .fail)
        #expect(nodev.evidence.contains { $0.ok == false && $0.subject == "/dev/shm" && $0.expected == "nodev" })
    }

    @Test func temporaryAreaOnAnUnresolvableDiskIsNotCheckedOffline() throws {
        let tree = TempTree()
        for p in ["tmp", "var/tmp", "dev/shm"] { tree.directory(p) }
        mountinfo(
            tree,
            ["8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw", proc, tmpfs("/tmp", "nosuid,nodev"), tmpfs("/dev/shm", "nosuid,nodev")])
        let f = try finding(tree.path, "HRD-009")
        // /var/tmp lies on /dev/sda1, whose /sys entry the offline root lacks.
        #expect(f.status == .notChecked, "\(f.summary)")
        #expect(f.summary.contains("/var/tmp"))
    }

    @Test func hidepidAndDebugfs() throws {
        let tree = TempTree()
        mountinfo(tree, [root, proc])
        #expect(try finding(tree.path, "HRD-008", profile: "sl4").status == .pass)
        mountinfo(
            tree,
            [
                root, "0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
                "0:7 / /sys/kernel/debug rw,nosuid,nodev,noexec,relatime shared:8 - debugfs debugfs rw",
            ])
        let f = try finding(tree.path, "HRD-008", profile: "sl4")
        #expect(f.status == .fail)
        #expect(f.evidence.filter { $0.ok == false }.count == 2)
        #expect(try finding(tree.path, "HRD-008").advisory)
    }

    @Test func crashKernelOnTheCommandLine() throws {
        let tree = TempTree()
        mountinfo(tree, [root, proc])
        tree.file("proc/cmdline", "root=/dev/sda1 ro quiet\n")
        tree.file("sys/kernel/kexec_crash_loaded", "0\n")
        #expect(try finding(tree.path, "HRD-006", profile: "sl4").status == .pass)
        tree.file("proc/cmdline", "root=/dev/sda1 ro crashkernel=512M\n")
        tree.file("sys/kernel/kexec_crash_loaded", "1\n")
        let f = try finding(tree.path, "HRD-006")
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/sys/kernel/kexec_crash_loaded" })
    }

    @Test func sl3AcceptsKdumpToEncryptedStorageSL4DoesNot() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("proc/cmdline", "root=/dev/mapper/vg0-root ro crashkernel=512M\n")
        tree.file("etc/default/kdump-tools", "USE_KDUMP=1\nKDUMP_COREDIR=\"/srv/weights\"\n")
        let sl3 = try finding(tree.path, "HRD-006")
        #expect(sl3.status == .pass, "\(sl3.summary)")
        #expect(try finding(tree.path, "HRD-006", profile: "sl4").status == .fail)
        tree.file("etc/default/kdump-tools", "USE_KDUMP=1\nKDUMP_COREDIR=/var/crash\n")
        tree.directory("var/crash")
        // /var/crash is on the root volume, which in this fixture is LVM on LUKS too.
        #expect(try finding(tree.path, "HRD-006").status == .pass)
    }
}
