import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct ModprobeDevicesTests {
    func finding(_ root: String, _ id: String, profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [ModprobeProbe(), DevicesProbe(), KernelCmdlineProbe()]).findings[id]
    }

    /// A tree whose USB ports deny every device (the kernel's authorized_default 0 on the next
    /// boot's command line), so that EXF-001 turns on its usb-storage rule alone
    /// (USBDefaultDenyTests covers the deny itself).
    func usbDenied() -> TempTree {
        let tree = TempTree()
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"usbcore.authorized_default=0\"\n")
        return tree
    }

    @Test func blacklistAloneDoesNotBlock() throws {
        let f = try finding(Package.fixtureRoot("modprobe-blacklist-only"), "EXF-001")
        #expect(f.status == .fail)
        let facts = try audit(root: Package.fixtureRoot("modprobe-blacklist-only"), probes: [ModprobeProbe()]).facts
        guard case .value(let v)? = facts["modules"] else {
            Issue.record("no fact")
            return
        }
        #expect(v["modules"]?["usb_storage"]?["blacklisted"]?["value"] == true)
        #expect(v["modules"]?["usb_storage"]?["blacklisted"]?["source"] == "/etc/modprobe.d/usb.conf:2")
    }

    @Test func installFalseBlocksAndDashEqualsUnderscore() throws {
        let tree = usbDenied()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb_storage /bin/false\n")
        // Offline: whether the module is loaded is not known and does not decide.
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /usr/bin/true\n")
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /sbin/modprobe --ignore-install usb-storage\n")
        #expect(try finding(tree.path, "EXF-001").status == .fail)
    }

    @Test func sameNamedFileInEtcMasksLib() throws {
        let tree = usbDenied()
        tree.file("lib/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "# emptied by an admin\n")
        #expect(try finding(tree.path, "EXF-001").status == .fail)
    }

    @Test func loadedModuleFailsOnAHostWithSysfs() throws {
        let tree = usbDenied()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        tree.directory("sys/module/usb_storage")
        tree.directory("sys/class")
        let f = try finding(tree.path, "EXF-001")
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/sys/module/usb_storage" })
    }

    /// The usb-storage rule stays required beside the USB default deny, at SL3 and SL4.
    @Test(arguments: ["sl3", "sl4"])
    func theDenyDoesNotReplaceTheStorageRule(profile: String) throws {
        let tree = usbDenied()
        let f = try finding(tree.path, "EXF-001", profile: profile)
        #expect(f.status == .fail)
        #expect(f.summary == "usb-storage blocked by an install rule is false, expected = true", "\(f.summary)")
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try finding(tree.path, "EXF-001", profile: profile).status == .pass)
    }

    /// kmod ignores a bad line ("ignoring bad line") and goes on: so does Warden, and says so.
    @Test func badLineIsIgnoredAndShown() throws {
        let tree = usbDenied()
        tree.file(
            "etc/modprobe.d/60-warden.conf",
            "install usb-storage /bin/false\nblock usb-storage\n  # an indented comment is a bad line to kmod\n")
        let f = try finding(tree.path, "EXF-001")
        #expect(f.status == .pass, "\(f.summary)")
        #expect(
            f.evidence.contains {
                $0.source.contains(
                    "kmod ignores /etc/modprobe.d/60-warden.conf:2: kmod ignores this bad line (starting with 'block'): `block usb-storage`"
                )
            },
            "\(f.evidence)")
    }

    @Test func continuedLinesGlobInstallAndFirstRuleWins() throws {
        let tree = usbDenied()
        tree.file("lib/modprobe.d/10-usb.conf", "install usb* \\\n  /bin/false\n")
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /sbin/modprobe --ignore-install usb-storage\n")
        let f = try finding(tree.path, "EXF-001")
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source.hasPrefix("/lib/modprobe.d/10-usb.conf:2 (install usb*   /bin/false)") }, "\(f.evidence)")
    }

    @Test func usrLibIsNotReadByKmod30() throws {
        let tree = usbDenied()
        tree.file("usr/lib/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try finding(tree.path, "EXF-001").status == .fail)
        // On a merged-/usr host /lib is /usr/lib, and kmod reads it as /lib/modprobe.d.
        tree.symlink("lib", to: "usr/lib")
        #expect(try finding(tree.path, "EXF-001").status == .pass)
    }

    @Test(arguments: [
        ("/bin/false", true), ("  /bin/true  # blocked", true), ("false", true), (" ", true),
        ("/sbin/modprobe --ignore-install usb-storage", false), ("/bin/false\r", false), ("/bin/false; modprobe x", false),
    ])
    func blockingCommands(_ command: String, _ blocks: Bool) {
        #expect(ModprobeProbe.blocks(command) == blocks)
    }

    /// A live-like tree with sysfs: IOMMU, Thunderbolt and radios.
    func sysfs(_ tree: TempTree, iommu: Bool, thunderbolt: String?, wireless: Bool) {
        tree.directory("sys/class/net/eth0")
        tree.directory("sys/class/iommu")
        tree.directory("sys/class/rfkill")
        if iommu { tree.directory("sys/class/iommu/dmar0") }
        if let thunderbolt { tree.file("sys/bus/thunderbolt/devices/domain0/security", thunderbolt + "\n") }
        if wireless {
            tree.directory("sys/class/net/wlan0/wireless")
            tree.file("sys/class/rfkill/rfkill0/type", "wlan\n")
        }
        tree.file("etc/modprobe.d/60-warden.conf", "install firewire-core /bin/false\ninstall bluetooth /bin/false\n")
    }

    @Test func dmaProtection() throws {
        let tree = TempTree()
        sysfs(tree, iommu: true, thunderbolt: "user", wireless: false)
        #expect(try finding(tree.path, "EXF-002", profile: "sl4").status == .pass)
        tree.file("sys/bus/thunderbolt/devices/domain0/security", "none\n")
        #expect(try finding(tree.path, "EXF-002", profile: "sl4").status == .fail)
        let noIOMMU = TempTree()
        sysfs(noIOMMU, iommu: false, thunderbolt: nil, wireless: false)
        let f = try finding(noIOMMU.path, "EXF-002")
        #expect(f.status == .fail)
        #expect(f.advisory)  // reported only at SL3
    }

    @Test func radios() throws {
        let tree = TempTree()
        sysfs(tree, iommu: true, thunderbolt: nil, wireless: false)
        #expect(try finding(tree.path, "EXF-003").status == .pass)
        let radio = TempTree()
        sysfs(radio, iommu: true, thunderbolt: nil, wireless: true)
        let f = try finding(radio.path, "EXF-003")
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.observed == ["/sys/class/net/wlan0"] })
        // Offline (no sysfs) the radios cannot be seen: not checked, never a pass.
        let offline = TempTree()
        offline.file("etc/modprobe.d/60-warden.conf", "install bluetooth /bin/false\n")
        #expect(try finding(offline.path, "EXF-003").status == .notChecked)
    }
}
