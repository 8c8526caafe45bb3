import Glibc
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The built binary, end to end, on two complete fixture hosts: one hardened to SL4, one a
/// Debian cloud image left as it came.
@Suite struct SmokeTests {
    /// A copy of `host-conformant` with the modes and owners git cannot store.
    func conformantHost() -> (tree: TempTree, root: String, site: String) {
        let tree = TempTree()
        tree.copy(fixture: "host-conformant")
        let root = tree.path
        func set(_ path: String, mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) {
            chown(root + path, uid, gid)
            chmod(root + path, mode)
        }
        for dir in ["/srv/weights", "/srv/weights/llama-70b"] { set(dir, mode: 0o750, uid: 990, gid: 990) }
        for file in ["/srv/weights/.canary", "/srv/weights/llama-70b/config.json", "/srv/weights/llama-70b/model-00001.safetensors"] {
            set(file, mode: 0o440, uid: 990, gid: 990)
        }
        set("/var/log/audit", mode: 0o700)
        set("/var/log/audit/audit.log", mode: 0o600)
        set("/etc/sudoers", mode: 0o440)
        // usbguard-daemon refuses a configuration or rule file others could read.
        for file in ["/etc/usbguard/usbguard-daemon.conf", "/etc/usbguard/rules.conf"] { set(file, mode: 0o600) }
        return (tree, root, Package.fixtures + "/host-conformant/site.yaml")
    }

    /// The state directory (its canary key) is the test's own, so that runs never touch this machine's.
    let state = TempTree(prefix: "warden-smoke-state")

    func audit(_ root: String, site: String, profile: String, format: String = "json") -> (status: Int32, stdout: String, stderr: String) {
        run(
            Package.wardenBinary,
            [
                "audit", "--root", root, "--site", site, "--profile", profile, "--no-sign",
                "--format", format, "--now", "2026-11-29T12:00:00Z", "--state-dir", state.path,
            ])
    }

    @Test(arguments: ["sl3", "sl4"])
    func hardenedHostConforms(profile: String) throws {
        let host = conformantHost()
        let r = audit(host.root, site: host.site, profile: profile)
        let doc = try JSON.parse(r.stdout)
        let blocking = (doc["results"]?.arrayValue ?? []).filter {
            $0["advisory"] == false && ["fail", "error", "not_checked"].contains($0["status"]?.stringValue ?? "")
        }
        #expect(blocking.isEmpty, "\(blocking.map { "\($0["control"]!.compactString): \($0["summary"]!.compactString)" })")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(doc["schema"] == "warden.findings/v1")
        #expect(doc["summary"]?["conformant"] == true)
        #expect(doc["profile"]?["id"] == .string(profile))
        #expect(doc["host"]?["hostname"] == "weights-store-01")
        #expect(doc["host"]?["machine_id"] == "8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e")
        #expect(doc["mode"] == "offline")
        #expect(doc["facts"]?["facts"]?["weights"]?["value"]?["origin"] == "site")
        // The facts name every file read with its digest.
        #expect(doc["facts"]?["files"]?["/etc/ssh/sshd_config"]?.stringValue?.count == 64)
        #expect((doc["results"]?.arrayValue ?? []).count >= 45)
    }

    @Test func defaultDebianHostFailsWithEvidence() throws {
        let root = Package.fixtureRoot("host-debian-default")
        let site = Package.fixtures + "/host-debian-default/site.yaml"
        let r = audit(root, site: site, profile: "sl3")
        #expect(r.status == 1, "\(r.stderr)")
        let doc = try JSON.parse(r.stdout)
        var results: JSONObject = [:]
        for item in doc["results"]?.arrayValue ?? [] { results[item["control"]!.stringValue!] = item }
        #expect(doc["summary"]?["conformant"] == false)
        #expect(doc["summary"]?["verdict"] == "nonconformant")
        #expect(results["ACC-004"]?["status"] == "fail")
        #expect(
            results["ACC-004"]?["evidence"]?.arrayValue?.contains { $0["source"] == "/etc/ssh/sshd_config.d/50-cloud-init.conf:1" } == true)
        #expect(results["ACC-005"]?["status"] == "fail")
        #expect(results["ACC-008"]?["status"] == "fail")
        #expect(results["ACC-009"]?["status"] == "fail")
        #expect(results["EXF-005"]?["status"] == "fail")
        #expect(
            results["EXF-005"]?["evidence"]?.arrayValue?.contains { $0["source"] == "/tmp/copy-for-eval.bin" && $0["ok"] == false } == true)
        #expect(results["EXF-007"]?["status"] == "fail")
        #expect(results["EXF-007"]?["evidence"]?.arrayValue?.contains { $0["observed"] == "tcp/8000" } == true)
        #expect(results["HRD-001"]?["status"] == "fail")
        // No mount table in this snapshot: storage cannot be judged offline, and says so.
        #expect(results["ENC-001"]?["status"] == "not_checked")
        #expect(results["ENC-001"]?["summary"]?.stringValue?.contains("mountinfo") == true)
        let text = audit(root, site: site, profile: "sl3", format: "text")
        #expect(text.stdout.contains("FAIL ACC-004 [high] SSH root login is restricted"))
        #expect(text.stdout.hasSuffix("\n"))
        #expect(text.stdout.contains("sl3: NOT CONFORMANT"))
    }

    @Test func findingsAreDeterministicBytes() throws {
        let host = conformantHost()
        let a = audit(host.root, site: host.site, profile: "sl4")
        let b = audit(host.root, site: host.site, profile: "sl4")
        #expect(a.stdout == b.stdout)
        #expect(!a.stdout.isEmpty)
    }

    @Test func auditOfThisMachineCompletesAndExplainsWhatItCannotDecide() throws {
        for profile in ["sl3", "sl4"] {
            let r = run(Package.wardenBinary, ["audit", "--profile", profile, "--format", "json", "--no-sign"])
            #expect([0, 1, 2].contains(r.status), "\(r.stderr)")
            let doc = try JSON.parse(r.stdout)
            #expect(doc["mode"] == "live")
            for item in doc["results"]?.arrayValue ?? []
            where ["error", "not_checked", "not_applicable"].contains(item["status"]?.stringValue ?? "") {
                #expect(item["summary"]?.stringValue?.isEmpty == false, "\(item["control"]!.compactString) gives no reason")
            }
        }
    }
}
