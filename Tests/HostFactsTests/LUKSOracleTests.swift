import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Differential tests of LUKSHeader against cryptsetup 2.6.1 itself (docs/DAEMON-SEMANTICS.md).
///
/// Real headers are made with `cryptsetup luksFormat` on sparse files (tiny forced KDF costs, one
/// shell script for all of them), then changed with cryptsetup's own commands (luksAddKey into
/// chosen slots, luksKillSlot, token import, config --label). Copies of some are mutated where
/// cryptsetup cannot write what is wanted (ciphers this kernel lacks, other KDF costs, tokens,
/// bad JSON, broken checksums), rewriting the JSON area of both header copies and both checksums.
/// `cryptsetup luksDump` (text, with systemd's token plugin for systemd-tpm2 tokens) and
/// `luksDump --dump-json-metadata` only read. For each image Warden's parse must:
/// - succeed exactly when luksDump does (except a primary header cryptsetup replaces from its
///   second copy: Warden reads only the primary and refuses, an error, never a pass);
/// - give the version, UUID, label, header size, the LUKS1 cipher, mode, hash, key size and
///   enabled keyslots with their iterations (from the binary header: luksDump's text), and for
///   LUKS2 the segments, keyslots (type, key size, KDF and its costs) and tokens (type, keyslots;
///   PCRs, bank, PIN and signed-policy PCRs as systemd's plugin prints them).
@Suite struct LUKSOracleTests {
    static let cryptsetup = "/usr/sbin/cryptsetup"

    // MARK: - Making the headers

    struct Made {
        var name: String
        var luks1: Bool
        /// Mutations made by hand (nil: cryptsetup made all of it).
        var mutation: String?
        /// cryptsetup reads the image and Warden refuses it, by design (docs/DAEMON-SEMANTICS.md,
        /// LUKS exceptions): a primary header cryptsetup replaces from its second copy, or JSON
        /// with a repeated key (json-c keeps the last).
        var wardenRefusesOnly = false
    }

    static let digest = "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730"

