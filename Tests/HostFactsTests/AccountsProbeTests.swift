import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Local accounts (ACC-009: no second UID 0, no empty password, every entry understood). Probe
/// tests read fixtures and built roots and assert the accounts fact; a control test evaluates a
/// table of canned facts at sl3 and sl4.
@Suite struct AccountsProbeTests {
    func accounts(_ root: String) throws -> JSON { try probeFact("accounts", of: AccountsProbe(), root: root) }

    let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
    let shadow = "root:!:19700:0:99999:7:::\nalice:$y$j9T$salt$hash:19700:0:99999:7:::\n"

    static let root: JSON = ["source": "/etc/passwd:1", "uid": 0, "user": "root"]

    // MARK: - Probe tests

    @Test func cleanAccounts() throws {
        let accounts = try accounts(Package.fixtureRoot("accounts-clean"))
        #expect(accounts["uid0_accounts"] == [Self.root])
        #expect(accounts["empty_passwords"] == [])
        #expect(accounts["problems"] == [])
        #expect(accounts["files"] == ["/etc/passwd", "/etc/shadow"])
    }

    @Test func aSecondUID0AccountIsListedWithFileAndLine() throws {
        // root itself is listed too; ACC-009 leaves it out.
        #expect(
            try accounts(Package.fixtureRoot("accounts-second-uid0"))["uid0_accounts"]
                == [Self.root, ["source": "/etc/passwd:7", "uid": 0, "user": "toor"]])
    }

    @Test func uid0WrittenWithLeadingZerosIsStillUID0() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "admin2:x:000:0::/root:/bin/sh\n")
        t.file("etc/shadow", shadow + "admin2:*:19700:0:99999:7:::\n", mode: 0o640)
        #expect(try accounts(t.path)["uid0_accounts"] == [Self.root, ["source": "/etc/passwd:3", "uid": 0, "user": "admin2"]])
    }

    @Test func anEmptyShadowPassword() throws {
        #expect(
            try accounts(Package.fixtureRoot("accounts-empty-shadow-password"))["empty_passwords"]
                == [["file": "/etc/shadow", "source": "/etc/shadow:7", "user": "kiosk"]])
    }

    @Test func anEmptyPasswdPasswordField() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "guest::1001:1001::/home/guest:/bin/sh\n")
        t.file("etc/shadow", shadow, mode: 0o640)
        #expect(try accounts(t.path)["empty_passwords"] == [["file": "/etc/passwd", "source": "/etc/passwd:3", "user": "guest"]])
    }

    @Test(arguments: ["!", "*", "!!", "!$y$j9T$salt$hash", "*LK*"])
    func lockedPasswordsAreNotEmpty(field: String) throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "svc:x:998:998::/srv:/usr/sbin/nologin\n")
        t.file("etc/shadow", shadow + "svc:\(field):19700:0:99999:7:::\n", mode: 0o640)
        let accounts = try accounts(t.path)
        #expect(accounts["empty_passwords"] == [], "\(field)")
        #expect(accounts["problems"] == [], "\(field)")
    }

    @Test func garbageLinesAreProblemsNamingFileAndLine() throws {
        let problems = try accounts(Package.fixtureRoot("accounts-garbage-lines"))["problems"]?.arrayValue ?? []
        #expect(
            problems == [
                ["error": "malformed passwd entry for bin: UID 'two' is not a number", "source": "/etc/passwd:3"],
                ["error": "malformed passwd entry: 1 fields, expected 7", "source": "/etc/passwd:7"],
                ["error": "malformed shadow entry: 3 fields, expected 9", "source": "/etc/shadow:7"],
            ])
        // Password hashes never leak into the facts.
        #expect(problems.allSatisfy { $0["error"]?.stringValue?.contains("$y$") == false })
    }

    @Test func uid0IsStillSeenBesideAGarbageLine() throws {
        let t = TempTree()
        t.file("etc/passwd", passwd + "junk\ntoor:x:0:0::/root:/bin/sh\n")
        t.file("etc/shadow", shadow, mode: 0o640)
        let accounts = try accounts(t.path)
        #expect(accounts["uid0_accounts"] == [Self.root, ["source": "/etc/passwd:4", "uid": 0, "user": "toor"]])
        #expect(accounts["problems"] == [["error": "malformed passwd entry: 1 fields, expected 7", "source": "/etc/passwd:3"]])
    }

    @Test func aMissingOrUnreadableShadowIsAProblem() throws {
        let missing = TempTree()
        missing.file("etc/passwd", passwd)
        #expect(
            try accounts(missing.path)["problems"]
                == [
                    [
                        "error": "cannot read /etc/shadow: No such file or directory; empty passwords cannot be ruled out",
                        "source": "/etc/shadow",
                    ]
                ])
        let directory = TempTree()
        directory.file("etc/passwd", passwd)
        directory.directory("etc/shadow")
        #expect(
            try accounts(directory.path)["problems"]
                == [["error": "cannot read /etc/shadow: is a directory; empty passwords cannot be ruled out", "source": "/etc/shadow"]])
    }

    @Test func aMissingPasswdLeavesNoAccountsFact() throws {
        let t = TempTree()
        t.file("etc/shadow", shadow, mode: 0o640)
        #expect(
            try audit(root: t.path, probes: [AccountsProbe()]).facts["accounts"]
                == .unavailable(Unavailable(.error, "cannot read /etc/passwd: No such file or directory")))
    }

    // MARK: - Control test: a table of canned facts

    /// The accounts fact of a clean host; each row changes one thing.
    static func accounts(uid0: [JSON] = [], empty: [JSON] = [], problems: [JSON] = []) -> Fact {
        .value([
            "uid0_accounts": .array([root] + uid0), "empty_passwords": .array(empty), "problems": .array(problems),
            "files": ["/etc/passwd", "/etc/shadow"], "source": "/etc/passwd",
        ])
    }

    static let toor: JSON = ["source": "/etc/passwd:4", "uid": 0, "user": "toor"]
    static let junk: JSON = ["error": "malformed passwd entry: 1 fields, expected 7", "source": "/etc/passwd:3"]

    /// Each row: what changed, the fact, the status (the same at sl3 and sl4), and text the
    /// summary must contain.
    static let acc009Table: [(String, Fact, Status, String)] = [
        ("clean", accounts(), .pass, "no account other than root has UID 0"),
        ("a second UID 0", accounts(uid0: [toor]), .fail, "/etc/passwd:4: account other than root with UID 0 is toor"),
        (
            "an empty shadow password", accounts(empty: [["file": "/etc/shadow", "source": "/etc/shadow:7", "user": "kiosk"]]), .fail,
            "/etc/shadow:7: account with an empty password field is kiosk"
        ),
        (
            "an empty passwd password field", accounts(empty: [["file": "/etc/passwd", "source": "/etc/passwd:3", "user": "guest"]]), .fail,
            "/etc/passwd:3: account with an empty password field is guest"
        ),
        ("a garbage line", accounts(problems: [junk]), .error, "/etc/passwd:3: malformed passwd entry: 1 fields, expected 7"),
        // A known UID 0 still fails: a line Warden could not read does not hide it.
        ("a second UID 0 beside a garbage line", accounts(uid0: [toor], problems: [junk]), .fail, "toor"),
        (
            "no /etc/shadow",
            accounts(problems: [
                [
                    "error": "cannot read /etc/shadow: No such file or directory; empty passwords cannot be ruled out",
                    "source": "/etc/shadow",
                ]
            ]), .error, "cannot read /etc/shadow"
        ),
        (
            "no /etc/passwd", .unavailable(Unavailable(.error, "cannot read /etc/passwd: No such file or directory")), .error,
            "cannot read /etc/passwd"
        ),
    ]

    @Test(arguments: AccountsProbeTests.acc009Table.indices)
    func acc009OverATableOfFacts(_ row: Int) throws {
        let (name, fact, expected, says) = Self.acc009Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("ACC-009", profile: profile, facts: ["accounts": fact])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(finding.summary.contains(says), "\(profile) \(name): \(finding.summary)")
            // root itself is never an offender.
            #expect(!finding.evidence.contains { $0.source == "/etc/passwd:1" && $0.ok == false }, "\(profile) \(name)")
        }
    }
}
