import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// EXF-001's USB default deny (RAND SL3, p. 83: "USB ports are disabled for non-approved
/// devices"): USBGuard without a rule that lets in keyboards it does not name, or the kernel's
/// authorized_default 0; the usb-storage install rule beside it.
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

    static func audited(_ root: String, _ profile: String = "sl3") throws -> (facts: FactSet, finding: Finding) {
        let r = try audit(root: root, profile: profile, probes: probes)
        return (r.facts, r.findings["EXF-001"])
    }

    @Test(arguments: [
        ("usb-storage-blocked-only", Status.fail), ("usb-usbguard-blanket-hid", .fail), ("usb-usbguard-approved-ids", .pass),
        ("usb-kernel-authorized-default-0", .pass),
    ])
    func eachFixtureAtSL3AndSL4(fixture: String, status: Status) throws {
        let tree = Self.host(fixture)
        for profile in ["sl3", "sl4"] {
            let f = try Self.audited(tree.path, profile).finding
            #expect(f.status == status, "\(fixture) at \(profile): \(f.summary)")
        }
    }

    @Test func blockingOnlyUSBStorageIsNotEnough() throws {
        let tree = Self.host("usb-storage-blocked-only")
        let f = try Self.audited(tree.path).finding
        #expect(f.status == .fail)
        // Both ways to deny are named: USBGuard not enabled, no authorized_default=0.
        #expect(f.evidence.contains { $0.ok == false && $0.source.contains("usbguard.service (no link)") }, "\(f.evidence)")
        #expect(
            f.evidence.contains { $0.ok == false && $0.source.hasPrefix("/etc/default/grub:4") && $0.observed == .null }, "\(f.evidence)")
        #expect(f.evidence.contains { $0.ok == true && $0.expected == "usb-storage blocked by an install rule" })
    }

    @Test func aBlanketHIDAllowFailsAndNamesItsRule() throws {
        let tree = Self.host("usb-usbguard-blanket-hid")
        let f = try Self.audited(tree.path).finding
        #expect(f.status == .fail)
        #expect(
            f.summary.contains(
                "/etc/usbguard/rules.d/70-hid.conf:2: an allow rule that lets in HID devices (keyboards) without naming the device is true (not allowed)"
            ),
            "\(f.summary)")
        // The kernel's deny does not help while USBGuard, which authorises by its rules, runs.
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"usbcore.authorized_default=0\"\n")
        #expect(try Self.audited(tree.path).finding.status == .fail)
    }

    @Test func theApprovedDevicesFixtureAsReadByTheProbe() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        let (facts, f) = try Self.audited(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        let usbguard = try #require(try factValue(facts, "devices")["usbguard"])
        #expect(usbguard["enabled"]?["value"] == true)
        #expect(usbguard["enabled"]?["source"] == "/etc/systemd/system/basic.target.wants/usbguard.service")
        #expect(usbguard["accepted"]?["value"] == true)
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
        let f = try Self.audited(Package.fixtureRoot("usb-usbguard-approved-ids")).finding
        #expect(f.status == .fail)
        #expect(
            f.evidence.contains {
                $0.ok == false
                    && $0.source.hasPrefix("/etc/usbguard/usbguard-daemon.conf (usbguard-daemon 1.1.2 would not start: mode 0644")
            }, "\(f.evidence)")
    }

    @Test func theKernelDenyReadFromGRUBOffline() throws {
        let tree = Self.host("usb-kernel-authorized-default-0")
        let (facts, f) = try Self.audited(tree.path)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(try factValue(facts, "cmdline")["parameters"]?["usbcore.authorized_default"] == 0)
        #expect(
            f.evidence.contains { $0.ok == true && $0.source.hasPrefix("/etc/default/grub:5") && $0.observed == 0 }, "\(f.evidence)")
        // Offline the controllers' runtime state is not known and does not decide.
        #expect(try factValue(facts, "devices")["usb_controllers"]?["not_applicable"] != nil)
    }

    /// A live-like tree: what each controller's authorized_default says (offline, a copied
    /// /sys/bus/usb/devices is read as the running kernel's).
    @Test(arguments: [(["0", "0"], Status.pass), (["0", "1"], .fail), ([String](), .pass)])
    func everyControllerMustDenyByDefault(values: [String], status: Status) throws {
        let tree = Self.host("usb-storage-blocked-only")
        tree.directory("sys/bus/usb/devices")
        for (i, v) in values.enumerated() {
            tree.file("sys/bus/usb/devices/usb\(i + 1)/authorized_default", v + "\n")
            tree.directory("sys/bus/usb/devices/\(i + 1)-0:1.0")
        }
        let (facts, f) = try Self.audited(tree.path)
        #expect(f.status == status, "\(values): \(f.summary)")
        let controllers = try #require(try factValue(facts, "devices")["usb_controllers"]?.arrayValue)
        #expect(controllers.count == values.count)
        if status == .fail {
            #expect(f.summary.contains("/sys/bus/usb/devices/usb2: authorized_default of a USB controller is 1"), "\(f.summary)")
        }
    }

    /// What the daemon's settings and defaults come to (usbguard-daemon 1.1.2).
    @Test(arguments: [
        // Its defaults: block, apply-policy, none.
        ("RuleFile=/etc/usbguard/rules.conf\n", Status.pass, ""),
        ("ImplicitPolicyTarget=reject\nRuleFile=/etc/usbguard/rules.conf\n", .pass, ""),
        ("ImplicitPolicyTarget=allow\nRuleFile=/etc/usbguard/rules.conf\n", .fail, "USBGuard ImplicitPolicyTarget is allow"),
        ("PresentDevicePolicy=keep\nRuleFile=/etc/usbguard/rules.conf\n", .fail, "USBGuard PresentDevicePolicy is keep"),
        ("AuthorizedDefault=all\nRuleFile=/etc/usbguard/rules.conf\n", .fail, "USBGuard AuthorizedDefault is all"),
        // The last assignment wins; blanks around the name and value go.
        ("ImplicitPolicyTarget=allow\n ImplicitPolicyTarget = block \r\nRuleFile=/etc/usbguard/rules.conf\n", .pass, ""),
        // Lines the daemon stops at.
        ("implicitpolicytarget=block\n", .fail, "unknown setting 'implicitpolicytarget'"),
        ("  # an indented comment\n", .fail, "no '=' on this line"),
        ("ImplicitPolicyTarget=block # blocked\n", .fail, "ImplicitPolicyTarget=block # blocked is not a value it takes"),
        ("InsertedDevicePolicy=allow\n", .fail, "InsertedDevicePolicy=allow is not a value it takes"),
        ("RuleFile=/etc/usbguard/missing.conf\n", .fail, "RuleFile /etc/usbguard/missing.conf does not exist"),
        ("RuleFolder=/etc/usbguard/missing.d\n", .fail, "RuleFolder /etc/usbguard/missing.d does not exist"),
    ])
    func daemonSettings(config: String, status: Status, message: String) throws {
        let tree = Self.host("usb-storage-blocked-only")
        tree.file("etc/usbguard/usbguard-daemon.conf", config, mode: 0o600)
        tree.file("etc/usbguard/rules.conf", "allow id 046b:ff10 via-port \"1-1.2\"\n", mode: 0o600)
        tree.symlink("etc/systemd/system/basic.target.wants/usbguard.service", to: "/lib/systemd/system/usbguard.service")
        let f = try Self.audited(tree.path).finding
        #expect(f.status == status, "\(config): \(f.summary)")
        if !message.isEmpty {
            #expect(f.summary.contains(message) || f.evidence.contains { $0.source.contains(message) }, "\(f.summary) \(f.evidence)")
        }
    }

    @Test func aRuleTheDaemonRefusesStopsIt() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        tree.file("etc/usbguard/rules.d/50-maintenance.conf", "allow id 413c:2113 \n", mode: 0o600)
        let f = try Self.audited(tree.path).finding
        #expect(f.status == .fail)
        #expect(
            f.evidence.contains {
                $0.source
                    == "/etc/usbguard/rules.d/50-maintenance.conf:1:19 (usbguard-daemon 1.1.2 would not start: parse error: `allow id 413c:2113 `)"
            },
            "\(f.evidence)")
    }

    @Test func aConditionWardenDoesNotCheckIsAnError() throws {
        let tree = Self.host("usb-usbguard-approved-ids")
        tree.file("etc/usbguard/rules.d/50-maintenance.conf", "allow id 413c:2113 if localtime(08:00-18:00)\n", mode: 0o600)
        let f = try Self.audited(tree.path).finding
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/usbguard/rules.d/50-maintenance.conf:1:23: the condition localtime(08:00-18:00)"), "\(f.summary)")
    }

    @Test func withoutUSBGuardOrAKernelDenyItFails() throws {
        let tree = Self.host("usb-storage-blocked-only")
        let f = try Self.audited(tree.path).finding
        #expect(f.status == .fail)
        #expect(f.summary.contains("none of the alternatives holds"), "\(f.summary)")
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
}
