import Evidence
import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Runs the built `warden`.
func warden(_ arguments: [String], environment: [String: String] = [:]) -> (status: Int32, stdout: String, stderr: String) {
    run(Package.wardenBinary, arguments, environment: environment)
}

/// Fixed times: the audits run "at" `testNow`, reviewers verify an hour later.
let auditNow = testNow.description
let reviewNow = Timestamp(seconds: testNow.seconds + 3600).description

/// A fixture host with an identity (hostname and machine-id), copied into `tree/root`.
func identifiedHost(in tree: TempTree) -> String {
    tree.copy(fixture: "sshd-hardened")
    tree.file("etc/hostname", "weights-07\n")
    tree.file("etc/machine-id", "5b1f0c8e2d3a4f6b8c9d0e1f2a3b4c5d\n")
    return tree.path
}

/// SHA-256 of "5b1f0c8e2d3a4f6b8c9d0e1f2a3b4c5d" (`printf %s … | sha256sum`), the subject digest.
let identifiedHostSubjectDigest = "3fb859ff706d263faef1c7a50d6fdb4887ec8f9f94e5e835ede7d47099e8d3da"

/// A key made by `warden keygen`, its public half (from `warden key show`) and an envelope of an
/// offline audit of the sshd-hardened fixture signed with it.
struct SignedAudit {
    let tree = TempTree(prefix: "warden-sign")
    let key: String
    let trust: String
    let envelope: String
    let keyID: String

    init(_ algorithm: String = "ed25519") throws {
        key = tree.path + "/key.pem"
        let made = warden(["keygen", "--output", key, "--algorithm", algorithm])
        try #require(made.status == 0, "\(made.stderr)")
        trust = tree.file("trust.pem", warden(["key", "show", "--key", key]).stdout)
        let keyLine = made.stdout.split(separator: "\n").first { $0.hasPrefix("keyid: ") }
        keyID = String(keyLine?.dropFirst(7) ?? "")
        envelope = tree.path + "/findings.dsse.json"
        let audit = warden(["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--key", key, "--output", envelope, "--now", auditNow])
        try #require([0, 1, 2].contains(audit.status), "\(audit.stderr)")
        try #require(audit.stderr.contains("findings signed with \(algorithm) key \(keyID)"), "\(audit.stderr)")
    }

    /// Writes a changed copy of the envelope and returns its path.
    func tampered(_ name: String, _ change: (inout Envelope) -> Void) throws -> String {
        var e = try Envelope.decode(try LocalFile.read(envelope), file: envelope)
        change(&e)
        return tree.bytes(name, e.encoded())
    }

    func verify(_ paths: [String], trust: String? = nil, extra: [String] = []) -> (status: Int32, stdout: String, stderr: String) {
        warden(["verify"] + paths + ["--trust", trust ?? self.trust, "--now", reviewNow] + extra)
    }
}

func fileMode(_ path: String) -> UInt32 {
    var st = stat()
    guard stat(path, &st) == 0 else { return 0 }
    return UInt32(st.st_mode) & 0o7777
}

/// The base64 lines of a PEM private key: none may appear in any output.
func secretLines(_ keyPath: String) throws -> [String] {
    let text = try LocalFile.readText(keyPath)
    let lines = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
    try #require(!lines.isEmpty)
    return lines
}
