import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// LOG-011: the banner sshd shows before authentication, found through sshd's own reading of its
/// configuration, and whether it announces monitoring.
@Suite struct LoginBannerTests {
    /// An SSH server whose sshd_config includes its drop-ins first, as Debian's does.
    func host(_ dropIn: String?, banner: (path: String, text: String)? = nil) -> TempTree {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n")
        if let dropIn { tree.file("etc/ssh/sshd_config.d/60-warden.conf", dropIn) }
        if let banner { tree.file(String(banner.path.dropFirst()), banner.text) }
        return tree
    }

    static let notice = "\n  AUTHORISED USE ONLY.\nThis system is monitored: every session is Recorded and audited.\n"

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("login_banner", of: LoginBannerProbe(), root: tree.path) }

    static let dropIn = "/etc/ssh/sshd_config.d/60-warden.conf:1"

    static func words(_ words: [String], _ path: String = "/etc/issue.net") -> JSON {
        .array(words.map { ["word": .string($0), "source": .string(path)] })
    }

    // MARK: - Probe tests: the login_banner fact of each configuration and banner file

    @Test func aBannerThatAnnouncesMonitoringWithItsPathAndFirstLine() throws {
        let v = try fact(host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", LoginBannerTests.notice)))
        #expect(v["banner"] == ["value": "/etc/issue.net", "source": .string(LoginBannerTests.dropIn)])
        #expect(v["path"] == "/etc/issue.net")
        #expect(v["shown"] == true)
        #expect(v["size"] == .int(LoginBannerTests.notice.utf8.count))
        #expect(v["first_line"] == "AUTHORISED USE ONLY.")
        // Words are matched without case: "Recorded" is the word recorded.
        #expect(v["words"]?.arrayValue?.contains(["word": "recorded", "source": "/etc/issue.net"]) == true)
        #expect(v["words"]?.arrayValue?.contains(["word": "monitored", "source": "/etc/issue.net"]) == true)
    }

    /// Each configuration and banner file the old audits used, with the whole fact.
    static let cases: [(String, String?, (path: String, text: String)?, JSON)] = [
        ("no Banner: OpenSSH's default none", nil, nil, ["banner": ["value": "none", "source": "default (OpenSSH)"]]),
        ("Banner NONE in capitals", "Banner NONE\n", ("/etc/issue.net", notice), ["banner": ["value": "none", "source": .string(dropIn)]]),
        (
            "a banner file that does not exist", "Banner /etc/issue.net\n", nil,
            [
                "banner": ["value": "/etc/issue.net", "source": .string(dropIn)], "path": "/etc/issue.net", "source": "/etc/issue.net",
                "shown": false,
            ]
        ),
        (
            "an empty banner file (sshd sends nothing)", "Banner /etc/issue.net\n", ("/etc/issue.net", ""),
            [
                "banner": ["value": "/etc/issue.net", "source": .string(dropIn)], "path": "/etc/issue.net", "source": "/etc/issue.net",
                "size": 0,
                "shown": false,
            ]
        ),
        (
            "a banner that does not mention monitoring", "Banner /etc/issue.net\n", ("/etc/issue.net", "Debian GNU/Linux 12\n"),
            [
                "banner": ["value": "/etc/issue.net", "source": .string(dropIn)], "path": "/etc/issue.net", "source": "/etc/issue.net",
                "size": 20,
                "shown": true, "first_line": "Debian GNU/Linux 12", "words": words(["debian", "gnu", "linux"]),
            ]
        ),
        (
            "a word inside another is not the word", "Banner /etc/issue.net\n", ("/etc/issue.net", "Blogging platform\n"),
            [
                "banner": ["value": "/etc/issue.net", "source": .string(dropIn)], "path": "/etc/issue.net", "source": "/etc/issue.net",
                "size": 18,
                "shown": true, "first_line": "Blogging platform", "words": words(["blogging", "platform"]),
            ]
        ),
        (
            "~/ is root's home", "Banner ~/banner\n", ("/root/banner", "Sessions are LOGGED.\n"),
            [
                "banner": ["value": "~/banner", "source": .string(dropIn)], "path": "/root/banner", "source": "/root/banner", "size": 21,
                "shown": true, "first_line": "Sessions are LOGGED.", "words": words(["sessions", "are", "logged"], "/root/banner"),
            ]
        ),
    ]

    @Test(arguments: LoginBannerTests.cases.indices)
    func theFactOfEachCase(_ row: Int) throws {
        let (name, dropIn, banner, expected) = LoginBannerTests.cases[row]
        #expect(try fact(host(dropIn, banner: banner)) == expected, "\(name)")
    }

    @Test func aRelativePathIsTakenFromRoot() throws {
        let v = try fact(host("Banner etc/issue.net\n", banner: ("/etc/issue.net", LoginBannerTests.notice)))
        #expect(v["banner"] == ["value": "etc/issue.net", "source": .string(LoginBannerTests.dropIn)])
        #expect(v["path"] == "/etc/issue.net")
        #expect(v["shown"] == true)
    }

    @Test func theFirstBannerWins() throws {
        // The drop-in, included first, over its own later line and the main file's.
        let v = try fact(host("Banner /etc/issue.net\nBanner none\n", banner: ("/etc/issue.net", LoginBannerTests.notice)))
        #expect(v["banner"] == ["value": "/etc/issue.net", "source": .string(LoginBannerTests.dropIn)])
        #expect(v["shown"] == true)
    }

    @Test func aBannerOverOneMebibyteIsNotSent() throws {
        let tree = host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", "monitored " + String(repeating: "x", count: 1 << 20)))
        let v = try fact(tree)
        #expect(v["shown"] == false)
        #expect(v["size"] == .int(10 + (1 << 20)))
        #expect(v["words"] == nil)
    }

    @Test func withoutAnSSHServerItDoesNotApply() throws {
        let tree = TempTree()
        tree.directory("etc")
        #expect(try fact(tree) == ["not_applicable": "no OpenSSH server: no sshd binary, configuration or unit"])
    }

    @Test func aConfigurationSSHDRefusesLeavesNoFact() throws {
        let tree = host("Banner /etc/issue.net\nNoSuchKeyword yes\n", banner: ("/etc/issue.net", LoginBannerTests.notice))
        guard case .unavailable(let why)? = try audit(root: tree.path, probes: [LoginBannerProbe()]).facts["login_banner"] else {
            Issue.record("a configuration sshd refuses gave a value")
            return
        }
        #expect(why.kind == .error)
        #expect(why.reason.hasPrefix("sshd would refuse this configuration: "), "\(why.reason)")
    }

    // MARK: - Control tests: LOG-011 over a table of canned facts

    /// A notice shown from /etc/issue.net with these words; each row changes one thing.
    static func canned(banner: String = "/etc/issue.net", shown: Bool? = true, words: [String] = ["authorised", "monitored", "recorded"])
        -> JSON
    {
        var fact: JSONObject = ["banner": ["value": .string(banner), "source": .string(dropIn)]]
        guard banner != "none", let shown else { return .object(fact) }
        fact["path"] = .string(banner)
        fact["source"] = .string(banner)
        fact["shown"] = .bool(shown)
        if shown {
            fact["first_line"] = "AUTHORISED USE ONLY."
            fact["words"] = LoginBannerTests.words(words, banner)
        }
        return .object(fact)
    }

    static let installed: Fact = .value(["installed": true, "source": "/etc/ssh/sshd_config"])

    /// The same at SL3 and SL4.
    static let log011Table: [(String, Fact, Fact, Status)] = [
        ("a notice that announces monitoring", installed, .value(canned()), .pass),
        ("no banner", installed, .value(canned(banner: "none")), .fail),
        ("a banner file sshd does not send (missing, empty or over 1 MiB)", installed, .value(canned(shown: false)), .fail),
        ("a banner that does not mention monitoring", installed, .value(canned(words: ["debian", "gnu", "linux"])), .fail),
        ("blogging is not logging", installed, .value(canned(words: ["blogging", "platform"])), .fail),
        ("logged, in root's home", installed, .value(canned(banner: "/root/banner", words: ["sessions", "are", "logged"])), .pass),
        (
            "no SSH server", .value(["installed": false, "source": "/etc/ssh/sshd_config"]),
            .value(["not_applicable": "no OpenSSH server: no sshd binary, configuration or unit"]), .notApplicable
        ),
        (
            "a configuration sshd refuses", installed,
            .unavailable(.error("sshd would refuse this configuration: /etc/ssh/sshd_config.d/60-warden.conf:2: NoSuchKeyword")), .error
        ),
    ]

    @Test(arguments: LoginBannerTests.log011Table.indices)
    func log011OverATableOfFacts(_ row: Int) throws {
        let (name, sshd, banner, expected) = LoginBannerTests.log011Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("LOG-011", profile: profile, facts: ["sshd": sshd, "login_banner": banner])
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
        }
    }

    @Test func aPassNamesTheBannersPathFirstLineAndWord() throws {
        let facts: [String: Fact] = ["sshd": LoginBannerTests.installed, "login_banner": .value(LoginBannerTests.canned())]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("LOG-011", profile: profile, facts: facts)
            #expect(f.evidence.contains { $0.source == "/etc/issue.net" && $0.observed == "AUTHORISED USE ONLY." })
            #expect(f.evidence.contains { $0.source == "/etc/issue.net" && $0.observed == "monitored" && $0.ok == true })
        }
    }

    @Test func withoutTheNoticeRequirementAnyNonEmptyBannerPasses() throws {
        let banner = LoginBannerTests.canned(words: ["debian", "gnu", "linux"])
        let facts: [String: Fact] = ["sshd": LoginBannerTests.installed, "login_banner": .value(banner)]
        #expect(try cannedFinding("LOG-011", profile: "sl4", facts: facts).status == .fail)
        let f = try cannedFinding("LOG-011", profile: "sl4", facts: facts, parameters: ["require_monitoring_notice": false])
        #expect(f.status == .pass, "\(f.summary)")
    }

    /// End to end, once: LOG-011 joins the sshd probe's installed with the banner probe's fact,
    /// both from sshd's own reading of the configuration.
    @Test func aNoticeThroughADropInPassesEndToEnd() throws {
        let tree = host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", LoginBannerTests.notice))
        for (profile, f) in try findingsBySL("LOG-011", root: tree.path, probes: [SSHDConfigProbe(), LoginBannerProbe()]) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    /// The oracle is sshd itself (OpenSSH 9.2 in the Debian 12 root): the file `sshd -T` names
    /// for each Banner value is the one Warden reads (`none` as none).
    @Test func theBannerFileIsTheOneSSHDTNames() throws {
        let root = try RealRoots.debian12()
        let values = ["none", "NONE", "/etc/issue.net", "etc/issue.net", "~/banner", "\"/srv/motd banner\"", "/srv/motd banner"]
        let layer = TempTree(prefix: "warden-sshd-banner")
        for (n, value) in values.enumerated() {
            layer.file("cases/\(n)/sshd_config", "Banner \(value)\nBanner /etc/second\nUsePAM yes\n")
        }
        let script = """
            ssh-keygen -A >/dev/null && mkdir -p /run/sshd || exit 70
            cd / && n=0
            while [ -d /cases/$n ]; do
              echo "== $n $(sshd -T -f /cases/$n/sshd_config 2>&1 | grep -E '^banner |line' | head -1)"
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 120) }
        try #require(r.status == 0, "\(r.stderr)")
        let answers = r.stdout.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("== ") }.map { String($0.dropFirst(3)) }
        try #require(answers.count == values.count, "\(r.stdout)")
        for (n, value) in values.enumerated() {
            let tree = TempTree()
            tree.file("etc/ssh/sshd_config", "Banner \(value)\nBanner /etc/second\nUsePAM yes\n")
            // sshd joins a relative path to its working directory, `/`: `//etc/issue.net`.
            var theirs = String(answers[n].drop { $0 != " " }.drop { $0 == " " })
            if theirs.hasPrefix("banner //") { theirs = "banner /" + theirs.dropFirst("banner //".count) }
            switch try audit(root: tree.path, probes: [LoginBannerProbe()]).facts["login_banner"] {
            case .value(let v)?:
                let ours = v["path"]?.stringValue ?? v["banner"]?["value"]?.stringValue ?? "?"
                #expect(theirs == "banner \(ours)", "\(value): sshd -T says '\(theirs)', Warden '\(ours)'")
            case .unavailable(let u)?:
                #expect(theirs.contains("line 1"), "\(value): Warden refuses (\(u.reason)), sshd -T says '\(theirs)'")
            case nil:
                Issue.record("no login_banner fact")
            }
        }
    }
}
