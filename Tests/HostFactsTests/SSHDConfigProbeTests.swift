import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The sshd probe (sshd_config with Include and Match, OpenSSH's defaults) and the SSH controls
/// that read it: ACC-004, ACC-005, ACC-006, ACC-007, ACC-010, ACC-011.
@Suite struct SSHDConfigProbeTests {
    static let sshControls = ["ACC-004", "ACC-005", "ACC-006", "ACC-007", "ACC-010", "ACC-011"]

    func sshd(_ root: String) throws -> JSON { try probeFact("sshd", of: SSHDConfigProbe(), root: root) }

    /// The whole fact as the probe states it, for the cases where there is no value.
    func state(_ root: String) throws -> Fact? { try audit(root: root, probes: [SSHDConfigProbe()]).facts["sshd"] }

    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    static let main = "/etc/ssh/sshd_config"

    // MARK: - Probe tests: the facts of each fixture

    @Test func theHardenedConfiguration() throws {
        let v = try sshd(Package.fixtureRoot("sshd-hardened"))
        let s = SSHDConfigProbeTests.self
        let forwarding = "/etc/ssh/sshd_config.d/10-forwarding.conf"
        #expect(v["installed"] == true)
        let settings = v["settings"]
        for (keyword, expected) in [
            ("permitrootlogin", s.sourced("no", "\(s.main):5")), ("passwordauthentication", s.sourced("no", "\(s.main):6")),
            ("permitemptypasswords", s.sourced("no", "\(s.main):7")), ("kbdinteractiveauthentication", s.sourced("yes", "\(s.main):8")),
            ("usepam", s.sourced("yes", "\(s.main):9")), ("pubkeyauthoptions", s.sourced("verify-required", "\(s.main):12")),
            ("allowgroups", s.sourced("weights-admins", "\(s.main):13")),
            ("trustedusercakeys", s.sourced("/etc/ssh/user_ca.pub", "\(s.main):14")),
            ("authorizedkeysfile", s.sourced("none", "\(s.main):15")), ("maxauthtries", s.sourced(3, "\(s.main):16")),
            // 5m in seconds, as sshd's convtime reads it.
            ("clientaliveinterval", s.sourced(300, "\(s.main):17")),
            // The drop-in is included first, so its lines win.
            ("disableforwarding", s.sourced("yes", "\(forwarding):1")), ("allowtcpforwarding", s.sourced("no", "\(forwarding):2")),
            ("x11forwarding", s.sourced("no", "\(forwarding):3")), ("allowagentforwarding", s.sourced("no", "\(forwarding):4")),
            ("allowstreamlocalforwarding", s.sourced("no", "\(forwarding):5")), ("permittunnel", s.sourced("no", "\(forwarding):6")),
            ("permituserenvironment", s.sourced("no", "\(forwarding):7")),
        ] as [(String, JSON)] {
            #expect(settings?[keyword] == expected, "\(keyword)")
        }
        #expect(v["match_blocks"] == [])
        #expect(v["mfa"]?["every_method_list_has_two_factors"] == s.sourced(true, "\(s.main):10"))
        #expect(v["mfa"]?["keyboard_interactive_only_second"] == s.sourced(true, "\(s.main):10"))
        #expect(v["mfa"]?["fido_keys_only"]?["value"] == true)
        #expect(v["mfa"]?["fido_keys_only"]?["source"] == .string("\(s.main):11"))
        #expect(v["pam_second_factor_modules"] == ["pam_u2f.so"])
        // pam_u2f is required before Debian's common-auth, which the stack includes: every way
        // through sshd's auth stack runs it and needs it to succeed.
        #expect(v["pam_u2f_required"] == ["value": true, "source": "/etc/pam.d/sshd:2"])
        #expect(v["authorized_keys"] == [])
    }

    @Test func aDropInWinsOverLaterLinesOfTheMainFile() throws {
        let settings = try sshd(Package.fixtureRoot("sshd-dropin-overrides-main"))["settings"]
        #expect(settings?["permitrootlogin"] == SSHDConfigProbeTests.sourced("yes", "/etc/ssh/sshd_config.d/50-cloud-init.conf:1"))
        #expect(settings?["passwordauthentication"] == SSHDConfigProbeTests.sourced("no", "/etc/ssh/sshd_config:4"))
    }

    @Test func aMatchBlockIsKeptApartWithItsOwnSettings() throws {
        let v = try sshd(Package.fixtureRoot("sshd-match-reenables-passwords"))
        #expect(v["settings"]?["passwordauthentication"] == SSHDConfigProbeTests.sourced("no", "/etc/ssh/sshd_config:2"))
        let blocks = v["match_blocks"]?.arrayValue ?? []
        #expect(blocks.count == 1)
        #expect(blocks.first?["criteria"] == "User contractor")
        #expect(blocks.first?["source"] == "/etc/ssh/sshd_config:6")
        #expect(blocks.first?["settings"] == ["passwordauthentication": SSHDConfigProbeTests.sourced("yes", "/etc/ssh/sshd_config:7")])
    }

    @Test func absentKeywordsTakeOpenSSHDefaults() throws {
        let settings = try sshd(Package.fixtureRoot("sshd-defaults"))["settings"]
        let openssh = "default (OpenSSH)"
        for (keyword, expected) in [
            ("permitrootlogin", "prohibit-password"), ("passwordauthentication", "yes"), ("maxauthtries", 6), ("clientaliveinterval", 0),
            ("allowtcpforwarding", "yes"), ("x11forwarding", "no"), ("permittunnel", "no"),
            ("authorizedkeysfile", ".ssh/authorized_keys .ssh/authorized_keys2"),
        ] as [(String, JSON)] {
            #expect(settings?[keyword] == SSHDConfigProbeTests.sourced(expected, openssh), "\(keyword)")
        }
        // Nothing restricts who may log in, and no default does.
        #expect(settings?["allowgroups"] == nil && settings?["allowusers"] == nil)
        #expect(settings?["port"] == SSHDConfigProbeTests.sourced("22", "/etc/ssh/sshd_config:2"))
    }

    @Test func noServerMeansNoServerFacts() throws {
        let tree = TempTree()
        tree.directory("etc")
        #expect(
            try sshd(tree.path)
                == [
                    "installed": false, "source": "/etc/ssh/sshd_config",
                    "note": "no OpenSSH server: no sshd binary, configuration or unit",
                    "host_keys": ["not_applicable": "no OpenSSH server is installed"],
                    "authorized_keys": ["not_applicable": "no OpenSSH server is installed"],
                ])
    }

    @Test func aServerWithoutConfigurationLeavesNoFact() throws {
        let tree = TempTree()
        tree.file("usr/sbin/sshd", "", mode: 0o755)
        #expect(
            try state(tree.path)
                == .unavailable(
                    .error(
                        "an OpenSSH server is present (the binary /usr/sbin/sshd) but /etc/ssh/sshd_config does not exist: sshd will not start without it"
                    )))
    }

    @Test func anIncludeCycleIsAnErrorNotAHang() throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\n")
        guard case .unavailable(let why)? = try state(tree.path) else {
            Issue.record("an Include cycle gave a value")
            return
        }
        #expect(why.kind == .error)
        #expect(why.reason.contains("Include nested deeper"), "\(why.reason)")
    }

    @Test(arguments: [
        ("PermitRootLogin=yes", "permitrootlogin", JSON.string("yes")),
        ("permitrootlogin   without-password", "permitrootlogin", "prohibit-password"),
        ("ChallengeResponseAuthentication no", "kbdinteractiveauthentication", "no"),
        ("ClientAliveInterval 1h30m", "clientaliveinterval", 5400),
        ("MaxAuthTries = 3", "maxauthtries", 3),
    ])
    func keywordSyntax(line: String, keyword: String, expected: JSON) throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", line + "\n")
        #expect(try sshd(tree.path)["settings"]?[keyword] == SSHDConfigProbeTests.sourced(expected, "/etc/ssh/sshd_config:1"))
    }

    @Test func firstValueWins() throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "MaxAuthTries 3\nMaxAuthTries 10\n")
        #expect(try sshd(tree.path)["settings"]?["maxauthtries"] == SSHDConfigProbeTests.sourced(3, "/etc/ssh/sshd_config:1"))
    }

    // MARK: - Control tests: the SSH controls over a table of canned facts

    /// The sshd fact of the hardened fixture (what `theHardenedConfiguration` collects); each row
    /// changes one thing.
    static func hardened(
        _ changes: [String: JSON] = [:], removing: [String] = [], matchBlocks: [JSON] = [], mfa: [String: JSON] = [:], pamU2F: Bool = false,
        installed: Bool = true
    ) -> JSON {
        var settings: JSONObject = [:]
        for (keyword, value) in [
            "permitrootlogin": "no", "passwordauthentication": "no", "permitemptypasswords": "no", "kbdinteractiveauthentication": "yes",
            "usepam": "yes", "pubkeyauthoptions": "verify-required", "allowgroups": "weights-admins",
            "trustedusercakeys": "/etc/ssh/user_ca.pub",
            "authorizedkeysfile": "none", "maxauthtries": 3, "clientaliveinterval": 300, "disableforwarding": "yes",
            "allowtcpforwarding": "no", "x11forwarding": "no", "allowagentforwarding": "no", "allowstreamlocalforwarding": "no",
            "permittunnel": "no", "permituserenvironment": "no",
        ] as [String: JSON] {
            settings[keyword] = sourced(value, "\(main):5")
        }
        for (keyword, value) in changes { settings[keyword] = value }
        for keyword in removing { settings[keyword] = nil }
        var factors: JSONObject = [
            "every_method_list_has_two_factors": sourced(true, "\(main):10"),
            "keyboard_interactive_only_second": sourced(true, "\(main):10"),
            "fido_keys_only": sourced(true, "\(main):11"),
        ]
        for (key, value) in mfa { factors[key] = value }
        return [
            "installed": .bool(installed), "source": .string(main), "files": [.string(main)], "settings": .object(settings),
            "match_blocks": .array(matchBlocks), "mfa": .object(factors), "pam_second_factor_modules": ["pam_u2f.so"],
            "pam_u2f_required": sourced(.bool(pamU2F), "/etc/pam.d/sshd:2"), "host_keys": [], "authorized_keys": [],
        ]
    }

    /// What the other probes ACC-006 and ACC-007 read say on the hardened fixture: no sudo, no login.
    static let others: [String: Fact] = [
        "sudoers": .value(["installed": false]), "accounts": .value(["logins": [], "problems": []]),
    ]

    static let openssh = "default (OpenSSH)"

    /// One control, one change: the status at SL3 and SL4, parts of the summary, and the source of
    /// a failing (or passing, for a pass) piece of evidence where the old tests showed one.
    static let table: [(control: String, name: String, sshd: Fact, sl3: Status, sl4: Status, summary: String?, source: String?)] =
        [
            ("ACC-004", "PermitRootLogin no", .value(hardened()), .pass, .pass, nil, nil),
            (
                "ACC-004", "PermitRootLogin yes from a drop-in",
                .value(hardened(["permitrootlogin": sourced("yes", "/etc/ssh/sshd_config.d/50-cloud-init.conf:1")])), .fail, .fail, nil,
                "/etc/ssh/sshd_config.d/50-cloud-init.conf:1"
            ),
            (
                "ACC-004", "PermitRootLogin by default: prohibit-password",
                .value(hardened(["permitrootlogin": sourced("prohibit-password", openssh)])),
                .pass, .fail, nil, openssh
            ),
            (
                "ACC-004", "PermitRootLogin yes in a Match block",
                .value(
                    hardened(matchBlocks: [
                        [
                            "criteria": "User ops", "source": .string("\(main):20"),
                            "settings": ["permitrootlogin": sourced("yes", "\(main):21")],
                        ]
                    ])), .fail, .fail, nil, nil
            ),
            ("ACC-005", "no passwords", .value(hardened()), .pass, .pass, nil, nil),
            (
                "ACC-005", "a Match block re-enables passwords",
                .value(
                    hardened(matchBlocks: [
                        [
                            "criteria": "User contractor", "source": .string("\(main):6"),
                            "settings": ["passwordauthentication": sourced("yes", "\(main):7")],
                        ]
                    ])), .fail, .fail, "Match", "\(main):7"
            ),
            (
                "ACC-005", "PasswordAuthentication by default: yes", .value(hardened(["passwordauthentication": sourced("yes", openssh)])),
                .fail, .fail, nil, nil
            ),
            (
                "ACC-005", "keyboard-interactive as a first factor",
                .value(hardened(mfa: ["keyboard_interactive_only_second": sourced(false, "\(main):10")])), .fail, .fail, nil, nil
            ),
            ("ACC-006", "FIDO keys only, pam_u2f, verify-required, no sudo", .value(hardened()), .pass, .pass, nil, nil),
            (
                "ACC-006", "two factors through pam_u2f but other keys accepted",
                .value(hardened(mfa: ["fido_keys_only": sourced(false, "\(main):11")], pamU2F: true)), .pass, .fail, nil, nil
            ),
            (
                "ACC-006", "other keys accepted and no pam_u2f on every way through",
                .value(hardened(mfa: ["fido_keys_only": sourced(false, "\(main):11")])), .fail, .fail, nil, nil
            ),
            (
                "ACC-006", "PubkeyAuthOptions by default: none", .value(hardened(["pubkeyauthoptions": sourced("none", openssh)])), .fail,
                .fail, nil, nil
            ),
            ("ACC-007", "AllowGroups and certificates only", .value(hardened()), .pass, .pass, nil, nil),
            ("ACC-007", "no AllowGroups or AllowUsers", .value(hardened(removing: ["allowgroups"])), .fail, .fail, nil, nil),
            ("ACC-010", "DisableForwarding and every forwarding off", .value(hardened()), .pass, .pass, nil, nil),
            (
                "ACC-010", "every forwarding off one by one, no DisableForwarding",
                .value(hardened(["disableforwarding": sourced("no", openssh)])),
                .pass, .fail, nil, nil
            ),
            (
                "ACC-010", "TCP forwarding by default: yes",
                .value(hardened(["allowtcpforwarding": sourced("yes", openssh), "disableforwarding": sourced("no", openssh)])), .fail,
                .fail, nil, nil
            ),
            ("ACC-011", "MaxAuthTries 3, ClientAliveInterval 300", .value(hardened()), .pass, .pass, nil, nil),
            ("ACC-011", "MaxAuthTries by default: 6", .value(hardened(["maxauthtries": sourced(6, openssh)])), .fail, .fail, nil, nil),
            (
                "ACC-011", "ClientAliveInterval by default: 0", .value(hardened(["clientaliveinterval": sourced(0, openssh)])), .fail,
                .fail, nil, nil
            ),
            (
                "ACC-011", "ClientAliveInterval 600", .value(hardened(["clientaliveinterval": sourced(600, "\(main):17")])), .pass, .fail,
                nil, nil
            ),
        ]
        + sshControls.flatMap { control in
            [
                (control, "no OpenSSH server", .value(noServer), .notApplicable, .notApplicable, nil, nil),
                (
                    control, "a server without sshd_config",
                    .unavailable(
                        .error(
                            "an OpenSSH server is present (the binary /usr/sbin/sshd) but /etc/ssh/sshd_config does not exist: sshd will not start without it"
                        )), .error, .error, "/etc/ssh/sshd_config", nil
                ),
                (
                    control, "an Include cycle", .unavailable(.error("/etc/ssh/sshd_config:1: Include nested deeper than 16 levels")),
                    .error,
                    .error, "Include nested deeper", nil
                ),
            ] as [(control: String, name: String, sshd: Fact, sl3: Status, sl4: Status, summary: String?, source: String?)]
        }

    static let noServer: JSON = [
        "installed": false, "source": "/etc/ssh/sshd_config", "note": "no OpenSSH server: no sshd binary, configuration or unit",
        "host_keys": ["not_applicable": "no OpenSSH server is installed"],
        "authorized_keys": ["not_applicable": "no OpenSSH server is installed"],
    ]

    @Test(arguments: SSHDConfigProbeTests.table.indices)
    func sshControlsOverATableOfFacts(_ row: Int) throws {
        let r = SSHDConfigProbeTests.table[row]
        var facts = SSHDConfigProbeTests.others
        facts["sshd"] = r.sshd
        for (profile, expected) in [("sl3", r.sl3), ("sl4", r.sl4)] {
            let finding = try cannedFinding(r.control, profile: profile, facts: facts)
            #expect(finding.status == expected, "\(profile) \(r.control) \(r.name): \(finding.summary)")
            if let part = r.summary { #expect(finding.summary.contains(part), "\(profile) \(r.control) \(r.name): \(finding.summary)") }
            if let source = r.source {
                #expect(
                    finding.evidence.contains { $0.source == source && $0.ok == (expected == .pass) },
                    "\(profile) \(r.control) \(r.name): \(finding.evidence)")
            }
        }
    }

    /// End to end, once: the hardened fixture passes every SSH control at SL3 and SL4 through the
    /// whole path, the one place where the sshd, sudoers and accounts probes are shown to meet the
    /// six controls together.
    @Test func hardenedConfigurationPassesSL3AndSL4() throws {
        for profile in ["sl3", "sl4"] {
            let findings = try audit(
                root: Package.fixtureRoot("sshd-hardened"), profile: profile, probes: [SSHDConfigProbe(), SudoersProbe(), AccountsProbe()]
            ).findings
            for id in SSHDConfigProbeTests.sshControls {
                #expect(findings[id].status == .pass, "\(profile) \(id): \(findings[id].summary)")
            }
            // ACC-006 holds both ways: two factors through pam_u2f, and FIDO keys only.
            let mfa = findings["ACC-006"].evidence
            #expect(mfa.contains { $0.source == "/etc/pam.d/sshd:2" && $0.ok == true }, "\(profile): \(mfa)")
            #expect(mfa.contains { $0.source == "/etc/ssh/sshd_config:11" && $0.ok == true }, "\(profile): \(mfa)")
        }
    }
}
