public import WardenCore
internal import WardenFormats

/// The effective OpenSSH server configuration, read the way sshd reads it (docs/DAEMON-SEMANTICS.md):
/// case-insensitive keywords, `keyword value` or `keyword=value`, old aliases, the *first* value
/// wins, `Include` expanded where it appears (globs in lexical order, relative to /etc/ssh), and
/// `Match` blocks kept apart: they do not change the global value, but are reported so a block
/// that weakens a setting can fail its control. Absent keywords take OpenSSH's defaults. A line
/// sshd would refuse anywhere (`SSHDKeywords`: an unknown keyword for the host's OpenSSH, a bad
/// value, a global keyword in a Match block) makes the whole fact unavailable with that line as
/// the reason: sshd will not start with such a configuration.
public struct SSHDConfigProbe: Probe {
    public init() {}
    public let name = "sshd"
    public let summary =
        "sshd_config with Include and Match semantics, OpenSSH defaults, and the second-factor PAM modules of /etc/pam.d/sshd"
    public let reads = ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*.conf (and any Include)", "/etc/pam.d/sshd (and its includes)"]
    public var facts: [String: FactType] {
        [
            "sshd": .object([
                "installed": .bool, "source": .string, "note": .string, "files": .strings,
                "settings": SSHDConfigProbe.settingsType,
                "match_blocks": .list(.object(["criteria": .string, "source": .string, "settings": SSHDConfigProbe.settingsType])),
                "problems": .strings, "warnings": .strings, "present_because": .strings,
                "pam_second_factor_modules": .strings, "pam_error": .string,
                "pam_u2f_required": .sourced(.bool), "pam_tty_audit": .sourced(.bool),
                "authorized_keys": .list(
                    .object([
                        "path": .string, "user": .string, "source": .string, "keys": .int, "no_touch_required": .strings, "error": .string,
                        "entries": .list(SSHDConfigProbe.keyEntryType),
                    ])),
                "host_keys": .list(
                    .object([
                        "path": .string, "public_key": .string, "configured_at": .string, "source": .string, "type": .string,
                        "algorithm": .string, "rsa_bits": .int, "comment": .string, "error": .string,
                    ])),
                "mfa": .object([
                    "every_method_list_has_two_factors": .sourced(.bool), "keyboard_interactive_only_second": .sourced(.bool),
                    "fido_keys_only": .sourced(.bool),
                ]),
            ])
        ]
    }

    static let mainFile = "/etc/ssh/sshd_config"
    /// One key of an authorized_keys file: `source` is file:line, `name` the account and the
    /// key's comment (what evidence names; never the key material).
    static let keyEntryType = FactType.object([
        "source": .string, "name": .string, "type": .string, "algorithm": .string, "rsa_bits": .int, "comment": .string,
        "error": .string,
    ])
    /// The host keys sshd loads when no HostKey is given (servconf.c, `fill_default_server_options`).
    static let defaultHostKeys = ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"]
    static let maxIncludeDepth = 16

    /// Keywords whose values sshd compares case-insensitively; stored lower-cased.
    static let caseInsensitive: Set<String> = [
        "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "permitemptypasswords",
        "x11forwarding", "allowtcpforwarding", "allowagentforwarding", "permittunnel", "allowstreamlocalforwarding",
        "permituserenvironment", "disableforwarding", "pubkeyauthentication", "usepam", "authenticationmethods",
        "gssapiauthentication", "hostbasedauthentication",
    ]

    /// Old names sshd still accepts for current keywords.
    static let aliases: [String: String] = [
        "challengeresponseauthentication": "kbdinteractiveauthentication",
        "pubkeyacceptedkeytypes": "pubkeyacceptedalgorithms",
        "hostbasedacceptedkeytypes": "hostbasedacceptedalgorithms",
        "dsaauthentication": "pubkeyauthentication",
    ]

    /// OpenSSH ≥ 8.x compiled-in defaults for the keywords Warden checks.
    static let defaults: JSONObject = [
        "permitrootlogin": "prohibit-password", "passwordauthentication": "yes", "kbdinteractiveauthentication": "yes",
        "permitemptypasswords": "no", "x11forwarding": "no", "allowtcpforwarding": "yes", "allowagentforwarding": "yes",
        "permittunnel": "no", "allowstreamlocalforwarding": "yes", "permituserenvironment": "no", "disableforwarding": "no",
        "maxauthtries": 6, "clientaliveinterval": 0, "authenticationmethods": "any", "pubkeyauthentication": "yes",
        "usepam": "no", "authorizedkeysfile": ".ssh/authorized_keys .ssh/authorized_keys2", "trustedusercakeys": "none",
        "pubkeyauthoptions": "none",
    ]

