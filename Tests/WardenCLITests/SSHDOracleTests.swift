import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// sshd itself is the oracle: generated configurations are judged by `sshd -t` and `sshd -T`
/// (OpenSSH 9.2p1, inside the Debian 12 root of `Scripts/roots`) and by Warden's SSHD probe, and
/// the two must agree on whether sshd starts, which line it refuses, and the effective values of
/// the keywords Warden's controls read.
@Suite struct SSHDOracleTests {
    /// Keywords the generator uses, with values sshd accepts and values it refuses.
    static let vocabulary: [(keyword: String, good: [String], bad: [String])] = [
        ("PermitRootLogin", ["no", "yes", "prohibit-password", "without-password", "forced-commands-only", "NO"], ["maybe", "never"]),
        ("PasswordAuthentication", ["no", "yes", "YES"], ["maybe", "1"]),
        ("KbdInteractiveAuthentication", ["no", "yes"], ["sometimes"]),
        ("ChallengeResponseAuthentication", ["no", "yes"], ["perhaps"]),
        ("PermitEmptyPasswords", ["no", "yes"], ["empty"]),
        ("X11Forwarding", ["no", "yes"], ["on"]),
        ("AllowTcpForwarding", ["no", "yes", "local", "remote", "all"], ["both"]),
        ("AllowAgentForwarding", ["no", "yes"], ["true"]),
        ("PermitTunnel", ["no", "point-to-point", "ethernet", "yes"], ["tun"]),
        ("MaxAuthTries", ["3", "6", "10"], ["three", "3x"]),
        ("ClientAliveInterval", ["300", "5m", "1h30m", "0"], ["5 minutes", "x"]),
        ("ClientAliveCountMax", ["0", "3"], ["many"]),
        ("LoginGraceTime", ["30", "2m"], ["soon"]),
        ("LogLevel", ["VERBOSE", "info", "DEBUG3"], ["LOUD"]),
        ("Compression", ["no", "delayed", "yes"], ["zlib"]),
        ("UsePAM", ["yes", "no"], ["pam"]),
        ("Banner", ["/etc/issue.net", "none"], []),
        ("AuthenticationMethods", ["publickey,keyboard-interactive", "any"], []),
        ("UsePrivilegeSeparation", ["yes"], []),
        ("Protocol", ["2"], []),
        ("ChannelTimeout", ["session=5m"], []),
        ("RequiredRSASize", ["3072"], ["big"]),
        ("NoSuchKeyword", [], ["yes"]),
    ]

    /// Keywords whose effective (global) value is compared with `sshd -T`.
    static let compared = [
        "permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "permitemptypasswords",
        "x11forwarding", "allowtcpforwarding", "allowagentforwarding", "permittunnel", "maxauthtries",
        "clientaliveinterval", "usepam", "pubkeyauthoptions",
    ]

    struct Case {
        var main: [String]
        var dropIn: [String]
    }

    /// `count` configurations from a fixed seed: a main file and one drop-in, with repeated
    /// keywords (first value wins), a Match block now and then (global-only keywords inside one
    /// are refused), `Keyword=value` forms, and a bad value in about a third of them.
    static func cases(count: Int) -> [Case] {
        var rng = SeededGenerator(seed: 2026_12_04)
        var out: [Case] = []
        for _ in 0..<count {
            let broken = Int.random(in: 0..<3, using: &rng) == 0
            func line() -> String {
                let entry = vocabulary.filter { !$0.good.isEmpty }.randomElement(using: &rng)!
                let value = entry.good.randomElement(using: &rng)!
                return Bool.random(using: &rng) ? "\(entry.keyword) \(value)" : "\(entry.keyword)=\(value)"
            }
            var main = (0..<Int.random(in: 0...3, using: &rng)).map { _ in line() }
            main.insert("Include /etc/ssh/sshd_config.d/*.conf", at: 0)
            var dropIn = (0..<Int.random(in: 1...5, using: &rng)).map { _ in line() }
            if Int.random(in: 0..<4, using: &rng) == 0 {
                dropIn.append("Match User alice")
                dropIn.append(
                    "    " + ["PasswordAuthentication yes", "X11Forwarding yes", "MaxAuthTries 9", "UsePAM no", "Compression no"]
                        .randomElement(using: &rng)!)
            }
            if broken {
                let entry = vocabulary.filter { !$0.bad.isEmpty }.randomElement(using: &rng)!
                let bad = "\(entry.keyword) \(entry.bad.randomElement(using: &rng)!)"
                if Bool.random(using: &rng) {
                    main.append(bad)
                } else {
                    dropIn.insert(bad, at: Int.random(in: 0...dropIn.count, using: &rng))
                }
            }
            out.append(Case(main: main, dropIn: dropIn))
        }
        return out
    }

    /// What sshd said of one case: refused (with its message) or the effective values.
    struct Verdict {
        var refused: String?
        var values: [String: String] = [:]
    }

