import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The sudoers probe's facts from fixtures (probe tests), and ACC-008 and LOG-009 over tables of
/// canned facts (control tests): docs/FACTS.md, "Testing, the pattern to follow".
@Suite struct SudoersProbeTests {
    // MARK: - Probe tests: the facts of a policy

    func sudoers(_ root: String) throws -> JSON {
        try probeFact("sudoers", of: SudoersProbe(), root: root)
    }

    /// The fact as collected, for the cases where the probe states it unavailable.
    func collected(_ root: String) throws -> Fact? {
        try audit(root: root, probes: [SudoersProbe()]).facts["sudoers"]
    }

    /// A tree with sudo installed, a hardened main file and `dropIns` in /etc/sudoers.d.
    func tree(main: String? = nil, dropIns: [String: String] = [:]) -> TempTree {
        let tree = TempTree()
        tree.file("usr/bin/sudo", "", mode: 0o755)
        tree.file(
            "etc/sudoers", main ?? "Defaults use_pty\nDefaults log_output\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n",
            mode: 0o440)
        tree.directory("etc/sudoers.d")
        for (name, text) in dropIns { tree.file("etc/sudoers.d/" + name, text, mode: 0o440) }
        return tree
    }

    /// The commands granted from one file:line.
    func commands(_ v: JSON, at source: String) -> [JSON] {
        v["commands"]?.arrayValue?.filter { $0["source"]?.stringValue == source } ?? []
    }

