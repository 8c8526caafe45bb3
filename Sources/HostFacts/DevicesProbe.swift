public import WardenCore

/// Hardware paths out of the host, from sysfs: IOMMU units (DMA protection), Thunderbolt domain
/// security levels, wireless network interfaces and rfkill switches (radios), and USBGuard's
/// daemon configuration. Offline roots have no sysfs: those parts are `not_checked`.
public struct DevicesProbe: Probe {
    public init() {}
    public let name = "devices"
    public let summary = "sysfs: IOMMU, Thunderbolt security, wireless interfaces, rfkill; USBGuard configuration and unit"
    public let reads = ["/sys/class/iommu/", "/sys/bus/thunderbolt/devices/domain*/security", "/sys/class/net/*/wireless", "/sys/class/rfkill/",
                        "/etc/usbguard/usbguard-daemon.conf", "/etc/systemd/system/*.wants/usbguard.service"]
    public let produces = ["devices"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = ["source": "/sys"]
        let sys = root.isDirectory("/sys/class")
        func runtime(_ path: String, _ body: () throws(HostError) -> JSON) -> JSON {
            guard sys else { return ["not_checked": "offline root: no /sys", "source": .string(path)] }
            do { return try body() } catch {
                return ["error": .string(error.description), "source": .string(path)]
            }
        }
        fact["iommu_active"] = runtime("/sys/class/iommu") { () throws(HostError) -> JSON in
            let units = root.isDirectory("/sys/class/iommu") ? try root.list("/sys/class/iommu") : []
            return ["value": .bool(!units.isEmpty), "source": .string("/sys/class/iommu (\(units.isEmpty ? "empty" : units.joined(separator: ", ")))")]
        }
        fact["thunderbolt_domains"] = runtime("/sys/bus/thunderbolt/devices") { () throws(HostError) -> JSON in
            guard root.isDirectory("/sys/bus/thunderbolt/devices") else { return [] }
            var domains: [JSON] = []
            for name in try root.list("/sys/bus/thunderbolt/devices") where name.hasPrefix("domain") {
                let path = "/sys/bus/thunderbolt/devices/\(name)/security"
                let level = String(try root.readText(path, limit: 4096).trimmed)
                domains.append(["path": .string(path), "security": .string(level)])
            }
            return .array(domains)
        }
        fact["wireless_interfaces"] = runtime("/sys/class/net") { () throws(HostError) -> JSON in
            let names = root.isDirectory("/sys/class/net") ? try root.list("/sys/class/net") : []
            return .array(names.filter { root.exists("/sys/class/net/\($0)/wireless") || root.exists("/sys/class/net/\($0)/phy80211") }
                .map { .string("/sys/class/net/\($0)") })
        }
        fact["rfkill"] = runtime("/sys/class/rfkill") { () throws(HostError) -> JSON in
            let names = root.isDirectory("/sys/class/rfkill") ? try root.list("/sys/class/rfkill") : []
            var radios: [JSON] = []
            for n in names {
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
                target = ["value": .string(String(line.dropFirst("ImplicitPolicyTarget=".count).trimmed)),
                          "source": .string("/etc/usbguard/usbguard-daemon.conf:\(number)")]
            }
            usbguard["implicit_policy_target"] = target
        } else {
            usbguard["implicit_policy_target"] = ["value": .null, "source": "/etc/usbguard/usbguard-daemon.conf (absent: USBGuard not installed)"]
        }
        let enabledLink = SystemdUnits(root: root).enabledLink("usbguard.service")
        usbguard["enabled"] = ["value": .bool(enabledLink != nil), "source": .string(enabledLink ?? "/etc/systemd/system/*.wants/usbguard.service (no link)")]
        fact["usbguard"] = .object(usbguard)
        return ["devices": .value(.object(fact))]
    }
}
