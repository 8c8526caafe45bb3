import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Differential tests of SudoersProbe against sudo 1.9.13p3 itself (docs/DAEMON-SEMANTICS.md),
/// in the Debian 12 root (Scripts/in-root: chroot, private mount namespace, discarded overlay):
///
/// - **Validity**: `visudo -c` accepts or refuses the policy (/etc/sudoers and what it includes)
///   and names the first problem: `FILE:LINE:COLUMN: …` (or the include it cannot open). Warden
///   must refuse exactly the same policies (a `problems` entry, so ACC-008 is `error`, never a
///   silent pass) and name the same line (a syntax error first, as visudo reports it, else the
///   first Defaults entry sudo refuses).
/// - **Effective values**: for every policy visudo accepts, `cvtsudoers -f json` prints sudo's own
///   parse tree (Defaults with their bindings, user specifications with the tags each command
///   carries). Warden's global Defaults, scoped Defaults and commands with their NOPASSWD and
///   LOG_OUTPUT state must be the same. (`cvtsudoers -f sudoers` gives each Defaults line's scope
///   character, which the JSON leaves out for user and runas bindings.)
@Suite struct SudoersOracleTests {
    // MARK: - The tools, all cases in one call

    struct ToolResult {
        var status: Int32
        var visudo: [String]
        var json: JSON?
        var scopes: [Character]
    }