    /// Keywords whose value is a time (`ClientAliveInterval 5m`), stored in seconds.
    static let timeKeywords: Set<String> = ["clientaliveinterval", "logingracetime"]
    static let intKeywords: Set<String> = ["maxauthtries", "clientalivecountmax", "maxsessions"]

    /// PAM modules that provide a second factor.
    static let secondFactorModules = ["pam_u2f.so", "pam_google_authenticator.so", "pam_oath.so", "pam_duo.so"]

    struct Setting {
        var value: JSON
        var source: String
        var json: JSON { ["value": value, "source": .string(source)] }
    }

    struct MatchBlock {
        var criteria: String
        var source: String
        var settings: [String: Setting] = [:]
    }

    struct State {
        var global: [String: Setting] = [:]
        var matches: [MatchBlock] = []
        /// Every global HostKey, in order: unlike other keywords, each one adds a key.
        var hostKeys: [Setting] = []
        /// Every global Port, ListenAddress and AllowUsers line, in order: sshd adds each one to
        /// the last (servconf.c), where other keywords keep their first value.
        var ports: [Setting] = []
        var listenAddresses: [Setting] = []
        var allowUsers: [Setting] = []
        var files: [String] = []
        var problems: [String] = []
        /// The first line sshd would refuse to start with: "file:line, Keyword, value (why)".
        var refusal: String?
        /// What sshd would log and go past (deprecated and unsupported options).
        var warnings: [String] = []
        /// The host's OpenSSH release, when its package database says.
        var version: [Int]?
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var state = State()
        // Any sign of a server makes the SSH controls apply; none at all, and they do not.
        let signs: [String]
        do { signs = try SSHDConfigProbe.serverSigns(root, units: context.units) } catch {
            return ["sshd": .unavailable(.error(error.description))]
        }
        if signs.isEmpty {
            return [
                "sshd": .value([
                    "installed": false, "source": .string(SSHDConfigProbe.mainFile),
                    "note": "no OpenSSH server: no sshd binary, configuration or unit",
                    "host_keys": ["not_applicable": "no OpenSSH server is installed"],
                    "authorized_keys": ["not_applicable": "no OpenSSH server is installed"],
                ])
            ]
        }
        if !root.mayExist(SSHDConfigProbe.mainFile) {
            return [
                "sshd": .unavailable(
                    .error(
                        "an OpenSSH server is present (\(signs.joined(separator: ", "))) but \(SSHDConfigProbe.mainFile) does not exist: sshd will not start without it"
                    ))
            ]
        }
        let installed = PackageDatabase.installedVersion(root, packages: ["openssh-server"])
        state.version = installed.map { PackageDatabase.upstreamNumbers($0.version) }
        do {
            try parse(file: SSHDConfigProbe.mainFile, root: root, state: &state, inMatch: nil, depth: 0)
        } catch {
            return ["sshd": .unavailable(.error("cannot read the sshd configuration: \(error)"))]
        }
        if state.refusal == nil { state.refusal = SSHDConfigProbe.unsatisfiableMethods(state.global) }
        if let refusal = state.refusal {
            // The settings are undecidable: sshd will not start with these files, and a running
            // sshd may hold an older configuration.
            let against =
                installed.map { "\($0.package) \($0.version)" }
                ?? "OpenSSH \(SSHDKeywords.tableVersion.map(String.init).joined(separator: ".")) (the host's version is unknown)"
            return ["sshd": .unavailable(.error("sshd would refuse this configuration: \(refusal); judged as \(against)"))]
        }
        var settings = state.global
        for (k, v) in SSHDConfigProbe.defaults where settings[k] == nil {
            settings[k] = Setting(value: v, source: "default (OpenSSH)")
        }
        let pam = pamSecondFactor(root: root)
        var fact: JSONObject = [
            "installed": true,
            "source": .string(SSHDConfigProbe.mainFile),
            "files": .array(state.files.map { .string($0) }),
            "settings": .object(settings.mapValues(\.json)),
            "match_blocks": .array(
                state.matches.map { m in
                    ["criteria": .string(m.criteria), "source": .string(m.source), "settings": .object(m.settings.mapValues(\.json))]
                }),
            "problems": .array(state.problems.map { .string($0) }),
            "warnings": .array(state.warnings.map { .string($0) }),
            "present_because": .array(signs.map { .string($0) }),
            "pam_second_factor_modules": .array(pam.modules.map { .string($0) }),
        ]
        if let e = pam.error { fact["pam_error"] = .string(e) }
        // Whether the PAM route really asks for the key, and records the session: what the
        // dispatcher would do with the stack, not whether the module is named in it.
        fact["authorized_keys"] = SSHDConfigProbe.authorizedKeys(
            root, patterns: [settings["authorizedkeysfile"]] + state.matches.map { $0.settings["authorizedkeysfile"] })
        fact["host_keys"] = SSHDConfigProbe.hostKeys(root, configured: state.hostKeys)
        fact["pam_u2f_required"] = PAMStack.requires(root, service: "sshd", type: "auth", .succeeds, where: PAMStack.isU2F)
        fact["pam_tty_audit"] = PAMStack.requires(root, service: "sshd", type: "session", .runs, where: PAMStack.isTTYAuditEnable)
        let methods = settings["authenticationmethods"] ?? Setting(value: "any", source: "default (OpenSSH)")
        let analysis = SSHDConfigProbe.analyseMethods(methods.value.stringValue ?? "any")
        fact["mfa"] = [
            "every_method_list_has_two_factors": ["value": .bool(analysis.allMultiFactor), "source": .string(methods.source)],
            "keyboard_interactive_only_second": ["value": .bool(analysis.kbdOnlySecond), "source": .string(methods.source)],
            "fido_keys_only": SSHDConfigProbe.fidoOnly(settings["pubkeyacceptedalgorithms"]).json,
        ]
        return ["sshd": .value(.object(fact))]
    }

