import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Live audits keep their signed envelopes in the state directory, rotated; `history` reads them.
@Suite struct HistoryTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    @Test func liveAuditsAreKeptRotatedAndShownAsATrend() throws {
        let state = TempTree()
        for (i, now) in ["2026-11-27T10:00:00Z", "2026-11-28T10:00:00Z", "2026-11-29T10:00:00Z"].enumerated() {
            let r = warden(["audit", "--state-dir", state.path, "--now", now, "--keep-history", "2", "--format", "json"])
            #expect([0, 1, 2].contains(r.status), "run \(i): \(r.stderr)")
        }
        let files = run("/bin/ls", [state.path + "/history"]).stdout.split(separator: "\n")
        #expect(files == ["20261128T100000Z.dsse.json", "20261129T100000Z.dsse.json"])
        let mode = run("/usr/bin/stat", ["-c", "%a", state.path + "/history/20261129T100000Z.dsse.json"]).stdout
        #expect(mode == "600\n")
        let h = warden(["history", "--state-dir", state.path])
        #expect(h.status == 0, "\(h.stderr)")
        #expect(h.stdout.hasPrefix("2 audits of "))
        #expect(h.stdout.contains("2026-11-28T10:00:00Z → 2026-11-29T10:00:00Z"))
        #expect(h.stdout.contains("\nHRD-001 "))
        let one = warden(["history", "--state-dir", state.path, "--control", "HRD-001"])
        #expect(one.stdout.contains("2026-11-29T10:00:00Z sl3 "))
        let json = try JSON.parse(warden(["history", "--state-dir", state.path, "--format", "json"]).stdout)
        #expect(json["runs"]?.arrayValue?.count == 2)
        // The envelopes in the history are ordinary signed findings: compare reads them.
        let compare = warden([
            "compare", state.path + "/history/20261128T100000Z.dsse.json", state.path + "/history/20261129T100000Z.dsse.json",
        ])
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.hasPrefix("Drift on"))
        #expect(warden(["history", "--state-dir", state.path, "--control", "XYZ-999"]).status == 64)
    }

    @Test func offlineAuditsStayOutOfTheHistory() {
        let state = TempTree()
        let keys = TempTree()
        #expect(warden(["keygen", "--output", keys.path + "/auditor.pem"]).status == 0)
        let r = warden([
            "audit", "--root", Package.fixtureRoot("sshd-hardened"), "--key", keys.path + "/auditor.pem",
            "--output", keys.path + "/out.dsse.json", "--state-dir", state.path,
        ])
        #expect([1, 2].contains(r.status), "\(r.stderr)")
        #expect(run("/usr/bin/test", ["-e", state.path + "/history"]).status != 0)
        let empty = warden(["history", "--state-dir", state.path])
        #expect(empty.stdout.hasPrefix("no audits in"))
    }
}
