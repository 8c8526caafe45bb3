import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The modprobe and devices probes' facts from fixtures (probe tests), and EXF-001's module
/// rule, EXF-002 and EXF-003 over tables of canned facts (control tests): docs/FACTS.md,
/// "Testing, the pattern to follow".
@Suite struct ModprobeDevicesTests {
    // MARK: - Probe tests: what kmod and sysfs say

    func modules(_ root: String) throws -> JSON { try probeFact("modules", of: ModprobeProbe(), root: root) }

    /// One module's facts (`usb_storage`, …).
    func module(_ root: String, _ name: String) throws -> JSON { try modules(root)["modules"]?[name] ?? .null }

    func devices(_ root: String) throws -> JSON { try probeFact("devices", of: DevicesProbe(), root: root) }

    static func notBlocked(_ name: String) -> JSON {
        ["value": false, "source": .string("no `install \(name) /bin/false` in modprobe.d")]
    }

    @Test func blacklistAloneDoesNotBlock() throws {
        let usb = try module(Package.fixtureRoot("modprobe-blacklist-only"), "usb_storage")
        #expect(usb["blacklisted"] == ["value": true, "source": "/etc/modprobe.d/usb.conf:2"])
        #expect(usb["blocked"] == Self.notBlocked("usb_storage"))
        // Offline: whether the module is loaded is not known, and says so.
        #expect(
            usb["loaded"] == [
                "not_applicable": "offline root: /sys/module/usb_storage is known only on a live host", "source": "/sys/module/usb_storage",
            ])
    }

    /// kmod compares `usb-storage` and `usb_storage` alike; the evidence quotes the line as the
    /// file has it, so a reviewer can find it.
    @Test func installFalseBlocksAndDashEqualsUnderscore() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb_storage /bin/false\n")
        #expect(
            try module(tree.path, "usb_storage")["blocked"] == [
                "value": true, "source": "/etc/modprobe.d/60-warden.conf:1 (install usb_storage /bin/false)",
            ])
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /usr/bin/true\n")
        #expect(
            try module(tree.path, "usb_storage")["blocked"] == [
                "value": true, "source": "/etc/modprobe.d/60-warden.conf:1 (install usb-storage /usr/bin/true)",
            ])
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /sbin/modprobe --ignore-install usb-storage\n")
        #expect(try module(tree.path, "usb_storage")["blocked"]?["value"] == false)
    }

    @Test func sameNamedFileInEtcMasksLib() throws {
        let tree = TempTree()
        tree.file("lib/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(
            try module(tree.path, "usb_storage")["blocked"] == [
                "value": true, "source": "/lib/modprobe.d/60-warden.conf:1 (install usb-storage /bin/false)",
            ])
        tree.file("etc/modprobe.d/60-warden.conf", "# emptied by an admin\n")
        #expect(try modules(tree.path)["files"] == ["/etc/modprobe.d/60-warden.conf"])
        #expect(try module(tree.path, "usb_storage")["blocked"] == Self.notBlocked("usb_storage"))
    }

    @Test func loadedModuleIsSeenOnAHostWithSysfs() throws {
        let tree = TempTree()
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        tree.directory("sys/module/usb_storage")
        tree.directory("sys/class")
        #expect(try module(tree.path, "usb_storage")["loaded"] == ["value": true, "source": "/sys/module/usb_storage"])
        #expect(try module(tree.path, "bluetooth")["loaded"] == ["value": false, "source": "/sys/module/bluetooth (absent)"])
    }

    /// kmod ignores a bad line ("ignoring bad line") and goes on: so does Warden, and says so.
    @Test func badLineIsIgnoredAndShown() throws {
        let tree = TempTree()
        tree.file(
            "etc/modprobe.d/60-warden.conf",
            "install usb-storage /bin/false\nblock usb-storage\n  # an indented comment is a bad line to kmod\n")
        let v = try modules(tree.path)
        #expect(
            v["ignored"] == [
                "/etc/modprobe.d/60-warden.conf:2: kmod ignores this bad line (starting with 'block'): `block usb-storage`",
                "/etc/modprobe.d/60-warden.conf:3: kmod ignores this bad line (starting with '#'): `# an indented comment is a bad line to kmod`",
            ])
        #expect(v["problems"] == [])
        // The module's line still blocks it, and its source names the ignored line beside it.
        #expect(
            v["modules"]?["usb_storage"]?["blocked"] == [
                "value": true,
                "source":
                    "/etc/modprobe.d/60-warden.conf:1 (install usb-storage /bin/false); kmod ignores /etc/modprobe.d/60-warden.conf:2: kmod ignores this bad line (starting with 'block'): `block usb-storage`",
            ])
    }

    @Test func continuedLinesGlobInstallAndFirstRuleWins() throws {
        let tree = TempTree()
        tree.file("lib/modprobe.d/10-usb.conf", "install usb* \\\n  /bin/false\n")
        tree.file("etc/modprobe.d/60-warden.conf", "install usb-storage /sbin/modprobe --ignore-install usb-storage\n")
        let blocked = try module(tree.path, "usb_storage")["blocked"]
        #expect(blocked?["value"] == true)
        #expect(
            blocked?["source"]?.stringValue?.hasPrefix("/lib/modprobe.d/10-usb.conf:2 (install usb*   /bin/false)") == true,
            "\(blocked ?? .null)")
    }

    @Test func usrLibIsNotReadByKmod30() throws {
        let tree = TempTree()
        tree.file("usr/lib/modprobe.d/60-warden.conf", "install usb-storage /bin/false\n")
        #expect(try modules(tree.path)["files"] == [])
        #expect(try module(tree.path, "usb_storage")["blocked"] == Self.notBlocked("usb_storage"))
        // On a merged-/usr host /lib is /usr/lib, and kmod reads it as /lib/modprobe.d.
        tree.symlink("lib", to: "usr/lib")
        #expect(try module(tree.path, "usb_storage")["blocked"]?["value"] == true)
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
        let v = try devices(tree.path)
        #expect(v["iommu_active"] == ["value": true, "source": "/sys/class/iommu (dmar0)"])
        #expect(v["thunderbolt_domains"] == [["path": "/sys/bus/thunderbolt/devices/domain0/security", "security": "user"]])
        #expect(try module(tree.path, "firewire_core")["blocked"]?["value"] == true)
        tree.file("sys/bus/thunderbolt/devices/domain0/security", "none\n")
        #expect(try devices(tree.path)["thunderbolt_domains"]?[0]?["security"] == "none")
        let noIOMMU = TempTree()
        sysfs(noIOMMU, iommu: false, thunderbolt: nil, wireless: false)
        let none = try devices(noIOMMU.path)
        #expect(none["iommu_active"]?["value"] == false)
        // This tree's /sys has no bus directory: offline, that is unknown rather than empty.
        #expect(none["thunderbolt_domains"] == Self.notChecked("/sys/bus/thunderbolt/devices"))
    }

    @Test func radios() throws {
        let tree = TempTree()
        sysfs(tree, iommu: true, thunderbolt: nil, wireless: false)
        #expect(try devices(tree.path)["wireless_interfaces"] == [])
        #expect(try devices(tree.path)["rfkill"] == [])
        let radio = TempTree()
        sysfs(radio, iommu: true, thunderbolt: nil, wireless: true)
        #expect(try devices(radio.path)["wireless_interfaces"] == ["/sys/class/net/wlan0"])
        #expect(try devices(radio.path)["rfkill"] == ["/sys/class/rfkill/rfkill0 (wlan)"])
        // Offline (no sysfs) the radios cannot be seen: not checked, never an empty list.
        let offline = TempTree()
        offline.file("etc/modprobe.d/60-warden.conf", "install bluetooth /bin/false\n")
        let v = try devices(offline.path)
        #expect(
            v["wireless_interfaces"] == [
                "not_checked": "offline root: no /sys/class/net, so the running kernel's state there is not known",
                "source": "/sys/class/net",
            ])
        #expect(v["rfkill"]?["not_checked"] != nil)
    }

    // MARK: - Control tests: tables of canned facts

    /// A module's facts as a hardened live host has them: blocked by an install rule, not loaded.
    static func module(_ name: String, blocked: Bool = true, blacklisted: Bool = false, loaded: JSON? = nil) -> JSON {
        [
            "blocked": blocked
                ? ["value": true, "source": .string("/etc/modprobe.d/60-warden.conf:1 (install \(name) /bin/false)")] : notBlocked(name),
            "blacklisted": [
                "value": .bool(blacklisted),
                "source": .string(blacklisted ? "/etc/modprobe.d/usb.conf:2" : "no `blacklist \(name)` in modprobe.d"),
            ],
            "options": ["value": nil, "source": .string("no `options \(name)` in modprobe.d")],
            "loaded": loaded ?? ["value": false, "source": .string("/sys/module/\(name) (absent)")],
        ]
    }

    /// Every module blocked, as `module` has it; `changes` replaces some.
    static func modules(_ changes: [String: JSON] = [:]) -> JSON {
        var all: JSONObject = [:]
        for name in ModprobeProbe.modules { all[name] = changes[name] ?? module(name) }
        return [
            "source": "/etc/modprobe.d", "files": ["/etc/modprobe.d/60-warden.conf"], "problems": [], "ignored": [],
            "modules": .object(all),
        ]
    }

    static let offlineLoaded: JSON = [
        "not_applicable": "offline root: /sys/module/usb_storage is known only on a live host", "source": "/sys/module/usb_storage",
    ]

    static func notChecked(_ path: String) -> JSON {
        ["not_checked": .string("offline root: no \(path), so the running kernel's state there is not known"), "source": .string(path)]
    }

    /// The devices of a live host with an IOMMU and no radio, USBGuard not installed.
    static func devices(
        iommu: JSON = ["value": true, "source": "/sys/class/iommu (dmar0)"], thunderbolt: JSON = [], wireless: JSON = [], rfkill: JSON = [],
        usbControllers: JSON = []
    ) -> JSON {
        let absent = "/etc/usbguard/usbguard-daemon.conf (absent: USBGuard is not installed)"
        return [
            "source": "/sys", "iommu_active": iommu, "thunderbolt_domains": thunderbolt, "wireless_interfaces": wireless, "rfkill": rfkill,
            "usb_controllers": usbControllers,
            "usbguard": [
                "source": "/etc/usbguard/usbguard-daemon.conf",
                "enabled": [
                    "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/usbguard.service (no link, or masked)",
                ],
                "accepted": ["value": false, "source": .string(absent)],
                "implicit_policy_target": ["value": nil, "source": .string(absent)],
                "present_device_policy": ["value": nil, "source": .string(absent)],
                "authorized_default": ["value": nil, "source": .string(absent)], "rule_files": [], "rules": [],
            ],
        ]
    }

    /// The next boot's command line: USB ports deny every device (USBDefaultDenyTests covers the
    /// deny itself; here it only lets EXF-001 turn on its usb-storage rule).
    static func cmdline(_ parameters: JSONObject = ["usbcore.authorized_default": 0]) -> JSON {
        [
            "text": "usbcore.authorized_default=0", "source": "/etc/default/grub:1 (GRUB, offline root: the next boot's command line)",
            "runtime": false, "parameters": .object(parameters),
        ]
    }

    /// Rows: control, case, the modules, devices and cmdline facts, the status at sl3 and sl4, and
    /// what the summary says where it matters.
    static let table: [(String, String, JSON, JSON, JSON, Status, Status, String?)] = [
        ("EXF-001", "usb-storage blocked and not loaded", modules(), devices(), cmdline(), .pass, .pass, nil),
        (
            "EXF-001", "usb-storage blocked, offline: whether it is loaded does not decide",
            modules(["usb_storage": module("usb_storage", loaded: offlineLoaded)]), devices(), cmdline(), .pass, .pass, nil
        ),
        (
            "EXF-001", "usb-storage blacklisted only", modules(["usb_storage": module("usb_storage", blocked: false, blacklisted: true)]),
            devices(), cmdline(), .fail, .fail, nil
        ),
        (
            "EXF-001", "usb-storage blocked but loaded now",
            modules(["usb_storage": module("usb_storage", loaded: ["value": true, "source": "/sys/module/usb_storage"])]), devices(),
            cmdline(),
            .fail, .fail, "usb_storage loaded now is true"
        ),
        (
            "EXF-001", "USB default deny does not replace the usb-storage rule",
            modules(["usb_storage": module("usb_storage", blocked: false)]), devices(), cmdline(), .fail, .fail,
            "usb-storage blocked by an install rule is false, expected = true"
        ),
        (
            "EXF-001", "usb-storage blocked, a USB controller authorising every device", modules(),
            devices(usbControllers: [
                [
                    "path": "/sys/bus/usb/devices/usb1",
                    "authorized_default": ["value": 1, "source": "/sys/bus/usb/devices/usb1/authorized_default"],
                ]
            ]), cmdline([:]), .fail, .fail, nil
        ),
        ("EXF-002", "IOMMU, no Thunderbolt, firewire blocked", modules(), devices(), cmdline(), .pass, .pass, nil),
        (
            "EXF-002", "Thunderbolt at security level user", modules(),
            devices(thunderbolt: [["path": "/sys/bus/thunderbolt/devices/domain0/security", "security": "user"]]), cmdline(), .pass, .pass,
            nil
        ),
        (
            "EXF-002", "Thunderbolt at security level none", modules(),
            devices(thunderbolt: [["path": "/sys/bus/thunderbolt/devices/domain0/security", "security": "none"]]), cmdline(), .fail, .fail,
            nil
        ),
        (
            "EXF-002", "no active IOMMU", modules(), devices(iommu: ["value": false, "source": "/sys/class/iommu (empty)"]), cmdline(),
            .fail,
            .fail, nil
        ),
        (
            "EXF-002", "firewire-core not blocked", modules(["firewire_core": module("firewire_core", blocked: false)]), devices(),
            cmdline(),
            .fail, .fail, nil
        ),
        (
            "EXF-002", "offline: the IOMMU cannot be seen", modules(), devices(iommu: notChecked("/sys/class/iommu")), cmdline(),
            .notChecked,
            .notChecked, nil
        ),
        ("EXF-003", "no radio, bluetooth blocked", modules(), devices(), cmdline(), .pass, .pass, nil),
        (
            "EXF-003", "a wireless interface and its radio", modules(),
            devices(wireless: ["/sys/class/net/wlan0"], rfkill: ["/sys/class/rfkill/rfkill0 (wlan)"]), cmdline(), .fail, .fail,
            "/sys/class/net/wlan0"
        ),
        (
            "EXF-003", "bluetooth not blocked", modules(["bluetooth": module("bluetooth", blocked: false)]), devices(), cmdline(), .fail,
            .fail,
            nil
        ),
        (
            "EXF-003", "offline: the radios cannot be seen", modules(),
            devices(wireless: notChecked("/sys/class/net"), rfkill: notChecked("/sys/class/rfkill")), cmdline(), .notChecked, .notChecked,
            nil
        ),
    ]

    @Test(arguments: ModprobeDevicesTests.table.indices)
    func exfiltrationControlsOverATableOfFacts(_ row: Int) throws {
        let (control, name, modules, devices, cmdline, sl3, sl4, summary) = ModprobeDevicesTests.table[row]
        let facts: [String: JSON] = ["modules": modules, "devices": devices, "cmdline": cmdline]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let f = try cannedFinding(control, profile: profile, facts: facts)
            #expect(f.status == expected, "\(control) \(profile) \(name): \(f.summary)")
            if let summary { #expect(f.summary.contains(summary), "\(control) \(profile) \(name): \(f.summary)") }
            // EXF-002 is advisory at SL3: reported, never blocking.
            #expect(f.advisory == (control == "EXF-002" && profile == "sl3"), "\(control) \(profile)")
        }
    }

    // MARK: - End to end

    /// The whole path once: a blacklist line on disk leaves EXF-001 failing, though it names the
    /// module (the difference between blacklisting and blocking is the point of the control).
    @Test func blacklistAloneFailsEXF001EndToEnd() throws {
        let tree = TempTree()
        tree.copy(fixture: "modprobe-blacklist-only")
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"usbcore.authorized_default=0\"\n")
        let probes: [any Probe] = [ModprobeProbe(), DevicesProbe(), KernelCmdlineProbe()]
        let f = try audit(root: tree.path, probes: probes).findings["EXF-001"]
        #expect(f.status == .fail)
        #expect(f.summary == "usb-storage blocked by an install rule is false, expected = true", "\(f.summary)")
    }
}
