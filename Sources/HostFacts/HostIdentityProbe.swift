public import WardenCore
internal import WardenFormats

/// Who the host is: hostname, machine-id, boot id, OS release and kernel.
public struct HostIdentityProbe: Probe {
    public init() {}
    public let name = "host"
    public let summary = "host identity: hostname, machine-id, boot id, os-release, kernel release"
    public let reads = [
        "/etc/hostname", "/proc/sys/kernel/hostname", "/etc/machine-id", "/proc/sys/kernel/random/boot_id",
        "/etc/os-release", "/usr/lib/os-release", "/proc/sys/kernel/osrelease",
    ]
    public var facts: [String: FactType] {
        [
            "host": .object([
                "hostname": .optional(.string), "machine_id": .optional(.string), "boot_id": .optional(.string),
                "kernel": .optional(.string), "source": .string,
                "os": .object(["id": .string, "version_id": .string, "pretty_name": .string]),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        func line(_ path: String) -> String? {
            guard let text = try? root.readText(path, limit: 4096) else { return nil }
            let first = text.split(separator: "\n", omittingEmptySubsequences: true).first.map { String($0.trimmed) }
            return first?.isEmpty == false ? first : nil
        }
        var host: JSONObject = [:]
        let hostname = (context.mode == .live ? line("/proc/sys/kernel/hostname") : nil) ?? line("/etc/hostname")
        host["hostname"] = hostname.map { .string($0) } ?? .null
        host["machine_id"] = line("/etc/machine-id").map { .string($0) } ?? .null
        host["boot_id"] = line("/proc/sys/kernel/random/boot_id").map { .string($0) } ?? .null
        host["kernel"] = line("/proc/sys/kernel/osrelease").map { .string($0) } ?? .null
        let osRelease = (try? root.readText("/etc/os-release", limit: 65536)) ?? (try? root.readText("/usr/lib/os-release", limit: 65536))
        var os: JSONObject = [:]
        for raw in (osRelease ?? "").split(separator: "\n") {
            guard let eq = raw.firstIndex(of: "=") else { continue }
            let key = raw[..<eq]
            var value = raw[raw.index(after: eq)...]
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = value.dropFirst().dropLast() }
            switch key {
            case "ID": os["id"] = .string(String(value))
            case "VERSION_ID": os["version_id"] = .string(String(value))
            case "PRETTY_NAME": os["pretty_name"] = .string(String(value))
            default: break
            }
        }
        host["os"] = .object(os)
        host["source"] = "/etc/machine-id"
        return ["host": .value(.object(host))]
    }
}