    static func runTools(_ cases: [(name: String, tree: TempTree)]) throws -> [String: ToolResult] {
        let layer = TempTree(prefix: "warden-sudoers-layer")
        for (name, tree) in cases {
            layer.directory("cases/\(name)")
            _ = run("/bin/cp", ["-a", "\(tree.path)/etc", "\(layer.path)/cases/\(name)/"])
        }
        let script = """
            for d in /cases/*; do
              rm -rf /etc/sudoers /etc/sudoers.d /etc/sudoers.local /etc/sudoers.extra
              cp -a "$d/etc/." /etc/
              echo "=== ${d##*/}"
              visudo -c >/tmp/out 2>&1; rc=$?
              echo "rc=$rc"
              grep -a -v 'parsed OK' /tmp/out
              if [ $rc = 0 ]; then
                echo "--- json"; cvtsudoers -f json /etc/sudoers 2>/dev/null
                echo "--- sudoers"; cvtsudoers -f sudoers /etc/sudoers 2>/dev/null | grep -a '^Defaults'
              fi
              echo "--- end"
            done
            """
        let root = try RealRoots.debian12()
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 600) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var out: [String: ToolResult] = [:]
        var name: String?
        var section = ""
        var buffer: [String] = []
        for line in byteLines(r.stdout) {
            if line.hasPrefix("=== ") {
                name = String(line.dropFirst(4))
                out[name!] = ToolResult(status: -1, visudo: [], json: nil, scopes: [])
                section = "visudo"
                continue
            }
            guard let n = name else { continue }
            if line.hasPrefix("rc="), section == "visudo", out[n]!.status == -1 {
                out[n]!.status = Int32(line.dropFirst(3)) ?? -1
            } else if line == "--- json" || line == "--- sudoers" || line == "--- end" {
                if section == "json" {
                    let text = buffer.joined(separator: "\n")
                    do { out[n]!.json = try JSON.parse(text) } catch {
                        Issue.record("case \(n): cvtsudoers printed JSON that does not parse (\(error)): \(text.prefix(2000))")
                    }
                }
                buffer = []
                section = String(line.dropFirst(4))
            } else if section == "visudo" {
                out[n]!.visudo.append(line)
            } else if section == "json" {
                buffer.append(line)
            } else if section == "sudoers", line.hasPrefix("Defaults") {
                let rest = line.dropFirst("Defaults".count)
                out[n]!.scopes.append(rest.first.map { "@:!>".contains($0) ? $0 : " " } ?? " ")
            }
        }
        return out
    }

    /// The first error visudo names: `FILE:LINE`, or the path of an include it cannot open.
    static func visudoError(_ lines: [String]) -> String? {
        for line in lines {
            if line.hasPrefix("Warning:") || line.contains("referenced but not defined") || line.contains("unused ") { continue }
            if line.hasPrefix("visudo: /") {
                return String(line.dropFirst("visudo: ".count).prefix { $0 != ":" })
            }
            guard line.hasPrefix("/") else { continue }
            let parts = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            if parts.count >= 3, Int(parts[1]) != nil { return "\(parts[0]):\(parts[1])" }
        }
        return nil
    }

    // MARK: - Warden

    static func sudoers(_ root: String) throws -> JSON {
        let facts = SudoersProbe().collect(ProbeContext(root: try HostRoot(root), site: nil))
        guard case .value(let v)? = facts["sudoers"] else { throw Failure("no sudoers fact: \(String(describing: facts["sudoers"]))") }
        return v
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// The physical lines `FILE:N` spans (a statement continued with `\`).
    static func span(_ location: String, root: String) -> ClosedRange<Int>? {
        let parts = location.split(separator: ":")
        guard parts.count == 2, let start = Int(parts[1]) else { return nil }
        let text = run("/bin/cat", [root + parts[0]]).stdout
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var end = start
        while end - 1 < lines.count, lines[end - 1].reversed().prefix(while: { $0 == "\\" }).count % 2 == 1 { end += 1 }
        return start...end
    }

    // MARK: - Comparing

    static func bindingText(_ item: JSON) -> String {
        guard case .object(let o) = item else { return "?" }
        let negated = o["negated"] == true ? "!" : ""
        for (key, prefix) in [("usergroup", "%"), ("netgroup", "+"), ("nonunixgroup", "%:")] {
            if let v = o[key]?.stringValue { return negated + prefix + v }
        }
        if let uid = o["userid"]?.intValue { return negated + "#\(uid)" }
        if let gid = o["usergid"]?.intValue { return negated + "%#\(gid)" }
        for key in ["username", "hostname", "command", "useralias", "hostalias", "runasalias", "cmndalias", "networkaddr"] {
            if let v = o[key]?.stringValue { return negated + v }
        }
        return "?\(item)"
    }

    static let judged: Set<String> = ["use_pty", "log_output", "log_input", "authenticate", "iolog_dir", "logfile", "syslog"]

    /// Global and scoped Defaults and the commands, against cvtsudoers.
    static func compareValues(_ tool: ToolResult, _ warden: JSON, _ label: String) {
        guard let json = tool.json else { return }
        let defaults = json["Defaults"]?.arrayValue ?? []
        #expect(tool.scopes.count == defaults.count, "\(label): \(tool.scopes.count) Defaults lines, \(defaults.count) JSON entries")
        var global: [String: JSON] = [:]
        var scoped: [(scope: String, option: String, value: JSON)] = []
        for (k, entry) in defaults.enumerated() {
            let options = (entry["Options"]?.arrayValue ?? []).compactMap { o -> (String, JSON)? in
                guard case .object(let obj) = o, let key = obj.keys.first, let value = obj[key] else { return nil }
                return (key, value)
            }
            if let binding = entry["Binding"]?.arrayValue {
                let kind = k < tool.scopes.count ? tool.scopes[k] : "?"
                let name = ["@": "host", ":": "user", "!": "command", ">": "runas"][kind] ?? "?"
                let scope = "\(name) \(binding.map(bindingText).joined(separator: ","))"
                for (option, value) in options where judged.contains(option) {
                    scoped.removeAll { $0.scope == scope && $0.option == option }
                    scoped.append((scope, option, value))
                }
            } else {
                for (option, value) in options where judged.contains(option) { global[option] = value }
            }
        }
        for option in judged {
            let mine = warden["defaults"]?[option]
            if let expected = global[option] {
                #expect(mine?["value"] == expected, "\(label): Defaults \(option): sudo \(expected), Warden \(String(describing: mine))")
            } else {
                #expect(
                    mine?["source"]?.stringValue?.hasPrefix("default") == true,
                    "\(label): \(option) is not set, Warden \(String(describing: mine))")
            }
        }
        // timestamp_timeout (ACC-006) is kept in seconds and not among the options compared here.
        let mineScoped = (warden["scoped_defaults"]?.arrayValue ?? []).filter { judged.contains($0["option"]?.stringValue ?? "") }.map {
            "\($0["scope"]?.stringValue ?? "") \($0["option"]?.stringValue ?? "")=\($0["value"] ?? .null)"
        }
        #expect(mineScoped == scoped.map { "\($0.scope) \($0.option)=\($0.value)" }, "\(label): scoped Defaults")

        // Commands: users, hosts, command, and the authenticate and log_output tags each carries.
        var expected: [String] = []
        for spec in json["User_Specs"]?.arrayValue ?? [] {
            let users = (spec["User_List"]?.arrayValue ?? []).map(bindingText).joined(separator: ",")
            let hosts = (spec["Host_List"]?.arrayValue ?? []).map(bindingText).joined(separator: ",")
            for cmnd in spec["Cmnd_Specs"]?.arrayValue ?? [] {
                var auth = "-"
                var output = "-"
                for o in cmnd["Options"]?.arrayValue ?? [] {
                    if let v = o["authenticate"]?.boolValue { auth = v ? "PASSWD" : "NOPASSWD" }
                    if let v = o["log_output"]?.boolValue { output = v ? "LOG_OUTPUT" : "NOLOG_OUTPUT" }
                }
                for c in cmnd["Commands"]?.arrayValue ?? [] {
                    let text = (c["command"]?.stringValue ?? c["cmndalias"]?.stringValue ?? "?")
                    expected.append("\(users) \(hosts) \(c["negated"] == true ? "!" : "")\(text) \(auth) \(output)")
                }
            }
        }
        let mine = (warden["commands"]?.arrayValue ?? []).map { c -> String in
            let tags = (c["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
            var text = c["command"]?.stringValue ?? ""
            let negated = text.hasPrefix("!")
            if negated { text.removeFirst() }
            // The digest is a separate field in cvtsudoers' output.
            if text.hasPrefix("sha"), let space = text.firstIndex(of: " ") { text = String(text[text.index(after: space)...]) }
            let auth = tags.first { $0 == "NOPASSWD" || $0 == "PASSWD" } ?? "-"
            let output = tags.first { $0 == "NOLOG_OUTPUT" || $0 == "LOG_OUTPUT" } ?? "-"
            let users = (c["users"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
            let hosts = (c["hosts"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
            return "\(users) \(hosts) \(negated ? "!" : "")\(text) \(auth) \(output)"
        }
        #expect(mine == expected, "\(label): commands")
    }

    static func check(_ name: String, _ tree: TempTree, _ tool: ToolResult?, _ label: String) throws -> Bool {
        let tool = try #require(tool, "\(label): no result from the tools")
        let warden = try sudoers(tree.path)
        let problems = warden["problems"]?.arrayValue ?? []
        let refused = tool.status != 0
        #expect(
            refused == !problems.isEmpty,
            "\(label): visudo \(refused ? "refuses" : "accepts") (\(tool.visudo)), Warden's problems: \(problems)")
        if refused, let first = problems.first(where: { $0["kind"] == "syntax" }) ?? problems.first,
            let mine = first["source"]?.stringValue, let theirs = visudoError(tool.visudo)
        {
            if theirs.contains(":") {
                let file = theirs.split(separator: ":")[0]
                let line = Int(theirs.split(separator: ":")[1]) ?? 0
                let span = span(mine, root: tree.path)
                let text = run("/bin/cat", [tree.path + file]).stdout.split(separator: "\n", omittingEmptySubsequences: false)
                let named = line >= 1 && line <= text.count ? String(text[line - 1]) : "?"
                #expect(
                    mine.hasPrefix(file + ":") && span?.contains(line) == true,
                    "\(label): visudo names \(theirs) (\(tool.visudo.first ?? "")): `\(named)`; Warden's first problem: \(first["source"] ?? .null) \(first["error"] ?? .null)"
                )
            } else {
                #expect(first["error"]?.stringValue?.contains(theirs) == true, "\(label): visudo cannot open \(theirs), Warden \(first)")
            }
        }
        if !refused { compareValues(tool, warden, label) }
        return refused
    }

    // MARK: - Generated policies

    @Test func generatedPoliciesAgreeWithVisudoAndCvtsudoers() throws {
        let started = monotonicSeconds()
        var cases: [(name: String, tree: TempTree)] = []
        let count = Int(String(cString: getenv("WARDEN_SUDOERS_CASES") ?? strdup("120"))) ?? 120
        for seed in 0..<count {
            let tree = TempTree(prefix: "warden-sudoers-oracle")
            let base = UInt64(String(cString: getenv("WARDEN_SUDOERS_SEED") ?? strdup("1913"))) ?? 1913
            var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ base)
            SudoersGenerator.build(tree, &rng)
            cases.append((String(1000 + seed), tree))
        }
        let results = try Self.runTools(cases)
        var refused = 0
        for (name, tree) in cases {
            if try Self.check(name, tree, results[name], "seed \(Int(name)! - 1000)") { refused += 1 }
        }
        #expect(
            refused >= count / 5 && refused <= count * 3 / 4,
            "\(refused) of \(count) policies refused: the generator should give both kinds")
        print("SudoersOracleTests: \(count) policies (\(refused) refused by visudo) in \(Int((monotonicSeconds() - started) * 1000)) ms")
    }

    /// The committed fixtures, each a policy visudo accepts or refuses as the fixture says.
    @Test func fixturesAgreeWithVisudoAndCvtsudoers() throws {
        let names = [
            "sudoers-defaults-not-authenticate", "sudoers-dotted-dropin-ignored", "sudoers-garbage-line", "sudoers-hardened",
            "sudoers-iolog-dir-without-log-output", "sudoers-missing-use-pty", "sudoers-nopasswd-in-dropin",
            "sudoers-passwd-tag-after-nopasswd", "sudoers-every-form-accepted", "sudoers-refused-defaults",
        ]
        var cases: [(name: String, tree: TempTree)] = []
        for name in names {
            let tree = TempTree(prefix: "warden-sudoers-fixture")
            tree.copy(fixture: name)
            // git keeps no owners or modes: sudo wants root and 0440.
            _ = run(
                "/bin/sh",
                ["-c", "chown -R 0:0 '\(tree.path)/etc' && find '\(tree.path)/etc' -path '*sudoers*' -type f -exec chmod 0440 {} +"])
            cases.append((name, tree))
        }
        let results = try Self.runTools(cases)
        var status: [String: Bool] = [:]
        for (name, tree) in cases { status[name] = try Self.check(name, tree, results[name], name) }
        #expect(status["sudoers-garbage-line"] == true)
        #expect(status["sudoers-refused-defaults"] == true)
        #expect(status["sudoers-every-form-accepted"] == false)
        #expect(status["sudoers-hardened"] == false)
    }
}

/// sudoers policies from the grammar of sudoers(5): Defaults of every scope and option type,
/// aliases, user specifications with runas lists, options, tags, digests and command forms,
/// includes, comments and continued lines, and the ways each goes wrong.
enum SudoersGenerator {
    static let digest = "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730"

    static let goodParameters = [
        "use_pty", "!use_pty", "log_output", "!log_output", "log_input", "authenticate", "!authenticate", "! authenticate",
        "!!use_pty", "env_reset", "requiretty", "insults", "pwfeedback", "mail_badpass",
        "iolog_dir=/var/log/sudo-io", "iolog_dir=\"/var/log/sudo io\"", "iolog_dir = /var/log/sudo-io/%{user}",
        "logfile=/var/log/sudo.log", "!logfile", "syslog=authpriv", "syslog=local1", "!syslog",
        "passprompt=\"[sudo] %p: \"", "secure_path=\"/usr/local/sbin:/usr/sbin:/usr/bin\"", "env_keep+=\"LANG LC_*\"",
        "env_keep -= HOME", "!env_keep", "timestamp_timeout=5", "timestamp_timeout=5.5", "timestamp_timeout=-1",
        "passwd_tries=3", "passwd_tries=+3", "umask=0077", "umask=777", "lecture=once", "!lecture", "verifypw=any",
        "syslog_goodpri=notice", "loglinelen=80", "!loglinelen", "editor=/usr/bin/vi",
    ]
    static let badParameters = [
        "bogus_option", "use_pty=yes", "iolog_dir=relative", "iolog_dir", "logfile", "syslog=kern", "syslog=AUTHPRIV",
        "timestamp_timeout=abc", "timestamp_timeout=1e3", "passwd_tries=-1", "passwd_tries=0x10", "umask=0778", "umask=1777",
        "lecture=Always", "verifypw=bogus", "passprompt+=x", "!passwd_tries", "loglinelen=-1", "iolog_dir=\"\"",
    ]
    /// Options of the other types, valid and not.
    static let otherParameters = [
        "command_timeout=1h", "command_timeout=90", "command_timeout=5.5", "command_timeout=1h30m", "log_server_timeout=30",
        "closefrom=3", "closefrom=-1", "syslog_maxlen=980", "maxseq=10M", "maxseq=abc", "iolog_mode=0600", "iolog_mode=999",
        "timestamp_type=tty", "timestamp_type=bogus", "intercept_type=dso", "log_format=json", "log_format=xml", "!log_format",
        "fdexec=never", "rlimit_core=0", "rlimit_core=abc", "rlimit_nofile=1024,2048", "rlimit_core=infinity", "env_file=relative",
        "mailto=root", "!mailto", "runcwd=*", "lecture_file=/etc/lecture", "!lecture_file", "exempt_group=wheel", "!exempt_group",
        "passprompt=x\\ y", "iolog_dir=/var/log/a\\ b", "syslog_badpri=alert", "!syslog_badpri", "timestampowner=root",
        "runas_default=operator", "env_keep=\"A B\"", "secure_path=/usr/bin", "!secure_path", "umask=0", "loglinelen=0",
        "passwd_timeout=0", "!passwd_timeout", "!timestamp_timeout", "editor=vi", "noexec_file=/usr/lib/sudo/sudo_noexec.so",
        "timestampdir=relative", "logfile=/var/log/sudo log", "iolog_file=%{seq}", "iolog_flush", "!iolog_flush",
        "ignore_unknown_defaults", "umask_override", "!requiretty", "listpw=never", "rlimit_stack=8M",
    ]
    static let syntaxBreakers = ["use_pty log_output", "use_pty,, log_output", "log_output=", "!use_pty=1", "use_pty,"]

    static func defaultsLine(_ bad: Bool, _ rng: inout SplitMix64) -> String {
        let scope: String
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<55: scope = ""
        case 55..<70: scope = ":" + rng.pick(["alice", "%ops", "alice,bob", "alice , %ops", "!carol", "ADMINS", "ALL", " alice"])
        case 70..<80: scope = "@" + rng.pick(["web1", "WEB", "*", "web1,web2"])
        case 80..<90: scope = "!" + rng.pick(["/usr/bin/less", "SHUTDOWN", "ALL", "/usr/bin/less,/bin/more"])
        default: scope = ">" + rng.pick(["root", "%ops", "root,operator", "ALL"])
        }
        var parameters: [String] = []
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            if rng.chance(0.25) {
                parameters.append(rng.pick(otherParameters))
                continue
            }
            parameters.append(bad && rng.chance(0.35) ? rng.pick(badParameters) : rng.pick(goodParameters))
        }
        if bad && rng.chance(0.15) { parameters = [rng.pick(syntaxBreakers)] }
        if bad && rng.chance(0.05) { return "Defaults!/usr/bin/less args !log_output" }
        return "Defaults\(scope)\(rng.pick([" ", "\t", "  "]))" + parameters.joined(separator: rng.pick([", ", ",", " , "]))
    }

    static func aliasLine(_ bad: Bool, _ rng: inout SplitMix64) -> String {
        if bad && rng.chance(0.3) {
            return rng.pick(["User_Alias admins = alice", "User_Alias ALL = alice", "User_Alias A-B = alice", "Cmnd_Alias X = ls"])
        }
        return rng.pick([
            "User_Alias ADMINS = alice, bob", "User_Alias OPS = %ops, !carol", "Cmnd_Alias SHUTDOWN = /sbin/shutdown, /sbin/reboot",
            "Host_Alias WEB = web1, web2, 10.0.0.0/8", "Runas_Alias OP = root, operator", "Cmd_Alias PKG = /usr/bin/apt, /usr/bin/dpkg",
            "Cmnd_Alias VIEW = /usr/bin/less : LOGS = /usr/bin/journalctl",
        ])
    }

    static func command(_ bad: Bool, _ rng: inout SplitMix64) -> String {
        if bad && rng.chance(0.3) {
            return rng.pick(["ls", "sha256:abcd /bin/cat", "nopasswd: /bin/ls", "NOPASSWD /bin/ls", "\"/bin/ls\"", "/bin/ls a, b,"])
        }
        return rng.pick([
            "/bin/ls", "/usr/bin/systemctl restart nginx", "ALL", "ALL", "SHUTDOWN", "!/bin/su", "!/usr/bin/passwd root",
            "sudoedit /etc/hosts", "/usr/bin/", "^/usr/bin/apt.*$", "sha256:\(digest) /bin/cat", "/bin/ls -l /root",
            "/bin/echo \"\"", "/usr/bin/chown root\\:root /srv/x", "PKG", "/usr/bin/env A=b /bin/true",
        ])
    }

    static func cmndSpec(_ bad: Bool, _ rng: inout SplitMix64) -> String {
        var parts: [String] = []
        if rng.chance(0.4) { parts.append(rng.pick(["(root)", "(ALL:ALL)", "(ALL : ALL)", "(:ops)", "(OP)", "()", "(root, operator)"])) }
        if bad && rng.chance(0.1) { parts.append(rng.pick(["(root", "(root) (bob)"])) }
        if rng.chance(0.15) { parts.append(rng.pick(["TIMEOUT=1h", "TIMEOUT=90", "NOTBEFORE=20240101000000Z", "NOTAFTER=2030010112Z"])) }
        if bad && rng.chance(0.1) { parts.append(rng.pick(["TIMEOUT=abc", "NOTBEFORE=20240101"])) }
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            parts.append(
                rng.pick(["NOPASSWD:", "NOPASSWD:", "PASSWD:", "NOEXEC:", "LOG_OUTPUT:", "NOLOG_OUTPUT:", "NOPASSWD :", "SETENV:"]))
        }
        parts.append(command(bad, &rng))
        return parts.joined(separator: " ")
    }

    static func userSpec(_ bad: Bool, _ rng: inout SplitMix64) -> String {
        let users = (0..<Int.random(in: 1...2, using: &rng)).map { _ in
            rng.pick(["alice", "bob", "%ops", "%sudo", "!carol", "ADMINS", "#1000", "%#1000", "\"dave\"", "ALL", "deploy"])
        }
        let hosts = (0..<Int.random(in: 1...2, using: &rng)).map { _ in rng.pick(["ALL", "ALL", "web1", "WEB", "10.0.0.0/8", "!web2"]) }
        var line = users.joined(separator: rng.pick([",", ", ", " , "])) + " " + hosts.joined(separator: ",")
        line += rng.pick([" = ", "=", " =", "= "])
        line += (0..<Int.random(in: 1...3, using: &rng)).map { _ in cmndSpec(bad, &rng) }.joined(separator: rng.pick([", ", ","]))
        if rng.chance(0.15) { line += " : web1 = " + cmndSpec(bad, &rng) }
        if bad && rng.chance(0.1) { line += rng.pick([",", " :", " extra"]) }
        return line
    }

    static func content(_ bad: Bool, lines count: Int, _ rng: inout SplitMix64) -> [String] {
        var lines: [String] = []
        for _ in 0..<count {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<30: lines.append(defaultsLine(bad && rng.chance(0.5), &rng))
            case 30..<40: lines.append(aliasLine(bad && rng.chance(0.5), &rng))
            case 40..<75: lines.append(userSpec(bad && rng.chance(0.3), &rng))
            case 75..<83: lines.append(rng.pick(["# a comment", "", "   ", "## Defaults use_pty", "\t# indented comment"]))
            case 83..<90:
                // A statement over two lines.
                let statement = rng.chance(0.5) ? userSpec(false, &rng) : defaultsLine(false, &rng)
                if let comma = statement.firstIndex(of: ",") {
                    lines.append(String(statement[...comma]) + " \\")
                    lines.append("    " + String(statement[statement.index(after: comma)...]))
                } else {
                    lines.append(statement)
                }
            case 90..<93 where bad: lines.append(rng.pick(["this is not sudoers", "alice ALL", "= /bin/ls", "alice = /bin/ls"]))
            default: lines.append(userSpec(false, &rng) + rng.pick(["", " # trailing comment"]))
            }
        }
        return lines
    }

    static func build(_ tree: TempTree, _ rng: inout SplitMix64) {
        let bad = rng.chance(0.45)
        var main = ["# /etc/sudoers", "Defaults env_reset", "root ALL=(ALL:ALL) ALL"]
        main += content(bad, lines: Int.random(in: 2...8, using: &rng), &rng)
        if rng.chance(0.2) {
            main.append(rng.pick(["@include /etc/sudoers.local", "@include sudoers.local", "#include /etc/sudoers.local"]))
            if !bad || rng.chance(0.6) {
                tree.file("etc/sudoers.local", content(false, lines: 2, &rng).joined(separator: "\n") + "\n", mode: 0o440)
            }
        }
        let includeDir = rng.chance(0.85)
        if includeDir {
            main.append(
                rng.pick([
                    "@includedir /etc/sudoers.d", "@includedir /etc/sudoers.d", "#includedir /etc/sudoers.d", "@includedir sudoers.d",
                ]))
        }
        tree.file("etc/sudoers", main.joined(separator: "\n") + "\n", mode: 0o440)
        tree.directory("etc/sudoers.d", mode: 0o755)
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let name = rng.pick(["10-ops", "20-web", "90-cloud-init-users", "README", "50-x.conf", "60-y~", "zz_last"])
            let text = content(bad && rng.chance(0.5), lines: Int.random(in: 1...4, using: &rng), &rng)
            tree.file("etc/sudoers.d/" + name, text.joined(separator: "\n") + "\n", mode: 0o440)
        }
    }
}
