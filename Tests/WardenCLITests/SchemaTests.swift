import Evidence
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// check-jsonschema (PyPI) in .build-venv, made by `Scripts/python-tools` (run by `Scripts/setup`):
/// a validator that shares no code with Warden, reading the schemas in docs/schemas.
enum SchemaCheck {
    static let tool = Package.root + "/.build-venv/bin/check-jsonschema"
    static let schemas = Package.root + "/docs/schemas"
    /// Every schema, by the name of its file (`<name>.schema.json`); `common` holds shared definitions.
    static let names = [
        "common", "facts", "findings", "statement", "envelope", "manifest", "summary", "site", "inventory", "gap", "compare", "history",
        "coverage",
    ]

    static func installed() throws {
        if run(Package.root + "/.build-venv/bin/python", ["-c", "import check_jsonschema"]).status != 0 {
            let made = run(Package.root + "/Scripts/python-tools", [])
            try #require(made.status == 0, "Scripts/python-tools failed: \(made.stderr.suffix(400))")
        }
    }

    /// Validates `files` against `docs/schemas/<schema>.schema.json` and returns each file's errors
    /// (`$.path: message`), none for a valid file. A file check-jsonschema cannot parse fails the test.
    static func validate(_ schema: String, _ files: [String]) throws -> [String: [String]] {
        try check(["--schemafile", schemas + "/\(schema).schema.json"], files)
    }

    /// Checks each file as a schema against its metaschema (draft 2020-12).
    static func metaschema(_ files: [String]) throws -> [String: [String]] {
        try check(["--check-metaschema"], files)
    }

    private static func check(_ options: [String], _ files: [String]) throws -> [String: [String]] {
        try installed()
        let r = run(tool, ["--output-format", "json", "--color", "never"] + options + files)
        let report = try JSON.parse(r.stdout)
        let unreadable = report["parse_errors"]?.arrayValue ?? []
        try #require(unreadable.isEmpty, "check-jsonschema could not read an input: \(r.stdout)\(r.stderr)")
        try #require(r.status == (report["status"] == "ok" ? 0 : 1), "check-jsonschema exited \(r.status): \(r.stdout)\(r.stderr)")
        var errors: [String: [String]] = Dictionary(uniqueKeysWithValues: files.map { ($0, []) })
        for e in report["errors"]?.arrayValue ?? [] {
            let file = try #require(e["filename"]?.stringValue)
            errors[file, default: []].append("\(e["path"]?.stringValue ?? "?"): \(e["message"]?.stringValue ?? "?")")
        }
        return errors
    }
}

/// A copy of `json` with the value at `path` (object keys, or list indices as digits; an index one
/// past the end appends) replaced by `value`, or removed when `value` is nil.
func changing(_ json: JSON, _ path: [String], to value: JSON?) -> JSON {
    guard let first = path.first else { return value ?? .null }
    let rest = Array(path.dropFirst())
    switch json {
    case .array(var items):
        guard let i = Int(first), i <= items.count else { return json }
        if i == items.count { items.append(changing(.null, rest, to: value)) } else { items[i] = changing(items[i], rest, to: value) }
        return .array(items)
    case .object(var o):
        if rest.isEmpty && value == nil {
            _ = o.removeValue(forKey: first)
        } else {
            _ = o.updateValue(changing(o[first] ?? .null, rest, to: value), forKey: first)
        }
        return .object(o)
    default:
        return json
    }
}

/// One deliberately broken document: the change, and the place the validator must name.
struct Breakage {
    var name: String
    var path: [String]
    var value: JSON?
    /// The error path (check-jsonschema's `$.…`) that must appear among the errors.
    var at: String
}

/// Real documents made by the built `warden` on the fixtures, validated against docs/schemas with
/// check-jsonschema; for each schema, broken documents that the validator must reject; and for the
/// two operator-written YAML files, a table of documents on which Warden and the schema must agree.
@Suite struct SchemaTests {
    static let now = "2026-11-29T12:00:00Z"

