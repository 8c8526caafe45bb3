import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Warden on a real Debian 12 root (issue 14), not a fixture: the base `Scripts/roots` builds
/// with debootstrap and real packages, audited as it is (a) and with upstream systemd's sysctl
/// defaults and a cloud-init sshd drop-in laid over it (c). The expected statuses are the tables
/// of docs/STOCK-ROOT.md, read here, so the page and Warden cannot drift apart. The base is only
/// ever read: every change is an overlay (Scripts/in-root), and the last test proves it.
@Suite struct RealRootTests {
    static let profiles = ["sl3", "sl4"]
    static let cloudInit = "upstream-sysctl-cloud-init"

    func doc() throws -> String {
        let r = run("/bin/cat", [Package.root + "/docs/STOCK-ROOT.md"])
        guard r.status == 0 else { throw RealRoots.Failure("docs/STOCK-ROOT.md: \(r.stderr)") }
        return r.stdout
    }

    /// Control id → status, from a findings document.
    func statuses(_ document: JSON) -> [String: String] {
        var out: [String: String] = [:]
        for result in document["results"]?.arrayValue ?? [] {
            if let id = result["control"]?.stringValue { out[id] = result["status"]?.stringValue ?? "?" }
        }
        return out
    }

    func finding(_ document: JSON, _ control: String) -> JSON? {
        (document["results"]?.arrayValue ?? []).first { $0["control"]?.stringValue == control }
    }

    /// Compares an audit's statuses with a table and says every difference in one message.
    func compare(_ actual: [String: String], _ expected: [String: String], profile: String, what: String) {
        var differences: [String] = []
        for (id, status) in expected.sorted(by: { $0.key < $1.key }) where actual[id] != status {
            differences.append("\(id): Warden says \(actual[id] ?? "nothing"), the table says \(status)")
        }
        for id in actual.keys.sorted() where expected[id] == nil {
            differences.append("\(id): Warden says \(actual[id]!), the table has no row")
        }
        #expect(differences.isEmpty, "\(what) at \(profile) (docs/STOCK-ROOT.md):\n\(differences.joined(separator: "\n"))")
    }

    // (a) The stock root: every status as the table says, every error explained.

