import HostFacts
import Testing
import WardenCore
import WardenTestSupport

@Suite struct ModprobeDevicesTests {
    func finding(_ root: String, _ id: String, profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [ModprobeProbe(), DevicesProbe()]).findings[id]
    }

    @Test func blacklistAloneDoesNotBlock() throws {
        let f = try finding(Package.fixtureRoot("modprobe-blacklist-only"), "EXF-001")
        #expect(f.status == .fail)
        let facts = try audit(root: Package.fixtureRoot("modprobe-blacklist-only"), probes: [ModprobeProbe()]).facts
        guard case .value(let v)? = facts["modules"] else { Issue.record("no fact"); return }
        #expect(v["modules"]?["usb_storage"]?["blacklisted"]?["value"] == true)
        #expect(v["modules"]?["usb_storage"]?["blacklisted"]?["source"] == "/etc/modprobe.d/usb.conf:2")
    }

    @Test func installFalseBlocksAndDashEqualsUnderscore() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb_storage /bin/false\n")
        // Offline: whether the module is loaded is not known and does not decide.
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /usr/bin/true\n")
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /sbin/modprobe --ignore-install usb-storage\n")
        #expect(try finding(tree.path, "EXF-001").status == .fail)
    }

    @Test func sameNamedFileInEtcMasksLib() throws {
        let tree = TempTree()
        tree.file("lib/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try finding(tree.path, "EXF-001").status == .pass)
        tree.file("etc/modprobe.d/60-warden.conf", "# emptied by an admin\n")
        #expect(try finding(tree.path, "EXF-001").status == .fail)
    }

    @Test func loadedModuleFailsOnAHostWithSysfs() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        tree.directory("sys/module/usb_storage")
        tree.directory("sys/class")
        let f = try finding(tree.path, "EXF-001")
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.source == "/sys/module/usb_storage" })
    }

    @Test func sl4RequiresUSBGuardBlocking() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try finding(tree.path, "EXF-001", profile: "sl4").status == .fail)
        tree.file("etc/usbguard/usbguard-daemon.conf", "RuleFile=/etc/usbguard/rules.conf\nImplicitPolicyTarget=block\n")
        tree.symlink("etc/systemd/system/multi-user.target.wants/usbguard.service", to: "/lib/systemd/system/usbguard.service")
        #expect(try finding(tree.path, "EXF-001", profile: "sl4").status == .pass)
    }

    @Test func unknownModprobeCommandIsAnError() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\nblock usb-storage\n")
        let f = try finding(tree.path, "EXF-001")
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/modprobe.d/60-warden.conf:2: unknown modprobe command 'block'"))
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
