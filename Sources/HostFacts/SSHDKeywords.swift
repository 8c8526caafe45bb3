internal import WardenCore
internal import WardenFormats

/// What sshd accepts, keyword by keyword, as OpenSSH 9.2p1 (Debian 12) parses its configuration
/// (`servconf.c`): every line is checked, including lines whose value first-value-wins makes
/// irrelevant and lines inside Match blocks, and one bad line makes `sshd -t` and sshd itself
/// refuse the whole configuration. Checked against `sshd -t` in a Debian 12 root
/// (`Tests/WardenCLITests/SSHDOracleTests.swift`).
enum SSHDKeywords {
    enum Argument {
        /// `yes` or `no`.
        case flag
        /// One of these words (compared without case).
        case oneOf(Set<String>)
        /// One or more of these words (without case, quotes removed), separated by blanks.
        case wordsOf(Set<String>)
        /// A decimal integer (`atoi`-like but whole: sshd rejects trailing text).
        case integer
        /// A time (`30`, `5m`, `1h30m`), at most INT_MAX seconds.
        case time
        /// Anything non-empty (lists, paths, patterns: checked by sshd in ways Warden does not
        /// repeat; a value that sshd rejects there is a documented gap).
        case text
        /// Logged and skipped by sshd: accepted with a warning.
        case deprecated
        /// sshd logs "Unsupported option" and goes on.
        case unsupported
    }

    struct Keyword {
        var argument: Argument
        /// Allowed inside a Match block (SSHCFG_ALL).
        var inMatch: Bool
        /// The first OpenSSH release that knows the keyword, where it is after 7.9.
        var since: [Int] = [0]
    }

    static let logLevels: Set<String> = ["quiet", "fatal", "error", "info", "verbose", "debug", "debug1", "debug2", "debug3"]
    static let facilities: Set<String> = [
        "daemon", "user", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ]
    static let forwarding: Set<String> = ["yes", "all", "no", "local", "remote"]

    /// The version this table describes; a host with a newer OpenSSH may know keywords it lacks.
    static let tableVersion = [9, 2]

