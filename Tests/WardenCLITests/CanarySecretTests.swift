import Evidence
import Glibc
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Canaries stay secret (SECURITY.md, "Canaries"): no byte Warden writes to a file or a
/// pipe names a canary, by path or by file name; the findings carry `canary:` and the HMAC of
/// the path under the state directory's key instead; only text printed to a terminal shows the
/// path; and re-evaluating the signed facts reaches the audit's LOG-010 status and evidence.
@Suite struct CanarySecretTests {
    /// A file name that occurs nowhere else, so that any occurrence in an output is a leak.
    static let name = ".zz-canary-7f3a.bin"

    /// `host-conformant` with its canary renamed (and its audit rule with it), and a site file
    /// for it; a weights directory of this machine with a canary, and a site file for a live audit.
    struct Hosts {
        let tree = TempTree(prefix: "warden-canary")
        var state: String { tree.path + "/state" }
        var root: String { tree.path + "/host" }
        let offlineCanary = "/srv/weights/" + CanarySecretTests.name
        var liveCanary: String { tree.path + "/live/weights/" + CanarySecretTests.name }
        let offlineSite: String
        let liveSite: String

        init() throws {
            tree.directory("host")
            _ = run("/bin/cp", ["-a", Package.fixtureRoot("host-conformant") + "/.", tree.path + "/host"])
            _ = run("/bin/mv", [tree.path + "/host/srv/weights/.canary", tree.path + "/host" + offlineCanary])
            let rules = "host/etc/audit/rules.d/40-weights.rules"
            tree.file(rules, try LocalFile.readText(tree.path + "/" + rules).replacing("/srv/weights/.canary", with: offlineCanary))
            let site = try LocalFile.readText(Package.fixtures + "/host-conformant/site.yaml")
            offlineSite = tree.file("offline-site.yaml", site.replacing("/srv/weights/.canary", with: offlineCanary))
            // The canary a fake copy of the weights, and a stray copy of it, under its name, for
            // the stray-weights scan to find.
            let weights = try LocalFile.read(Package.fixtureRoot("host-conformant") + "/srv/weights/llama-70b/model-00001.safetensors")
            tree.bytes("live/weights/model.safetensors", weights)
            tree.bytes("live/weights/" + CanarySecretTests.name, weights)
            tree.bytes("live/stray/" + CanarySecretTests.name, weights)
            liveSite = tree.file(
                "live-site.yaml",
                """
                weights:
                  paths: [\(tree.path)/live/weights]
                  canary: [\(tree.path)/live/weights/\(CanarySecretTests.name)]
                  scan_roots: [\(tree.path)/live]
                  min_size: 64

                """)
        }

        /// The digest of `path` under the state directory's key, by Python's hmac (not libcrypto).
        func digest(_ path: String) throws -> String {
            let r = run(
                "/usr/bin/env",
                [
                    "python3", "-c",
                    "import hashlib, hmac, sys; print('canary:' + hmac.new(open(sys.argv[1], 'rb').read(), sys.argv[2].encode(), hashlib.sha256).hexdigest())",
                    state + "/canary.key", path,
                ])
            try #require(r.status == 0, "\(r.stderr)")
            return String(r.stdout.dropLast())
        }
    }

    typealias Output = (status: Int32, stdout: String, stderr: String)

