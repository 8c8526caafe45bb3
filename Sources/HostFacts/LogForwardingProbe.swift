public import WardenCore
internal import WardenFormats

/// Where logs leave the host, and whether the channel is encrypted: audisp-remote (krb5 or TLS),
/// rsyslog forwarding over TLS (`rsyslogChannels`), and systemd-journal-upload with an https URL
/// and its unit enabled. A channel configured but sending nothing (audisp-remote without a
/// server, journal-upload whose unit is not enabled) is listed as not encrypted, saying why.
public struct LogForwardingProbe: Probe {
    public init() {}
    public let name = "log-forwarding"
    public let summary = "audisp-remote, rsyslog TLS forwarding, systemd-journal-upload"
    public let reads = [
        "/etc/audit/plugins.d/au-remote.conf", "/etc/audit/audisp-remote.conf",
        "/etc/rsyslog.conf and what it includes (/etc/rsyslog.d/*.conf)",
        "/etc/systemd/journal-upload.conf (+ drop-ins)", SystemdUnits.enablingLinks("systemd-journal-upload.service"),
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

        // audisp-remote: the plugin is active and the transport is krb5 or TLS.
        let pluginConf = "/etc/audit/plugins.d/au-remote.conf"
        let remoteConf = "/etc/audit/audisp-remote.conf"
        if let plugin = try? root.readText(pluginConf), let active = keyValues(plugin, file: pluginConf)["active"],
            active.value.lowercased() == "yes"
        {
            let conf = (try? root.readText(remoteConf)).map { keyValues($0, file: remoteConf) } ?? [:]
            let server = conf["remote_server"]
            var transport = conf["transport"].map { "\($0.value) (\($0.source))" } ?? "tcp (\(remoteConf) sets no transport)"
            var encrypted = ["krb5", "tls"].contains(conf["transport"]?.value.lowercased() ?? "tcp")
            if let krb5 = conf["enable_krb5"] {
                transport += "; enable_krb5 \(krb5.value) (\(krb5.source))"
                encrypted = encrypted || krb5.value.lowercased() == "yes"
            }
            channels.append([
                "kind": "audisp-remote", "source": .string(server?.source ?? "\(remoteConf) (no remote_server)"),
                "destination": .string(server?.value ?? "(no remote_server)"), "encrypted": .bool(encrypted && server != nil),
                "transport": .string(transport), "enabled_by": .string("\(active.source) (active = \(active.value))"),
            ])
        }

        // rsyslog: every forwarding action, and whether TLS is required for it.
        channels += LogForwardingProbe.rsyslogChannels(root)

        // systemd-journal-upload with an https URL, enabled.
        let upload = SystemdConf.read(root: root, name: "journal-upload.conf", section: "Upload", valid: [:])
        let uploadUnit = "systemd-journal-upload.service"
        if let url = upload.settings["URL"] {
            let encrypted = url.value.lowercased().hasPrefix("https://")
            if let link = context.units.enabledLink(uploadUnit) {
                channels.append([
                    "kind": "systemd-journal-upload", "source": .string(url.source), "destination": .string(url.value),
                    "encrypted": .bool(encrypted), "enabled_by": .string(link),
                ])
            } else if let unknown = context.units.unknown {
                // An https upload whose unit may be enabled by an unread link could be the
                // encrypted channel LOG-006 asks for; an http one fails it either way.
                if encrypted {
                    channels.append(["error": .string(unknown), "kind": "systemd-journal-upload", "source": .string(url.source)])
                }
            } else {
                // A URL with nothing to start the uploader sends nothing: no encrypted channel,
                // and the reader sees why rather than no channel at all.
                channels.append([
                    "kind": "systemd-journal-upload", "destination": .string(url.value), "encrypted": false,
                    "source": .string(
                        "\(url.source) (\(uploadUnit) is not enabled: no link in \(SystemdUnits.enablingLinks(uploadUnit)), so nothing is uploaded)"
                    ),
                ])
            }
        }
        return ["log_forwarding": .value(["source": "/etc/rsyslog.conf", "channels": .array(channels)])]
    }

    /// rsyslog's forwarding actions as rsyslogd reads its configuration (rsyslog 8.2302, Debian
    /// 12): /etc/rsyslog.conf with its `$IncludeConfig` / `include(file=…)` files (Debian's
    /// /etc/rsyslog.d/*.conf), RainerScript statements spanning lines (`action(…)` up to its
    /// closing parenthesis, `#` comments outside strings), parameter names in any case with or
    /// without spaces around `=`. An `omfwd` action is encrypted when it uses TCP with a TLS
    /// stream driver (`gtls` from rsyslog-gnutls or `ossl` from rsyslog-openssl; its own
    /// `StreamDriver`, else the global `DefaultNetstreamDriver`) in mode 1; a legacy `@@host`
    /// action when the legacy `$DefaultNetstreamDriver` and `$ActionSendStreamDriverMode 1` say so.
    static func rsyslogChannels(_ root: HostRoot) -> [JSON] {
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
        var channels: [JSON] = []
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
