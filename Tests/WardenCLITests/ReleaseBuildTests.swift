import Glibc
import HostFacts
import Testing
import WardenCore
import WardenTestSupport

/// The release build is what users run (`Scripts/audit` builds it), and the optimiser can change
/// what the code does where the compiler has a bug: Swift 6.3.1 at -O left a `static let` Mutex
/// zero-filled, and every release audit ended "interrupted by signal 0" with exit 128 while the
/// debug build the other tests run was fine. `Scripts/test` builds the release binary as
/// `Scripts/audit` does and names it in `WARDEN_TEST_RELEASE_BINARY`; these tests run it through
/// the main jobs and compare it with the debug build.
@Suite struct ReleaseBuildTests {
    static let variable = "WARDEN_TEST_RELEASE_BINARY"

    func release() throws -> String {
        let path = try #require(
            getenv(Self.variable).map { String(cString: $0) },
            "\(Self.variable) is not set: Scripts/test builds the release binary and sets it")
        try #require(access(path, X_OK) == 0, "\(path) is not an executable")
        return path
    }

    @Test func auditPrintsTheSameFindingsAsTheDebugBuild() throws {
        let binary = try release()
        for (fixture, verdict) in [("host-debian-default", Int32(1)), ("sshd-hardened", 1)] {
            let arguments = ["audit", "--root", Package.fixtureRoot(fixture), "--no-sign", "--format", "json", "--now", auditNow]
            let optimised = run(binary, arguments)
            #expect(optimised.status == verdict, "\(fixture): \(optimised.stderr)")
            #expect(!optimised.stderr.contains("interrupted"), "\(fixture): \(optimised.stderr)")
            #expect(optimised.stdout == warden(arguments).stdout, "\(fixture): the release build's findings differ")
        }
    }

    /// The README's main job: an audit that creates its signing key, then a verification of what
    /// it wrote, and a bundle of a fleet verified.
    @Test func signsWithAnAutoCreatedKeyAndVerifies() throws {
        let binary = try release()
        let tree = TempTree()
        let state = tree.path + "/state"
        let envelope = tree.path + "/findings.dsse.json"
        // A live audit of this machine, as Scripts/audit runs it: its verdict is this machine's.
        let audit = run(binary, ["audit", "--state-dir", state, "--output", envelope])
        #expect([0, 1, 2].contains(audit.status), "\(audit.stderr)")
        #expect(!audit.stderr.contains("interrupted"), "\(audit.stderr)")
        #expect(access(state + "/host-key.pem", R_OK) == 0)
        let trust = tree.file("trust.pem", run(binary, ["key", "show", "--key", state + "/host-key.pem"]).stdout)
        let verified = run(binary, ["verify", envelope, "--trust", trust])
        #expect(verified.status == 0, "\(verified.stderr)")

        let fleet = try Fleet(count: 4)
        let bundle = tree.path + "/bundle"
        let made = run(
            binary,
            [
                "bundle", fleet.dir + "/findings", "--trust", fleet.dir + "/trust.pem", "--key", fleet.dir + "/bundler.pem",
                "--inventory", fleet.dir + "/inventory.yaml", "--now", Fleet.now, "--output", bundle,
            ])
        #expect(made.status == fleet.made.status && !made.stderr.contains("interrupted"), "\(made.stderr)")
        let checked = run(binary, ["verify", bundle, "--trust", fleet.trust, "--now", Fleet.later])
        #expect(checked.status == fleet.verify().status, "\(checked.stderr)")
        #expect(checked.stdout == fleet.verify(bundle).stdout)
    }
}
