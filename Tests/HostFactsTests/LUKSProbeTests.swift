import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ENC-002, ENC-003 and ENC-004 over real headers: committed ones with systemd-tpm2 tokens, and
/// headers cryptsetup makes at test time on /dev/sda3 of the `weights-lvm-on-luks` fixture.
@Suite struct LUKSProbeTests {
    func findings(_ host: LUKSHost, profile: String = "sl3") throws -> [Finding] {
        try auditEncryption(host.tree.path, profile: profile).findings
    }

    /// A copy of `weights-lvm-on-luks` whose /dev/sda3 is one of the committed headers.
    func hostWithHeader(_ name: String) throws -> TempTree {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.bytes("dev/sda3", try HostRoot(Package.fixtures + "/luks-headers").readHead("/\(name)", count: 16384))
        return tree
    }

    /// A site file registering /srv/weights and declaring an attestation-gated key service.
    static let attestedSite = weightsSite("/srv/weights") + "encryption:\n  attested_key_service: keylime.example.org (verifier)\n"

    @Test func pinLessTPMTokenPassesEverythingButENC004() throws {
        let sl3 = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks")).findings
        for id in encryptionControls where id != "ENC-007" && id != "ENC-004" {
            #expect(sl3[id].status == .pass, "\(id): \(sl3[id].summary)")
        }
        // The TPM unseals on machine state alone: RAND SL2's "keys require authentication" is not met.
        #expect(sl3["ENC-004"].status == .fail)
        #expect(
            sl3["ENC-004"].summary.contains("/dev/sda3 token 0: key release that needs a PIN or a tang server besides the TPM is tpm2"),
            "\(sl3["ENC-004"].summary)")
        #expect(sl3["ENC-004"].summary.contains("a token that releases the key on machine state or a key server alone is tpm2"))
        let sl4 = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"), profile: "sl4").findings
        #expect(sl4["ENC-002"].status == .pass)
        // argon2id with 32 MiB: under SL4's 1 GiB floor. The TPM keyslot (pbkdf2) stays exempt.
        #expect(sl4["ENC-003"].status == .fail)
        #expect(sl4["ENC-003"].summary == "/dev/sda3 keyslot 0: KDF memory in KiB is 32768, expected ≥ 1048576")
        #expect(sl4["ENC-004"].status == .fail)
        #expect(
            sl4["ENC-004"].summary.contains("/dev/sda3 token 0: a signed PCR policy (tpm2_pubkey_pcrs) is false"),
            "\(sl4["ENC-004"].summary)")
    }

    /// ENC-004 over real headers (make-headers.sh: systemd-cryptenroll and clevis luks bind
    /// against a software TPM): which release passes at which level.
    @Test(arguments: [
        ("luks2-tpm2-pcr7.img", true, Status.fail, Status.fail),
        ("luks2-tpm2-pin-argon2id-1g.img", true, .pass, .fail),
        ("luks2-tpm2-pin-signed-policy.img", true, .pass, .pass),
        ("luks2-tpm2-signed-policy.img", true, .fail, .fail),
        ("luks2-clevis-sss-t2-tpm2-tang.img", true, .pass, .fail),
        // Either share alone unlocks: the tang server alone does, without this machine's TPM.
        ("luks2-clevis-sss-t1-tpm2-tang.img", false, .fail, .fail),
    ])
    func keyReleaseByLevel(header: String, tpm: Bool, sl3: Status, sl4: Status) throws {
        let tree = try hostWithHeader(header)
        let (facts, three) = try auditEncryption(tree.path)
        #expect(three["ENC-004"].status == sl3, "SL3 \(header): \(three["ENC-004"].summary)")
        let four = try auditEncryption(tree.path, profile: "sl4").findings
        #expect(four["ENC-004"].status == sl4, "SL4 \(header): \(four["ENC-004"].summary)")
        // Whether every way the token releases the key goes through the TPM (the Code's TPM-held key).
        let device = try #require(try factValue(facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        #expect(device["tpm_token"] == .bool(tpm), "\(header)")
    }

    @Test func aSignedPolicyWithoutAPINFailsSL4WithOnlyTheTPMKeyslot() throws {
        let sl4 = try auditEncryption(Package.fixtureRoot("weights-symlink-into-encrypted-mount"), profile: "sl4").findings
        #expect(sl4["ENC-003"].status == .pass)
        #expect(sl4["ENC-003"].summary.contains("every keyslot belongs to a TPM2 or clevis token"))
        #expect(sl4["ENC-004"].status == .fail)
        #expect(
            sl4["ENC-004"].summary.contains("key release that needs a PIN or a tang server besides the TPM is tpm2"),
            "\(sl4["ENC-004"].summary)")
    }

    @Test func aPINAndASignedPolicyPassSL4() throws {
        let tree = try hostWithHeader("luks2-tpm2-pin-signed-policy.img")
        let sl4 = try auditEncryption(tree.path, profile: "sl4").findings
        for id in ["ENC-002", "ENC-003", "ENC-004"] { #expect(sl4[id].status == .pass, "\(id): \(sl4[id].summary)") }
    }

    @Test func aRealClevisSSSBindingIsReadFromItsJWE() throws {
        let two = try hostWithHeader("luks2-clevis-sss-t2-tpm2-tang.img")
        let (facts, sl3) = try auditEncryption(two.path)
        let device = try #require(try factValue(facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        let token = try #require(device["tokens"]?.arrayValue?.first)
        #expect(token["type"] == "clevis")
        #expect(token["clevis_pins"] == ["sss:tpm2", "sss:tang"])
        #expect(token["clevis_threshold"] == 2)
        #expect(token["release"] == "tpm2+tang")
        #expect(token["signed_policy"] == false)
        #expect(token["live"] == true)
        #expect(sl3["ENC-004"].status == .pass)
        #expect(
            sl3["ENC-004"].evidence.contains {
                $0.observed == "tpm2+tang" && $0.ok == true && $0.expected.hasPrefix("key release that needs a PIN or a tang server")
            }, "\(sl3["ENC-004"].evidence)")
        // The clevis keyslot holds a random secret: exempt from the KDF rule.
        #expect(sl3["ENC-003"].status == .pass)
        let oneTree = try hostWithHeader("luks2-clevis-sss-t1-tpm2-tang.img")
        let one = try auditEncryption(oneTree.path)
        let t1 = try #require(try factValue(one.facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        #expect(t1["tokens"]?[0]?["clevis_threshold"] == 1)
        #expect(t1["tokens"]?[0]?["release"] == "tpm2")
        #expect(t1["tpm_token"] == false)
        #expect(one.findings["ENC-004"].status == .fail)
    }

    /// A declared attestation-gated key service leaves a volume no token covers to a reviewer;
    /// a volume a token covers needs no review.
    @Test func anAttestedKeyServiceMakesENC004Manual() throws {
        let tree = try hostWithHeader("luks2-tpm2-pcr7.img")
        for profile in ["sl3", "sl4"] {
            let f = try auditEncryption(tree.path, profile: profile, site: Self.attestedSite).findings["ENC-004"]
            #expect(f.status == .manual, "\(profile): \(f.summary)")
            #expect(
                f.summary.hasPrefix("/dev/sda3: the site declares an attestation-gated key service: a reviewer must check"), "\(f.summary)")
            #expect(f.summary.hasSuffix("(encryption.attested_key_service is keylime.example.org (verifier))"), "\(f.summary)")
            #expect(!f.blocksConformance)
        }
        let pin = try hostWithHeader("luks2-tpm2-pin-argon2id-1g.img")
        let covered = try auditEncryption(pin.path, site: Self.attestedSite).findings
        #expect(covered["ENC-004"].status == .pass)
        // A key file on plain storage still fails: the review covers the key service, not the files.
        tree.file("boot/keys/sda3.key", "fixture key", mode: 0o400)
        tree.file("etc/crypttab", "sda3_crypt UUID=627ea73d-8b14-4bd6-a2c9-7c251e9d81c7 /boot/keys/sda3.key luks\n")
        #expect(try auditEncryption(tree.path, site: Self.attestedSite).findings["ENC-004"].status == .fail)
    }

    @Test func xtsWithA32ByteKeyIsAES128() throws {
        let weak = try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "256"])
        let f = try findings(weak)["ENC-002"]
        #expect(f.status == .fail)
        #expect(f.summary == "/dev/sda3: effective key strength in bits is 128, expected ≥ 256")
        #expect(f.evidence.contains { $0.source == "/dev/sda3" && $0.observed == 128 })

        let strong = try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "512"])
        let g = try findings(strong)["ENC-002"]
        #expect(g.status == .pass)
        #expect(g.evidence.contains { $0.observed == 256 })
    }

    @Test func ecbAndNonAESCiphersFail() throws {
        let ecb = try LUKSHost(["--type", "luks2", "--cipher", "aes-ecb", "--key-size", "256"])
        let f = try findings(ecb)["ENC-002"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("cipher mode is ecb, expected does not contain ecb"))
        // cryptsetup here formats only AES without device-mapper; SM4 (a 128-bit block cipher) is
        // put into a real header by rewriting its JSON and checksum.
        let sm4 = try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "512"])
        try resealed(sm4.device, replacing: "aes-xts-plain64", with: "sm4-xts-plain64")
        let g = try findings(sm4)["ENC-002"]
        #expect(g.status == .fail)
        #expect(g.summary == "/dev/sda3: cipher is sm4, expected one of [aes, adiantum, chacha20, xchacha20]")
    }

    /// Rewrites every occurrence of a string in a LUKS2 header's JSON area (same length) and recomputes the
    /// header checksum, as cryptsetup would after changing the metadata.
    func resealed(_ path: String, replacing old: String, with new: String) throws {
        let tree = try HostRoot("/")
        var bytes = try tree.readHead(path, count: 16384)
        let from = Array(old.utf8)
        let to = Array(new.utf8)
        try #require(from.count == to.count)
        let places = (4096..<(16384 - from.count)).filter { Array(bytes[$0..<$0 + from.count]) == from }
        try #require(!places.isEmpty)
        for at in places { bytes.replaceSubrange(at..<at + from.count, with: to) }
        for i in 448..<512 { bytes[i] = 0 }
        bytes.replaceSubrange(448..<480, with: sha256(bytes))
        let file = try #require(fopen(path, "r+"))
        defer { fclose(file) }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    }

    @Test func luks1PassesSL3CipherButNotSL4OrTheKDF() throws {
        let host = try LUKSHost(["--type", "luks1", "--cipher", "aes-xts-plain64", "--key-size", "512"])
        let sl3 = try findings(host)
        #expect(sl3["ENC-002"].status == .pass)
        #expect(sl3["ENC-003"].status == .fail)
        #expect(sl3["ENC-003"].summary.contains("/dev/sda3 keyslot 0: key derivation function is pbkdf2"))
        let sl4 = try findings(host, profile: "sl4")
        #expect(sl4["ENC-002"].status == .fail)
        #expect(sl4["ENC-002"].summary.contains("LUKS version is 1, expected ≥ 2"))
    }

    @Test func pbkdf2PassphraseKeyslotFailsArgon2idPasses() throws {
        let host = try LUKSHost(["--type", "luks2", "--pbkdf", "pbkdf2"])
        let f = try findings(host)["ENC-003"]
        #expect(f.status == .fail)
        #expect(f.summary == "/dev/sda3 keyslot 0: key derivation function is pbkdf2, expected one of [argon2id, argon2i]")
        try cryptsetup([
            "luksConvertKey", "--batch-mode", "--key-file", host.keyFile, "--pbkdf", "argon2id",
            "--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4", host.device,
        ])
        #expect(try findings(host)["ENC-003"].status == .pass)
    }

    /// The token systemd-cryptenroll writes (as in luks2-tpm2-pcr7.img, made through a software
    /// TPM) for `keyslot`, with or without a PIN: the TPM that sealed the blob is gone.
    static func tpm2Token(keyslot: String, pin: Bool) -> String {
        """
        {"type":"systemd-tpm2","keyslots":["\(keyslot)"],"tpm2-blob":"AJ4AIIfrvGL/an5BY6TJv4r3ldXxUlPyECviPu3FXDepnWyvABBUtVHFbAJRLtP5","tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc","tpm2-policy-hash":"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b","tpm2-pin":\(pin)}
        """
    }

    /// A pbkdf2 keyslot owned by a TPM2 token is exempt; the same keyslot without the token is not.
    @Test func tpmTokenKeyslotIsExemptFromTheKDFRule() throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        #expect(try findings(host)["ENC-003"].status == .fail)
        try host.importToken(Self.tpm2Token(keyslot: "1", pin: true))
        let (facts, sl3) = try auditEncryption(host.tree.path)
        #expect(sl3["ENC-003"].status == .pass, "\(sl3["ENC-003"].summary)")
        #expect(sl3["ENC-004"].status == .pass)
        let device = try #require(try factValue(facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        let slot1 = try #require(device["keyslots"]?.arrayValue?.first { $0["id"] == "1" })
        #expect(slot1["tpm_or_clevis_token"] == true)
        #expect(slot1["token_types"] == ["systemd-tpm2"])
        #expect(device["tokens"]?.arrayValue?.first?["tpm2_pcrs"] == [7])
        #expect(device["tokens"]?.arrayValue?.first?["release"] == "tpm2+pin")
    }

    /// A PIN token does not make up for a PIN-less one beside it: the volume still unlocks on
    /// machine state through the weaker token.
    @Test func aWeakerTokenBesideAStrongOneFails() throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "2"])
        try host.importToken(Self.tpm2Token(keyslot: "1", pin: true))
        #expect(try findings(host)["ENC-004"].status == .pass)
        try host.importToken(Self.tpm2Token(keyslot: "2", pin: false))
        let f = try findings(host)["ENC-004"]
        #expect(f.status == .fail)
        #expect(
            f.summary == "/dev/sda3 token 1: a token that releases the key on machine state or a key server alone is tpm2 (not allowed)")
    }

    @Test func noTokenFailsENC004() throws {
        let host = try LUKSHost(["--type", "luks2"])
        let f = try findings(host)["ENC-004"]
        #expect(f.status == .fail)
        #expect(f.summary.contains("/dev/sda3: a token that unlocks the volume through this machine's TPM is false"), "\(f.summary)")
        #expect(f.summary.contains("no token unlocks the volume"))
    }

    /// A clevis token as clevis-luks-bind writes it (the JWE in flattened form), with a
    /// protected header built by hand: `pin` alone, or `sss` over `shares` with threshold `t`.
    func clevisToken(pin: String, shares: [String] = [], t: Int = 1) -> String {
        let header: String
        if pin == "sss" {
            let jwes = shares.map { "\"\(base64URL("{\"alg\":\"dir\",\"clevis\":{\"pin\":\"\($0)\"},\"enc\":\"A256GCM\"}")).AA.AA.AA.AA\"" }
            header =
                "{\"alg\":\"dir\",\"clevis\":{\"pin\":\"sss\",\"sss\":{\"jwe\":[\(jwes.joined(separator: ","))],\"p\":\"AA\",\"t\":\(t)}},\"enc\":\"A256GCM\"}"
        } else {
            header =
                "{\"alg\":\"dir\",\"clevis\":{\"pin\":\"\(pin)\",\"\(pin)\":{\"hash\":\"sha256\",\"key\":\"ecc\",\"pcr_bank\":\"sha256\",\"pcr_ids\":\"7\"}},\"enc\":\"A256GCM\"}"
        }
        return
            "{\"type\":\"clevis\",\"keyslots\":[\"1\"],\"jwe\":{\"ciphertext\":\"AAAA\",\"encrypted_key\":\"\",\"iv\":\"AAAA\",\"protected\":\"\(base64URL(header))\",\"tag\":\"AAAA\"}}"
    }

    /// clevis pins and sss quorums: which release each comes to, and ENC-004 at SL3.
    @Test(arguments: [
        ("tpm2", [String](), 1, "tpm2", true, Status.fail),
        ("tang", [], 1, "tang", false, .fail),
        ("null", [], 1, "none", false, .fail),
        ("sss", ["tpm2", "tang"], 2, "tpm2+tang", true, .pass),
        ("sss", ["tpm2", "tang"], 1, "tpm2", false, .fail),
        ("sss", ["tpm2", "tpm2"], 2, "tpm2", true, .fail),
        // Two tang servers make a quorum without the TPM.
        ("sss", ["tpm2", "tang", "tang"], 2, "tang", false, .fail),
        ("sss", ["tpm2", "tpm2", "tang"], 3, "tpm2+tang", true, .pass),
        // A null share is no protection: the TPM share and it make a quorum.
        ("sss", ["tpm2", "tang", "null"], 2, "tpm2", false, .fail),
    ])
    func clevisReleases(pin: String, shares: [String], t: Int, release: String, tpm: Bool, status: Status) throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        try host.importToken(clevisToken(pin: pin, shares: shares, t: t))
        let (facts, sl3) = try auditEncryption(host.tree.path)
        #expect(sl3["ENC-004"].status == status, "\(pin) \(shares) t=\(t): \(sl3["ENC-004"].summary)")
        // Either way the clevis keyslot holds a random secret: exempt from the KDF rule.
        #expect(sl3["ENC-003"].status == .pass)
        let device = try #require(try factValue(facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        let token = try #require(device["tokens"]?.arrayValue?.first)
        #expect(token["release"] == .string(release), "\(pin) \(shares) t=\(t)")
        #expect(token["clevis_pins"] == .array((pin == "sss" ? shares.map { "sss:" + $0 } : [pin]).map { .string($0) }))
        #expect(device["tpm_token"] == .bool(tpm), "\(pin) \(shares) t=\(t)")
        // clevis binds no signed PCR policy: never enough for SL4.
        #expect(try findings(host, profile: "sl4")["ENC-004"].status == .fail)
    }

    /// clevis 19 cannot use these: the token unlocks nothing (not live), with the reason.
    @Test(arguments: [
        ("pkcs11", [String](), 1, "it has no pin 'pkcs11'"),
        ("sss", ["tpm2", "tang"], 3, "the sss pin needs 3 shares and only 2 of 2 can be decrypted"),
        ("sss", ["tpm2", "yubikey"], 2, "the sss pin needs 2 shares and only 1 of 2 can be decrypted"),
        ("sss", ["tpm2", "tang"], 0, "the sss threshold (clevis.sss.t) is not a number from 1"),
    ])
    func clevisTokensClevisCannotUse(pin: String, shares: [String], t: Int, why: String) throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        try host.importToken(clevisToken(pin: pin, shares: shares, t: t))
        let (facts, sl3) = try auditEncryption(host.tree.path)
        let device = try #require(try factValue(facts, "luks")["volumes"]?.arrayValue?.first?["devices"]?.arrayValue?.first)
        let token = try #require(device["tokens"]?.arrayValue?.first)
        #expect(token["live"] == false)
        #expect(token["problem"] == .string("clevis 19 cannot use this token: " + why), "\(token)")
        #expect(sl3["ENC-004"].status == .fail)
    }

    @Test func keyFileOnThePlainRootFailsOnEncryptedStoragePassesSL3Only() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-plain-ext4")
        let plain = try auditEncryption(tree.path).findings
        #expect(plain["ENC-004"].status == .notApplicable)

        // weights-lvm-on-luks: the root is on the same LUKS volume, so a key file there is encrypted.
        let luks = try hostWithHeader("luks2-tpm2-pin-argon2id-1g.img")
        luks.file("etc/cryptsetup-keys.d/backup_crypt.key", "fixture key", mode: 0o400)
        let sl3 = try auditEncryption(luks.path).findings["ENC-004"]
        #expect(sl3.status == .pass, "\(sl3.summary)")
        let sl4 = try auditEncryption(luks.path, profile: "sl4").findings["ENC-004"]
        #expect(sl4.status == .fail)
        #expect(sl4.evidence.contains { $0.expected.hasPrefix("no key files") })

        // A key file on /boot (plain sda1) defeats the encryption even at SL3.
        luks.file("boot/keys/sda3.key", "fixture key", mode: 0o400)
        luks.file("etc/crypttab", "sda3_crypt UUID=627ea73d-8b14-4bd6-a2c9-7c251e9d81c7 /boot/keys/sda3.key luks\n")
        let (facts, bad) = try auditEncryption(luks.path)
        #expect(bad["ENC-004"].status == .fail)
        #expect(bad["ENC-004"].summary.contains("/boot/keys/sda3.key: key file on encrypted storage is false"))
        let keyFiles = try #require(try factValue(facts, "luks")["key_files"]?.arrayValue)
        #expect(keyFiles.contains { $0["path"] == "/boot/keys/sda3.key" && $0["source"] == "/etc/crypttab:1" })
    }

    @Test func plainDMCryptWeightsCannotBeCheckedForCipher() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-PLAIN-sda3_crypt\n")
        let findings = try auditEncryption(tree.path).findings
        #expect(findings["ENC-001"].status == .pass)
        #expect(findings["ENC-002"].status == .error)
        #expect(findings["ENC-002"].summary.contains("PLAIN dm-crypt mapping dm-0 has no LUKS header"))
    }

    @Test(arguments: [
        (0, "bad magic", "byte offset 0"),
        (4096 + 200, "JSON metadata", "byte offset 4296"),
    ])
    func corruptHeaderIsAnErrorNamingTheOffset(cutAt: Int, what: String, offset: String) throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        var bytes = try HostRoot(tree.path).readHead("/dev/sda3", count: 16384)
        if cutAt == 0 { bytes[0] = 0 } else { for i in cutAt..<bytes.count { bytes[i] = 0 } }
        tree.bytes("dev/sda3", bytes)
        let f = try auditEncryption(tree.path).findings["ENC-002"]
        #expect(f.status == .error)
        #expect(f.summary.contains("/dev/sda3: LUKS header invalid at \(offset)"), "\(f.summary)")
        #expect(f.summary.contains(what))
    }

    @Test func missingDeviceNodeOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-f", tree.path + "/dev/sda3"])
        let f = try auditEncryption(tree.path).findings["ENC-002"]
        #expect(f.status == .notChecked)
        #expect(f.summary == "/dev/sda3: /dev/sda3 does not exist (offline root)")
    }
}
