import Evidence
import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Keys, signed audits and `warden verify`, through the built binary.
@Suite struct SigningCLITests {
    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func keygenWritesA0600KeyAndPrintsOnlyItsPublicHalf(_ algorithm: String) throws {
        let tree = TempTree()
        let key = tree.path + "/signing.pem"
        let r = warden(["keygen", "--output", key, "--algorithm", algorithm])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(fileMode(key) == 0o600)
        #expect(try LocalFile.readText(key).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count >= 5 && lines[0].hasPrefix("keyid: ") && lines[0].count == 7 + 64, "\(r.stdout)")
        #expect(lines[1] == "algorithm: \(algorithm)")
        #expect(r.stdout.contains("-----BEGIN PUBLIC KEY-----\n") && !r.stdout.contains("PRIVATE"))
        let shown = warden(["key", "show", "--key", key])
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout == r.stdout, "key show prints what keygen printed")
        for line in try secretLines(key) {
            #expect(!r.stdout.contains(line) && !shown.stdout.contains(line))
        }
    }

    @Test func keygenNeverOverwrites() throws {
        let tree = TempTree()
        let key = tree.path + "/signing.pem"
        #expect(warden(["keygen", "--output", key]).status == 0)
        let before = try LocalFile.read(key)
        let again = warden(["keygen", "--output", key, "--algorithm", "ecdsa-p256"])
        #expect(again.status == 64)
        #expect(again.stderr.contains("\(key): error: --output: already exists"), "\(again.stderr)")
        #expect(try LocalFile.read(key) == before)
        #expect(warden(["keygen", "--output", key, "--algorithm", "rsa"]).status == 64)
    }

    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func aSignedOfflineAuditRoundTrips(_ algorithm: String) throws {
        let signed = try SignedAudit(algorithm)
        let r = signed.verify([signed.envelope])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(
            r.stdout
                == "\(signed.envelope): valid: host unknown host, profile sl3, finished \(auditNow), nonconformant, signed by \(signed.keyID)\n"
        )
        let envelope = try Envelope.decode(try LocalFile.read(signed.envelope), file: signed.envelope)
        #expect(envelope.payloadType == "application/vnd.in-toto+json")
        #expect(envelope.signatures.map(\.keyid) == [signed.keyID])
        let statement = try JSON.parse(envelope.payload)
        #expect(statement["predicate"]?["mode"] == "offline")
        #expect(statement["predicateType"] == "https://warden.dev/findings/v1")
    }

    /// Every tampering fails verification (exit 1) with a line naming the file and the field;
    /// what is not an envelope at all exits 65, what does not exist 66.
    @Test func tamperedAndBrokenEnvelopesAreRejectedNamingTheField() throws {
        let signed = try SignedAudit()
        let other = try SignedAudit()
        let original = try LocalFile.read(signed.envelope)
        let cases: [(name: String, path: String, trust: String?, status: Int32, message: String)] = [
            ("wrong key", signed.envelope, other.trust, 1, "FAILED: signatures[0].keyid: \(signed.keyID) is not a trusted key"),
            (
                "flipped payload byte", try signed.tampered("payload.json") { $0.payload[100] ^= 0x20 }, nil, 1,
                "FAILED: signatures[0].sig: does not verify"
            ),
            (
                "flipped signature byte", try signed.tampered("sig.json") { $0.signatures[0].sig[7] ^= 0x01 }, nil, 1,
                "FAILED: signatures[0].sig: does not verify"
            ),
            (
                "changed keyid", try signed.tampered("keyid.json") { $0.signatures[0].keyid = other.keyID }, nil, 1,
                "FAILED: signatures[0].keyid: \(other.keyID) is not a trusted key"
            ),
            (
                "another trusted key's keyid", try signed.tampered("keyid2.json") { $0.signatures[0].keyid = other.keyID },
                signed.tree.file("both.pem", try LocalFile.readText(signed.trust) + LocalFile.readText(other.trust)), 1,
                "FAILED: signatures[0].sig: does not verify with trusted key \(other.keyID)"
            ),
            (
                "changed payloadType", try signed.tampered("type.json") { $0.payloadType = "application/json" }, nil, 1,
                "FAILED: payloadType: expected 'application/vnd.in-toto+json', found 'application/json'"
            ),
            (
                "a second signature", try signed.tampered("two.json") { $0.signatures.append($0.signatures[0]) }, nil, 1,
                "FAILED: signatures: expected exactly one signature, found 2"
            ),
            (
                "truncated", signed.tree.bytes("truncated.json", Array(original.prefix(original.count / 2))), nil, 65,
                "error: not a DSSE envelope: invalid JSON: unterminated string"
            ),
            (
                "empty", signed.tree.bytes("empty.json", []), nil, 65,
                "empty.json:1:1: error: not a DSSE envelope: invalid JSON: unexpected end of input"
            ),
            (
                "non-JSON", signed.tree.file("notes.txt", "these are not findings\n"), nil, 65,
                "notes.txt:1:1: error: not a DSSE envelope: invalid JSON"
            ),
            (
                "the plain findings document", signed.tree.file("plain.json", "{\"schema\": \"warden.findings/v1\"}\n"), nil, 65,
                "plain.json: error: payloadType: missing: not a DSSE envelope"
            ),
            ("missing", signed.tree.path + "/absent.json", nil, 66, "absent.json: error: No such file or directory"),
        ]
        for c in cases {
            let r = signed.verify([c.path], trust: c.trust)
            #expect(r.status == c.status, "\(c.name): \(r.stdout)\(r.stderr)")
            let line = c.status == 1 ? r.stdout : r.stderr
            #expect(line.hasPrefix(c.status == 1 ? "\(c.path): " : "warden: \(c.path)"), "\(c.name): \(line)")
            #expect(line.contains(c.message), "\(c.name): \(line)")
            #expect(line.split(separator: "\n").count == 1, "\(c.name): one line per file")
        }
    }

    @Test func withSeveralPathsEachGetsALineAndTheHighestCodeWins() throws {
        let signed = try SignedAudit()
        let bad = try signed.tampered("bad.json") { $0.signatures[0].sig[0] ^= 0x01 }
        let junk = signed.tree.file("junk.json", "junk")
        let absent = signed.tree.path + "/absent.json"
        let one = signed.verify([signed.envelope, bad])
        #expect(one.status == 1)
        #expect(one.stdout.split(separator: "\n").map { $0.split(separator: ":")[0] } == [Substring(signed.envelope), Substring(bad)])
        #expect(signed.verify([signed.envelope, junk, bad]).status == 65)
        let all = signed.verify([absent, signed.envelope, junk, bad])
        #expect(all.status == 66)
        #expect(all.stdout.contains("\(signed.envelope): valid") && all.stdout.contains("\(bad): FAILED"))
        #expect(all.stderr.contains(junk) && all.stderr.contains(absent))
    }

    @Test func trustMayBeADirectoryOfPEMFiles() throws {
        let signed = try SignedAudit("ecdsa-p256")
        let other = try SignedAudit()
        let dir = signed.tree.directory("trusted")
        signed.tree.file("trusted/a.pem", try LocalFile.readText(other.trust))
        #expect(signed.verify([signed.envelope], trust: dir).status == 1)
        signed.tree.file("trusted/b.pem", try LocalFile.readText(signed.trust))
        signed.tree.file("trusted/README", "not a key, not read\n")
        #expect(signed.verify([signed.envelope], trust: dir).status == 0)
        let empty = signed.tree.directory("empty")
        #expect(signed.verify([signed.envelope], trust: empty).status == 66)
        #expect(signed.verify([signed.envelope], trust: signed.tree.path + "/none.pem").status == 66)
        // A private key given as a trusted key is refused without being printed.
        let wrong = signed.verify([signed.envelope], trust: signed.key)
        #expect(wrong.status == 65)
        #expect(wrong.stderr.contains("holds a 'PRIVATE KEY' PEM block"), "\(wrong.stderr)")
        for line in try secretLines(signed.key) { #expect(!wrong.stderr.contains(line)) }
    }

    @Test func freshnessIsJudgedAtNowAgainstMaxAge() throws {
        let signed = try SignedAudit()
        let eightDaysOn = Timestamp(seconds: testNow.seconds + 8 * 86400).description
        let stale = warden(["verify", signed.envelope, "--trust", signed.trust, "--now", eightDaysOn, "--max-age", "7d"])
        #expect(stale.status == 1)
        #expect(
            stale.stdout.contains("FAILED: payload.predicate.finished_at: \(auditNow) is older than the maximum age 7d at \(eightDaysOn)"),
            "\(stale.stdout)")
        #expect(warden(["verify", signed.envelope, "--trust", signed.trust, "--now", eightDaysOn, "--max-age", "9d"]).status == 0)
        #expect(warden(["verify", signed.envelope, "--trust", signed.trust, "--now", eightDaysOn]).status == 0, "no maximum age given")
        let early = Timestamp(seconds: testNow.seconds - 3600).description
        let future = warden(["verify", signed.envelope, "--trust", signed.trust, "--now", early])
        #expect(
            future.status == 1 && future.stdout.contains("payload.predicate.finished_at: \(auditNow) is in the future"), "\(future.stdout)")
        let badAge = warden(["verify", signed.envelope, "--trust", signed.trust, "--max-age", "a week"])
        #expect(badAge.status == 64 && badAge.stderr.contains("--max-age: expected a duration"), "\(badAge.stderr)")
        #expect(warden(["verify", signed.envelope, "--trust", signed.trust, "--now", "yesterday"]).status == 64)
    }

    @Test func anOfflineAuditNeedsAnExplicitKeyOrNoSign() throws {
        let tree = TempTree()
        let root = Package.fixtureRoot("sshd-hardened")
        let unsigned = warden(["audit", "--root", root, "--state-dir", tree.path + "/state"])
        #expect(unsigned.status == 64)
        #expect(
            unsigned.stderr.contains(
                "--key: an offline audit (--root \(root)) is never signed with this host's key: pass --key PATH (the auditor's key) or --no-sign"
            ), "\(unsigned.stderr)")
        #expect(access(tree.path + "/state", F_OK) != 0, "nothing written into the state directory")

        let plain = tree.path + "/plain.json"
        let noSign = warden(["audit", "--root", root, "--no-sign", "--output", plain, "--now", auditNow])
        #expect(noSign.status == 1, "\(noSign.stderr)")
        #expect(try JSON.parse(try LocalFile.read(plain))["schema"] == "warden.findings/v1", "--no-sign writes the plain document")

        #expect(warden(["audit", "--root", root, "--no-sign", "--key", tree.path + "/k.pem"]).status == 64)
        #expect(warden(["keygen", "--output", tree.path + "/k.pem"]).status == 0)
        let nowhere = warden(["audit", "--root", root, "--key", tree.path + "/k.pem"])
        #expect(
            nowhere.status == 64 && nowhere.stderr.contains("--output: an offline audit writes no findings into the state directory"),
            "\(nowhere.stderr)")
        let missingKey = warden(["audit", "--root", root, "--key", tree.path + "/absent.pem", "--output", tree.path + "/e.json"])
        #expect(
            missingKey.status == 66 && missingKey.stderr.contains("absent.pem: error: --key: No such file or directory"),
            "\(missingKey.stderr)")
    }

    /// The host's own identity becomes the statement's subject.
    @Test func theSubjectIsTheAuditedHost() throws {
        let tree = TempTree()
        let root = identifiedHost(in: tree)
        let keys = TempTree()
        #expect(warden(["keygen", "--output", keys.path + "/k.pem"]).status == 0)
        let envelope = keys.path + "/e.json"
        #expect([0, 1, 2].contains(warden(["audit", "--root", root, "--key", keys.path + "/k.pem", "--output", envelope]).status))
        let statement = try JSON.parse(try Envelope.decode(try LocalFile.read(envelope), file: envelope).payload)
        #expect(statement["subject"] == [["name": "weights-07", "digest": ["sha256": .string(identifiedHostSubjectDigest)]]])
    }

    /// A live audit signs with the host key in the state directory, creating it on first run.
    @Test func aLiveAuditCreatesTheHostKeyAndSigns() throws {
        let tree = TempTree()
        let state = tree.path + "/state/warden"
        let output = tree.path + "/copy.dsse.json"
        let first = warden(["audit", "--state-dir", state, "--format", "json", "--output", output])
        #expect([0, 1, 2].contains(first.status), "\(first.stderr)")
        #expect(first.stderr.contains("warden: created host key \(state)/host-key.pem (ed25519, keyid "), "\(first.stderr)")
        #expect(fileMode(state) == 0o700)
        #expect(fileMode(state + "/host-key.pem") == 0o600)
        let latest = state + "/findings/latest.dsse.json"
        #expect(try LocalFile.read(latest) == LocalFile.read(output))

        let shown = warden(["key", "show", "--state-dir", state])
        #expect(shown.status == 0, "\(shown.stderr)")
        let trust = tree.file("host.pem", shown.stdout)
        let verified = warden(["verify", latest, "--trust", trust, "--max-age", "1h"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")

        // What --format json printed is exactly the signed predicate.
        let envelope = try Envelope.decode(try LocalFile.read(latest), file: latest)
        #expect(try JSON.parse(envelope.payload)["predicate"] == JSON.parse(first.stdout))
        #expect(try JSON.parse(first.stdout)["mode"] == "live")

        let second = warden(["audit", "--state-dir", state, "--format", "json"])
        #expect(!second.stderr.contains("created host key"), "the host key is reused")
        #expect(warden(["verify", latest, "--trust", trust]).status == 0)
        for line in try secretLines(state + "/host-key.pem") {
            for text in [first.stdout, first.stderr, second.stderr, shown.stdout, verified.stdout] { #expect(!text.contains(line)) }
        }
    }

    @Test func keyShowWithoutAHostKeySaysHowToGetOne() {
        let tree = TempTree()
        let r = warden(["key", "show", "--state-dir", tree.path])
        #expect(r.status == 66)
        #expect(r.stderr.contains("\(tree.path)/host-key.pem: error: no host key yet"), "\(r.stderr)")
    }

    /// As ssh does, a private key file that group or others can read is refused — named, with
    /// the fix, and without its contents.
    @Test func anUnprotectedPrivateKeyIsRefused() throws {
        let signed = try SignedAudit()
        chmod(signed.key, 0o644)
        let fix =
            "\(signed.key): error: --key: private key file has mode 0644: group or others can access it, so it is refused (as ssh refuses such keys); run 'chmod 600 \(signed.key)'"
        let audit = warden([
            "audit", "--root", Package.fixtureRoot("sshd-hardened"), "--key", signed.key, "--output", signed.tree.path + "/x.json",
        ])
        #expect(audit.status == 65)
        #expect(audit.stderr.contains(fix), "\(audit.stderr)")
        #expect(access(signed.tree.path + "/x.json", F_OK) != 0)
        let show = warden(["key", "show", "--key", signed.key])
        #expect(show.status == 65 && show.stderr.contains(fix))

        let state = signed.tree.path + "/state"
        #expect([0, 1, 2].contains(warden(["audit", "--state-dir", state]).status))
        chmod(state + "/host-key.pem", 0o640)
        let live = warden(["audit", "--state-dir", state])
        #expect(
            live.status == 65 && live.stderr.contains("host-key.pem: error: host key: private key file has mode 0640"), "\(live.stderr)")
        for line in try secretLines(signed.key) + secretLines(state + "/host-key.pem") {
            for text in [audit.stdout, audit.stderr, show.stdout, show.stderr, live.stdout, live.stderr] { #expect(!text.contains(line)) }
        }
    }

    /// The private key appears in no output of any command and in no envelope.
    @Test(arguments: ["ed25519", "ecdsa-p256"])
    func thePrivateKeyNeverAppearsInAnyOutput(_ algorithm: String) throws {
        let signed = try SignedAudit(algorithm)
        let root = Package.fixtureRoot("sshd-hardened")
        let outputs = [
            warden(["key", "show", "--key", signed.key]),
            warden(["audit", "--root", root, "--key", signed.key, "--output", signed.tree.path + "/2.json"]),
            warden(["audit", "--root", root, "--key", signed.key, "--output", signed.tree.path + "/3.json", "--format", "json"]),
            signed.verify([signed.envelope, signed.key]),
            warden(["verify", signed.envelope, "--trust", signed.key]),
            warden(["audit", "--root", root, "--key", signed.key, "--no-sign"]),
        ]
        let envelopes = try [signed.envelope, signed.tree.path + "/2.json", signed.tree.path + "/3.json"].map { try LocalFile.readText($0) }
        let lines = try secretLines(signed.key)
        for line in lines {
            for o in outputs { #expect(!o.stdout.contains(line) && !o.stderr.contains(line)) }
            for e in envelopes { #expect(!e.contains(line)) }
        }
        #expect(outputs.allSatisfy { !$0.stdout.contains("BEGIN PRIVATE KEY") && !$0.stderr.contains("BEGIN PRIVATE KEY") })
    }
}
