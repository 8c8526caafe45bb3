import LocalFiles
import Testing
import WardenFormats
import WardenTestSupport

/// `warden report --format oscal`: an OSCAL 1.2.1 assessment-results document that two
/// independent validators accept (compliance-trestle's models and NIST's JSON schema through
/// check-jsonschema, both in .build-venv from Scripts/python-tools), with the same bytes for the
/// same bundle and contents that agree with the bundle's verified summary.
@Suite(.serialized) struct OSCALTests {
    static let venv = Package.root + "/.build-venv/bin/"
    static let schema = Package.root + "/Tests/Tools/oscal/oscal_assessment-results_schema.json"
    /// Tests/Tools/oscal/README.md: NIST's 1.2.1 release file.
    static let schemaSHA256 = "d8faf5a7510d66c911c5f88e6875d52e7e8223fb58b2283f1f095366369296f9"

    func oscal(_ fleet: Fleet, _ name: String = "ar.json", _ extra: [String] = []) throws -> (path: String, json: JSON) {
        let path = fleet.tree.path + "/" + name
        let r = warden(
            ["report", fleet.bundle, "--format", "oscal", "--trust", fleet.trust, "--now", Fleet.later, "--output", path] + extra)
        try #require(r.status == 0, "\(r.stderr)")
        return (path, try JSON.parse(try LocalFile.read(path, limit: 64 << 20)))
    }

    /// (check-jsonschema's exit status, trestle's exit status) for `path`.
    func validate(_ path: String) throws -> (schema: Int32, trestle: Int32, output: String) {
        #expect(sha256Hex(try LocalFile.read(Self.schema, limit: 1 << 20)) == Self.schemaSHA256, "the vendored schema changed")
        let schema = run(Self.venv + "check-jsonschema", ["--schemafile", Self.schema, path])
        let trestle = run(
            Self.venv + "python",
            [
                "-c",
                """
                import pathlib, sys
                from trestle.oscal import OSCAL_VERSION
                from trestle.oscal.assessment_results import AssessmentResults
                assert OSCAL_VERSION == "1.2.1", OSCAL_VERSION
                ar = AssessmentResults.oscal_read(pathlib.Path(sys.argv[1]))
                print("read:", len(ar.results), len(ar.results[0].observations or []), len(ar.results[0].findings or []))
                """,
                path,
            ])
        return (schema.status, trestle.status, schema.stdout + schema.stderr + trestle.stdout + trestle.stderr)
    }

    @Test func bothValidatorsAcceptItAndRejectABrokenCopy() throws {
        let fleet = try Fleet(count: 5)
        let (path, json) = try oscal(fleet)
        let checked = try validate(path)
        #expect(checked.schema == 0 && checked.trestle == 0, "\(checked.output)")
        // The validators are live: a UUID that is not version 4 or 5, and a result without its
        // reviewed controls, are refused by both.
        let ar = try #require(json["assessment-results"])
        let result = try #require(ar["results"]?[0])
        // trestle read every observation and finding.
        let counts = "read: 1 \(result["observations"]?.arrayValue?.count ?? -1) \(result["findings"]?.arrayValue?.count ?? -1)\n"
        #expect(checked.output.contains(counts), "\(checked.output)")
        let broken = setting(result, ["uuid"], to: "fc07bde0-631e-1cbe-bf78-c0a98e52795a")
        let badUUID = fleet.tree.file("bad-uuid.json", documentWith(ar, result: broken))
        var unreviewed = result.objectValue ?? [:]
        unreviewed["reviewed-controls"] = .none
        let noControls = fleet.tree.file("no-controls.json", documentWith(ar, result: .object(unreviewed)))
        for bad in [badUUID, noControls] {
            let r = try validate(bad)
            #expect(r.schema != 0 && r.trestle != 0, "\(bad) was accepted: \(r.output)")
        }
    }

    @Test func theSameBundleGivesTheSameBytesAndItsOwnUUIDs() throws {
        let fleet = try Fleet(count: 3)
        let first = try oscal(fleet, "a.json")
        let second = try oscal(fleet, "b.json")
        #expect(try LocalFile.read(first.path, limit: 64 << 20) == LocalFile.read(second.path, limit: 64 << 20))
        let text = try LocalFile.readText(first.path)
        var uuids: [String] = []
        for part in text.split(separator: "\"uuid\": \"").dropFirst() { uuids.append(String(part.prefix(36))) }
        #expect(!uuids.isEmpty)
        // Version 5 (name-based) and unique.
        #expect(uuids.allSatisfy { Array($0)[14] == "5" && "89ab".contains(Array($0)[19]) }, "\(uuids.prefix(3))")
        #expect(Set(uuids).count == uuids.count)
        // Another bundle (other hosts, so another id) gives other UUIDs.
        let other = try Fleet(count: 2)
        let third = try LocalFile.readText(try oscal(other, "c.json").path)
        let root = try #require(first.json["assessment-results"]?["uuid"]?.stringValue)
        #expect(!third.contains(root))
    }