    /// sshd's start-up check that at least one AuthenticationMethods list uses only enabled
    /// methods (sshd.c: "AuthenticationMethods cannot be satisfied by enabled authentication
    /// methods"), on the global settings; nil when one can be satisfied.
    static func unsatisfiableMethods(_ global: [String: Setting]) -> String? {
        guard let methods = global["authenticationmethods"], let text = methods.value.stringValue, text.lowercased() != "any" else {
            return nil
        }
        func enabled(_ keyword: String) -> Bool {
            let off: Set<String> = ["hostbasedauthentication", "gssapiauthentication"]  // OpenSSH's defaults
            return (global[keyword]?.value.stringValue ?? defaults[keyword]?.stringValue ?? (off.contains(keyword) ? "no" : "yes")) == "yes"
        }
        let switches = [
            "publickey": "pubkeyauthentication", "password": "passwordauthentication",
            "keyboard-interactive": "kbdinteractiveauthentication", "hostbased": "hostbasedauthentication",
            "gssapi-with-mic": "gssapiauthentication",
        ]
        let satisfiable = text.words.contains { list in
            list.split(separator: ",").allSatisfy { method in
                let name = String(method.split(separator: ":").first ?? "")
                return switches[name].map { enabled($0) } ?? true
            }
        }
        return satisfiable
            ? nil : "\(methods.source), AuthenticationMethods, \(text) (cannot be satisfied by enabled authentication methods)"
    }

    /// What shows an OpenSSH server is on the host: its binary, its configuration, drop-ins,
    /// or an enabled unit (empty when there is none). Throws when there is none to see but a
    /// directory of enablement links could not be listed: an enabled unit may be there unseen.
    static func serverSigns(_ root: HostRoot, units: SystemdUnits) throws(NoServerUnknown) -> [String] {
        var signs: [String] = []
        for binary in ["/usr/sbin/sshd", "/usr/bin/sshd"] where root.exists(binary) { signs.append("the binary \(binary)") }
        if root.mayExist(mainFile) { signs.append(mainFile) }
        if let dropIns = try? root.list("/etc/ssh/sshd_config.d"), dropIns.contains(where: { $0.hasSuffix(".conf") }) {
            signs.append("/etc/ssh/sshd_config.d/*.conf")
        }
        for unit in ["ssh.service", "sshd.service", "ssh.socket"] {
            if let link = units.enabledLink(unit) { signs.append("the enabled unit \(link)") }
        }
        if signs.isEmpty, let unknown = units.unknown { throw NoServerUnknown(reason: unknown) }
        return signs
    }

    /// Whether an OpenSSH server is present is not known (`serverSigns`).
    struct NoServerUnknown: Error, CustomStringConvertible {
        let reason: String
        var description: String { "whether an OpenSSH server is present is not known: no sshd binary or configuration, and \(reason)" }
    }