    static func tokenJSON(_ kind: Int, keyslot: String, _ rng: inout SplitMix64) -> String {
        switch kind {
        case 0:
            var fields = [
                "\"type\":\"systemd-tpm2\"", "\"keyslots\":[\"\(keyslot)\"]", "\"tpm2-blob\":\"AAAA\"",
                "\"tpm2-primary-alg\":\"ecc\"", "\"tpm2-policy-hash\":\"00\"",
            ]
            fields.append("\"tpm2-pcrs\":[\(rng.pick(["7", "", "0,2,4,7", "11", "7,14"]))]")
            if rng.chance(0.8) { fields.append("\"tpm2-pcr-bank\":\"\(rng.pick(["sha256", "sha1"]))\"") }
            if rng.chance(0.6) { fields.append("\"tpm2-pin\":\(rng.chance(0.5))") }
            if rng.chance(0.3) { fields.append("\"tpm2_pubkey_pcrs\":[11]") }
            return "{" + fields.joined(separator: ",") + "}"
        case 1:
            let pin = rng.pick(["tpm2", "tang", "sss"])
            let header =
                pin == "sss"
                ? "{\"alg\":\"ECDH-ES\",\"clevis\":{\"pin\":\"sss\",\"sss\":{\"t\":1,\"jwe\":[\"\(base64URL("{\"clevis\":{\"pin\":\"tpm2\"}}")).x.y.z.w\"]}}}"
                : "{\"alg\":\"ECDH-ES\",\"clevis\":{\"pin\":\"\(pin)\"}}"
            return
                "{\"type\":\"clevis\",\"keyslots\":[\"\(keyslot)\"],\"jwe\":{\"protected\":\"\(base64URL(header))\",\"ciphertext\":\"AA\"}}"
        default:
            return "{\"type\":\"x-warden-\(rng.pick(["fido2", "custom"]))\",\"keyslots\":[\"\(keyslot)\"],\"note\":\"test\"}"
        }
    }

    static func kdf(_ rng: inout SplitMix64, luks1: Bool) -> String {
        if luks1 || rng.chance(0.4) {
            return
                "--pbkdf pbkdf2 --pbkdf-force-iterations \(rng.pick(["1000", "2000", "4096", "50000"])) --hash \(rng.pick(["sha1", "sha256", "sha512"]))"
        }
        return "--pbkdf \(rng.pick(["argon2id", "argon2id", "argon2i"])) --pbkdf-memory \(rng.pick(["32", "64", "1024", "8192"]))"
            + " --pbkdf-force-iterations \(rng.pick(["4", "5", "10"])) --pbkdf-parallel \(rng.pick(["1", "2", "4"]))"
    }

    /// The shell commands that make one real header in `$d/NAME.img`.
    static func script(_ name: String, luks1: Bool, _ rng: inout SplitMix64, tokens: inout [String: String]) -> [String] {
        let img = "\"$d/luks/\(name).img\""
        var lines = ["truncate -s \(luks1 ? "4M" : "20M") \(img)"]
        let cipher: String
        if luks1 {
            cipher = rng.pick([
                "--cipher aes-xts-plain64 --key-size 256", "--cipher aes-xts-plain64 --key-size 512",
                "--cipher aes-cbc-essiv:sha256 --key-size 128", "--cipher aes-cbc-essiv:sha256 --key-size 256",
                "--cipher aes-ecb --key-size 256", "--cipher aes-cbc-plain --key-size 192",
            ])
        } else {
            cipher = rng.pick([
                "", "--cipher aes-xts-plain64 --key-size 256", "--cipher aes-xts-plain64 --key-size 512",
                "--cipher aes-xts-plain --key-size 512", "--cipher aes-cbc-essiv:sha256 --key-size 256",
                "--cipher aes-cbc-plain64 --key-size 128", "--cipher aes-ecb --key-size 256",
            ])
        }
        var format =
            "cryptsetup luksFormat --batch-mode --type \(luks1 ? "luks1" : "luks2") --key-file \"$d/key\" \(cipher) \(kdf(&rng, luks1: luks1))"
        if !luks1 {
            if rng.chance(0.4) { format += " --label \(rng.pick(["weights", "\"data volume\"", "x"]))" }
            if rng.chance(0.3) { format += " --sector-size \(rng.pick(["512", "4096"]))" }
            if rng.chance(0.25) { format += " --luks2-metadata-size \(rng.pick(["32k", "64k", "256k"])) --luks2-keyslots-size 4m" }
            if rng.chance(0.15) { format += " --subsystem warden" }
        }
        lines.append(format + " \(img)")
        var slots = ["0"]
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            let slot = luks1 ? String(Int.random(in: 1...7, using: &rng)) : String(rng.pick([1, 2, 5, 9, 17, 31]))
            guard !slots.contains(slot) else { continue }
            slots.append(slot)
            lines.append(
                "cryptsetup luksAddKey --batch-mode --key-file \"$d/key\" --new-keyfile \"$d/key\" --new-key-slot \(slot) \(kdf(&rng, luks1: luks1)) \(img)"
            )
        }
        if slots.count > 1 && rng.chance(0.3) {
            lines.append("cryptsetup luksKillSlot --batch-mode --key-file \"$d/key\" \(img) 0")
            slots.removeFirst()
        }
        if !luks1 {
            for t in 0..<Int.random(in: 0...2, using: &rng) {
                let file = "\(name)-token\(t).json"
                tokens[file] = tokenJSON(Int.random(in: 0..<3, using: &rng), keyslot: rng.pick(slots), &rng)
                lines.append("cryptsetup token import --json-file \"$d/\(file)\" \(img)")
            }
            if rng.chance(0.1) { lines.append("cryptsetup config --label relabelled \(img)") }
        }
        return lines
    }

    // MARK: - Mutations with correct checksums

    static func readPrefix(_ path: String, _ count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        return Array(out.prefix(max(0, n)))
    }

    static func writePrefix(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY)
        precondition(fd >= 0, "cannot open \(path)")
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, bytes.count, 0) }
        close(fd)
    }

    static func be(_ b: [UInt8], _ at: Int, _ n: Int) -> Int { b[at..<at + n].reduce(0) { $0 << 8 | Int($1) } }

    /// Writes `json` into both LUKS2 header copies (NUL-padded) and recomputes both checksums.
    static func rewrite(_ b: inout [UInt8], json: [UInt8], breakPrimaryChecksum: Bool = false) {
        let size = be(b, 8, 8)
        for base in [0, size] {
            for i in (base + 4096)..<(base + size) { b[i] = 0 }
            b.replaceSubrange((base + 4096)..<(base + 4096 + json.count), with: json)
            for i in (base + 448)..<(base + 512) { b[i] = 0 }
            let digest = sha256(b[base..<(base + size)])
            b.replaceSubrange((base + 448)..<(base + 480), with: digest)
        }
        if breakPrimaryChecksum { b[450] ^= 0xFF }
    }

    static func mutateLUKS2(_ b: inout [UInt8], _ kind: Int, _ rng: inout SplitMix64) -> (description: String, wardenRefusesOnly: Bool) {
        let size = be(b, 8, 8)
        guard var json = try? JSON.parse(b[4096..<size].prefix { $0 != 0 }), case .object(var root) = json else {
            return ("unreadable", false)
        }
        func set(_ path: [String], _ value: JSON) {
            json = .object(root)
            json = json.setting(path, value)
            if case .object(let o) = json { root = o }
        }
        let segment = root["segments"]?.objectValue?.keys.first ?? "0"
        let keyslot = root["keyslots"]?.objectValue?.keys.sorted().first ?? "0"
        switch kind {
        case 0:
            let cipher = rng.pick([
                "serpent-xts-plain64", "twofish-xts-plain64", "xchacha12,aes-adiantum-plain64", "capi:xts(aes)-plain64",
                "cipher_null-ecb", "aes-cbc-essiv:sha256", "aes-lrw-benbi",
            ])
            set(["segments", segment, "encryption"], .string(cipher))
            rewrite(&b, json: json.serialized())
            return ("segment cipher \(cipher)", false)
        case 1:
            let kdf = root["keyslots"]?[keyslot]?["kdf"]
            if kdf?["type"] == "pbkdf2" {
                set(["keyslots", keyslot, "kdf", "iterations"], .int(rng.pick([1, 1000, 10_000_000])))
            } else {
                set(["keyslots", keyslot, "kdf", "memory"], .int(rng.pick([32, 65536, 1_048_576, 4_194_304])))
                set(["keyslots", keyslot, "kdf", "time"], .int(rng.pick([1, 4, 20])))
                if rng.chance(0.5) { set(["keyslots", keyslot, "kdf", "type"], .string(rng.pick(["argon2i", "argon2id"]))) }
            }
            rewrite(&b, json: json.serialized())
            return ("keyslot \(keyslot) KDF costs", false)
        case 2:
            // A token written into the JSON by hand (fields cryptsetup's import would not check).
            var tokens = root["tokens"]?.objectValue ?? [:]
            let id = String(tokens.keys.count + Int.random(in: 0...3, using: &rng))
            let text = tokenJSON(Int.random(in: 0..<3, using: &rng), keyslot: keyslot, &rng)
            tokens[id] = (try? JSON.parse(Array(text.utf8))) ?? .null
            set(["tokens"], .object(tokens))
            rewrite(&b, json: json.serialized())
            return ("token \(id) by hand", false)
        case 3:
            set(["segments", segment, "sector_size"], .int(rng.pick([512, 1024, 4096, 3000])))
            rewrite(&b, json: json.serialized())
            return ("sector size", false)
        case 4:
            set(["keyslots", keyslot, "key_size"], rng.chance(0.5) ? .string("64") : .int(rng.pick([16, 32, 64])))
            rewrite(&b, json: json.serialized())
            return ("keyslot \(keyslot) key_size", false)
        case 5:
            // A token naming a keyslot that does not exist.
            var tokens = root["tokens"]?.objectValue ?? [:]
            tokens["3"] = ["type": "x-warden", "keyslots": ["30"]]
            set(["tokens"], .object(tokens))
            rewrite(&b, json: json.serialized())
            return ("token for a missing keyslot", false)
        case 6:
            var text = json.serialized()
            text = Array(text.prefix(text.count / 2))
            rewrite(&b, json: text)
            return ("JSON cut in half", false)
        case 7:
            // A repeated key (json-c keeps the last).
            var text = json.serialized()
            let dup = Array("\"config\":{\"json_size\":\"0\"},".utf8)
            if let at = text.firstIndex(of: UInt8(ascii: "{")) { text.insert(contentsOf: dup, at: at + 1) }
            rewrite(&b, json: text)
            return ("repeated key", true)
        case 8:
            rewrite(&b, json: json.serialized(), breakPrimaryChecksum: true)
            return ("primary checksum broken", true)
        case 9:
            rewrite(&b, json: json.serialized())
            b[450] ^= 0xFF
            b[size + 450] ^= 0xFF
            return ("both checksums broken", false)
        case 10:
            // Keyslot ids and order: a second keyslot object under a high id.
            if let k = root["keyslots"]?[keyslot] {
                var keyslots = root["keyslots"]?.objectValue ?? [:]
                keyslots["31"] = k
                set(["keyslots"], .object(keyslots))
            }
            rewrite(&b, json: json.serialized())
            return ("keyslot copied to id 31", false)
        default:
            // Version 0 makes the primary header unreadable and cryptsetup reads the second copy;
            // version 3 is refused.
            b[6] = 0
            b[7] = UInt8(rng.pick([3, 0]))
            return ("version \(b[7])", b[7] == 0)
        }
    }

    static func mutateLUKS1(_ b: inout [UInt8], _ kind: Int, _ rng: inout SplitMix64) -> String {
        func put(_ text: String, at: Int, _ width: Int) {
            for i in 0..<width { b[at + i] = 0 }
            b.replaceSubrange(at..<at + text.utf8.count, with: Array(text.utf8))
        }
        func putInt(_ v: UInt32, at: Int) { for i in 0..<4 { b[at + i] = UInt8((v >> (24 - 8 * UInt32(i))) & 0xFF) } }
        switch kind {
        case 0:
            let name = rng.pick(["serpent", "twofish", "cipher_null", "camellia"])
            put(name, at: 8, 32)
            return "cipher \(name)"
        case 1:
            let mode = rng.pick(["ecb", "cbc-plain", "xts-plain64", "cbc-essiv:sha256", ""])
            put(mode, at: 40, 32)
            return "mode \(mode)"
        case 2:
            let bytes = UInt32(rng.pick([16, 24, 32, 64, 0]))
            putInt(bytes, at: 108)
            return "key bytes \(bytes)"
        case 3:
            let slot = Int.random(in: 0..<8, using: &rng)
            putInt(0x0000_DEAD, at: 208 + slot * 48)
            return "slot \(slot) disabled"
        case 4:
            let slot = Int.random(in: 0..<8, using: &rng)
            putInt(0x1234_5678, at: 208 + slot * 48)
            return "slot \(slot) state invalid"
        case 5:
            let slot = (0..<8).first { be(b, 208 + $0 * 48, 4) == 0x00AC_71F3 } ?? 0
            putInt(UInt32(rng.pick([1, 1000, 4_000_000])), at: 208 + slot * 48 + 4)
            return "slot \(slot) iterations"
        case 6:
            let hash = rng.pick(["sha512", "ripemd160", "whirlpool", "md5", "sha3-256", "SHA256", "nohash"])
            put(hash, at: 72, 32)
            return "hash \(hash)"
        default:
            b[0] = UInt8(ascii: "X")
            return "bad magic"
        }
    }

    // MARK: - What cryptsetup says

    struct Dump {
        var status: Int32
        var text: [String]
        var json: JSON?
    }

    /// luksDump of every image, in the Debian 12 root with the images laid over it: cryptsetup
    /// repairs a damaged header copy from the other when it can write the device (even for
    /// luksDump), and the overlay takes that write instead of the test's file.
    static func dumps(_ dir: String, _ names: [String]) throws -> [String: Dump] {
        let script = """
            shift
            for n in "$@"; do
              echo "=== $n"
              cryptsetup luksDump "/luks/$n.img" >/tmp/out 2>&1; echo "rc=$?"; cat /tmp/out
              echo "--- json"
              cryptsetup luksDump --dump-json-metadata "/luks/$n.img" 2>/dev/null || true
              echo
              echo "--- end"
            done
            """
        let r = RealRoots.inRoot(try RealRoots.debian12(), layers: [dir], ["/bin/sh", "-c", script, "sh", "-"] + names, timeout: 300)
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var out: [String: Dump] = [:]
        var name: String?
        var inJSON = false
        var buffer: [String] = []
        for line in byteLines(r.stdout) {
            if line.hasPrefix("=== ") {
                name = String(line.dropFirst(4))
                out[name!] = Dump(status: -1, text: [], json: nil)
                inJSON = false
                continue
            }
            guard let n = name else { continue }
            if line == "--- json" {
                inJSON = true
                buffer = []
                continue
            }
            if line == "--- end" {
                let text = buffer.joined(separator: "\n")
                if !text.trimmingBlanks.isEmpty { out[n]!.json = try? JSON.parse(Array(text.utf8)) }
                inJSON = false
                continue
            }
            if inJSON {
                buffer.append(line)
                continue
            }
            if line.hasPrefix("rc="), out[n]!.status == -1 {
                out[n]!.status = Int32(line.dropFirst(3)) ?? -1
                continue
            }
            out[n]!.text.append(line)
        }
        return out
    }

    /// `Key: value` fields of luksDump's text (the first of each name), tabs and padding removed.
    static func field(_ text: [String], _ name: String) -> String? {
        for line in text {
            let t = line.trimmingBlanks
            guard t.hasPrefix(name + ":") else { continue }
            return String(t.dropFirst(name.count + 1)).trimmingBlanks
        }
        return nil
    }

    // MARK: - Comparing

    static func compare(_ made: Made, _ dump: Dump, _ path: String) {
        let label = "\(made.name)\(made.mutation.map { " (\($0))" } ?? "")"
        let prefix = readPrefix(path, 1 << 22)
        let warden: LUKSHeader?
        let refusal: String?
        do {
            let n = try LUKSHeader.requiredLength(Array(prefix.prefix(LUKSHeader.binaryHeaderSize)))
            warden = try LUKSHeader.parse(Array(prefix.prefix(n)))
            refusal = nil
        } catch {
            warden = nil
            refusal = error.description
        }
        let accepted = dump.status == 0
        if made.wardenRefusesOnly {
            #expect(
                accepted && warden == nil, "\(label): cryptsetup reads it (\(dump.status)), Warden refuses it (\(refusal ?? "accepted"))")
            return
        }
        #expect(
            accepted == (warden != nil),
            "\(label): luksDump \(accepted ? "accepts" : "refuses: \(dump.text.prefix(3))"), Warden \(refusal ?? "accepts")")
        guard accepted, let h = warden else { return }
        let text = dump.text
        #expect(field(text, "Version") == String(h.version), "\(label): version")
        #expect(field(text, "UUID") == h.uuid, "\(label): uuid")
        if h.version == 1 {
            let segment = h.segments.first
            let name = field(text, "Cipher name") ?? ""
            let mode = field(text, "Cipher mode") ?? ""
            #expect(
                segment?.cipher == (mode.isEmpty ? name : "\(name)-\(mode)"),
                "\(label): cipher \(name) \(mode), Warden \(segment?.cipher ?? "-")")
            let enabled = text.enumerated().compactMap { i, line -> (String, String?)? in
                guard line.hasPrefix("Key Slot "), line.hasSuffix("ENABLED") else { return nil }
                let id = String(line.dropFirst("Key Slot ".count).prefix { $0 != ":" })
                return (id, field(Array(text[(i + 1)...].prefix(1)), "Iterations"))
            }
            #expect(h.keyslots.map(\.id) == enabled.map(\.0), "\(label): enabled keyslots \(enabled.map(\.0))")
            for (k, (_, iterations)) in zip(h.keyslots, enabled) {
                #expect(k.iterations.map(String.init) == iterations, "\(label): keyslot \(k.id) iterations \(iterations ?? "-")")
                #expect(k.hash == field(text, "Hash spec") && k.kdf == "pbkdf2", "\(label): keyslot \(k.id) hash")
                #expect(String(k.keySize * 8) == field(text, "MK bits"), "\(label): key bits")
            }
            return
        }
        #expect(field(text, "Metadata area") == "\(h.headerSize) [bytes]", "\(label): header size")
        let dumpLabel = field(text, "Label")
        #expect((h.label ?? "(no label)") == dumpLabel, "\(label): label \(dumpLabel ?? "-"), Warden \(h.label ?? "-")")
        guard let json = dump.json else {
            Issue.record("\(label): no JSON from luksDump --dump-json-metadata")
            return
        }
        let segments = (json["segments"]?.objectValue?.keys ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        #expect(h.segments.map(\.id) == segments, "\(label): segment ids")
        for s in h.segments {
            let theirs = json["segments"]?[s.id]
            #expect(
                s.type == theirs?["type"]?.stringValue && s.cipher == theirs?["encryption"]?.stringValue
                    && s.sectorSize == theirs?["sector_size"]?.intValue, "\(label): segment \(s.id): \(String(describing: theirs))")
        }
        let keyslots = (json["keyslots"]?.objectValue?.keys ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        #expect(h.keyslots.map(\.id) == keyslots, "\(label): keyslot ids")
        for k in h.keyslots {
            let theirs = json["keyslots"]?[k.id]
            let kdf = theirs?["kdf"]
            #expect(
                k.type == theirs?["type"]?.stringValue && k.keySize == theirs?["key_size"]?.intValue && k.kdf == kdf?["type"]?.stringValue
                    && k.memoryKiB == kdf?["memory"]?.intValue && k.timeCost == kdf?["time"]?.intValue
                    && k.iterations == kdf?["iterations"]?.intValue && k.hash == kdf?["hash"]?.stringValue,
                "\(label): keyslot \(k.id): Warden \(k), cryptsetup \(String(describing: theirs))")
        }
        let tokens = (json["tokens"]?.objectValue?.keys ?? []).sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }
        #expect(h.tokens.map(\.id) == tokens, "\(label): token ids")
        for t in h.tokens {
            let theirs = json["tokens"]?[t.id]
            #expect(
                t.type == theirs?["type"]?.stringValue && t.keyslots == (theirs?["keyslots"]?.arrayValue ?? []).compactMap(\.stringValue),
                "\(label): token \(t.id)")
            guard t.type == "systemd-tpm2" else { continue }
            // What systemd's token plugin prints for this token: nothing but the keyslot when
            // systemd refuses the token.
            guard let start = text.firstIndex(where: { $0.trimmingBlanks == "\(t.id): systemd-tpm2" }) else {
                Issue.record("\(label): luksDump shows no systemd-tpm2 token \(t.id): \(text)")
                continue
            }
            // Up to the next token ("  N: type") or section.
            let block = Array(text[(start + 1)...].prefix { $0.hasPrefix("\t") })
            let refused = field(block, "tpm2-hash-pcrs") == nil && field(block, "tpm2-pcrs") == nil
            #expect(
                refused == (t.problem != nil),
                "\(label): token \(t.id): systemd \(refused ? "refuses" : "reads") it, Warden: \(t.problem ?? "reads it")")
            if refused { continue }
            let pcrs = field(block, "tpm2-hash-pcrs") ?? field(block, "tpm2-pcrs")
            let mine = (t.tpm2PCRs ?? []).map(String.init).joined(separator: "+")
            #expect(
                pcrs == (mine.isEmpty ? "n/a" : mine),
                "\(label): token \(t.id) PCRs \(pcrs ?? "-"), Warden \(mine): \(block) \(theirs.map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "")"
            )
            #expect(field(block, "tpm2-pin") == String(t.tpm2Pin ?? false), "\(label): token \(t.id) PIN")
            let pubkey = (t.tpm2PubkeyPCRs ?? []).map(String.init).joined(separator: "+")
            #expect(field(block, "tpm2-pubkey-pcrs") == (pubkey.isEmpty ? "n/a" : pubkey), "\(label): token \(t.id) signed-policy PCRs")
            if let bank = t.tpm2PCRBank { #expect(field(block, "tpm2-pcr-bank") == bank, "\(label): token \(t.id) bank") }
        }
    }

    // MARK: - The test

    @Test func headersAgreeWithCryptsetupLuksDump() throws {
        let started = monotonicSeconds()
        let dir = TempTree(prefix: "warden-luks-oracle")
        dir.file("key", "oracle-passphrase-not-secret")
        dir.directory("luks")
        let seed = UInt64(String(cString: getenv("WARDEN_LUKS_SEED") ?? strdup("5317"))) ?? 5317
        let count = Int(String(cString: getenv("WARDEN_LUKS_CASES") ?? strdup("40"))) ?? 40
        var rng = SplitMix64(seed: seed)
        var made: [Made] = []
        var lines = ["set -u", "d=\"$1\"", "fail() { echo \"FAILED $1\"; }"]
        var tokens: [String: String] = [:]
        for i in 0..<count {
            let luks1 = i % 4 == 3
            let name = "real\(i)"
            lines.append(
                "{ " + Self.script(name, luks1: luks1, &rng, tokens: &tokens).joined(separator: " && ")
                    + "; } >/dev/null 2>\"$d/\(name).err\" || fail \(name)")
            made.append(Made(name: name, luks1: luks1, mutation: nil))
        }
        for (file, text) in tokens { dir.file(file, text) }
        let r = withExtendedLifetime(dir) { run("/bin/sh", ["-c", lines.joined(separator: "\n"), "sh", dir.path], timeout: 600) }
        let failed = byteLines(r.stdout).filter { $0.hasPrefix("FAILED ") }.map { String($0.dropFirst(7)) }
        for name in failed { Issue.record("cryptsetup could not make \(name): \(run("/bin/cat", [dir.path + "/\(name).err"]).stdout)") }
        made.removeAll { failed.contains($0.name) }
        let generated = monotonicSeconds() - started

        // Mutants: copies of the real headers with one change each.
        var mutants: [Made] = []
        for (j, base) in made.enumerated() {
            let kinds = base.luks1 ? 8 : 12
            let kind = Int.random(in: 0..<kinds, using: &rng)
            let name = "mutant\(j)"
            let source = dir.path + "/luks/\(base.name).img"
            let target = dir.path + "/luks/\(name).img"
            guard run("/bin/cp", ["--sparse=always", source, target]).status == 0 else { continue }
            var bytes = Self.readPrefix(target, base.luks1 ? 4096 : 2 * Self.be(Self.readPrefix(source, 16), 8, 8))
            let mutation: String
            var wardenRefusesOnly = false
            if base.luks1 {
                mutation = Self.mutateLUKS1(&bytes, kind, &rng)
            } else {
                (mutation, wardenRefusesOnly) = Self.mutateLUKS2(&bytes, kind, &rng)
            }
            Self.writePrefix(target, bytes)
            mutants.append(Made(name: name, luks1: base.luks1, mutation: "\(base.name): \(mutation)", wardenRefusesOnly: wardenRefusesOnly))
        }
        // The committed headers made with systemd-cryptenroll (real systemd-tpm2 tokens) and
        // clevis luks bind (real clevis sss tokens).
        for fixture in [
            "luks2-tpm2-pcr7", "luks2-tpm2-pin-argon2id-1g", "luks2-tpm2-signed-policy", "luks2-tpm2-pin-signed-policy",
            "luks2-clevis-sss-t2-tpm2-tang", "luks2-clevis-sss-t1-tpm2-tang",
        ] {
            // Only the header is committed: cryptsetup wants the device to reach the data segment.
            _ = run("/bin/cp", [Package.fixtures + "/luks-headers/\(fixture).img", dir.path + "/luks/\(fixture).img"])
            _ = run("/usr/bin/truncate", ["-s", "20M", dir.path + "/luks/\(fixture).img"])
            mutants.append(Made(name: fixture, luks1: false, mutation: nil))
        }
        let all = made + mutants
        let results = try withExtendedLifetime(dir) { try Self.dumps(dir.path, all.map(\.name)) }
        var refused = 0
        for m in all {
            guard let dump = results[m.name] else {
                Issue.record("\(m.name): no luksDump result")
                continue
            }
            if dump.status != 0 { refused += 1 }
            Self.compare(m, dump, dir.path + "/luks/\(m.name).img")
        }
        #expect(made.count >= count * 9 / 10, "\(made.count) real headers")
        #expect(mutants.count >= count * 9 / 10, "\(mutants.count) mutants")
        print(
            "LUKSOracleTests: \(made.count) headers made by cryptsetup in \(Int(generated * 1000)) ms, \(mutants.count) mutants; "
                + "\(refused) refused by luksDump; \(Int((monotonicSeconds() - started) * 1000)) ms in all")
    }
}

extension JSON {
    /// A copy with the value at `path` (objects created on the way) set to `value`.
    fileprivate func setting(_ path: [String], _ value: JSON) -> JSON {
        guard let first = path.first else { return value }
        var o = objectValue ?? [:]
        o[first] = (o[first] ?? .object([:])).setting(Array(path.dropFirst()), value)
        return .object(o)
    }
}

extension String {
    fileprivate var trimmingBlanks: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
