import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// usbguard 1.1.2 itself is the oracle (the Debian 12 root of `Scripts/roots` has the package):
/// `usbguard-rule-parser` (the daemon's own parser, libusbguard) on generated rule lines, and
/// `usbguard-daemon -d -k -c FILE` on generated configurations, which loads the configuration and
/// every rule file, logs the settings it takes and either "Configuration loaded successfully" or
/// the error that stops it, then stops itself at the missing /sys/bus/usb (no device is touched:
/// the run has no /sys and its writes go to a discarded overlay).
@Suite struct USBGuardOracleTests {
    static let targets = ["allow", "block", "reject", "match", "device", "Allow", "permit", ""]
    static let attributes = [
        "id 046b:ff10", "id 046b:*", "id *:*", "id *:ff10", "id 46b:ff10", "046b:ff10", "id one-of { 046b:ff10 413c:2113 }",
        "id none-of { 046b:ff10 }", "id {046b:ff10}", "id one-of{046b:ff10}", "id equals { }",
        "with-interface 03:*:*", "with-interface 03:01:01", "with-interface 03:*:01", "with-interface 3:01:01",
        "with-interface one-of { 03:00:* 03:01:* }", "with-interface all-of { 08:*:* 03:*:* }",
        "with-interface match-all { 03:*:* 09:00:* }",
        "with-interface equals-ordered { 08:*:* 03:00:00 }", "with-interface none-of { 03:*:* }", "with-interface equals { 08:*:* }",
        "with-interface {03:01:01 03:01:02}", "serial \"\"", "serial \"0000:00:14.0\"", "name \"Virtual Keyboard and Mouse\"",
        "name \"a\\\"b\"", "name \"a\\x41\"", "name \"a\\n\"", "name \"a\\q\"", "name \"unterminated",
        "hash \"kW6EnqaDZtd2YMz7GzVBKUN0GDKuPYaRsg1lqI6vKDw=\"",
        "parent-hash \"abc\"", "via-port \"1-1.2\"", "via-port one-of { \"1-1\" \"1-2\" }", "with-connect-type \"hardwired\"",
        "label \"bmc\"", "if true", "if !false", "if random(0.5)", "if random(x)", "if rule-applied(10)", "if rule-evaluated(1:02)",
        "if rule-applied(abc)", "if nosuch", "if one-of { true false }", "if localtime()", "if {true}",
    ]
    static let separators = [" ", " ", " ", "  ", "\t"]
    static let endings = ["", "", "", " # note", "#note", " ", "\r"]

