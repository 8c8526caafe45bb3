import Evidence
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The securesystemslib virtual environment made by `Scripts/python-tools` (run by `Scripts/setup`).
enum PythonDSSE {
    static let python = Package.root + "/.build-venv/bin/python"
    static let tool = Package.root + "/Tests/Tools/dsse.py"

    /// Nil when the environment works; otherwise why it could not be installed. Tried once per run.
    static let problem: String? = {
        let check = ["-c", "import securesystemslib.dsse, securesystemslib.signer, cryptography"]
        if run(python, check).status == 0 { return nil }
        let made = run(Package.root + "/Scripts/python-tools", [])
        if made.status == 0, run(python, check).status == 0 { return nil }
        return "securesystemslib could not be installed into .build-venv by Scripts/python-tools: \(made.stderr.suffix(400))"
    }()
}

let openssl = "/usr/bin/openssl"

/// Runs the openssl CLI and requires success.
@discardableResult
func ssl(_ arguments: [String]) throws -> String {
    let r = run(openssl, arguments)
    try #require(r.status == 0, "openssl \(arguments.joined(separator: " ")): \(r.stderr)")
    return r.stdout
}

/// The hex SHA-256 of a public key's SubjectPublicKeyInfo DER, computed with the openssl CLI.
func opensslKeyID(publicPEM: String, in tree: TempTree) throws -> String {
    let der = tree.path + "/spki.der"
    try ssl(["pkey", "-pubin", "-in", publicPEM, "-outform", "DER", "-out", der])
    return String(try ssl(["dgst", "-sha256", "-r", der]).prefix(64))
}

/// PAE rebuilt by hand from the DSSE specification, not with Warden's code.
func handPAE(type: String, payload: [UInt8]) -> [UInt8] {
    Array("DSSEv1 \(type.utf8.count) \(type) \(payload.count) ".utf8) + payload
}

