import HostFacts
import Testing
import WardenCore
import WardenTestSupport

@Suite struct IntegrityProbeTests {
    let probes: [any Probe] = [SecureBootProbe(), LockdownProbe(), KernelCmdlineProbe(), SysctlProbe(), AIDEProbe(), BootloaderProbe()]

    func finding(_ tree: TempTree, _ id: String, profile: String = "sl3") throws -> Finding {
        try audit(root: tree.path, profile: profile, probes: probes).findings[id]
    }

    let variable = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0f1f4c7b5c8"

    @Test func secureBootVariable() throws {
        let tree = TempTree()
        tree.bytes(variable, [0x06, 0, 0, 0, 1])
        #expect(try finding(tree, "INT-001").status == .pass)
        tree.bytes(variable, [0x06, 0, 0, 0, 0])
        #expect(try finding(tree, "INT-001").status == .fail)
        tree.bytes(variable, [0x06, 0, 0])
        let truncated = try finding(tree, "INT-001")
        #expect(truncated.status == .error)
        #expect(truncated.summary.contains("expected 5 bytes"))
    }

    @Test func biosBootFailsAndOfflineIsNotChecked() throws {
        let bios = TempTree()
        bios.directory("sys/firmware/acpi")
        #expect(try finding(bios, "INT-001").status == .fail)
        let offline = TempTree()
        offline.directory("etc")
        #expect(try finding(offline, "INT-001").status == .notChecked)
    }

    @Test func lockdownModes() throws {
        let tree = TempTree()
        tree.file("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        // The copied /sys holds the module parameters directory, without sig_enforce: the
        // kernel has no module signing (ProbeContext.sysfs).
        tree.directory("sys/module/module/parameters")
        tree.file("proc/cmdline", "root=/dev/sda1\n")
        #expect(try finding(tree, "INT-002").status == .pass)
        #expect(try finding(tree, "INT-002", profile: "sl4").status == .fail)
        // Lockdown enforces module signatures.
        #expect(try finding(tree, "INT-003").status == .pass)
        tree.file("sys/kernel/security/lockdown", "[none] integrity confidentiality\n")
        #expect(try finding(tree, "INT-002").status == .fail)
        #expect(try finding(tree, "INT-003").status == .fail)
        // Without a command line to look at, INT-003 cannot be decided.
        tree.file("proc/cmdline", "")
        _ = run("/bin/rm", [tree.path + "/proc/cmdline"])
        #expect(try finding(tree, "INT-003").status == .notChecked)
        tree.file("sys/kernel/security/lockdown", "garbage\n")
        #expect(try finding(tree, "INT-002").status == .error)
    }

    @Test func moduleSignaturesFromTheCommandLineAndSL4ModulesDisabled() throws {
        let tree = TempTree()
        tree.directory("sys/module")
        tree.file("proc/cmdline", "root=/dev/sda1 module.sig_enforce=1\n")
        #expect(try finding(tree, "INT-003").status == .pass)
        #expect(try finding(tree, "INT-003", profile: "sl4").status == .fail)
        tree.file("proc/sys/kernel/modules_disabled", "1\n")
        tree.file("etc/sysctl.d/99-lock.conf", "kernel.modules_disabled = 1\n")
        #expect(try finding(tree, "INT-003", profile: "sl4").status == .pass)
        tree.file("sys/module/module/parameters/sig_enforce", "Y\n")
        tree.file("proc/cmdline", "root=/dev/sda1\n")
        #expect(try finding(tree, "INT-003").status == .pass)
    }

    @Test func aideNeedsBinaryDatabaseAndSchedule() throws {
        let tree = TempTree()
        tree.file("usr/bin/aide", "", mode: 0o755)
        tree.file("var/lib/aide/aide.db", "db")
        #expect(try finding(tree, "INT-006").status == .fail)
        tree.symlink("etc/systemd/system/timers.target.wants/dailyaidecheck.timer", to: "/lib/systemd/system/dailyaidecheck.timer")
        #expect(try finding(tree, "INT-006").status == .pass)
        let cron = TempTree()
        cron.file("usr/bin/aide", "", mode: 0o755)
        cron.file("var/lib/aide/aide.db.new", "db")
        cron.file("etc/cron.daily/aide", "#!/bin/sh\n")
        let f = try finding(cron, "INT-006")
        #expect(f.status == .fail)  // only an uncommitted aide.db.new
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/var/lib/aide (no aide.db)" })
    }

    @Test func grubPassword() throws {
        let tree = TempTree()
        tree.file("boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n}\n")
        #expect(try finding(tree, "INT-009").status == .fail)
        tree.file("boot/grub/grub.cfg", "set superusers=\"root\"\npassword_pbkdf2 root grub.pbkdf2.sha512.10000.ABC\n")
        let f = try finding(tree, "INT-009")
        #expect(f.status == .pass)
        #expect(f.evidence.first?.source == "/boot/grub/grub.cfg:2")
        #expect(try finding(TempTree(), "INT-009").status == .error)
    }

    /// A password in user.cfg counts only where grub.cfg reads user.cfg (Fedora's 01_users);
    /// Debian's grub.cfg never does, so there it protects nothing.
    @Test func grubUserCfgCountsOnlyWhenGrubCfgReadsIt() throws {
        let tree = TempTree()
        tree.file("boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n}\n")
        tree.file("boot/grub/user.cfg", "GRUB2_PASSWORD=grub.pbkdf2.sha512.10000.ABC\n")
        #expect(try finding(tree, "INT-009").status == .fail)
        tree.file("boot/grub/grub.cfg", "if [ -f ${prefix}/user.cfg ]; then\n  source ${prefix}/user.cfg\nfi\nmenuentry 'Fedora' {\n}\n")
        let f = try finding(tree, "INT-009")
        #expect(f.status == .pass)
        #expect(f.evidence.first?.source == "/boot/grub/user.cfg:1")
    }
}
