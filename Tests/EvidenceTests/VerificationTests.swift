import Evidence
import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A real findings document: the sshd-hardened fixture audited against sl3 at `testNow`.
func fixtureFindings(machineID: String? = "0123456789abcdef0123456789abcdef") throws -> JSON {
    let (facts, findings) = try audit(root: Package.fixtureRoot("sshd-hardened"))
    var host: JSONObject = ["hostname": "weights-01", "os": [:]]
    host["machine_id"] = machineID.map { .string($0) } ?? .null
    return FindingsDocument(
        host: .object(host), root: Package.fixtureRoot("sshd-hardened"), profile: try BuiltIn.profile("sl3"),
        toolVersion: "test", startedAt: testNow, finishedAt: testNow, findings: findings, facts: facts
    ).json
}

func trust(_ keys: PrivateKey...) -> TrustedKeys {
    var t = TrustedKeys()
    for k in keys { t.add(k.publicKey, source: "test") }
    return t
}

@Suite struct VerificationTests {
    let policyNow = Timestamp(seconds: testNow.seconds + 3600)

    @Test(arguments: KeyAlgorithm.allCases)
    func aSignedAuditVerifies(_ algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        let findings = try fixtureFindings()
        let envelope = try FindingsStatement.envelope(findings: findings, key: key)
        // Through the file format and back, as a reviewer receives it.
        let received = try Envelope.decode(envelope.encoded(), file: "e.json")
        let result = FindingsPolicy(trusted: trust(key), now: policyNow, maxAge: 86400).verify(received)
        #expect(result.isValid, "\(result.failures)")
        #expect(result.keyID == key.keyID)
        #expect(result.findings == findings)
        #expect(received.payload == (try FindingsStatement.statement(findings: findings)).serialized())
        #expect(received.signatures.count == 1 && received.signatures[0].keyid == key.keyID)
    }