    @Test func sshdAndWardenAgreeOnGeneratedConfigurations() throws {
        let root = try RealRoots.debian12()
        let cases = Self.cases(count: 120)
        // One layer holds every case at /cases/N; a script runs sshd -t and -T on each in one go.
        let layer = TempTree(prefix: "warden-sshd-oracle")
        for (n, c) in cases.enumerated() {
            let includeLine = "Include /cases/\(n)/sshd_config.d/*.conf"
            layer.file("cases/\(n)/sshd_config", c.main.map { $0.hasPrefix("Include ") ? includeLine : $0 }.joined(separator: "\n") + "\n")
            layer.file("cases/\(n)/sshd_config.d/50-case.conf", c.dropIn.joined(separator: "\n") + "\n")
        }
        let script = """
            ssh-keygen -A >/dev/null && mkdir -p /run/sshd || exit 70
            n=0
            while [ -d /cases/$n ]; do
              echo "== $n"
              if sshd -t -f /cases/$n/sshd_config 2>/tmp/err; then sshd -T -f /cases/$n/sshd_config 2>&1 | grep -E '^(\(Self.compared.joined(separator: "|"))) '; else echo "REFUSED $(grep -v -E 'Deprecated option|Unsupported option' /tmp/err | head -1)"; fi
              n=$((n+1))
            done
            """
        // The layer must outlive the run (a TempTree is removed when released).
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var verdicts: [Verdict] = []
        // sshd ends its messages with \r\n, one Character in Swift: split on any line end.
        for line in r.stdout.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("== ") {
                verdicts.append(Verdict())
                continue
            }
            guard !verdicts.isEmpty else { continue }
            if line.hasPrefix("REFUSED ") {
                verdicts[verdicts.count - 1].refused = String(line.dropFirst(8))
                continue
            }
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { verdicts[verdicts.count - 1].values[parts[0]] = parts[1] }
        }
        try #require(verdicts.count == cases.count, "\(r.stderr.suffix(1500))")
        #expect(verdicts.filter { $0.refused != nil }.count >= 25, "the generator should make sshd refuse some cases")

        var disagreements: [String] = []
        for (n, c) in cases.enumerated() {
            let tree = TempTree()
            tree.file("etc/ssh/sshd_config", c.main.joined(separator: "\n") + "\n")
            tree.file("etc/ssh/sshd_config.d/50-case.conf", c.dropIn.joined(separator: "\n") + "\n")
            let facts = try audit(root: tree.path, probes: [SSHDConfigProbe()]).facts
            let sshd = verdicts[n]
            let text = "main:\n\(c.main.joined(separator: "\n"))\ndrop-in:\n\(c.dropIn.joined(separator: "\n"))"
            switch facts["sshd"] {
            case .unavailable(let u)?:
                guard let refused = sshd.refused else {
                    disagreements.append("case \(n): Warden says '\(u.reason)', sshd starts\n\(text)")
                    continue
                }
                // The same line: sshd names it as "FILE line N" or "FILE: line N".
                let ours = u.reason.split(separator: ",").first.map(String.init) ?? ""
                let line = ours.split(separator: ":").last.map(String.init) ?? "?"
                let file = ours.hasSuffix(".conf:\(line)") ? "50-case.conf" : "sshd_config"
                // A start-up check that names no line: the same check.
                let sameCheck = refused.contains("AuthenticationMethods") && u.reason.contains("AuthenticationMethods")
                if !sameCheck && !(refused.contains(file) && (refused.contains("line \(line):") || refused.contains("line \(line) "))) {
                    disagreements.append("case \(n): Warden refuses at \(ours), sshd: \(refused)\n\(text)")
                }
            case .value(let v)?:
                if let refused = sshd.refused {
                    disagreements.append("case \(n): Warden accepts, sshd: \(refused)\n\(text)")
                    continue
                }
                for keyword in Self.compared {
                    let theirs = sshd.values[keyword]
                    var ours = v["settings"]?[keyword]?["value"].map { $0.stringValue ?? ($0.intValue.map(String.init) ?? "\($0)") }
                    // sshd -T prints prohibit-password under its old name.
                    if keyword == "permitrootlogin", ours == "prohibit-password" { ours = "without-password" }
                    if ours != theirs {
                        disagreements.append("case \(n): \(keyword): Warden \(ours ?? "nil"), sshd -T \(theirs ?? "nil")\n\(text)")
                    }
                }
            case nil:
                disagreements.append("case \(n): no sshd fact")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(5).joined(separator: "\n---\n"))")
    }

