import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// augenrules itself is the oracle: generated rules.d trees are compiled by the real `augenrules`
/// (auditd 3.0.9, inside the Debian 12 root of `Scripts/roots`; without `--load`, so it only
/// writes /etc/audit/audit.rules in the run's discarded overlay), and the rules it writes, in
/// order, must be the rules Warden's probe compiles from the same tree.
@Suite struct AuditRulesOracleTests {
    static let names = [
        "10-base.rules", "9-early.rules", "99-finalize.rules", "audit.rules", "010-zero.rules", "40-weights.rules",
        "40-weights.rules~", ".hidden.rules", "50-local.conf", "100-late.rules", "2-a.rules", "20-b.rules",
    ]
    static let lines = [
        "-D", "-b 8192", "-b 320", "-f 1", "-f 2", "--backlog_wait_time 60000", "-e 2", "-e 1", "  -e 2",
        "-w /srv/weights -p rwa -k weights", "-w /etc/sudoers -p wa -k scope", "-a always,exit -F arch=b64 -S mount -k mounts",
        "-a always,exit -F arch=b32 -S mount -k mounts", "-a never,exit -F dir=/srv/weights -k quiet",
        "# a comment", "   # an indented comment", "", "-w /etc/passwd   -p wa   -k identity",
    ]

    /// `count` trees of two to five files, each of one to six lines.
    static func trees(count: Int) -> [[(name: String, text: String)]] {
        var rng = SeededGenerator(seed: 3009)
        return (0..<count).map { _ in
            var files: [String: String] = [:]
            for _ in 0..<Int.random(in: 2...5, using: &rng) {
                let name = names.randomElement(using: &rng)!
                files[name] =
                    (0..<Int.random(in: 1...6, using: &rng)).map { _ in lines.randomElement(using: &rng)! }.joined(separator: "\n") + "\n"
            }
            return files.map { ($0.key, $0.value) }.sorted { $0.name < $1.name }
        }
    }

    /// A rule's words, as auditctl reads them (runs of blanks are one separator).
    static func words(_ line: Substring) -> String { line.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }

    @Test func augenrulesAndWardenCompileTheSameRules() throws {
        let root = try RealRoots.debian12()
        let trees = Self.trees(count: 60)
        let layer = TempTree(prefix: "warden-augenrules-oracle")
        for (n, files) in trees.enumerated() {
            layer.directory("cases/\(n)")
            for f in files { layer.file("cases/\(n)/\(f.name)", f.text) }
        }
        let script = """
            n=0
            while [ -d /cases/$n ]; do
              rm -rf /etc/audit/rules.d && mkdir /etc/audit/rules.d && cp -a /cases/$n/. /etc/audit/rules.d/ && rm -f /etc/audit/audit.rules
              echo "== $n"
              augenrules >/dev/null 2>&1 || echo "AUGENRULES FAILED $?"
              cat /etc/audit/audit.rules 2>/dev/null
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var compiled: [[String]] = []
        for line in r.stdout.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("== ") {
                compiled.append([])
                continue
            }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard !compiled.isEmpty, !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            compiled[compiled.count - 1].append(Self.words(trimmed))
        }
        try #require(compiled.count == trees.count)

        var disagreements: [String] = []
        for (n, files) in trees.enumerated() {
            let tree = TempTree()
            tree.directory("etc/audit/rules.d")
            for f in files { tree.file("etc/audit/rules.d/\(f.name)", f.text) }
            let facts = try audit(root: tree.path, site: "weights:\n  paths: [/srv/weights]\n", probes: [AuditRulesProbe()]).facts
            guard case .value(let v)? = facts["audit_rules"] else {
                disagreements.append("case \(n): no fact")
                continue
            }
            let ours = (v["rules"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
            if ours != compiled[n] {
                let listing = files.map { "\($0.name):\n\($0.text)" }.joined()
                disagreements.append("case \(n):\nWarden:     \(ours)\naugenrules: \(compiled[n])\n\(listing)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(4).joined(separator: "\n---\n"))")
    }
}
