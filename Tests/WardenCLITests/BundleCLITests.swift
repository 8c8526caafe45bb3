import Evidence
import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A synthetic fleet from `Scripts/make-fleet` (real fixture audits as templates, one key per
/// host) and a bundle of it made by the built `warden bundle`.
struct Fleet {
    let tree = TempTree(prefix: "warden-fleet")
    let dir: String
    let bundle: String
    let made: (status: Int32, stdout: String, stderr: String)
    static let now = "2026-11-29T12:00:00Z"
    static let later = "2026-11-30T12:00:00Z"

    init(count: Int = 6, options: [String] = ["--save-keys"], inventory: Bool = true, bundleArguments: [String] = []) throws {
        dir = tree.path + "/fleet"
        let generated = run(Package.root + "/Scripts/make-fleet", [dir, String(count)] + options, environment: ["WARDEN_BUILD": "debug"])
        try #require(generated.status == 0, "\(generated.stderr)")
        bundle = tree.path + "/bundle"
        made = warden(
            [
                "bundle", dir + "/findings", "--trust", dir + "/trust.pem", "--key", dir + "/bundler.pem", "--now", Fleet.now, "--output",
                bundle,
            ]
                + (inventory ? ["--inventory", dir + "/inventory.yaml"] : []) + bundleArguments)
        try #require([0, 1].contains(made.status), "\(made.stdout)\(made.stderr)")
    }

    var trust: String { dir + "/trust.pem" }

    func verify(_ path: String? = nil, _ extra: [String] = []) -> (status: Int32, stdout: String, stderr: String) {
        warden(["verify", path ?? bundle, "--trust", trust, "--now", Fleet.later] + extra)
    }

    func json(_ file: String, in path: String? = nil) throws -> JSON {
        try JSON.parse(try LocalFile.read((path ?? bundle) + "/" + file, limit: 64 << 20))
    }

    /// A copy of the bundle to tamper with.
    func copy(_ name: String) -> String {
        let target = tree.path + "/" + name
        _ = run("/bin/cp", ["-a", bundle, target])
        return target
    }

    /// The machine ids of the bundled hosts, in manifest order.
    func hostFiles() throws -> [String] {
        try (json("manifest.json")["hosts"]?.arrayValue ?? []).compactMap { $0["file"]?.stringValue }
    }

    func hostKey(_ i: Int) throws -> PrivateKey {
        let digits = String(i)
        return try PrivateKey.load(dir + "/host-keys/host-" + String(repeating: "0", count: 5 - digits.count) + digits + ".pem")
    }
}

/// Rewrites a bundle's manifest after `edit`, with every listed file re-hashed from disk, and signs
/// it with `key` (the bundler's own by default): a dishonest bundler, whom only recomputation catches.
func resign(_ bundle: String, key: PrivateKey, rehash: Bool = true, _ edit: (inout JSONObject) -> Void = { _ in }) throws {
    var manifest = try JSON.parse(try LocalFile.read(bundle + "/manifest.json", limit: 64 << 20)).objectValue ?? [:]
    if rehash {
        manifest["files"] = .array(
            try (manifest["files"]?.arrayValue ?? []).map { entry in
                guard let path = entry["path"]?.stringValue, access(bundle + "/" + path, F_OK) == 0, !path.contains("..") else {
                    return entry
                }
                let bytes = try LocalFile.read(bundle + "/" + path, limit: 64 << 20)
                return ["path": .string(path), "sha256": .string(try OpenSSLDigest.sha256Hex(bytes)), "size": .int(bytes.count)]
            })
    }
    edit(&manifest)
    let bytes = JSON.object(manifest).prettySerialized()
    try LocalFile.write(bytes, to: bundle + "/manifest.json")
    let envelope = try Envelope.sign(payload: bytes, payloadType: "application/vnd.warden.manifest+json", with: key)
    try LocalFile.write(envelope.encoded(), to: bundle + "/manifest.dsse.json")
}

/// Changes one value inside a list of objects in a JSON object (`hosts[i].key = value`).
func setting(_ json: JSON, list: String, index: Int, path: [String], to value: JSON) -> JSON {
    guard var o = json.objectValue, var items = o[list]?.arrayValue else { return json }
    func set(_ j: JSON, _ p: ArraySlice<String>) -> JSON {
        guard let key = p.first, var obj = j.objectValue else { return value }
        obj[key] = set(obj[key] ?? .null, p.dropFirst())
        return .object(obj)
    }
    items[index] = set(items[index], path[...])
    o[list] = .array(items)
    return .object(o)
}

func flipByte(_ path: String, at offset: (Int) -> Int) throws {
    var bytes = try LocalFile.read(path, limit: 64 << 20)
    bytes[offset(bytes.count)] ^= 0x01
    try LocalFile.write(bytes, to: path)
}

@Suite struct BundleCLITests {
    @Test func aFleetIsBundledAndVerifies() throws {
        let fleet = try Fleet()
        #expect(fleet.made.status == 1, "some hosts do not conform: \(fleet.made.stdout)")
        #expect(fleet.made.stdout.hasPrefix("\(fleet.bundle): 6 hosts bundled (SL3 "), "\(fleet.made.stdout)")
        let manifest = try fleet.json("manifest.json")
        #expect(manifest["schema"] == "warden.bundle/v1")
        #expect(manifest["created_at"] == .string(Fleet.now))
        #expect(manifest["max_age"] == "7d")
        // files[] is exactly what is on disk besides the two manifest files.
        let listed = Set((manifest["files"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue })
        let onDisk = Set(BundleFiles.walk(fleet.bundle).map(\.path)).subtracting(["manifest.json", "manifest.dsse.json"])
        #expect(listed == onDisk)
        for name in ["summary.json", "report.md", "report.html", "inventory.yaml"] { #expect(listed.contains(name)) }
        #expect(try fleet.hostFiles().count == 6)
        // Host envelopes are kept byte for byte.
        for file in try fleet.hostFiles() {
            let bytes = try LocalFile.read(fleet.bundle + "/" + file)
            let statement = try JSON.parse(try Envelope.decode(bytes, file: file).payload)
            let machineID = try #require(statement["predicate"]?["host"]?["machine_id"]?.stringValue)
            #expect(file == "findings/\(machineID).dsse.json")
            let source = BundleFiles.list(fleet.dir + "/findings").map { fleet.dir + "/findings/" + $0 }
            #expect(try source.contains { try LocalFile.read($0) == bytes })
        }
        let summary = try fleet.json("summary.json")
        #expect(summary["schema"] == "warden.bundle-summary/v1")
        #expect(summary["counts"]?["bundled"] == 6)
        #expect(summary["counts"]?["inventory"] == 6)
        // host-conformant (template 0) conforms to both; host-debian-default (template 3) to neither.
        let hosts = summary["hosts"]?.arrayValue ?? []
        #expect(hosts.first { $0["name"] == "weights-00000" }?["results"]?["sl4"]?["conformant"] == true)
        #expect(hosts.first { $0["name"] == "weights-00003" }?["results"]?["sl3"]?["verdict"] == "nonconformant")
        #expect(hosts.first { $0["name"] == "weights-00001" }?["results"]?["sl3"]?["not_passed"]?["ACC-001"] == "fail")

        let verified = fleet.verify()
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.hasPrefix("\(fleet.bundle): valid bundle: 6 hosts (SL3 "), "\(verified.stdout)")
        #expect(verified.stdout.contains("valid until 2026-12-06T12:00:00Z"))
        // The reviewer's inventory may be the very file the bundle carries (read once, then).
        let same = fleet.verify(nil, ["--inventory", fleet.dir + "/inventory.yaml"])
        #expect(same.status == 0 && same.stdout == verified.stdout, "\(same.stdout)\(same.stderr)")
    }

    @Test func bundlesAreDeterministicAndReportsReRenderExactly() throws {
        let fleet = try Fleet(count: 5)
        let again = fleet.tree.path + "/again"
        let second = warden([
            "bundle", fleet.dir + "/findings", "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem", "--now", Fleet.now,
            "--inventory", fleet.dir + "/inventory.yaml", "--output", again,
        ])
        #expect(second.status == fleet.made.status)
        for entry in BundleFiles.walk(fleet.bundle) {
            #expect(
                try LocalFile.read(fleet.bundle + "/" + entry.path, limit: 64 << 20)
                    == LocalFile.read(again + "/" + entry.path, limit: 64 << 20), "\(entry.path)")
        }
        // `warden report` recomputes the same report the bundle ships.
        for (format, file) in [("md", "report.md"), ("html", "report.html")] {
            let r = warden(["report", fleet.bundle, "--format", format, "--trust", fleet.trust, "--now", Fleet.later])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == (try LocalFile.readText(fleet.bundle + "/" + file, limit: 64 << 20)))
        }
    }

    @Test func theReportsSayTheVerdictFirstAndAreSelfContained() throws {
        let fleet = try Fleet(count: 6, options: ["--missing-every", "6"])
        let md = try LocalFile.readText(fleet.bundle + "/report.md")
        let sections = md.split(separator: "\n").filter { $0.hasPrefix("## ") }
        #expect(sections.first == "## Verdict", "\(sections)")
        #expect(md.contains(" of 6 inventory hosts conform to SL3"))
        #expect(md.contains("1 inventory host missing (no accepted findings)"))
        #expect(md.contains("| II.7.3(4) → A4.2(3) |"), "the third-draft item that became Appendix 4.2(3)")
        #expect(
            md.contains(
                "| A4.4(1) | background checks |  | SL3 and SL4 manual (organisational: collect the background-check policy and records for everyone with access) |"
            ),
            "organisational items are manual")
        let encryption = try #require(md.split(separator: "\n").first { $0.hasPrefix("| A4.2(3) |") })
        for id in ["ENC-001", "ENC-002", "ENC-003", "ENC-004"] { #expect(encryption.contains(id), "\(encryption)") }
        #expect(md.contains("### ACC-001 "), "a failing control with its evidence")
        #expect(md.contains("**Remediation:**"))

        let html = try LocalFile.readText(fleet.bundle + "/report.html")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for forbidden in ["<script", "src=", "href=", "@import", "url("] {
            #expect(!html.contains(forbidden), "self-contained: \(forbidden)")
        }
        #expect(html.contains("@media print"))
        #expect(html.contains("class=\"verdict\""))
        #expect(html.firstRange(of: "class=\"verdict")!.lowerBound < html.firstRange(of: "<h2>Hosts</h2>")!.lowerBound)
        #expect(html.contains("<table class=\"matrix\">"))
        #expect(html.contains("class=\"bar\""))
        #expect(html.contains("<span class=\"tag s-manual\">manual</span>"))
    }

    /// The Code mapping's verdict per item and profile: met only when every verdict control
    /// citing it passed or did not apply on every inventory host; a fail is not met; an error,
    /// a control not checked or a missing host undetermined; organisational items manual with
    /// what to collect; II.7.8 judged against SL4 alone; every control citing a measure in a row.
    @Test func codeOfPracticeItemsAreJudgedByTheRule() throws {
        func row(_ md: String, _ prefix: String) throws -> String {
            try #require(md.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init), "no row \(prefix)")
        }
        let one = try Fleet(count: 1)
        let good = try LocalFile.readText(one.bundle + "/report.md")
        let encrypted = try row(good, "| A4.2(3) |")
        #expect(
            encrypted.hasSuffix("| SL3 and SL4 met (ENC-001, ENC-002, ENC-003, ENC-004, ENC-007 pass or do not apply on all hosts (1)) |"),
            "\(encrypted)")
        let sl4Item = try row(good, "| II.7.8 |")
        #expect(sl4Item.hasSuffix("| SL4 met (all hosts (1) conform to SL4) |"), "\(sl4Item)")
        #expect(
            try row(good, "| A4.4(1) |").hasSuffix(
                "| SL3 and SL4 manual (organisational: collect the background-check policy and records for everyone with access) |"))
        let edr = try row(good, "| A4.5(6) |")
        #expect(
            edr.contains("| LOG-006, LOG-007, INT-005 | SL3 and SL4 manual (organisational: collect the inventory of EDR and IDS coverage"),
            "\(edr)"
        )

        let fleet = try Fleet(count: 6, options: ["--missing-every", "6"])
        let md = try LocalFile.readText(fleet.bundle + "/report.md")
        let whole = try row(md, "| II.7.8 |")
        #expect(whole.hasSuffix("| SL4 not met (3 of 6 hosts do not conform to SL4) |"), "\(whole)")
        let encryption = try row(md, "| A4.2(3) |")
        #expect(encryption.contains("SL3 and SL4 undetermined (error: ENC-001 on 1 host"), "\(encryption)")
        #expect(encryption.hasSuffix("; 1 inventory host missing, 1 stale) |"), "\(encryption)")
        let interfaces = try row(md, "| A4.3(3) |")
        #expect(interfaces.contains("SL3 and SL4 not met (fail: ACC-010 on 1 host; 1 inventory host missing, 1 stale)"), "\(interfaces)")
        // Every control citing a measure is in one of its rows.
        for section in md.split(separator: "### Measure ").dropFirst() {
            let lines = section.split(separator: "\n")
            guard let citing = lines.first(where: { $0.hasPrefix("Controls citing it: ") }) else { continue }
            let ids = citing.dropFirst("Controls citing it: ".count).dropLast().split(separator: ", ").map(String.init)
            let inRows = lines.filter { $0.hasPrefix("| II.7") }.map { $0.split(separator: "|", omittingEmptySubsequences: false)[3] }
                .joined()
            for id in ids { #expect(inRows.contains(id), "\(id) cites measure \(lines[0]) but is in none of its rows") }
        }
        #expect(!md.contains("Failing controls"))
        #expect(md.contains("Keeps hosts from conforming: under SL3: "))
        // The RAND coverage statement, with the counts `warden profiles coverage` gives.
        for profile in ["sl3", "sl4"] {
            let coverage = try JSON.parse(warden(["profiles", "coverage", "--profile", profile, "--format", "json"]).stdout)
            let counts = try #require(coverage["counts"])
            let level = profile.uppercased()
            let statement = try row(md, "\(level): of RAND's ")
            for status in ["implemented", "supported", "organisational"] {
                #expect(statement.contains("\(counts[status]?.intValue ?? -1) \(status)"), "\(statement)")
            }
            #expect(statement.contains("\(counts["not_covered"]?.intValue ?? -1) not covered"), "\(statement)")
            #expect(
                statement.hasSuffix("A host conforming to \(level) shows the host-checkable part of RAND \(level), not \(level) itself."))
        }
    }

    /// Missing, unknown, stale and wrong-key hosts are each listed in the bundler's output, the
    /// summary and the report; the bundle that says so honestly still verifies.
    @Test func inventoryCasesAreReported() throws {
        let fleet = try Fleet(count: 7, options: ["--missing-every", "5", "--wrong-key", "--unknown"])
        let out = fleet.made.stdout
        #expect(fleet.made.status == 1)
        #expect(out.contains("missing: weights-00004 ("), "\(out)")
        #expect(out.contains("missing: weights-00001 ("), "wrong-key host 1 has no accepted findings: \(out)")
        #expect(out.contains("stale: weights-00002 ("), "template 2 was audited ten days earlier: \(out)")
        #expect(out.contains("rejected (wrong_key): \(fleet.dir)/findings/host-00001.dsse.json: signed by trusted key "), "\(out)")
        #expect(out.contains("rejected (unknown): \(fleet.dir)/findings/host-00007.dsse.json: machine id "), "\(out)")
        let summary = try fleet.json("summary.json")
        #expect(summary["counts"]?["missing"] == 2)
        #expect(summary["counts"]?["unknown"] == 1)
        #expect(summary["counts"]?["wrong_key"] == 1)
        #expect(summary["counts"]?["stale"] == 1)
        #expect(summary["missing"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["weights-00001", "weights-00004"])
        #expect(summary["stale"]?[0]?["name"] == "weights-00002")
        #expect(summary["rejected"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }.sorted() == ["unknown", "wrong_key"])
        let md = try LocalFile.readText(fleet.bundle + "/report.md")
        #expect(md.contains("2 inventory hosts missing"))
        #expect(md.contains("1 host stale"))
        #expect(md.contains("1 input signed by a key other than the inventory's"))
        #expect(md.contains("1 input from hosts not in the inventory"))
        let verified = fleet.verify()
        #expect(verified.status == 0, "an honest bundle about a bad fleet is valid: \(verified.stdout)")
        #expect(verified.stdout.contains("2 missing, 1 stale, 2 rejected"))
    }

    @Test func aCleanFleetExitsZero() throws {
        // Template 0 only: the hardened host, fresh, in the inventory.
        let tree = TempTree()
        let fleet = try Fleet(count: 5)
        let inventory = try LocalFile.readText(fleet.dir + "/inventory.yaml").components(hostsOnly: ["weights-00000"])
        let inventoryPath = tree.file("inventory.yaml", inventory)
        let r = warden([
            "bundle", fleet.dir + "/findings/host-00000.dsse.json", "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem",
            "--inventory", inventoryPath, "--now", Fleet.now, "--output", tree.path + "/b",
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try JSON.parse(try LocalFile.read(tree.path + "/b/summary.json"))["complete_and_conformant"] == true)
        #expect(
            try LocalFile.readText(tree.path + "/b/report.md").contains("Every inventory host is present, fresh, verified and conformant."))
    }

    @Test func withoutAnInventoryCoverageIsNotEstablished() throws {
        let fleet = try Fleet(count: 3, inventory: false)
        #expect(fleet.made.status == 1)
        #expect(fleet.made.stdout.contains("no inventory: coverage of the hosts that store weights is not established"))
        #expect(try fleet.json("manifest.json")["inventory"] == .null)
        let verified = fleet.verify()
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(
            verified.stdout.contains("note: no inventory in the bundle and none given (--inventory): host-to-key bindings were not checked")
        )
        // The reviewer's inventory binds the keys.
        #expect(fleet.verify(nil, ["--inventory", fleet.dir + "/inventory.yaml"]).status == 0)
    }

    @Test func aHostGivenTwiceKeepsItsNewerEnvelopeWhicheverComesFirst() throws {
        // Host 1 also audited a day earlier, and signed that run with a key it has since replaced
        // (trusted too; no inventory binds it). The older envelope is superseded and its key,
        // which no kept envelope uses, is not in the bundle, whichever input the bundler reads first.
        let fleet = try Fleet(count: 3, inventory: false)
        let newer = fleet.dir + "/findings/host-00001.dsse.json"
        let e = try Envelope.decode(try LocalFile.read(newer), file: newer)
        var findings = try #require(try JSON.parse(e.payload)["predicate"]?.objectValue)
        let finished = try #require(findings["finished_at"]?.stringValue)
        findings["finished_at"] = .string(Timestamp(seconds: try #require(Timestamp(rfc3339: finished)).seconds - 86_400).description)
        let oldKey = try PrivateKey.generate(.ed25519)
        let older = fleet.tree.file("older.dsse.json", "")
        try LocalFile.write(try FindingsStatement.envelope(findings: .object(findings), key: oldKey).encoded(), to: older)
        let trust = fleet.tree.file("trust.pem", try LocalFile.readText(fleet.trust) + oldKey.publicKey.pem)
        let machineID = try #require(try JSON.parse(e.payload)["predicate"]?["host"]?["machine_id"]?.stringValue)

        var bundles: [String] = []
        for (name, inputs) in [("older-first", [older, fleet.dir + "/findings"]), ("newer-first", [fleet.dir + "/findings", older])] {
            let out = fleet.tree.path + "/" + name
            let r = warden(
                ["bundle"] + inputs + ["--trust", trust, "--key", fleet.dir + "/bundler.pem", "--now", Fleet.now, "--output", out])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("3 hosts bundled"), "\(r.stdout)")
            #expect(r.stdout.contains("superseded: \(older): a newer envelope of \(machineID) was kept"), "\(r.stdout)")
            #expect(try LocalFile.read(out + "/findings/\(machineID).dsse.json") == (try LocalFile.read(newer)))
            #expect(BundleFiles.list(out + "/findings").count == 3, "no staged copy is left: \(BundleFiles.list(out + "/findings"))")
            #expect(!BundleFiles.list(out + "/keys").contains(oldKey.publicKey.keyID + ".pem"))
            #expect(BundleFiles.list(out + "/keys").count == 4, "three hosts' keys and the bundler's")
            let verified = warden(["verify", out, "--trust", trust, "--now", Fleet.later])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            bundles.append(out)
        }
        // The same bundle either way (the inputs are named the same, only their order differs).
        for file in BundleFiles.walk(bundles[0]) {
            #expect(try LocalFile.read(bundles[0] + "/" + file.path) == (try LocalFile.read(bundles[1] + "/" + file.path)), "\(file.path)")
        }
    }

    @Test func bundleRefusesWhatItCannotWriteTruthfully() throws {
        let fleet = try Fleet(count: 2)
        let base = [
            "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem", "--now", Fleet.now, "--inventory", fleet.dir + "/inventory.yaml",
        ]
        let exists = warden(["bundle", fleet.dir + "/findings"] + base + ["--output", fleet.bundle])
        #expect(exists.status == 64 && exists.stderr.contains("--output: already exists and is not an empty directory"), "\(exists.stderr)")
        let hostKey = warden([
            "bundle", fleet.dir + "/findings", "--trust", fleet.trust, "--key", fleet.dir + "/host-keys/host-00000.pem",
            "--inventory", fleet.dir + "/inventory.yaml", "--output", fleet.tree.path + "/x",
        ])
        #expect(hostKey.status == 65 && hostKey.stderr.contains("--key: the bundler's key"), "\(hostKey.stderr)")
        #expect(access(fleet.tree.path + "/x", F_OK) != 0, "nothing written")
        let absent = warden(["bundle", fleet.dir + "/nothing-*.json"] + base + ["--output", fleet.tree.path + "/y"])
        #expect(absent.status == 66, "\(absent.stderr)")
        let glob = warden(["bundle", fleet.dir + "/findings/host-*.json"] + base + ["--output", fleet.tree.path + "/z"])
        #expect(glob.status == 1 && glob.stdout.contains("2 hosts bundled"), "\(glob.stdout)\(glob.stderr)")
        // A rejected input is listed, never dropped: a junk file and an untrusted envelope.
        let junk = fleet.tree.file("junk.json", "{}")
        let other = try Fleet(count: 1)
        let mixed = warden(
            ["bundle", fleet.dir + "/findings", junk, other.dir + "/findings/host-00000.dsse.json"] + base + [
                "--output", fleet.tree.path + "/w",
            ])
        #expect(mixed.status == 1)
        #expect(mixed.stdout.contains("rejected (malformed): \(junk): "), "\(mixed.stdout)")
        #expect(
            mixed.stdout.contains("rejected (unverified): \(other.dir)/findings/host-00000.dsse.json: signatures[0].keyid: "),
            "\(mixed.stdout)")
    }

    @Test func theValidityPeriodIsJudgedAtNow() throws {
        let fleet = try Fleet(count: 2)
        let expired = warden(["verify", fleet.bundle, "--trust", fleet.trust, "--now", "2026-12-07T12:00:00Z"])
        #expect(expired.status == 1)
        #expect(
            expired.stdout.contains(
                "\(fleet.bundle)/manifest.json: created_at: the bundle expired at 2026-12-06T12:00:00Z (created 2026-11-29T12:00:00Z, its max_age 7d)"
            ), "\(expired.stdout)")
        let shorter = fleet.verify(nil, ["--max-age", "12h"])
        #expect(shorter.status == 1 && shorter.stdout.contains("--max-age 12h"), "\(shorter.stdout)")
        let early = warden(["verify", fleet.bundle, "--trust", fleet.trust, "--now", "2026-11-29T11:00:00Z"])
        #expect(
            early.status == 1 && early.stdout.contains("manifest.json: created_at: 2026-11-29T12:00:00Z is in the future"),
            "\(early.stdout)")
        let archived = warden(["verify", fleet.bundle, "--trust", fleet.trust, "--now", "2026-12-06T12:00:00Z"])
        #expect(archived.status == 0, "an archived bundle checked at the time it was relied on: \(archived.stdout)")
    }

    @Test func theReviewersInventoryTakesPrecedence() throws {
        let fleet = try Fleet(count: 3)
        let tree = TempTree()
        let original = try LocalFile.readText(fleet.dir + "/inventory.yaml")
        let extra =
            original
            + "  - name: not-bundled\n    machine_id: 0123456789abcdef0123456789abcdef\n    keyid: \(String(repeating: "ab", count: 32))\n    role: storage\n"
        let mine = tree.file("mine.yaml", extra)
        let r = fleet.verify(nil, ["--inventory", mine])
        #expect(r.status == 1)
        #expect(
            r.stdout.contains(
                "\(mine): hosts: not-bundled (machine id 0123456789abcdef0123456789abcdef) has no findings in the bundle, and the bundle does not list it as missing"
            ), "\(r.stdout)")
        // A reviewer who binds host 0 to another key.
        let otherKey = try fleet.hostKey(1).keyID
        let hostZero = try fleet.hostKey(0).keyID
        let rebound = tree.file("rebound.yaml", original.replacingFirst(hostZero, with: otherKey))
        let bound = fleet.verify(nil, ["--inventory", rebound])
        #expect(bound.status == 1)
        #expect(
            bound.stdout.contains(
                ": signatures[0].keyid: signed by trusted key \(hostZero), but \(rebound) binds weights-00000 to key \(otherKey)"),
            "\(bound.stdout)")
    }

    /// Tampering of every kind is detected, and the message names the file.
    @Test func theTamperMatrix() throws {
        let fleet = try Fleet(count: 4)
        let files = try fleet.hostFiles()
        let bundlerKey = try PrivateKey.load(fleet.dir + "/bundler.pem")
        let summary = try fleet.json("summary.json")
        let manifest = try fleet.json("manifest.json")
        func machineID(_ file: String) -> String { String(file.dropFirst("findings/".count).dropLast(".dsse.json".count)) }
        func keyIndex(_ file: String) throws -> Int {
            let name = try #require((summary["hosts"]?.arrayValue ?? []).first { $0["file"] == .string(file) }?["name"]?.stringValue)
            return Int(name.dropFirst("weights-".count)) ?? -1
        }
        let a = files[0]
        let b = files[1]
        let hostIndexOfB = try keyIndex(b)
        let nonconformant = try #require((manifest["hosts"]?.arrayValue ?? []).firstIndex { $0["conformant"]?["sl3"] == false })
        let summaryIndex = try #require((summary["hosts"]?.arrayValue ?? []).firstIndex { $0["results"]?["sl3"]?["conformant"] == false })

        // The manifest re-signed with one more path listed (a dishonest bundler).
        func listing(_ path: String) -> (String) throws -> Void {
            { dir in
                try resign(dir, key: bundlerKey) { m in
                    m["files"] = .array(
                        (m["files"]?.arrayValue ?? []) + [
                            ["path": .string(path), "sha256": .string(String(repeating: "0", count: 64)), "size": 0]
                        ])
                }
            }
        }
        let cases: [(name: String, file: String, message: String, mutate: (String) throws -> Void)] = [
            (
                "flipped byte in a host payload", a, "SHA-256",
                { dir in
                    var e = try Envelope.decode(try LocalFile.read(dir + "/" + a), file: a)
                    e.payload[200] ^= 0x01
                    try LocalFile.write(e.encoded(), to: dir + "/" + a)
                }
            ),
            (
                "flipped byte in a host signature", a, "signatures[0].sig: does not verify",
                { dir in
                    var e = try Envelope.decode(try LocalFile.read(dir + "/" + a), file: a)
                    e.signatures[0].sig[5] ^= 0x01
                    try LocalFile.write(e.encoded(), to: dir + "/" + a)
                }
            ),
            (
                "flipped byte in the manifest", "manifest.json", "differs from the payload signed in manifest.dsse.json",
                { dir in
                    try flipByte(dir + "/manifest.json") { $0 / 2 }
                }
            ),
            (
                "flipped byte in the manifest signature", "manifest.dsse.json", "signatures[0].sig: does not verify",
                { dir in
                    var e = try Envelope.decode(try LocalFile.read(dir + "/manifest.dsse.json"), file: "m")
                    e.signatures[0].sig[0] ^= 0x01
                    try LocalFile.write(e.encoded(), to: dir + "/manifest.dsse.json")
                }
            ),
            ("flipped byte in the summary", "summary.json", "SHA-256", { dir in try flipByte(dir + "/summary.json") { $0 / 3 } }),
            ("flipped byte in the HTML report", "report.html", "SHA-256", { dir in try flipByte(dir + "/report.html") { $0 / 2 } }),
            ("flipped byte in the Markdown report", "report.md", "SHA-256", { dir in try flipByte(dir + "/report.md") { $0 - 10 } }),
            ("a host envelope removed", b, "listed in manifest.json but missing from the bundle", { dir in unlink(dir + "/" + b) }),
            (
                "a file added", "findings/notes.txt", "not listed in manifest.json: a file was added",
                { dir in
                    try LocalFile.write(Array("hello\n".utf8), to: dir + "/findings/notes.txt")
                }
            ),
            (
                "two hosts' envelopes swapped", a, "envelopes swapped or renamed",
                { dir in
                    _ = run("/bin/mv", [dir + "/" + a, dir + "/swap"])
                    _ = run("/bin/mv", [dir + "/" + b, dir + "/" + a])
                    _ = run("/bin/mv", [dir + "/swap", dir + "/" + b])
                }
            ),
            (
                "a host envelope replaced by an older valid one", b, "SHA-256",
                { dir in
                    let e = try Envelope.decode(try LocalFile.read(dir + "/" + b), file: b)
                    var findings = try #require(try JSON.parse(e.payload)["predicate"]?.objectValue)
                    findings["finished_at"] = "2026-11-28T12:00:00Z"
                    let older = try FindingsStatement.envelope(findings: .object(findings), key: try fleet.hostKey(hostIndexOfB))
                    try LocalFile.write(older.encoded(), to: dir + "/" + b)
                }
            ),
            (
                "the manifest re-signed by an untrusted key", "manifest.dsse.json", "signatures[0].keyid",
                { dir in
                    try resign(dir, key: try PrivateKey.generate(.ed25519))
                }
            ),
            (
                "the manifest signed by a host's trusted key", "manifest.dsse.json", "the key that signs a bundle must vouch for no host",
                { dir in
                    try resign(dir, key: try fleet.hostKey(0))
                }
            ),
            (
                "a second signature on the manifest", "manifest.dsse.json", "expected exactly one signature, found 2",
                { dir in
                    var e = try Envelope.decode(try LocalFile.read(dir + "/manifest.dsse.json"), file: "m")
                    e.signatures.append(e.signatures[0])
                    try LocalFile.write(e.encoded(), to: dir + "/manifest.dsse.json")
                }
            ),
            (
                "a host envelope signed by another host's trusted key (manifest re-signed by the bundler)", b,
                "signatures[0].keyid: signed by trusted key",
                { dir in
                    let e = try Envelope.decode(try LocalFile.read(dir + "/" + b), file: b)
                    let findings = try #require(try JSON.parse(e.payload)["predicate"])
                    let forged = try FindingsStatement.envelope(findings: findings, key: try fleet.hostKey(try keyIndex(a)))
                    try LocalFile.write(forged.encoded(), to: dir + "/" + b)
                    try resign(dir, key: bundlerKey)
                }
            ),
            (
                "a symbolic link", "report.md", "a symbolic link",
                { dir in
                    _ = run("/bin/cp", [dir + "/report.md", dir + "/../report-copy.md"])
                    unlink(dir + "/report.md")
                    symlink(dir + "/../report-copy.md", dir + "/report.md")
                }
            ),
            ("a ../ path in the manifest", "manifest.json", "'../outside.txt': leaves the bundle", listing("../outside.txt")),
            ("an absolute path in the manifest", "manifest.json", "an absolute path", listing("/etc/passwd")),
            (
                "a path with an empty component in the manifest", "manifest.json", "'keys//x.pem': not a normalised path",
                listing("keys//x.pem")
            ),
            (
                "a path with a '.' component in the manifest", "manifest.json", "'./report.md': not a normalised path",
                listing("./report.md")
            ),
            (
                "a truncated host envelope", a, "size",
                { dir in
                    let bytes = try LocalFile.read(dir + "/" + a)
                    try LocalFile.write(Array(bytes.prefix(bytes.count / 2)), to: dir + "/" + a)
                }
            ),
            (
                "summary.json lies about a host (manifest re-signed)", "summary.json",
                "hosts[\(summaryIndex)].results.sl3.conformant: the bundle says true, recomputed from the verified findings: false",
                { dir in
                    let s = try JSON.parse(try LocalFile.read(dir + "/summary.json", limit: 64 << 20))
                    try LocalFile.write(
                        setting(s, list: "hosts", index: summaryIndex, path: ["results", "sl3", "conformant"], to: true).prettySerialized(),
                        to: dir + "/summary.json")
                    try resign(dir, key: bundlerKey)
                }
            ),
            (
                "hosts[] lies in the manifest (re-signed)", "manifest.json", "hosts[\(nonconformant)].conformant.sl3: the bundle says true",
                { dir in
                    try resign(dir, key: bundlerKey) { m in
                        m =
                            setting(.object(m), list: "hosts", index: nonconformant, path: ["conformant", "sl3"], to: true).objectValue ?? m
                    }
                }
            ),
            (
                "the report edited (manifest re-signed)", "report.md", "differs from the report rendered from the verified findings",
                { dir in
                    let text = try LocalFile.readText(dir + "/report.md")
                    try LocalFile.write(
                        Array(text.replacingFirst("## Verdict", with: "## Verdict (all good)").utf8), to: dir + "/report.md")
                    try resign(dir, key: bundlerKey)
                }
            ),
            (
                "a key file removed", "keys/", "listed in manifest.json but missing from the bundle",
                { dir in
                    let key = try #require(BundleFiles.list(dir + "/keys").first)
                    unlink(dir + "/keys/" + key)
                }
            ),
            (
                "an envelope renamed to another machine id (re-signed)", "findings/00000000000000000000000000000000.dsse.json",
                "the envelope is for machine id \(machineID(a))",
                { dir in
                    _ = run("/bin/mv", [dir + "/" + a, dir + "/findings/00000000000000000000000000000000.dsse.json"])
                    try resign(dir, key: bundlerKey) { m in
                        m["files"] = .array(
                            (m["files"]?.arrayValue ?? []).map { f in
                                f["path"] == .string(a)
                                    ? [
                                        "path": "findings/00000000000000000000000000000000.dsse.json", "sha256": f["sha256"]!,
                                        "size": f["size"]!,
                                    ] : f
                            })
                    }
                }
            ),
        ]
        #expect(Set(cases.map(\.name)).count >= 15)
        for (n, c) in cases.enumerated() {
            let dir = fleet.copy("tampered-\(n)")
            try c.mutate(dir)
            let r = fleet.verify(dir)
            #expect(r.status == 1, "\(c.name): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.hasPrefix("\(dir): FAILED: "), "\(c.name): \(r.stdout)")
            let named = r.stdout.split(separator: "\n").filter { $0.hasPrefix("\(dir)/\(c.file)") }
            #expect(
                named.contains { $0.contains(c.message) }, "\(c.name): expected a line naming \(c.file) with '\(c.message)':\n\(r.stdout)")
        }
    }

    /// A bundler key missing from --trust is reported as untrusted, and its key file in keys/ is
    /// not called a key that signed nothing.
    @Test func anUntrustedBundlerIsNamedAsSuch() throws {
        let fleet = try Fleet(count: 2)
        let shown = warden(["key", "show", "--key", fleet.dir + "/bundler.pem"]).stdout
        let bundler = String(try #require(shown.split(separator: "-----BEGIN", maxSplits: 1).last))
        let all = try LocalFile.readText(fleet.trust)
        try #require(all.contains(bundler))
        let hostsOnly = fleet.tree.file("hosts-only.pem", all.replacingFirst("-----BEGIN" + bundler, with: ""))
        let r = warden(["verify", fleet.bundle, "--trust", hostsOnly, "--now", Fleet.later])
        #expect(r.status == 1)
        #expect(r.stdout.contains("manifest.dsse.json: signatures[0].keyid: "), "\(r.stdout)")
        #expect(r.stdout.contains("not a trusted key"), "\(r.stdout)")
        #expect(!r.stdout.contains("signed neither"), "\(r.stdout)")
    }

    @Test func reportRendersOneEnvelope() throws {
        let fleet = try Fleet(count: 1)
        let envelope = fleet.dir + "/findings/host-00000.dsse.json"
        let md = warden(["report", envelope, "--now", Fleet.now, "--trust", fleet.trust])
        #expect(md.status == 0, "\(md.stderr)")
        #expect(md.stdout.hasPrefix("# Evidence for Commitment II.7 / Appendix 4: 1 host\n"))
        #expect(md.stdout.contains("No inventory: there is no registry"))
        // It says what it is made from: one envelope, not a bundle with a validity period.
        #expect(md.stdout.contains("One host's signed findings (\(envelope)), not an evidence bundle: no inventory"), "\(md.stdout)")
        #expect(!md.stdout.contains("valid until"))
        let html = warden([
            "report", envelope, "--format", "html", "--now", Fleet.now, "--output", fleet.tree.path + "/r.html", "--trust", fleet.trust,
        ])
        #expect(html.status == 0, "\(html.stderr)")
        #expect(try LocalFile.readText(fleet.tree.path + "/r.html").contains("weights-00000"))
        #expect(warden(["report", fleet.tree.path + "/absent.json"]).status == 66)
        #expect(warden(["report", fleet.tree.file("junk.json", "[]")]).status == 65)
        // A bundle is verified against its bundler's key: without --trust it is refused.
        let refused = warden(["report", fleet.bundle])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("give --trust, or --unverified"), "\(refused.stderr)")
        let tampered = fleet.copy("tampered")
        fleet.tree.file("tampered/report.md", "# edited\n")
        let failed = warden(["report", tampered, "--trust", fleet.trust, "--now", Fleet.later])
        #expect(failed.status == 65)
        #expect(failed.stderr.contains("\(tampered)/report.md: error: "), "\(failed.stderr)")
        #expect(failed.stderr.contains("verification failed"), "\(failed.stderr)")
        #expect(warden(["verify", fleet.tree.directory("empty"), "--trust", fleet.trust]).status == 65)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        replacing(target, with: replacement, maxReplacements: 1)
    }

    /// An inventory's text with only the named hosts.
    func components(hostsOnly names: Set<String>) -> String {
        var out = "hosts:\n"
        var keep = false
        for line in split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
            if line.hasPrefix("  - name: ") { keep = names.contains(String(line.dropFirst(10))) }
            if keep && !line.isEmpty { out += line + "\n" }
        }
        return out
    }
}
