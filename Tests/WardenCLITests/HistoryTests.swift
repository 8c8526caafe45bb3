import LocalFiles
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
            "--state-dir", state.path,
        ])
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.hasPrefix("Drift on"))
        #expect(warden(["history", "--state-dir", state.path, "--control", "XYZ-999"]).status == 64)
    }

    /// The history's envelopes are verified against the host key: one edited after signing is
    /// refused with 65 naming the signature, with or without --unverified.
    @Test func anEditedEnvelopeInTheHistoryIsRefused() throws {
        let state = TempTree()
        let r = warden(["audit", "--state-dir", state.path, "--now", "2026-11-29T10:00:00Z", "--format", "json"])
        try #require([0, 1, 2].contains(r.status), "\(r.stderr)")
        let file = state.path + "/history/20261129T100000Z.dsse.json"
        var envelope = try #require(try JSON.parse(try LocalFile.read(file)).objectValue)
        let encoded = try #require(envelope["payload"]?.stringValue)
        let statement = String(decoding: try #require(Base64.decode(encoded)), as: UTF8.self)
        let edited = statement.replacingFirst("\"status\":\"fail\"", with: "\"status\":\"pass\"")
        try #require(edited != statement)
        envelope["payload"] = .string(Base64.encode(Array(edited.utf8)))
        _ = state.bytes("history/20261129T100000Z.dsse.json", JSON.object(envelope).prettySerialized())
        let refused = warden(["history", "--state-dir", state.path])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("20261129T100000Z.dsse.json: error: signatures[0].sig: verification failed"), "\(refused.stderr)")
        // --unverified reads what cannot be verified, never what failed verification.
        #expect(warden(["history", "--state-dir", state.path, "--unverified"]).status == 65)
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