    static let table: [String: Keyword] = {
        var t: [String: Keyword] = [:]
        func add(_ names: [String], _ argument: Argument, inMatch: Bool, since: [Int] = [0]) {
            for n in names { t[n] = Keyword(argument: argument, inMatch: inMatch, since: since) }
        }
        // Allowed in Match blocks (sshd_config(5), "Match").
        add(
            [
                "allowagentforwarding", "disableforwarding", "exposeauthinfo", "gssapiauthentication", "hostbasedauthentication",
                "hostbasedusesnamefrompacketonly", "kbdinteractiveauthentication", "kerberosauthentication", "passwordauthentication",
                "permitemptypasswords", "permittty", "permituserrc", "pubkeyauthentication", "streamlocalbindunlink", "x11forwarding",
                "x11uselocalhost",
            ], .flag, inMatch: true)
        add(["permitrootlogin"], .oneOf(["yes", "prohibit-password", "without-password", "forced-commands-only", "no"]), inMatch: true)
        add(["gatewayports"], .oneOf(["clientspecified", "yes", "no"]), inMatch: true)
        add(["allowtcpforwarding", "allowstreamlocalforwarding"], .oneOf(forwarding), inMatch: true)
        add(["permittunnel"], .oneOf(["yes", "point-to-point", "ethernet", "no"]), inMatch: true)
        add(["ignorerhosts"], .oneOf(["yes", "shosts-only", "no"]), inMatch: true)
        add(["loglevel"], .oneOf(logLevels), inMatch: true)
        add(["maxauthtries", "maxsessions", "clientalivecountmax", "x11displayoffset"], .integer, inMatch: true)
        add(["clientaliveinterval"], .time, inMatch: true)
        add(
            [
                "acceptenv", "allowgroups", "allowusers", "authenticationmethods", "authorizedkeyscommand", "authorizedkeyscommanduser",
                "authorizedkeysfile", "authorizedprincipalscommand", "authorizedprincipalscommanduser", "authorizedprincipalsfile",
                "banner",
                "chrootdirectory", "denygroups", "denyusers", "forcecommand", "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes",
                "include", "match", "ipqos", "logverbose", "permitlisten", "permitopen", "pubkeyacceptedalgorithms",
                "pubkeyacceptedkeytypes",
                "rdomain", "rekeylimit", "revokedkeys", "setenv", "streamlocalbindmask", "trustedusercakeys",
            ], .text, inMatch: true)
        add(["pubkeyauthoptions"], .wordsOf(["none", "touch-required", "verify-required"]), inMatch: true, since: [8, 2])
        add(["casignaturealgorithms"], .text, inMatch: true, since: [7, 9])
        add(["channeltimeout", "unusedconnectiontimeout"], .text, inMatch: true, since: [9, 2])
        // Global only.
        add(
            [
                "usepam", "hostkeyagent", "printmotd", "printlastlog", "ignoreuserknownhosts", "strictmodes", "tcpkeepalive", "keepalive",
                "usedns", "gssapicleanupcredentials", "gssapistrictacceptorcheck", "gssapikeyexchange", "gssapistorecredentialsonrekey",
                "kerberosorlocalpasswd", "kerberosticketcleanup", "kerberosgetafstoken", "challengeresponseauthentication",
                "skeyauthentication", "debianbanner", "dsaauthentication",
            ], .flag, inMatch: false)
        add(["compression"], .oneOf(["yes", "delayed", "no"]), inMatch: false)
        add(["addressfamily"], .oneOf(["inet", "inet6", "any"]), inMatch: false)
        add(["fingerprinthash"], .oneOf(["md5", "sha256"]), inMatch: false)
        add(["syslogfacility"], .oneOf(facilities), inMatch: false)
        add(["permituserenvironment"], .text, inMatch: false)
        add(["logingracetime"], .time, inMatch: false)
        add(["requiredrsasize"], .integer, inMatch: true, since: [9, 1])
        add(
            [
                "port", "hostkey", "hostdsakey", "pidfile", "modulifile", "listenaddress", "ciphers", "macs", "kexalgorithms",
                "hostkeyalgorithms", "subsystem", "maxstartups", "versionaddendum", "hostcertificate", "xauthlocation",
                "gssapikexalgorithms", "securitykeyprovider",
            ], .text, inMatch: false)
        add(["persourcemaxstartups", "persourcenetblocksize"], .text, inMatch: false, since: [8, 5])
        add(
            [
                "pamauthenticationviakbdint", "serverkeybits", "keyregenerationinterval", "rhostsauthentication", "rhostsrsaauthentication",
                "rsaauthentication", "checkmail", "uselogin", "verifyreversemapping", "reversemappingcheck", "authorizedkeysfile2",
                "useprivilegeseparation", "protocol", "permitblacklistedkeys", "gssusesessionccache", "gssapiusesessioncredcache",
            ],
            .deprecated, inMatch: true)
        add(["kerberostgtpassing", "afstokenpassing"], .unsupported, inMatch: true)
        return t
    }()

    /// Why sshd would refuse `keyword value` at this place, or nil when it accepts it.
    /// `version` is the host's OpenSSH release (nil when unknown: judged as `tableVersion`).
    static func refusal(_ keyword: String, _ value: String, inMatch: Bool, version: [Int]?) -> String? {
        guard let entry = table[keyword] else {
            if let version, version.lexicographicallyPrecedes(tableVersion) == false, version != tableVersion { return nil }
            return "Bad configuration option"
        }
        if let version, version.lexicographicallyPrecedes(entry.since) {
            return "Bad configuration option (new in OpenSSH \(entry.since.map(String.init).joined(separator: ".")))"
        }
        if inMatch && !entry.inMatch { return "Directive is not allowed within a Match block" }
        let word = value.lowercased()
        switch entry.argument {
        case .flag:
            return ["yes", "no"].contains(word) ? nil : "unsupported option \"\(value)\""
        case .oneOf(let words):
            return words.contains(word) ? nil : "unsupported option \"\(value)\""
        case .wordsOf(let words):
            let bad = SSHDConfigProbe.unquotedWords(word).first { !words.contains($0) }
            return bad.map { "unsupported option \($0)" }
        case .integer:
            return Int32(value) != nil ? nil : "integer value invalid"
        case .time:
            guard let seconds = Durations.seconds(value, bareSeconds: true), seconds <= Int64(Int32.max) else {
                return "invalid time value"
            }
            return nil
        case .text, .deprecated, .unsupported:
            return nil
        }
    }

    /// The note sshd logs for a keyword it accepts but ignores, or nil.
    static func warning(_ keyword: String) -> String? {
        switch table[keyword]?.argument {
        case .deprecated?: "Deprecated option"
        case .unsupported?: "Unsupported option"
        default: nil
        }
    }
}
