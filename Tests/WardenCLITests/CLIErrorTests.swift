import Glibc
import HostFacts
import Testing
import WardenCore
import WardenTestSupport

/// The built binary, run as a user would, for exit codes and messages on bad input.
@Suite struct CLIErrorTests {
    let bad = Package.fixtures + "/profiles-bad/"

    func warden(_ arguments: String...) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    @Test func unknownControlInAProfileExits65WithFileLineColumn() {
        let r = warden("profiles", "lint", bad + "unknown-control.yaml")
        #expect(r.status == 65)
        #expect(r.stderr.contains("unknown-control.yaml:6:3: error: controls.ACC-04: unknown control 'ACC-04' (did you mean 'ACC-004'?)"), "\(r.stderr)")
    }

    @Test func cyclicExtendsExits65() {
        let r = warden("profiles", "lint", bad + "cycle-a.yaml")
        #expect(r.status == 65)
        #expect(r.stderr.contains("cyclic 'extends'"), "\(r.stderr)")
        #expect(r.stderr.contains("cycle-b.yaml:2:10"), "\(r.stderr)")
    }

    @Test func malformedYAMLExits65WithPosition() {
        let r = warden("profiles", "lint", bad + "malformed.yaml")
        #expect(r.status == 65)
        #expect(r.stderr.contains("malformed.yaml:5:"), "\(r.stderr)")
        #expect(r.stderr.contains("invalid YAML"), "\(r.stderr)")
    }

    @Test func builtInProfilesLintClean() {
        for id in ["sl3", "sl4"] {
            let r = warden("profiles", "lint", id)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("\(id): ok"))
        }
    }

    /// `profiles compile` writes the catalog an audit of these profiles would then use; a
    /// profiles directory with an edited control is refused by `lint` even with a compiled
    /// catalog from before the edit (lint always reads the YAML).
    @Test func compiledCatalogIsWrittenAndNeverHidesAnEdit() throws {
        let tree = TempTree()
        _ = run("/bin/cp", ["-a", Package.profiles + "/controls", Package.profiles + "/sl3.yaml", Package.profiles + "/sl4.yaml", tree.path])
        let env = ["WARDEN_PROFILES": tree.path]
        let compiled = run(Package.wardenBinary, ["profiles", "compile"], environment: env)
        #expect(compiled.status == 0, "\(compiled.stderr)")
        #expect(compiled.stdout.contains("48 controls and the profiles sl3, sl4 compiled"), "\(compiled.stdout)")
        let bytes = try LocalFile.read(tree.path + "/catalog.compiled.json")
        #expect(try JSON.parse(bytes)["schema"] == "warden.catalog/v3")
        #expect(try JSON.parse(bytes)["profiles"]?.objectValue?.keys.sorted() == ["sl3", "sl4"])
        let audit = run(Package.wardenBinary, ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--profile", "sl4", "--no-sign", "--format", "json"], environment: env)
        #expect(try JSON.parse(Array(audit.stdout.utf8))["results"]?.arrayValue?.count == 48, "\(audit.stderr)")
        let file = tree.path + "/controls/access-ssh.yaml"
        tree.file("controls/access-ssh.yaml", try LocalFile.readText(file).replacingFirst("severity: high", with: "severity: dire"))
        let lint = run(Package.wardenBinary, ["profiles", "lint", "sl4"], environment: env)
        #expect(lint.status == 65, "\(lint.stdout)")
        #expect(lint.stderr.contains("unknown severity"), "\(lint.stderr)")
        let edited = run(Package.wardenBinary, ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--profile", "sl4", "--no-sign"], environment: env)
        #expect(edited.status == 65, "an audit must read the edited YAML, not the stale compiled catalog: \(edited.stderr)")
    }

    @Test func missingProfileExits66() {
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--profile", "/nonexistent/profile.yaml")
        #expect(r.status == 66)
        #expect(r.stderr.contains("/nonexistent/profile.yaml"))
    }

    @Test func missingRootExits66() {
        let r = warden("audit", "--root", "/nonexistent/warden-root")
        #expect(r.status == 66)
        #expect(r.stderr.contains("--root: No such file or directory"), "\(r.stderr)")
    }

    @Test func malformedSiteExits65WithLineAndField() {
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--site", bad + "site-unknown-key.yaml")
        #expect(r.status == 65)
        #expect(r.stderr.contains("site-unknown-key.yaml:3:3: error: weights.owners: unknown key 'owners' (did you mean 'owner'?)"), "\(r.stderr)")
    }

    @Test func waiverForAnUnknownControlExits65() {
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--site", bad + "site-unknown-waiver.yaml")
        #expect(r.status == 65)
        #expect(r.stderr.contains("site-unknown-waiver.yaml:2: error: waivers.control: unknown control 'ACC-999'"), "\(r.stderr)")
    }

    @Test func unknownFormatIsAUsageError() {
        let r = warden("audit", "--format", "xml")
        #expect(r.status == 64)
    }
}

/// Reads the audit is refused (run as `nobody`, since root reads everything) are `error` with
/// the path and errno, never `pass`.
@Suite struct PermissionDeniedTests {
    @Test func unreadableConfigurationIsAnErrorNamingThePath() throws {
        let tree = TempTree()
        tree.copy(fixture: "sshd-hardened")
        chmod(tree.path, 0o755)
        chmod(tree.path + "/etc/ssh/sshd_config", 0)
        let r = run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", Package.wardenBinary,
                                         "audit", "--root", tree.path, "--no-sign", "--format", "json"])
        // Other controls fail on this partial host; the point is that ACC-004 is not a pass.
        #expect([1, 2].contains(r.status), "\(r.stderr)")
        let doc = try JSON.parse(r.stdout)
        let acc004 = doc["results"]?.arrayValue?.first { $0["control"] == "ACC-004" }
        #expect(acc004?["status"] == "error")
        #expect(acc004?["summary"] == "cannot read the sshd configuration: /etc/ssh/sshd_config: Permission denied")
    }
}
