import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct AccountsProbeTests {
    func finding(_ root: String, profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [AccountsProbe()]).findings["ACC-009"]
    }

    let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
    let shadow = "root:!:19700:0:99999:7:::\nalice:$y$j9T$salt$hash:19700:0:99999:7:::\n"

    @Test func cleanAccountsPassSL3AndSL4() throws {
        for profile in ["sl3", "sl4"] {
            let f = try finding(Package.fixtureRoot("accounts-clean"), profile: profile)
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func secondUID0AccountFailsNamingFileAndLine() throws {
        let f = try finding(Package.fixtureRoot("accounts-second-uid0"))
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/etc/passwd:7" })
        #expect(evidence.observed == "toor")
        #expect(f.summary.contains("UID 0"))
        // root itself is never an offender.
        #expect(!f.evidence.contains { $0.source == "/etc/passwd:1" })
    }

    @Test func uid0WrittenWithLeadingZerosIsStillUID0() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "admin2:x:000:0::/root:/bin/sh\n")
        t.file("etc/shadow", shadow + "admin2:*:19700:0:99999:7:::\n", mode: 0o640)
        let f = try finding(t.path)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/passwd:3" && $0.observed == "admin2" })
    }

    @Test func emptyShadowPasswordFails() throws {
        let f = try finding(Package.fixtureRoot("accounts-empty-shadow-password"))
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/etc/shadow:7" })
        #expect(evidence.observed == "kiosk")
        #expect(f.summary.contains("empty password"))
    }

    @Test func emptyPasswdPasswordFieldFails() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "guest::1001:1001::/home/guest:/bin/sh\n")
        t.file("etc/shadow", shadow, mode: 0o640)
        let f = try finding(t.path)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/passwd:3" && $0.observed == "guest" })
    }

    @Test(arguments: ["!", "*", "!!", "!$y$j9T$salt$hash", "*LK*"])
    func lockedPasswordsPass(field: String) throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "svc:x:998:998::/srv:/usr/sbin/nologin\n")
        t.file("etc/shadow", shadow + "svc:\(field):19700:0:99999:7:::\n", mode: 0o640)
        #expect(try finding(t.path).status == .pass)
    }

    @Test func garbageLinesAreErrorsNamingFileAndLine() throws {
        let f = try finding(Package.fixtureRoot("accounts-garbage-lines"))
        #expect(f.status == .error)
        let facts = try audit(root: Package.fixtureRoot("accounts-garbage-lines"), probes: [AccountsProbe()]).facts
        guard case .value(let v)? = facts["accounts"] else {
            Issue.record("no accounts fact")
            return
        }
        let problems = v["problems"]?.arrayValue ?? []
        #expect(problems.map { $0["source"] } == ["/etc/passwd:3", "/etc/passwd:7", "/etc/shadow:7"])
        #expect(problems[0]["error"]?.stringValue?.contains("UID 'two' is not a number") == true)
        // Password hashes never leak into findings.
        #expect(problems.allSatisfy { $0["error"]?.stringValue?.contains("$y$") == false })
        #expect(f.summary.contains("/etc/passwd:3"))
    }

    @Test func uid0StillFailsBesideAGarbageLine() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "junk\ntoor:x:0:0::/root:/bin/sh\n")
        t.file("etc/shadow", shadow, mode: 0o640)
        let f = try finding(t.path)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/passwd:4" })
    }

    @Test func missingShadowIsAnErrorNotAPass() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd)
        let f = try finding(t.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/shadow"))
    }

    @Test func unreadableShadowIsAnErrorNotAPass() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd)
        t.directory("etc/shadow")
        let f = try finding(t.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("cannot read /etc/shadow"))
    }

    @Test func missingPasswdIsAnError() throws {
        let t = TempTree()
        t.file("etc/shadow", shadow, mode: 0o640)
        let f = try finding(t.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/passwd"))
    }
}