    /// Whether every comma-list in AuthenticationMethods has at least two methods, and whether
    /// keyboard-interactive appears only after the first method.
    static func analyseMethods(_ value: String) -> (allMultiFactor: Bool, kbdOnlySecond: Bool) {
        let lists = value.words.map { $0.split(separator: ",").map { $0.split(separator: ":").first.map(String.init) ?? "" } }
        if lists.isEmpty || value == "any" { return (false, false) }
        let allMulti = lists.allSatisfy { Set($0).count >= 2 }
        let kbd =
            lists.contains { $0.contains("keyboard-interactive") }
            && lists.allSatisfy { $0.first != "keyboard-interactive" && (!$0.contains("keyboard-interactive") || $0.count >= 2) }
        return (allMulti, kbd)
    }

    static func fidoOnly(_ setting: Setting?) -> Setting {
        guard let setting, let text = setting.value.stringValue else {
            return Setting(value: false, source: "default (OpenSSH accepts all key types)")
        }
        let algorithms = text.split(separator: ",")
        let ok =
            !algorithms.isEmpty && !text.hasPrefix("+") && !text.hasPrefix("^") && !text.hasPrefix("-")
            && algorithms.allSatisfy { $0.hasPrefix("sk-") }
        return Setting(value: .bool(ok), source: setting.source)
    }

    func parse(file: String, root: HostRoot, state: inout State, inMatch: Int?, depth: Int) throws(HostError) {
        guard depth <= SSHDConfigProbe.maxIncludeDepth else {
            throw HostError(path: file, errno: 40, message: "Include nested deeper than \(SSHDConfigProbe.maxIncludeDepth) levels")
        }
        let text = try root.readText(file)
        state.files.append(file)
        // A Match block in an included file ends with that file; the includer's state resumes.
        var currentMatch = inMatch
        for (number, line) in configLines(text) {
            let here = "\(file):\(number)"
            guard let (rawKeyword, value) = SSHDConfigProbe.split(line) else {
                // sshd: "missing argument", fatal.
                if state.refusal == nil { state.refusal = "\(here), \(line.words.first ?? line), no value (missing argument)" }
                continue
            }
            let lower = rawKeyword.lowercased()
            if let why = SSHDKeywords.refusal(lower, value, inMatch: currentMatch != nil, version: state.version) {
                if state.refusal == nil { state.refusal = "\(here), \(rawKeyword), \(value) (\(why))" }
                continue
            }
            if let note = SSHDKeywords.warning(lower) { state.warnings.append("\(here): \(note) \(rawKeyword)") }
            let keyword = SSHDConfigProbe.aliases[lower] ?? lower
            switch keyword {
            case "include":
                for pattern in SSHDConfigProbe.unquotedWords(value) {
                    let absolute = pattern.hasPrefix("/") ? pattern : "/etc/ssh/" + pattern
                    let matches: [String]
                    do { matches = try root.glob(absolute) } catch {
                        state.problems.append("\(here): Include \(pattern): \(error.message)")
                        continue
                    }
                    for path in matches {
                        do {
                            try parse(file: path, root: root, state: &state, inMatch: currentMatch, depth: depth + 1)
                        } catch {
                            // sshd refuses to start when an explicitly named include is unreadable.
                            if pattern.contains(where: { "*?[".contains($0) }) && error.isNotFound { continue }
                            throw error
                        }
                    }
                }
            case "match":
                state.matches.append(MatchBlock(criteria: value, source: here))
                currentMatch = state.matches.count - 1
            default:
                let setting = Setting(value: SSHDConfigProbe.typedValue(keyword, value), source: here)
                if (keyword == "hostkey" || keyword == "hostdsakey") && currentMatch == nil { state.hostKeys.append(setting) }
                if currentMatch == nil {
                    switch keyword {
                    case "port": state.ports.append(setting)
                    case "listenaddress": state.listenAddresses.append(setting)
                    case "allowusers": state.allowUsers.append(setting)
                    default: break
                    }
                }
                if let m = currentMatch {
                    if state.matches[m].settings[keyword] == nil { state.matches[m].settings[keyword] = setting }
                } else if state.global[keyword] == nil {
                    state.global[keyword] = setting
                }
            }
        }
    }

