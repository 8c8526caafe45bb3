import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The two kinds of test docs/FACTS.md asks new tests to follow: a probe test asserts the facts
/// the probe collects (not the statuses of the controls that read them), and a control test
/// evaluates a table of canned facts through the evaluator (no host, no probe).
@Suite struct FactPatternTests {
    // MARK: - A probe test: facts of a fixture

    @Test func auditdFactsOfAFixture() throws {
        let context = ProbeContext(
            root: try HostRoot(Package.fixtureRoot("host-conformant")), site: nil,
            weights: WeightLocations(origin: .site, paths: [], note: "test"))
        let facts = AuditdProbe().collect(context)
        guard case .value(let auditd)? = facts["auditd"] else {
            Issue.record("no auditd fact: \(facts)")
            return
        }
        // What the file says, each value with the line it came from.
        #expect(auditd["installed"] == true)
        #expect(auditd["conf"]?["disk_full_action"] == ["value": "halt", "source": "/etc/audit/auditd.conf:6"])
        #expect(auditd["conf"]?["space_left_action"] == ["value": "email", "source": "/etc/audit/auditd.conf:4"])
        #expect(auditd["conf"]?["log_group"] == ["value": "root", "source": "/etc/audit/auditd.conf:2"])
        #expect(auditd["problems"] == [])
        // The sendmail the email action runs is there, and executable.
        #expect(auditd["sendmail"] == ["value": true, "source": "/usr/lib/sendmail"])
        // The log directory and its one file, each described (their modes are the checkout's).
        let logs = auditd["logs"]?.arrayValue ?? []
        #expect(logs.map { $0["path"] } == ["/var/log/audit", "/var/log/audit/audit.log"])
        #expect(logs.map { $0["kind"] } == ["directory", "file"])
        // And the whole fact is what the probe declares.
        #expect(FactContract.mismatches(auditd, AuditdProbe().facts["auditd"]!, path: "auditd") == [])
    }

    // MARK: - A control test: a table of canned facts

    /// auditd as a conformant SL4 host has it; each row changes one thing.
    static func auditd(
        conf changes: JSONObject = [:], wholeConf: JSON? = nil, logs: [JSON]? = nil, sendmail: Bool = false, installed: Bool = true
    ) -> JSON {
        var conf: JSONObject = [:]
        for (key, value) in [
            "disk_full_action": "halt", "disk_error_action": "single", "space_left_action": "syslog",
            "admin_space_left_action": "single", "max_log_file_action": "keep_logs", "log_group": "root",
        ] as [String: JSON] {
            conf[key] = ["value": value, "source": "/etc/audit/auditd.conf:1"]
        }
        for (key, value) in changes { conf[key] = ["value": value, "source": "/etc/audit/auditd.conf:9"] }
        return [
            "installed": .bool(installed), "source": "/etc/audit/auditd.conf",
            "enabled": ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/auditd.service"],
            "conf": wholeConf ?? .object(conf), "problems": [],
            "logs": .array(
                logs ?? [
                    ["path": "/var/log/audit", "kind": "directory", "mode": "0700", "owner_ok": true],
                    ["path": "/var/log/audit/audit.log", "kind": "file", "mode": "0600", "owner_ok": true],
                ]),
            "sendmail": ["value": .bool(sendmail), "source": "/usr/lib/sendmail"],
        ]
    }

    static let log005Table: [(String, JSON, Status)] = [
        ("conformant", auditd(), .pass),
        ("auditd not installed", auditd(installed: false), .fail),
        ("disk_full_action suspend stops recording silently", auditd(conf: ["disk_full_action": "suspend"]), .fail),
        ("disk_error_action syslog is not enough at SL4", auditd(conf: ["disk_error_action": "syslog"]), .fail),
        ("space_left_action email without a mail transport", auditd(conf: ["space_left_action": "email"]), .fail),
        ("space_left_action email with /usr/lib/sendmail", auditd(conf: ["space_left_action": "email"], sendmail: true), .pass),
        ("log_group adm", auditd(conf: ["log_group": "adm"]), .fail),
        ("log directory 0750", auditd(logs: [["path": "/var/log/audit", "kind": "directory", "mode": "0750", "owner_ok": true]]), .fail),
        ("no log files yet", auditd(logs: [["path": "/var/log/audit", "kind": "directory", "mode": "0700", "owner_ok": true]]), .pass),
        ("no log directory at all", auditd(logs: []), .error),
        ("the log directory could not be read", auditd(logs: [["path": "/var/log/audit", "error": "permission denied"]]), .error),
        ("auditd.conf unreadable", auditd(wholeConf: ["error": "/etc/audit/auditd.conf: permission denied"]), .error),
    ]

    @Test(arguments: FactPatternTests.log005Table.indices)
    func log005OverATableOfFacts(_ row: Int) throws {
        let (name, auditd, expected) = FactPatternTests.log005Table[row]
        // cannedFinding refuses canned facts a probe could not produce (their declared types).
        let finding = try cannedFinding("LOG-005", profile: "sl4", facts: ["auditd": auditd])
        #expect(finding.status == expected, "\(name): \(finding.summary)")
    }
}
