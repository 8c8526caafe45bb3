import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A software TPM (swtpm) on two consecutive free 127.0.0.1 ports, started for one test and
/// stopped when released.
final class SoftwareTPM {
    let port: Int
    private let state = TempTree(prefix: "warden-swtpm")
    private var pid: pid_t = 0

    var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }
    var environment: [String: String] { ["TPM2OPENSSL_TCTI": tcti, "TPM2TOOLS_TCTI": tcti] }

    private init(port: Int) { self.port = port }

    deinit { stop() }

    /// Starts swtpm, or returns why it could not start.
    static func start() -> (tpm: SoftwareTPM?, problem: String) {
        guard access("/usr/bin/swtpm", X_OK) == 0 else { return (nil, "swtpm is not installed (Scripts/setup installs swtpm swtpm-tools)") }
        var problem = "no two consecutive free ports on 127.0.0.1"
        for _ in 0..<20 {
            let port = freePortPair()
            guard port > 0 else { continue }
            let tpm = SoftwareTPM(port: port)
            let r = run(
                "/usr/bin/swtpm",
                [
                    "socket", "--tpm2", "--tpmstate", "dir=\(tpm.state.path)",
                    "--server", "type=tcp,port=\(port),bindaddr=127.0.0.1",
                    "--ctrl", "type=tcp,port=\(port + 1),bindaddr=127.0.0.1",
                    "--flags", "not-need-init,startup-clear", "--daemon",
                    "--pid", "file=\(tpm.state.path)/pid", "--log", "file=\(tpm.state.path)/log",
                ])
            if r.status == 0, let text = try? LocalFile.readText(tpm.state.path + "/pid"),
                let pid = pid_t(text.split(separator: "\n").first ?? "")
            {
                tpm.pid = pid
                return (tpm, "")
            }
            problem = "swtpm did not start: \(r.stderr)"
        }
        return (nil, problem)
    }

    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where SoftwareTPM.isRunning(pid) { usleep(50_000) }
        pid = 0
    }

    /// Running and not a zombie (a container's PID 1 may never reap the daemon).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? LocalFile.readText("/proc/\(pid)/stat") else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }
}

/// A port p with p and p + 1 both free on 127.0.0.1, or 0.
func freePortPair() -> Int {
    func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
    let port = Int.random(in: 20000..<60000)
    return bindable(port) && bindable(port + 1) ? port : 0
}

