public import WardenCore
internal import WardenFormats

/// Whether a crash kernel stands ready to dump RAM, and where a dump would go: the runtime flag
/// `/sys/kernel/kexec_crash_loaded`, and kdump's target directory (Debian's
/// /etc/default/kdump-tools `KDUMP_COREDIR`, default /var/crash; /etc/kdump.conf `path`),
/// resolved to its storage. `crashkernel=` itself is read from the command line fact.
public struct CrashDumpProbe: Probe {
    public init() {}
    public let name = "crash-dump"
    public let summary = "crash kernel loaded, kdump configuration and whether its target is encrypted"
    public let reads = ["/sys/kernel/kexec_crash_loaded", "/etc/default/kdump-tools", "/etc/kdump.conf"]
    public var facts: [String: FactType] {
        [
            "crash_dump": .object(["source": .string, "crash_kernel_loaded": .sourced(.bool), "dump_target_encrypted": .sourced(.bool)])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = ["source": "/sys/kernel/kexec_crash_loaded"]
        let flag = "/sys/kernel/kexec_crash_loaded"
        switch context.sysfs(flag) {
        case .present:
            do {
                let v = String(try root.readText(flag, limit: 64).trimmed)
                fact["crash_kernel_loaded"] =
                    v == "0" || v == "1"
                    ? ["value": .bool(v == "1"), "source": .string(flag)]
                    : ["error": .string("\(flag): unexpected content '\(v)'"), "source": .string(flag)]
            } catch {
                fact["crash_kernel_loaded"] = ["error": .string(error.description), "source": .string(flag)]
            }
        case .absent:
            // Kernels without kexec have no such file: nothing can be loaded.
            fact["crash_kernel_loaded"] = ["value": false, "source": .string("\(flag) (absent: no kexec support)")]
        case let other:
            fact["crash_kernel_loaded"] = other.stated(flag, now: true)
        }
        // Where kdump would write a dump.
        var target: (path: String, source: String)?
        if let text = try? root.readText("/etc/default/kdump-tools") {
            var enabled = false
            var dir = "/var/crash"
            var source = "/etc/default/kdump-tools"
            for (number, line) in configLines(text) {
                if line.hasPrefix("USE_KDUMP=") { enabled = line.dropFirst("USE_KDUMP=".count).trimmed == "1" }
                if line.hasPrefix("KDUMP_COREDIR=") {
                    dir = String(line.dropFirst("KDUMP_COREDIR=".count).trimmed.filter { $0 != "\"" && $0 != "'" })
                    source = "/etc/default/kdump-tools:\(number)"
                }
            }
            if enabled { target = (dir, source) }
        } else if let text = try? root.readText("/etc/kdump.conf") {
            target = ("/var/crash", "/etc/kdump.conf (default path)")
            for (number, line) in configLines(text) where line.words.first == "path" && line.words.count >= 2 {
                target = (String(line.words[1]), "/etc/kdump.conf:\(number)")
            }
        }
        if let target {
            switch context.storage.flatMap({ $0.resolve(target.path) }) {
            case .success(let r):
                fact["dump_target_encrypted"] = [
                    "value": .bool(r.encrypted), "source": .string("\(target.source) (\(target.path): \(r.encryption))"),
                ]
            case .failure(let f):
                fact["dump_target_encrypted"] = ["error": .string("\(target.path): \(f)"), "source": .string(target.source)]
            }
        } else {
            fact["dump_target_encrypted"] = ["value": false, "source": "no kdump configuration (kdump-tools or kdump.conf)"]
        }
        return ["crash_dump": .value(.object(fact))]
    }
}
