import Glibc
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The canary key's HMAC (RFC 4231's vectors through libcrypto), the key file's life (made,
/// refused when others may read it, never overwritten) and the redaction rule on strings, JSON
/// and fact sets.
@Suite struct CanaryRedactionTests {
    @Test(arguments: [
        ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (
            Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (Array(1...25), [UInt8](repeating: 0xcd, count: 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ])
    func rfc4231Vectors(key: [UInt8], message: [UInt8], mac: String) throws {
        #expect(hex(try HMACKey(testBytes: key).mac(message)) == mac)
    }

    /// The digest of a path is `canary:` and the HMAC of its bytes (python's hmac agrees: 9cf1…).
    static let key = HMACKey(testBytes: Array(0..<32))
    static let digest = "canary:9cf14a40aa8cad8eaf99176280d17ccd43653ba1da0eb51470331625ecb16a66"

    func redaction(_ paths: [String] = ["/srv/weights/.canary"]) throws -> CanaryRedaction {
        try CanaryRedaction(canaries: paths, key: Self.key)
    }

    @Test func theDigestIsTheHMACOfThePath() throws {
        let r = try redaction()
        #expect(r.canaries.map(\.path) == ["/srv/weights/.canary"] && r.canaries.map(\.digest) == [Self.digest])
        #expect(
            try CanaryRedaction(canaries: ["/srv/weights/.canary"], key: HMACKey(testBytes: Array(1...32))).canaries[0].digest
                != Self.digest)
    }

    @Test(arguments: [
        ("/srv/weights/.canary", digest),
        ("-w /srv/weights/.canary -p r -k weights-canary", "-w \(digest) -p r -k weights-canary"),
        ("-a always,exit -F path=/srv/weights/.canary -F perm=r", "-a always,exit -F path=\(digest) -F perm=r"),
        // The path inside a longer one is hidden whole; what follows it stays.
        ("/srv/weights/.canary.bak", "\(digest).bak"),
        // The file name where it stands alone: a relative path, a bare name, a message.
        ("llama-70b/../.canary", "llama-70b/../\(digest)"),
        (".canary", digest),
        ("cannot read '.canary': Permission denied", "cannot read '\(digest)': Permission denied"),
        ("/mnt/copy/.canary", "/mnt/copy/\(digest)"),
        // Not inside a longer name or word.
        (".canary.bak", ".canary.bak"),
        ("weights-canary", "weights-canary"),
        ("x.canary", "x.canary"),
        ("/srv/weights", "/srv/weights"),
        // A digest already there is left alone: redacting twice changes nothing.
        (digest, digest),
        ("", ""),
    ])
    func stringsAreRedacted(input: String, expected: String) throws {
        let r = try redaction()
        #expect(r.redact(input) == expected)
        #expect(r.redact(r.redact(input)) == expected)
    }

    /// A canary named like the digest prefix is not replaced inside a digest it produced.
    @Test func aCanaryNamedCanary() throws {
        let r = try redaction(["/srv/weights/canary"])
        let d = r.canaries[0].digest
        #expect(r.redact("/srv/weights/canary") == d)
        #expect(r.redact("canary: /srv/weights/canary") == "\(d): \(d)")
        #expect(r.redact("canary") == d)
    }

    /// Of two canaries where one path extends the other, each becomes its own digest; a name two
    /// canaries share stands for the first listed.
    @Test func severalCanaries() throws {
        let r = try redaction(["/a/.canary", "/a/.canary2", "/b/.canary"])
        let (a, a2, b) = (r.canaries[0].digest, r.canaries[1].digest, r.canaries[2].digest)
        #expect(Set([a, a2, b]).count == 3)
        #expect(r.redact("/a/.canary2 /a/.canary /b/.canary") == "\(a2) \(a) \(b)")
        #expect(r.redact(".canary2 .canary") == "\(a2) \(a)")
        #expect(try redaction(["/a/.canary", "/a/.canary"]).canaries.count == 1)
    }

    /// Strings pieced together from paths, names, digests and separators: after redaction no
    /// canary path is left, nor its name with a non-name byte (or nothing) on both sides, and a
    /// second redaction changes nothing.
    @Test func randomCompositionsLeaveNoCanary() throws {
        let r = try redaction(["/srv/weights/.canary", "/srv/weights/.canary2", "/data/x"])
        let pieces = [
            "/srv/weights/.canary", "/srv/weights/.canary2", ".canary", ".canary2", "/data/x", "x", "/srv/weights/", "/srv/", "weights",
            Self.digest, "canary:", "canary", ".", "/", " ", "'", "-", "_", "a", "é", "\n", ":", "=",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let once = r.redact(text)
            #expect(r.redact(once) == once, "\(text)")
            #expect(!once.contains("/srv/weights/.canary") && !once.contains("/data/x"), "\(text) → \(once)")
            let bytes = Array(once.utf8)
            for name in [".canary", ".canary2"] {
                let n = Array(name.utf8)
                guard bytes.count >= n.count else { continue }
                for i in 0...(bytes.count - n.count) where Array(bytes[i..<(i + n.count)]) == n {
                    let before = i == 0 ? nil : bytes[i - 1]
                    let after = i + n.count == bytes.count ? nil : bytes[i + n.count]
                    let standsAlone = [before, after].allSatisfy { b in
                        b.map { !($0 >= 0x80 || "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-".utf8.contains($0)) }
                            ?? true
                    }
                    #expect(!standsAlone, "\(text) → \(once)")
                }
            }
        }
    }

    @Test func jsonKeysValuesAndFactSets() throws {
        let r = try redaction()
        let json: JSON = [
            "/srv/weights/.canary": "sha", "list": ["/srv/weights/.canary", 3, true, .null], "n": 1,
            "nested": ["reason": "no rule watches /srv/weights/.canary"],
        ]
        #expect(
            r.redact(json) == [
                Self.digest: "sha", "list": [.string(Self.digest), 3, true, .null], "n": 1,
                "nested": ["reason": .string("no rule watches \(Self.digest)")],
            ])
        var facts = FactSet(mode: .offline)
        facts["audit_rules"] = .value(["canaries": [["path": "/srv/weights/.canary", "covered": true]]])
        facts["weights_tree"] = .unavailable(.error("/srv/weights/.canary: Permission denied"))
        facts.files = ["/srv/weights/.canary": "ab", "/etc/passwd": "cd"]
        let redacted = r.redact(facts)
        #expect(redacted["audit_rules"] == .value(["canaries": [["path": .string(Self.digest), "covered": true]]]))
        #expect(redacted["weights_tree"] == .unavailable(.error("\(Self.digest): Permission denied")))
        #expect(redacted.files == [Self.digest: "ab", "/etc/passwd": "cd"])
        #expect(redacted.mode == .offline)
        let bytes = String(decoding: redacted.json.serialized(), as: UTF8.self)
        #expect(!bytes.contains("/srv/weights/.canary") && !bytes.contains(".canary\""))
        // Without canaries nothing changes.
        #expect(try redaction([]).redact(facts) == facts)
    }

    /// Only the terminal's text maps digests back, shortened, with the path.
    @Test func revealShowsThePathBesideAShortDigest() throws {
        let r = try redaction()
        let other = "canary:" + String(repeating: "0", count: 64)
        #expect(
            r.reveal("  \(Self.digest): the canary file exists is false; \(other)")
                == "  canary:9cf14a40… (/srv/weights/.canary): the canary file exists is false; \(other)")
        #expect(r.reveal("nothing here") == "nothing here")
    }

