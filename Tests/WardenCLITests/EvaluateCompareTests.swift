import Evidence
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// `evaluate`, `gap` and `compare` over findings written by `audit`, verified first.
@Suite struct EvaluateCompareTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    /// An auditor's key in `tree` (made on first use), and `--trust` with its public key.
    func trust(_ tree: TempTree) throws -> [String] {
        let key = tree.path + "/auditor.pem"
        if run("/usr/bin/test", ["-e", key]).status != 0 {
            try #require(warden(["keygen", "--output", key]).status == 0)
            tree.file("auditor.pub.pem", warden(["key", "show", "--key", key]).stdout)
        }
        return ["--trust", tree.path + "/auditor.pub.pem"]
    }

    /// Audits `root`, signed with the auditor's key, and returns the envelope's path.
    func findings(_ tree: TempTree, root: String, profile: String = "sl3", name: String = "findings.dsse.json") throws -> String {
        _ = try trust(tree)
        let out = tree.path + "/" + name
        let r = warden([
            "audit", "--root", root, "--profile", profile, "--key", tree.path + "/auditor.pem", "--format", "json", "--output", out,
            "--now", "2026-11-29T12:00:00Z",
        ])
        try #require([0, 1, 2].contains(r.status), "\(r.stderr)")
        return out
    }

    func results(_ text: String) throws -> [String: String] {
        let json = try JSON.parse(text)
        var out: [String: String] = [:]
        for r in json["results"]?.arrayValue ?? [] { out[r["control"]!.stringValue!] = r["status"]!.stringValue! }
        return out
    }

    @Test func evaluatingEmbeddedFactsGivesTheAuditsVerdicts() throws {
        let tree = TempTree()
        let root = Package.fixtureRoot("sshd-hardened")
        let sl3 = try findings(tree, root: root)
        let direct = warden(["audit", "--root", root, "--profile", "sl4", "--no-sign", "--format", "json", "--now", "2026-11-29T12:00:00Z"])
        let evaluated = warden(["evaluate", sl3, "--profile", "sl4", "--format", "json"] + (try trust(tree)))
        #expect(evaluated.status == direct.status, "\(evaluated.stderr)")
        let a = try results(direct.stdout)
        let b = try results(evaluated.stdout)
        #expect(!a.isEmpty)
        #expect(a == b)
        #expect(try JSON.parse(evaluated.stdout)["unverified"] == nil)
    }

    @Test func gapListsWhatSL4AddsInAreaOrder() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\nkernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\n")
        let doc = try findings(tree, root: tree.path)
        let r = warden(["gap", doc, "--to", "sl4", "--format", "json"] + (try trust(tree)))
        #expect(r.status == 1, "\(r.stderr)")
        let json = try JSON.parse(r.stdout)
        let missing = json["missing"]?.arrayValue?.compactMap { $0["control"]?.stringValue } ?? []
        #expect(missing.contains("HRD-001"))
        #expect(missing.contains("HRD-002"))
        // Ordered by area: access before hardening before exfiltration.
        let areas = json["missing"]?.arrayValue?.compactMap { $0["area"]?.stringValue } ?? []
        let order = Area.allCases.map(\.rawValue)
        #expect(areas == areas.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! })
        let text = warden(["gap", doc, "--to", "sl4"] + (try trust(tree)))
        #expect(text.stdout.contains("HRD-001 [high] ptrace is restricted"))
        // A gap is not a test run: JUnit and SARIF are refused.
        #expect(warden(["gap", doc, "--format", "junit"] + (try trust(tree))).status == 64)
        #expect(warden(["compare", doc, doc, "--format", "sarif"] + (try trust(tree))).status == 64)
    }

    @Test func driftShowsARegressionAndExitsOne() throws {
        let tree = TempTree()
        let host = TempTree()
        host.file("etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\n")
        let before = try findings(tree, root: host.path, name: "before.json")
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 0\n")
        let after = try findings(tree, root: host.path, name: "after.json")
        let r = warden(["compare", before, after] + (try trust(tree)))
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Drift on"))
        #expect(r.stdout.contains("HRD-001 ptrace is restricted: pass → fail"))
        #expect(!r.stdout.contains("signed results"))
        let back = warden(["compare", after, before, "--format", "json"] + (try trust(tree)))
        #expect(back.status == 0)
        let json = try JSON.parse(back.stdout)
        #expect(json["kind"] == "drift")
        #expect(json["improvements"]?[0]?["control"] == "HRD-001")
        #expect(json["a"]?["changed_from_signed"] == .array([]))
    }

    @Test func corruptedFindingsAreRejectedWithTheField() throws {
        let tree = TempTree()
        let out = tree.path + "/findings.json"
        let r0 = warden([
            "audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign", "--format", "json", "--output", out,
        ])
        try #require([1, 2].contains(r0.status), "\(r0.stderr)")
        var text = try #require(String(validating: try readFile(out), as: UTF8.self))
        text = text.replacingFirst("\"schema\": \"warden.findings/v1\"", with: "\"schema\": \"warden.findings/v0\"")
        let bad = tree.file("bad.json", text)
        let r = warden(["evaluate", bad, "--profile", "sl3", "--unverified"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("bad.json: error: schema: expected \"warden.findings/v1\""), "\(r.stderr)")
        let truncated = tree.file("truncated.json", String(text.prefix(200)))
        let t = warden(["gap", truncated, "--unverified"])
        #expect(t.status == 65)
        #expect(t.stderr.contains("not JSON"), "\(t.stderr)")
        #expect(warden(["compare", out, tree.path + "/missing.json", "--unverified"]).status == 66)
    }

    /// Without --trust an unsigned document is refused (64, saying what to do); with
    /// --unverified every output opens with UNVERIFIED.
    @Test func anUnsignedDocumentIsReadOnlyWhenSaidUnverified() throws {
        let tree = TempTree()
        let doc = tree.path + "/findings.json"
        let state = ["--state-dir", tree.path + "/state"]
        let audit = warden(["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign", "--format", "json", "--output", doc])
        try #require([1, 2].contains(audit.status), "\(audit.stderr)")
        for arguments in [["evaluate", doc, "--profile", "sl3"], ["gap", doc], ["compare", doc, doc], ["report", doc]] {
            let refused = warden(arguments + state)
            #expect(refused.status == 64, "\(arguments[0]): \(refused.stderr)")
            #expect(refused.stderr.contains("an unsigned findings document"), "\(arguments[0]): \(refused.stderr)")
            #expect(refused.stderr.contains("--unverified"), "\(arguments[0])")
            #expect(refused.stdout.isEmpty)
            let read = warden(arguments + state + ["--unverified"])
            #expect([0, 1, 2].contains(read.status), "\(arguments[0]): \(read.stderr)")
            let opening = arguments[0] == "report" ? "**UNVERIFIED: " : "UNVERIFIED: "
            #expect(read.stdout.hasPrefix(opening + doc + " is not signed"), "\(arguments[0]): \(read.stdout.prefix(200))")
            let json = warden(arguments + state + ["--unverified", "--format", arguments[0] == "report" ? "html" : "json"])
            if arguments[0] == "report" {
                #expect(json.stdout.contains("<p class=\"unverified\"><strong>UNVERIFIED: "))
            } else {
                #expect(try JSON.parse(json.stdout)["unverified"]?.stringValue?.hasPrefix("UNVERIFIED: ") == true, "\(arguments[0])")
                #expect(json.stderr.contains("warden: UNVERIFIED: "))
            }
        }
        #expect(warden(["evaluate", doc, "--profile", "sl3", "--unverified", "--format", "junit"]).status == 64)
        #expect(warden(["evaluate", doc, "--profile", "sl3", "--unverified", "--trust", doc]).status == 64)
    }

    /// One fact edited after signing: every reader refuses it with 65 naming the signature, where
    /// an unverified read would have turned the failing control into a pass.
    @Test func aForgedEnvelopeIsRefusedByEveryReader() throws {
        let tree = TempTree()
        let host = TempTree()
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 0\n")
        let genuine = try findings(tree, root: host.path)
        let text = try #require(String(validating: try readFile(genuine), as: UTF8.self))
        let envelope = try JSON.parse(text)
        let encoded = try #require(envelope["payload"]?.stringValue)
        let statement = String(decoding: try #require(Base64.decode(encoded)), as: UTF8.self)
        // kernel.yama.ptrace_scope's one value, as the sysctl probe records it.
        let fact = "60-warden.conf:1 (persistent; offline root: no runtime value, decided on this alone)\",\"value\":"
        try #require(statement.contains(fact + "0}"))
        let edited = statement.replacingFirst(fact + "0}", with: fact + "1}")
        var forgedObject = try #require(envelope.objectValue)
        forgedObject["payload"] = .string(Base64.encode(Array(edited.utf8)))
        let forged = tree.bytes("forged.dsse.json", JSON.object(forgedObject).prettySerialized())
        let trusted = try trust(tree)
        for arguments in [
            ["evaluate", forged, "--profile", "sl3"], ["gap", forged], ["compare", genuine, forged], ["report", forged],
        ] {
            let r = warden(arguments + trusted)
            #expect(r.status == 65, "\(arguments[0]): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("forged.dsse.json: error: signatures[0].sig: verification failed"), "\(arguments[0]): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(arguments[0])")
        }
        // Unverified, the edit would have passed HRD-001: what verification prevents.
        let unverified = warden(["evaluate", forged, "--profile", "sl3", "--format", "json", "--unverified"])
        #expect(try results(unverified.stdout)["HRD-001"] == "pass")
        #expect(try results(warden(["evaluate", genuine, "--profile", "sl3", "--format", "json"] + trusted).stdout)["HRD-001"] == "fail")
    }

    /// Signed by a key that is neither trusted nor this host's: refused without --trust (64), and
    /// with the wrong --trust a failed verification (65) naming the keyid; this host's own key
    /// verifies without --trust.
    @Test func whoSignedDecidesWhatVerifiesIt() throws {
        let tree = TempTree()
        let other = TempTree()
        let envelope = try findings(tree, root: Package.fixtureRoot("sshd-hardened"))
        let state = ["--state-dir", tree.path + "/state"]
        let refused = warden(["gap", envelope] + state)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("which is not this host's key: give --trust"), "\(refused.stderr)")
        let wrong = warden(["gap", envelope] + (try trust(other)))
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("signatures[0].keyid: verification failed: "), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("is not a trusted key"), "\(wrong.stderr)")
        // Stale by --max-age: the verifier's freshness check, with the field.
        let stale = warden(["evaluate", envelope, "--profile", "sl3", "--max-age", "1h"] + (try trust(tree)))
        #expect(stale.status == 65)
        #expect(stale.stderr.contains("payload.predicate.finished_at: verification failed: "), "\(stale.stderr)")
        // The host key of the state directory verifies this host's own envelopes.
        let live = warden(["audit", "--format", "json"] + state)
        try #require([0, 1, 2].contains(live.status), "\(live.stderr)")
        let own = warden(["evaluate", tree.path + "/state/findings/latest.dsse.json", "--profile", "sl3", "--format", "json"] + state)
        #expect([0, 1, 2].contains(own.status), "\(own.stderr)")
        #expect(try JSON.parse(own.stdout)["unverified"] == nil)
    }

    /// Results signed by a trusted key that its own facts do not support: compare compares what
    /// the facts say, and lists the signed results that evaluation changes.
    @Test func compareSaysWhichSignedResultsTheFactsDoNotSupport() throws {
        let tree = TempTree()
        let host = TempTree()
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 0\n")
        let genuine = try findings(tree, root: host.path)
        let text = try #require(String(validating: try readFile(genuine), as: UTF8.self))
        let encoded = try #require(try JSON.parse(text)["payload"]?.stringValue)
        let payload = try #require(Base64.decode(encoded))
        var findings = try #require(try JSON.parse(payload)["predicate"]?.objectValue)
        var results = try #require(findings["results"]?.arrayValue)
        let i = try #require(results.firstIndex { $0["control"] == "HRD-001" })
        #expect(results[i]["status"] == "fail")
        var result = try #require(results[i].objectValue)
        result["status"] = "pass"
        results[i] = .object(result)
        findings["results"] = .array(results)
        let key = try PrivateKey.load(tree.path + "/auditor.pem")
        let signed = try FindingsStatement.envelope(findings: .object(findings), key: key)
        let claimed = tree.file("claimed.dsse.json", String(decoding: signed.encoded(), as: UTF8.self))
        let r = warden(["compare", genuine, claimed] + (try trust(tree)))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("No differences."), "what the facts say is the same on both")
        #expect(
            r.stdout.contains("B: signed results that evaluating its facts now changes (1)\n  HRD-001 ptrace is restricted: pass → fail"),
            "\(r.stdout)")
        let json = try JSON.parse(warden(["compare", genuine, claimed, "--format", "json"] + (try trust(tree))).stdout)
        #expect(json["b"]?["changed_from_signed"]?[0]?["control"] == "HRD-001")
        #expect(json["a"]?["changed_from_signed"] == .array([]))
    }

    func readFile(_ path: String) throws -> [UInt8] {
        let r = run("/bin/cat", [path])
        return Array(r.stdout.utf8)
    }
}

@Suite struct GapFromRootTests {
    @Test func gapOfARootWithoutFindings() throws {
        let root = Package.fixtureRoot("host-debian-default")
        let site = Package.fixtures + "/host-debian-default/site.yaml"
        let r = run(Package.wardenBinary, ["gap", "--root", root, "--site", site, "--to", "sl3", "--format", "json"])
        #expect(r.status == 1, "\(r.stderr)")
        let missing = try JSON.parse(r.stdout)["missing"]?.arrayValue?.compactMap { $0["control"]?.stringValue } ?? []
        #expect(missing.contains("ACC-004"))
        #expect(missing.contains("EXF-005"))
        #expect(run(Package.wardenBinary, ["gap"]).status == 64)
        #expect(run(Package.wardenBinary, ["gap", "x.json", "--root", "/"]).status == 64)
    }
}