/// Keys held in a TPM: signing goes through the `tpm2` OpenSSL provider, verification needs only
/// the exported public key.
@Suite struct TPMTests {
    @Test func aTPMHeldP256KeySignsAnAuditThatVerifiesWithItsPublicKey() throws {
        let (started, problem) = SoftwareTPM.start()
        guard let tpm = started else { try Test.cancel(Comment(rawValue: problem)) }
        let tree = TempTree()
        let key = tree.path + "/tpm-key.pem"
        let made = run(
            openssl, ["genpkey", "-provider", "tpm2", "-provider", "default", "-algorithm", "EC", "-pkeyopt", "group:P-256", "-out", key],
            environment: tpm.environment)
        try #require(made.status == 0, "openssl genpkey with the tpm2 provider (Debian package tpm2-openssl): \(made.stderr)")
        #expect(try LocalFile.readText(key).hasPrefix("-----BEGIN TSS2 PRIVATE KEY-----\n"), "a TPM-wrapped key, not a software one")
        chmod(key, 0o600)

        let shown = warden(["key", "show", "--key", key], environment: tpm.environment)
        try #require(shown.status == 0, "\(shown.stderr)")
        #expect(
            shown.stdout.contains("algorithm: ecdsa-p256\nheld by: tpm2 provider (\(key)); the private key never leaves the device\n"),
            "\(shown.stdout)")
        let trust = tree.file("tpm-public.pem", shown.stdout)
        let exported = tree.path + "/exported.pem"
        try #require(
            run(
                openssl, ["pkey", "-provider", "tpm2", "-provider", "default", "-in", key, "-pubout", "-out", exported],
                environment: tpm.environment
            ).status == 0)
        let keyID = try opensslKeyID(publicPEM: exported, in: tree)
        #expect(shown.stdout.hasPrefix("keyid: \(keyID)\n"))

        let host = TempTree()
        let envelope = tree.path + "/tpm.dsse.json"
        let audit = warden(
            ["audit", "--root", identifiedHost(in: host), "--key", key, "--output", envelope, "--now", auditNow],
            environment: tpm.environment)
        #expect([0, 1, 2].contains(audit.status), "\(audit.stderr)")
        #expect(audit.stderr.contains("findings signed with ecdsa-p256 key \(keyID) (\(key))"), "\(audit.stderr)")

        // Verification needs no TPM: only the public key.
        for publicKey in [trust, exported] {
            let r = warden(["verify", envelope, "--trust", publicKey, "--now", reviewNow])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.hasSuffix("signed by \(keyID)\n"))
        }
        let parsed = try JSON.parse(try LocalFile.read(envelope))
        tree.file("sig.b64", try #require(parsed["signatures"]?[0]?["sig"]?.stringValue))
        tree.file("payload.b64", try #require(parsed["payload"]?.stringValue))
        try ssl(["base64", "-d", "-A", "-in", tree.path + "/sig.b64", "-out", tree.path + "/sig.bin"])
        try ssl(["base64", "-d", "-A", "-in", tree.path + "/payload.b64", "-out", tree.path + "/payload.bin"])
        let pae = tree.bytes(
            "pae.bin", handPAE(type: "application/vnd.in-toto+json", payload: try LocalFile.read(tree.path + "/payload.bin")))
        let checked = run(openssl, ["dgst", "-sha256", "-verify", exported, "-signature", tree.path + "/sig.bin", pae])
        #expect(checked.status == 0 && checked.stdout.contains("Verified OK"), "\(checked.stdout)\(checked.stderr)")

        // With the TPM gone the key cannot sign, and the message says why.
        tpm.stop()
        let gone = warden(["audit", "--root", host.path, "--key", key, "--output", tree.path + "/none.json"], environment: tpm.environment)
        #expect(gone.status == 74)
        #expect(
            gone.stderr.contains(
                "\(key): error: --key: no TPM reachable: the OpenSSL 'tpm2' provider (Debian package tpm2-openssl) could not start with TPM2OPENSSL_TCTI=\(tpm.tcti)"
            ), "\(gone.stderr)")
        #expect(access(tree.path + "/none.json", F_OK) != 0)
    }

    @Test func aPersistentTPMHandleSigns() throws {
        let (started, problem) = SoftwareTPM.start()
        guard let tpm = started else { try Test.cancel(Comment(rawValue: problem)) }
        let tree = TempTree()
        func tpm2(_ tool: String, _ arguments: [String]) throws {
            let r = run("/usr/bin/" + tool, arguments, environment: tpm.environment)
            try #require(r.status == 0, "\(tool) (Debian package tpm2-tools): \(r.stderr)")
            // swtpm has no resource manager: free transient objects between steps.
            _ = run("/usr/bin/tpm2_flushcontext", ["-t"], environment: tpm.environment)
        }
        let p = tree.path
        try tpm2("tpm2_createprimary", ["-C", "o", "-g", "sha256", "-G", "ecc", "-c", p + "/primary.ctx"])
        try tpm2("tpm2_create", ["-C", p + "/primary.ctx", "-G", "ecc256:ecdsa-sha256", "-u", p + "/k.pub", "-r", p + "/k.priv"])
        try tpm2("tpm2_load", ["-C", p + "/primary.ctx", "-u", p + "/k.pub", "-r", p + "/k.priv", "-c", p + "/k.ctx"])
        try tpm2("tpm2_evictcontrol", ["-C", "o", "-c", p + "/k.ctx", "0x81000001"])

        let handle = "handle:0x81000001"
        let shown = warden(["key", "show", "--key", handle], environment: tpm.environment)
        try #require(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("held by: tpm2 provider (handle:0x81000001)"))
        let trust = tree.file("public.pem", shown.stdout)
        let envelope = p + "/handle.dsse.json"
        let audit = warden(
            ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--key", handle, "--output", envelope, "--now", auditNow],
            environment: tpm.environment)
        #expect([0, 1, 2].contains(audit.status), "\(audit.stderr)")
        let r = warden(["verify", envelope, "--trust", trust, "--now", reviewNow])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")

        let empty = warden(["key", "show", "--key", "handle:0x81000002"], environment: tpm.environment)
        #expect(
            empty.status == 65 && empty.stderr.contains("handle:0x81000002: error: --key: no private key at this TPM handle"),
            "\(empty.stderr)")
    }

    /// No swtpm needed: nothing listens on the port, so no TPM is reachable.
    @Test func withoutAReachableTPMTheMessageSaysSo() throws {
        let port = (0..<20).lazy.map { _ in freePortPair() }.first { $0 > 0 } ?? 0
        try #require(port > 0)
        let tcti = "swtpm:host=127.0.0.1,port=\(port)"
        let r = warden(["key", "show", "--key", "handle:0x81000001"], environment: ["TPM2OPENSSL_TCTI": tcti])
        #expect(r.status == 74)
        #expect(
            r.stderr.contains(
                "warden: handle:0x81000001: error: --key: no TPM reachable: the OpenSSL 'tpm2' provider (Debian package tpm2-openssl) could not start with TPM2OPENSSL_TCTI=\(tcti)"
            ), "\(r.stderr)")
    }
}
