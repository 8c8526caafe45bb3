public import WardenCore

/// Where logs leave the host, and whether the channel is encrypted: audisp-remote (krb5 or TLS),
/// rsyslog forwarding over TLS (`omfwd` with `StreamDriver="gtls"` and `StreamDriverMode="1"`,
/// or the legacy `$DefaultNetstreamDriver gtls` / `$ActionSendStreamDriverMode 1` with `@@host`),
/// and systemd-journal-upload with an https URL and its unit enabled.
public struct LogForwardingProbe: Probe {
    public init() {}
    public let name = "log-forwarding"
    public let summary = "audisp-remote, rsyslog TLS forwarding, systemd-journal-upload"
    public let reads = ["/etc/audit/plugins.d/au-remote.conf", "/etc/audit/audisp-remote.conf", "/etc/rsyslog.conf", "/etc/rsyslog.d/*.conf",
                        "/etc/systemd/journal-upload.conf (+ drop-ins)", "/etc/systemd/system/*.wants/systemd-journal-upload.service"]
    public let produces = ["log_forwarding"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var channels: [JSON] = []

        // audisp-remote: the plugin is active and the transport is krb5 or TLS.
        if let plugin = try? root.readText("/etc/audit/plugins.d/au-remote.conf"),
           keyValues(plugin)["active"]?.lowercased() == "yes" {
            let conf = (try? root.readText("/etc/audit/audisp-remote.conf")).map(keyValues) ?? [:]
            let transport = conf["transport"]?.lowercased() ?? "tcp"
            let encrypted = transport == "krb5" || transport == "tls" || conf["enable_krb5"]?.lowercased() == "yes"
            channels.append(["kind": "audisp-remote", "source": "/etc/audit/audisp-remote.conf",
                             "destination": .string(conf["remote_server"] ?? "(no remote_server)"), "encrypted": .bool(encrypted && conf["remote_server"] != nil)])
        }

        // rsyslog: every forwarding line, and whether TLS is required for it.
        var rsyslogFiles = root.exists("/etc/rsyslog.conf") ? ["/etc/rsyslog.conf"] : []
        rsyslogFiles += (try? root.glob("/etc/rsyslog.d/*.conf")) ?? []
        var legacyTLS = false, legacyMode = false
        for file in rsyslogFiles {
            guard let text = try? root.readText(file) else { continue }
            for (number, line) in configLines(text) {
                let lower = line.lowercased()
                if lower.hasPrefix("$defaultnetstreamdriver ") && lower.hasSuffix("gtls") { legacyTLS = true }
                if lower.hasPrefix("$actionsendstreamdrivermode ") && lower.hasSuffix("1") { legacyMode = true }
                let here = "\(file):\(number)"
                if lower.contains("type=\"omfwd\"") {
                    let tls = lower.contains("streamdriver=\"gtls\"") && lower.contains("streamdrivermode=\"1\"")
                    channels.append(["kind": "rsyslog omfwd", "source": .string(here), "destination": .string(String(line)), "encrypted": .bool(tls)])
                } else if let at = line.words.last, at.hasPrefix("@"), !line.hasPrefix("$") {
                    // `*.* @@host:6514` is TCP (TLS only with the legacy driver settings); `@host` is UDP.
                    channels.append(["kind": "rsyslog", "source": .string(here), "destination": .string(String(at)),
                                     "encrypted": .bool(at.hasPrefix("@@") && legacyTLS && legacyMode)])
                }
            }
        }

        // systemd-journal-upload with an https URL, enabled.
        let upload = SystemdConf.read(root: root, name: "journal-upload.conf", section: "Upload", valid: [:])
        if let url = upload.settings["URL"], let link = SystemdUnits(root: root).enabledLink("systemd-journal-upload.service") {
            channels.append(["kind": "systemd-journal-upload", "source": .string(url.source), "destination": .string(url.value),
                             "encrypted": .bool(url.value.lowercased().hasPrefix("https://")), "enabled_by": .string(link)])
        }
        return ["log_forwarding": .value(["source": "/etc/rsyslog.conf", "channels": .array(channels)])]
    }

    /// `key = value` lines (audit's plugin and remote configuration).
    func keyValues(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for (_, line) in configLines(text) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[line[..<eq].trimmed.lowercased()] = String(line[line.index(after: eq)...].trimmed)
        }
        return out
    }
}
