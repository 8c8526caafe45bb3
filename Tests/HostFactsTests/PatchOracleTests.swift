import Glibc
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// Differential tests of PatchProbe's readers against the Debian 12 tools themselves
/// (docs/DAEMON-SEMANTICS.md, "Patch currency"), in the Debian 12 root (Scripts/in-root):
///
/// - **Version order**: `dpkg --compare-versions` (dpkg 1.21) on a few hundred pairs, taken from
///   the root's own status file and generated with epochs, revisions, `~`, letters, `+` and `.`,
///   must order every pair as `DebianVersion.compare` does.
/// - **APT configuration**: `apt-config shell` (apt 2.6) on generated /etc/apt/apt.conf.d trees
///   must give the APT::Periodic values AptConf reads, and where apt refuses a file AptConf must
///   report a problem (never a value apt would not use).
@Suite struct PatchOracleTests {
    static func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    /// Versions dpkg accepts without a warning, drawn to hit every rule of `verrevcmp`.
    static func generatedVersion(_ g: inout SeededGenerator) -> String {
        let pieces = [
            "0", "1", "2", "9", "10", "01", "001", "1.0", "1.00", "a", "b", "Z", "~", "~~", "~a", "+", ".", "+b1", "~rc1", "p1", "g",
            "+dfsg", "1a", "a1",
        ]
        func part(_ first: Bool) -> String {
            var s = first ? ["0", "1", "2", "10", "3"].randomElement(using: &g)! : ""
            for _ in 0..<Int.random(in: 0...3, using: &g) { s += pieces.randomElement(using: &g)! }
            return s.isEmpty ? "0" : s
        }
        var v = part(true)
        if Bool.random(using: &g) { v = ["0", "1", "2"].randomElement(using: &g)! + ":" + v }
        if Bool.random(using: &g) { v += "-" + part(false) }
        return v
    }

