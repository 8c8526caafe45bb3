import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct LUKSHeaderTests {
    /// Headers committed in Tests/Fixtures/luks-headers, made by cryptsetup and
    /// systemd-cryptenroll against a software TPM (see make-headers.sh there).
    func committed(_ name: String) throws -> [UInt8] {
        let root = try HostRoot(Package.fixtures + "/luks-headers")
        return try root.readHead("/" + name, count: HostRoot.deviceLimit)
    }

    func formatted(_ extra: [String]) throws -> [UInt8] {
        let host = try LUKSHost(extra)
        return try HostRoot(host.tree.path).readHead("/dev/sda3", count: HostRoot.deviceLimit)
    }

    @Test func systemdTPM2TokenFromARealEnrolment() throws {
        let h = try LUKSHeader.parse(try committed("luks2-tpm2-pcr7.img"))
        #expect(h.version == 2)
        #expect(h.headerSize == 16384)
        #expect(h.uuid == "627ea73d-8b14-4bd6-a2c9-7c251e9d81c7")
        #expect(h.checksum == "sha256")
        #expect(h.segments.map(\.cipher) == ["aes-xts-plain64"])
        #expect(h.keyslots.map(\.id) == ["0", "1"])
        #expect(h.keyslots[0].kdf == "argon2id" && h.keyslots[0].memoryKiB == 32768 && h.keyslots[0].keySize == 64)
        #expect(h.keyslots[1].kdf == "pbkdf2" && h.keyslots[1].memoryKiB == nil)
        let token = try #require(h.tokens.first)
        #expect(token.type == "systemd-tpm2")
        #expect(token.keyslots == ["1"])
        #expect(token.tpm2PCRs == [7])
        #expect(token.tpm2PCRBank == "sha256")
        #expect(token.tpm2Pin == false)
        #expect(token.tpm2PubkeyPCRs == [])
    }

    @Test func pinAndSignedPolicyTokens() throws {
        let pin = try LUKSHeader.parse(try committed("luks2-tpm2-pin-argon2id-1g.img"))
        #expect(pin.tokens.first?.tpm2Pin == true)
        #expect(pin.keyslots.first?.memoryKiB == 1_048_576)
        let signed = try LUKSHeader.parse(try committed("luks2-tpm2-signed-policy.img"))
        #expect(signed.tokens.first?.tpm2PubkeyPCRs == [11])
        #expect(signed.tokens.first?.tpm2PCRs == [])
        // The passphrase keyslot was wiped: only the TPM's remains.
        #expect(signed.keyslots.map(\.id) == ["1"])
    }

    @Test func aPINTokenWithASignedPolicy() throws {
        let h = try LUKSHeader.parse(try committed("luks2-tpm2-pin-signed-policy.img"))
        let token = try #require(h.tokens.first)
        #expect(token.tpm2Pin == true)
        #expect(token.tpm2PCRs == [7])
        #expect(token.tpm2PubkeyPCRs == [11])
        #expect(token.problem == nil)
        #expect(LUKSHeader.release(of: token) == "tpm2+pin")
    }

    /// clevis 19's `clevis luks bind … sss` token: the threshold and the pins of the shares come
    /// from the JWE's protected header and the headers of the compact JWEs inside it.
    @Test(arguments: [("luks2-clevis-sss-t2-tpm2-tang.img", 2, "tpm2+tang", true), ("luks2-clevis-sss-t1-tpm2-tang.img", 1, "tpm2", false)])
    func clevisSSSBindings(name: String, threshold: Int64, release: String, needsTPM: Bool) throws {
        let h = try LUKSHeader.parse(try committed(name))
        let token = try #require(h.tokens.first)
        #expect(token.type == "clevis")
        #expect(token.keyslots == ["1"])
        #expect(token.clevisPins == ["sss:tpm2", "sss:tang"])
        #expect(token.clevisThreshold == threshold)
        #expect(token.problem == nil)
        #expect(LUKSHeader.release(of: token) == release)
        #expect(LUKSHeader.needsTPM(token) == needsTPM)
    }

    @Test func cryptsetupLUKS2CipherAndKeySize() throws {
        let h = try LUKSHeader.parse(try formatted(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "256"]))
        #expect(h.segments.first?.cipher == "aes-xts-plain64")
        #expect(h.keyslots.first?.keySize == 32)
        #expect(h.keyslots.first?.kdf == "argon2id")
    }

    @Test func cryptsetupLUKS1() throws {
        let h = try LUKSHeader.parse(try formatted(["--type", "luks1", "--cipher", "aes-cbc-essiv:sha256", "--key-size", "256"]))
        #expect(h.version == 1)
        #expect(h.segments.first?.cipher == "aes-cbc-essiv:sha256")
        #expect(h.keyslots.count == 1)
        #expect(h.keyslots.first?.kdf == "pbkdf2")
        #expect(h.keyslots.first?.iterations == 1000)
        #expect(h.keyslots.first?.keySize == 32)
    }

    /// systemd 252 refuses a systemd-tpm2 token with signed-policy PCRs but no public key (luksDump
    /// shows nothing of it): Warden keeps the token with the reason, and it unlocks nothing.
    @Test func aTokenSystemdRefusesCarriesItsReason() throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.importToken(
            #"{"type":"systemd-tpm2","keyslots":["0"],"tpm2-blob":"AAAA","tpm2-pcrs":[7],"tpm2-policy-hash":"00","tpm2_pubkey_pcrs":[11]}"#)
        let h = try LUKSHeader.parse(try HostRoot(host.tree.path).readHead("/dev/sda3", count: HostRoot.deviceLimit))
        #expect(h.tokens.first?.problem?.contains("tpm2_pubkey_pcrs without tpm2_pubkey") == true)
        let luks = try factValue(try auditEncryption(host.tree.path).facts, "luks")
        let devices = (luks["volumes"]?.arrayValue ?? []).flatMap { $0["devices"]?.arrayValue ?? [] }
        let device = try #require(devices.first { $0["device"] == "/dev/sda3" })
        #expect(device["tpm_token"] == false)
        #expect(device["tokens"]?[0]?["live"] == false)
        #expect(device["tokens"]?[0]?["problem"]?.stringValue?.hasPrefix("systemd 252 refuses this systemd-tpm2 token") == true)
    }

    @Test func badMagicNamesOffsetZero() throws {
        var bytes = try committed("luks2-tpm2-pcr7.img")
        bytes[0] = UInt8(ascii: "X")
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .badMagic)
        #expect(error.offset == 0)
        #expect(error.description.contains("byte offset 0"))
        bytes[0] = UInt8(ascii: "L")
        bytes[5] = 0xBF
        #expect((try? LUKSHeader.parse(bytes)) == nil)
        #expect((#expect(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) })?.offset == 5)
    }

    @Test func truncatedJSONNamesTheOffsetWhereItEnds() throws {
        var bytes = try committed("luks2-tpm2-pcr7.img")
        // Cut the JSON text 300 bytes into the area: NUL padding from there on.
        for i in (4096 + 300)..<16384 { bytes[i] = 0 }
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .badJSON)
        #expect(error.offset == 4096 + 300)
        #expect(error.message.hasPrefix("JSON metadata: unterminated string"))
    }

    @Test func shortReadIsTruncated() throws {
        let bytes = Array(try committed("luks2-tpm2-pcr7.img").prefix(8000))
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .truncated)
        #expect(error.offset == 8000)
        #expect(error.message.contains("16384"))
    }

    @Test func wrongHeaderSizeNamesOffsetEight() throws {
        var bytes = try committed("luks2-tpm2-pcr7.img")
        bytes[14] = 0x50  // hdr_size 16384 + 0x5000
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .badHeaderSize)
        #expect(error.offset == 8)
    }

    @Test func alteredMetadataFailsTheChecksum() throws {
        var bytes = try committed("luks2-tpm2-pcr7.img")
        // "aes-xts-plain64" → "aes-ecb-plain64" without recomputing the checksum.
        let text = Array("aes-xts-plain64".utf8)
        let at = try #require((4096..<16384).first { Array(bytes[$0..<$0 + text.count]) == text })
        bytes.replaceSubrange(at + 4..<at + 7, with: Array("ecb".utf8))
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .badChecksum)
        #expect(error.offset == 448)
    }

    @Test func unsupportedVersion() throws {
        var bytes = try committed("luks2-tpm2-pcr7.img")
        bytes[7] = 3
        let error = try #require(throws: LUKSHeaderError.self) { try LUKSHeader.parse(bytes) }
        #expect(error.code == .unsupportedVersion)
        #expect(error.offset == 6)
    }

    @Test(arguments: [
        ("aes-xts-plain64", Int64(64), "aes", Int64(256)),
        ("aes-xts-plain64", 32, "aes", 128),
        ("aes-cbc-essiv:sha256", 32, "aes", 256),
        ("aes-cbc-essiv:sha256", 16, "aes", 128),
        ("capi:xts(aes)-plain64", 64, "aes", 256),
        ("xchacha20,aes-adiantum-plain64", 32, "adiantum", 256),
        ("cipher_null-ecb", 0, "cipher_null", 0),
        ("serpent-xts-plain64", 64, "serpent", 256),
    ])
    func cipherStrength(cipher: String, keyBytes: Int64, family: String, bits: Int64) {
        let s = LUKSHeader.strength(cipher: cipher, keyBytes: keyBytes)
        #expect(s.family == family)
        #expect(s.securityBits == bits)
    }
}
