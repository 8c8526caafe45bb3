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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("LOG-011", root: tree.path, probes: [SSHDConfigProbe(), LoginBannerProbe()])
    }

    @Test func aBannerThatAnnouncesMonitoringPassesNamingItsPathAndFirstLine() throws {
        let tree = host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", LoginBannerTests.notice))
        let v = try fact(tree)
        #expect(v["banner"] == ["value": "/etc/issue.net", "source": "/etc/ssh/sshd_config.d/60-warden.conf:1"])
        #expect(v["shown"] == true)
        #expect(v["size"] == .int(LoginBannerTests.notice.utf8.count))
        #expect(v["first_line"] == "AUTHORISED USE ONLY.")
        #expect(v["words"]?.arrayValue?.contains(["word": "recorded", "source": "/etc/issue.net"]) == true)
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/etc/issue.net" && $0.observed == "AUTHORISED USE ONLY." })
            #expect(f.evidence.contains { $0.source == "/etc/issue.net" && $0.observed == "monitored" && $0.ok == true })
        }
    }

    /// Each configuration and banner file with the status LOG-011 gets, the same at SL3 and SL4.
    static let cases: [(String, String?, (path: String, text: String)?, Status)] = [
        ("no Banner: OpenSSH's default none", nil, nil, .fail),
        ("Banner NONE in capitals", "Banner NONE\n", ("/etc/issue.net", notice), .fail),
        ("a banner file that does not exist", "Banner /etc/issue.net\n", nil, .fail),
        ("an empty banner file (sshd sends nothing)", "Banner /etc/issue.net\n", ("/etc/issue.net", ""), .fail),
        ("a banner that does not mention monitoring", "Banner /etc/issue.net\n", ("/etc/issue.net", "Debian GNU/Linux 12\n"), .fail),
        ("a word inside another is not the word", "Banner /etc/issue.net\n", ("/etc/issue.net", "Blogging platform\n"), .fail),
        ("a relative path is taken from /", "Banner etc/issue.net\n", ("/etc/issue.net", notice), .pass),
        ("~/ is root's home", "Banner ~/banner\n", ("/root/banner", "Sessions are LOGGED.\n"), .pass),
        // The first value wins: the drop-in, included first, over the main file's later line.
        ("the first Banner wins", "Banner /etc/issue.net\nBanner none\n", ("/etc/issue.net", notice), .pass),
    ]

    @Test(arguments: LoginBannerTests.cases.indices)
    func statusAtBothLevels(_ row: Int) throws {
        let (name, dropIn, banner, expected) = LoginBannerTests.cases[row]
        let tree = host(dropIn, banner: banner)
        for (profile, f) in try findings(tree) { #expect(f.status == expected, "\(name), \(profile): \(f.summary)") }
    }

    @Test func aBannerOverOneMebibyteIsNotSent() throws {
        let tree = host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", "monitored " + String(repeating: "x", count: 1 << 20)))
        let v = try fact(tree)
        #expect(v["shown"] == false)
        #expect(v["words"] == nil)
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
    }

    @Test func withoutTheNoticeRequirementAnyNonEmptyBannerPasses() throws {
        let tree = host("Banner /etc/issue.net\n", banner: ("/etc/issue.net", "Debian GNU/Linux 12\n"))
        let facts = try audit(root: tree.path, probes: [SSHDConfigProbe(), LoginBannerProbe()]).facts
        var profile = try BuiltIn.profile("sl4")
        profile.controls = profile.controls.filter { $0.definition.id == "LOG-011" }
        #expect(Evaluator.evaluate(profile, facts: facts, now: testNow)["LOG-011"].status == .fail)
        profile.controls[0].parameters["require_monitoring_notice"] = false
        let f = Evaluator.evaluate(profile, facts: facts, now: testNow)["LOG-011"]
        #expect(f.status == .pass, "\(f.summary)")
    }

    @Test func withoutAnSSHServerItDoesNotApply() throws {
        let tree = TempTree()
        tree.directory("etc")
        #expect(try fact(tree)["not_applicable"] != nil)
        for (profile, f) in try findings(tree) { #expect(f.status == .notApplicable, "\(profile): \(f.summary)") }
    }

    @Test func aConfigurationSSHDRefusesIsAnError() throws {
        let tree = host("Banner /etc/issue.net\nNoSuchKeyword yes\n", banner: ("/etc/issue.net", LoginBannerTests.notice))
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
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