    @Test func theStatementIsInTotoV1WithTheHostAsSubject() throws {
        let findings = try fixtureFindings()
        let statement = try FindingsStatement.statement(findings: findings)
        #expect(statement["_type"] == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] == "https://warden.dev/findings/v1")
        #expect(statement["predicate"] == findings)
        // sha256("0123456789abcdef0123456789abcdef")
        #expect(
            statement["subject"] == [
                ["name": "weights-01", "digest": ["sha256": "3eb1bd439947eb762998e566ccc2e099c791118b2f40579cc4f7da2b5061b7f9"]]
            ])
        let bare = try fixtureFindings(machineID: nil)
        let uri = try FindingsStatement.subject(for: bare)[0]?["uri"]?.stringValue
        #expect(uri == "file://" + Package.fixtureRoot("sshd-hardened"))
        #expect(
            try FindingsStatement.subject(for: ["root": "/srv/a b%", "host": [:]]) == [
                ["name": "unknown-host", "uri": "file:///srv/a%20b%25"]
            ])
    }

    /// Each tampering is a failure naming the field, never a thrown error.
    @Test func tamperingIsRejectedNamingTheField() throws {
        let key = try PrivateKey.generate(.ed25519)
        let other = try PrivateKey.generate(.ed25519)
        let good = try FindingsStatement.envelope(findings: try fixtureFindings(), key: key)
        let policy = FindingsPolicy(trusted: trust(key), now: policyNow)

        func field(_ envelope: Envelope, _ policy: FindingsPolicy) -> String? {
            let result = policy.verify(envelope)
            #expect(result.statement == nil || result.keyID != nil, "content is only read after the signature verified")
            return result.failures.first?.field
        }
        #expect(field(good, policy) == nil)
        #expect(field(good, FindingsPolicy(trusted: trust(other), now: policyNow)) == "signatures[0].keyid", "signed by an untrusted key")

        var e = good
        e.payload[40] ^= 0x01
        #expect(field(e, policy) == "signatures[0].sig")
        e = good
        e.signatures[0].sig[10] ^= 0x01
        #expect(field(e, policy) == "signatures[0].sig")
        e = good
        e.signatures[0].keyid = String(repeating: "0", count: 64)
        #expect(field(e, policy) == "signatures[0].keyid")
        e = good
        e.signatures[0].keyid = nil
        #expect(field(e, policy) == "signatures[0].keyid")
        e = good
        e.signatures[0].keyid = other.keyID
        #expect(
            field(e, FindingsPolicy(trusted: trust(key, other), now: policyNow)) == "signatures[0].sig", "the keyid of another trusted key")
        e = good
        e.payloadType = "application/json"
        #expect(field(e, policy) == "payloadType")
        e = good
        e.signatures.append(e.signatures[0])
        #expect(field(e, policy) == "signatures")
        e.signatures = []
        #expect(field(e, policy) == "signatures")
    }

    @Test func signedButWrongContentNamesEachField() throws {
        let key = try PrivateKey.generate(.ecdsaP256)
        var statement = try FindingsStatement.statement(findings: try fixtureFindings())
        guard case .object(var s) = statement, case .object(var predicate)? = s["predicate"] else {
            Issue.record("no predicate")
            return
        }
        s["_type"] = "https://in-toto.io/Statement/v0.1"
        s["predicateType"] = "https://example.com/other"
        predicate["schema"] = "warden.findings/v0"
        predicate["results"] = nil
        s["predicate"] = .object(predicate)
        s["subject"] = [["name": "impostor", "digest": ["sha256": "00"]]]
        statement = .object(s)
        let envelope = try Envelope.sign(payload: statement.serialized(), payloadType: DSSE.inTotoPayloadType, with: key)
        let result = FindingsPolicy(trusted: trust(key), now: policyNow).verify(envelope)
        #expect(
            result.failures.map(\.field) == [
                "payload._type", "payload.predicateType", "payload.predicate.schema", "payload.predicate.results", "payload.subject",
            ])

        let notJSON = try Envelope.sign(payload: Array("not json".utf8), payloadType: DSSE.inTotoPayloadType, with: key)
        #expect(FindingsPolicy(trusted: trust(key), now: policyNow).verify(notJSON).failures.map(\.field) == ["payload"])
    }

    @Test func ageIsJudgedAgainstTheInjectedNow() throws {
        let key = try PrivateKey.generate(.ed25519)
        let envelope = try FindingsStatement.envelope(findings: try fixtureFindings(), key: key)
        func failures(now: Timestamp, maxAge: Int64?) -> [String] {
            FindingsPolicy(trusted: trust(key), now: now, maxAge: maxAge).verify(envelope).failures.map(\.description)
        }
        let week: Int64 = 7 * 86400
        #expect(failures(now: Timestamp(seconds: testNow.seconds + week), maxAge: week).isEmpty, "exactly the maximum age")
        #expect(
            failures(now: Timestamp(seconds: testNow.seconds + week + 1), maxAge: week)
                == ["payload.predicate.finished_at: 2026-11-29T12:00:00Z is older than the maximum age 7d at 2026-12-06T12:00:01Z"])
        #expect(failures(now: Timestamp(seconds: testNow.seconds + 10 * week), maxAge: nil).isEmpty, "no maximum age given")
        #expect(failures(now: Timestamp(seconds: testNow.seconds - 300), maxAge: week).isEmpty, "five minutes of clock skew")
        #expect(
            failures(now: Timestamp(seconds: testNow.seconds - 301), maxAge: week)
                == ["payload.predicate.finished_at: 2026-11-29T12:00:00Z is in the future at 2026-11-29T11:54:59Z"])
    }

    @Test func trustFilesTakePublicKeysOnly() throws {
        let key = try PrivateKey.generate(.ed25519)
        let second = try PrivateKey.generate(.ecdsaP256)
        var keys = TrustedKeys()
        let text = "keyid: \(key.keyID)\nalgorithm: ed25519\n\(key.publicKey.pem)\n# and another\n\(second.publicKey.pem)"
        try keys.add(pem: Array(text.utf8), file: "trust.pem")
        #expect(keys.count == 2)
        #expect(keys[key.keyID]?.keyID == key.keyID)
        #expect(keys[second.keyID]?.algorithm == .ecdsaP256)

        let tree = TempTree()
        try key.writePEM(toNewFile: tree.path + "/private.pem")
        let privatePEM = try LocalFile.readText(tree.path + "/private.pem")
        #expect {
            try keys.add(pem: Array(privatePEM.utf8), file: "private.pem")
        } throws: { error in
            guard let e = error as? WardenError else { return false }
            // The message names the block, never its contents.
            return e.code == .malformed && e.description.contains("private.pem:1: error: holds a 'PRIVATE KEY' PEM block")
                && !e.description.contains(privatePEM.split(separator: "\n")[1])
        }
        #expect(throws: WardenError.self) { try keys.add(pem: Array("nothing here\n".utf8), file: "empty.pem") }
        let truncated = String(key.publicKey.pem.dropLast(20))
        #expect(throws: WardenError.self) { try keys.add(pem: Array(truncated.utf8), file: "cut.pem") }

        // CRLF line ends, a file without a final newline, text between blocks.
        var crlf = TrustedKeys()
        let third = try PrivateKey.generate(.ed25519)
        let windows = (key.publicKey.pem + "note\n" + third.publicKey.pem).replacingOccurrences("\n", "\r\n")
        try crlf.add(pem: Array(windows.utf8), file: "crlf.pem")
        try crlf.add(pem: Array(second.publicKey.pem.dropLast().utf8), file: "no-newline.pem")
        #expect(crlf.count == 3 && crlf[third.keyID] != nil && crlf[second.keyID] != nil)
        // A damaged key is named by the line its block ends on; an END line of another label does not end a block.
        let damaged = "# keys\n" + key.publicKey.pem.replacingOccurrences("\n-----END", "A\n-----END")
        #expect(throws: WardenError.self) { try crlf.add(pem: Array(damaged.utf8), file: "damaged.pem") }
        #expect(
            (#expect(throws: WardenError.self) { try crlf.add(pem: Array(damaged.utf8), file: "damaged.pem") })?.description.hasPrefix(
                "damaged.pem:\(damaged.split(separator: "\n").count):") == true)
        let mislabelled = key.publicKey.pem.replacingOccurrences("-----END PUBLIC KEY-----", "-----END PRIVATE KEY-----")
        #expect(
            (#expect(throws: WardenError.self) { try crlf.add(pem: Array(mislabelled.utf8), file: "m.pem") })?.description.contains(
                "has no END line") == true)
    }
}
