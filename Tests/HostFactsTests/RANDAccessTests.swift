import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// RAND's SL3 placements of ACC-006 (phishing-resistant MFA and sudo step-up), ACC-007 (no
/// standing access) and LOG-009 (sessions recorded), on the fixture `access-rand-sl3` (which
/// passes all three at SL3) and on copies of it with one thing changed.
@Suite struct RANDAccessTests {
    static let fixture = "access-rand-sl3"
    static let controls = ["ACC-006", "ACC-007", "ACC-008", "LOG-009"]

    /// The fixture, with `change` applied to a copy.
    func findings(profile: String = "sl3", site: String? = nil, _ change: (TempTree) -> Void = { _ in }) throws -> [Finding] {
        let tree = TempTree()
        tree.copy(fixture: Self.fixture)
        change(tree)
        return try audit(root: tree.path, profile: profile, site: site).findings
    }

    func sshdConfig(_ tree: TempTree, replacing old: String, with new: String) {
        let text = (try? LocalFile.readText(tree.path + "/etc/ssh/sshd_config")) ?? ""
        tree.file("etc/ssh/sshd_config", text.replacingFirst(old, with: new))
    }

    @Test func theFixturePassesSL3AndSL4SaysWhatItStillWants() throws {
        let sl3 = try findings()
        for id in Self.controls { #expect(sl3[id].status == .pass, "sl3 \(id): \(sl3[id].summary)") }
        let sl4 = try findings(profile: "sl4")
        // SL4: FIDO keys for SSH itself, and certificates instead of expiring accounts.
        #expect(sl4["ACC-006"].status == .fail)
        #expect(sl4["ACC-006"].summary.contains("PubkeyAcceptedAlgorithms limited to FIDO (sk-) keys"), "\(sl4["ACC-006"].summary)")
        #expect(sl4["ACC-007"].status == .fail)
        #expect(sl4["ACC-007"].summary.contains("TrustedUserCAKeys"), "\(sl4["ACC-007"].summary)")
        #expect(sl4["LOG-009"].status == .pass, "\(sl4["LOG-009"].summary)")
        #expect(sl4["ACC-008"].status == .pass)
    }

    // MARK: - ACC-006

    @Test func anOTPModuleIsNoLongerEnoughAtSL3() throws {
        for profile in ["sl3", "sl4"] {
            let f = try findings(profile: profile) { t in
                t.file("etc/pam.d/sshd", "auth required pam_google_authenticator.so\n@include common-auth\n")
            }["ACC-006"]
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            // Which module was seen is still reported.
            #expect(f.evidence.contains { $0.observed == ["pam_google_authenticator.so"] }, "\(f.evidence)")
        }
    }

    @Test(arguments: [
        // sufficient: the password alone also gets through.
        "auth sufficient pam_u2f.so authfile=/etc/u2f_mappings\n@include common-auth\n",
        // nouserok: a user without a registered key gets through.
        "auth required pam_u2f.so authfile=/etc/u2f_mappings nouserok\n@include common-auth\n",
        // pam_unix's success jumps over pam_u2f.
        "auth [success=1 default=ignore] pam_unix.so\nauth required pam_u2f.so\nauth required pam_permit.so\n",
        // A jump past the end of the stack: PAM fails every request, so the key is not what asks.
        "auth [success=5 default=bad] pam_u2f.so\n",
    ])
    func pamU2FThatSomeWayAroundDoesNotCount(sshdStack: String) throws {
        let f = try findings { t in t.file("etc/pam.d/sshd", sshdStack) }["ACC-006"]
        #expect(f.status == .fail, "\(sshdStack): \(f.summary)")
        #expect(f.summary.contains("pam_u2f on every way through sshd's PAM auth stack is false"), "\(f.summary)")
    }

    @Test func pamU2FInASubstackThatMustSucceedCounts() throws {
        let f = try findings { t in
            t.file("etc/pam.d/sshd", "auth substack fido\n@include common-auth\n")
            t.file("etc/pam.d/fido", "auth [success=done default=die] pam_u2f.so cue\n")
        }["ACC-006"]
        #expect(f.status == .pass, "\(f.summary)")
    }

    @Test func fidoKeysOnlyPassWithoutAPAMPromptAndSatisfySL4sRequireFido() throws {
        for profile in ["sl3", "sl4"] {
            let f = try findings(profile: profile) { t in
                t.file("etc/pam.d/sshd", "@include common-auth\n")
                self.sshdConfig(
                    t, replacing: "AuthenticationMethods publickey,keyboard-interactive",
                    with: "PubkeyAcceptedAlgorithms sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com")
            }["ACC-006"]
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func userPresenceMustBeAsked() throws {
        let unset = try findings { t in self.sshdConfig(t, replacing: "PubkeyAuthOptions verify-required\n", with: "") }["ACC-006"]
        #expect(unset.status == .fail)
        #expect(unset.evidence.contains { $0.source == "default (OpenSSH)" && $0.observed == "none" }, "\(unset.evidence)")
        let touch = try findings { t in
            self.sshdConfig(t, replacing: "PubkeyAuthOptions verify-required", with: "PubkeyAuthOptions Touch-Required")
        }["ACC-006"]
        #expect(touch.status == .pass, "\(touch.summary)")
        let match = try findings { t in
            self.sshdConfig(
                t, replacing: "PermitUserEnvironment no", with: "PermitUserEnvironment no\nMatch User alice\n  PubkeyAuthOptions none")
        }["ACC-006"]
        #expect(match.status == .fail)
        #expect(match.summary.contains("PubkeyAuthOptions none in a Match block"), "\(match.summary)")
    }

    @Test func aKeyThatSkipsTheTouchFailsNamingItsLine() throws {
        for profile in ["sl3", "sl4"] {
            let f = try findings(profile: profile) { t in
                t.file(
                    "home/alice/.ssh/authorized_keys2",
                    "# old laptop\nfrom=\"10.0.0.0/8\",no-touch-required sk-ssh-ed25519@openssh.com AAAAGnNr alice@old\n")
            }["ACC-006"]
            #expect(f.status == .fail)
            #expect(f.summary.contains("/home/alice/.ssh/authorized_keys2:2"), "\(profile): \(f.summary)")
        }
    }

    @Test(arguments: [
        ("Defaults\ttimestamp_timeout=1", "Defaults\ttimestamp_timeout=5", "is 300"),
        ("Defaults\ttimestamp_timeout=1", "Defaults\ttimestamp_timeout=-1", "is -60"),
        ("Defaults\ttimestamp_timeout=1\n", "", "is 900"),  // sudo's default, 15 minutes
        (
            "Defaults\ttimestamp_timeout=1", "Defaults\ttimestamp_timeout=1\nDefaults:alice timestamp_timeout=10",
            "/etc/sudoers:5: timestamp_timeout in seconds is 600"
        ),
    ])
    func sudoCredentialsMustExpireWithinAMinute(old: String, new: String, message: String) throws {
        let f = try findings { t in
            let text = (try? LocalFile.readText(t.path + "/etc/sudoers")) ?? ""
            t.file("etc/sudoers", text.replacingFirst(old, with: new), mode: 0o440)
        }["ACC-006"]
        #expect(f.status == .fail)
        #expect(f.summary.contains(message), "\(f.summary)")
    }

    @Test func sudoWithoutTheKeyFails() throws {
        let f = try findings { t in t.file("etc/pam.d/sudo-i", "@include common-auth\n") }["ACC-006"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("sudo -i's PAM auth stack"), "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/etc/pam.d/sudo-i" && $0.observed == false })
        let zero = try findings { t in
            let text = (try? LocalFile.readText(t.path + "/etc/sudoers")) ?? ""
            t.file("etc/sudoers", text.replacingFirst("timestamp_timeout=1", with: "!timestamp_timeout"), mode: 0o440)
        }["ACC-006"]
        #expect(zero.status == .pass, "\(zero.summary)")
    }

    // MARK: - ACC-007

    @Test func anAccountThatNeverExpiresIsStandingAccess() throws {
        let f = try findings { t in
            t.file("etc/shadow", "root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7:::\n")
        }["ACC-007"]
        #expect(f.status == .fail)
        #expect(
            f.summary.contains("alice: account expiry is not set, expected at most 183 days after 2026-11-29T12:00:00Z"), "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/etc/shadow:2" })
    }