    @Test func stockRootStatusesAreTheDocumentedOnes() throws {
        let root = try RealRoots.debian12()
        let table = try statusTable(markdown: try doc(), heading: "Stock root")
        #expect(table.count >= 45, "the stock-root table has \(table.count) rows")
        for row in table {
            #expect(!row.why.isEmpty, "\(row.control) has no explanation")
            // An error on a stock install is either undecidable there, or a disagreement on record.
            if row.statuses.values.contains("error") {
                #expect(
                    row.why.contains("undecidable") || row.why.lowercased().contains("known disagreement, issue 14"),
                    "\(row.control) is error on the stock root without saying why a stock install cannot decide it")
            }
        }
        for profile in Self.profiles {
            let audit = try RealRoots.audit(root, profile: profile)
            #expect(audit.status == 1, "a stock install fails \(profile): exit \(audit.status) \(audit.stderr)")
            #expect(audit.document["mode"] == "offline")
            var expected: [String: String] = [:]
            for row in table { if let s = row.statuses[profile] { expected[row.control] = s } }
            compare(statuses(audit.document), expected, profile: profile, what: "the stock root")
        }
    }

    /// The table's summary line states the counts; keep it honest.
    @Test func stockRootCountsInTheDocMatchTheTable() throws {
        let text = try doc()
        let table = try statusTable(markdown: text, heading: "Stock root")
        for (profile, label) in [("sl3", "At SL3"), ("sl4", "At SL4")] {
            var counts: [String: Int] = [:]
            for row in table { if let s = row.statuses[profile] { counts[s, default: 0] += 1 } }
            let sentence = "\(label): \(counts["pass"] ?? 0) pass, \(counts["fail"] ?? 0) fail, \(counts["error"] ?? 0) error,"
            let said = text.split(whereSeparator: { $0 == "\n" }).joined(separator: " ").contains(sentence)
            #expect(said, "docs/STOCK-ROOT.md should say \"\(sentence) …\"")
        }
    }

    // The oracle inside the root: sshd -T on the stock root agrees with every setting Warden reports.

    @Test func sshdTInsideTheRootAgreesWithWarden() throws {
        let root = try RealRoots.debian12()
        let oracle = try sshdT(root)
        let audit = try RealRoots.audit(root, profile: "sl3")
        guard let settings = audit.document["facts"]?["facts"]?["sshd"]?["value"]?["settings"]?.objectValue else {
            Issue.record("no sshd.settings in the findings: \(audit.stderr)")
            return
        }
        #expect(settings.count >= 10)
        var differences: [String] = []
        for (key, setting) in settings {
            let ours = normalised(setting["value"].map { text($0) } ?? "")
            guard let theirs = oracle[key] else {
                differences.append("\(key): Warden says \(ours) (\(setting["source"]?.stringValue ?? "?")), sshd -T prints no such key")
                continue
            }
            if ours != normalised(theirs) {
                differences.append("\(key): Warden says \(ours) (\(setting["source"]?.stringValue ?? "?")), sshd -T says \(theirs)")
            }
        }
        #expect(differences.isEmpty, "Warden and sshd -T disagree on the stock root:\n\(differences.joined(separator: "\n"))")
        // The keys the controls read are there.
        for key in ["permitrootlogin", "passwordauthentication", "kbdinteractiveauthentication", "x11forwarding", "maxauthtries"] {
            #expect(oracle[key] != nil, "sshd -T printed no \(key)")
        }
    }

    // (c) Upstream systemd's 50-default.conf and an Ubuntu-style cloud-init sshd drop-in.

    @Test func cloudInitDropInAndUpstreamSysctlDefaults() throws {
        let root = try RealRoots.debian12()
        let layer = RealRoots.layer(Self.cloudInit)
        let text = try doc()
        let stock = try statusTable(markdown: text, heading: "Stock root")
        let changed = try statusTable(markdown: text, heading: "Upstream systemd 50-default.conf and a cloud-init sshd drop-in")
        #expect(changed.contains { $0.control == "ACC-005" })

        for profile in Self.profiles {
            let audit = try RealRoots.audit(root, layers: [layer], profile: profile)
            #expect(audit.status == 1, "exit \(audit.status) \(audit.stderr)")
            var expected: [String: String] = [:]
            for row in stock { if let s = row.statuses[profile] { expected[row.control] = s } }
            for row in changed { if let s = row.statuses[profile] { expected[row.control] = s } }
            compare(statuses(audit.document), expected, profile: profile, what: "the root with 50-default.conf and 50-cloud-init.conf")

            // The password control fails on the drop-in, named by file and line.
            let acc005 = try #require(finding(audit.document, "ACC-005"))
            let password = (acc005["evidence"]?.arrayValue ?? []).first {
                $0["expected"]?.stringValue?.hasPrefix("PasswordAuthentication") == true
            }
            #expect(password?["source"] == "/etc/ssh/sshd_config.d/50-cloud-init.conf:1", "\(acc005.compactString)")
            #expect(password?["observed"] == "yes")
            #expect(password?["ok"] == false)

            // kernel.sysrq = 16 from upstream's file, by line.
            let hrd010 = try #require(finding(audit.document, "HRD-010"))
            let sysrq = (hrd010["evidence"]?.arrayValue ?? []).first { $0["expected"]?.stringValue?.hasPrefix("kernel.sysrq") == true }
            #expect(sysrq?["observed"]?.intValue == 16, "\(hrd010.compactString)")
            #expect(sysrq?["source"]?.stringValue?.hasPrefix("/usr/lib/sysctl.d/50-default.conf:19") == true, "\(hrd010.compactString)")
        }

        // sshd itself, in the same layered root, agrees that passwords are accepted.
        let oracle = try sshdT(root, layers: [layer])
        #expect(oracle["passwordauthentication"] == "yes")
    }

    // The base is read, never written.

    @Test func theCachedBaseIsUnchanged() throws {
        let root = try RealRoots.debian12()
        // An audit straight on the base, and a command that writes inside it through in-root.
        _ = try RealRoots.audit(root, profile: "sl4")
        let write = RealRoots.inRoot(
            root, ["sh", "-c", "echo changed >/etc/hostname && mkdir -p /run/sshd && ssh-keygen -A >/dev/null && cat /etc/hostname"])
        #expect(write.status == 0, "\(write.stderr)")
        #expect(write.stdout == "changed\n")
        try RealRoots.verifyBaseUnchanged()
        #expect(run("/bin/cat", [root + "/etc/hostname"]).stdout == "warden-stock\n")
    }

    // MARK: - helpers

    /// `sshd -T` inside a throw-away view of the root (host keys made there first), as key → value;
    /// keys printed more than once (AcceptEnv, Subsystem…) are joined with a space.
    func sshdT(_ root: String, layers: [String] = []) throws -> [String: String] {
        let r = RealRoots.inRoot(
            root, layers: layers, ["sh", "-c", "ssh-keygen -A >/dev/null && mkdir -p /run/sshd && exec sshd -T -f /etc/ssh/sshd_config"])
        guard r.status == 0, !r.timedOut else { throw RealRoots.Failure("sshd -T in the root: exit \(r.status): \(r.stderr)") }
        var out: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let key = parts.first else { continue }
            let value = parts.count > 1 ? String(parts[1]) : ""
            out[String(key), default: ""] += (out[String(key)] == nil ? "" : " ") + value
        }
        return out
    }

    func text(_ json: JSON) -> String {
        switch json {
        case .string(let s): s
        case .int(let i): String(i)
        case .bool(let b): b ? "yes" : "no"
        case .array(let a): a.map(text).joined(separator: " ")
        default: json.compactString
        }
    }

    /// Lower case, runs of white space as one space, and OpenSSH's alias for prohibit-password.
    func normalised(_ s: String) -> String {
        let words = s.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        return words == "without-password" ? "prohibit-password" : words
    }
}