    @Test func aFailingMACIsAnError() {
        let error = #expect(throws: WardenError.self) {
            try CanaryRedaction(canaries: ["/c"], mac: { (_: [UInt8]) throws(WardenError) -> [UInt8] in throw WardenError(.io, "no MAC") })
        }
        #expect(error?.message == "no MAC")
    }

    /// The key file: 32 random bytes, mode 0600, never overwritten; one that others may read,
    /// or of another length, is refused by name.
    @Test func theKeyFile() throws {
        let tree = TempTree(prefix: "warden-canary-key")
        let path = tree.path + "/canary.key"
        let key = try HMACKey.generate()
        try key.write(toNewFile: path)
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_size == 32)
        #expect(try HMACKey.load(path).mac([1]) == key.mac([1]))
        #expect(try HMACKey.generate().mac([1]) != key.mac([1]))
        let exists = #expect(throws: OpenSSLError.self) { try HMACKey.generate().write(toNewFile: path) }
        #expect(exists?.kind == .fileExists)
        #expect(try HMACKey.load(path).mac([1]) == key.mac([1]))
        #expect(access(path + ".tmp-\(getpid())", F_OK) != 0)

        chmod(path, 0o640)
        let open = #expect(throws: OpenSSLError.self) { try HMACKey.load(path) }
        #expect(open?.kind == .insecurePermissions)
        #expect(open?.description.contains("canary key file has mode 0640") == true)
        let short = tree.bytes("short.key", [1, 2, 3], mode: 0o600)
        let wrong = #expect(throws: OpenSSLError.self) { try HMACKey.load(short) }
        #expect(wrong?.kind == .invalidKey)
        #expect(wrong?.description.contains("a canary key is 32 bytes, this file has 3") == true)
        #expect((#expect(throws: OpenSSLError.self) { try HMACKey.load(tree.path + "/none") })?.kind == .missingFile)
    }

    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