    @Test func anExpiryPastTheRenewalPeriodFailsAndTheSiteSetsThePeriod() throws {
        let far = { (t: TempTree) -> Void in _ = t.file("etc/shadow", "root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7::21184:\n") }
        let f = try findings(far)["ACC-007"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("alice: account expiry is 2028-01-01"), "\(f.summary)")
        // The fixture's 2027-03-01 is 92 days ahead: within 183, not within a site's 30.
        let strict = try findings(site: "access:\n  renewal_days: 30\n")["ACC-007"]
        #expect(strict.status == .fail, "\(strict.summary)")
        #expect(try findings(site: "access:\n  renewal_days: 400\n", far)["ACC-007"].status == .pass)
        // An account that has expired is no access at all.
        let expired = try findings { t in _ = t.file("etc/shadow", "root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7::20454:\n") }
        #expect(expired["ACC-007"].status == .pass)
    }

    @Test func certificatesPassAtSL3AndSL4WithoutExpiringAccounts() throws {
        for profile in ["sl3", "sl4"] {
            let f = try findings(profile: profile) { t in
                t.file("etc/shadow", "root:*:20000:0:99999:7:::\nalice:!:20000:0:99999:7:::\n")
                self.sshdConfig(
                    t, replacing: "AllowGroups", with: "TrustedUserCAKeys /etc/ssh/user_ca.pub\nAuthorizedKeysFile none\nAllowGroups")
            }["ACC-007"]
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func rootWithAnAuthorizedKeyFailsAtSL3AndSL4() throws {
        for profile in ["sl3", "sl4"] {
            let f = try findings(profile: profile) { t in
                t.file("root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA root@admin\n")
            }["ACC-007"]
            #expect(f.status == .fail)
            #expect(f.summary.contains("/root/.ssh/authorized_keys"), "\(profile): \(f.summary)")
        }
        // An empty file is no key.
        let empty = try findings { t in t.file("root/.ssh/authorized_keys", "# emptied\n") }["ACC-007"]
        #expect(empty.status == .pass, "\(empty.summary)")
    }

    @Test func servicesAndLockedShellsAreNotLogins() throws {
        let facts = try audit(root: Package.fixtureRoot(Self.fixture), probes: [AccountsProbe()]).facts
        guard case .value(let accounts)? = facts["accounts"] else {
            Issue.record("no accounts fact")
            return
        }
        #expect(
            accounts["logins"]
                == [
                    [
                        "name": "alice", "uid": 1000, "shell": "/bin/bash", "source": "/etc/shadow:4", "expires": "2027-03-01",
                        "password_locked": true,
                    ]
                ])
        #expect(accounts["uid_range"] == ["min": 1000, "max": 60000, "source": "/etc/login.defs"])
    }

    // MARK: - LOG-009

    func withoutSudoIOLogs(_ t: TempTree) {
        let text = (try? LocalFile.readText(t.path + "/etc/sudoers")) ?? ""
        t.file("etc/sudoers", text.replacingFirst("Defaults\tlog_output\n", with: ""), mode: 0o440)
    }

    @Test func noRecorderFailsAtSL3() throws {
        let f = try findings(withoutSudoIOLogs)["LOG-009"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("none of the alternatives holds"), "\(f.summary)")
    }

    @Test func ttyAuditInSshdsSessionStackRecordsAtSL3NotForSL4() throws {
        let tty = { (t: TempTree) in
            self.withoutSudoIOLogs(t)
            t.file(
                "etc/pam.d/sshd",
                "auth required pam_u2f.so authfile=/etc/u2f_mappings\n@include common-auth\nsession required pam_tty_audit.so enable=*\n")
        }
        #expect(try findings(tty)["LOG-009"].status == .pass)
        let sl4 = try findings(profile: "sl4", tty)["LOG-009"]
        #expect(sl4.status == .fail)
        #expect(sl4.summary.contains("Defaults log_output"), "\(sl4.summary)")
        // disable= only, or a line the stack jumps over, records nothing.
        let disable = try findings { t in
            self.withoutSudoIOLogs(t)
            t.file("etc/pam.d/sshd", "auth required pam_u2f.so\n@include common-auth\nsession required pam_tty_audit.so disable=*\n")
        }
        #expect(disable["LOG-009"].status == .fail)
    }

    @Test func tlogThroughSSSDRecordsWhenSSSDWouldStart() throws {
        let tlog = { (mode: UInt32) in
            { (t: TempTree) in
                self.withoutSudoIOLogs(t)
                t.file("etc/sssd/sssd.conf", "[sssd]\nservices = nss, pam\n\n[session_recording]\nscope = all\n", mode: mode)
                t.file("etc/nsswitch.conf", "passwd:         files sss\ngroup:          files sss\n")
            }
        }
        #expect(try findings(tlog(0o600))["LOG-009"].status == .pass)
        // sssd refuses a configuration others can read: nothing is recorded.
        #expect(try findings(tlog(0o644))["LOG-009"].status == .fail)
        // scope = some with nobody named records nobody.
        let some = try findings { t in
            tlog(0o600)(t)
            t.file("etc/sssd/conf.d/50-recording.conf", "[session_recording]\nscope = some\n", mode: 0o600)
        }
        #expect(some["LOG-009"].status == .fail)
    }

    @Test func tlogAsTheLoginShellRecords() throws {
        let f = try findings { t in
            self.withoutSudoIOLogs(t)
            let passwd = (try? LocalFile.readText(t.path + "/etc/passwd")) ?? ""
            t.file("etc/passwd", passwd.replacingFirst("/home/alice:/bin/bash", with: "/home/alice:/usr/bin/tlog-rec-session"))
        }["LOG-009"]
        #expect(f.status == .pass, "\(f.summary)")
    }

    @Test func aLogOutputTagOnEveryRuleRecords() throws {
        let f = try findings { t in
            t.file(
                "etc/sudoers",
                "Defaults use_pty\nDefaults timestamp_timeout=1\nroot ALL=(ALL:ALL) LOG_OUTPUT: ALL\n%sudo ALL=(ALL:ALL) LOG_OUTPUT: ALL\n",
                mode: 0o440)
        }["LOG-009"]
        #expect(f.status == .pass, "\(f.summary)")
    }
}
