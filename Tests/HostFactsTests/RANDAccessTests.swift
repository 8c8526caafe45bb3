import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// RAND's SL3 placements of ACC-006 (phishing-resistant MFA and sudo step-up), ACC-007 (no
/// standing access) and LOG-009 (sessions recorded). Probe tests read the fixture
/// `access-rand-sl3` (which passes all three at SL3) and copies of it with one thing changed, and
/// assert the facts; control tests evaluate tables of canned facts, one thing changed per row.
@Suite struct RANDAccessTests {
    static let fixture = "access-rand-sl3"
    static let controls = ["ACC-006", "ACC-007", "ACC-008", "LOG-009"]

    /// The fixture, with `change` applied to a copy.
    func tree(_ change: (TempTree) -> Void = { _ in }) -> TempTree {
        let tree = TempTree()
        tree.copy(fixture: Self.fixture)
        change(tree)
        return tree
    }

    func fact(_ name: String, of probe: any Probe, _ change: (TempTree) -> Void = { _ in }) throws -> JSON {
        let tree = tree(change)
        return try probeFact(name, of: probe, root: tree.path)
    }

    func sshd(_ change: (TempTree) -> Void = { _ in }) throws -> JSON { try fact("sshd", of: SSHDConfigProbe(), change) }
    func sudoers(_ change: (TempTree) -> Void = { _ in }) throws -> JSON { try fact("sudoers", of: SudoersProbe(), change) }
    func accounts(_ change: (TempTree) -> Void = { _ in }) throws -> JSON { try fact("accounts", of: AccountsProbe(), change) }

    func sshdConfig(_ tree: TempTree, replacing old: String, with new: String) {
        let text = (try? LocalFile.readText(tree.path + "/etc/ssh/sshd_config")) ?? ""
        tree.file("etc/ssh/sshd_config", text.replacingFirst(old, with: new))
    }

    func sudoersFile(_ tree: TempTree, replacing old: String, with new: String) {
        let text = (try? LocalFile.readText(tree.path + "/etc/sudoers")) ?? ""
        tree.file("etc/sudoers", text.replacingFirst(old, with: new), mode: 0o440)
    }

    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    /// End to end on purpose: every probe on the fixture and the built-in profiles, so the
    /// fixture's claim (RAND's SL3 placement passes, SL4 asks for more) stays true as a whole.
    @Test func theFixturePassesSL3AndSL4SaysWhatItStillWants() throws {
        let sl3 = try audit(root: Package.fixtureRoot(Self.fixture), profile: "sl3").findings
        for id in Self.controls { #expect(sl3[id].status == .pass, "sl3 \(id): \(sl3[id].summary)") }
        let sl4 = try audit(root: Package.fixtureRoot(Self.fixture), profile: "sl4").findings
        // SL4: FIDO keys for SSH itself, and certificates instead of expiring accounts.
        #expect(sl4["ACC-006"].status == .fail)
        #expect(sl4["ACC-006"].summary.contains("PubkeyAcceptedAlgorithms limited to FIDO (sk-) keys"), "\(sl4["ACC-006"].summary)")
        #expect(sl4["ACC-007"].status == .fail)
        #expect(sl4["ACC-007"].summary.contains("TrustedUserCAKeys"), "\(sl4["ACC-007"].summary)")
        #expect(sl4["LOG-009"].status == .pass, "\(sl4["LOG-009"].summary)")
        #expect(sl4["ACC-008"].status == .pass)
    }

    // MARK: - Probe tests: sshd's second factor and user presence (ACC-006)

    @Test func theFixturesSSHFacts() throws {
        let sshd = try sshd()
        #expect(sshd["installed"] == true)
        #expect(sshd["mfa"]?["every_method_list_has_two_factors"] == Self.sourced(true, "/etc/ssh/sshd_config:8"))
        #expect(sshd["mfa"]?["fido_keys_only"] == Self.sourced(false, "default (OpenSSH accepts all key types)"))
        #expect(sshd["settings"]?["usepam"] == Self.sourced("yes", "/etc/ssh/sshd_config:7"))
        #expect(sshd["settings"]?["pubkeyauthoptions"] == Self.sourced("verify-required", "/etc/ssh/sshd_config:9"))
        #expect(sshd["settings"]?["allowgroups"] == Self.sourced("weights-admins", "/etc/ssh/sshd_config:10"))
        #expect(sshd["settings"]?["trustedusercakeys"] == Self.sourced("none", "default (OpenSSH)"))
        #expect(
            sshd["settings"]?["authorizedkeysfile"] == Self.sourced(".ssh/authorized_keys .ssh/authorized_keys2", "default (OpenSSH)"))
        #expect(sshd["pam_u2f_required"] == Self.sourced(true, "/etc/pam.d/sshd:2"))
        #expect(sshd["pam_second_factor_modules"] == ["pam_u2f.so"])
        #expect(sshd["pam_tty_audit"] == Self.sourced(false, "/etc/pam.d/sshd"))
        #expect(sshd["match_blocks"] == [])
        let keys = sshd["authorized_keys"]?.arrayValue ?? []
        #expect(keys.map { $0["path"] } == ["/home/alice/.ssh/authorized_keys"])
        #expect(keys.first?["user"] == "alice")
        #expect(keys.first?["no_touch_required"] == [])
    }

