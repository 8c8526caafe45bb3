public import WardenCore
internal import WardenFormats

/// Hardware paths out of the host, from sysfs: IOMMU units (DMA protection), Thunderbolt domain
/// security levels, wireless network interfaces and rfkill switches (radios), whether the USB
/// controllers authorise new devices, and USBGuard's daemon configuration and rules. Offline
/// roots have no sysfs: those parts are `not_checked` (`not_applicable` for the controllers'
/// runtime state, which the next boot's configuration decides).
public struct DevicesProbe: Probe {
    public init() {}
    public let name = "devices"
    public let summary =
        "sysfs: IOMMU, Thunderbolt security, wireless interfaces, rfkill, USB controllers' authorized_default; USBGuard configuration, rules and unit"
    public let reads = [
        "/sys/class/iommu/", "/sys/bus/thunderbolt/devices/domain*/security", "/sys/class/net/*/wireless", "/sys/class/rfkill/",
        "/sys/bus/usb/devices/usb*/authorized_default", "/etc/usbguard/usbguard-daemon.conf", "/etc/usbguard/rules.conf (RuleFile)",
        "/etc/usbguard/rules.d/* (RuleFolder)", SystemdUnits.enablingLinks("usbguard.service"),
    ]
    public var facts: [String: FactType] {
        [
            "devices": .object([
                "source": .string, "iommu_active": .sourced(.bool),
                "thunderbolt_domains": .list(.object(["path": .string, "security": .string])),
                "wireless_interfaces": .strings, "rfkill": .strings,
                "usb_controllers": .list(.object(["path": .string, "authorized_default": .sourced(.int)])),
                "usbguard": .object([
                    "source": .string, "enabled": .sourced(.bool), "accepted": .sourced(.bool),
                    "implicit_policy_target": .sourced(.optional(.string)), "present_device_policy": .sourced(.optional(.string)),
                    "authorized_default": .sourced(.optional(.string)), "rule_files": .strings,
                    "rules": .list(
                        .object([
                            "source": .string, "rule": .string, "target": .string, "identified_by": .strings,
                            "allows_unidentified_hid": .bool,
                        ])),
                ]),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = ["source": "/sys"]
        // Each class directory as ProbeContext.sysfs reads it; missing from a live host's /sys,
        // the class is empty (`absent`). sysfs has no names starting with a dot: a copied /sys
        // may hold `.keep` files, since git cannot store an empty directory.
        func runtime(_ path: String, absent: JSON, _ body: () throws(HostError) -> JSON) -> JSON {
            switch context.sysfs(path) {
            case .present:
                do { return try body() } catch {
                    return ["error": .string(error.description), "source": .string(path)]
                }
            case .absent: return absent
            case let other: return other.stated(path)
            }
        }
        fact["iommu_active"] = runtime("/sys/class/iommu", absent: ["value": false, "source": "/sys/class/iommu (absent)"]) {
            () throws(HostError) -> JSON in
            let units = try root.list("/sys/class/iommu").filter { !$0.hasPrefix(".") }
            return [
                "value": .bool(!units.isEmpty),
                "source": .string("/sys/class/iommu (\(units.isEmpty ? "empty" : units.joined(separator: ", ")))"),
            ]
        }
        fact["thunderbolt_domains"] = runtime("/sys/bus/thunderbolt/devices", absent: []) { () throws(HostError) -> JSON in
            var domains: [JSON] = []
            for name in try root.list("/sys/bus/thunderbolt/devices") where name.hasPrefix("domain") {
                let path = "/sys/bus/thunderbolt/devices/\(name)/security"
                let level = String(try root.readText(path, limit: 4096).trimmed)
                domains.append(["path": .string(path), "security": .string(level)])
            }
            return .array(domains)
        }
        fact["wireless_interfaces"] = runtime("/sys/class/net", absent: []) { () throws(HostError) -> JSON in
            let names = try root.list("/sys/class/net")
            return .array(
                names.filter { root.exists("/sys/class/net/\($0)/wireless") || root.exists("/sys/class/net/\($0)/phy80211") }
                    .map { .string("/sys/class/net/\($0)") })
        }
        fact["rfkill"] = runtime("/sys/class/rfkill", absent: []) { () throws(HostError) -> JSON in
            var radios: [JSON] = []
            for n in try root.list("/sys/class/rfkill") where !n.hasPrefix(".") {
                let type = (try? root.readText("/sys/class/rfkill/\(n)/type", limit: 256)).map { String($0.trimmed) } ?? "unknown"
                radios.append(.string("/sys/class/rfkill/\(n) (\(type))"))
            }
            return .array(radios)
        }
        // Whether each USB controller (root hub) authorises a device when it is plugged in: 0 is
        // a default deny, set by usbcore.authorized_default=0 or by USBGuard's AuthorizedDefault.
        let usb = "/sys/bus/usb/devices"
        switch context.sysfs(usb) {
        case .present:
            do {
                var controllers: [JSON] = []
                for name in try root.list(usb).sorted() where name.hasPrefix("usb") {
                    let file = "\(usb)/\(name)/authorized_default"
                    do {
                        let text = String(try root.readText(file, limit: 256).trimmed)
                        controllers.append([
                            "path": .string("\(usb)/\(name)"),
                            "authorized_default": ["value": SysctlProbe.typed(text), "source": .string(file)],
                        ])
                    } catch {
                        controllers.append(["path": .string("\(usb)/\(name)"), "error": .string(error.description)])
                    }
                }
                fact["usb_controllers"] = .array(controllers)
            } catch {
                fact["usb_controllers"] = ["error": .string(error.description), "source": .string(usb)]
            }
        case .absent: fact["usb_controllers"] = []
        case let other: fact["usb_controllers"] = other.stated(usb, now: true)
        }
        fact["usbguard"] = DevicesProbe.usbguard(root, units: context.units)
        return ["devices": .value(.object(fact))]
    }

    /// USBGuard: whether its unit is enabled, whether usbguard-daemon would start with its
    /// configuration and rules, the settings that decide what a new device gets, and each rule
    /// with what it allows.
    static func usbguard(_ root: HostRoot, units: SystemdUnits) -> JSON {
        let path = USBGuardConfig.path
        var o: JSONObject = ["source": .string(path)]
        o["enabled"] = units.enabledFact("usbguard.service")
        let keys = [
            "implicit_policy_target": "ImplicitPolicyTarget", "present_device_policy": "PresentDevicePolicy",
            "authorized_default": "AuthorizedDefault",
        ]
        let config: USBGuardConfig?
        do { config = try USBGuardConfig.read(root) } catch {
            for field in ["accepted"] + keys.keys { o[field] = ["error": .string(error.description), "source": .string(path)] }
            o["rule_files"] = []
            o["rules"] = []
            return .object(o)
        }
        guard let config else {
            let absent = "\(path) (absent: USBGuard is not installed)"
            o["accepted"] = ["value": false, "source": .string(absent)]
            for field in keys.keys { o[field] = ["value": .null, "source": .string(absent)] }
            o["rule_files"] = []
            o["rules"] = []
            return .object(o)
        }
        if let undecided = config.undecided {
            o["accepted"] = ["error": .string(undecided), "source": .string(path)]
        } else if let refusal = config.refusal {
            o["accepted"] = [
                "value": false, "source": .string("\(refusal.source) (usbguard-daemon 1.1.2 would not start: \(refusal.reason))"),
            ]
        } else {
            o["accepted"] = ["value": true, "source": .string(path)]
        }
        for (field, key) in keys {
            let s = config.effective(key)
            o[field] = ["value": s.map { .string($0.value) } ?? .null, "source": .string(s?.source ?? path)]
        }
        o["rule_files"] = .array(config.ruleFiles.map { .string($0) })
        o["rules"] = .array(
            config.rules.map { r in
                [
                    "source": .string(r.source), "rule": .string(r.text), "target": .string(r.rule.target),
                    "identified_by": .array(r.rule.identifiedBy.map { .string($0) }),
                    "allows_unidentified_hid": .bool(r.rule.allowsUnidentifiedHID),
                ]
            })
        return .object(o)
    }
}