    @Test func hardenedPolicy() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-hardened"))
        #expect(v["installed"] == true)
        // The policy sets use_pty, so the installed version (which only decides its default) is not read.
        #expect(v["version"] == .null)
        // The README has neither a '.' nor a trailing '~': sudo reads it (it holds only comments).
        #expect(v["files"] == ["/etc/sudoers", "/etc/sudoers.d/10-weights-ops", "/etc/sudoers.d/README"])
        #expect(v["defaults"]?["use_pty"] == ["value": true, "source": "/etc/sudoers:14"])
        #expect(v["defaults"]?["log_output"] == ["value": true, "source": "/etc/sudoers:16"])
        #expect(v["defaults"]?["authenticate"] == ["value": true, "source": "default (sudo)"])
        #expect(v["problems"] == [])
        #expect(v["ignored"] == [])
        // The %sudo env_keep entries are the only scoped ones, and neither is an option Warden reads.
        #expect(v["scoped_defaults"]?.arrayValue?.contains { ["authenticate", "use_pty"].contains($0["option"]) } == false)
        #expect(v["commands"]?.arrayValue?.allSatisfy { $0["tags"] == [] } == true)
        #expect(
            commands(v, at: "/etc/sudoers.d/10-weights-ops:2").map { $0["command"] } == [
                "/usr/bin/systemctl restart weights.service", "/usr/bin/systemctl status weights.service",
            ])
    }

    @Test func nopasswdInADropInIsKeptWithItsFileAndLine() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-nopasswd-in-dropin"))
        let granted = commands(v, at: "/etc/sudoers.d/90-cloud-init-users:4")
        #expect(granted.map { $0["tags"] } == [["NOPASSWD"]])
        #expect(granted.first?["rule"] == "debian ALL = (ALL) NOPASSWD: ALL")
        #expect(granted.first?["negated"] == false)
    }

    @Test func dropInsSudoSkipsAreListedNotRead() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-dotted-dropin-ignored"))
        let ignored = v["ignored"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(ignored == ["/etc/sudoers.d/10-weights-ops~", "/etc/sudoers.d/90-ops.conf"])
        #expect(v["files"] == ["/etc/sudoers", "/etc/sudoers.d/10-weights-ops", "/etc/sudoers.d/README"])
        #expect(v["commands"]?.arrayValue?.contains { $0["tags"]?.arrayValue?.contains("NOPASSWD") == true } == false)
    }

    @Test func scopedNotAuthenticateIsKeptWithItsLine() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-defaults-not-authenticate"))
        // A continuation line: the statement is numbered by its first line.
        let entry = v["scoped_defaults"]?.arrayValue?.first { $0["option"] == "authenticate" }
        #expect(
            entry == [
                "source": "/etc/sudoers.d/50-deploy:2", "scope": "user deploy,ci-runner", "option": "authenticate", "value": false,
                "text": "Defaults:deploy,ci-runner !authenticate",
            ])
        // Scoped entries do not change the global value.
        #expect(v["defaults"]?["authenticate"]?["value"] == true)
    }

    /// sudo 1.9.13 refuses a Defaults binding list continued on the next line after blanks
    /// (visudo: syntax error), and skips the statement: authentication is not turned off, but
    /// what the line meant is unknown, so it is a problem naming the line.
    @Test func bindingListContinuedAfterBlanksIsRefusedAsSudoRefusesIt() throws {
        let t = tree(dropIns: ["50-deploy": "Defaults:deploy, \\\n         ci-runner !authenticate\n"])
        let v = try sudoers(t.path)
        let problems = v["problems"]?.arrayValue ?? []
        #expect(problems.map { $0["source"] } == ["/etc/sudoers.d/50-deploy:1"])
        #expect(problems.first?["kind"] == "syntax")
        #expect(v["scoped_defaults"] == [])
        #expect(v["defaults"]?["authenticate"]?["value"] == true)
        // Without blanks beside the continuation it is one list.
        let joined = tree(dropIns: ["50-deploy": "Defaults:deploy,\\\nci-runner !authenticate\n"])
        #expect(try sudoers(joined.path)["scoped_defaults"]?.arrayValue?.first?["scope"] == "user deploy,ci-runner")
    }

    /// A Defaults entry sudo refuses once the file is parsed (visudo -c: "values for iolog_dir must
    /// start with a '/'"): sudo 1.9.13 still runs, skipping that entry and applying the others of
    /// the line.
    @Test func refusedDefaultsEntryIsAProblemAndTheRestOfTheLineApplies() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-refused-defaults"))
        #expect(v["problems"]?.arrayValue?.map { $0["source"] } == ["/etc/sudoers:3"])
        #expect(v["problems"]?.arrayValue?.first?["kind"] == "defaults")
        #expect(v["defaults"]?["log_output"]?["value"] == true)
        #expect(v["defaults"]?["iolog_dir"]?["source"] == "default (sudo)")
    }

    @Test func everyDefaultsScopeIsKeptWithItsSubject() throws {
        let t = tree(dropIns: [
            "40-scopes": """
            Defaults@web1 !authenticate
            Defaults>root !use_pty
            Defaults!/usr/bin/less !log_output, env_reset
            Defaults:%ops log_output
            Defaults:%ops !log_output
            """
        ])
        let v = try sudoers(t.path)
        let scoped = v["scoped_defaults"]?.arrayValue ?? []
        #expect(scoped.map { $0["scope"] } == ["host web1", "runas root", "command /usr/bin/less", "user %ops"])
        #expect(scoped.map { $0["option"] } == ["authenticate", "use_pty", "log_output", "log_output"])
        #expect(scoped.map { $0["value"] } == [false, false, false, false])
        #expect(
            scoped.map { $0["source"] } == [
                "/etc/sudoers.d/40-scopes:1", "/etc/sudoers.d/40-scopes:2",
                "/etc/sudoers.d/40-scopes:3", "/etc/sudoers.d/40-scopes:5",
            ])
        #expect(scoped.first?["text"] == "Defaults@web1 !authenticate")
        // Scoped entries do not change the global values.
        #expect(v["defaults"]?["authenticate"]?["value"] == true)
        #expect(v["defaults"]?["use_pty"] == ["value": true, "source": "/etc/sudoers:1"])
        #expect(v["defaults"]?["log_output"] == ["value": true, "source": "/etc/sudoers:2"])
    }

    @Test func globalNotAuthenticateTurnsItOff() throws {
        let t = tree(dropIns: ["20-lab": "# lab hosts\nDefaults !authenticate\n"])
        #expect(try sudoers(t.path)["defaults"]?["authenticate"] == ["value": false, "source": "/etc/sudoers.d/20-lab:2"])
    }

    @Test func laterGlobalDefaultsWin() throws {
        let t = tree(dropIns: ["20-a": "Defaults !authenticate\n", "30-b": "Defaults authenticate\n"])
        #expect(try sudoers(t.path)["defaults"]?["authenticate"] == ["value": true, "source": "/etc/sudoers.d/30-b:1"])
    }

    @Test func usePtyIsOffByDefaultInTheInstalledSudo1_9_13() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-missing-use-pty"))
        #expect(v["defaults"]?["use_pty"] == ["value": false, "source": "default (sudo 1.9.13p3-1+deb12u1: use_pty is off by default)"])
    }

    @Test func usePtyDefaultsOnFromSudo1_9_14() throws {
        let t = tree(main: "root ALL=(ALL:ALL) ALL\n")
        t.file("var/lib/dpkg/status", "Package: sudo\nStatus: install ok installed\nVersion: 1.9.16p2-3\n")
        let v = try sudoers(t.path)
        #expect(v["version"] == "1.9.16p2-3")
        #expect(v["defaults"]?["use_pty"] == ["value": true, "source": "default (sudo 1.9.16p2-3: use_pty is on by default)"])
        // Without dpkg's database the version is unknown: the older, weaker default is assumed.
        let withoutDpkg = tree(main: "root ALL=(ALL:ALL) ALL\n")
        let unknown = try sudoers(withoutDpkg.path)
        #expect(unknown["version"] == .null)
        #expect(
            unknown["defaults"]?["use_pty"] == ["value": false, "source": "default (sudo version unknown; before 1.9.14 use_pty is off)"])
    }

    @Test func explicitNotUsePtyIsKeptEvenWhereOnIsTheDefault() throws {
        let t = tree(main: "Defaults:alice !use_pty\nroot ALL=(ALL:ALL) ALL\n")
        t.file("var/lib/dpkg/status", "Package: sudo\nStatus: install ok installed\nVersion: 1.9.16p2-3\n")
        let v = try sudoers(t.path)
        #expect(v["defaults"]?["use_pty"]?["value"] == true)
        #expect(
            v["scoped_defaults"] == [
                [
                    "source": "/etc/sudoers:1", "scope": "user alice", "option": "use_pty", "value": false,
                    "text": "Defaults:alice !use_pty",
                ]
            ])
    }

    @Test func iologDirWithoutLogOutputLogsNothing() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-iolog-dir-without-log-output"))
        #expect(v["defaults"]?["log_output"] == ["value": false, "source": "default (sudo)"])
        #expect(v["defaults"]?["iolog_dir"] == ["value": "/var/log/sudo-io", "source": "/etc/sudoers:14"])
        #expect(v["defaults"]?["use_pty"] == ["value": true, "source": "/etc/sudoers:13"])
    }

    @Test func noLogOutputTagIsKeptPerCommand() throws {
        let t = tree(dropIns: ["30-quiet": "alice ALL = (root) NOLOG_OUTPUT: /usr/bin/less\n"])
        let v = try sudoers(t.path)
        let quiet = commands(v, at: "/etc/sudoers.d/30-quiet:1")
        #expect(quiet.map { $0["tags"] } == [["NOLOG_OUTPUT"]])
        #expect(quiet.first?["command"] == "/usr/bin/less")
        #expect(quiet.first?["runas"] == "root")
    }

    @Test func passwdTagTurnsNopasswdBackOffForLaterCommands() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-passwd-tag-after-nopasswd"))
        let granted = commands(v, at: "/etc/sudoers.d/20-backup:2")
        #expect(granted.map { $0["tags"] } == [["NOPASSWD"], ["PASSWD"], ["PASSWD"]])
        #expect(granted.first?["rule"] == "backup ALL = (root) NOPASSWD: /usr/bin/systemctl status backup.service")
    }

    @Test(
        arguments: [
            // Tags carry over to the following commands of the same list.
            ("alice ALL = NOPASSWD: /bin/ls, /bin/cat", [["NOPASSWD"], ["NOPASSWD"]]),
            // …and restart after ':' (a new host list).
            ("alice ALL = NOPASSWD: /bin/ls : web1 = /bin/cat", [["NOPASSWD"], []]),
            // Blanks before the colon, other tags, a runas list with a colon, and a digest.
            (
                "alice ALL=(root:wheel) NOEXEC:NOPASSWD :sha256:7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730 /bin/ls",
                [["NOEXEC", "NOPASSWD"]]
            ),
            // Command options are not commands; an escaped ':' is part of the argument.
            ("alice ALL = CWD=/srv TIMEOUT=1h NOPASSWD: /bin/chown root\\:root /srv/x", [["NOPASSWD"]]),
            // A numeric uid is not a comment; a trailing comment is.
            ("#1000 ALL = PASSWD: /bin/ls # not NOPASSWD: here", [["PASSWD"]]),
        ] as [(String, [JSON])])
    func tagsPerCommand(line: String, expected: [JSON]) throws {
        let t = tree(main: line + "\n")
        let v = try sudoers(t.path)
        #expect(v["problems"] == [])
        #expect(v["commands"]?.arrayValue?.map { $0["tags"] ?? .null } == expected)
    }

    @Test func negatedCommandIsMarkedNegated() throws {
        let t = tree(main: "Defaults use_pty\nalice ALL = NOPASSWD: !/bin/sh\n")
        let granted = commands(try sudoers(t.path), at: "/etc/sudoers:2")
        #expect(granted.map { $0["negated"] } == [true])
        #expect(granted.map { $0["tags"] } == [["NOPASSWD"]])
        #expect(granted.first?["command"] == "!/bin/sh")
    }

    @Test func garbageLineIsAProblemNamingFileAndLine() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-garbage-line"))
        let problems = v["problems"]?.arrayValue ?? []
        #expect(problems.map { $0["source"] } == ["/etc/sudoers.d/10-weights-ops:4"])
        #expect(problems.first?["error"]?.stringValue?.hasPrefix("not a sudoers statement sudo accepts") == true)
        #expect(problems.first?["kind"] == "syntax")
    }

    @Test func nopasswdIsStillReadBesideAGarbageLine() throws {
        let t = tree(dropIns: ["10-x": "what is this\nbob ALL = NOPASSWD: ALL\n"])
        let v = try sudoers(t.path)
        #expect(v["problems"]?.arrayValue?.map { $0["source"] } == ["/etc/sudoers.d/10-x:1"])
        #expect(commands(v, at: "/etc/sudoers.d/10-x:2").map { $0["tags"] } == [["NOPASSWD"]])
    }

    @Test func relativeIncludeIsRelativeToTheIncludingFile() throws {
        let t = tree(
            main: "Defaults use_pty\n@include sudoers.local\n#includedir sudoers.d\n",
            dropIns: ["10-more": "#include ../sudoers.extra\n"])
        t.file("etc/sudoers.local", "alice ALL = ALL\n", mode: 0o440)
        t.file("etc/sudoers.extra", "bob ALL = NOPASSWD: /bin/ls\n", mode: 0o440)
        let v = try sudoers(t.path)
        #expect(v["files"] == ["/etc/sudoers", "/etc/sudoers.local", "/etc/sudoers.d/10-more", "/etc/sudoers.extra"])
        #expect(commands(v, at: "/etc/sudoers.extra:1").map { $0["tags"] } == [["NOPASSWD"]])
        #expect(v["problems"] == [])
    }

    @Test func includeHostnameExpansion() throws {
        let t = tree(main: "Defaults use_pty\n@include /etc/sudoers.%h\n")
        t.file("etc/hostname", "gpu-17.example.org\n")
        t.file("etc/sudoers.gpu-17", "carol ALL = NOPASSWD: ALL\n", mode: 0o440)
        let v = try sudoers(t.path)
        #expect(v["files"] == ["/etc/sudoers", "/etc/sudoers.gpu-17"])
        #expect(commands(v, at: "/etc/sudoers.gpu-17:1").map { $0["tags"] } == [["NOPASSWD"]])
    }

    @Test func danglingSymlinkAndSubdirectoryInTheDropInDirectoryAreSkipped() throws {
        let t = tree()
        t.symlink("etc/sudoers.d/50-gone", to: "/etc/sudoers.gone")
        t.file("etc/sudoers.d/60-dir/x", "eve ALL = NOPASSWD: ALL\n", mode: 0o440)
        let v = try sudoers(t.path)
        let ignored = v["ignored"]?.arrayValue ?? []
        #expect(ignored.map { $0["path"] } == ["/etc/sudoers.d/50-gone", "/etc/sudoers.d/60-dir"])
        #expect(
            ignored.map { $0["reason"] } == ["dangling symlink: sudo skips it", "not a regular file (directory): sudo skips it"])
        #expect(v["files"] == ["/etc/sudoers"])
        #expect(v["problems"] == [])
    }

    @Test func dropInsSudoRefusesForTheirPermissionsAreSkipped() throws {
        let t = tree(dropIns: ["10-open": "eve ALL = NOPASSWD: ALL\n"])
        t.file("etc/sudoers.d/10-open", "eve ALL = NOPASSWD: ALL\n", mode: 0o666)
        let v = try sudoers(t.path)
        #expect(v["ignored"]?.arrayValue?.map { $0["path"] } == ["/etc/sudoers.d/10-open"])
        #expect(v["ignored"]?.arrayValue?.first?["reason"]?.stringValue?.contains("world writable") == true)
        #expect(v["files"] == ["/etc/sudoers"])
        #expect(commands(v, at: "/etc/sudoers.d/10-open:1") == [])
    }

    @Test func includeLoopIsAProblemNotAHang() throws {
        let t = tree(
            main: "Defaults use_pty\n@include /etc/sudoers.d/a\n", dropIns: ["a": "@include /etc/sudoers.d/b\n", "b": "@include a\n"])
        let problems = try sudoers(t.path)["problems"]?.arrayValue ?? []
        #expect(problems.map { $0["source"] } == ["/etc/sudoers.d/b:1"])
        #expect(problems.first?["error"]?.stringValue?.hasPrefix("include loop: ") == true)
    }

    @Test func missingIncludedFileIsAProblem() throws {
        let t = tree(main: "Defaults use_pty\n@include /etc/sudoers.missing\n")
        let problems = try sudoers(t.path)["problems"]?.arrayValue ?? []
        #expect(problems.map { $0["source"] } == ["/etc/sudoers:2"])
        #expect(
            problems.first?["error"] == "included file /etc/sudoers.missing does not exist (sudo reports a parse error here)")
    }

    @Test func sudoNotInstalled() throws {
        let t = TempTree()
        t.directory("etc")
        #expect(
            try sudoers(t.path) == [
                "installed": false, "source": "/etc/sudoers",
                "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists",
            ])
    }

    @Test func sudoInstalledWithoutPolicyIsAnError() throws {
        let t = TempTree()
        t.file("usr/bin/sudo", "", mode: 0o755)
        #expect(try collected(t.path) == .unavailable(.error("/etc/sudoers does not exist, but sudo is installed (/usr/bin/sudo)")))
    }

    @Test func unreadablePolicyIsAnError() throws {
        let t = TempTree()
        t.file("usr/bin/sudo", "", mode: 0o755)
        t.directory("etc/sudoers")
        guard case .unavailable(let u)? = try collected(t.path) else {
            Issue.record("the policy was read")
            return
        }
        #expect(u.kind == .error)
        #expect(u.reason.contains("/etc/sudoers: is a directory"), "\(u.reason)")
    }

    // MARK: - Control tests: ACC-008 and LOG-009 over tables of canned facts

    /// The sudo policy of a hardened host (as `sudoers-hardened` has it); each row changes one thing.
    static func policy(
        defaults changes: JSONObject = [:], scoped: [JSON] = [], commands: [JSON] = [], problems: [JSON] = [], rootTags: [JSON] = []
    ) -> JSON {
        var defaults: JSONObject = [:]
        for (key, value) in [
            "use_pty": true, "log_output": true, "log_input": false, "authenticate": true, "iolog_dir": "/var/log/sudo-io",
            "logfile": false, "syslog": "authpriv", "timestamp_timeout": 900,
        ] as [String: JSON] {
            defaults[key] = ["value": value, "source": "/etc/sudoers:14"]
        }
        for (key, value) in changes { defaults[key] = ["value": value, "source": "/etc/sudoers.d/50-x:2"] }
        let root = rule("root ALL=(ALL:ALL) ALL", tags: rootTags, source: "/etc/sudoers:26")
        return [
            "installed": true, "source": "/etc/sudoers", "version": "1.9.13p3-1+deb12u1",
            "files": ["/etc/sudoers", "/etc/sudoers.d/50-x"], "ignored": [],
            "defaults": .object(defaults), "scoped_defaults": .array(scoped), "commands": .array([root] + commands),
            "problems": .array(problems),
            "pam_u2f_required": [
                "sudo": ["value": false, "source": "/etc/pam.d/sudo"], "sudo-i": ["value": false, "source": "/etc/pam.d/sudo-i"],
            ],
        ]
    }

    static let notInstalled: JSON = [
        "installed": false, "source": "/etc/sudoers", "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists",
    ]

    static func rule(_ text: String, tags: [JSON], negated: Bool = false, source: String = "/etc/sudoers.d/50-x:1") -> JSON {
        [
            "source": .string(source), "users": ["alice"], "hosts": ["ALL"], "runas": "root", "command": "/usr/bin/less",
            "negated": .bool(negated), "tags": .array(tags), "rule": .string(text),
        ]
    }

    static func scoped(_ option: String, _ value: Bool, scope: String, text: String, source: String = "/etc/sudoers.d/50-x:3") -> JSON {
        ["source": .string(source), "scope": .string(scope), "option": .string(option), "value": .bool(value), "text": .string(text)]
    }

    static func problem(_ error: String, kind: String = "syntax", source: String = "/etc/sudoers.d/10-weights-ops:4") -> JSON {
        ["source": .string(source), "error": .string(error), "kind": .string(kind)]
    }

    /// ACC-008 has no parameter: sl3 and sl4 decide alike, and every row is checked at both.
    /// Rows: name, the sudoers fact, the status, and what the summary says where it matters.
    static let acc008Table: [(String, Fact, Status, String?)] = [
        ("hardened", .value(policy()), .pass, nil),
        ("sudo not installed", .value(notInstalled), .notApplicable, nil),
        (
            "a NOPASSWD rule in a drop-in",
            .value(
                policy(commands: [
                    rule("debian ALL = (ALL) NOPASSWD: ALL", tags: ["NOPASSWD"], source: "/etc/sudoers.d/90-cloud-init-users:4")
                ])), .fail, "/etc/sudoers.d/90-cloud-init-users:4"
        ),
        (
            "NOPASSWD on a negated command grants nothing",
            .value(policy(commands: [rule("alice ALL = NOPASSWD: !/bin/sh", tags: ["NOPASSWD"], negated: true)])), .pass, nil
        ),
        (
            "PASSWD after NOPASSWD",
            .value(policy(commands: [rule("alice ALL = NOPASSWD: /bin/ls, PASSWD: /usr/bin/less", tags: ["PASSWD"])])), .pass, nil
        ),
        ("other tags only", .value(policy(commands: [rule("alice ALL = NOEXEC: /usr/bin/less", tags: ["NOEXEC"])])), .pass, nil),
        (
            "NOLOG_OUTPUT is LOG-009's",
            .value(policy(commands: [rule("alice ALL = (root) NOLOG_OUTPUT: /usr/bin/less", tags: ["NOLOG_OUTPUT"])])), .pass, nil
        ),
        ("Defaults !authenticate", .value(policy(defaults: ["authenticate": false])), .fail, "Defaults authenticate is false"),
        (
            "!authenticate for some users",
            .value(
                policy(scoped: [
                    scoped("authenticate", false, scope: "user deploy,ci-runner", text: "Defaults:deploy,ci-runner !authenticate")
                ])), .fail, "turns authentication off"
        ),
        (
            "authenticate for some users",
            .value(policy(scoped: [scoped("authenticate", true, scope: "host web1", text: "Defaults@web1 authenticate")])), .pass, nil
        ),
        ("use_pty off", .value(policy(defaults: ["use_pty": false])), .fail, "use_pty"),
        (
            "!use_pty for one user",
            .value(policy(scoped: [scoped("use_pty", false, scope: "user alice", text: "Defaults:alice !use_pty")])), .fail,
            "/etc/sudoers.d/50-x:3"
        ),
        (
            "!log_output for a command is LOG-009's",
            .value(
                policy(scoped: [scoped("log_output", false, scope: "command /usr/bin/less", text: "Defaults!/usr/bin/less !log_output")])),
            .pass, nil
        ),
        (
            "a line Warden cannot parse",
            .value(
                policy(problems: [problem("not a sudoers statement sudo accepts (expected a user list): 'this is not a sudoers line'")])),
            .error, "/etc/sudoers.d/10-weights-ops:4: not a sudoers statement"
        ),
        (
            "an include loop",
            .value(policy(problems: [problem("include loop: /etc/sudoers.d/a includes itself", source: "/etc/sudoers.d/b:1")])),
            .error, "include loop"
        ),
        (
            "a Defaults entry sudo refuses",
            .value(
                policy(problems: [
                    problem("value \"var/log\" is invalid for option \"iolog_dir\"", kind: "defaults", source: "/etc/sudoers:3")
                ])),
            .error, "/etc/sudoers:3"
        ),
        (
            "NOPASSWD beside a line Warden cannot parse: the known part decides",
            .value(
                policy(
                    commands: [rule("bob ALL = NOPASSWD: ALL", tags: ["NOPASSWD"], source: "/etc/sudoers.d/10-x:2")],
                    problems: [problem("not a sudoers statement sudo accepts", source: "/etc/sudoers.d/10-x:1")])),
            .fail, "/etc/sudoers.d/10-x:2"
        ),
        (
            "sudo installed without /etc/sudoers",
            .unavailable(.error("/etc/sudoers does not exist, but sudo is installed (/usr/bin/sudo)")), .error,
            "/etc/sudoers does not exist"
        ),
    ]

    @Test(arguments: SudoersProbeTests.acc008Table.indices)
    func acc008OverATableOfFacts(_ row: Int) throws {
        let (name, sudoers, expected, summary) = SudoersProbeTests.acc008Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("ACC-008", profile: profile, facts: ["sudoers": sudoers])
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
            if let summary { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
        }
    }

    /// The other recorders LOG-009 accepts at SL3, none of them recording; rows turn one on.
    static func recorders(
        tlog: Bool = false, shell: String = "/bin/bash", ttyAudit: Bool = false, accounts: Fact? = nil
    ) -> [String: Fact] {
        [
            "session_recording": .value([
                "source": "/etc/sssd/sssd.conf", "files": [], "tlog_sssd": ["value": .bool(tlog), "source": "/etc/sssd/sssd.conf:4"],
            ]),
            "accounts": accounts
                ?? .value([
                    "source": "/etc/passwd",
                    "logins": [
                        [
                            "name": "alice", "uid": 1000, "shell": .string(shell), "source": "/etc/passwd:2", "expires": nil,
                            "password_locked": false,
                        ]
                    ],
                ]),
            "sshd": .value([
                "installed": true, "source": "/etc/ssh/sshd_config",
                "settings": ["usepam": ["value": "yes", "source": "/etc/ssh/sshd_config:8"]],
                "pam_tty_audit": ["value": .bool(ttyAudit), "source": "/etc/pam.d/sshd"],
            ]),
        ]
    }

    static let logOutputOff = policy(defaults: ["log_output": false])

    /// Rows: name, the sudoers fact, the other recorders' facts, the status at sl3 and sl4, and
    /// what the summary says at each level where the old fixture tests showed it.
    static let log009Table: [(String, JSON, [String: Fact], Status, Status, [String: String])] = [
        ("log_output, nothing exempt", policy(), recorders(), .pass, .pass, [:]),
        ("no log_output and no other recorder", logOutputOff, recorders(), .fail, .fail, ["sl3": "log_output", "sl4": "log_output"]),
        (
            "no log_output, and /etc/passwd unreadable: login shells unknown", logOutputOff,
            recorders(accounts: .unavailable(.error("cannot read /etc/passwd: no such file"))), .error, .fail, ["sl3": "/etc/passwd"]
        ),
        ("no log_output, pam_tty_audit on sshd's sessions", logOutputOff, recorders(ttyAudit: true), .pass, .fail, [:]),
        ("no log_output, tlog through SSSD", logOutputOff, recorders(tlog: true), .pass, .fail, [:]),
        (
            "no log_output, tlog-rec-session as every login shell", logOutputOff, recorders(shell: "/usr/bin/tlog-rec-session"), .pass,
            .fail, [:]
        ),
        (
            "no log_output, LOG_OUTPUT on every rule",
            policy(
                defaults: ["log_output": false], commands: [rule("alice ALL = LOG_OUTPUT: /usr/bin/less", tags: ["LOG_OUTPUT"])],
                rootTags: ["LOG_OUTPUT"]),
            recorders(), .pass, .fail, [:]
        ),
        (
            "no log_output, LOG_OUTPUT on some rules only",
            policy(defaults: ["log_output": false], commands: [rule("alice ALL = LOG_OUTPUT: /usr/bin/less", tags: ["LOG_OUTPUT"])]),
            recorders(), .fail, .fail, [:]
        ),
        (
            "a rule exempt from output logging",
            policy(commands: [
                rule("alice ALL = (root) NOLOG_OUTPUT: /usr/bin/less", tags: ["NOLOG_OUTPUT"], source: "/etc/sudoers.d/30-quiet:1")
            ]),
            recorders(), .fail, .fail, ["sl3": "/etc/sudoers.d/30-quiet:1", "sl4": "/etc/sudoers.d/30-quiet:1"]
        ),
        (
            "!log_output for a command",
            policy(scoped: [scoped("log_output", false, scope: "command /usr/bin/less", text: "Defaults!/usr/bin/less !log_output")]),
            recorders(), .fail, .fail, ["sl3": "/etc/sudoers.d/50-x:3", "sl4": "/etc/sudoers.d/50-x:3"]
        ),
        (
            "neither syslog nor a log file", policy(defaults: ["syslog": false, "logfile": false]), recorders(), .fail, .fail,
            ["sl3": "syslog", "sl4": "syslog"]
        ),
        (
            "a log file instead of syslog", policy(defaults: ["syslog": false, "logfile": "/var/log/sudo.log"]), recorders(), .pass, .pass,
            [:]
        ),
        (
            "a Defaults entry sudo refuses: LOG-009 judges what sudo applies",
            policy(problems: [problem("value \"var/log\" is invalid for option \"iolog_dir\"", kind: "defaults", source: "/etc/sudoers:3")]
            ),
            recorders(), .pass, .pass, [:]
        ),
    ]

    @Test(arguments: SudoersProbeTests.log009Table.indices)
    func log009OverATableOfFacts(_ row: Int) throws {
        let (name, sudoers, others, sl3, sl4, summaries) = SudoersProbeTests.log009Table[row]
        var facts = others
        facts["sudoers"] = .value(sudoers)
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let f = try cannedFinding("LOG-009", profile: profile, facts: facts)
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
            if let summary = summaries[profile] { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
        }
    }

    // MARK: - End to end

    /// The whole path from a policy on disk to both controls' statuses, once: the probe's facts
    /// and the controls' reading of them must meet, which neither kind of test above shows.
    @Test func hardenedPolicyPassesACC008AndLOG009EndToEnd() throws {
        for profile in ["sl3", "sl4"] {
            let findings = try audit(root: Package.fixtureRoot("sudoers-hardened"), profile: profile, probes: [SudoersProbe()]).findings
            #expect(findings["ACC-008"].status == .pass, "\(profile): \(findings["ACC-008"].summary)")
            #expect(
                findings["ACC-008"].evidence.contains {
                    $0.source == "/etc/sudoers:14" && $0.observed == true && $0.expected.contains("use_pty")
                })
            #expect(findings["LOG-009"].status == .pass, "\(profile): \(findings["LOG-009"].summary)")
        }
    }

    /// And once for a failure named by file and line, as a reader of the finding sees it.
    @Test func nopasswdInADropInFailsACC008EndToEndNamingFileAndLine() throws {
        let f = try audit(root: Package.fixtureRoot("sudoers-nopasswd-in-dropin"), probes: [SudoersProbe()]).findings["ACC-008"]
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/etc/sudoers.d/90-cloud-init-users:4" })
        #expect(evidence.observed == "debian ALL = (ALL) NOPASSWD: ALL")
        #expect(f.summary.contains("/etc/sudoers.d/90-cloud-init-users:4"))
    }
}