    /// Whether `needle`'s bytes occur in `haystack`.
    static func occurs(_ needle: String, in haystack: [UInt8]) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] && Array(haystack[i..<(i + n.count)]) == n { return true }
        return false
    }

    /// Every file under `dir`, with the payload of each that is a DSSE envelope as well.
    static func filesAndPayloads(_ paths: [String]) throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for path in paths {
            let listed = run("/usr/bin/find", [path, "-type", "f"]).stdout.split(separator: "\n").map(String.init)
            for file in listed {
                let bytes = try LocalFile.read(file, limit: 64 << 20)
                out.append((file, bytes))
                if let envelope = try? Envelope.decode(bytes, file: file) { out.append((file + " (payload)", envelope.payload)) }
            }
        }
        return out
    }

    @Test func noByteWardenWritesNamesACanary() throws {
        let hosts = try Hosts()
        let t = hosts.tree.path
        let state = ["--state-dir", hosts.state]
        let offline = ["audit", "--root", hosts.root, "--site", hosts.offlineSite] + state
        var outputs: [(String, Output)] = []
        func record(_ label: String, _ arguments: [String], ok: [Int32] = [0, 1, 2]) throws -> Output {
            let r = warden(arguments)
            try #require(ok.contains(r.status), "\(label): exit \(r.status): \(r.stderr)")
            outputs.append((label, r))
            return r
        }

        // Offline: signed with an auditor's key, every format to a pipe, metrics to a file.
        hosts.tree.directory("out")
        try #require(warden(["keygen", "--output", t + "/auditor.pem"]).status == 0)
        let first = try record(
            "audit offline json",
            offline + [
                "--key", t + "/auditor.pem", "--output", t + "/out/offline.dsse.json", "--format", "json", "--metrics",
                t + "/out/offline.prom",
            ]
        )
        #expect(first.stderr.contains("warden: created canary key \(hosts.state)/canary.key"), "\(first.stderr)")
        #expect(fileMode(hosts.state + "/canary.key") == 0o600)
        #expect((try? LocalFile.read(hosts.state + "/canary.key"))?.count == 32)
        let later = try record(
            "audit offline sl4",
            offline + [
                "--key", t + "/auditor.pem", "--output", t + "/out/offline-sl4.dsse.json", "--profile", "sl4", "--report",
                "text=\(t)/out/offline-sl4.txt", "--report", "sarif=\(t)/out/offline-sl4.sarif", "--report",
                "junit=\(t)/out/offline-sl4.xml",
            ])
        #expect(!later.stderr.contains("created canary key"), "the key is made once")
        for format in ["junit", "sarif", "text"] { _ = try record("audit offline \(format)", offline + ["--no-sign", "--format", format]) }

        // Live: the host key and the canary key in the state directory, latest and history.
        let live = ["audit", "--site", hosts.liveSite] + state
        _ = try record(
            "audit live json", live + ["--format", "json", "--output", t + "/out/live.dsse.json", "--metrics", t + "/out/live.prom"])
        _ = try record("audit live text", live + ["--format", "text"])
        let latest = hosts.state + "/findings/latest.dsse.json"

        // A bundle of both hosts, its reports, and what every reader of findings prints.
        hosts.tree.file("trust/host.pem", try record("key show", ["key", "show"] + state, ok: [0]).stdout)
        hosts.tree.file("trust/auditor.pem", try record("key show auditor", ["key", "show", "--key", t + "/auditor.pem"], ok: [0]).stdout)
        try #require(warden(["keygen", "--output", t + "/bundler.pem"]).status == 0)
        _ = try record(
            "bundle",
            [
                "bundle", latest, t + "/out/offline.dsse.json", "--trust", t + "/trust", "--key", t + "/bundler.pem", "--output",
                t + "/bundle",
            ],
            ok: [0, 1])
        hosts.tree.file("trust/bundler.pem", try record("key show bundler", ["key", "show", "--key", t + "/bundler.pem"], ok: [0]).stdout)
        let trust = ["--trust", t + "/trust"]
        _ = try record("verify", ["verify", t + "/bundle"] + trust, ok: [0, 1, 2])
        for format in ["md", "html"] {
            _ = try record("report bundle \(format)", ["report", t + "/bundle", "--format", format] + trust, ok: [0])
            // The host's own envelope verifies against the state directory's host key.
            _ = try record("report envelope \(format)", ["report", latest, "--format", format] + state, ok: [0])
        }
        _ = try record(
            "report to a file", ["report", t + "/bundle", "--format", "html", "--output", t + "/out/report.html"] + trust, ok: [0])
        for envelope in [t + "/out/offline.dsse.json", latest] {
            for format in ["text", "json"] {
                _ = try record("evaluate \(format)", ["evaluate", envelope, "--profile", "sl4", "--format", format] + trust)
                _ = try record("gap \(format)", ["gap", envelope, "--format", format] + trust)
            }
        }
        _ = try record("gap --root", ["gap", "--root", hosts.root, "--site", hosts.offlineSite, "--format", "json"] + state)
        for format in ["text", "json"] {
            _ = try record(
                "compare \(format)",
                ["compare", t + "/out/offline.dsse.json", t + "/out/offline-sl4.dsse.json", "--format", format] + trust,
                ok: [0, 1])
            _ = try record("history \(format)", ["history", "--format", format] + state, ok: [0])
        }

        let key = (try? LocalFile.read(hosts.state + "/canary.key")) ?? []
        let secret = key.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let files = try Self.filesAndPayloads([t + "/out", t + "/bundle", hosts.state + "/findings", hosts.state + "/history"])
        #expect(files.count >= 12)
        #expect(files.contains { $0.0.hasSuffix("report.html") } && files.contains { $0.0.contains("/history/") })
        let everything =
            files + outputs.flatMap { [("\($0.0) stdout", Array($0.1.stdout.utf8)), ("\($0.0) stderr", Array($0.1.stderr.utf8))] }
        for needle in [hosts.offlineCanary, hosts.liveCanary, Self.name, secret] where !needle.isEmpty {
            for (label, bytes) in everything where Self.occurs(needle, in: bytes) {
                Issue.record("\(label) contains \(needle)")
            }
        }

        // The findings name each canary by the HMAC of its path under the state directory's key.
        let offlineDigest = try hosts.digest(hosts.offlineCanary)
        let liveDigest = try hosts.digest(hosts.liveCanary)
        let offlinePayload = try Envelope.decode(try LocalFile.read(t + "/out/offline.dsse.json"), file: "offline").payload
        #expect(Self.occurs(offlineDigest, in: offlinePayload))
        let livePayload = try Envelope.decode(try LocalFile.read(latest), file: "latest").payload
        #expect(Self.occurs(liveDigest, in: livePayload))
        // The stray copy bears the canary's name: its path keeps the directory, not the name.
        #expect(Self.occurs("\(t)/live/stray/\(liveDigest)", in: livePayload))
        #expect(outputs.first { $0.0 == "audit offline text" }?.1.stdout.contains(offlineDigest) == true)
    }

    /// The operator's terminal maps digests back; the same command into a pipe does not.
    @Test func onlyATerminalShowsThePath() throws {
        let hosts = try Hosts()
        let arguments = [
            "audit", "--root", hosts.root, "--site", hosts.offlineSite, "--state-dir", hosts.state, "--no-sign", "--format", "text",
        ]
        let piped = warden(arguments)
        #expect(piped.status == 1, "\(piped.stderr)")
        let digest = try hosts.digest(hosts.offlineCanary)
        #expect(piped.stdout.contains(digest) && !piped.stdout.contains(Self.name))
        let command = ([Package.wardenBinary] + arguments).joined(separator: " ")
        let terminal = run("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(terminal.status == 1, "\(terminal.stderr)")
        #expect(terminal.stdout.contains("\(digest.prefix(15))… (\(hosts.offlineCanary))"), "\(terminal.stdout)")
        #expect(!terminal.stdout.contains(digest))
        // The json format is never mapped back, even on a terminal.
        let json = run("/usr/bin/script", ["-qec", command.replacing("--format text", with: "--format json"), "/dev/null"])
        #expect(json.stdout.contains(digest) && !json.stdout.contains(Self.name))
    }

    /// `evaluate` and `gap` of the signed envelope reach the audit's LOG-010 status and evidence,
    /// passing (offline, its own rule) and failing (live: no audit rules watch the canary here),
    /// and a canary keeps its digest from run to run on a host, but not under another state directory.
    @Test func reevaluatingTheSignedFactsGivesTheAuditsLOG010() throws {
        let hosts = try Hosts()
        let t = hosts.tree.path
        try #require(warden(["keygen", "--output", t + "/auditor.pem"]).status == 0)
        hosts.tree.file("auditor.pub.pem", warden(["key", "show", "--key", t + "/auditor.pem"]).stdout)
        // What verifies each envelope: the auditor's key, or the host key in the state directory.
        let verifiers = ["offline": ["--trust", t + "/auditor.pub.pem"], "live": ["--state-dir", hosts.state]]
        let cases = [
            (
                "offline", "pass",
                [
                    "audit", "--root", hosts.root, "--site", hosts.offlineSite, "--key", t + "/auditor.pem", "--output",
                    t + "/offline.dsse.json",
                ],
                t + "/offline.dsse.json"
            ),
            ("live", "fail", ["audit", "--site", hosts.liveSite], hosts.state + "/findings/latest.dsse.json"),
        ]
        for (label, status, arguments, envelope) in cases {
            for profile in ["sl3", "sl4"] {
                let audited = warden(arguments + ["--state-dir", hosts.state, "--profile", profile, "--format", "json"])
                try #require([0, 1, 2].contains(audited.status), "\(audited.stderr)")
                let evaluated = warden(["evaluate", envelope, "--profile", profile, "--format", "json"] + verifiers[label, default: []])
                func log010(_ text: String) throws -> JSON? {
                    try JSON.parse(text)["results"]?.arrayValue?.first { $0["control"] == "LOG-010" }
                }
                let a = try log010(audited.stdout)
                #expect(a?["status"] == .string(status), "\(label) \(profile): \(a?["summary"] ?? .null)")
                #expect(a?["evidence"]?.arrayValue?.isEmpty == false)
                let e = try log010(evaluated.stdout)
                for field in ["status", "evidence", "summary"] { #expect(e?[field] == a?[field], "\(label) \(profile) \(field)") }
                let gap = try JSON.parse(
                    warden(["gap", envelope, "--to", profile, "--format", "json"] + verifiers[label, default: []]).stdout)
                let missing = gap["missing"]?.arrayValue?.contains { $0["control"] == "LOG-010" } ?? false
                #expect(missing == (status == "fail"), "\(label) \(profile)")
            }
        }
        let again = warden([
            "audit", "--root", hosts.root, "--site", hosts.offlineSite, "--state-dir", hosts.state, "--no-sign", "--format", "text",
        ])
        #expect(again.stdout.contains(try hosts.digest(hosts.offlineCanary)))
        let other = TempTree()
        let elsewhere = warden([
            "audit", "--root", hosts.root, "--site", hosts.offlineSite, "--state-dir", other.path, "--no-sign", "--format", "text",
        ])
        #expect(elsewhere.stderr.contains("created canary key \(other.path)/canary.key"))
        #expect(!elsewhere.stdout.contains(try hosts.digest(hosts.offlineCanary)) && elsewhere.stdout.contains("canary:"))
    }

    /// A canary key that others may read is refused, named, with the fix; nothing is audited. A
    /// command line that cannot sign is refused before any key is made.
    @Test func anUnprotectedCanaryKeyIsRefused() throws {
        let hosts = try Hosts()
        let unsigned = warden(["audit", "--root", hosts.root, "--site", hosts.offlineSite, "--state-dir", hosts.state])
        #expect(unsigned.status == 64 && unsigned.stderr.contains("--key: an offline audit"), "\(unsigned.stderr)")
        #expect(access(hosts.state, F_OK) != 0)
        let arguments = [
            "audit", "--root", hosts.root, "--site", hosts.offlineSite, "--state-dir", hosts.state, "--no-sign", "--format", "json",
        ]
        #expect([0, 1, 2].contains(warden(arguments).status))
        chmod(hosts.state + "/canary.key", 0o644)
        let refused = warden(arguments)
        #expect(refused.status == 65)
        #expect(
            refused.stderr.contains(
                "\(hosts.state)/canary.key: error: canary key: canary key file has mode 0644: group or others can access it"),
            "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
    }
}
