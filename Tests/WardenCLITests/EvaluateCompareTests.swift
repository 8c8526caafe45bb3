import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// `evaluate`, `gap` and `compare` over findings written by `audit`.
@Suite struct EvaluateCompareTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    /// Audits `root` and returns the path of the findings document.
    func findings(_ tree: TempTree, root: String, profile: String = "sl3", name: String = "findings.json") throws -> String {
        let out = tree.path + "/" + name
        let r = warden([
            "audit", "--root", root, "--profile", profile, "--no-sign", "--format", "json", "--output", out, "--now",
            "2026-11-29T12:00:00Z",
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
        let evaluated = warden(["evaluate", sl3, "--profile", "sl4", "--format", "json"])
        #expect(evaluated.status == direct.status)
        let a = try results(direct.stdout)
        let b = try results(evaluated.stdout)
        #expect(!a.isEmpty)
        #expect(a == b)
    }

    @Test func gapListsWhatSL4AddsInAreaOrder() throws {
        let tree = TempTree()
        tree.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\nkernel.kptr_restrict = 1\nkernel.dmesg_restrict = 1\n")
        let doc = try findings(tree, root: tree.path)
        let r = warden(["gap", doc, "--to", "sl4", "--format", "json"])
        #expect(r.status == 1)
        let json = try JSON.parse(r.stdout)
        let missing = json["missing"]?.arrayValue?.compactMap { $0["control"]?.stringValue } ?? []
        #expect(missing.contains("HRD-001"))
        #expect(missing.contains("HRD-002"))
        // Ordered by area: access before hardening before exfiltration.
        let areas = json["missing"]?.arrayValue?.compactMap { $0["area"]?.stringValue } ?? []
        let order = Area.allCases.map(\.rawValue)
        #expect(areas == areas.sorted { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! })
        let text = warden(["gap", doc, "--to", "sl4"])
        #expect(text.stdout.contains("HRD-001 [high] ptrace is restricted"))
    }

    @Test func driftShowsARegressionAndExitsOne() throws {
        let tree = TempTree()
        let host = TempTree()
        host.file("etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 1\n")
        let before = try findings(tree, root: host.path, name: "before.json")
        host.file("etc/sysctl.d/60-warden.conf", "kernel.yama.ptrace_scope = 0\n")
        let after = try findings(tree, root: host.path, name: "after.json")
        let r = warden(["compare", before, after])
        #expect(r.status == 1)
        #expect(r.stdout.hasPrefix("Drift on"))
        #expect(r.stdout.contains("HRD-001 ptrace is restricted: pass → fail"))
        let back = warden(["compare", after, before, "--format", "json"])
        #expect(back.status == 0)
        let json = try JSON.parse(back.stdout)
        #expect(json["kind"] == "drift")
        #expect(json["improvements"]?[0]?["control"] == "HRD-001")
    }

    @Test func corruptedFindingsAreRejectedWithTheField() throws {
        let tree = TempTree()
        let doc = try findings(tree, root: Package.fixtureRoot("sshd-hardened"))
        var text = try #require(String(validating: try readFile(doc), as: UTF8.self))
        text = text.replacingFirst("\"schema\": \"warden.findings/v1\"", with: "\"schema\": \"warden.findings/v0\"")
        let bad = tree.file("bad.json", text)
        let r = warden(["evaluate", bad, "--profile", "sl3"])
        #expect(r.status == 65)
        #expect(r.stderr.contains("bad.json: error: schema: expected \"warden.findings/v1\""), "\(r.stderr)")
        let truncated = tree.file("truncated.json", String(text.prefix(200)))
        let t = warden(["gap", truncated])
        #expect(t.status == 65)
        #expect(t.stderr.contains("not JSON"), "\(t.stderr)")
        #expect(warden(["compare", doc, tree.path + "/missing.json"]).status == 66)
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