    @Test func anOTPModuleIsSeenAndIsNotPamU2F() throws {
        let sshd = try sshd { t in t.file("etc/pam.d/sshd", "auth required pam_google_authenticator.so\n@include common-auth\n") }
        // Which module was seen is reported (ACC-006's evidence names it).
        #expect(sshd["pam_second_factor_modules"] == ["pam_google_authenticator.so"])
        #expect(sshd["pam_u2f_required"] == Self.sourced(false, "/etc/pam.d/sshd"))
    }

    @Test(arguments: [
        // sufficient: the password alone also gets through.
        ("auth sufficient pam_u2f.so authfile=/etc/u2f_mappings\n@include common-auth\n", "/etc/pam.d/sshd:1"),
        // nouserok: a user without a registered key gets through.
        ("auth required pam_u2f.so authfile=/etc/u2f_mappings nouserok\n@include common-auth\n", "/etc/pam.d/sshd"),
        // pam_unix's success jumps over pam_u2f.
        ("auth [success=1 default=ignore] pam_unix.so\nauth required pam_u2f.so\nauth required pam_permit.so\n", "/etc/pam.d/sshd:2"),
        // A jump past the end of the stack: PAM fails every request, so the key is not what asks.
        ("auth [success=5 default=bad] pam_u2f.so\n", "/etc/pam.d/sshd:1"),
    ])
    func pamU2FThatSomeWayAroundIsNotRequired(sshdStack: String, source: String) throws {
        let sshd = try sshd { t in t.file("etc/pam.d/sshd", sshdStack) }
        #expect(sshd["pam_u2f_required"] == Self.sourced(false, source), "\(sshdStack)")
        #expect(sshd["pam_second_factor_modules"] == ["pam_u2f.so"], "\(sshdStack)")
    }

    @Test func pamU2FInASubstackThatMustSucceedIsRequired() throws {
        let sshd = try sshd { t in
            t.file("etc/pam.d/sshd", "auth substack fido\n@include common-auth\n")
            t.file("etc/pam.d/fido", "auth [success=done default=die] pam_u2f.so cue\n")
        }
        #expect(sshd["pam_u2f_required"] == Self.sourced(true, "/etc/pam.d/fido:1"))
    }

    @Test func fidoKeysOnlyWithoutAPAMPrompt() throws {
        let sshd = try sshd { t in
            t.file("etc/pam.d/sshd", "@include common-auth\n")
            self.sshdConfig(
                t, replacing: "AuthenticationMethods publickey,keyboard-interactive",
                with: "PubkeyAcceptedAlgorithms sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com")
        }
        #expect(sshd["mfa"]?["fido_keys_only"] == Self.sourced(true, "/etc/ssh/sshd_config:8"))
        #expect(sshd["mfa"]?["every_method_list_has_two_factors"] == Self.sourced(false, "default (OpenSSH)"))
        #expect(sshd["pam_second_factor_modules"] == [])
        #expect(sshd["pam_u2f_required"] == Self.sourced(false, "/etc/pam.d/sshd"))
    }