/// Warden's envelopes checked by tools that share no code with it, and envelopes made by those
/// tools checked by `warden verify`.
@Suite struct IndependentVerifierTests {
    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func theOpenSSLCLIVerifiesWardenEnvelopes(_ algorithm: String) throws {
        let signed = try SignedAudit(algorithm)
        let tree = signed.tree
        let envelope = try JSON.parse(try LocalFile.read(signed.envelope))
        let type = try #require(envelope["payloadType"]?.stringValue)
        tree.file("payload.b64", try #require(envelope["payload"]?.stringValue))
        tree.file("sig.b64", try #require(envelope["signatures"]?[0]?["sig"]?.stringValue))
        try ssl(["base64", "-d", "-A", "-in", tree.path + "/payload.b64", "-out", tree.path + "/payload.bin"])
        try ssl(["base64", "-d", "-A", "-in", tree.path + "/sig.b64", "-out", tree.path + "/sig.bin"])
        let pae = handPAE(type: type, payload: try LocalFile.read(tree.path + "/payload.bin"))
        let paePath = tree.bytes("pae.bin", pae)
        let pub = tree.path + "/pub.pem"
        try ssl(["pkey", "-in", signed.key, "-pubout", "-out", pub])
        #expect(try opensslKeyID(publicPEM: pub, in: tree) == envelope["signatures"]?[0]?["keyid"]?.stringValue)

        func verify(_ data: String) -> (status: Int32, stdout: String, stderr: String) {
            algorithm == "ed25519"
                ? run(openssl, ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", data, "-sigfile", tree.path + "/sig.bin"])
                : run(openssl, ["dgst", "-sha256", "-verify", pub, "-signature", tree.path + "/sig.bin", data])
        }
        let good = verify(paePath)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains(algorithm == "ed25519" ? "Signature Verified Successfully" : "Verified OK"))
        var altered = pae
        altered[altered.count - 3] ^= 0x01
        #expect(verify(tree.bytes("altered.bin", altered)).status != 0)
    }

    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func securesystemslibVerifiesWardenEnvelopes(_ algorithm: String) throws {
        if let reason = PythonDSSE.problem { try Test.cancel(Comment(rawValue: reason)) }
        let signed = try SignedAudit(algorithm)
        let pub = signed.tree.path + "/pub.pem"
        try ssl(["pkey", "-in", signed.key, "-pubout", "-out", pub])
        let r = run(PythonDSSE.python, [PythonDSSE.tool, "verify", signed.envelope, pub])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout
                == "verified application/vnd.in-toto+json https://in-toto.io/Statement/v1 https://warden.dev/findings/v1 \(signed.keyID)\n")
        let tampered = try signed.tampered("t.json") { $0.payload[60] ^= 0x04 }
        let rejected = run(PythonDSSE.python, [PythonDSSE.tool, "verify", tampered, pub])
        #expect(rejected.status != 0)
        #expect(rejected.stderr.contains("VerificationError"), "\(rejected.stderr)")
    }

    /// An envelope made with nothing but the openssl CLI: a hand-written statement (pretty, keys
    /// unsorted), hand-built PAE, URL-safe unpadded base64 for Ed25519. `warden verify` accepts it.
    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func wardenVerifiesAnEnvelopeSignedWithTheOpenSSLCLI(_ algorithm: String) throws {
        let host = TempTree()
        let root = identifiedHost(in: host)
        let audit = warden(["audit", "--root", root, "--no-sign", "--format", "json", "--now", auditNow])
        try #require([0, 1, 2].contains(audit.status), "\(audit.stderr)")

        let tree = TempTree()
        let key = tree.path + "/k.pem"
        let pub = tree.path + "/pub.pem"
        try ssl(
            algorithm == "ed25519"
                ? ["genpkey", "-algorithm", "ed25519", "-out", key]
                : ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        try ssl(["pkey", "-in", key, "-pubout", "-out", pub])
        let keyID = try opensslKeyID(publicPEM: pub, in: tree)

        let type = "application/vnd.in-toto+json"
        let statement = """
            {
              "predicateType": "https://warden.dev/findings/v1",
              "_type": "https://in-toto.io/Statement/v1",
              "subject": [ { "digest": { "sha256": "\(identifiedHostSubjectDigest)" }, "name": "weights-07" } ],
              "predicate": \(audit.stdout)}

            """
        let payload = tree.file("payload.bin", statement)
        let pae = tree.bytes("pae.bin", handPAE(type: type, payload: Array(statement.utf8)))
        let sig = tree.path + "/sig.bin"
        try ssl(
            algorithm == "ed25519"
                ? ["pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", pae, "-out", sig]
                : ["dgst", "-sha256", "-sign", key, "-out", sig, pae])
        var payload64 = try ssl(["base64", "-A", "-in", payload]).trimmingNewline
        var sig64 = try ssl(["base64", "-A", "-in", sig]).trimmingNewline
        if algorithm == "ed25519" {
            payload64 = payload64.urlSafeUnpadded
            sig64 = sig64.urlSafeUnpadded
        }
        let envelope = tree.file(
            "outside.dsse.json",
            """
            {"signatures": [{"sig": "\(sig64)", "keyid": "\(keyID)"}], "payloadType": "\(type)", "payload": "\(payload64)"}
            """)
        let r = warden(["verify", envelope, "--trust", pub, "--now", reviewNow, "--max-age", "1d"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout == "\(envelope): valid: host weights-07, profile sl3, finished \(auditNow), nonconformant, signed by \(keyID)\n")

        // The same signature over a statement naming another host does not verify.
        let forged = tree.file(
            "forged.dsse.json",
            """
            {"signatures": [{"sig": "\(sig64)", "keyid": "\(keyID)"}], "payloadType": "\(type)", "payload": "\(Base64Text.encode(statement.replacingOccurrences(of: "weights-07", with: "weights-08")))"}
            """)
        let f = warden(["verify", forged, "--trust", pub, "--now", reviewNow])
        #expect(f.status == 1 && f.stdout.contains("signatures[0].sig: does not verify"), "\(f.stdout)")
    }

    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func wardenVerifiesAnEnvelopeSignedWithSecuresystemslib(_ algorithm: String) throws {
        if let reason = PythonDSSE.problem { try Test.cancel(Comment(rawValue: reason)) }
        let host = TempTree()
        let root = identifiedHost(in: host)
        let tree = TempTree()
        let findings = tree.path + "/findings.json"
        let audit = warden(["audit", "--root", root, "--no-sign", "--format", "json", "--output", findings, "--now", auditNow])
        try #require([0, 1, 2].contains(audit.status), "\(audit.stderr)")
        let key = tree.path + "/k.pem"
        let pub = tree.path + "/pub.pem"
        try ssl(
            algorithm == "ed25519"
                ? ["genpkey", "-algorithm", "ed25519", "-out", key]
                : ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        try ssl(["pkey", "-in", key, "-pubout", "-out", pub])
        let envelope = tree.path + "/python.dsse.json"
        let signed = run(PythonDSSE.python, [PythonDSSE.tool, "sign", key, findings, envelope])
        try #require(signed.status == 0, "\(signed.stderr)")
        let r = warden(["verify", envelope, "--trust", pub, "--now", reviewNow])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("\(envelope): valid: host weights-07, profile sl3"), "\(r.stdout)")
        #expect(signed.stdout == "signed \(try opensslKeyID(publicPEM: pub, in: tree))\n")
    }
}

extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }

    /// The URL-safe alphabet without padding (RFC 4648 §5), as some DSSE implementations write it.
    var urlSafeUnpadded: String {
        String(
            compactMap { c -> Character? in
                switch c {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: c
                }
            })
    }

    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Base64 through the openssl CLI, for test inputs built outside Warden.
enum Base64Text {
    static func encode(_ text: String) -> String {
        let tree = TempTree()
        let input = tree.file("in", text)
        return run(openssl, ["base64", "-A", "-in", input]).stdout.trimmingNewline
    }
}
