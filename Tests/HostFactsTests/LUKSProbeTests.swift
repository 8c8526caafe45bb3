import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The `luks` fact over real headers (committed ones with systemd-tpm2 and clevis tokens, and
/// headers cryptsetup makes at test time on /dev/sda3 of the `weights-lvm-on-luks` fixture), and
/// ENC-002, ENC-003 and ENC-004 over tables of canned `luks` facts.
@Suite struct LUKSProbeTests {
    // MARK: - Probe tests: the facts of real headers

    /// The `luks` fact of a root whose weights are /srv/weights.
    func luks(_ root: String) throws -> JSON {
        try probeFact("luks", of: LUKSProbe(), root: root, site: weightsSite("/srv/weights"))
    }

    /// The one LUKS device under /srv/weights.
    func device(_ root: String) throws -> JSON {
        try #require(try luks(root)["volumes"]?[0]?["devices"]?[0])
    }

    // Taking the tree, not its path, keeps it (and its files) alive while the probe reads it.
    func luks(_ tree: TempTree) throws -> JSON { try luks(tree.path) }
    func device(_ tree: TempTree) throws -> JSON { try device(tree.path) }
    func device(_ host: LUKSHost) throws -> JSON { try device(host.tree) }

    /// A copy of `weights-lvm-on-luks` whose /dev/sda3 is one of the committed headers.
    func hostWithHeader(_ name: String) throws -> TempTree {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.bytes("dev/sda3", try HostRoot(Package.fixtures + "/luks-headers").readHead("/\(name)", count: 16384))
        return tree
    }

    @Test func aPINLessTPMTokenOfTheFixture() throws {
        let fact = try luks(Package.fixtureRoot("weights-lvm-on-luks"))
        #expect(fact["weights_origin"] == "site")
        #expect(fact["volumes"]?[0]?["path"] == "/srv/weights")
        #expect(fact["crypttab"]?["present"] == true)
        #expect(fact["crypttab"]?["entries"]?[0]?["source"] == "/etc/crypttab:2")
        #expect(fact["key_files"] == [])
        let d = try #require(fact["volumes"]?[0]?["devices"]?[0])
        #expect(d["device"] == "/dev/sda3")
        #expect(d["mapping_name"] == "sda3_crypt")
        #expect(d["crypttab"]?["options"] == ["luks", "discard", "tpm2-device=auto"])
        #expect(d["version"] == 2)
        #expect(d["cipher"] == "aes-xts-plain64")
        #expect(d["cipher_family"] == "aes")
        #expect(d["cipher_mode"] == "xts-plain64")
        #expect(d["key_bits"] == 512)
        #expect(d["security_bits"] == 256)
        let slots = try #require(d["keyslots"]?.arrayValue)
        #expect(slots.map { $0["id"] } == ["0", "1"])
        #expect(slots.map { $0["kdf"] } == ["argon2id", "pbkdf2"])
        #expect(slots.map { $0["memory_kib"] } == [32768, 0])
        // The TPM keyslot (pbkdf2, holding a random secret) is the token's.
        #expect(slots.map { $0["tpm_or_clevis_token"] } == [false, true])
        #expect(slots[1]["token_types"] == ["systemd-tpm2"])
        let token = try #require(d["tokens"]?[0])
        #expect(token["type"] == "systemd-tpm2")
        #expect(token["keyslots"] == ["1"])
        #expect(token["live"] == true)
        #expect(token["tpm2_pcrs"] == [7])
        #expect(token["tpm2_pin"] == false)
        // The TPM unseals on machine state alone.
        #expect(token["release"] == "tpm2")
        #expect(token["signed_policy"] == false)
        #expect(d["tpm_token"] == true)
    }

    /// End to end on purpose: the committed fixture through the four probes and every ENC
    /// control at both levels, the path an operator's audit takes.
    @Test func theFixtureThroughEveryEncryptionControl() throws {
        let sl3 = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks")).findings
        for id in encryptionControls where id != "ENC-007" && id != "ENC-004" {
            #expect(sl3[id].status == .pass, "\(id): \(sl3[id].summary)")
        }
        #expect(sl3["ENC-004"].status == .fail)
        #expect(
            sl3["ENC-004"].summary.contains("/dev/sda3 token 0: key release that needs a PIN or a tang server besides the TPM is tpm2"),
            "\(sl3["ENC-004"].summary)")
        let sl4 = try auditEncryption(Package.fixtureRoot("weights-lvm-on-luks"), profile: "sl4").findings
        #expect(sl4["ENC-002"].status == .pass)
        #expect(sl4["ENC-003"].status == .fail)
        #expect(sl4["ENC-003"].summary == "/dev/sda3 keyslot 0: KDF memory in KiB is 32768, expected ≥ 1048576")
        #expect(sl4["ENC-004"].status == .fail)
    }

    /// The committed headers (make-headers.sh: systemd-cryptenroll and clevis luks bind against
    /// a software TPM): how each token releases the key.
    @Test(arguments: [
        ("luks2-tpm2-pcr7.img", "tpm2", false, true),
        ("luks2-tpm2-pin-argon2id-1g.img", "tpm2+pin", false, true),
        ("luks2-tpm2-pin-signed-policy.img", "tpm2+pin", true, true),
        ("luks2-tpm2-signed-policy.img", "tpm2", true, true),
        ("luks2-clevis-sss-t2-tpm2-tang.img", "tpm2+tang", false, true),
        // Either share alone unlocks: the tang server alone does, without this machine's TPM.
        ("luks2-clevis-sss-t1-tpm2-tang.img", "tpm2", false, false),
    ])
    func keyReleaseOfTheCommittedHeaders(header: String, release: String, signed: Bool, tpm: Bool) throws {
        let tree = try hostWithHeader(header)
        let d = try device(tree)
        let token = try #require(d["tokens"]?[0])
        #expect(token["live"] == true, "\(header)")
        #expect(token["release"] == .string(release), "\(header)")
        #expect(token["signed_policy"] == .bool(signed), "\(header)")
        if signed { #expect(token["tpm2_pubkey_pcrs"] == [11], "\(header)") }
        // Whether every way the token releases the key goes through the TPM (the Code's TPM-held key).
        #expect(d["tpm_token"] == .bool(tpm), "\(header)")
        // The token's keyslot holds a random secret: exempt from the KDF rule.
        #expect(d["keyslots"]?.arrayValue?.first { $0["id"] == "1" }?["tpm_or_clevis_token"] == true, "\(header)")
    }

    @Test func aSignedPolicyWithoutAPINAndOnlyTheTPMKeyslot() throws {
        let fact = try probeFact(
            "luks", of: LUKSProbe(), root: Package.fixtureRoot("weights-symlink-into-encrypted-mount"), site: weightsSite("/srv/weights"))
        #expect(fact["volumes"]?[0]?["resolved_path"] == "/data/secure weights/llm")
        let d = try #require(fact["volumes"]?[0]?["devices"]?[0])
        #expect(d["device"] == "/dev/sda2")
        #expect(d["keyslots"]?.arrayValue?.map { $0["id"] } == ["1"])
        #expect(d["keyslots"]?[0]?["tpm_or_clevis_token"] == true)
        #expect(d["tokens"]?[0]?["release"] == "tpm2")
        #expect(d["tokens"]?[0]?["signed_policy"] == true)
    }

    @Test func aRealClevisSSSBindingIsReadFromItsJWE() throws {
        let two = try device(try hostWithHeader("luks2-clevis-sss-t2-tpm2-tang.img"))
        let token = try #require(two["tokens"]?[0])
        #expect(token["type"] == "clevis")
        #expect(token["clevis_pins"] == ["sss:tpm2", "sss:tang"])
        #expect(token["clevis_threshold"] == 2)
        #expect(token["release"] == "tpm2+tang")
        // clevis 19 binds no signed PCR policy.
        #expect(token["signed_policy"] == false)
        #expect(two["keyslots"]?[1]?["token_types"] == ["clevis"])
        let one = try device(try hostWithHeader("luks2-clevis-sss-t1-tpm2-tang.img"))
        #expect(one["tokens"]?[0]?["clevis_threshold"] == 1)
        #expect(one["tokens"]?[0]?["release"] == "tpm2")
        #expect(one["tpm_token"] == false)
    }

    @Test func xtsWithA32ByteKeyIsAES128() throws {
        let weak = try device(try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "256"]))
        #expect(weak["cipher"] == "aes-xts-plain64")
        #expect(weak["key_bytes"] == 32)
        #expect(weak["key_bits"] == 256)
        #expect(weak["security_bits"] == 128)
        let strong = try device(try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "512"]))
        #expect(strong["key_bits"] == 512)
        #expect(strong["security_bits"] == 256)
    }

    @Test func ecbAndNonAESCiphers() throws {
        let ecb = try device(try LUKSHost(["--type", "luks2", "--cipher", "aes-ecb", "--key-size", "256"]))
        #expect(ecb["cipher_family"] == "aes")
        #expect(ecb["cipher_mode"] == "ecb")
        #expect(ecb["security_bits"] == 256)
        // cryptsetup here formats only AES without device-mapper; SM4 (a 128-bit block cipher) is
        // put into a real header by rewriting its JSON and checksum.
        let sm4 = try LUKSHost(["--type", "luks2", "--cipher", "aes-xts-plain64", "--key-size", "512"])
        try resealed(sm4.device, replacing: "aes-xts-plain64", with: "sm4-xts-plain64")
        let d = try device(sm4)
        #expect(d["cipher"] == "sm4-xts-plain64")
        #expect(d["cipher_family"] == "sm4")
        #expect(d["cipher_mode"] == "xts-plain64")
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

    @Test func aLUKS1Header() throws {
        let d = try device(try LUKSHost(["--type", "luks1", "--cipher", "aes-xts-plain64", "--key-size", "512"]))
        #expect(d["version"] == 1)
        #expect(d["security_bits"] == 256)
        #expect(d["keyslots"]?.arrayValue?.map { $0["kdf"] } == ["pbkdf2"])
        // PBKDF2 is not memory-hard: its memory cost is 0.
        #expect(d["keyslots"]?[0]?["memory_kib"] == 0)
        #expect(d["tokens"] == [])
    }

    @Test func aPBKDF2KeyslotConvertedToArgon2id() throws {
        let host = try LUKSHost(["--type", "luks2", "--pbkdf", "pbkdf2"])
        let before = try #require(try device(host)["keyslots"]?[0])
        #expect(before["kdf"] == "pbkdf2")
        #expect(before["iterations"] == 1000)
        #expect(before["tpm_or_clevis_token"] == false)
        try cryptsetup([
            "luksConvertKey", "--batch-mode", "--key-file", host.keyFile, "--pbkdf", "argon2id",
            "--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4", host.device,
        ])
        let after = try #require(try device(host)["keyslots"]?[0])
        #expect(after["kdf"] == "argon2id")
        #expect(after["memory_kib"] == 32768)
        #expect(after["time_cost"] == 4)
    }

    /// The token systemd-cryptenroll writes (as in luks2-tpm2-pcr7.img, made through a software
    /// TPM) for `keyslot`, with or without a PIN: the TPM that sealed the blob is gone.
    static func tpm2Token(keyslot: String, pin: Bool) -> String {
        """
        {"type":"systemd-tpm2","keyslots":["\(keyslot)"],"tpm2-blob":"AJ4AIIfrvGL/an5BY6TJv4r3ldXxUlPyECviPu3FXDepnWyvABBUtVHFbAJRLtP5","tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-primary-alg":"ecc","tpm2-policy-hash":"8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b","tpm2-pin":\(pin)}
        """
    }

    /// A pbkdf2 keyslot owned by a TPM2 token is marked so (ENC-003 exempts it); the same
    /// keyslot without the token is not.
    @Test func aTPMTokensKeyslotIsMarkedAsTheTokens() throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        let before = try device(host)
        #expect(before["keyslots"]?.arrayValue?.first { $0["id"] == "1" }?["tpm_or_clevis_token"] == false)
        #expect(before["tpm_token"] == false)
        try host.importToken(Self.tpm2Token(keyslot: "1", pin: true))
        let d = try device(host)
        let slot1 = try #require(d["keyslots"]?.arrayValue?.first { $0["id"] == "1" })
        #expect(slot1["tpm_or_clevis_token"] == true)
        #expect(slot1["tokens"] == ["0"])
        #expect(slot1["token_types"] == ["systemd-tpm2"])
        #expect(d["tokens"]?[0]?["tpm2_pcrs"] == [7])
        #expect(d["tokens"]?[0]?["tpm2_pin"] == true)
        #expect(d["tokens"]?[0]?["release"] == "tpm2+pin")
        #expect(d["tpm_token"] == true)
    }

    /// A PIN token does not hide a PIN-less one beside it: both are listed, both live.
    @Test func aWeakerTokenBesideAStrongOneIsListed() throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "2"])
        try host.importToken(Self.tpm2Token(keyslot: "1", pin: true))
        try host.importToken(Self.tpm2Token(keyslot: "2", pin: false))
        let tokens = try #require(try device(host)["tokens"]?.arrayValue)
        #expect(tokens.map { $0["name"] } == ["/dev/sda3 token 0", "/dev/sda3 token 1"])
        #expect(tokens.map { $0["keyslots"] } == [["1"], ["2"]])
        #expect(tokens.map { $0["release"] } == ["tpm2+pin", "tpm2"])
        #expect(tokens.map { $0["live"] } == [true, true])
    }

    @Test func noToken() throws {
        let d = try device(try LUKSHost(["--type", "luks2"]))
        #expect(d["tokens"] == [])
        #expect(d["tpm_token"] == false)
        #expect(d["keyslots"]?.arrayValue?.map { $0["tpm_or_clevis_token"] } == [false])
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

    /// clevis pins and sss quorums: which release each comes to, and whether it needs the TPM.
    @Test(arguments: [
        ("tpm2", [String](), 1, "tpm2", true),
        ("tang", [], 1, "tang", false),
        ("null", [], 1, "none", false),
        ("sss", ["tpm2", "tang"], 2, "tpm2+tang", true),
        ("sss", ["tpm2", "tang"], 1, "tpm2", false),
        ("sss", ["tpm2", "tpm2"], 2, "tpm2", true),
        // Two tang servers make a quorum without the TPM.
        ("sss", ["tpm2", "tang", "tang"], 2, "tang", false),
        ("sss", ["tpm2", "tpm2", "tang"], 3, "tpm2+tang", true),
        // A null share is no protection: the TPM share and it make a quorum.
        ("sss", ["tpm2", "tang", "null"], 2, "tpm2", false),
    ])
    func clevisReleases(pin: String, shares: [String], t: Int, release: String, tpm: Bool) throws {
        let host = try LUKSHost(["--type", "luks2"])
        try host.addKey(["--pbkdf", "pbkdf2", "--key-slot", "1"])
        try host.importToken(clevisToken(pin: pin, shares: shares, t: t))
        let d = try device(host)
        let token = try #require(d["tokens"]?[0])
        #expect(token["live"] == true)
        #expect(token["release"] == .string(release), "\(pin) \(shares) t=\(t)")
        #expect(token["clevis_pins"] == .array((pin == "sss" ? shares.map { "sss:" + $0 } : [pin]).map { .string($0) }))
        #expect(token["clevis_threshold"] == (pin == "sss" ? .int(Int64(t)) : nil))
        #expect(token["signed_policy"] == false)
        #expect(d["tpm_token"] == .bool(tpm), "\(pin) \(shares) t=\(t)")
        // Either way the clevis keyslot holds a random secret: exempt from the KDF rule.
        #expect(d["keyslots"]?.arrayValue?.first { $0["id"] == "1" }?["tpm_or_clevis_token"] == true)
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
        let d = try device(host)
        let token = try #require(d["tokens"]?[0])
        #expect(token["live"] == false)
        #expect(token["problem"] == .string("clevis 19 cannot use this token: " + why), "\(token)")
        #expect(token["release"] == nil)
        #expect(d["tpm_token"] == false)
        // A token that unlocks nothing does not exempt its keyslot.
        #expect(d["keyslots"]?.arrayValue?.first { $0["id"] == "1" }?["tpm_or_clevis_token"] == false)
    }

    @Test func keyFilesAndTheStorageTheyLieOn() throws {
        // Plain storage: no LUKS device under the weights, and no key file.
        let plain = try luks(Package.fixtureRoot("weights-plain-ext4"))
        #expect(plain["volumes"]?[0]?["devices"] == [])
        #expect(plain["key_files"] == [])
        #expect(plain["crypttab"]?["present"] == false)

        // weights-lvm-on-luks: the root is on the same LUKS volume, so a key file there is encrypted.
        let tree = try hostWithHeader("luks2-tpm2-pin-argon2id-1g.img")
        tree.file("etc/cryptsetup-keys.d/backup_crypt.key", "fixture key", mode: 0o400)
        let encrypted = try #require(try luks(tree)["key_files"]?.arrayValue)
        #expect(encrypted.count == 1)
        #expect(encrypted.first?["path"] == "/etc/cryptsetup-keys.d/backup_crypt.key")
        #expect(encrypted.first?["source"] == "/etc/cryptsetup-keys.d/ (directory listing)")
        #expect(encrypted.first?["volume"] == "backup_crypt")
        #expect(encrypted.first?["storage_class"] == "block")
        #expect(encrypted.first?["on_encrypted_storage"] == ["value": true, "source": "/proc/self/mountinfo:1"])

        // A key file on /boot (plain sda1), named by crypttab.
        tree.file("boot/keys/sda3.key", "fixture key", mode: 0o400)
        tree.file("etc/crypttab", "sda3_crypt UUID=627ea73d-8b14-4bd6-a2c9-7c251e9d81c7 /boot/keys/sda3.key luks\n")
        let both = try #require(try luks(tree)["key_files"]?.arrayValue)
        #expect(both.map { $0["path"] } == ["/boot/keys/sda3.key", "/etc/cryptsetup-keys.d/backup_crypt.key"])
        #expect(both.first?["source"] == "/etc/crypttab:1")
        #expect(both.first?["volume"] == "sda3_crypt")
        #expect(both.first?["on_encrypted_storage"] == ["value": false, "source": "/proc/self/mountinfo:4"])
    }

    @Test func aPlainDMCryptMappingHasNoHeaderToRead() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-PLAIN-sda3_crypt\n")
        let d = try device(tree)
        #expect(d["type"] == "PLAIN")
        #expect(d["mapping"] == "dm-0")
        #expect(d["error"] == "PLAIN dm-crypt mapping dm-0 has no LUKS header: its cipher and keys cannot be checked")
        // It is dm-crypt all the same: the storage is encrypted (ENC-001).
        let item = try #require(
            try withExtendedLifetime(tree) {
                try probeFact("storage", of: StorageProbe(), root: tree.path, site: weightsSite("/srv/weights"))
            }["items"]?[0])
        #expect(item["encrypted"]?["value"] == true)
        #expect(item["encryption_kinds"] == ["PLAIN"])
    }

    @Test(arguments: [
        (0, "bad magic", "byte offset 0"),
        (4096 + 200, "JSON metadata", "byte offset 4296"),
    ])
    func aCorruptHeaderIsAnErrorNamingTheOffset(cutAt: Int, what: String, offset: String) throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        var bytes = try HostRoot(tree.path).readHead("/dev/sda3", count: 16384)
        if cutAt == 0 { bytes[0] = 0 } else { for i in cutAt..<bytes.count { bytes[i] = 0 } }
        tree.bytes("dev/sda3", bytes)
        let d = try device(tree)
        #expect(d["device"] == "/dev/sda3")
        let error = try #require(d["error"]?.stringValue)
        #expect(error.contains("LUKS header invalid at \(offset)"), "\(error)")
        #expect(error.contains(what), "\(error)")
        #expect(d["version"] == nil)
    }

    @Test func aMissingDeviceNodeOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        _ = run("/bin/rm", ["-f", tree.path + "/dev/sda3"])
        let d = try device(tree)
        #expect(d["device"] == "/dev/sda3")
        #expect(d["not_checked"] == "/dev/sda3 does not exist (offline root)")
        #expect(d["error"] == nil)
    }

    // MARK: - Control tests: ENC-002, ENC-003 and ENC-004 over canned facts

    /// A keyslot as the probe describes it: a passphrase keyslot with argon2id, or one that
    /// `token` releases.
    static func keyslot(_ id: String, kdf: String = "argon2id", memory: Int64 = 1_048_576, token: (id: String, type: String)? = nil) -> JSON
    {
        [
            "name": .string("/dev/sda3 keyslot \(id)"), "id": .string(id), "type": "luks2", "key_bytes": 64, "kdf": .string(kdf),
            "memory_kib": .int(kdf == "pbkdf2" ? 0 : memory), "time_cost": kdf == "pbkdf2" ? .null : 4,
            "iterations": kdf == "pbkdf2" ? 1000 : .null,
            "tokens": .array(token.map { [.string($0.id)] } ?? []), "token_types": .array(token.map { [.string($0.type)] } ?? []),
            "tpm_or_clevis_token": .bool(token.map { ["systemd-tpm2", "clevis"].contains($0.type) } ?? false),
        ]
    }

    /// A live token as the probe describes it: systemd-tpm2 with a PIN and a signed policy.
    static func token(
        _ id: String = "0", type: String = "systemd-tpm2", keyslot: String = "1", release: String? = "tpm2+pin", signed: Bool = true,
        problem: String? = nil
    ) -> JSON {
        var o: JSONObject = [
            "name": .string("/dev/sda3 token \(id)"), "id": .string(id), "type": .string(type), "keyslots": [.string(keyslot)],
            "live": .bool(problem == nil),
        ]
        if type == "systemd-tpm2" {
            o["tpm2_pcrs"] = [7]
            o["tpm2_pcr_bank"] = "sha256"
            o["tpm2_pin"] = .bool(release == "tpm2+pin")
            if signed { o["tpm2_pubkey_pcrs"] = [11] }
        }
        if let problem { o["problem"] = .string(problem) }
        if let release {
            o["release"] = .string(release)
            o["signed_policy"] = .bool(signed)
        }
        return .object(o)
    }

    /// One LUKS device, conformant at SL4: LUKS2 with AES-256 in XTS, a passphrase keyslot 0
    /// with argon2id over 1 GiB, and keyslot 1 released by a systemd-tpm2 token with a PIN and a
    /// signed policy. Each row of the tables changes one thing.
    static func device(
        version: Int64 = 2, cipher: (name: String, family: String, mode: String) = ("aes-xts-plain64", "aes", "xts-plain64"),
        securityBits: Int64 = 256, keyslots: [JSON]? = nil, tokens: [JSON]? = nil, tpmToken: Bool = true
    ) -> JSON {
        [
            "device": "/dev/sda3", "mapping": "dm-0", "mapping_name": "sda3_crypt", "type": .string("LUKS\(version)"),
            "dm_uuid": "CRYPT-LUKS2-627ea73d8b144bd6a2c97c251e9d81c7-sda3_crypt",
            "version": .int(version), "uuid": "627ea73d-8b14-4bd6-a2c9-7c251e9d81c7", "header_checksum": "00",
            "keyslots": .array(keyslots ?? [keyslot("0"), keyslot("1", kdf: "pbkdf2", token: ("0", "systemd-tpm2"))]),
            "tokens": .array(tokens ?? [token()]), "tpm_token": .bool(tpmToken),
            "segments": [["id": "0", "type": "crypt", "cipher": .string(cipher.name)]],
            "cipher": .string(cipher.name), "cipher_family": .string(cipher.family), "cipher_mode": .string(cipher.mode),
            "security_bits": .int(securityBits), "key_bytes": 64, "key_bits": 512,
        ]
    }

    /// A key file as the probe describes it, on encrypted storage or not.
    static func keyFile(_ path: String, encrypted: Bool, storageClass: String = "block") -> JSON {
        [
            "source": "/etc/crypttab:1", "volume": "sda3_crypt", "path": .string(path), "storage_class": .string(storageClass),
            "on_encrypted_storage": ["value": .bool(encrypted), "source": "/proc/self/mountinfo:4"],
            "storage": encrypted ? "dm-crypt LUKS2 (/dev/sda3)" : "not encrypted",
        ]
    }

    /// The `luks` fact with one weight path over `devices`.
    static func luks(_ devices: [JSON] = [device()], keyFiles: [JSON] = []) -> JSON {
        [
            "source": "/etc/crypttab", "weights_origin": "site",
            "volumes": [
                [
                    "path": "/srv/weights", "resolved_path": "/srv/weights", "encryption": "dm-crypt LUKS2 (/dev/sda3)",
                    "devices": .array(devices),
                ]
            ],
            "crypttab": ["present": true, "entries": [], "problems": []],
            "key_files": .array(keyFiles),
        ]
    }

    /// The `site` fact of a site declaring an attestation-gated key service.
    static let attestedSite: JSON = [
        "present": true, "source": "site.yaml", "encryption": ["attested_key_service": "keylime.example.org (verifier)"],
    ]

    static let notChecked: JSON = [
        "device": "/dev/sda3", "mapping": "dm-0", "type": "LUKS2", "not_checked": "/dev/sda3 does not exist (offline root)",
    ]
    static let plainMapping: JSON = [
        "device": "/dev/sda3", "mapping": "dm-0", "type": "PLAIN",
        "error": "PLAIN dm-crypt mapping dm-0 has no LUKS header: its cipher and keys cannot be checked",
    ]

    /// A row: what changes, the `luks` fact, the status at SL3 and SL4, and what each summary
    /// says (contains) where it matters.
    typealias Row = (name: String, luks: JSON, sl3: Status, sl4: Status, summaries: [String: String])

    static let enc002Table: [Row] = [
        ("conformant", luks(), .pass, .pass, [:]),
        (
            "LUKS1", luks([device(version: 1)]), .pass, .fail,
            ["sl4": "/dev/sda3: LUKS version is 1, expected ≥ 2"]
        ),
        (
            "XTS with a 32-byte key is AES-128", luks([device(securityBits: 128)]), .fail, .fail,
            ["sl3": "/dev/sda3: effective key strength in bits is 128, expected ≥ 256"]
        ),
        (
            "ECB", luks([device(cipher: ("aes-ecb", "aes", "ecb"))]), .fail, .fail,
            ["sl3": "/dev/sda3: cipher mode is ecb, expected does not contain ecb"]
        ),
        (
            "SM4, a 128-bit block cipher", luks([device(cipher: ("sm4-xts-plain64", "sm4", "xts-plain64"))]), .fail, .fail,
            ["sl3": "/dev/sda3: cipher is sm4, expected one of [aes, adiantum, chacha20, xchacha20]"]
        ),
        (
            "Adiantum", luks([device(cipher: ("xchacha20,aes-adiantum-plain64", "adiantum", "xchacha20,aes-adiantum-plain64"))]), .pass,
            .pass, [:]
        ),
        (
            "a PLAIN dm-crypt mapping has no header", luks([plainMapping]), .error, .error,
            ["sl3": "PLAIN dm-crypt mapping dm-0 has no LUKS header"]
        ),
        (
            "the device node is missing offline", luks([notChecked]), .notChecked, .notChecked,
            ["sl3": "/dev/sda3: /dev/sda3 does not exist (offline root)"]
        ),
        (
            "not on LUKS", luks([]), .notApplicable, .notApplicable,
            ["sl3": "not on a LUKS volume (ENC-001 says whether it is encrypted)"]
        ),
    ]

    static let enc003Table: [Row] = [
        ("conformant", luks(), .pass, .pass, [:]),
        (
            "a PBKDF2 passphrase keyslot", luks([device(keyslots: [keyslot("0", kdf: "pbkdf2")])]), .fail, .fail,
            ["sl3": "/dev/sda3 keyslot 0: key derivation function is pbkdf2, expected one of [argon2id, argon2i]"]
        ),
        (
            "argon2id with 32 MiB: no floor at SL3, under SL4's 1 GiB", luks([device(keyslots: [keyslot("0", memory: 32768)])]), .pass,
            .fail,
            ["sl4": "/dev/sda3 keyslot 0: KDF memory in KiB is 32768, expected ≥ 1048576"]
        ),
        ("argon2i: SL4 takes argon2id only", luks([device(keyslots: [keyslot("0", kdf: "argon2i")])]), .pass, .fail, [:]),
        (
            "a PBKDF2 keyslot a TPM2 token owns is exempt",
            luks([device(keyslots: [keyslot("1", kdf: "pbkdf2", token: ("0", "systemd-tpm2"))])]), .pass, .pass,
            ["sl3": "every keyslot belongs to a TPM2 or clevis token", "sl4": "every keyslot belongs to a TPM2 or clevis token"]
        ),
        (
            "a PBKDF2 keyslot a clevis token owns is exempt",
            luks([device(keyslots: [keyslot("1", kdf: "pbkdf2", token: ("0", "clevis"))], tokens: [clevisT2])]), .pass, .pass, [:]
        ),
        ("the device node is missing offline", luks([notChecked]), .notChecked, .notChecked, [:]),
        ("not on LUKS", luks([]), .notApplicable, .notApplicable, [:]),
    ]

    static let clevisT2 = token(type: "clevis", release: "tpm2+tang", signed: false)

    static let enc004Table: [Row] = [
        ("conformant: a PIN and a signed policy", luks(), .pass, .pass, [:]),
        (
            "a PIN-less TPM token", luks([device(tokens: [token(release: "tpm2", signed: false)])]), .fail, .fail,
            [
                "sl3": "/dev/sda3 token 0: key release that needs a PIN or a tang server besides the TPM is tpm2",
                "sl4": "/dev/sda3 token 0: a signed PCR policy (tpm2_pubkey_pcrs) is false",
            ]
        ),
        ("a PIN without a signed policy", luks([device(tokens: [token(signed: false)])]), .pass, .fail, [:]),
        (
            "a signed policy without a PIN", luks([device(tokens: [token(release: "tpm2")])]), .fail, .fail,
            ["sl4": "key release that needs a PIN or a tang server besides the TPM is tpm2"]
        ),
        ("clevis sss t=2 over tpm2 and tang (no signed policy in clevis 19)", luks([device(tokens: [clevisT2])]), .pass, .fail, [:]),
        (
            "clevis sss t=1: the tang server alone unlocks",
            luks([device(tokens: [token(type: "clevis", release: "tpm2", signed: false)], tpmToken: false)]), .fail, .fail, [:]
        ),
        (
            "clevis tang alone", luks([device(tokens: [token(type: "clevis", release: "tang", signed: false)], tpmToken: false)]), .fail,
            .fail, [:]
        ),
        (
            "clevis null", luks([device(tokens: [token(type: "clevis", release: "none", signed: false)], tpmToken: false)]), .fail, .fail,
            [:]
        ),
        (
            "a PIN-less token beside a PIN one",
            luks([
                device(
                    keyslots: [
                        keyslot("0"), keyslot("1", kdf: "pbkdf2", token: ("0", "systemd-tpm2")),
                        keyslot("2", kdf: "pbkdf2", token: ("1", "systemd-tpm2")),
                    ],
                    tokens: [token(signed: false), token("1", keyslot: "2", release: "tpm2", signed: false)])
            ]), .fail, .fail,
            ["sl3": "/dev/sda3 token 1: a token that releases the key on machine state or a key server alone is tpm2 (not allowed)"]
        ),
        (
            "no token", luks([device(tokens: [], tpmToken: false)]), .fail, .fail,
            ["sl3": "/dev/sda3: a token that unlocks the volume through this machine's TPM is false"]
        ),
        (
            "a clevis token clevis cannot use unlocks nothing",
            luks([
                device(
                    tokens: [token(type: "clevis", release: nil, problem: "clevis 19 cannot use this token: it has no pin 'pkcs11'")],
                    tpmToken: false)
            ]), .fail, .fail, [:]
        ),
        ("not on LUKS", luks([]), .notApplicable, .notApplicable, ["sl3": "does not apply: LUKS devices under the weight path"]),
        (
            "a key file on encrypted storage: SL4 allows none",
            luks(keyFiles: [keyFile("/etc/cryptsetup-keys.d/backup_crypt.key", encrypted: true)]),
            .pass, .fail, ["sl4": "key files"]
        ),
        (
            "a key file on plain /boot", luks(keyFiles: [keyFile("/boot/keys/sda3.key", encrypted: false)]), .fail, .fail,
            ["sl3": "/boot/keys/sda3.key: key file on encrypted storage is false"]
        ),
        (
            "a key file in memory", luks(keyFiles: [keyFile("/run/cryptsetup-keys.d/x.key", encrypted: false, storageClass: "memory")]),
            .pass, .fail, [:]
        ),
        ("the device node is missing offline", luks([notChecked]), .notChecked, .notChecked, [:]),
    ]

    func evaluate(_ control: String, _ row: Row, site: JSON? = nil) throws {
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            var facts = ["luks": row.luks]
            if let site { facts["site"] = site }
            let f = try cannedFinding(control, profile: profile, facts: facts)
            #expect(f.status == expected, "\(control) \(profile) \(row.name): \(f.summary)")
            if let summary = row.summaries[profile] {
                #expect(f.summary.contains(summary), "\(control) \(profile) \(row.name): \(f.summary)")
            }
        }
    }

    @Test(arguments: LUKSProbeTests.enc002Table.indices)
    func enc002OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-002", Self.enc002Table[row]) }

    @Test(arguments: LUKSProbeTests.enc003Table.indices)
    func enc003OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-003", Self.enc003Table[row]) }

    @Test(arguments: LUKSProbeTests.enc004Table.indices)
    func enc004OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-004", Self.enc004Table[row]) }

    /// A declared attestation-gated key service leaves a volume no token covers to a reviewer
    /// (manual, which does not block conformance); a volume a token covers needs no review; a key
    /// file on plain storage still fails, since the review covers the key service, not the files.
    @Test func anAttestedKeyServiceMakesENC004Manual() throws {
        let uncovered = Self.luks([Self.device(tokens: [Self.token(release: "tpm2", signed: false)])])
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("ENC-004", profile: profile, facts: ["luks": uncovered, "site": Self.attestedSite])
            #expect(f.status == .manual, "\(profile): \(f.summary)")
            #expect(
                f.summary.hasPrefix("/dev/sda3: the site declares an attestation-gated key service: a reviewer must check"), "\(f.summary)")
            #expect(f.summary.hasSuffix("(encryption.attested_key_service is keylime.example.org (verifier))"), "\(f.summary)")
            #expect(!f.blocksConformance)
        }
        let covered = Self.luks([Self.device(tokens: [Self.token(signed: false)])])
        #expect(try cannedFinding("ENC-004", profile: "sl3", facts: ["luks": covered, "site": Self.attestedSite]).status == .pass)
        let keyFile = Self.luks(
            [Self.device(tokens: [Self.token(release: "tpm2", signed: false)])],
            keyFiles: [Self.keyFile("/boot/keys/sda3.key", encrypted: false)])
        #expect(try cannedFinding("ENC-004", profile: "sl3", facts: ["luks": keyFile, "site": Self.attestedSite]).status == .fail)
    }
}