    /// `Keyword value`, `Keyword=value` or `Keyword = value`.
    static func split(_ line: Substring) -> (String, String)? {
        guard let end = line.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "=" }) else { return nil }
        let keyword = String(line[..<end])
        var rest = line[end...].trimmed
        if rest.first == "=" { rest = rest.dropFirst().trimmed }
        guard !rest.isEmpty, !keyword.isEmpty else { return nil }
        return (keyword, String(rest))
    }

    static func unquotedWords(_ value: String) -> [String] {
        value.words.map { w in
            var s = Substring(w)
            if s.count >= 2, s.first == "\"", s.last == "\"" { s = s.dropFirst().dropLast() }
            return String(s)
        }
    }

    static func typedValue(_ keyword: String, _ raw: String) -> JSON {
        var value = raw
        if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
        if timeKeywords.contains(keyword) {  // sshd keeps the total in an int: larger values are rejected, and the raw text is kept.
            return Durations.seconds(value, bareSeconds: true).flatMap { $0 <= Int64(Int32.max) ? .int($0) : nil } ?? .string(value)
        }
        if intKeywords.contains(keyword) { return Int64(value).map { .int($0) } ?? .string(value) }
        if keyword == "pubkeyauthoptions" {
            // As `sshd -T` prints it: the options without `none`, in sshd's order, or `none`.
            let words = Set(unquotedWords(raw).map { $0.lowercased() })
            let options = ["touch-required", "verify-required"].filter(words.contains)
            return .string(options.isEmpty ? "none" : options.joined(separator: " "))
        }
        if caseInsensitive.contains(keyword) {
            let v = value.lowercased()
            // sshd still accepts `without-password` as `prohibit-password`.
            if keyword == "permitrootlogin" && v == "without-password" { return "prohibit-password" }
            return .string(v)
        }
        return .string(value)
    }

    /// The second-factor PAM modules on the `auth` stack of the sshd service (PAMStack: includes
    /// and substacks followed as Linux-PAM follows them).
    func pamSecondFactor(root: HostRoot) -> (modules: [String], error: String?) {
        do {
            let stack = try PAMStack(root, service: "sshd", type: "auth")
            return (stack.modules.filter { SSHDConfigProbe.secondFactorModules.contains($0) }.sorted(), nil)
        } catch {
            return ([], error.description)
        }
    }

    /// The authorized_keys files sshd would read for every account of /etc/passwd: each word of
    /// AuthorizedKeysFile (global, and of every Match block: a superset), `%%`, `%h`, `%u` and
    /// `%U` expanded, relative to the home directory. A file that is not there is left out; one
    /// that cannot be read is an item with its `error`. sshd's StrictModes refusals are not
    /// repeated: a file it would ignore still counts (a possible false fail, never a false pass).
    static func authorizedKeys(_ root: HostRoot, patterns: [Setting?]) -> JSON {
        let words = patterns.compactMap { $0?.value.stringValue }.flatMap(unquotedWords).filter { $0.lowercased() != "none" }
        var uniqueWords: [String] = []
        for w in words where !uniqueWords.contains(w) { uniqueWords.append(w) }
        guard !uniqueWords.isEmpty else { return [] }
        let passwd: String
        do { passwd = try root.readText(AccountsProbe.passwdFile) } catch {
            return ["error": .string("cannot read \(AccountsProbe.passwdFile) to find the authorized_keys files: \(error.message)")]
        }
        var items: [JSON] = []
        var seen: Set<String> = []
        for account in AccountsProbe.passwdEntries(passwd).entries {
            let (user, uid, home) = (account.name, String(account.uid), account.home)
            for word in uniqueWords {
                guard let expanded = expandTokens(word, user: user, uid: uid, home: home) else {
                    items.append([
                        "path": .string(word), "user": .string(user), "error": .string("AuthorizedKeysFile \(word): unknown % token"),
                    ])
                    continue
                }
                let path = expanded.hasPrefix("/") ? expanded : (home.hasSuffix("/") ? home : home + "/") + expanded
                guard seen.insert(path).inserted else { continue }
                let text: String
                do { text = try root.readText(path, limit: 1 << 20) } catch {
                    if error.isNotFound { continue }
                    items.append(["path": .string(path), "user": .string(user), "error": .string(error.description)])
                    continue
                }
                var keys = 0
                var noTouch: [JSON] = []
                var entries: [JSON] = []
                for (number, entry) in configLines(text) {
                    keys += 1
                    if keyOptions(entry).contains("no-touch-required") { noTouch.append(.string("\(path):\(number)")) }
                    entries.append(keyEntry(entry, source: "\(path):\(number)", user: user))
                }
                items.append([
                    "path": .string(path), "user": .string(user), "source": .string(path), "keys": .int(Int64(keys)),
                    "no_touch_required": .array(noTouch), "entries": .array(entries),
                ])
            }
        }
        return .array(items)
    }

    /// One authorized_keys line as `keyEntryType`.
    static func keyEntry(_ line: Substring, source: String, user: String) -> JSON {
        switch SSHPublicKey.authorizedKeyLine(line) {
        case .success(let key):
            var entry = key.json
            entry["source"] = .string(source)
            entry["name"] = .string(key.comment.isEmpty ? "\(user): key without a comment" : "\(user): \(key.comment)")
            return .object(entry)
        case .failure(let failure):
            let why =
                failure == .noKeyType
                ? "no key type OpenSSH knows on this line (sshd skips it)" : "\(failure.reason) (sshd skips this line)"
            return ["source": .string(source), "name": .string("\(user): unreadable key"), "error": .string(why)]
        }
    }

    /// The host keys sshd loads: every global HostKey in order, or OpenSSH's three defaults.
    /// sshd uses a host key only when its private key file loads, and skips one that is missing,
    /// so a missing private key is left out. Its type and size are read from the `.pub` beside it
    /// (the private key is never read); without one the item is an `error`.
    static func hostKeys(_ root: HostRoot, configured: [Setting]) -> JSON {
        let keys =
            configured.isEmpty
            ? defaultHostKeys.map { Setting(value: .string($0), source: "default (OpenSSH)") } : configured
        var items: [JSON] = []
        for key in keys {
            guard let configuredPath = key.value.stringValue else { continue }
            // servconf.c's derelativise_path: `~` is root's home, a relative path is taken from /.
            let path =
                configuredPath.hasPrefix("~/")
                ? "/root/" + configuredPath.dropFirst(2) : configuredPath.hasPrefix("/") ? configuredPath : "/" + configuredPath
            guard root.mayExist(path) else { continue }
            let publicKey = path + ".pub"
            var item: JSONObject = [
                "path": .string(path), "public_key": .string(publicKey), "configured_at": .string(key.source),
                "source": .string(publicKey),
            ]
            let text: String
            do { text = try root.readText(publicKey, limit: 1 << 16) } catch {
                item["error"] = .string(
                    error.isNotFound
                        ? "\(publicKey) does not exist: the key's type and size cannot be known without reading the private key"
                        : error.description)
                items.append(.object(item))
                continue
            }
            switch configLines(text).first.map({ SSHPublicKey.parse($0.text) }) {
            case .success(let parsed): for (k, v) in parsed.json { item[k] = v }
            case .failure(let failure): item["error"] = .string("\(publicKey): \(failure.reason)")
            case nil: item["error"] = .string("\(publicKey): no key in the file")
            }
            items.append(.object(item))
        }
        return .array(items)
    }

    /// `%%`, `%h`, `%u`, `%U` (sshd's `percent_expand` for AuthorizedKeysFile); nil for another token.
    static func expandTokens(_ word: String, user: String, uid: String, home: String) -> String? {
        var out = ""
        var percent = false
        for c in word {
            if percent {
                switch c {
                case "%": out.append("%")
                case "h": out += home
                case "u": out += user
                case "U": out += uid
                default: return nil
                }
                percent = false
            } else if c == "%" {
                percent = true
            } else {
                out.append(c)
            }
        }
        return percent ? nil : out
    }

    /// The options of one authorized_keys line (lower-cased names, without values): the words
    /// before the key type, split at commas outside double quotes (sshd's `sshkey_advance_past_options`).
    static func keyOptions(_ line: Substring) -> [String] {
        let first = line.prefix { $0 != " " && $0 != "\t" }
        let keyTypes = ["ssh-", "ecdsa-", "sk-", "rsa-", "x509v3-"]
        if keyTypes.contains(where: { first.hasPrefix($0) }) { return [] }
        var options: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in line {
            if quoted {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
                continue
            }
            if c == "\"" {
                quoted = true
            } else if c == "," || c == " " || c == "\t" {
                options.append(current.lowercased())
                current = ""
                if c != "," { break }
            } else if c == "=" {
                options.append(current.lowercased())
                current = ""
                // The value follows; its quotes are skipped above, the name is already kept.
            } else {
                current.append(c)
            }
        }
        return options.filter { !$0.isEmpty }
    }
}
