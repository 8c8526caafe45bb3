public import WardenCore
internal import WardenFormats

/// Where logs leave the host, and whether the channel is encrypted: audisp-remote over Kerberos 5
/// (`AudispRemoteConf`), rsyslog forwarding over TLS (`rsyslogChannels`), and
/// systemd-journal-upload with an https URL. Each counts only when the unit whose process sends
/// it is enabled (auditd, which starts audisp-remote; rsyslog; systemd-journal-upload). A channel
/// configured but sending nothing (audisp-remote without a server or refusing its
/// configuration, a daemon not enabled) is listed as not encrypted, saying why.
public struct LogForwardingProbe: Probe {
    public init() {}
    public let name = "log-forwarding"
    public let summary = "audisp-remote, rsyslog TLS forwarding, systemd-journal-upload"
    public let reads = [
        "/etc/audit/plugins.d/au-remote.conf", "/etc/audit/audisp-remote.conf",
        "/etc/rsyslog.conf and what it includes (/etc/rsyslog.d/*.conf)",
        "/etc/systemd/journal-upload.conf (+ drop-ins)",
        SystemdUnits.enablingLinks("{auditd,rsyslog,systemd-journal-upload}.service"),
    ]
    public var facts: [String: FactType] {
        [
            "log_forwarding": .object([
                "source": .string,
                "channels": .list(
                    .object([
                        "kind": .string, "source": .string, "destination": .string, "encrypted": .bool, "transport": .string,
                        "enabled_by": .string,
                    ])),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var channels: [JSON] = []

        // audisp-remote: the plugin is active, auditd (which starts its plugins) is enabled, and
        // audisp-remote accepts its configuration and sends over Kerberos 5.
        let pluginConf = "/etc/audit/plugins.d/au-remote.conf"
        if let plugin = try? root.readText(pluginConf), let active = keyValues(plugin, file: pluginConf)["active"],
            active.value.lowercased() == "yes"
        {
            let conf = AudispRemoteConf.read(root)
            let channel: JSONObject = [
                "kind": "audisp-remote", "source": .string(conf.source), "destination": .string(conf.server?.value ?? "(no remote_server)"),
                "encrypted": .bool(conf.encrypted), "transport": .string(conf.transport),
                "enabled_by": .string("\(active.source) (active = \(active.value))"),
            ]
            channels.append(LogForwardingProbe.sent(by: "auditd.service", channel, context.units, sending: "forwarded"))
        }

        // rsyslog: every forwarding action, and whether TLS is required for it, sent only when
        // rsyslogd runs.
        for channel in LogForwardingProbe.rsyslogChannels(root) {
            channels.append(LogForwardingProbe.sent(by: "rsyslog.service", channel, context.units, sending: "forwarded"))
        }

        // systemd-journal-upload with an https URL, enabled.
        let upload = SystemdConf.read(root: root, name: "journal-upload.conf", section: "Upload", valid: [:])
        if let url = upload.settings["URL"] {
            let channel: JSONObject = [
                "kind": "systemd-journal-upload", "source": .string(url.source), "destination": .string(url.value),
                "encrypted": .bool(url.value.lowercased().hasPrefix("https://")),
            ]
            channels.append(LogForwardingProbe.sent(by: "systemd-journal-upload.service", channel, context.units, sending: "uploaded"))
        }
        return ["log_forwarding": .value(["source": "/etc/rsyslog.conf", "channels": .array(channels)])]
    }

    /// `channel` as the daemon that sends it leaves it: counted only when `unit` is enabled
    /// (`enabled_by` names its link, after whatever else the channel needs); without a link
    /// nothing is sent, so the channel is not encrypted and its source says why. With the links
    /// unread, an encrypted channel is the unknown (it may be the one LOG-006 asks for); a clear
    /// one stays listed as not encrypted, its source saying that whether it is sent is not known
    /// (it fails LOG-006 either way, and the reader sees it rather than "none configured").
    static func sent(by unit: String, _ channel: JSONObject, _ units: SystemdUnits, sending verb: String) -> JSON {
        var channel = channel
        let source = channel["source"]?.stringValue ?? ""
        if let link = units.enabledLink(unit) {
            channel["enabled_by"] = .string(channel["enabled_by"]?.stringValue.map { "\($0); \(link)" } ?? link)
            return .object(channel)
        }
        if let unknown = units.unknown {
            guard channel["encrypted"] == true else {
                channel["source"] = .string("\(source) (sent only if \(unit) is enabled; \(unknown))")
                return .object(channel)
            }
            return ["error": .string(unknown), "kind": channel["kind"] ?? "", "source": .string(source)]
        }
        channel["encrypted"] = false
        channel["source"] = .string(
            "\(source) (\(unit) is not enabled: no link in \(SystemdUnits.enablingLinks(unit)), so nothing is \(verb))")
        return .object(channel)
    }

    /// rsyslog's forwarding actions as rsyslogd reads its configuration (rsyslog 8.2302, Debian
    /// 12): /etc/rsyslog.conf with its `$IncludeConfig` / `include(file=…)` files (Debian's
    /// /etc/rsyslog.d/*.conf), RainerScript statements spanning lines (`action(…)` up to its
    /// closing parenthesis, `#` comments outside strings), parameter names in any case with or
    /// without spaces around `=`. An `omfwd` action is encrypted when it uses TCP with a TLS
    /// stream driver (`gtls` from rsyslog-gnutls or `ossl` from rsyslog-openssl; its own
    /// `StreamDriver`, else the global `DefaultNetstreamDriver`) in mode 1; a legacy `@@host`
    /// action when the legacy `$DefaultNetstreamDriver` and `$ActionSendStreamDriverMode 1` say so.
    static func rsyslogChannels(_ root: HostRoot) -> [JSONObject] {
        var files = root.exists("/etc/rsyslog.conf") ? ["/etc/rsyslog.conf"] : []
        var statements: [(source: String, text: String)] = []
        var seen: Set<String> = []
        var index = 0
        while index < files.count {
            let file = files[index]
            index += 1
            guard seen.insert(file).inserted, let text = try? root.readText(file) else { continue }
            for statement in rainerScriptStatements(text, file: file) {
                let lower = statement.text.lowercased()
                var included: [String] = []
                if lower.hasPrefix("$includeconfig ") {
                    included = [String(String(statement.text.dropFirst("$IncludeConfig ".count)).trimmed)]
                } else if lower.hasPrefix("include("), let pattern = parameters(statement.text)["file"] {
                    included = [pattern]
                }
                if !included.isEmpty {
                    for pattern in included { files += ((try? root.glob(pattern)) ?? []).sorted() }
                    continue
                }
                statements.append(statement)
            }
        }
        let tlsDrivers: Set<String> = ["gtls", "ossl"]
        var globalDriver = "ptcp"
        var legacyMode = false
        for st in statements {
            let lower = st.text.lowercased()
            if lower.hasPrefix("$defaultnetstreamdriver ") {
                globalDriver = String(String(lower.dropFirst("$defaultnetstreamdriver ".count)).trimmed)
            }
            if lower.hasPrefix("$actionsendstreamdrivermode ") { legacyMode = lower.hasSuffix(" 1") }
            if lower.hasPrefix("global("), let d = parameters(st.text)["defaultnetstreamdriver"] { globalDriver = d.lowercased() }
        }
        var channels: [JSONObject] = []
        for st in statements {
            let lower = st.text.lowercased()
            // `action(…)` alone or after a filter (`*.* action(…)`, `if … then action(…)`).
            if let open = actionStart(lower) {
                let p = parameters(String(st.text.dropFirst(open)))
                guard p["type"]?.lowercased() == "omfwd" else { continue }
                let driver = (p["streamdriver"] ?? p["streamdriver.name"] ?? globalDriver).lowercased()
                let tcp = p["protocol"]?.lowercased() == "tcp"
                let mode = p["streamdrivermode"] ?? p["streamdriver.mode"]
                let tls = tcp && tlsDrivers.contains(driver) && mode == "1"
                channels.append([
                    "kind": "rsyslog omfwd", "source": .string(st.source), "destination": .string(p["target"] ?? "(no target)"),
                    "encrypted": .bool(tls),
                    "transport": .string("\(tcp ? "tcp" : "udp"), stream driver \(driver), mode \(mode ?? "0")"),
                ])
            } else if !st.text.hasPrefix("$"), let at = st.text.words.last, at.hasPrefix("@") {
                // `*.* @@host:6514` is TCP (TLS only with the legacy driver settings); `@host` is UDP.
                channels.append([
                    "kind": "rsyslog", "source": .string(st.source), "destination": .string(String(at)),
                    "encrypted": .bool(at.hasPrefix("@@") && tlsDrivers.contains(globalDriver) && legacyMode),
                ])
            }
        }
        return channels
    }

    /// Where `action(` starts in a (lower-cased) statement, outside strings; nil when it has none.
    static func actionStart(_ lower: String) -> Int? {
        let chars = Array(lower)
        let word = Array("action(")
        var quote: Character?
        var i = 0
        while i + word.count <= chars.count {
            let c = chars[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if Array(chars[i..<(i + word.count)]) == word, i == 0 || !chars[i - 1].isLetter {
                return i
            }
            i += 1
        }
        return nil
    }

    /// The statements of an rsyslog configuration with where each starts: a line, or a
    /// RainerScript statement from its name to the parenthesis that closes it.
    static func rainerScriptStatements(_ text: String, file: String) -> [(source: String, text: String)] {
        var out: [(String, String)] = []
        var current = ""
        var start = 0
        var depth = 0
        var quote: Character?
        for (number, raw) in lines(text).enumerated() {
            var line = ""
            var escaped = false
            for c in raw {
                if let q = quote {
                    line.append(c)
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == q { quote = nil }
                    continue
                }
                if c == "#" { break }
                if c == "\"" || c == "'" { quote = c }
                if c == "(" { depth += 1 }
                if c == ")" { depth = max(0, depth - 1) }
                line.append(c)
            }
            let trimmed = line.trimmed
            if current.isEmpty {
                guard !trimmed.isEmpty else { continue }
                start = number + 1
                current = String(trimmed)
            } else {
                current += " " + trimmed
            }
            if depth == 0 && quote == nil {
                out.append(("\(file):\(start)", current))
                current = ""
            }
        }
        if !current.isEmpty { out.append(("\(file):\(start)", current)) }
        return out
    }

    /// `name="value"` parameters of a RainerScript statement, names lower-cased.
    static func parameters(_ statement: String) -> [String: String] {
        var out: [String: String] = [:]
        let chars = Array(statement)
        var i = chars.firstIndex(of: "(").map { $0 + 1 } ?? 0
        while i < chars.count {
            while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "," { i += 1 }
            var name = ""
            while i < chars.count, chars[i] != "=", chars[i] != " ", chars[i] != ")" {
                name.append(chars[i])
                i += 1
            }
            while i < chars.count, chars[i] == " " { i += 1 }
            guard i < chars.count, chars[i] == "=" else {
                i += 1
                continue
            }
            i += 1
            while i < chars.count, chars[i] == " " { i += 1 }
            var value = ""
            if i < chars.count, chars[i] == "\"" || chars[i] == "'" {
                let q = chars[i]
                i += 1
                while i < chars.count, chars[i] != q {
                    if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                    value.append(chars[i])
                    i += 1
                }
                i += 1
            } else {
                while i < chars.count, chars[i] != " ", chars[i] != ")" {
                    value.append(chars[i])
                    i += 1
                }
            }
            if !name.isEmpty { out[name.lowercased()] = value }
        }
        return out
    }

    /// `key = value` lines (audit's plugin and remote configuration), each value with its
    /// `file:line`; a key set again takes the later line's value, as audit's parsers do.
    func keyValues(_ text: String, file: String) -> [String: (value: String, source: String)] {
        var out: [String: (value: String, source: String)] = [:]
        for (number, line) in configLines(text) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[line[..<eq].trimmed.lowercased()] = (String(line[line.index(after: eq)...].trimmed), "\(file):\(number)")
        }
        return out
    }
}

/// /etc/audit/audisp-remote.conf as audisp-remote reads it (audit 3.0.9, Debian 12's
/// audispd-plugins, built with `--enable-gssapi-krb5`; `load_config` in
/// audisp/plugins/remote/remote-config.c, docs/DAEMON-SEMANTICS.md "Log forwarding"): lines of
/// space-separated `name = value [option]`, names and values in any case. Records are encrypted
/// only over Kerberos 5 (`transport = krb5`, or the deprecated `enable_krb5 = yes`, whichever
/// comes later) in the managed format: `format = ascii` writes them as they are. A line
/// audisp-remote rejects makes it exit at start, so it sends nothing.
struct AudispRemoteConf {
    static let file = "/etc/audit/audisp-remote.conf"
    var server: (value: String, source: String)?
    var krb5 = false
    /// How the transport is set, for the reader: the `transport` line and any `enable_krb5` or
    /// `format = ascii` that changes what it means.
    var transport = "tcp (\(AudispRemoteConf.file) sets no transport)"
    var ascii = false
    /// The line audisp-remote rejects, and why; nil when it accepts the file.
    var refused: (source: String, reason: String)?

    var encrypted: Bool { refused == nil && server != nil && krb5 && !ascii }

    /// Where the channel is set: the line refused (saying that nothing is sent), else the server.
    var source: String {
        if let refused {
            return "\(refused.source) (\(refused.reason): audisp-remote refuses its configuration and exits, so nothing is forwarded)"
        }
        return server?.source ?? "\(AudispRemoteConf.file) (no remote_server)"
    }

    /// The keywords of `keywords[]`, with whether each takes an option after its value.
    static let keywords: [String: Bool] = [
        "remote_server": false, "port": false, "local_port": false, "transport": false, "mode": false, "queue_file": false,
        "queue_depth": false, "format": false, "network_retry_time": false, "max_tries_per_record": false,
        "max_time_per_record": false, "heartbeat_timeout": false, "enable_krb5": false, "krb5_principal": false,
        "krb5_client_name": false, "krb5_key_file": false, "network_failure_action": true, "disk_low_action": true,
        "disk_full_action": true, "disk_error_action": true, "remote_ending_action": true, "generic_error_action": true,
        "generic_warning_action": true, "queue_error_action": true, "overflow_action": true, "startup_failure_action": true,
    ]

    /// A missing file leaves the defaults (TCP, no server), as `load_config` does on ENOENT.
    static func read(_ root: HostRoot) -> AudispRemoteConf {
        do { return parse(try root.readText(file)) } catch {
            var conf = AudispRemoteConf()
            if !error.isNotFound { conf.refused = (file, "cannot read it: \(error.description)") }
            return conf
        }
    }

    static func parse(_ text: String) -> AudispRemoteConf {
        var conf = AudispRemoteConf()
        var transportLine: String?
        var notes: [String] = []
        var asciiLine: String?
        for (index, line) in lines(text).enumerated() {
            let source = "\(file):\(index + 1)"
            // `nv_split`: strtok on spaces only, a first word starting with # is a comment.
            let words = line.split(separator: " ")
            guard let name = words.first, !name.hasPrefix("#") else { continue }
            guard words.count >= 3, words[1] == "=" else {
                conf.refused = (source, "not `name = value` with spaces around =")
                return conf
            }
            guard let takesOption = keywords[name.lowercased()] else {
                conf.refused = (source, "unknown keyword \(name)")
                return conf
            }
            if words.count > 3 && !takesOption {
                conf.refused = (source, "\(name) takes no option after its value")
                return conf
            }
            let value = String(words[2])
            switch name.lowercased() {
            case "remote_server": conf.server = (value, source)
            case "transport":
                // `transport_words`: only tcp and krb5; tls is no transport of this version.
                guard ["tcp", "krb5"].contains(value.lowercased()) else {
                    conf.refused = (source, "transport \(value) is not tcp or krb5")
                    return conf
                }
                conf.krb5 = value.lowercased() == "krb5"
                transportLine = "\(value) (\(source))"
            case "enable_krb5":
                // `enable_krb5_parser`: yes sets krb5, no leaves the transport as it is.
                guard ["yes", "no"].contains(value.lowercased()) else {
                    conf.refused = (source, "enable_krb5 \(value) is not yes or no")
                    return conf
                }
                if value.lowercased() == "yes" { conf.krb5 = true }
                notes.append("enable_krb5 \(value) (\(source))")
            case "format":
                guard ["managed", "ascii"].contains(value.lowercased()) else {
                    conf.refused = (source, "format \(value) is not managed or ascii")
                    return conf
                }
                asciiLine = value.lowercased() == "ascii" ? "format \(value) (\(source))" : nil
            default: break
            }
        }
        conf.ascii = asciiLine != nil
        if let asciiLine { notes.append("\(asciiLine): records are sent as they are, whatever the transport") }
        conf.transport = ([transportLine ?? conf.transport] + notes).joined(separator: "; ")
        return conf
    }
}
