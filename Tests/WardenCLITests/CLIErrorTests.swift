import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
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
        #expect(
            r.stderr.contains("unknown-control.yaml:6:3: error: controls.ACC-04: unknown control 'ACC-04' (did you mean 'ACC-004'?)"),
            "\(r.stderr)")
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

    /// The profiles are part of the binary: a copy of it alone, below a `Profiles/` directory
    /// that would change a result, audits with the built-in set. Another set is used only when
    /// named (`--profiles`, `WARDEN_PROFILES`), read as it is on disk at every run (an edit is
    /// never hidden), said on standard error and recorded in the findings with its digest.
    @Test func theBuiltInSetIsPartOfTheBinaryAndAnotherIsUsedOnlyWhenNamed() throws {
        let tree = TempTree()
        _ = run("/bin/cp", ["-a", Package.profiles, tree.path + "/Profiles"])
        _ = tree.file("bin/.keep")
        _ = run("/bin/cp", [Package.wardenBinary, tree.path + "/bin/warden"])
        let copy = tree.path + "/bin/warden"
        let set = tree.path + "/Profiles"
        let file = set + "/controls/access-ssh.yaml"
        let title = "SSH root login is restricted"
        let original = try LocalFile.readText(file)
        #expect(original.contains("title: \(title)\n"))
        tree.file("Profiles/controls/access-ssh.yaml", original.replacingFirst("title: \(title)\n", with: "title: edited\n"))
        let builtIn = try BuiltIn.profile("sl4")
        let arguments = ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--profile", "sl4", "--no-sign", "--format", "json"]
        func audit(_ extra: [String] = [], environment: [String: String] = [:]) throws -> (profile: JSON?, acc004: JSON?, stderr: String) {
            let r = run(copy, arguments + extra, environment: environment)
            let doc = try JSON.parse(Array(r.stdout.utf8))
            return (doc["profile"], doc["results"]?.arrayValue?.first { $0["control"] == "ACC-004" }, r.stderr)
        }
        let alone = try audit()
        #expect(alone.acc004?["title"] == .string(title), "\(alone.stderr)")
        #expect(alone.profile?["set"] == "built-in")
        #expect(alone.profile?["sha256"] == .string(builtIn.sha256))
        #expect(!alone.stderr.contains("profiles from"), "\(alone.stderr)")
        for (extra, environment) in [(["--profiles", set], [:]), ([], ["WARDEN_PROFILES": set])] {
            let named = try audit(extra, environment: environment)
            #expect(named.acc004?["title"] == "edited", "\(named.stderr)")
            #expect(named.profile?["set"] == .string(set))
            #expect(named.profile?["sha256"] != .string(builtIn.sha256))
            #expect(named.stderr.contains("warden: profiles from \(set), not the built-in set"), "\(named.stderr)")
        }
        tree.file("Profiles/controls/access-ssh.yaml", original.replacingFirst("severity: high", with: "severity: dire"))
        let lint = run(copy, ["profiles", "lint", "sl4", "--profiles", set])
        #expect(lint.status == 65, "\(lint.stdout)")
        #expect(lint.stderr.contains("access-ssh.yaml:"), "\(lint.stderr)")
        #expect(lint.stderr.contains("unknown severity"), "\(lint.stderr)")
        let edited = run(copy, Array(arguments.dropLast(2)), environment: ["WARDEN_PROFILES": set])
        #expect(edited.status == 65, "\(edited.stderr)")
        #expect(run(copy, ["profiles", "lint", "sl4"]).status == 0)
        let missing = run(copy, ["profiles", "list", "--profiles", tree.path + "/none"])
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.contains("--profiles"), "\(missing.stderr)")
    }

    @Test func missingProfileExits66() {
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--profile", "/nonexistent/profile.yaml")
        #expect(r.status == 66)
        #expect(r.stderr.contains("/nonexistent/profile.yaml"))
        // A bad profile is reported first, before the site, the root or the host are read: an
        // unknown built-in id, and a profile file, alike.
        for profile in ["sl5", "/nonexistent/profile.yaml"] {
            let first = warden("audit", "--root", "/nonexistent/warden-root", "--site", bad + "site-unknown-key.yaml", "--profile", profile)
            #expect(first.status == 66 && first.stderr.contains(profile) && !first.stderr.contains("--root"), "\(first.stderr)")
        }
    }

    @Test func missingRootExits66() {
        let r = warden("audit", "--root", "/nonexistent/warden-root")
        #expect(r.status == 66)
        #expect(r.stderr.contains("--root: No such file or directory"), "\(r.stderr)")
    }

    @Test func malformedSiteExits65WithLineAndField() {
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--site", bad + "site-unknown-key.yaml")
        #expect(r.status == 65)
        #expect(
            r.stderr.contains("site-unknown-key.yaml:3:3: error: weights.owners: unknown key 'owners' (did you mean 'owner'?)"),
            "\(r.stderr)")
    }

    @Test func waiverForAnUnknownControlExits65() {
        // --no-sign: an offline audit that could not sign would be refused (64) before the host is read.
        let r = warden("audit", "--root", Package.fixtureRoot("sshd-hardened"), "--site", bad + "site-unknown-waiver.yaml", "--no-sign")
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
        let r = run(
            "/usr/bin/setpriv",
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", Package.wardenBinary,
                "audit", "--root", tree.path, "--no-sign", "--format", "json",
            ])
        // Other controls fail on this partial host; the point is that ACC-004 is not a pass.
        #expect([1, 2].contains(r.status), "\(r.stderr)")
        let doc = try JSON.parse(r.stdout)
        let acc004 = doc["results"]?.arrayValue?.first { $0["control"] == "ACC-004" }
        #expect(acc004?["status"] == "error")
        #expect(acc004?["summary"] == "cannot read the sshd configuration: /etc/ssh/sshd_config: Permission denied")
    }
}
