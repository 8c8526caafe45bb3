import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Log forwarding (LOG-006), time synchronisation (LOG-008) and sudo's own logging (LOG-009).
/// Probe tests build a root and assert the facts; control tests evaluate tables of canned facts at
/// sl3 and sl4; the rsyslog oracle compares the forwarding facts with rsyslogd itself.
@Suite struct ForwardingTimeTests {
    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    func channels(_ tree: TempTree) throws -> JSON? {
        try probeFact("log_forwarding", of: LogForwardingProbe(), root: tree.path)["channels"]
    }

    /// Debian 12's own /etc/rsyslog.conf, which includes /etc/rsyslog.d/*.conf.
    static let debianRsyslogConf = (try? LocalFile.readText(Package.fixtureRoot("host-conformant") + "/etc/rsyslog.conf")) ?? ""

    // MARK: - Probe tests: log_forwarding

    static let rsyslogLink = "/etc/systemd/system/multi-user.target.wants/rsyslog.service"
    static let auditdLink = "/etc/systemd/system/multi-user.target.wants/auditd.service"

    /// A root with `unit` enabled as `systemctl enable` leaves it on Debian 12.
    static func enable(_ unit: String, in tree: TempTree) {
        tree.symlink("etc/systemd/system/multi-user.target.wants/\(unit)", to: "/lib/systemd/system/\(unit)")
    }