    @Test func userPresenceAsSSHDReadsIt() throws {
        let unset = try sshd { t in self.sshdConfig(t, replacing: "PubkeyAuthOptions verify-required\n", with: "") }
        #expect(unset["settings"]?["pubkeyauthoptions"] == Self.sourced("none", "default (OpenSSH)"))
        // sshd's keywords and values are case-insensitive; the fact is lower case.
        let touch = try sshd { t in
            self.sshdConfig(t, replacing: "PubkeyAuthOptions verify-required", with: "PubkeyAuthOptions Touch-Required")
        }
        #expect(touch["settings"]?["pubkeyauthoptions"] == Self.sourced("touch-required", "/etc/ssh/sshd_config:9"))
        let match = try sshd { t in
            self.sshdConfig(
                t, replacing: "PermitUserEnvironment no", with: "PermitUserEnvironment no\nMatch User alice\n  PubkeyAuthOptions none")
        }
        #expect(
            match["match_blocks"]
                == [
                    [
                        "criteria": "User alice", "source": "/etc/ssh/sshd_config:16",
                        "settings": ["pubkeyauthoptions": Self.sourced("none", "/etc/ssh/sshd_config:17")],
                    ]
                ])
    }

    @Test func aKeyThatSkipsTheTouchIsNamedWithItsLine() throws {
        let sshd = try sshd { t in
            t.file(
                "home/alice/.ssh/authorized_keys2",
                "# old laptop\nfrom=\"10.0.0.0/8\",no-touch-required sk-ssh-ed25519@openssh.com AAAAGnNr alice@old\n")
        }
        let second = sshd["authorized_keys"]?.arrayValue?.first { $0["path"] == "/home/alice/.ssh/authorized_keys2" }
        #expect(second?["user"] == "alice")
        #expect(second?["no_touch_required"] == ["/home/alice/.ssh/authorized_keys2:2"])
    }

    // MARK: - Probe tests: sudo's step-up (ACC-006)

    @Test func theFixturesSudoFacts() throws {
        let sudoers = try sudoers()
        #expect(sudoers["installed"] == true)
        #expect(sudoers["pam_u2f_required"]?["sudo"] == Self.sourced(true, "/etc/pam.d/sudo:2"))
        #expect(sudoers["pam_u2f_required"]?["sudo-i"] == Self.sourced(true, "/etc/pam.d/sudo-i:2"))
        // timestamp_timeout=1 is in minutes; the fact is in seconds.
        #expect(sudoers["defaults"]?["timestamp_timeout"] == Self.sourced(60, "/etc/sudoers:4"))
        #expect(sudoers["defaults"]?["log_output"] == Self.sourced(true, "/etc/sudoers:3"))
        #expect(sudoers["scoped_defaults"] == [])
        #expect(sudoers["commands"]?.arrayValue?.map { $0["tags"] } == [[], []])
    }

    @Test(arguments: [
        ("Defaults\ttimestamp_timeout=1", "Defaults\ttimestamp_timeout=5", Self.sourced(300, "/etc/sudoers:4")),
        ("Defaults\ttimestamp_timeout=1", "Defaults\ttimestamp_timeout=-1", Self.sourced(-60, "/etc/sudoers:4")),
        ("Defaults\ttimestamp_timeout=1\n", "", Self.sourced(900, "default (sudo)")),  // sudo's default, 15 minutes
        ("timestamp_timeout=1", "!timestamp_timeout", Self.sourced(0, "/etc/sudoers:4")),
    ])
    func sudoTimestampTimeoutInSeconds(old: String, new: String, expected: JSON) throws {
        let sudoers = try sudoers { t in self.sudoersFile(t, replacing: old, with: new) }
        #expect(sudoers["defaults"]?["timestamp_timeout"] == expected, "\(new)")
    }

    @Test func aUserScopedTimeoutIsListedWithItsLine() throws {
        let sudoers = try sudoers { t in
            self.sudoersFile(
                t, replacing: "Defaults\ttimestamp_timeout=1", with: "Defaults\ttimestamp_timeout=1\nDefaults:alice timestamp_timeout=10")
        }
        #expect(sudoers["defaults"]?["timestamp_timeout"] == Self.sourced(60, "/etc/sudoers:4"))
        #expect(
            sudoers["scoped_defaults"]
                == [
                    [
                        "option": "timestamp_timeout", "scope": "user alice", "source": "/etc/sudoers:5",
                        "text": "Defaults:alice timestamp_timeout=10", "value": 600,
                    ]
                ])
    }

    @Test func sudoIWithoutTheKey() throws {
        let sudoers = try sudoers { t in t.file("etc/pam.d/sudo-i", "@include common-auth\n") }
        #expect(sudoers["pam_u2f_required"]?["sudo-i"] == Self.sourced(false, "/etc/pam.d/sudo-i"))
        #expect(sudoers["pam_u2f_required"]?["sudo"] == Self.sourced(true, "/etc/pam.d/sudo:2"))
    }

    // MARK: - Probe tests: standing access (ACC-007)

    @Test func servicesAndLockedShellsAreNotLogins() throws {
        let accounts = try accounts()
        #expect(
            accounts["logins"]
                == [
                    [
                        "name": "alice", "uid": 1000, "shell": "/bin/bash", "source": "/etc/shadow:4", "expires": "2027-03-01",
                        "password_locked": true,
                    ]
                ])
        #expect(accounts["uid_range"] == ["min": 1000, "max": 60000, "source": "/etc/login.defs"])
        #expect(accounts["problems"] == [])
    }

    @Test(arguments: [
        ("alice:!:20000:0:99999:7:::", JSON.null),
        ("alice:!:20000:0:99999:7::21184:", "2028-01-01"),
        ("alice:!:20000:0:99999:7::20454:", "2026-01-01"),
    ])
    func accountExpiryAsADate(entry: String, expires: JSON) throws {
        let accounts = try accounts { t in t.file("etc/shadow", "root:*:20000:0:99999:7:::\n\(entry)\n") }
        let alice = accounts["logins"]?.arrayValue?.first
        #expect(alice?["expires"] == expires, "\(entry)")
        // The line ACC-007's evidence names.
        #expect(alice?["source"] == "/etc/shadow:2")
    }

    @Test func certificatesInsteadOfAuthorizedKeysFiles() throws {
        let sshd = try sshd { t in
            self.sshdConfig(
                t, replacing: "AllowGroups", with: "TrustedUserCAKeys /etc/ssh/user_ca.pub\nAuthorizedKeysFile none\nAllowGroups")
        }
        #expect(sshd["settings"]?["trustedusercakeys"] == Self.sourced("/etc/ssh/user_ca.pub", "/etc/ssh/sshd_config:10"))
        #expect(sshd["settings"]?["authorizedkeysfile"] == Self.sourced("none", "/etc/ssh/sshd_config:11"))
        #expect(sshd["settings"]?["allowgroups"] == Self.sourced("weights-admins", "/etc/ssh/sshd_config:12"))
        // sshd reads no authorized_keys file at all.
        #expect(sshd["authorized_keys"] == [])
    }

    @Test func rootsAuthorizedKeysAreCounted() throws {
        let key = try sshd { t in t.file("root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA root@admin\n") }
        let root = key["authorized_keys"]?.arrayValue?.first { $0["user"] == "root" }
        #expect(root?["path"] == "/root/.ssh/authorized_keys")
        #expect(root?["keys"] == 1)
        // An empty file is no key.
        let empty = try sshd { t in t.file("root/.ssh/authorized_keys", "# emptied\n") }
        #expect(empty["authorized_keys"]?.arrayValue?.first { $0["user"] == "root" }?["keys"] == 0)
    }

    // MARK: - Probe tests: session recorders (LOG-009)

    func withoutSudoIOLogs(_ t: TempTree) {
        sudoersFile(t, replacing: "Defaults\tlog_output\n", with: "")
    }

    @Test func withoutLogOutputSudoRecordsNothing() throws {
        let sudoers = try sudoers(withoutSudoIOLogs)
        #expect(sudoers["defaults"]?["log_output"] == Self.sourced(false, "default (sudo)"))
        let recording = try fact("session_recording", of: SessionRecordingProbe(), withoutSudoIOLogs)
        #expect(recording["tlog_sssd"] == Self.sourced(false, "default (sssd)"))
        #expect(recording["note"] == "no /etc/sssd/sssd.conf: SSSD does not record sessions")
    }

    @Test func ttyAuditInSshdsSessionStack() throws {
        let enabled = try sshd { t in
            t.file(
                "etc/pam.d/sshd",
                "auth required pam_u2f.so authfile=/etc/u2f_mappings\n@include common-auth\nsession required pam_tty_audit.so enable=*\n")
        }
        #expect(enabled["pam_tty_audit"] == Self.sourced(true, "/etc/pam.d/sshd:3"))
        // disable= only records nothing.
        let disabled = try sshd { t in
            t.file("etc/pam.d/sshd", "auth required pam_u2f.so\n@include common-auth\nsession required pam_tty_audit.so disable=*\n")
        }
        #expect(disabled["pam_tty_audit"] == Self.sourced(false, "/etc/pam.d/sshd"))
    }

    func tlog(mode: UInt32) -> (TempTree) -> Void {
        { t in
            t.file("etc/sssd/sssd.conf", "[sssd]\nservices = nss, pam\n\n[session_recording]\nscope = all\n", mode: mode)
            t.file("etc/nsswitch.conf", "passwd:         files sss\ngroup:          files sss\n")
        }
    }

    @Test func tlogThroughSSSDRecordsWhenSSSDWouldStart() throws {
        let recording = { (change: @escaping (TempTree) -> Void) in try self.fact("session_recording", of: SessionRecordingProbe(), change)
        }
        let started = try recording(tlog(mode: 0o600))
        #expect(started["tlog_sssd"] == Self.sourced(true, "/etc/sssd/sssd.conf:5"))
        #expect(started["nss_sss"] == Self.sourced(true, "/etc/nsswitch.conf:1"))
        // sssd refuses a configuration others can read: nothing is recorded.
        let refused = try recording(tlog(mode: 0o644))
        #expect(refused["tlog_sssd"]?["value"] == false)
        #expect(refused["note"] == "sssd refuses /etc/sssd/sssd.conf (owner 0, mode 0644; it needs root and 0600)")
        // scope = some with nobody named records nobody.
        let some = try recording { t in
            self.tlog(mode: 0o600)(t)
            t.file("etc/sssd/conf.d/50-recording.conf", "[session_recording]\nscope = some\n", mode: 0o600)
        }
        #expect(some["sssd_scope"] == Self.sourced("some", "/etc/sssd/conf.d/50-recording.conf:2"))
        #expect(some["tlog_sssd"] == Self.sourced(false, "/etc/sssd/conf.d/50-recording.conf:2"))
    }

    @Test func tlogAsTheLoginShell() throws {
        let accounts = try accounts { t in
            let passwd = (try? LocalFile.readText(t.path + "/etc/passwd")) ?? ""
            t.file("etc/passwd", passwd.replacingFirst("/home/alice:/bin/bash", with: "/home/alice:/usr/bin/tlog-rec-session"))
        }
        #expect(accounts["logins"]?.arrayValue?.map { $0["shell"] } == ["/usr/bin/tlog-rec-session"])
    }

    @Test func aLogOutputTagOnEveryRule() throws {
        let sudoers = try sudoers { t in
            t.file(
                "etc/sudoers",
                "Defaults use_pty\nDefaults timestamp_timeout=1\nroot ALL=(ALL:ALL) LOG_OUTPUT: ALL\n%sudo ALL=(ALL:ALL) LOG_OUTPUT: ALL\n",
                mode: 0o440)
        }
        let commands = sudoers["commands"]?.arrayValue ?? []
        #expect(commands.map { $0["tags"] } == [["LOG_OUTPUT"], ["LOG_OUTPUT"]])
        #expect(commands.map { $0["negated"] } == [false, false])
        #expect(sudoers["defaults"]?["log_output"] == Self.sourced(false, "default (sudo)"))
    }

    // MARK: - Control tests: tables of canned facts

    /// The facts the four controls read, as the fixture has them; each row changes one thing.
    struct Host {
        var sshd: JSONObject = [
            "installed": true, "source": "/etc/ssh/sshd_config", "match_blocks": [], "problems": [],
            "pam_u2f_required": RANDAccessTests.sourced(true, "/etc/pam.d/sshd:2"), "pam_second_factor_modules": ["pam_u2f.so"],
            "pam_tty_audit": RANDAccessTests.sourced(false, "/etc/pam.d/sshd"),
            "authorized_keys": [
                [
                    "user": "alice", "keys": 1, "no_touch_required": [], "path": "/home/alice/.ssh/authorized_keys",
                    "source": "/home/alice/.ssh/authorized_keys",
                ]
            ],
        ]
        var mfa: JSONObject = [
            "every_method_list_has_two_factors": RANDAccessTests.sourced(true, "/etc/ssh/sshd_config:8"),
            "fido_keys_only": RANDAccessTests.sourced(false, "default (OpenSSH accepts all key types)"),
        ]
        var settings: JSONObject = [
            "usepam": RANDAccessTests.sourced("yes", "/etc/ssh/sshd_config:7"),
            "pubkeyauthoptions": RANDAccessTests.sourced("verify-required", "/etc/ssh/sshd_config:9"),
            "allowgroups": RANDAccessTests.sourced("weights-admins", "/etc/ssh/sshd_config:10"),
            "trustedusercakeys": RANDAccessTests.sourced("none", "default (OpenSSH)"),
            "authorizedkeysfile": RANDAccessTests.sourced(".ssh/authorized_keys .ssh/authorized_keys2", "default (OpenSSH)"),
        ]
        var sudoers: JSONObject = [
            "installed": true, "source": "/etc/sudoers", "problems": [], "scoped_defaults": [],
            "pam_u2f_required": [
                "sudo": RANDAccessTests.sourced(true, "/etc/pam.d/sudo:2"), "sudo-i": RANDAccessTests.sourced(true, "/etc/pam.d/sudo-i:2"),
            ],
            "commands": [
                [
                    "rule": "root ALL = (ALL:ALL) ALL", "users": ["root"], "hosts": ["ALL"], "runas": "ALL:ALL", "command": "ALL",
                    "tags": [], "negated": false, "source": "/etc/sudoers:5",
                ],
                [
                    "rule": "%sudo ALL = (ALL:ALL) ALL", "users": ["%sudo"], "hosts": ["ALL"], "runas": "ALL:ALL", "command": "ALL",
                    "tags": [], "negated": false, "source": "/etc/sudoers:6",
                ],
            ],
        ]
        var sudoDefaults: JSONObject = [
            "timestamp_timeout": RANDAccessTests.sourced(60, "/etc/sudoers:4"),
            "log_output": RANDAccessTests.sourced(true, "/etc/sudoers:3"),
            "syslog": RANDAccessTests.sourced("authpriv", "default (sudo)"), "logfile": RANDAccessTests.sourced(false, "default (sudo)"),
            "authenticate": RANDAccessTests.sourced(true, "default (sudo)"), "use_pty": RANDAccessTests.sourced(true, "/etc/sudoers:2"),
        ]
        var alice: JSONObject = [
            "name": "alice", "uid": 1000, "shell": "/bin/bash", "source": "/etc/shadow:4", "expires": "2027-03-01", "password_locked": true,
        ]
        var recording: JSONObject = ["source": "/etc/sssd/sssd.conf", "tlog_sssd": RANDAccessTests.sourced(false, "default (sssd)")]
        var renewalDays: Int64?

        var facts: [String: JSON] {
            var sshd = self.sshd
            sshd["mfa"] = .object(mfa)
            sshd["settings"] = .object(settings)
            var sudoers = self.sudoers
            sudoers["defaults"] = .object(sudoDefaults)
            var out: [String: JSON] = [
                "sshd": .object(sshd), "sudoers": .object(sudoers),
                "accounts": ["logins": [.object(alice)], "problems": [], "source": "/etc/passwd"], "session_recording": .object(recording),
            ]
            if let renewalDays { out["site"] = ["access": ["renewal_days": .int(renewalDays)]] }
            return out
        }
    }

    static func host(_ change: (inout Host) -> Void = { _ in }) -> Host {
        var host = Host()
        change(&host)
        return host
    }

    /// A row: what changed, the facts, the statuses at sl3 and sl4, and text the summary at
    /// each level must contain (empty: not checked).
    typealias Row = (name: String, host: Host, sl3: Status, sl4: Status, says: String, sl4Says: String)

    static let acc006Table: [Row] = [
        ("the fixture", host(), .pass, .fail, "", "PubkeyAcceptedAlgorithms limited to FIDO (sk-) keys is false"),
        (
            "an OTP module instead of pam_u2f",
            host {
                $0.sshd["pam_u2f_required"] = sourced(false, "/etc/pam.d/sshd")
                $0.sshd["pam_second_factor_modules"] = ["pam_google_authenticator.so"]
            }, .fail, .fail, "second-factor PAM modules in /etc/pam.d/sshd is [pam_google_authenticator.so]",
            "second-factor PAM modules in /etc/pam.d/sshd is [pam_google_authenticator.so]"
        ),
        (
            "pam_u2f that some way around does not count",
            host { $0.sshd["pam_u2f_required"] = sourced(false, "/etc/pam.d/sshd:1") }, .fail, .fail,
            "pam_u2f on every way through sshd's PAM auth stack is false", ""
        ),
        (
            "FIDO keys only, no PAM prompt",
            host {
                $0.mfa["fido_keys_only"] = sourced(true, "/etc/ssh/sshd_config:8")
                $0.mfa["every_method_list_has_two_factors"] = sourced(false, "default (OpenSSH)")
                $0.sshd["pam_u2f_required"] = sourced(false, "/etc/pam.d/sshd")
                $0.sshd["pam_second_factor_modules"] = []
            }, .pass, .pass, "", ""
        ),
        (
            "no PubkeyAuthOptions", host { $0.settings["pubkeyauthoptions"] = sourced("none", "default (OpenSSH)") }, .fail, .fail,
            "PubkeyAuthOptions is none", ""
        ),
        (
            "touch-required", host { $0.settings["pubkeyauthoptions"] = sourced("touch-required", "/etc/ssh/sshd_config:9") }, .pass,
            .fail, "", ""
        ),
        (
            "PubkeyAuthOptions none in a Match block",
            host {
                $0.sshd["match_blocks"] = [
                    [
                        "criteria": "User alice", "source": "/etc/ssh/sshd_config:16",
                        "settings": ["pubkeyauthoptions": sourced("none", "/etc/ssh/sshd_config:17")],
                    ]
                ]
            }, .fail, .fail, "/etc/ssh/sshd_config:16: PubkeyAuthOptions none in a Match block", ""
        ),
        (
            "a key with no-touch-required",
            host {
                $0.sshd["authorized_keys"] = [
                    [
                        "user": "alice", "keys": 1, "no_touch_required": ["/home/alice/.ssh/authorized_keys2:2"],
                        "path": "/home/alice/.ssh/authorized_keys2", "source": "/home/alice/.ssh/authorized_keys2",
                    ]
                ]
            }, .fail, .fail, "/home/alice/.ssh/authorized_keys2:2", "/home/alice/.ssh/authorized_keys2:2"
        ),
        (
            "sudo timestamp_timeout 5 minutes", host { $0.sudoDefaults["timestamp_timeout"] = sourced(300, "/etc/sudoers:4") }, .fail,
            .fail, "Defaults timestamp_timeout in seconds is 300", ""
        ),
        (
            "sudo timestamp_timeout negative, never expires",
            host { $0.sudoDefaults["timestamp_timeout"] = sourced(-60, "/etc/sudoers:4") }, .fail, .fail,
            "Defaults timestamp_timeout in seconds (negative never expires) is -60", ""
        ),
        (
            "sudo's default timestamp_timeout, 15 minutes",
            host { $0.sudoDefaults["timestamp_timeout"] = sourced(900, "default (sudo)") }, .fail, .fail,
            "Defaults timestamp_timeout in seconds is 900", ""
        ),
        (
            "sudo asks every time", host { $0.sudoDefaults["timestamp_timeout"] = sourced(0, "/etc/sudoers:4") }, .pass, .fail, "", ""
        ),
        (
            "a user-scoped timestamp_timeout of 10 minutes",
            host {
                $0.sudoers["scoped_defaults"] = [
                    [
                        "option": "timestamp_timeout", "scope": "user alice", "source": "/etc/sudoers:5",
                        "text": "Defaults:alice timestamp_timeout=10", "value": 600,
                    ]
                ]
            }, .fail, .fail, "/etc/sudoers:5: timestamp_timeout in seconds is 600", ""
        ),
        (
            "sudo -i without the key",
            host {
                $0.sudoers["pam_u2f_required"] = [
                    "sudo": sourced(true, "/etc/pam.d/sudo:2"), "sudo-i": sourced(false, "/etc/pam.d/sudo-i"),
                ]
            },
            .fail, .fail, "pam_u2f on every way through sudo -i's PAM auth stack is false", ""
        ),
        (
            "sudo not installed",
            host {
                $0.sudoers = ["installed": false]
                $0.sudoDefaults = [:]
            }, .pass, .fail, "", ""
        ),
        ("no OpenSSH server", host { $0.sshd["installed"] = false }, .notApplicable, .notApplicable, "", ""),
    ]

    static let acc007Table: [Row] = [
        ("the fixture", host(), .pass, .fail, "", "TrustedUserCAKeys is none"),
        (
            "an account that never expires", host { $0.alice["expires"] = .null }, .fail, .fail,
            "alice: account expiry is not set, expected at most 183 days after 2026-11-29T12:00:00Z", ""
        ),
        (
            "an expiry past the renewal period", host { $0.alice["expires"] = "2028-01-01" }, .fail, .fail,
            "alice: account expiry is 2028-01-01", ""
        ),
        // The fixture's 2027-03-01 is 92 days ahead: within 183, not within a site's 30.
        (
            "the site's renewal period of 30 days", host { $0.renewalDays = 30 }, .fail, .fail,
            "alice: account expiry is 2027-03-01, expected at most 30 days after", ""
        ),
        (
            "the site's renewal period of 400 days",
            host {
                $0.alice["expires"] = "2028-01-01"
                $0.renewalDays = 400
            }, .pass, .fail, "", ""
        ),
        // An account that has expired is no access at all.
        ("an account that has expired", host { $0.alice["expires"] = "2026-01-01" }, .pass, .fail, "", ""),
        (
            "certificates instead of expiring accounts",
            host {
                $0.alice["expires"] = .null
                $0.settings["trustedusercakeys"] = sourced("/etc/ssh/user_ca.pub", "/etc/ssh/sshd_config:10")
                $0.settings["authorizedkeysfile"] = sourced("none", "/etc/ssh/sshd_config:11")
                $0.sshd["authorized_keys"] = []
            }, .pass, .pass, "", ""
        ),
        (
            "root with an authorized key",
            host {
                $0.sshd["authorized_keys"] = [
                    [
                        "user": "root", "keys": 1, "no_touch_required": [], "path": "/root/.ssh/authorized_keys",
                        "source": "/root/.ssh/authorized_keys",
                    ]
                ]
            }, .fail, .fail, "/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys"
        ),
        (
            "root's authorized_keys emptied",
            host {
                $0.sshd["authorized_keys"] = [
                    [
                        "user": "root", "keys": 0, "no_touch_required": [], "path": "/root/.ssh/authorized_keys",
                        "source": "/root/.ssh/authorized_keys",
                    ]
                ]
            }, .pass, .fail, "", ""
        ),
        ("no AllowGroups or AllowUsers", host { $0.settings.removeValue(forKey: "allowgroups") }, .fail, .fail, "AllowGroups", ""),
    ]

    static func withoutLogOutput(_ host: inout Host) {
        host.sudoDefaults["log_output"] = sourced(false, "default (sudo)")
    }

    static let log009Table: [Row] = [
        ("the fixture: sudo I/O logs", host(), .pass, .pass, "", ""),
        (
            "no recorder", host(withoutLogOutput), .fail, .fail, "none of the alternatives holds",
            "Defaults log_output is false, expected = true"
        ),
        (
            "pam_tty_audit in sshd's session stack",
            host {
                withoutLogOutput(&$0)
                $0.sshd["pam_tty_audit"] = sourced(true, "/etc/pam.d/sshd:3")
            }, .pass, .fail, "", "Defaults log_output"
        ),
        (
            "pam_tty_audit without UsePAM",
            host {
                withoutLogOutput(&$0)
                $0.sshd["pam_tty_audit"] = sourced(true, "/etc/pam.d/sshd:3")
                $0.settings["usepam"] = sourced("no", "/etc/ssh/sshd_config:7")
            }, .fail, .fail, "UsePAM is no", ""
        ),
        (
            "tlog through SSSD",
            host {
                withoutLogOutput(&$0)
                $0.recording["tlog_sssd"] = sourced(true, "/etc/sssd/sssd.conf:5")
            }, .pass, .fail, "", "Defaults log_output"
        ),
        (
            "tlog as the login shell",
            host {
                withoutLogOutput(&$0)
                $0.alice["shell"] = "/usr/bin/tlog-rec-session"
            }, .pass, .fail, "", "Defaults log_output"
        ),
        (
            "a LOG_OUTPUT tag on every rule",
            host {
                withoutLogOutput(&$0)
                $0.sudoers["commands"] = [
                    ["rule": "root ALL = (ALL:ALL) LOG_OUTPUT: ALL", "tags": ["LOG_OUTPUT"], "negated": false, "source": "/etc/sudoers:3"],
                    [
                        "rule": "%sudo ALL = (ALL:ALL) LOG_OUTPUT: ALL", "tags": ["LOG_OUTPUT"], "negated": false,
                        "source": "/etc/sudoers:4",
                    ],
                ]
            }, .pass, .fail, "", "Defaults log_output is false"
        ),
    ]

    func evaluate(_ control: String, _ table: [Row], row: Int) throws {
        let (name, host, sl3, sl4, says, sl4Says) = table[row]
        for (profile, expected, text) in [("sl3", sl3, says), ("sl4", sl4, sl4Says)] {
            let finding = try cannedFinding(control, profile: profile, facts: host.facts)
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(text.isEmpty || finding.summary.contains(text), "\(profile) \(name): \(finding.summary)")
        }
    }

    @Test(arguments: RANDAccessTests.acc006Table.indices)
    func acc006OverATableOfFacts(_ row: Int) throws { try evaluate("ACC-006", Self.acc006Table, row: row) }

    @Test(arguments: RANDAccessTests.acc007Table.indices)
    func acc007OverATableOfFacts(_ row: Int) throws { try evaluate("ACC-007", Self.acc007Table, row: row) }

    @Test(arguments: RANDAccessTests.log009Table.indices)
    func log009OverATableOfFacts(_ row: Int) throws { try evaluate("LOG-009", Self.log009Table, row: row) }
}
