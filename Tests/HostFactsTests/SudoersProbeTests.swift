import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct SudoersProbeTests {
    func finding(_ fixture: String, profile: String = "sl3") throws -> Finding {
        try audit(root: Package.fixtureRoot(fixture), profile: profile, probes: [SudoersProbe()]).findings["ACC-008"]
    }

    func finding(_ tree: TempTree, profile: String = "sl3") throws -> Finding {
        try audit(root: tree.path, profile: profile, probes: [SudoersProbe()]).findings["ACC-008"]
    }

    func sudoers(_ root: String) throws -> JSON {
        let facts = try audit(root: root, probes: [SudoersProbe()]).facts
        guard case .value(let v)? = facts["sudoers"] else {
            Issue.record("no sudoers value: \(String(describing: facts["sudoers"]))")
            return .null
        }
        return v
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

    @Test func hardenedPolicyPassesSL3AndSL4() throws {
        for profile in ["sl3", "sl4"] {
            let f = try finding("sudoers-hardened", profile: profile)
            #expect(f.status == .pass, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/etc/sudoers:14" && $0.observed == true && $0.expected.contains("use_pty") })
        }
    }

    @Test func nopasswdInADropInFailsNamingFileAndLine() throws {
        let f = try finding("sudoers-nopasswd-in-dropin")
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/etc/sudoers.d/90-cloud-init-users:4" })
        #expect(evidence.observed == "debian ALL = (ALL) NOPASSWD: ALL")
        #expect(f.summary.contains("/etc/sudoers.d/90-cloud-init-users:4"))
    }

    @Test func dropInsSudoSkipsDoNotCount() throws {
        let f = try finding("sudoers-dotted-dropin-ignored", profile: "sl4")
        #expect(f.status == .pass, "\(f.summary)")
        let facts = try sudoers(Package.fixtureRoot("sudoers-dotted-dropin-ignored"))
        let ignored = facts["ignored"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(ignored == ["/etc/sudoers.d/10-weights-ops~", "/etc/sudoers.d/90-ops.conf"])
        #expect(facts["files"]?.arrayValue?.contains("/etc/sudoers.d/90-ops.conf") == false)
    }

    @Test func scopedNotAuthenticateFailsWithItsLine() throws {
        let f = try finding("sudoers-defaults-not-authenticate")
        #expect(f.status == .fail)
        // A continuation line: the statement is numbered by its first line.
        let evidence = try #require(f.evidence.first { $0.source == "/etc/sudoers.d/50-deploy:2" })
        #expect(evidence.observed == "Defaults:deploy,ci-runner !authenticate")
        #expect(f.summary.contains("turns authentication off"))
    }

    /// sudo 1.9.13 refuses a Defaults binding list continued on the next line after blanks
    /// (visudo: syntax error), and skips the statement: authentication is not turned off, but
    /// what the line meant is unknown, so ACC-008 is an error naming it.
    @Test func bindingListContinuedAfterBlanksIsRefusedAsSudoRefusesIt() throws {
        let t = tree(dropIns: ["50-deploy": "Defaults:deploy, \\\n         ci-runner !authenticate\n"])
        let v = try sudoers(t.path)
        #expect(v["problems"]?.arrayValue?.first?["source"] == "/etc/sudoers.d/50-deploy:1")
        #expect(v["scoped_defaults"] == [])
        let f = try finding(t)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers.d/50-deploy:1"))
        // Without blanks beside the continuation it is one list.
        let joined = tree(dropIns: ["50-deploy": "Defaults:deploy,\\\nci-runner !authenticate\n"])
        #expect(try sudoers(joined.path)["scoped_defaults"]?.arrayValue?.first?["scope"] == "user deploy,ci-runner")
    }

    /// A Defaults entry sudo refuses once the file is parsed (visudo -c: "values for iolog_dir must
    /// start with a '/'"): sudo 1.9.13 still runs, skipping that entry and applying the others of
    /// the line. ACC-008 is an error naming the line; LOG-009 judges what sudo applies.
    @Test func refusedDefaultsEntryIsAnErrorAndTheRestOfTheLineApplies() throws {
        let root = Package.fixtureRoot("sudoers-refused-defaults")
        let v = try sudoers(root)
        #expect(v["problems"]?.arrayValue?.map { $0["source"] } == ["/etc/sudoers:3"])
        #expect(v["problems"]?.arrayValue?.first?["kind"] == "defaults")
        #expect(v["defaults"]?["log_output"]?["value"] == true)
        #expect(v["defaults"]?["iolog_dir"]?["source"] == "default (sudo)")
        let findings = try audit(root: root, profile: "sl4", probes: [SudoersProbe()]).findings
        #expect(findings["ACC-008"].status == .error)
        #expect(findings["ACC-008"].summary.contains("/etc/sudoers:3"))
        #expect(findings["LOG-009"].status == .pass, "\(findings["LOG-009"].summary)")
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
        #expect(
            scoped.map { $0["source"] } == [
                "/etc/sudoers.d/40-scopes:1", "/etc/sudoers.d/40-scopes:2",
                "/etc/sudoers.d/40-scopes:3", "/etc/sudoers.d/40-scopes:5",
            ])
        #expect(scoped.last?["value"] == false)
        // Scoped entries do not change the global value.
        #expect(v["defaults"]?["authenticate"]?["value"] == true)
        let f = try finding(t, profile: "sl4")
        #expect(f.status == .fail)
        for line in 1...2 { #expect(f.evidence.contains { $0.source == "/etc/sudoers.d/40-scopes:\(line)" }) }
        // Output logging turned off for a command is LOG-009's (session recording).
        let log = try recording(t.path, profile: "sl4")
        #expect(log.status == .fail)
        #expect(log.evidence.contains { $0.source == "/etc/sudoers.d/40-scopes:3" })
    }

    @Test func globalNotAuthenticateFails() throws {
        let t = tree(dropIns: ["20-lab": "# lab hosts\nDefaults !authenticate\n"])
        let f = try finding(t)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.d/20-lab:2" && $0.observed == false })
    }

    @Test func laterGlobalDefaultsWin() throws {
        let t = tree(dropIns: ["20-a": "Defaults !authenticate\n", "30-b": "Defaults authenticate\n"])
        let f = try finding(t)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.d/30-b:1" && $0.observed == true })
    }

    @Test func missingUsePtyFailsWhenTheInstalledSudoDefaultsItOff() throws {
        let f = try finding("sudoers-missing-use-pty")
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.expected.contains("use_pty") && $0.observed == false })
        #expect(evidence.source == "default (sudo 1.9.13p3-1+deb12u1: use_pty is off by default)")
    }

    @Test func usePtyDefaultsOnFromSudo1_9_14() throws {
        let t = tree(main: "root ALL=(ALL:ALL) ALL\n")
        t.file("var/lib/dpkg/status", "Package: sudo\nStatus: install ok installed\nVersion: 1.9.16p2-3\n")
        let v = try sudoers(t.path)
        #expect(v["defaults"]?["use_pty"]?["value"] == true)
        #expect(try finding(t).status == .pass)
        // Without dpkg's database the version is unknown: the older, weaker default is assumed.
        let unknown = tree(main: "root ALL=(ALL:ALL) ALL\n")
        #expect(try finding(unknown).status == .fail)
    }

    @Test func explicitNotUsePtyFailsEvenWhereItIsTheDefault() throws {
        let t = tree(main: "Defaults:alice !use_pty\nroot ALL=(ALL:ALL) ALL\n")
        t.file("var/lib/dpkg/status", "Package: sudo\nStatus: install ok installed\nVersion: 1.9.16p2-3\n")
        let f = try finding(t)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers:1" && $0.observed == "Defaults:alice !use_pty" })
    }

    /// I/O logging is LOG-009's (session recording); ACC-008 judges authentication only.
    func recording(_ root: String, profile: String) throws -> Finding {
        try audit(root: root, profile: profile).findings["LOG-009"]
    }

    @Test func sl4NeedsLogOutputAndIologDirAloneIsNotEnough() throws {
        let root = Package.fixtureRoot("sudoers-iolog-dir-without-log-output")
        #expect(try finding("sudoers-iolog-dir-without-log-output", profile: "sl4").status == .pass)
        // At SL3 another recorder could do, but without /etc/passwd whether a login shell records
        // cannot be decided.
        let sl3 = try recording(root, profile: "sl3")
        #expect(sl3.status == .error, "\(sl3.summary)")
        #expect(sl3.summary.contains("/etc/passwd"), "\(sl3.summary)")
        let sl4 = try recording(root, profile: "sl4")
        #expect(sl4.status == .fail)
        #expect(sl4.evidence.contains { $0.expected == "Defaults log_output" && $0.observed == false && $0.source == "default (sudo)" })
        #expect(sl4.summary.contains("log_output"))
    }

    @Test func sl4FailsARuleExemptFromOutputLogging() throws {
        let t = tree(dropIns: ["30-quiet": "alice ALL = (root) NOLOG_OUTPUT: /usr/bin/less\n"])
        #expect(try finding(t, profile: "sl4").status == .pass)
        let f = try recording(t.path, profile: "sl4")
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.d/30-quiet:1" })
    }

    @Test func passwdTagTurnsNopasswdBackOffForLaterCommands() throws {
        let v = try sudoers(Package.fixtureRoot("sudoers-passwd-tag-after-nopasswd"))
        let commands = v["commands"]?.arrayValue?.filter { $0["source"] == "/etc/sudoers.d/20-backup:2" } ?? []
        #expect(commands.map { $0["tags"] } == [["NOPASSWD"], ["PASSWD"], ["PASSWD"]])
        let f = try finding("sudoers-passwd-tag-after-nopasswd")
        #expect(f.status == .fail)
        let offenders = f.evidence.filter { $0.source == "/etc/sudoers.d/20-backup:2" }
        #expect(offenders.map(\.observed) == ["backup ALL = (root) NOPASSWD: /usr/bin/systemctl status backup.service"])
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

    @Test func negatedCommandUnderNopasswdGrantsNothing() throws {
        let t = tree(main: "Defaults use_pty\nalice ALL = NOPASSWD: !/bin/sh\n")
        #expect(try finding(t).status == .pass)
    }

    @Test func garbageLineIsAnErrorNamingFileAndLine() throws {
        let f = try finding("sudoers-garbage-line")
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers.d/10-weights-ops:4"))
        #expect(f.summary.contains("not a sudoers statement"))
    }

    @Test func nopasswdStillFailsBesideAGarbageLine() throws {
        let t = tree(dropIns: ["10-x": "what is this\nbob ALL = NOPASSWD: ALL\n"])
        let f = try finding(t)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.d/10-x:2" })
    }

    @Test func relativeIncludeIsRelativeToTheIncludingFile() throws {
        let t = tree(
            main: "Defaults use_pty\n@include sudoers.local\n#includedir sudoers.d\n",
            dropIns: ["10-more": "#include ../sudoers.extra\n"])
        t.file("etc/sudoers.local", "alice ALL = ALL\n", mode: 0o440)
        t.file("etc/sudoers.extra", "bob ALL = NOPASSWD: /bin/ls\n", mode: 0o440)
        let v = try sudoers(t.path)
        #expect(v["files"] == ["/etc/sudoers", "/etc/sudoers.local", "/etc/sudoers.d/10-more", "/etc/sudoers.extra"])
        let f = try finding(t)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.extra:1" })
    }

    @Test func includeHostnameExpansion() throws {
        let t = tree(main: "Defaults use_pty\n@include /etc/sudoers.%h\n")
        t.file("etc/hostname", "gpu-17.example.org\n")
        t.file("etc/sudoers.gpu-17", "carol ALL = NOPASSWD: ALL\n", mode: 0o440)
        let f = try finding(t)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/sudoers.gpu-17:1" })
    }

    @Test func danglingSymlinkAndSubdirectoryInTheDropInDirectoryAreSkipped() throws {
        let t = tree()
        t.symlink("etc/sudoers.d/50-gone", to: "/etc/sudoers.gone")
        t.file("etc/sudoers.d/60-dir/x", "eve ALL = NOPASSWD: ALL\n", mode: 0o440)
        #expect(try finding(t).status == .pass)
        let reasons = try sudoers(t.path)["ignored"]?.arrayValue?.compactMap { $0["reason"]?.stringValue } ?? []
        #expect(reasons == ["dangling symlink: sudo skips it", "not a regular file (directory): sudo skips it"])
    }

    @Test func dropInsSudoRefusesForTheirPermissionsDoNotCount() throws {
        let t = tree(dropIns: ["10-open": "eve ALL = NOPASSWD: ALL\n"])
        t.file("etc/sudoers.d/10-open", "eve ALL = NOPASSWD: ALL\n", mode: 0o666)
        #expect(try finding(t).status == .pass)
        let v = try sudoers(t.path)
        #expect(v["ignored"]?.arrayValue?.first?["reason"]?.stringValue?.contains("world writable") == true)
    }

    @Test func includeLoopIsAnErrorNotAHang() throws {
        let t = tree(
            main: "Defaults use_pty\n@include /etc/sudoers.d/a\n", dropIns: ["a": "@include /etc/sudoers.d/b\n", "b": "@include a\n"])
        let f = try finding(t)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers.d/b:1"))
        #expect(f.summary.contains("include loop"))
    }

    @Test func missingIncludedFileIsAnError() throws {
        let t = tree(main: "Defaults use_pty\n@include /etc/sudoers.missing\n")
        let f = try finding(t)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers:2"))
    }

    @Test func sudoNotInstalledIsNotApplicable() throws {
        let t = TempTree()
        t.directory("etc")
        let f = try finding(t)
        #expect(f.status == .notApplicable)
    }

    @Test func sudoInstalledWithoutPolicyIsAnError() throws {
        let t = TempTree()
        t.file("usr/bin/sudo", "", mode: 0o755)
        let f = try finding(t)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers does not exist"))
    }

    @Test func unreadablePolicyIsAnError() throws {
        let t = TempTree()
        t.file("usr/bin/sudo", "", mode: 0o755)
        t.directory("etc/sudoers")
        let f = try finding(t)
        #expect(f.status == .error)
        #expect(f.summary.contains("/etc/sudoers: is a directory"))
    }
}
