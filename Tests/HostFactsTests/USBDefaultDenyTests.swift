import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// EXF-001's USB default deny (RAND SL3, p. 83: "USB ports are disabled for non-approved
/// devices"): USBGuard without a rule that lets in keyboards it does not name, or the kernel's
/// authorized_default 0; the usb-storage install rule beside it. Probe tests assert what the
/// devices and command line probes read from fixtures; control tests evaluate EXF-001 over a
/// table of canned facts (docs/FACTS.md, "Testing, the pattern to follow").
@Suite struct USBDefaultDenyTests {
    static let probes: [any Probe] = [ModprobeProbe(), DevicesProbe(), KernelCmdlineProbe()]

    /// A copy of a fixture with its USBGuard files at 0600, as Debian's package leaves them (git
    /// stores 0644, which usbguard-daemon refuses).
    static func host(_ fixture: String) -> TempTree {
        let tree = TempTree()
        tree.copy(fixture: fixture)
        for file in [
            "etc/usbguard/usbguard-daemon.conf", "etc/usbguard/rules.conf", "etc/usbguard/rules.d/50-maintenance.conf",
            "etc/usbguard/rules.d/70-hid.conf",
        ] {
            chmod(tree.path + "/" + file, 0o600)
        }
        return tree
    }

    // MARK: - Probe tests: USBGuard, the controllers and the command line as read

    func devices(_ root: String) throws -> JSON { try probeFact("devices", of: DevicesProbe(), root: root) }

    func usbguard(_ root: String) throws -> JSON { try devices(root)["usbguard"] ?? .null }

    func cmdline(_ root: String) throws -> JSON { try probeFact("cmdline", of: KernelCmdlineProbe(), root: root) }

    static let absent = "/etc/usbguard/usbguard-daemon.conf (absent: USBGuard is not installed)"

