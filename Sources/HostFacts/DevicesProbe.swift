public import WardenCore
internal import WardenFormats

/// Hardware paths out of the host, from sysfs: IOMMU units (DMA protection), Thunderbolt domain
/// security levels, wireless network interfaces and rfkill switches (radios), and USBGuard's
/// daemon configuration. Offline roots have no sysfs: those parts are `not_checked`.
public struct DevicesProbe: Probe {
    public init() {}
    public let name = "devices"
    public let summary = "sysfs: IOMMU, Thunderbolt security, wireless interfaces, rfkill; USBGuard configuration and unit"
    public let reads = [
        "/sys/class/iommu/", "/sys/bus/thunderbolt/devices/domain*/security", "/sys/class/net/*/wireless", "/sys/class/rfkill/",
        "/etc/usbguard/usbguard-daemon.conf", "/etc/systemd/system/*.wants/usbguard.service",
    ]
    public var facts: [String: FactType] {
        [
            "devices": .object([
                "source": .string, "iommu_active": .sourced(.bool),
                "thunderbolt_domains": .list(.object(["path": .string, "security": .string])),
                "wireless_interfaces": .strings, "rfkill": .strings,
                "usbguard": .object(["source": .string, "implicit_policy_target": .sourced(.optional(.string)), "enabled": .sourced(.bool)]
                ),
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
        // USBGuard: the daemon's implicit policy and whether its unit is enabled.
        var usbguard: JSONObject = ["source": "/etc/usbguard/usbguard-daemon.conf"]
        if let text = try? root.readText("/etc/usbguard/usbguard-daemon.conf") {
            var target: JSON = ["value": "allow", "source": "default (usbguard)"]
            for (number, line) in configLines(text) where line.hasPrefix("ImplicitPolicyTarget=") {
                target = [
                    "value": .string(String(line.dropFirst("ImplicitPolicyTarget=".count).trimmed)),
                    "source": .string("/etc/usbguard/usbguard-daemon.conf:\(number)"),
                ]
            }
            usbguard["implicit_policy_target"] = target
        } else {
            usbguard["implicit_policy_target"] = [
                "value": .null, "source": "/etc/usbguard/usbguard-daemon.conf (absent: USBGuard not installed)",
            ]
        }
        let enabledLink = SystemdUnits(root: root).enabledLink("usbguard.service")
        usbguard["enabled"] = [
            "value": .bool(enabledLink != nil), "source": .string(enabledLink ?? "/etc/systemd/system/*.wants/usbguard.service (no link)"),
        ]
        fact["usbguard"] = .object(usbguard)
        return ["devices": .value(.object(fact))]
    }
}
