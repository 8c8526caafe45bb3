import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct SSHDConfigProbeTests {
    let sshControls = ["ACC-004", "ACC-005", "ACC-006", "ACC-007", "ACC-010", "ACC-011"]

    func sshd(_ fixture: String, profile: String = "sl3") throws -> [Finding] {
        try audit(root: Package.fixtureRoot(fixture), profile: profile, probes: [SSHDConfigProbe()]).findings
    }

    @Test func hardenedConfigurationPassesSL3AndSL4() throws {
        for profile in ["sl3", "sl4"] {
            // ACC-006 asks sudo too (not installed here) and ACC-007 reads the accounts.
            let findings = try audit(
                root: Package.fixtureRoot("sshd-hardened"), profile: profile, probes: [SSHDConfigProbe(), SudoersProbe(), AccountsProbe()]
            ).findings
            for id in sshControls {
                #expect(findings[id].status == .pass, "\(profile) \(id): \(findings[id].summary)")
            }
        }
    }

    @Test func dropInWinsOverLaterLinesOfTheMainFile() throws {
        let f = try sshd("sshd-dropin-overrides-main")["ACC-004"]
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.observed == "yes" })
        #expect(evidence.source == "/etc/ssh/sshd_config.d/50-cloud-init.conf:1")
    }

    @Test func matchBlockThatReenablesPasswordsFails() throws {
        let f = try sshd("sshd-match-reenables-passwords")["ACC-005"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/ssh/sshd_config:7" && $0.observed == "yes" })
        #expect(f.summary.contains("Match"))
    }

    @Test func absentKeywordsTakeOpenSSHDefaults() throws {
        let sl3 = try sshd("sshd-defaults")
        // PermitRootLogin defaults to prohibit-password: accepted at SL3, not at SL4.
        #expect(sl3["ACC-004"].status == .pass)
        #expect(sl3["ACC-004"].evidence.first?.source == "default (OpenSSH)")
        #expect(try sshd("sshd-defaults", profile: "sl4")["ACC-004"].status == .fail)
        // PasswordAuthentication defaults to yes; MaxAuthTries to 6; ClientAliveInterval to 0.
        #expect(sl3["ACC-005"].status == .fail)
        #expect(sl3["ACC-011"].status == .fail)
        #expect(sl3["ACC-010"].status == .fail)
        #expect(sl3["ACC-007"].status == .fail)
    }

    @Test func noServerMeansNotApplicable() throws {
        let tree = TempTree()
        tree.directory("etc")
        let findings = try audit(root: tree.path, probes: [SSHDConfigProbe()]).findings
        for id in sshControls { #expect(findings[id].status == .notApplicable) }
    }

    @Test func serverWithoutConfigurationIsAnError() throws {
        let tree = TempTree()
        tree.file("usr/sbin/sshd", "", mode: 0o755)
        let f = try audit(root: tree.path, probes: [SSHDConfigProbe()]).findings["ACC-004"]
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/ssh/sshd_config"))
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
        let facts = try audit(root: tree.path, probes: [SSHDConfigProbe()]).facts
        guard case .value(let v)? = facts["sshd"] else {
            Issue.record("no sshd fact")
            return
        }
        #expect(v["settings"]?[keyword]?["value"] == expected)
    }

    @Test func firstValueWins() throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "MaxAuthTries 3\nMaxAuthTries 10\n")
        let facts = try audit(root: tree.path, probes: [SSHDConfigProbe()]).facts
        guard case .value(let v)? = facts["sshd"] else {
            Issue.record("no sshd fact")
            return
        }
        #expect(v["settings"]?["maxauthtries"]?["value"] == 3)
        #expect(v["settings"]?["maxauthtries"]?["source"] == "/etc/ssh/sshd_config:1")
    }

    @Test func includeCycleIsAnErrorNotAHang() throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\n")
        let f = try audit(root: tree.path, probes: [SSHDConfigProbe()]).findings["ACC-004"]
        #expect(f.status == .error)
        #expect(f.summary.contains("Include nested deeper"))
    }
}