    @Test func itSaysWhatTheVerifiedSummarySays() throws {
        let fleet = try Fleet(count: 4)
        let (_, json) = try oscal(fleet)
        let summary = try fleet.json("summary.json")
        let manifest = try fleet.json("manifest.json")
        let ar = try #require(json["assessment-results"])
        #expect(ar["metadata"]?["oscal-version"] == "1.2.1")
        #expect(ar["metadata"]?["version"] == manifest["id"])
        #expect(ar["metadata"]?["remarks"] == nil)

        // The plan: a back-matter resource naming each profile with its digest.
        let href = try #require(ar["import-ap"]?["href"]?.stringValue)
        let plan = try #require(ar["back-matter"]?["resources"]?.arrayValue?.first { "#" + ($0["uuid"]?.stringValue ?? "") == href })
        let digests = plan["rlinks"]?.arrayValue?.compactMap { $0["hashes"]?[0]?["value"]?.stringValue } ?? []
        #expect(digests == summary["profiles"]?.arrayValue?.compactMap { $0["sha256"]?.stringValue })

        let result = try #require(ar["results"]?[0])
        #expect(ar["results"]?.arrayValue?.count == 1)
        // Reviewed controls: each profile's controls.
        let selections = result["reviewed-controls"]?["control-selections"]?.arrayValue ?? []
        for (i, profile) in (summary["profiles"]?.arrayValue ?? []).enumerated() {
            #expect(
                selections[i]["include-controls"]?.arrayValue?.compactMap { $0["control-id"]?.stringValue }
                    == profile["controls"]?.arrayValue?.compactMap(\.stringValue))
        }