    /// PubkeyAuthOptions (ACC-006): the effective value as `sshd -T` prints it, and the lines sshd
    /// refuses, for values written by hand (case, quotes, `none` among others, commas, repeats).
    @Test func pubkeyAuthOptionsAsSSHDReadsThem() throws {
        let root = try RealRoots.debian12()
        let values = [
            "none", "touch-required", "Verify-Required", "verify-required touch-required", "none touch-required",
            "\"touch-required\"", "touch-required,verify-required", "presence", "touch-required touch-required",
        ]
        let layer = TempTree(prefix: "warden-sshd-pubkeyauthoptions")
        for (n, value) in values.enumerated() {
            layer.file("cases/\(n)/sshd_config", "PubkeyAuthOptions \(value)\nPubkeyAuthOptions verify-required\nUsePAM yes\n")
        }
        let script = """
            ssh-keygen -A >/dev/null && mkdir -p /run/sshd || exit 70
            n=0
            while [ -d /cases/$n ]; do
              echo "== $n $(sshd -T -f /cases/$n/sshd_config 2>&1 | grep -E '^pubkeyauthoptions |line' | head -1)"
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 120) }
        try #require(r.status == 0, "\(r.stderr)")
        let answers = r.stdout.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("== ") }.map { String($0.dropFirst(3)) }
        try #require(answers.count == values.count, "\(r.stdout)")
        for (n, value) in values.enumerated() {
            let tree = TempTree()
            tree.file("etc/ssh/sshd_config", "PubkeyAuthOptions \(value)\nPubkeyAuthOptions verify-required\nUsePAM yes\n")
            let answer = answers[n].drop { $0 != " " }.drop { $0 == " " }
            switch try audit(root: tree.path, probes: [SSHDConfigProbe()]).facts["sshd"] {
            case .value(let v)?:
                let ours = v["settings"]?["pubkeyauthoptions"]?["value"]?.stringValue ?? "?"
                #expect(answer == "pubkeyauthoptions \(ours)", "\(value): sshd -T says '\(answer)', Warden '\(ours)'")
            case .unavailable(let u)?:
                #expect(answer.contains("line 1"), "\(value): Warden refuses (\(u.reason)), sshd -T says '\(answer)'")
            case nil:
                Issue.record("no sshd fact")
            }
        }
    }

    @Test func theSSHControlsSayOnceThatSSHDWouldRefuse() throws {
        let tree = TempTree()
        tree.copy(fixture: "sshd-hardened")
        tree.file("etc/ssh/sshd_config.d/90-typo.conf", "PasswordAuthentication no\nPasswordAuthentication maybe\n")
        let result = try audit(root: tree.path, probes: [SSHDConfigProbe()])
        let ssh = result.findings.filter { $0.control.hasPrefix("ACC-0") }
        let reason =
            "sshd would refuse this configuration: /etc/ssh/sshd_config.d/90-typo.conf:2, PasswordAuthentication, maybe (unsupported option \"maybe\")"
        let refused = result.findings.filter { $0.summary.hasPrefix(reason) }
        #expect(refused.count >= 4, "\(ssh.map { "\($0.control) \($0.status) \($0.summary)" })")
        #expect(refused.allSatisfy { $0.status == .error })
        // The terminal report says it once and refers to it after that.
        let text = warden(["audit", "--root", tree.path, "--no-sign"])
        // LOG-009 names it among other reasons (sshd is one of several session recorders).
        #expect(
            text.stdout.split(separator: "\n").filter { $0.drop { $0 == " " }.hasPrefix("sshd would refuse this configuration") }.count
                == 1,
            "\(text.stdout)")
        #expect(text.stdout.split(separator: "\n").filter { $0.contains("(the same reason as ACC-") }.count >= refused.count - 1)
    }

    @Test func presenceIsAnySignOfAServer() throws {
        // Only an enabled unit: present, and without its configuration an error.
        let unit = TempTree()
        unit.symlink("etc/systemd/system/multi-user.target.wants/ssh.service", to: "/lib/systemd/system/ssh.service")
        guard case .unavailable(let u)? = try audit(root: unit.path, probes: [SSHDConfigProbe()]).facts["sshd"] else {
            Issue.record("an enabled ssh.service without sshd_config should be an error")
            return
        }
        #expect(
            u.reason.contains("the enabled unit /etc/systemd/system/multi-user.target.wants/ssh.service")
                && u.reason.contains("does not exist"))
        // Only a drop-in: the same.
        let dropIn = TempTree()
        dropIn.file("etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n")
        guard case .unavailable? = try audit(root: dropIn.path, probes: [SSHDConfigProbe()]).facts["sshd"] else {
            Issue.record("a drop-in without sshd_config should be an error")
            return
        }
        // Nothing: not installed, said plainly.
        let none = TempTree()
        none.directory("etc")
        guard case .value(let v)? = try audit(root: none.path, probes: [SSHDConfigProbe()]).facts["sshd"] else {
            Issue.record("no fact")
            return
        }
        #expect(v["installed"] == false)
        #expect(v["note"] == "no OpenSSH server: no sshd binary, configuration or unit")
    }
}
