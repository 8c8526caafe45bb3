import LocalFiles
import Testing
import WardenFormats
import WardenTestSupport

/// `audit --report FORMAT=PATH`: several outputs from one run, each the bytes that format prints
/// on its own, while standard output keeps the chosen format.
@Suite struct ReportTargetsTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    @Test func oneAuditWritesEveryFormat() throws {
        let tree = TempTree()
        let audit = ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign", "--now", "2026-11-29T12:00:00Z"]
        let r = warden(
            audit + ["--report", "json=\(tree.path)/f.json", "--report", "sarif=\(tree.path)/f.sarif"]
                + ["--report", "junit=\(tree.path)/f.xml", "--report", "text=\(tree.path)/f.txt"])
        #expect([1, 2].contains(r.status), "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Warden audit of "), "the text report stays on standard output")
        for (format, file) in [("json", "f.json"), ("sarif", "f.sarif"), ("junit", "f.xml"), ("text", "f.txt")] {
            let alone = warden(audit + ["--format", format])
            #expect(alone.status == r.status)
            #expect(try LocalFile.readText(tree.path + "/" + file) == alone.stdout, "\(format)")
        }
        #expect(try JSON.parse(try LocalFile.read(tree.path + "/f.sarif"))["version"] == "2.1.0")
    }

    @Test(arguments: [
        ["--report", "pdf=x.pdf"], ["--report", "json"], ["--report", "json="], ["--report", "json=a", "--report", "sarif=a"],
    ])
    func badTargetsAreUsageErrors(arguments: [String]) {
        let r = warden(["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign"] + arguments)
        #expect(r.status == 64, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains("--report"), "\(r.stderr)")
    }
}