        // An observation per host and control, its statuses those of the summary.
        let hosts = summary["hosts"]?.arrayValue ?? []
        let controls = Set((summary["profiles"]?.arrayValue ?? []).flatMap { $0["controls"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
        let observations = result["observations"]?.arrayValue ?? []
        #expect(observations.count == hosts.count * controls.count)
        let inventory = result["local-definitions"]?["inventory-items"]?.arrayValue ?? []
        var checked = 0
        for host in hosts {
            let machineID = try #require(host["machine_id"]?.stringValue)
            let item = try #require(
                inventory.first {
                    $0["props"]?.arrayValue?.contains { $0["name"] == "machine-id" && $0["value"] == .string(machineID) } == true
                })
            let mine = observations.filter { $0["subjects"]?[0]?["subject-uuid"] == item["uuid"] }
            #expect(mine.count == controls.count)
            for o in mine {
                let props = o["props"]?.arrayValue ?? []
                let control = try #require(props.first { $0["name"] == "control" }?["value"]?.stringValue)
                for status in props where status["name"] == "status" {
                    let profile = try #require(status["class"]?.stringValue)
                    let expected = host["results"]?[profile]?["not_passed"]?[control]?.stringValue ?? "pass"
                    #expect(status["value"]?.stringValue == expected, "\(machineID) \(control) \(profile)")
                    checked += 1
                }
                #expect(o["collected"] == host["finished_at"])
            }
        }
        #expect(checked > hosts.count * controls.count)

        // Findings per control and profile: satisfied exactly when every host passed or did not
        // apply and one passed; the reason says fail when one failed.
        let findings = result["findings"]?.arrayValue ?? []
        for control in summary["controls"]?.arrayValue ?? [] {
            for (profile, tally) in control["results"]?.objectValue ?? [:] {
                let counts = tally["counts"]?.objectValue ?? [:]
                let finding = try #require(
                    findings.first { f in
                        f["target"]?["target-id"] == control["id"]
                            && f["props"]?.arrayValue?.contains { $0["name"] == "profile" && $0["value"] == .string(profile) } == true
                    })
                let others = counts.filter { !["pass", "not_applicable"].contains($0.key) && ($0.value.intValue ?? 0) > 0 }
                let satisfied =
                    others.isEmpty && (counts["pass"]?.intValue ?? 0) > 0 && (summary["missing"]?.arrayValue ?? []).isEmpty
                    && (summary["stale"]?.arrayValue ?? []).isEmpty
                #expect(finding["target"]?["status"]?["state"] == (satisfied ? "satisfied" : "not-satisfied"), "\(control["id"] ?? "")")
                if (counts["fail"]?.intValue ?? 0) > 0 { #expect(finding["target"]?["status"]?["reason"] == "fail") }
                #expect(finding["related-observations"]?.arrayValue?.count == hosts.count)
            }
        }
        // Findings per item of the Code: II.7.8 (conformance to SL4) is judged against SL4 only;
        // organisational items are never satisfied by host evidence.
        func items(_ id: String) -> [JSON] {
            findings.filter { $0["props"]?.arrayValue?.contains { $0["name"] == "code-item" && $0["value"] == .string(id) } == true }
        }
        #expect(items("II.7.8").count == 1)
        #expect(items("II.7.8").first?["props"]?.arrayValue?.contains { $0["name"] == "profile" && $0["value"] == "sl4" } == true)
        let manual = findings.filter { $0["props"]?.arrayValue?.contains { $0["name"] == "verdict" && $0["value"] == "manual" } == true }
        #expect(!manual.isEmpty)
        #expect(manual.allSatisfy { $0["target"]?["status"]?["state"] == "not-satisfied" && $0["target"]?["status"]?["reason"] == "other" })
        // The same verdicts as the Markdown report's Appendix 4 rows.
        let md = try LocalFile.readText(fleet.bundle + "/report.md")
        var compared = 0
        for f in findings {
            guard let props = f["props"]?.arrayValue, let item = props.first(where: { $0["name"] == "code-item" })?["value"]?.stringValue,
                item.hasPrefix("A4."), let verdict = props.first(where: { $0["name"] == "verdict" })?["value"]?.stringValue,
                let profile = props.first(where: { $0["name"] == "profile" })?["value"]?.stringValue
            else { continue }
            let row = try #require(md.split(separator: "\n").first { $0.hasPrefix("| \(item) ") }, "\(item) has no row")
            let sl = profile.uppercased()
            #expect(row.contains("\(sl) \(verdict) (") || row.contains("\(sl) and SL4 \(verdict) ("), "\(item) \(sl) \(verdict): \(row)")
            compared += 1
        }
        #expect(compared > 20)
    }

    @Test func itIsMadeFromVerifiedInputOnly() throws {
        let fleet = try Fleet(count: 2)
        // A host envelope edited after bundling: refused (65), nothing written.
        let tampered = fleet.copy("tampered")
        let host = try #require(fleet.hostFiles().first)
        try flipByte(tampered + "/" + host, at: { $0 / 2 })
        let out = fleet.tree.path + "/refused.json"
        let refused = warden(["report", tampered, "--format", "oscal", "--trust", fleet.trust, "--now", Fleet.later, "--output", out])
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect((try? LocalFile.read(out)) == nil, "nothing is written")
        // Read anyway: the document says so.
        let unverified = fleet.tree.path + "/unverified.json"
        let r = warden(["report", fleet.bundle, "--format", "oscal", "--unverified", "--now", Fleet.later, "--output", unverified])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("UNVERIFIED"))
        let json = try JSON.parse(try LocalFile.read(unverified, limit: 64 << 20))
        #expect(json["assessment-results"]?["metadata"]?["remarks"]?.stringValue?.hasPrefix("UNVERIFIED: ") == true)
        #expect(
            json["assessment-results"]?["metadata"]?["props"]?.arrayValue?.contains { $0["name"] == "unverified" && $0["value"] == "true" }
                == true)
        // One envelope: named by its SHA-256, not called a bundle.
        let envelope = fleet.dir + "/findings/host-00000.dsse.json"
        let single = fleet.tree.path + "/single.json"
        let one = warden(["report", envelope, "--format", "oscal", "--trust", fleet.trust, "--now", Fleet.now, "--output", single])
        #expect(one.status == 0, "\(one.stderr)")
        let doc = try JSON.parse(try LocalFile.read(single, limit: 64 << 20))
        let digest = sha256Hex(try LocalFile.read(envelope, limit: 64 << 20))
        #expect(doc["assessment-results"]?["metadata"]?["version"] == .string(digest))
        #expect(doc["assessment-results"]?["results"]?[0]?["title"] == .string("Signed findings \(digest)"))
        let checked = try validate(single)
        #expect(checked.schema == 0 && checked.trestle == 0, "\(checked.output)")
    }

    func documentWith(_ ar: JSON, result: JSON) -> String {
        var inner = ar.objectValue ?? [:]
        inner["results"] = [result]
        return String(decoding: JSON.object(["assessment-results": .object(inner)]).serialized(), as: UTF8.self)
    }

    func setting(_ json: JSON, _ path: [String], to value: JSON) -> JSON {
        guard let key = path.first, var o = json.objectValue else { return value }
        o[key] = setting(o[key] ?? .null, Array(path.dropFirst()), to: value)
        return .object(o)
    }
}