    @Test func withoutUSBGuardOrAKernelDenyNeitherIsThere() throws {
        let tree = Self.host("usb-storage-blocked-only")
        let usbguard = try usbguard(tree.path)
        #expect(
            usbguard["enabled"] == [
                "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/usbguard.service (no link, or masked)",
            ])
        #expect(usbguard["accepted"] == ["value": false, "source": .string(Self.absent)])
        #expect(usbguard["implicit_policy_target"] == ["value": nil, "source": .string(Self.absent)])
        #expect(usbguard["rules"] == [])
        let cmdline = try cmdline(tree.path)
        #expect(cmdline["parameters"] == ["quiet": true])
        #expect(cmdline["source"] == "/etc/default/grub:4 (GRUB, offline root: the next boot's command line)")
        // The usb-storage rule is there: only the deny is missing.
        let modules = try probeFact("modules", of: ModprobeProbe(), root: tree.path)
        #expect(modules["modules"]?["usb_storage"]?["blocked"]?["value"] == true)
    }

    @Test func aBlanketHIDAllowIsRecognisedWithItsLine() throws {
        let tree = Self.host("usb-usbguard-blanket-hid")
        let rules = try usbguard(tree.path)["rules"]?.arrayValue ?? []
        #expect(rules.filter { $0["allows_unidentified_hid"] == true }.map { $0["source"] } == ["/etc/usbguard/rules.d/70-hid.conf:2"])
        #expect(
            rules.last == [
                "allows_unidentified_hid": true, "identified_by": [], "rule": "allow with-interface match-all { 03:*:* }",
                "source": "/etc/usbguard/rules.d/70-hid.conf:2", "target": "allow",
            ])
        // Neither /proc/cmdline nor GRUB's file: offline, the next boot's command line is unknown.
        let facts = try audit(root: tree.path, probes: [KernelCmdlineProbe()]).facts
        #expect(facts["cmdline"] == .unavailable(.notChecked("neither /proc/cmdline nor /etc/default/grub exists (offline root)")))
        // With the kernel's deny added, USBGuard still runs and still has the rule.
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"usbcore.authorized_default=0\"\n")
        #expect(try cmdline(tree.path)["parameters"] == ["usbcore.authorized_default": 0])
        #expect(try usbguard(tree.path)["enabled"]?["value"] == true)
    }

    @Test func theApprovedDevicesFixtureAsReadByTheProbe() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        let usbguard = try usbguard(tree.path)
        #expect(usbguard["enabled"]?["value"] == true)
        #expect(usbguard["enabled"]?["source"] == "/etc/systemd/system/basic.target.wants/usbguard.service")
        #expect(usbguard["accepted"] == ["value": true, "source": "/etc/usbguard/usbguard-daemon.conf"])
        #expect(usbguard["implicit_policy_target"] == ["value": "block", "source": "/etc/usbguard/usbguard-daemon.conf:3"])
        #expect(usbguard["present_device_policy"] == ["value": "apply-policy", "source": "/etc/usbguard/usbguard-daemon.conf:4"])
        #expect(usbguard["authorized_default"] == ["value": "none", "source": "/etc/usbguard/usbguard-daemon.conf:7"])
        #expect(usbguard["rule_files"] == ["/etc/usbguard/rules.conf", "/etc/usbguard/rules.d/50-maintenance.conf"])
        let rules = try #require(usbguard["rules"]?.arrayValue)
        #expect(rules.count == 4)
        #expect(rules[0]["identified_by"] == ["id", "serial"] as JSON)
        #expect(rules[2]["source"] == "/etc/usbguard/rules.conf:5")
        // `serial ""` (the BMC's keyboard has none) names no device; its id and port do.
        #expect(rules[2]["identified_by"] == ["id", "via-port"] as JSON)
        #expect(rules[3]["source"] == "/etc/usbguard/rules.d/50-maintenance.conf:2")
        #expect(rules.allSatisfy { $0["allows_unidentified_hid"] == false && $0["target"] == "allow" })
    }

    /// git checks the fixture out 0644; usbguard.service (no `-P`) would not start with it.
    @Test func aConfigurationOthersCanReadStopsTheDaemon() throws {
        let accepted = try usbguard(Package.fixtureRoot("usb-usbguard-approved-ids"))["accepted"]
        #expect(accepted?["value"] == false)
        #expect(
            accepted?["source"]?.stringValue?.hasPrefix(
                "/etc/usbguard/usbguard-daemon.conf (usbguard-daemon 1.1.2 would not start: mode 0644") == true, "\(accepted ?? .null)")
    }

    @Test func theKernelDenyReadFromGRUBOffline() throws {
        let tree = Self.host("usb-kernel-authorized-default-0")
        let cmdline = try cmdline(tree.path)
        #expect(cmdline["parameters"]?["usbcore.authorized_default"] == 0)
        #expect(cmdline["source"] == "/etc/default/grub:5 (GRUB, offline root: the next boot's command line)")
        // Offline the controllers' runtime state is not known, and says so.
        #expect(
            try devices(tree.path)["usb_controllers"] == [
                "not_applicable": "offline root: /sys/bus/usb/devices is known only on a live host", "source": "/sys/bus/usb/devices",
            ])
        #expect(try usbguard(tree.path)["enabled"]?["value"] == false)
    }

    /// A live-like tree: what each controller's authorized_default says (offline, a copied
    /// /sys/bus/usb/devices is read as the running kernel's).
    @Test(arguments: [["0", "0"], ["0", "1"], []])
    func eachControllersAuthorizedDefault(values: [String]) throws {
        let tree = Self.host("usb-storage-blocked-only")
        tree.directory("sys/bus/usb/devices")
        for (i, v) in values.enumerated() {
            tree.file("sys/bus/usb/devices/usb\(i + 1)/authorized_default", v + "\n")
            tree.directory("sys/bus/usb/devices/\(i + 1)-0:1.0")
        }
        let controllers = try devices(tree.path)["usb_controllers"]?.arrayValue ?? []
        #expect(controllers.map { $0["path"] } == values.indices.map { .string("/sys/bus/usb/devices/usb\($0 + 1)") })
        #expect(controllers.map { $0["authorized_default"]?["value"] } == values.map { .int(Int($0)!) })
    }

    /// What the daemon's settings and defaults come to (usbguard-daemon 1.1.2): the values it
    /// takes, or the line it stops at.
    @Test(arguments: [
        // Its defaults: block, apply-policy, none.
        (
            "RuleFile=/etc/usbguard/rules.conf\n",
            ["implicit_policy_target": "block", "present_device_policy": "apply-policy", "authorized_default": "none"] as [String: JSON], ""
        ),
        ("ImplicitPolicyTarget=reject\nRuleFile=/etc/usbguard/rules.conf\n", ["implicit_policy_target": "reject"], ""),
        ("ImplicitPolicyTarget=allow\nRuleFile=/etc/usbguard/rules.conf\n", ["implicit_policy_target": "allow"], ""),
        ("PresentDevicePolicy=keep\nRuleFile=/etc/usbguard/rules.conf\n", ["present_device_policy": "keep"], ""),
        ("AuthorizedDefault=all\nRuleFile=/etc/usbguard/rules.conf\n", ["authorized_default": "all"], ""),
        // The last assignment wins; blanks around the name and value go.
        (
            "ImplicitPolicyTarget=allow\n ImplicitPolicyTarget = block \r\nRuleFile=/etc/usbguard/rules.conf\n",
            ["implicit_policy_target": "block"], ""
        ),
        // Lines the daemon stops at.
        ("implicitpolicytarget=block\n", [:], "unknown setting 'implicitpolicytarget'"),
        ("  # an indented comment\n", [:], "no '=' on this line"),
        ("ImplicitPolicyTarget=block # blocked\n", [:], "ImplicitPolicyTarget=block # blocked is not a value it takes"),
        ("InsertedDevicePolicy=allow\n", [:], "InsertedDevicePolicy=allow is not a value it takes"),
        ("RuleFile=/etc/usbguard/missing.conf\n", [:], "RuleFile /etc/usbguard/missing.conf does not exist"),
        ("RuleFolder=/etc/usbguard/missing.d\n", [:], "RuleFolder /etc/usbguard/missing.d does not exist"),
    ])
    func daemonSettings(config: String, values: [String: JSON], refusal: String) throws {
        let tree = Self.host("usb-storage-blocked-only")
        tree.file("etc/usbguard/usbguard-daemon.conf", config, mode: 0o600)
        tree.file("etc/usbguard/rules.conf", "allow id 046b:ff10 via-port \"1-1.2\"\n", mode: 0o600)
        tree.symlink("etc/systemd/system/basic.target.wants/usbguard.service", to: "/lib/systemd/system/usbguard.service")
        let usbguard = try usbguard(tree.path)
        for (field, value) in values { #expect(usbguard[field]?["value"] == value, "\(config): \(field)") }
        #expect(usbguard["accepted"]?["value"] == .bool(refusal.isEmpty), "\(config): \(usbguard["accepted"] ?? .null)")
        if !refusal.isEmpty {
            let source = usbguard["accepted"]?["source"]?.stringValue ?? ""
            #expect(source.hasPrefix("/etc/usbguard/usbguard-daemon.conf:1 (usbguard-daemon 1.1.2 would not start: "), "\(source)")
            #expect(source.contains(refusal), "\(source)")
        }
    }

    @Test func aRuleTheDaemonRefusesStopsIt() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        tree.file("etc/usbguard/rules.d/50-maintenance.conf", "allow id 413c:2113 \n", mode: 0o600)
        #expect(
            try usbguard(tree.path)["accepted"] == [
                "value": false,
                "source":
                    "/etc/usbguard/rules.d/50-maintenance.conf:1:19 (usbguard-daemon 1.1.2 would not start: parse error: `allow id 413c:2113 `)",
            ])
    }

    @Test func aConditionWardenDoesNotCheckIsStatedAsAnError() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        tree.file("etc/usbguard/rules.d/50-maintenance.conf", "allow id 413c:2113 if localtime(08:00-18:00)\n", mode: 0o600)
        #expect(
            try usbguard(tree.path)["accepted"] == [
                "error":
                    "/etc/usbguard/rules.d/50-maintenance.conf:1:23: the condition localtime(08:00-18:00) (Warden does not check its argument, which usbguard-daemon 1.1.2 may refuse)",
                "source": "/etc/usbguard/usbguard-daemon.conf",
            ])
    }

    /// What "blanket" means: an `allow` rule that names no device (no id VVVV:PPPP, hash,
    /// parent-hash, serial or via-port) and that some device with an HID interface matches.
    @Test(arguments: [
        ("allow", true),
        ("allow with-interface 03:*:*", true),
        ("allow with-interface 03:01:01", true),
        ("allow with-interface one-of { 03:00:* 03:01:* }", true),
        ("allow with-interface match-all { 03:*:* 09:00:* }", true),
        // A disk with a keyboard interface beside it matches one-of and all-of.
        ("allow with-interface one-of { 08:*:* }", true),
        ("allow with-interface all-of { 08:*:* }", true),
        ("allow with-interface equals { 08:*:* }", false),
        ("allow with-interface match-all { 09:00:* }", false),
        ("allow with-interface none-of { 03:*:* }", false),
        ("allow with-interface none-of { 03:01:* }", true),
        ("allow id 046b:ff10", false),
        ("allow 046b:ff10 with-interface 03:*:*", false),
        ("allow id 046b:* with-interface 03:*:*", true),
        ("allow id *:* with-interface 03:*:*", true),
        ("allow id one-of { 046b:ff10 413c:2113 }", false),
        ("allow id one-of { 046b:ff10 413c:* }", true),
        ("allow id none-of { 046b:ff10 }", true),
        ("allow hash \"kW6EnqaDZtd2YMz7GzVBKUN0GDKuPYaRsg1lqI6vKDw=\"", false),
        ("allow parent-hash \"kW6EnqaDZtd2YMz7GzVBKUN0GDKuPYaRsg1lqI6vKDw=\"", false),
        ("allow via-port \"1-1.2\" with-interface 03:*:*", false),
        ("allow serial \"\" with-interface 03:*:*", true),
        ("allow name \"Virtual Keyboard and Mouse\" with-interface 03:*:*", true),
        ("allow with-interface 03:*:* with-connect-type \"hardwired\"", true),
        ("allow with-interface 03:*:* if false", true),
        ("block with-interface 03:*:*", false),
        ("reject", false),
    ])
    func blanketHIDAllow(rule: String, blanket: Bool) throws {
        let parsed = try #require(try USBGuardRule.parse(rule[...]))
        #expect(parsed.allowsUnidentifiedHID == blanket, "\(rule): \(parsed)")
    }

    @Test(arguments: [
        ("", nil as String?), ("# a comment", nil), ("   # an indented comment", nil),
        ("allow id 1234:5678 # note", "allow"), ("allow id 1234:5678#note", "allow"), ("block\tid 1234:5678", "block"),
        ("match id 1234:5678", "match"), ("allow name \"a\\\"b\\\\c\\x41\"", "allow"),
    ])
    func linesTheDaemonTakes(line: String, target: String?) throws {
        #expect(try USBGuardRule.parse(line[...])?.target == target, "\(line)")
    }

    @Test(arguments: [
        "  allow id 1234:5678", "allow id 1234:5678 ", "allow id 1234:5678\r", "ALLOW", "allow ", "allow id *:1234",
        "allow with-interface 03:*:01", "allow id 12345:5678", "allow id 1234:5678 id 1111:2222", "allow 1234:5678 id 1111:2222",
        "allow if true if false", "allow id one-of{1234:5678}", "allow id one-of { }", "allow name \"unterminated",
        "allow name \"\\n\"", "allow name \"\\x4g\"", "allow if nosuch", "allow if random(x)", "allow if localtime()", " ",
    ])
    func linesTheDaemonRefuses(line: String) throws {
        #expect(throws: USBGuardRuleError.self, "\(line)") { try USBGuardRule.parse(line[...]) }
    }

    // MARK: - Control test: EXF-001 over a table of canned facts

    static let daemonConf = "/etc/usbguard/usbguard-daemon.conf"

    static func rule(_ text: String, source: String, identifiedBy: [JSON] = ["id", "via-port"], hid: Bool = false) -> JSON {
        [
            "source": .string(source), "rule": .string(text), "target": "allow", "identified_by": .array(identifiedBy),
            "allows_unidentified_hid": .bool(hid),
        ]
    }

    static let approved = rule("allow id 046b:ff10 via-port \"1-1.2\"", source: "/etc/usbguard/rules.conf:5")

    /// USBGuard enabled with a default deny and rules that name their devices; each row changes
    /// one setting.
    static func usbguard(
        accepted: JSON = ["value": true, "source": .string(daemonConf)], implicit: JSON = "block", present: JSON = "apply-policy",
        authorized: JSON = "none", rules: [JSON] = [approved]
    ) -> JSON {
        [
            "source": .string(daemonConf),
            "enabled": ["value": true, "source": "/etc/systemd/system/basic.target.wants/usbguard.service"], "accepted": accepted,
            "implicit_policy_target": ["value": implicit, "source": .string(daemonConf + ":3")],
            "present_device_policy": ["value": present, "source": .string(daemonConf + ":4")],
            "authorized_default": ["value": authorized, "source": .string(daemonConf + ":7")],
            "rule_files": ["/etc/usbguard/rules.conf"], "rules": .array(rules),
        ]
    }

    static let notInstalled: JSON = [
        "source": .string(daemonConf),
        "enabled": [
            "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/usbguard.service (no link, or masked)",
        ],
        "accepted": ["value": false, "source": .string(absent)], "implicit_policy_target": ["value": nil, "source": .string(absent)],
        "present_device_policy": ["value": nil, "source": .string(absent)],
        "authorized_default": ["value": nil, "source": .string(absent)],
        "rule_files": [], "rules": [],
    ]

    static let offlineControllers: JSON = [
        "not_applicable": "offline root: /sys/bus/usb/devices is known only on a live host", "source": "/sys/bus/usb/devices",
    ]

    static func controllers(_ values: [Int]) -> JSON {
        .array(
            values.enumerated().map { i, v in
                let path = "/sys/bus/usb/devices/usb\(i + 1)"
                return ["path": .string(path), "authorized_default": ["value": .int(v), "source": .string(path + "/authorized_default")]]
            })
    }

    /// The devices of a live host with an IOMMU and no radio (as ModprobeDevicesTests has them),
    /// with this USBGuard and these controllers.
    static func devices(_ usbguard: JSON, controllers: JSON = offlineControllers) -> JSON {
        var o = ModprobeDevicesTests.devices(usbControllers: controllers).objectValue ?? [:]
        o["usbguard"] = usbguard
        return .object(o)
    }

    /// The next boot's command line from GRUB, with the kernel's deny or without it.
    static func cmdline(deny: Bool) -> Fact {
        .value([
            "text": deny ? "usbcore.authorized_default=0 quiet" : "quiet",
            "source": "/etc/default/grub:5 (GRUB, offline root: the next boot's command line)", "runtime": false,
            "parameters": deny ? ["usbcore.authorized_default": 0, "quiet": true] : ["quiet": true],
        ])
    }

    static let noCmdline: Fact = .unavailable(.notChecked("neither /proc/cmdline nor /etc/default/grub exists (offline root)"))

    static let blanket = rule(
        "allow with-interface match-all { 03:*:* }", source: "/etc/usbguard/rules.d/70-hid.conf:2", identifiedBy: [], hid: true)

    /// Rows: case, the devices fact, the cmdline fact, the status (sl3 and sl4 both require the
    /// deny), and what the summary says where it matters. The usb-storage rule holds throughout
    /// (ModprobeDevicesTests' table varies it).
    static let table: [(String, JSON, Fact, Status, String?)] = [
        ("USBGuard denies by default, rules name their devices", devices(usbguard()), noCmdline, .pass, nil),
        ("ImplicitPolicyTarget reject", devices(usbguard(implicit: "reject")), noCmdline, .pass, nil),
        ("ImplicitPolicyTarget allow", devices(usbguard(implicit: "allow")), noCmdline, .fail, "USBGuard ImplicitPolicyTarget is allow"),
        ("PresentDevicePolicy block", devices(usbguard(present: "block")), noCmdline, .pass, nil),
        ("PresentDevicePolicy keep", devices(usbguard(present: "keep")), noCmdline, .fail, "USBGuard PresentDevicePolicy is keep"),
        ("AuthorizedDefault all", devices(usbguard(authorized: "all")), noCmdline, .fail, "USBGuard AuthorizedDefault is all"),
        (
            "a blanket HID allow rule", devices(usbguard(rules: [approved, blanket])), noCmdline, .fail,
            "/etc/usbguard/rules.d/70-hid.conf:2: an allow rule that lets in HID devices (keyboards) without naming the device is true (not allowed)"
        ),
        (
            "a blanket HID allow rule beside the kernel's deny, which USBGuard overrides", devices(usbguard(rules: [approved, blanket])),
            cmdline(deny: true), .fail, nil
        ),
        (
            "USBGuard would not start (its configuration readable by others)",
            devices(
                usbguard(accepted: [
                    "value": false, "source": "/etc/usbguard/usbguard-daemon.conf (usbguard-daemon 1.1.2 would not start: mode 0644)",
                ])), noCmdline, .fail, nil
        ),
        (
            "a rule condition Warden does not check",
            devices(
                usbguard(accepted: [
                    "error":
                        "/etc/usbguard/rules.d/50-maintenance.conf:1:23: the condition localtime(08:00-18:00) (Warden does not check its argument, which usbguard-daemon 1.1.2 may refuse)",
                    "source": .string(daemonConf),
                ])), noCmdline, .error, "/etc/usbguard/rules.d/50-maintenance.conf:1:23: the condition localtime(08:00-18:00)"
        ),
        ("no USBGuard, no kernel deny", devices(notInstalled), cmdline(deny: false), .fail, "none of the alternatives holds"),
        ("no USBGuard, the kernel's deny on the next boot's command line", devices(notInstalled), cmdline(deny: true), .pass, nil),
        (
            "no USBGuard, every controller denies by default", devices(notInstalled, controllers: controllers([0, 0])),
            cmdline(deny: false), .pass, nil
        ),
        (
            "no USBGuard, one controller authorises by default", devices(notInstalled, controllers: controllers([0, 1])),
            cmdline(deny: false), .fail, "/sys/bus/usb/devices/usb2: authorized_default of a USB controller is 1"
        ),
        ("no USBGuard, no USB controller", devices(notInstalled, controllers: controllers([])), cmdline(deny: false), .pass, nil),
        (
            "USBGuard denies by default, its enablement links unreadable",
            devices(AuditRulesProbeTests.with(usbguard(), ["enabled": UnknownEnablementTests.stated("usbguard.service")])),
            cmdline(deny: false), .error, UnknownEnablementTests.unknown
        ),
    ]

    @Test(arguments: USBDefaultDenyTests.table.indices)
    func exf001OverATableOfFacts(_ row: Int) throws {
        let (name, devices, cmdline, expected, summary) = USBDefaultDenyTests.table[row]
        let facts: [String: Fact] = ["modules": .value(ModprobeDevicesTests.modules()), "devices": .value(devices), "cmdline": cmdline]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("EXF-001", profile: profile, facts: facts)
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
            if let summary { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
        }
    }

    // MARK: - End to end

    /// The four fixtures are the reference cases of the deny, one for each way it holds or fails:
    /// the table above shows EXF-001's reading of canned facts, this that the facts the three
    /// probes read from real files meet that reading.
    @Test(arguments: [
        ("usb-storage-blocked-only", Status.fail), ("usb-usbguard-blanket-hid", .fail), ("usb-usbguard-approved-ids", .pass),
        ("usb-kernel-authorized-default-0", .pass),
    ])
    func eachFixtureAtSL3AndSL4(fixture: String, status: Status) throws {
        let tree = Self.host(fixture)
        for profile in ["sl3", "sl4"] {
            let f = try audit(root: tree.path, profile: profile, probes: Self.probes).findings["EXF-001"]
            #expect(f.status == status, "\(fixture) at \(profile): \(f.summary)")
        }
    }
}