    @Test func versionOrderIsDpkgs() throws {
        let root = try RealRoots.debian12()
        let status = try String(decoding: HostRoot(root).read("/var/lib/dpkg/status", limit: 64 << 20), as: UTF8.self)
        var real: [String] = []
        for line in Self.lines(status) where line.hasPrefix("Version: ") { real.append(String(line.dropFirst(9))) }
        #expect(real.count > 100, "the root's status file has \(real.count) versions")
        var g = SeededGenerator(seed: 18)
        var pairs: [(String, String)] = []
        // Real versions against each other and against themselves edited the way updates edit them.
        for _ in 0..<150 { pairs.append((real.randomElement(using: &g)!, real.randomElement(using: &g)!)) }
        for v in real.prefix(60) {
            pairs.append((v, v + "+deb12u1"))
            pairs.append((v, v + "~deb12u1"))
        }
        for _ in 0..<250 { pairs.append((Self.generatedVersion(&g), Self.generatedVersion(&g))) }
        pairs += [
            ("1.0", "1.0-0"), ("1.0~rc1", "1.0"), ("1.0", "1.0a"), ("1.0a", "1.0+"), ("1:0.1", "2.0"), ("1.01", "1.1"),
            ("1.0-1", "1.0-1~bpo1"),
        ]

        let layer = TempTree(prefix: "warden-dpkg-versions")
        layer.file("pairs", pairs.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
        let script = """
            while read a b; do
              if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo lt
              elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo eq
              else echo gt; fi
            done < /pairs
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        let answers = Self.lines(r.stdout).filter { !$0.isEmpty }
        try #require(answers.count == pairs.count, "dpkg answered \(answers.count) of \(pairs.count) pairs: \(r.stderr)")
        var wrong: [String] = []
        for ((a, b), answer) in zip(pairs, answers) {
            let x = try #require(DebianVersion(a), "\(a)")
            let y = try #require(DebianVersion(b), "\(b)")
            let c = DebianVersion.compare(x, y)
            let mine = c < 0 ? "lt" : c == 0 ? "eq" : "gt"
            if mine != answer { wrong.append("\(a) vs \(b): dpkg \(answer), Warden \(mine)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(pairs.count) pairs ordered differently:\n\(wrong.prefix(20).joined(separator: "\n"))")
        #expect(Set(answers) == ["lt", "eq", "gt"], "the pairs exercise every outcome")
    }

    @Test func versionsDpkgRefusesAreRefused() {
        for bad in ["", "a:1", "1:", "-1", "1.0-", "1 0", ":1"] { #expect(DebianVersion(bad) == nil, "\(bad)") }
        let v = DebianVersion("1:2.3-4+deb12u1")
        #expect(v?.epoch == 1 && v?.upstream == "2.3" && v?.revision == "4+deb12u1")
        #expect(DebianVersion("2.3-rc-4")?.upstream == "2.3-rc")
    }

    // MARK: - apt.conf

    static let periodicKeys = ["APT::Periodic::Enable", "APT::Periodic::Update-Package-Lists", "APT::Periodic::Unattended-Upgrade"]

    /// Trees of /etc/apt/apt.conf.d (file name → text) and, optionally, /etc/apt/apt.conf.
    static let aptCases: [(name: String, files: [String: String])] = [
        (
            "debian-20auto-upgrades",
            ["20auto-upgrades": "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n"]
        ),
        (
            "later-file-wins",
            ["20auto-upgrades": "APT::Periodic::Unattended-Upgrade \"1\";\n", "99off": "APT::Periodic::Unattended-Upgrade \"0\";\n"]
        ),
        ("main-file-last", ["10x": "APT::Periodic::Enable \"1\";\n", "/etc/apt/apt.conf": "APT::Periodic::Enable \"0\";\n"]),
        ("blocks", ["50x.conf": "APT {\n  Periodic {\n    Update-Package-Lists \"2\";\n    Unattended-Upgrade \"always\";\n  };\n};\n"]),
        ("mixed-scope", ["50x": "APT::Periodic { Unattended-Upgrade \"7d\"; Enable \"1\"; };\n"]),
        ("case-insensitive", ["50x": "apt::periodic::unattended-upgrade \"3\";\n"]),
        (
            "comments",
            [
                "50x":
                    "// a comment\n# another\n/* block\n APT::Periodic::Enable \"0\";\n*/\nAPT::Periodic::Unattended-Upgrade \"1\"; // trailing\n"
            ]
        ),
        (
            "list-items",
            [
                "50x":
                    "Unattended-Upgrade::Origins-Pattern {\n \"origin=Debian,codename=${distro_codename}-security\";\n};\nAPT::Periodic::Unattended-Upgrade \"1\";\n"
            ]
        ),
        (
            "ignored-names",
            [
                "20auto-upgrades.dpkg-old": "APT::Periodic::Unattended-Upgrade \"9\";\n", "x.disabled": "APT::Periodic::Enable \"0\";\n",
                "has space": "APT::Periodic::Enable \"0\";\n", "ok.conf": "APT::Periodic::Unattended-Upgrade \"1\";\n",
            ]
        ),
        ("unquoted", ["50x": "APT::Periodic::Unattended-Upgrade 1;\n"]),
        ("missing-semicolon", ["50x": "APT::Periodic::Unattended-Upgrade \"1\"\n"]),
        ("unclosed-block", ["50x": "APT::Periodic {\n Enable \"1\";\n"]),
    ]

    @Test func aptConfigurationIsAptsOwn() throws {
        let root = try RealRoots.debian12()
        let layer = TempTree(prefix: "warden-apt-conf")
        for (name, files) in Self.aptCases {
            layer.directory("cases/\(name)/apt.conf.d")
            for (file, text) in files {
                if file == "/etc/apt/apt.conf" {
                    layer.file("cases/\(name)/apt.conf", text)
                } else {
                    layer.file("cases/\(name)/apt.conf.d/\(file)", text)
                }
            }
        }
        let keys = Self.periodicKeys.enumerated().map { "K\($0.offset) \($0.element)" }.joined(separator: " ")
        let script = """
            for d in /cases/*; do
              rm -rf /etc/apt/apt.conf.d /etc/apt/apt.conf
              cp -a "$d/apt.conf.d" /etc/apt/apt.conf.d
              [ -f "$d/apt.conf" ] && cp "$d/apt.conf" /etc/apt/apt.conf
              echo "=== ${d##*/}"
              apt-config shell \(keys) 2>/dev/null; echo "rc=$?"
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var tool: [String: (rc: Int, values: [String: String])] = [:]
        var current = ""
        for line in Self.lines(r.stdout) {
            if line.hasPrefix("=== ") {
                current = String(line.dropFirst(4))
                tool[current] = (-1, [:])
            } else if line.hasPrefix("rc=") {
                tool[current]?.rc = Int(line.dropFirst(3)) ?? -1
            } else if line.hasPrefix("K"), let eq = line.firstIndex(of: "=") {
                // apt-config shell prints K0='value'
                let index = Int(line[line.index(after: line.startIndex)..<eq]) ?? -1
                let value = String(line[line.index(after: eq)...]).trimmingCharacters(in: "'")
                tool[current]?.values[Self.periodicKeys[index]] = value
            }
        }
        for (name, files) in Self.aptCases {
            let tree = TempTree(prefix: "warden-apt-conf-case")
            tree.directory("etc/apt/apt.conf.d")
            for (file, text) in files {
                tree.file(file == "/etc/apt/apt.conf" ? "etc/apt/apt.conf" : "etc/apt/apt.conf.d/\(file)", text)
            }
            let conf = AptConf.read(try HostRoot(tree.path))
            let t = try #require(tool[name], "apt-config said nothing for \(name)")
            if t.rc != 0 {
                #expect(!conf.problems.isEmpty, "\(name): apt refuses it (exit \(t.rc)); Warden read \(conf.values)")
                continue
            }
            #expect(conf.problems.isEmpty, "\(name): apt accepts it; Warden: \(conf.problems)")
            for key in Self.periodicKeys {
                #expect(
                    conf[key]?.value == t.values[key],
                    "\(name): \(key) is \(t.values[key] ?? "unset") for apt, \(conf[key]?.value ?? "unset") for Warden")
            }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