    /// `count` rule lines: a target, zero to four attributes, an ending; now and then a comment
    /// line or leading blanks.
    static func lines(count: Int) -> [String] {
        var rng = SeededGenerator(seed: 1102)
        return (0..<count).map { _ in
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: return "# a comment"
            case 1: return "   # an indented comment"
            default: break
            }
            var line = (Int.random(in: 0..<15, using: &rng) == 0 ? " " : "") + targets.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                line += separators.randomElement(using: &rng)! + attributes.randomElement(using: &rng)!
            }
            return line + endings.randomElement(using: &rng)!
        }
    }

    /// The parts of a rule both readings must agree on.
    struct Shape: Equatable {
        var target: String
        var attributes: [String]
        var id: USBGuardRule.Values?
        var interfaces: USBGuardRule.Values?
        var identifiedBy: [String]
        var allowsUnidentifiedHID: Bool

        init(_ r: USBGuardRule) {
            target = r.target
            attributes = r.attributes.keys.sorted()
            id = r.attributes["id"]
            interfaces = r.attributes["with-interface"]
            identifiedBy = r.identifiedBy
            allowsUnidentifiedHID = r.allowsUnidentifiedHID
        }
    }

    @Test func rulesAreReadAsUsbguardReadsThem() throws {
        let root = try RealRoots.debian12()
        let lines = Self.lines(count: 500)
        let layer = TempTree(prefix: "warden-usbguard-oracle")
        layer.file("rules.txt", lines.joined(separator: "\n") + "\n")
        let script = """
            n=0
            while IFS= read -r line; do
              echo "== $n"
              usbguard-rule-parser "$line" 2>&1
              n=$((n+1))
            done < /rules.txt
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var outputs: [String] = []
        for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("== ") {
                outputs.append("")
            } else if !outputs.isEmpty {
                outputs[outputs.count - 1] += line + "\n"
            }
        }
        try #require(outputs.count == lines.count, "\(outputs.count) outputs for \(lines.count) lines")
        var disagreements: [String] = []
        var accepted = 0
        var refusedByBoth = 0
        for (line, output) in zip(lines, outputs) {
            // The tool prints the rule back (`OUTPUT: …`), empty for a comment, or `! ERROR` and
            // `!!` lines naming where it stopped.
            let theirs = output.split(separator: "\n").first { $0.hasPrefix("OUTPUT: ") }.map { String($0.dropFirst("OUTPUT: ".count)) }
            let refused = output.contains("! ERROR") || output.contains("!!") || theirs == nil
            let mine: USBGuardRule?
            let mineRefused: Bool
            do {
                mine = try USBGuardRule.parse(line[...])
                mineRefused = false
            } catch is USBGuardUncheckedCondition {
                continue
            } catch {
                mine = nil
                mineRefused = true
            }
            if refused != mineRefused {
                disagreements.append(
                    "`\(line)`: usbguard \(refused ? "refuses" : "takes") it, Warden \(mineRefused ? "refuses" : "takes") it\n\(output)")
                continue
            }
            if refused { refusedByBoth += 1 }
            guard !refused, let mine, let theirs, !theirs.isEmpty else { continue }
            accepted += 1
            // The tool's canonical form, read by Warden, must be the same rule.
            guard let canonical = try? USBGuardRule.parse(theirs[...]) else {
                disagreements.append("`\(line)`: Warden cannot read usbguard's own form `\(theirs)`")
                continue
            }
            if Shape(mine) != Shape(canonical) {
                disagreements.append("`\(line)`: Warden \(Shape(mine)), usbguard `\(theirs)` \(Shape(canonical))")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(6).joined(separator: "\n---\n"))")
        #expect(accepted >= 60, "\(accepted) rules accepted by both")
        #expect(refusedByBoth >= 60, "\(refusedByBoth) lines refused by both")
    }

    static let settings = [
        "ImplicitPolicyTarget=block", "ImplicitPolicyTarget=reject", "ImplicitPolicyTarget=allow", "ImplicitPolicyTarget=Block",
        "ImplicitPolicyTarget=", " ImplicitPolicyTarget = block ", "ImplicitPolicyTarget=block # note", "PresentDevicePolicy=apply-policy",
        "PresentDevicePolicy=keep", "PresentDevicePolicy=allow", "PresentDevicePolicy=bogus", "InsertedDevicePolicy=apply-policy",
        "InsertedDevicePolicy=keep", "AuthorizedDefault=none", "AuthorizedDefault=all", "AuthorizedDefault=maybe",
        "PresentControllerPolicy=keep", "RestoreControllerDeviceState=false", "RestoreControllerDeviceState=1",
        "DeviceManagerBackend=uevent", "DeviceManagerBackend=udev", "DeviceManagerBackend=bogus", "IPCAllowedUsers=root",
        "IPCAllowedGroups=root plugdev", "DeviceRulesWithPort=false", "HidePII=yes", "AuditBackend=LinuxAudit",
        "AuditBackend=FileAudit", "AuditFilePath=/var/log/usbguard/usbguard-audit.log", "implicitpolicytarget=block", "Unknown=1",
        "# a comment", "  # an indented comment", "", "no separator", "RuleFile=/etc/usbguard/rules.conf",
        "RuleFile=/etc/usbguard/missing.conf", "RuleFolder=/etc/usbguard/rules.d/", "RuleFolder=/etc/usbguard/missing.d",
        "IPCAccessControlFiles=/etc/usbguard/IPCAccessControl.d/", "IPCAccessControlFiles=/etc/usbguard/none.d",
    ]
    static let ruleLines = [
        "allow id 046b:ff10 via-port \"1-1.2\"", "allow with-interface 03:*:*", "block", "# comment", "", "allow id *:1234",
        "allow id 046b:ff10 ", "reject with-interface one-of { 08:*:* }",
    ]

    /// A configuration and its files: name → (text, mode).
    static func trees(count: Int) -> [[String: (String, UInt32)]] {
        var rng = SeededGenerator(seed: 1103)
        func ruleFile() -> (String, UInt32) {
            let text = (0..<Int.random(in: 1...3, using: &rng)).map { _ in ruleLines.randomElement(using: &rng)! }.joined(separator: "\n")
            return (text + "\n", Int.random(in: 0..<6, using: &rng) == 0 ? 0o644 : 0o600)
        }
        return (0..<count).map { _ in
            var lines = (0..<Int.random(in: 1...6, using: &rng)).map { _ in settings.randomElement(using: &rng)! }
            if Int.random(in: 0..<3, using: &rng) > 0 { lines.insert("RuleFile=/etc/usbguard/rules.conf", at: 0) }
            let end = Int.random(in: 0..<8, using: &rng) == 0 ? "\r\n" : "\n"
            var files: [String: (String, UInt32)] = [
                "usbguard-daemon.conf": (lines.joined(separator: end) + end, Int.random(in: 0..<8, using: &rng) == 0 ? 0o640 : 0o600),
                "rules.conf": ruleFile(), "rules.d/50-a.conf": ruleFile(), "IPCAccessControl.d/root": ("Devices=list\n", 0o600),
            ]
            if Int.random(in: 0..<4, using: &rng) == 0 { files["rules.d/.hidden"] = ruleFile() }
            return files
        }
    }

    @Test func configurationsAreReadAsUsbguardDaemonReadsThem() throws {
        let root = try RealRoots.debian12()
        let trees = Self.trees(count: 50)
        let layer = TempTree(prefix: "warden-usbguard-daemon-oracle")
        for (n, files) in trees.enumerated() {
            for (name, (text, mode)) in files { layer.file("cases/\(n)/\(name)", text, mode: mode) }
        }
        let script = """
            n=0
            while [ -d /cases/$n ]; do
              rm -rf /etc/usbguard && mkdir -m 0755 /etc/usbguard && cp -a /cases/$n/. /etc/usbguard/
              echo "== $n"
              timeout 10 usbguard-daemon -d -k -c /etc/usbguard/usbguard-daemon.conf 2>&1 | grep -E 'Setting (ImplicitPolicyTarget|PresentDevicePolicy) to|Configuration loaded successfully|\\(E\\)' | grep -v '/sys/bus/usb'
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var logs: [[Substring]] = []
        for line in r.stdout.split(separator: "\n") {
            if line.hasPrefix("== ") { logs.append([]) } else if !logs.isEmpty { logs[logs.count - 1].append(line) }
        }
        try #require(logs.count == trees.count)
        var disagreements: [String] = []
        var started = 0
        for (n, files) in trees.enumerated() {
            let tree = TempTree()
            for (name, (text, mode)) in files { tree.file("etc/usbguard/\(name)", text, mode: mode) }
            tree.symlink("etc/systemd/system/basic.target.wants/usbguard.service", to: "/lib/systemd/system/usbguard.service")
            let facts = try audit(root: tree.path, probes: [DevicesProbe()]).facts
            let usbguard = try #require(try factValue(facts, "devices")["usbguard"])
            let log = logs[n]
            let loaded = log.contains { $0.contains("Configuration loaded successfully") }
            let accepted = usbguard["accepted"]?["value"]?.boolValue
            let listing = files.sorted { $0.key < $1.key }.map { "\($0.key) (\(String($0.value.1, radix: 8))):\n\($0.value.0)" }.joined()
            guard let accepted else {
                // Warden cannot decide (a condition it does not check): never where usbguard can.
                disagreements.append(
                    "case \(n): Warden undecided (\(usbguard["accepted"]?.compactString ?? "")), usbguard \(log)\n\(listing)")
                continue
            }
            if accepted != loaded {
                disagreements.append(
                    "case \(n): usbguard \(loaded ? "starts" : "refuses") (\(log)), Warden \(usbguard["accepted"]?.compactString ?? "")\n\(listing)"
                )
                continue
            }
            guard loaded else { continue }
            started += 1
            for (field, key) in [("implicit_policy_target", "ImplicitPolicyTarget"), ("present_device_policy", "PresentDevicePolicy")] {
                // The daemon logs a setting only when the file sets it; otherwise its default holds.
                let logged = log.last { $0.contains("Setting \(key) to") }.map {
                    String($0[$0.firstRange(of: "Setting \(key) to ")!.upperBound...])
                }
                let theirs = logged ?? USBGuardConfigDefaults.value(key)
                if usbguard[field]?["value"]?.stringValue != theirs {
                    disagreements.append("case \(n): \(key) usbguard \(theirs), Warden \(usbguard[field]?.compactString ?? "")\n\(listing)")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(4).joined(separator: "\n---\n"))")
        #expect(started >= 5, "\(started) configurations the daemon started with")
    }
}

/// usbguard-daemon 1.1.2's defaults (its Daemon constructor), as the tests expect them.
enum USBGuardConfigDefaults {
    static func value(_ key: String) -> String {
        ["ImplicitPolicyTarget": "block", "PresentDevicePolicy": "apply-policy"][key] ?? ""
    }
}
