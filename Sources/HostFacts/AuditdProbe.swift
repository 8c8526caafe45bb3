public import WardenCore
package import WardenFormats

/// The audit daemon: whether its unit is enabled, `/etc/audit/auditd.conf` (`key = value`,
/// values case-insensitive), and the modes of /var/log/audit and its files.
public struct AuditdProbe: Probe {
    public init() {}
    public let name = "auditd"
    public let summary = "auditd: unit enablement, auditd.conf actions, /var/log/audit permissions, the sendmail the email actions run"
    public let reads = [
        SystemdUnits.enablingLinks("auditd.service"), "/usr/sbin/auditd", "/etc/audit/auditd.conf", "/var/log/audit/*", "/etc/group",
        "/usr/lib/sendmail",
    ]
    public var facts: [String: FactType] {
        [
            "auditd": .object([
                "installed": .bool, "source": .string, "enabled": .sourced(.bool),
                "conf": .object(
                    Dictionary(uniqueKeysWithValues: AuditdProbe.confKeys.map { ($0, FactType.sourced(.string)) }),
                    others: .sourced(.string)),
                "problems": .strings,
                "logs": .list(.object(["path": .string, "kind": .string, "mode": .mode, "owner_ok": .bool])),
                "sendmail": .sourced(.bool),
            ])
        ]
    }

    static let confKeys = [
        "disk_full_action", "disk_error_action", "space_left_action", "admin_space_left_action", "max_log_file_action", "log_file",
        "log_group",
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = [
            "installed": .bool(root.exists("/usr/sbin/auditd") || root.exists("/sbin/auditd")),
            "source": "/etc/audit/auditd.conf",
        ]
        fact["enabled"] = context.units.enabledFact("auditd.service")

        var conf: JSONObject = [:]
        var problems: [String] = []
        do {
            conf = AuditdProbe.parseConf(try root.readText("/etc/audit/auditd.conf"), problems: &problems)
            // auditd's compiled-in defaults for keys the file does not set.
            let defaults = [
                "disk_full_action": "suspend", "disk_error_action": "syslog", "space_left_action": "ignore",
                "admin_space_left_action": "suspend", "max_log_file_action": "rotate", "log_file": "/var/log/audit/audit.log",
                "log_group": "root",
            ]
            for (k, v) in defaults where conf[k] == nil { conf[k] = ["value": .string(v), "source": "default (auditd)"] }
            fact["conf"] = .object(conf)
        } catch {
            fact["conf"] = ["error": .string(error.description)]
        }
        fact["problems"] = .array(problems.map { .string($0) })

        // The log directory and files.
        let logFile = conf["log_file"]?["value"]?.stringValue ?? "/var/log/audit/audit.log"
        let logDir = String(logFile[..<(logFile.lastIndex(of: "/") ?? logFile.startIndex)])
        let admGID = groupID("adm", root: root)
        var logs: [JSON] = []
        do {
            let info = try root.info(logDir)
            logs.append([
                "path": .string(logDir), "kind": "directory", "mode": .string(formatMode(info.mode)),
                "owner_ok": .bool(info.uid == 0 && (info.gid == 0 || info.gid == admGID)),
            ])
            for name in try root.list(logDir, limit: 10_000) {
                let path = joinPath(logDir, name)
                guard let f = try? root.info(path, followFinal: false), f.kind == .regular else { continue }
                logs.append([
                    "path": .string(path), "kind": "file", "mode": .string(formatMode(f.mode)),
                    "owner_ok": .bool(f.uid == 0 && (f.gid == 0 || f.gid == admGID)),
                ])
            }
        } catch {
            logs.append(["path": .string(logDir), "error": .string(error.description)])
        }
        fact["logs"] = .array(logs)

        // The `email` actions run /usr/lib/sendmail (compiled in; auditd only warns when it is
        // not executable, then mails nothing when space runs low).
        let sendmail = "/usr/lib/sendmail"
        if let info = try? root.info(sendmail), info.kind == .regular, info.mode & 0o111 != 0 {
            fact["sendmail"] = ["value": true, "source": .string(sendmail)]
        } else {
            fact["sendmail"] = ["value": false, "source": .string("\(sendmail) (missing or not executable: no mail transport)")]
        }
        return ["auditd": .value(.object(fact))]
    }

    /// The `key = value` lines of auditd.conf, keys lower-cased, each with its file:line.
    package static func parseConf(_ text: String, problems: inout [String]) -> JSONObject {
        var conf: JSONObject = [:]
        for (number, line) in configLines(text) {
            guard let eq = line.firstIndex(of: "=") else {
                problems.append("/etc/audit/auditd.conf:\(number): not a `key = value` line")
                continue
            }
            let key = line[..<eq].trimmed.lowercased()
            let value = line[line.index(after: eq)...].trimmed
            // Values are case-insensitive for auditd, except paths and names.
            let normalized = ["log_file", "log_group"].contains(key) ? String(value) : value.lowercased()
            conf[key] = ["value": .string(normalized), "source": .string("/etc/audit/auditd.conf:\(number)")]
        }
        return conf
    }

    func groupID(_ name: String, root: HostRoot) -> UInt32? {
        guard let text = try? root.readText("/etc/group") else { return nil }
        for (_, line) in configLines(text) {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name { return UInt32(f[2]) }
        }
        return nil
    }
}