    @Test func everySchemaIsAValidDraft202012SchemaAndABrokenOneIsNot() throws {
        let files = SchemaCheck.names.map { SchemaCheck.schemas + "/\($0).schema.json" }
        let listed = Set(LocalFile.list(SchemaCheck.schemas).filter { $0.hasSuffix(".schema.json") })
        #expect(listed == Set(SchemaCheck.names.map { "\($0).schema.json" }), "docs/schemas holds a schema this test does not know")
        for file in files {
            let schema = try JSON.parse(try LocalFile.read(file))
            #expect(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", "\(file)")
        }
        let checked = try SchemaCheck.metaschema(files)
        for file in files { #expect(checked[file] == [], "\(file): \(checked[file] ?? [])") }

        let tree = TempTree(prefix: "warden-schema")
        let broken = tree.file(
            "broken.schema.json",
            """
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "objekt", "required": "schema"}
            """)
        #expect(try SchemaCheck.metaschema([broken])[broken]?.isEmpty == false)
    }

    /// Findings (audits, with and without a site file, with waivers applied and expired, and
    /// `evaluate`'s re-evaluation), their facts, signed envelopes (Ed25519 and ECDSA), the in-toto
    /// statements inside them (a subject by machine-id digest and one by root URI), and what
    /// `gap`, `compare` and `history` print.
    @Test func auditFindingsFactsEnvelopesAndStatementsMatchTheirSchemas() throws {
        let tree = TempTree(prefix: "warden-schema")
        func audit(_ root: String, site: String?, _ extra: [String]) throws -> String {
            let r = warden(
                ["audit", "--root", root, "--now", Self.now, "--state-dir", tree.path + "/state"] + (site.map { ["--site", $0] } ?? [])
                    + extra)
            try #require([0, 1, 2].contains(r.status), "\(r.stderr)")
            return r.stdout
        }
        let debian = tree.file(
            "debian.json",
            try audit(
                Package.fixtureRoot("host-debian-default"), site: Package.fixtures + "/host-debian-default/site.yaml",
                ["--no-sign", "--format", "json"]))
        // host-conformant fails ACC-001 and LOG-005 as git checks it out: one waiver that holds, one expired.
        let site = tree.file(
            "site.yaml",
            try LocalFile.readText(Package.fixtures + "/host-conformant/site.yaml") + """
                waivers:
                  - control: ACC-001
                    reason: modes are set at deployment
                    approved_by: ciso
                    expires: 2030-01-01
                  - control: LOG-005
                    reason: forwarding is being moved
                    approved_by: ciso
                    expires: "2026-01-01T00:00:00Z"

                """)
        let waived = tree.file(
            "waived.json",
            try audit(Package.fixtureRoot("host-conformant"), site: site, ["--no-sign", "--format", "json", "--profile", "sl4"]))
        let waivers = try JSON.parse(try LocalFile.read(waived))["results"]?.arrayValue?.compactMap { $0["waiver"] } ?? []
        #expect(Set(waivers.compactMap { $0["applied"]?.boolValue }) == [true, false], "both waiver states are exercised: \(waivers)")

        let key = tree.path + "/ed25519.pem"
        try #require(warden(["keygen", "--output", key]).status == 0)
        let identified = TempTree(prefix: "warden-schema-host")
        let byDigest = tree.path + "/by-digest.dsse.json"
        _ = try audit(identifiedHost(in: identified), site: nil, ["--key", key, "--output", byDigest])
        let ecdsa = try SignedAudit("ecdsa-p256")
        // Both signers' public keys, which verify the envelopes for the commands that read them.
        tree.file("trust/ed25519.pem", warden(["key", "show", "--key", key]).stdout)
        _ = tree.bytes("trust/ecdsa.pem", try LocalFile.read(ecdsa.trust))
        let trust = ["--trust", tree.path + "/trust"]
        let evaluated = tree.file("evaluated.json", warden(["evaluate", byDigest, "--profile", "sl4", "--format", "json"] + trust).stdout)

        var statements: [String] = []
        for (name, envelope) in [("by-digest", byDigest), ("by-uri", ecdsa.envelope)] {
            let e = try Envelope.decode(try LocalFile.read(envelope), file: envelope)
            statements.append(tree.bytes("\(name).statement.json", e.payload))
        }
        let subjects = try statements.map { try JSON.parse(try LocalFile.read($0))["subject"]?[0] }
        #expect(subjects[0]?["digest"]?["sha256"] == .string(identifiedHostSubjectDigest))
        #expect(subjects[1]?["uri"]?.stringValue?.hasPrefix("file:///") == true, "\(String(describing: subjects[1]))")
        let facts = tree.bytes("facts.json", try #require(try JSON.parse(try LocalFile.read(debian))["facts"]).prettySerialized())

        // The other JSON the commands print: gap, compare (two hosts; one host's drift) and history
        // (a state directory whose history holds two of the envelopes above).
        func output(_ name: String, _ arguments: [String]) throws -> String {
            let r = warden(arguments + ["--format", "json"])
            try #require([0, 1, 2].contains(r.status), "\(arguments): \(r.stderr)")
            return tree.file(name, r.stdout)
        }
        // Unsigned documents are read with --unverified, whose outputs say so.
        let gaps = [
            try output("gap-envelope.json", ["gap", byDigest, "--to", "sl4"] + trust),
            try output("gap-document.json", ["gap", waived, "--to", "sl4", "--unverified"]),
        ]
        let comparisons = [
            try output("compare-hosts.json", ["compare", debian, waived, "--unverified"]),
            try output("compare-drift.json", ["compare", byDigest, evaluated, "--unverified"]),
            try output("compare-signed.json", ["compare", byDigest, byDigest] + trust),
        ]
        _ = tree.bytes("state/history/20261128T120000Z.dsse.json", try LocalFile.read(byDigest))
        _ = tree.bytes("state/history/20261129T120000Z.dsse.json", try LocalFile.read(ecdsa.envelope))
        let history = try output("history.json", ["history", "--state-dir", tree.path + "/state"] + trust)
        let coverages = [
            try output("coverage-sl3.json", ["profiles", "coverage", "--profile", "sl3"]),
            try output("coverage-sl4.json", ["profiles", "coverage", "--profile", "sl4"]),
        ]
        #expect(try comparisons.map { try JSON.parse(try LocalFile.read($0))["kind"] } == ["hosts", "drift", "drift"])
        #expect(try JSON.parse(try LocalFile.read(history))["runs"]?.arrayValue?.count == 2)

        let firstFile = try #require(try JSON.parse(try LocalFile.read(facts))["files"]?.objectValue?.keys.first)
        let debianSummary = try JSON.parse(try LocalFile.read(debian))["summary"]
        let conformant = try #require(debianSummary?["conformant"]?.boolValue as Bool?)
        let signature = try JSON.parse(try LocalFile.read(byDigest))["signatures"]?[0]
        try check(
            "findings", valid: [debian, waived, evaluated], base: debian, in: tree,
            broken: [
                Breakage(name: "status", path: ["results", "0", "status"], value: "passed", at: "$.results[0].status"),
                Breakage(name: "verdict", path: ["summary", "conformant"], value: .bool(!conformant), at: "$.summary.conformant"),
                Breakage(name: "no-facts", path: ["facts"], value: nil, at: "$"),
                Breakage(name: "time", path: ["started_at"], value: "2026-11-29 12:00:00", at: "$.started_at"),
                Breakage(name: "digest", path: ["profile", "sha256"], value: "abc", at: "$.profile.sha256"),
                Breakage(name: "extra", path: ["comment"], value: "unknown key", at: "$"),
                Breakage(
                    name: "rand-relation", path: ["results", "0", "references", "rand", "0", "relation"], value: "inspires",
                    at: "$.results[0].references.rand[0].relation"),
            ])
        try check(
            "facts", valid: [facts], base: facts, in: tree,
            broken: [
                Breakage(name: "mode", path: ["mode"], value: "online", at: "$.mode"),
                Breakage(name: "file", path: ["files", firstFile], value: "unreadable: denied", at: "$.files['\(firstFile)']"),
                Breakage(
                    name: "unavailable", path: ["facts", "sshd"], value: ["unavailable": ["status": "missing", "reason": "x"]],
                    at: "$.facts.sshd"),
            ])
        try check(
            "envelope", valid: [byDigest, ecdsa.envelope], base: byDigest, in: tree,
            broken: [
                Breakage(name: "two-signatures", path: ["signatures", "1"], value: signature, at: "$.signatures"),
                Breakage(name: "no-keyid", path: ["signatures", "0", "keyid"], value: nil, at: "$.signatures[0]"),
                Breakage(name: "payload", path: ["payload"], value: "not base64!", at: "$.payload"),
            ])
        try check(
            "statement", valid: statements, base: statements[0], in: tree,
            broken: [
                Breakage(name: "predicate-type", path: ["predicateType"], value: "https://example.com/v1", at: "$.predicateType"),
                Breakage(name: "subject", path: ["subject", "0", "digest", "sha256"], value: "XYZ", at: "$.subject[0]"),
                Breakage(name: "predicate", path: ["predicate", "schema"], value: "warden.findings/v2", at: "$.predicate.schema"),
            ])
        let gapConformant = try JSON.parse(try LocalFile.read(gaps[0]))["conformant"]?.boolValue ?? false
        try check(
            "gap", valid: gaps, base: gaps[0], in: tree,
            broken: [
                Breakage(name: "conformant", path: ["conformant"], value: .bool(!gapConformant), at: "$.conformant"),
                Breakage(name: "host", path: ["host", "hostname"], value: 7, at: "$.host.hostname"),
            ])
        try check(
            "compare", valid: comparisons, base: comparisons[0], in: tree,
            broken: [
                Breakage(name: "kind", path: ["kind"], value: "same", at: "$.kind"),
                Breakage(name: "time", path: ["a", "finished_at"], value: "yesterday", at: "$.a.finished_at"),
            ])
        try check(
            "coverage", valid: coverages, base: coverages[0], in: tree,
            broken: [
                Breakage(name: "status", path: ["measures", "0", "status"], value: "covered", at: "$.measures[0].status"),
                Breakage(name: "alias", path: ["measures", "0", "alias"], value: "RAND-1", at: "$.measures[0].alias"),
                Breakage(name: "no-counts", path: ["counts"], value: nil, at: "$"),
            ])
        try check(
            "history", valid: [history], base: history, in: tree,
            broken: [
                Breakage(name: "status", path: ["runs", "0", "statuses", "ACC-001"], value: "passed", at: "$.runs[0].statuses['ACC-001']")
            ])
    }

    /// A bundle of a synthetic fleet (real fixture audits as templates) with every kind of entry:
    /// stale, missing, rejected (wrong key, unknown host, malformed input) and superseded hosts; and
    /// a bundle made without an inventory.
    @Test func bundleManifestSummaryEnvelopesAndInventoryMatchTheirSchemas() throws {
        let tree = TempTree(prefix: "warden-schema-fleet")
        let fleet = tree.path + "/fleet"
        let made = run(
            Package.root + "/Scripts/make-fleet", [fleet, "6", "--missing-every", "4", "--wrong-key", "--unknown"],
            environment: ["WARDEN_BUILD": "debug"])
        try #require(made.status == 0, "\(made.stderr)")
        let first = try #require(LocalFile.list(fleet + "/findings").sorted().first)
        let duplicate = tree.bytes("duplicate.dsse.json", try LocalFile.read(fleet + "/findings/" + first))
        let junk = tree.file("junk.json", "{\"not\": \"an envelope\"}")
        func bundle(_ output: String, _ extra: [String]) throws -> String {
            let r = warden(
                [
                    "bundle", fleet + "/findings", duplicate, junk, "--trust", fleet + "/trust.pem", "--key", fleet + "/bundler.pem",
                    "--now", Self.now, "--output", tree.path + "/" + output,
                ] + extra)
            try #require([0, 1].contains(r.status), "\(r.stdout)\(r.stderr)")
            return tree.path + "/" + output
        }
        let withInventory = try bundle("bundle", ["--inventory", fleet + "/inventory.yaml"])
        let withoutInventory = try bundle("bare", [])

        let summary = try JSON.parse(try LocalFile.read(withInventory + "/summary.json", limit: 64 << 20))
        #expect(
            Set(summary["rejected"]?.arrayValue?.compactMap { $0["kind"]?.stringValue } ?? []) == ["wrong_key", "unknown", "malformed"])
        for list in ["superseded", "missing", "stale"] { #expect(summary[list]?.arrayValue?.isEmpty == false, "\(list) is exercised") }
        #expect(summary["controls"]?.arrayValue?.contains { $0["results"]?["sl3"]?["examples"]?.arrayValue?.isEmpty == false } == true)
        let bare = try JSON.parse(try LocalFile.read(withoutInventory + "/manifest.json", limit: 64 << 20))
        #expect(bare["inventory"] == .null)

        // The bundle without an inventory keeps every verified envelope (the other one's are among them, byte for byte).
        let hostEnvelopes = LocalFile.list(withoutInventory + "/findings").map { withoutInventory + "/findings/" + $0 }
        var statements: [String] = []
        for (i, path) in hostEnvelopes.enumerated() {
            statements.append(tree.bytes("statement-\(i).json", try Envelope.decode(try LocalFile.read(path), file: path).payload))
        }
        let valid: [(String, [String])] = [
            ("envelope", [withInventory + "/manifest.dsse.json", withoutInventory + "/manifest.dsse.json"] + hostEnvelopes),
            ("statement", statements),
            ("inventory", [fleet + "/inventory.yaml", withInventory + "/inventory.yaml"]),
        ]
        for (schema, files) in valid {
            for (file, errors) in try SchemaCheck.validate(schema, files) { #expect(errors == [], "\(schema): \(file): \(errors)") }
        }

        try check(
            "manifest", valid: [withInventory + "/manifest.json", withoutInventory + "/manifest.json"],
            base: withInventory + "/manifest.json", in: tree,
            broken: [
                Breakage(name: "extra", path: ["note"], value: "added after signing", at: "$"),
                Breakage(name: "path", path: ["files", "0", "path"], value: "../outside", at: "$.files[0].path"),
                Breakage(name: "conformant", path: ["hosts", "0", "conformant", "sl3"], value: "yes", at: "$.hosts[0].conformant.sl3"),
                Breakage(name: "max-age", path: ["max_age"], value: "7 days", at: "$.max_age"),
            ])
        let hostConformant = try #require(summary["hosts"]?[0]?["results"]?["sl3"]?["conformant"]?.boolValue as Bool?)
        try check(
            "summary", valid: [withInventory + "/summary.json", withoutInventory + "/summary.json"], base: withInventory + "/summary.json",
            in: tree,
            broken: [
                Breakage(
                    name: "verdict", path: ["hosts", "0", "results", "sl3", "conformant"], value: .bool(!hostConformant),
                    at: "$.hosts[0].results.sl3.conformant"),
                Breakage(name: "kind", path: ["rejected", "0", "kind"], value: "forged", at: "$.rejected[0].kind"),
                Breakage(name: "counts", path: ["counts", "bundled"], value: nil, at: "$.counts"),
            ])
    }

    /// Site files: the fixtures', and a table of documents that Warden accepts or refuses (exit 65
    /// from an audit of an empty root); the schema must judge each the same way.
    @Test func siteFilesAgreeWithWarden() throws {
        let tree = TempTree(prefix: "warden-schema-site")
        let root = tree.path + "/root"
        _ = run("/bin/mkdir", [root])
        var cases: [(file: String, valid: Bool)] = [
            (Package.fixtures + "/host-conformant/site.yaml", true),
            (Package.fixtures + "/host-debian-default/site.yaml", true),
            (Package.root + "/Tests/Roots/hardened-site.yaml", true),
            (Package.fixtures + "/profiles-bad/site-unknown-key.yaml", false),
        ]
        let table: [(String, Bool, String)] = [
            ("empty-mapping", true, "{}\n"),
            ("yaml11-booleans", true, "containers: yes\nrole: inference\n"),
            (
                "numbers-as-text", true,
                "weights:\n  owner: 1000\n  group: 1000\n  allowed_principals: [user:alice, 42]\nservices:\n  edr_units: [falcon-sensor.service]\n"
            ),
            ("sizes", true, "weights:\n  min_size: 1 MiB\n  paths: [/data/w]\n  scan_roots: []\n"),
            ("size-bytes", true, "weights:\n  min_size: 0\n"),
            ("listeners", true, "network:\n  allowed_listeners: [tcp/22, udp/123, udp/65535, tcp/00022]\n"),
            (
                "waiver-times", true,
                "waivers:\n  - control: ACC-001\n    reason: r\n    approved_by: a\n    expires: 2027-01-31\n  - control: LOG-005\n    reason: r\n    approved_by: a\n    expires: 2027-01-31T12:00:00+02:00\n"
            ),
            (
                "rand-keys", true,
                "environment: isolated-network\naccess:\n  renewal_days: 30\nencryption:\n  attested_key_service: Keylime kms-01\nweights:\n  break_glass_group: wbg\n"
            ),
            ("environment", false, "environment: lab\n"),
            ("renewal-days", false, "access:\n  renewal_days: 0\n"),
            ("unknown-key", false, "rol: storage\n"),
            ("unknown-nested-key", false, "network:\n  listeners: [tcp/22]\n"),
            ("role", false, "role: database\n"),
            ("containers", false, "containers: maybe\n"),
            ("port", false, "network:\n  allowed_listeners: [tcp/70000]\n"),
            ("listener-form", false, "network:\n  allowed_listeners: [\"22\"]\n"),
            ("relative-path", false, "weights:\n  paths: [srv/weights]\n"),
            ("relative-canary", false, "weights:\n  canary: [canary.txt]\n"),
            ("paths-not-a-list", false, "weights:\n  scan_roots: /home\n"),
            ("size-unit", false, "weights:\n  min_size: 1 TB\n"),
            ("size-negative", false, "weights:\n  min_size: -1\n"),
            ("empty-owner", false, "weights:\n  owner: \"  \"\n"),
            ("null-owner", false, "weights:\n  owner:\n"),
            ("control-id", false, "waivers:\n  - control: acc-001\n    reason: r\n    approved_by: a\n    expires: 2027-01-31\n"),
            ("waiver-missing-key", false, "waivers:\n  - control: ACC-001\n    reason: r\n    expires: 2027-01-31\n"),
            ("waiver-date", false, "waivers:\n  - control: ACC-001\n    reason: r\n    approved_by: a\n    expires: \"2027-13-01\"\n"),
            (
                "waiver-time-zone", false,
                "waivers:\n  - control: ACC-001\n    reason: r\n    approved_by: a\n    expires: \"2027-01-31T12:00:00\"\n"
            ),
            ("waivers-mapping", false, "waivers:\n  control: ACC-001\n"),
        ]
        for (name, valid, text) in table { cases.append((tree.file("\(name).yaml", text), valid)) }
        let schema = try SchemaCheck.validate("site", cases.map(\.file))
        for (file, valid) in cases {
            let r = warden([
                "audit", "--root", root, "--site", file, "--no-sign", "--format", "json", "--now", Self.now, "--state-dir",
                tree.path + "/state",
            ])
            #expect(valid ? [0, 1, 2].contains(r.status) : r.status == 65, "warden: \(file): exit \(r.status) \(r.stderr)")
            #expect((schema[file] == []) == valid, "schema: \(file): \(schema[file] ?? [])")
        }
    }

    /// Inventories: the one make-fleet writes (above) and a table of documents that Warden accepts
    /// or refuses (exit 65 from `warden bundle --inventory`); the schema must judge each the same way.
    @Test func inventoriesAgreeWithWarden() throws {
        let tree = TempTree(prefix: "warden-schema-inventory")
        let key = tree.path + "/bundler.pem"
        try #require(warden(["keygen", "--output", key]).status == 0)
        let trust = tree.file("trust.pem", warden(["key", "show", "--key", key]).stdout)
        let junk = tree.file("junk.json", "{}")
        let id = "8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e"
        let keyid = "5f0c" + String(repeating: "ab", count: 30)
        func host(name: String = "weights-01", machine: String = id, key: String = keyid, role: String = "storage", extra: String = "")
            -> String
        {
            "  - name: \(name)\n    machine_id: \(machine)\n    keyid: \(key)\n    role: \(role)\n\(extra)"
        }
        let table: [(String, Bool, String)] = [
            ("one", true, "hosts:\n" + host()),
            ("two", true, "hosts:\n" + host() + host(name: "weights-02", machine: "0123456789abcdef0123456789abcdef", role: "training")),
            ("none", true, "hosts: []\n"),
            ("no-hosts", false, "{}\n"),
            ("unknown-key", false, "hosts:\n" + host(extra: "    owner: mlsvc\n")),
            ("top-level-key", false, "hosts: []\nsites: []\n"),
            ("missing-role", false, "hosts:\n  - name: w\n    machine_id: \(id)\n    keyid: \(keyid)\n"),
            ("role", false, "hosts:\n" + host(role: "database")),
            ("upper-case-id", false, "hosts:\n" + host(machine: id.uppercased())),
            ("short-id", false, "hosts:\n" + host(machine: String(id.dropLast()))),
            ("short-keyid", false, "hosts:\n" + host(key: String(keyid.prefix(40)))),
            ("empty-name", false, "hosts:\n" + host(name: "\"\"")),
        ]
        var cases: [(file: String, valid: Bool)] = []
        for (name, valid, text) in table { cases.append((tree.file("\(name).yaml", text), valid)) }
        let schema = try SchemaCheck.validate("inventory", cases.map(\.file))
        for (n, (file, valid)) in cases.enumerated() {
            let r = warden([
                "bundle", junk, "--trust", trust, "--key", key, "--inventory", file, "--now", Self.now, "--output",
                tree.path + "/bundle-\(n)",
            ])
            #expect(valid ? [0, 1].contains(r.status) : r.status == 65, "warden: \(file): exit \(r.status) \(r.stderr)")
            #expect((schema[file] == []) == valid, "schema: \(file): \(schema[file] ?? [])")
        }
    }

    /// Validates `valid` (real documents) and, in the same run, each breakage of `base` (a JSON
    /// document): the real ones must pass, and every broken one must be rejected at its place.
    func check(_ schema: String, valid: [String], base: String, in tree: TempTree, broken breakages: [Breakage]) throws {
        let document = try JSON.parse(try LocalFile.read(base, limit: 64 << 20))
        var broken: [String: Breakage] = [:]
        for b in breakages {
            let changed = changing(document, b.path, to: b.value)
            #expect(changed != document, "\(schema)/\(b.name) changes nothing")
            broken[tree.bytes("broken-\(schema)-\(b.name).json", changed.prettySerialized())] = b
        }
        let errors = try SchemaCheck.validate(schema, valid + broken.keys.sorted())
        for file in valid { #expect(errors[file] == [], "\(schema): \(file): \(errors[file] ?? [])") }
        for (file, b) in broken {
            let found = errors[file] ?? []
            #expect(found.contains { $0.hasPrefix(b.at + ": ") }, "\(schema)/\(b.name): expected an error at \(b.at), found \(found)")
        }
    }
}