    @Test func rsyslogForwardingChannels() throws {
        let tree = TempTree()
        tree.file("etc/rsyslog.conf", Self.debianRsyslogConf)
        Self.enable("rsyslog.service", in: tree)
        tree.symlink("etc/systemd/system/syslog.service", to: "/lib/systemd/system/rsyslog.service")
        tree.file("etc/rsyslog.d/60-forward.conf", "*.* @@logs.example:514\n")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "@@logs.example:514", "encrypted": false, "kind": "rsyslog",
                        "source": "/etc/rsyslog.d/60-forward.conf:1", "enabled_by": .string(Self.rsyslogLink),
                    ]
                ])
        tree.file("etc/rsyslog.d/60-forward.conf", "$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n*.* @@logs.example:6514\n")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "@@logs.example:6514", "encrypted": true, "kind": "rsyslog",
                        "source": "/etc/rsyslog.d/60-forward.conf:3", "enabled_by": .string(Self.rsyslogLink),
                    ]
                ])
        tree.file(
            "etc/rsyslog.d/60-forward.conf",
            "action(type=\"omfwd\" target=\"logs.example\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "logs.example", "encrypted": true, "kind": "rsyslog omfwd",
                        "source": "/etc/rsyslog.d/60-forward.conf:1", "enabled_by": .string(Self.rsyslogLink),
                        "transport": "tcp, stream driver gtls, mode 1",
                    ]
                ])
        // rsyslogd not enabled: the TLS action forwards nothing.
        unlink(tree.path + Self.rsyslogLink)
        #expect(try channels(tree) == [Self.rsyslogNotEnabled])
        Self.enable("rsyslog.service", in: tree)
        tree.file("etc/rsyslog.d/60-forward.conf", "action(type=\"omfwd\" target=\"logs.example\" port=\"514\" protocol=\"tcp\")\n")
        #expect(try channels(tree)?[0]?["encrypted"] == false)
        #expect(try channels(tree)?[0]?["transport"] == "tcp, stream driver ptcp, mode 0")
        // Without /etc/rsyslog.conf rsyslogd reads nothing of rsyslog.d.
        unlink(tree.path + "/etc/rsyslog.conf")
        tree.file(
            "etc/rsyslog.d/60-forward.conf",
            "action(type=\"omfwd\" target=\"logs.example\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n")
        #expect(try channels(tree) == [])
    }

    @Test func journalUploadCountsWithItsUnitAndIsEncryptedOverHTTPS() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=https://logs.example:19532\n")
        // A URL alone uploads nothing: no encrypted channel, and the source says why.
        #expect(try channels(tree) == [Self.uploadNotEnabled])
        let unit = "etc/systemd/system/multi-user.target.wants/systemd-journal-upload.service"
        tree.symlink(unit, to: "/lib/systemd/system/systemd-journal-upload.service")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "https://logs.example:19532", "enabled_by": .string("/" + unit), "encrypted": true,
                        "kind": "systemd-journal-upload", "source": "/etc/systemd/journal-upload.conf:2",
                    ]
                ])
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=http://logs.example:19532\n")
        #expect(try channels(tree)?[0]?["encrypted"] == false)
    }

    /// A TLS action of an rsyslogd that nothing starts.
    static let rsyslogNotEnabled: JSON = [
        "destination": "logs.example", "encrypted": false, "kind": "rsyslog omfwd",
        "source":
            "/etc/rsyslog.d/60-forward.conf:1 (rsyslog.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/rsyslog.service, so nothing is forwarded)",
        "transport": "tcp, stream driver gtls, mode 1",
    ]

    static let uploadNotEnabled: JSON = [
        "destination": "https://logs.example:19532", "encrypted": false, "kind": "systemd-journal-upload",
        "source":
            "/etc/systemd/journal-upload.conf:2 (systemd-journal-upload.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/systemd-journal-upload.service, so nothing is uploaded)",
    ]

    /// Each setting that makes the channel is cited by its line: the server, the transport, the
    /// plugin's `active` and the link that enables auditd.
    @Test func audispRemoteIsEncryptedWithKerberos() throws {
        let tree = TempTree()
        tree.file("etc/audit/plugins.d/au-remote.conf", "# the remote plugin\nactive = yes\ndirection = out\npath = /sbin/audisp-remote\n")
        tree.file("etc/audit/audisp-remote.conf", "# where\nremote_server = logs.example\nport = 60\ntransport = TCP\n")
        Self.enable("auditd.service", in: tree)
        let enabledBy = JSON.string("/etc/audit/plugins.d/au-remote.conf:2 (active = yes); \(Self.auditdLink)")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "logs.example", "encrypted": false, "kind": "audisp-remote",
                        "source": "/etc/audit/audisp-remote.conf:2", "transport": "TCP (/etc/audit/audisp-remote.conf:4)",
                        "enabled_by": enabledBy,
                    ]
                ])
        tree.file("etc/audit/audisp-remote.conf", "transport = KRB5\nremote_server = old.example\nremote_server = logs.example\n")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "logs.example", "encrypted": true, "kind": "audisp-remote",
                        "source": "/etc/audit/audisp-remote.conf:3", "transport": "KRB5 (/etc/audit/audisp-remote.conf:1)",
                        "enabled_by": enabledBy,
                    ]
                ])
        // Without a server nothing is forwarded, whatever the transport; the default transport is TCP.
        tree.file("etc/audit/audisp-remote.conf", "enable_krb5 = yes\n")
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "(no remote_server)", "encrypted": false, "kind": "audisp-remote",
                        "source": "/etc/audit/audisp-remote.conf (no remote_server)",
                        "transport":
                            "tcp (/etc/audit/audisp-remote.conf sets no transport); enable_krb5 yes (/etc/audit/audisp-remote.conf:1)",
                        "enabled_by": enabledBy,
                    ]
                ])
        // auditd not enabled: nothing starts audisp-remote.
        tree.file("etc/audit/audisp-remote.conf", "remote_server = logs.example\ntransport = krb5\n")
        unlink(tree.path + Self.auditdLink)
        #expect(
            try channels(tree)
                == [
                    [
                        "destination": "logs.example", "encrypted": false, "kind": "audisp-remote",
                        "source":
                            "/etc/audit/audisp-remote.conf:1 (auditd.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/auditd.service, so nothing is forwarded)",
                        "transport": "krb5 (/etc/audit/audisp-remote.conf:2)",
                        "enabled_by": "/etc/audit/plugins.d/au-remote.conf:2 (active = yes)",
                    ]
                ])
    }

    /// audisp-remote.conf as audit 3.0.9's `load_config` reads it: only krb5 encrypts, in the
    /// managed format; a line it rejects (tls is no transport of this version) stops
    /// audisp-remote, so the channel forwards nothing.
    @Test func audispRemoteAsAudit309ReadsIt() throws {
        let tree = TempTree()
        tree.file("etc/audit/plugins.d/au-remote.conf", "active = yes\n")
        Self.enable("auditd.service", in: tree)
        func audisp(_ conf: String) throws -> (encrypted: JSON?, source: JSON?, transport: JSON?) {
            tree.file("etc/audit/audisp-remote.conf", conf)
            let channel = try channels(tree)?[0]
            return (channel?["encrypted"], channel?["source"], channel?["transport"])
        }
        let file = "/etc/audit/audisp-remote.conf"
        let refused = "audisp-remote refuses its configuration and exits, so nothing is forwarded"
        var c = try audisp("remote_server = logs.example\ntransport = tls\n")
        #expect(c.encrypted == false)
        #expect(c.source == .string("\(file):2 (transport tls is not tcp or krb5: \(refused))"))
        c = try audisp("remote_server = logs.example\ntransport = krb5\nenable_krb5 = maybe\n")
        #expect(c.encrypted == false)
        #expect(c.source == .string("\(file):3 (enable_krb5 maybe is not yes or no: \(refused))"))
        c = try audisp("remote_server = logs.example\ntransport=krb5\n")
        #expect(c.encrypted == false)
        #expect(c.source == .string("\(file):2 (not `name = value` with spaces around =: \(refused))"))
        c = try audisp("remote_server = logs.example\ntransport = krb5 # Kerberos\n")
        #expect(c.source == .string("\(file):2 (transport takes no option after its value: \(refused))"))
        c = try audisp("remote_server = logs.example\ntls_ca_file = /etc/ca.pem\ntransport = krb5\n")
        #expect(c.source == .string("\(file):2 (unknown keyword tls_ca_file: \(refused))"))
        // enable_krb5 and transport: the later line decides; `no` leaves the transport as it is.
        c = try audisp("remote_server = logs.example\ntransport = tcp\nenable_krb5 = yes\n")
        #expect(c.encrypted == true)
        #expect(c.transport == .string("tcp (\(file):2); enable_krb5 yes (\(file):3)"))
        c = try audisp("remote_server = logs.example\nenable_krb5 = yes\ntransport = tcp\n")
        #expect(c.encrypted == false)
        c = try audisp("remote_server = logs.example\ntransport = krb5\nenable_krb5 = no\n")
        #expect(c.encrypted == true)
        // The ascii format writes records as they are, Kerberos or not.
        c = try audisp("REMOTE_SERVER = logs.example\nTransport = Krb5\nformat = ascii\nnetwork_failure_action = syslog\n")
        #expect(c.encrypted == false)
        #expect(c.source == .string("\(file):1"))
        #expect(c.transport == .string("Krb5 (\(file):2); format ascii (\(file):3): records are sent as they are, whatever the transport"))
        c = try audisp("remote_server = logs.example\ntransport = krb5\nformat = ascii\nformat = managed\n")
        #expect(c.encrypted == true)
        #expect(c.transport == .string("krb5 (\(file):2)"))
    }

    // MARK: - Probe tests: timesync

    @Test func timeDaemons() throws {
        let tree = TempTree()
        func timesync() throws -> JSON { try probeFact("timesync", of: TimeSyncProbe(), root: tree.path) }
        #expect(try timesync()["daemons"] == [])
        // An offline root has no synchronisation state to read.
        #expect(try timesync()["synchronized"] == ["not_applicable": "offline root", "source": "/run/systemd/timesync/synchronized"])
        let chrony = "/etc/systemd/system/multi-user.target.wants/chrony.service"
        tree.symlink(String(chrony.dropFirst()), to: "/lib/systemd/system/chrony.service")
        tree.file("etc/chrony/chrony.conf", "driftfile /var/lib/chrony/chrony.drift\n")
        #expect(
            try timesync()["daemons"]
                == [
                    [
                        "configured": false, "name": "chrony", "server": "no server or pool line in /etc/chrony/chrony.conf",
                        "source": .string(chrony),
                    ]
                ])
        tree.file("etc/chrony/sources.d/local.sources", "server ntp.example iburst\n")
        #expect(
            try timesync()["daemons"]
                == [["configured": true, "name": "chrony", "server": "/etc/chrony/sources.d/local.sources:1", "source": .string(chrony)]])

        let timesyncd = TempTree()
        let unit = "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service"
        timesyncd.symlink(String(unit.dropFirst()), to: "/lib/systemd/system/systemd-timesyncd.service")
        #expect(
            try probeFact("timesync", of: TimeSyncProbe(), root: timesyncd.path)["daemons"]
                == [
                    ["configured": true, "name": "systemd-timesyncd", "server": "compiled-in FallbackNTP servers", "source": .string(unit)]
                ])
        timesyncd.symlink("etc/systemd/system/systemd-timesyncd.service", to: "/dev/null")
        #expect(try probeFact("timesync", of: TimeSyncProbe(), root: timesyncd.path)["daemons"] == [])  // masked
    }

    // MARK: - Probe tests: sudo's logging

    @Test func sudoLoggingDefaults() throws {
        let tree = TempTree()
        func defaults() throws -> JSON? { try probeFact("sudoers", of: SudoersProbe(), root: tree.path)["defaults"] }
        tree.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n")
        tree.file("usr/bin/sudo", "", mode: 0o755)
        tree.file("etc/sudoers", "Defaults use_pty\nroot ALL=(ALL:ALL) ALL\n", mode: 0o440)
        #expect(try defaults()?["syslog"] == Self.sourced("authpriv", "default (sudo)"))
        #expect(try defaults()?["logfile"] == Self.sourced(false, "default (sudo)"))
        #expect(try defaults()?["log_output"] == Self.sourced(false, "default (sudo)"))
        tree.file(
            "etc/sudoers",
            "Defaults use_pty\nDefaults !syslog\nDefaults logfile=/var/log/sudo.log\nDefaults log_output\nroot ALL=(ALL:ALL) ALL\n",
            mode: 0o440)
        #expect(try defaults()?["syslog"] == Self.sourced(false, "/etc/sudoers:2"))
        #expect(try defaults()?["logfile"] == Self.sourced("/var/log/sudo.log", "/etc/sudoers:3"))
        #expect(try defaults()?["log_output"] == Self.sourced(true, "/etc/sudoers:4"))
        // Without sudo, the fact says so; without /etc/passwd, the accounts cannot be known.
        let bare = TempTree()
        #expect(
            try probeFact("sudoers", of: SudoersProbe(), root: bare.path)
                == [
                    "installed": false, "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists",
                    "source": "/etc/sudoers",
                ])
        #expect(
            try audit(root: bare.path, probes: [AccountsProbe()]).facts["accounts"]
                == .unavailable(Unavailable(.error, "cannot read /etc/passwd: No such file or directory")))
    }

    // MARK: - Control tests: tables of canned facts

    /// A row: what it is, the facts, the statuses at sl3 and sl4, and text the sl3 summary must
    /// contain (empty: not checked).
    typealias Row = (name: String, facts: [String: Fact], sl3: Status, sl4: Status, says: String)

    static func forwarding(_ channels: [JSON]) -> [String: Fact] {
        ["log_forwarding": .value(["channels": .array(channels), "source": "/etc/rsyslog.conf"])]
    }

    static func channel(_ kind: String, encrypted: Bool, source: String) -> JSON {
        ["kind": .string(kind), "destination": "logs.example", "encrypted": .bool(encrypted), "source": .string(source)]
    }

    static let log006Table: [Row] = [
        (
            "no forwarding", forwarding([]), .fail, .fail,
            "no log forwarding (audisp-remote, rsyslog or systemd-journal-upload) is configured"
        ),
        (
            "rsyslog over plain TCP", forwarding([channel("rsyslog", encrypted: false, source: "/etc/rsyslog.d/60-forward.conf:1")]), .fail,
            .fail, "/etc/rsyslog.d/60-forward.conf:1: an encrypted forwarding channel is false"
        ),
        (
            "rsyslog over TLS", forwarding([channel("rsyslog omfwd", encrypted: true, source: "/etc/rsyslog.d/60-forward.conf:1")]), .pass,
            .pass, ""
        ),
        (
            "journal-upload over HTTPS",
            forwarding([channel("systemd-journal-upload", encrypted: true, source: "/etc/systemd/journal-upload.conf:2")]),
            .pass, .pass, ""
        ),
        (
            "journal-upload configured, its unit not enabled", forwarding([ForwardingTimeTests.uploadNotEnabled]), .fail, .fail,
            "/etc/systemd/journal-upload.conf:2 (systemd-journal-upload.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/systemd-journal-upload.service, so nothing is uploaded): an encrypted forwarding channel is false"
        ),
        (
            "rsyslog over TLS, rsyslog not enabled", forwarding([ForwardingTimeTests.rsyslogNotEnabled]), .fail, .fail,
            "/etc/rsyslog.d/60-forward.conf:1 (rsyslog.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/rsyslog.service, so nothing is forwarded): an encrypted forwarding channel is false"
        ),
        (
            "audisp-remote over Kerberos, auditd not enabled",
            forwarding([
                [
                    "kind": "audisp-remote", "destination": "logs.example", "encrypted": false,
                    "source":
                        "/etc/audit/audisp-remote.conf:1 (auditd.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/auditd.service, so nothing is forwarded)",
                ]
            ]), .fail, .fail,
            "/etc/audit/audisp-remote.conf:1 (auditd.service is not enabled: no link in {/etc,/run}/systemd/system/*.{wants,requires,upholds}/auditd.service, so nothing is forwarded): an encrypted forwarding channel is false"
        ),
        (
            "audisp-remote with transport tls, which audit 3.0.9 refuses",
            forwarding([
                [
                    "kind": "audisp-remote", "destination": "logs.example", "encrypted": false,
                    "source":
                        "/etc/audit/audisp-remote.conf:2 (transport tls is not tcp or krb5: audisp-remote refuses its configuration and exits, so nothing is forwarded)",
                ]
            ]), .fail, .fail,
            "/etc/audit/audisp-remote.conf:2 (transport tls is not tcp or krb5: audisp-remote refuses its configuration and exits, so nothing is forwarded): an encrypted forwarding channel is false"
        ),
        (
            "rsyslog over TLS, whether rsyslog is enabled unknown",
            forwarding([
                ["error": .string(UnknownEnablementTests.unknown), "kind": "rsyslog omfwd", "source": "/etc/rsyslog.d/60-forward.conf:1"]
            ]), .error, .error, UnknownEnablementTests.unknown
        ),
        (
            "audisp-remote over TCP, rsyslog over TLS",
            forwarding([
                channel("audisp-remote", encrypted: false, source: "/etc/audit/audisp-remote.conf:1"),
                channel("rsyslog", encrypted: true, source: "/etc/rsyslog.d/60-forward.conf:3"),
            ]), .pass, .pass, ""
        ),
        (
            "journal-upload over HTTPS, its unit's enablement links unreadable",
            forwarding([
                [
                    "error": .string(UnknownEnablementTests.unknown), "kind": "systemd-journal-upload",
                    "source": "/etc/systemd/journal-upload.conf:2",
                ]
            ]), .error, .error, UnknownEnablementTests.unknown
        ),
        (
            "the same beside rsyslog over TLS",
            forwarding([
                [
                    "error": .string(UnknownEnablementTests.unknown), "kind": "systemd-journal-upload",
                    "source": "/etc/systemd/journal-upload.conf:2",
                ],
                channel("rsyslog omfwd", encrypted: true, source: "/etc/rsyslog.d/60-forward.conf:1"),
            ]), .pass, .pass, ""
        ),
    ]

    static func timesync(
        _ daemons: [JSON], synchronized: JSON = ["not_applicable": "offline root", "source": "/run/systemd/timesync/synchronized"]
    )
        -> [String: Fact]
    {
        ["timesync": .value(["daemons": .array(daemons), "synchronized": synchronized, "source": "/etc/systemd/system"])]
    }

    static let chrony: JSON = [
        "configured": true, "name": "chrony", "server": "/etc/chrony/sources.d/local.sources:1",
        "source": "/etc/systemd/system/multi-user.target.wants/chrony.service",
    ]

    static let log008Table: [Row] = [
        ("no time daemon", timesync([]), .fail, .fail, "no time daemon (systemd-timesyncd, chrony, ntpsec, ntp) is enabled"),
        (
            "chrony without a server",
            timesync([
                [
                    "configured": false, "name": "chrony", "server": "no server or pool line in /etc/chrony/chrony.conf",
                    "source": "/etc/systemd/system/multi-user.target.wants/chrony.service",
                ]
            ]), .fail, .fail, "chrony: an enabled time daemon with a server is false"
        ),
        ("chrony with a server, offline", timesync([chrony]), .pass, .pass, ""),
        (
            "chrony with a server, the clock synchronised",
            timesync([chrony], synchronized: sourced(true, "/run/systemd/timesync/synchronized")), .pass, .pass, ""
        ),
        (
            "chrony with a server, the clock not synchronised",
            timesync([chrony], synchronized: sourced(false, "/run/systemd/timesync/synchronized")), .fail, .fail, ""
        ),
        (
            "no configured daemon found, the enablement links unreadable",
            [
                "timesync": .value([
                    "daemons": UnknownEnablementTests.stated("{systemd-timesyncd,chrony,ntpsec,ntp}.service"),
                    "synchronized": ["not_applicable": "offline root", "source": "/run/systemd/timesync/synchronized"],
                    "source": "/etc/systemd/system",
                ])
            ], .error, .error, UnknownEnablementTests.unknown
        ),
    ]

    /// The facts LOG-009 reads on a host with sudo and only root: sudo's Defaults as given, no
    /// other recorder.
    static func sudo(_ defaults: JSONObject, accounts: Fact? = nil) -> [String: Fact] {
        var all: JSONObject = [
            "syslog": sourced("authpriv", "default (sudo)"), "logfile": sourced(false, "default (sudo)"),
            "log_output": sourced(false, "default (sudo)"),
        ]
        for (key, value) in defaults { all[key] = value }
        return [
            "sudoers": .value([
                "installed": true, "source": "/etc/sudoers", "defaults": .object(all), "scoped_defaults": [],
                "commands": [["rule": "root ALL = (ALL:ALL) ALL", "tags": [], "negated": false, "source": "/etc/sudoers:5"]],
            ]),
            "accounts": accounts ?? .value(["logins": [], "problems": [], "source": "/etc/passwd"]),
            "sshd": .value(["installed": false, "note": "no OpenSSH server: no sshd binary, configuration or unit"]),
            "session_recording": .value(["source": "/etc/sssd/sssd.conf", "tlog_sssd": sourced(false, "default (sssd)")]),
        ]
    }

    static let noSudo: [String: Fact] = {
        var facts = sudo([:])
        facts["sudoers"] = .value([
            "installed": false, "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists", "source": "/etc/sudoers",
        ])
        return facts
    }()

    static let log009Table: [Row] = [
        // sudo logs its events, but nothing records sessions: SL3 asks for a recorder (RAND SL2).
        ("sudo logs to syslog, no recorder", sudo([:]), .fail, .fail, "Defaults log_output is false"),
        ("sudo I/O logs", sudo(["log_output": sourced(true, "/etc/sudoers:2")]), .pass, .pass, ""),
        // Recorded, but sudo's own events are not logged.
        (
            "sudo I/O logs, !syslog", sudo(["log_output": sourced(true, "/etc/sudoers:3"), "syslog": sourced(false, "/etc/sudoers:2")]),
            .fail,
            .fail, "sudo logs to syslog is false"
        ),
        (
            "sudo I/O logs, !syslog but a logfile",
            sudo([
                "log_output": sourced(true, "/etc/sudoers:4"), "syslog": sourced(false, "/etc/sudoers:2"),
                "logfile": sourced("/var/log/sudo.log", "/etc/sudoers:3"),
            ]), .pass, .pass, ""
        ),
        // Without sudo, sessions must still be recorded (tlog or pam_tty_audit); without the
        // accounts, whether a login shell records them cannot be known.
        ("no sudo, root only", noSudo, .fail, .fail, "none of the alternatives holds"),
        (
            "no sudo, no /etc/passwd",
            noSudo.merging(["accounts": .unavailable(Unavailable(.error, "cannot read /etc/passwd: No such file or directory"))]) { $1 },
            .error, .fail, "cannot read /etc/passwd: No such file or directory"
        ),
    ]

    func evaluate(_ control: String, _ row: Row) throws {
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let finding = try cannedFinding(control, profile: profile, facts: row.facts)
            #expect(finding.status == expected, "\(profile) \(row.name): \(finding.summary)")
            if profile == "sl3" { #expect(row.says.isEmpty || finding.summary.contains(row.says), "\(row.name): \(finding.summary)") }
        }
    }

    @Test(arguments: ForwardingTimeTests.log006Table.indices)
    func log006OverATableOfFacts(_ row: Int) throws { try evaluate("LOG-006", Self.log006Table[row]) }

    @Test(arguments: ForwardingTimeTests.log008Table.indices)
    func log008OverATableOfFacts(_ row: Int) throws { try evaluate("LOG-008", Self.log008Table[row]) }

    @Test(arguments: ForwardingTimeTests.log009Table.indices)
    func log009OverATableOfFacts(_ row: Int) throws { try evaluate("LOG-009", Self.log009Table[row]) }

    /// Forwarding configurations as rsyslogd reads them: each is first checked to be one that
    /// rsyslogd 8.2302 (Debian 12, in the root of Scripts/roots) accepts (`rsyslogd -N1`), then
    /// judged by Warden. rsyslogd prints no parse tree, so whether a channel is encrypted is
    /// checked against rsyslog's documentation (omfwd, global(), the netstream drivers).
    static let forwardingCases: [(name: String, config: String, encrypted: Bool)] = [
        (
            "multi-line action with spaces around =",
            """
            action(
              type = "omfwd"
              target = "logs.example" port = "6514" protocol = "tcp"
              StreamDriver = "gtls"   # the GnuTLS driver
              StreamDriverMode = "1"
              StreamDriverAuthMode = "x509/name"
            )
            """, true
        ),
        (
            "global default driver, action without one",
            """
            global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="/etc/rsyslog-ca.pem")
            *.* action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriverMode="1" StreamDriverAuthMode="x509/name")
            """, true
        ),
        (
            "the OpenSSL driver",
            """
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" streamdriver="ossl" streamdrivermode="1" streamdriverauthmode="x509/name")
            """, true
        ),
        (
            "TLS driver but mode 0",
            """
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="0")
            """, false
        ),
        (
            "UDP ignores the stream driver",
            """
            action(type="omfwd" target="logs.example" port="514" protocol="udp" StreamDriver="gtls" StreamDriverMode="1")
            """, false
        ),
        (
            "plain TCP driver by default",
            """
            action(type="omfwd" target="logs.example" port="514" protocol="tcp" StreamDriverMode="1")
            """, false
        ),
        (
            "a parenthesis and a # inside a string",
            """
            template(name="t" type="string" string="(%msg%) # not a comment\n")
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" template="t")
            """, true
        ),
        (
            "legacy @@ with the legacy driver settings",
            """
            $DefaultNetstreamDriver gtls
            $DefaultNetstreamDriverCAFile /etc/rsyslog-ca.pem
            $ActionSendStreamDriverMode 1
            *.* @@logs.example:6514
            """, true
        ),
    ]

    /// 60 generated forwarding configurations: the parameters drawn at random (protocol, driver,
    /// mode, a global or legacy default driver), written in varied forms (one line or several,
    /// spaces around `=`, any case, comments, after a filter). rsyslogd -N1 must accept each;
    /// Warden must judge it as rsyslog's documentation does from the drawn parameters.
    static func generatedForwarding(count: Int) -> [(name: String, config: String, encrypted: Bool)] {
        var rng = SeededGenerator(seed: 8_2302)
        return (0..<count).map { n in
            let proto = ["tcp", "udp", nil].randomElement(using: &rng)!
            let driver = ["gtls", "ossl", "ptcp", nil].randomElement(using: &rng)!
            let mode = ["0", "1", nil].randomElement(using: &rng)!
            let global = ["gtls", "ossl", nil].randomElement(using: &rng)!
            let legacyGlobal = Bool.random(using: &rng)
            func name(_ s: String) -> String { [s, s.lowercased(), s.uppercased()].randomElement(using: &rng)! }
            let eq = [" = ", "=", "= "].randomElement(using: &rng)!
            var params = ["type\(eq)\"omfwd\"", "target\(eq)\"logs.example\"", "port\(eq)\"6514\""]
            if let proto { params.append("\(name("Protocol"))\(eq)\"\(proto)\"") }
            if let driver { params.append("\(name("StreamDriver"))\(eq)\"\(driver)\"") }
            if let mode { params.append("\(name("StreamDriverMode"))\(eq)\"\(mode)\"") }
            if (driver ?? global) != nil && mode == "1" { params.append("StreamDriverAuthMode\(eq)\"anon\"") }
            params.shuffle(using: &rng)
            let multiLine = Bool.random(using: &rng)
            var action = "action(" + params.joined(separator: multiLine ? "\n  " : " ") + (multiLine ? "\n)" : ")")
            if Bool.random(using: &rng) { action = "*.* " + action }
            if multiLine && Bool.random(using: &rng) { action = action.replacingFirst("\n  ", with: "  # forward everything\n  ") }
            var lines: [String] = []
            if let global {
                lines.append(
                    legacyGlobal
                        ? "$DefaultNetstreamDriver \(global)"
                        : "global(DefaultNetstreamDriver=\"\(global)\" DefaultNetstreamDriverCAFile=\"/etc/rsyslog-ca.pem\")")
                if legacyGlobal { lines.append("$DefaultNetstreamDriverCAFile /etc/rsyslog-ca.pem") }
            }
            lines.append(action)
            let effectiveDriver = driver ?? global ?? "ptcp"
            let encrypted = proto == "tcp" && ["gtls", "ossl"].contains(effectiveDriver) && mode == "1"
            return ("generated \(n)", lines.joined(separator: "\n"), encrypted)
        }
    }

    @Test func rsyslogForwardingAsRsyslogdReadsIt() throws {
        let root = try RealRoots.debian12()
        let cases = Self.forwardingCases + Self.generatedForwarding(count: 60)
        // rsyslogd -N1 on every case in one run of the root.
        let layer = TempTree(prefix: "warden-rsyslog-oracle")
        layer.file("etc/rsyslog-ca.pem", "")  // rsyslogd -N1 only checks that the CA file can be opened
        for (n, c) in cases.enumerated() {
            layer.file(
                "cases/\(n)/rsyslog.conf", Self.debianRsyslogConf.replacingFirst("/etc/rsyslog.d/*.conf", with: "/cases/\(n)/d/*.conf"))
            layer.file("cases/\(n)/d/60-forward.conf", c.config + "\n")
        }
        let script = """
            n=0
            while [ -d /cases/$n ]; do
              echo "== $n"
              /usr/sbin/rsyslogd -N1 -f /cases/$n/rsyslog.conf >/tmp/out 2>&1 || { echo "REFUSED"; grep -i error /tmp/out | head -2; }
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var refused: [Int: String] = [:]
        var current = -1
        for line in r.stdout.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("== ") {
                current = Int(line.dropFirst(3)) ?? -1
                continue
            }
            if line.hasPrefix("REFUSED") {
                refused[current] = ""
            } else if refused[current] != nil {
                refused[current]! += String(line) + " "
            }
        }
        #expect(current == cases.count - 1)
        for (n, c) in cases.enumerated() {
            #expect(refused[n] == nil, "\(c.name): rsyslogd -N1 refuses it: \(refused[n] ?? "")\n\(c.config)")
            let tree = TempTree()
            tree.file("etc/rsyslog.conf", Self.debianRsyslogConf)
            tree.file("etc/rsyslog.d/60-forward.conf", c.config + "\n")
            Self.enable("rsyslog.service", in: tree)
            let facts = try audit(root: tree.path, probes: [LogForwardingProbe()]).facts
            guard case .value(let v)? = facts["log_forwarding"] else {
                Issue.record("no fact")
                continue
            }
            let channels = v["channels"]?.arrayValue ?? []
            #expect(channels.count == 1, "\(c.name): \(channels)")
            #expect(channels.first?["encrypted"] == .bool(c.encrypted), "\(c.name): \(channels)\n\(c.config)")
            #expect(channels.first?["source"]?.stringValue?.hasPrefix("/etc/rsyslog.d/60-forward.conf:") == true)
        }
    }
}
