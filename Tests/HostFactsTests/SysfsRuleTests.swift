import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// One rule for every probe that reads the running kernel's state under /sys
/// (`ProbeContext.sysfs`): an offline root's /sys is a partial copy at best, so an entry there is
/// read, a missing entry counts as absent only when its directory was copied, and otherwise the
/// fact says it is not known; on a live host a missing entry means the kernel lacks it.
@Suite struct SysfsRuleTests {
    static let probes: [any Probe] = [CrashDumpProbe(), DevicesProbe(), LockdownProbe(), SecureBootProbe(), ModprobeProbe(), MACProbe()]

    /// Every /sys-derived fact of the six probes, by a short name.
    func runtimeFacts(_ tree: TempTree) throws -> [String: JSON] {
        let facts = try audit(root: tree.path, site: nil, probes: Self.probes).facts
        let devices = try factValue(facts, "devices")
        let integrity = try factValue(facts, "kernel_integrity")
        let modules = try factValue(facts, "modules")
        return [
            "crash_kernel_loaded": try factValue(facts, "crash_dump")["crash_kernel_loaded"] ?? .null,
            "iommu_active": devices["iommu_active"] ?? .null,
            "thunderbolt_domains": devices["thunderbolt_domains"] ?? .null,
            "wireless_interfaces": devices["wireless_interfaces"] ?? .null,
            "rfkill": devices["rfkill"] ?? .null,
            "lockdown": integrity["lockdown"] ?? .null,
            "sig_enforce": integrity["sig_enforce"] ?? .null,
            "secure_boot": try factValue(facts, "secure_boot")["enabled"] ?? .null,
            "usb_storage_loaded": modules["modules"]?["usb_storage"]?["loaded"] ?? .null,
        ]
    }

    /// The status a fact states in place of a value, or "value".
    func kind(_ fact: JSON?) -> String {
        for key in ["error", "not_checked", "not_applicable"] where fact?[key] != nil { return key }
        return fact?.objectValue?["value"] != nil || fact?.arrayValue != nil ? "value" : "missing"
    }

    @Test func offlineRootWithoutSysKnowsNothingOfTheKernel() throws {
        let tree = TempTree()
        tree.directory("etc")
        let facts = try runtimeFacts(tree)
        // What is loaded now has no meaning offline; the kernel's features are not known.
        #expect(kind(facts["crash_kernel_loaded"]) == "not_applicable")
        #expect(kind(facts["usb_storage_loaded"]) == "not_applicable")
        for name in ["iommu_active", "thunderbolt_domains", "wireless_interfaces", "rfkill", "lockdown", "sig_enforce", "secure_boot"] {
            #expect(kind(facts[name]) == "not_checked", "\(name): \(String(describing: facts[name]))")
        }
        // MAC falls back to the configuration the next boot uses.
        let mac = try factValue(try audit(root: tree.path, site: nil, probes: [MACProbe()]).facts, "mac")
        #expect(mac["selinux"]?["runtime"] == false && mac["apparmor"]?["runtime"] == false)
    }

    @Test func aCopiedDirectoryIsTakenWholeAndAMissingOneDecidesNothing() throws {
        let tree = TempTree()
        tree.file("sys/class/iommu/.keep")  // copied, empty: no IOMMU (the dot file is git's, not sysfs's)
        tree.directory("sys/class/net/eth0")
        tree.directory("sys/kernel")  // copied without kexec_crash_loaded: no kexec
        tree.directory("sys/module/ext4")  // copied without usb_storage: not loaded
        tree.directory("sys/firmware/acpi")  // copied without efi: booted through BIOS
        let facts = try runtimeFacts(tree)
        #expect(facts["iommu_active"]?["value"] == false)
        #expect(facts["wireless_interfaces"] == [])
        #expect(facts["rfkill"] == [])  // /sys/class was copied, rfkill is not in it
        #expect(facts["crash_kernel_loaded"]?["value"] == false)
        #expect(facts["usb_storage_loaded"]?["value"] == false)
        #expect(facts["secure_boot"]?["value"] == false)
        // Not copied at all: /sys/bus, /sys/kernel/security, /sys/module/module.
        for name in ["thunderbolt_domains", "lockdown", "sig_enforce"] {
            #expect(kind(facts[name]) == "not_checked", "\(name): \(String(describing: facts[name]))")
        }
        // An entry that is there is the kernel's.
        tree.directory("sys/module/usb_storage")
        tree.file("sys/kernel/kexec_crash_loaded", "1\n")
        tree.directory("sys/class/rfkill/rfkill0")
        let present = try runtimeFacts(tree)
        #expect(present["usb_storage_loaded"]?["value"] == true)
        #expect(present["crash_kernel_loaded"]?["value"] == true)
        #expect(present["rfkill"]?.arrayValue?.count == 1)
    }

    @Test func onThisLiveHostAMissingEntryIsAbsent() throws {
        let context = ProbeContext(root: try HostRoot("/"), site: nil, weights: WeightLocations(origin: .site, paths: [], note: ""))
        guard case .present = context.sysfs("/sys/kernel") else {
            Issue.record("this machine's /sys/kernel is not there: /sys is not mounted")
            return
        }
        guard case .absent = context.sysfs("/sys/kernel/warden-no-such-entry") else {
            Issue.record("a missing entry of a live /sys is not absent")
            return
        }
    }
}
