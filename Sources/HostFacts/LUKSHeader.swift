internal import OpenSSLSigning
internal import WardenCore
internal import WardenFormats

/// A LUKS header that cannot be trusted: what was wrong and the byte offset where it was found.
public struct LUKSHeaderError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case badMagic = "bad_magic"
        case unsupportedVersion = "unsupported_version"
        case badHeaderSize = "bad_header_size"
        case truncated
        case badJSON = "bad_json"
        case badMetadata = "bad_metadata"
        case badChecksum = "bad_checksum"
        /// libcrypto could not compute the checksum: the header is not judged at all.
        case checksumNotComputed = "checksum_not_computed"
    }

    public var code: Code
    /// The byte offset in the device where the header is wrong.
    public var offset: Int
    public var message: String

    public var description: String {
        code == .checksumNotComputed
            ? "LUKS header checksum not computed: \(message)" : "LUKS header invalid at byte offset \(offset): \(message)"
    }
}

/// The parts of a LUKS1 or LUKS2 header Warden judges (docs/DAEMON-SEMANTICS.md, "LUKS headers"). A pure
/// parser: it is given the first bytes of a device and never reads on its own.
public struct LUKSHeader: Sendable, Hashable {
    public struct Segment: Sendable, Hashable {
        public var id: String
        public var type: String
        /// `aes-xts-plain64`; nil for non-crypt segments.
        public var cipher: String?
        public var sectorSize: Int64?
    }

    public struct Keyslot: Sendable, Hashable {
        public var id: String
        public var type: String
        /// Bytes of the volume key it holds.
        public var keySize: Int64
        /// `argon2id`, `argon2i` or `pbkdf2`.
        public var kdf: String
        /// Argon2 memory cost in KiB (nil for pbkdf2).
        public var memoryKiB: Int64?
        public var timeCost: Int64?
        public var iterations: Int64?
        public var hash: String?
    }

    public struct Token: Sendable, Hashable {
        public var id: String
        public var type: String
        /// The keyslots the token unlocks (ids as strings, as in the JSON).
        public var keyslots: [String]
        public var tpm2PCRs: [Int64]?
        public var tpm2PCRBank: String?
        public var tpm2Pin: Bool?
        /// PCRs bound through a signed policy (`tpm2_pubkey_pcrs`).
        public var tpm2PubkeyPCRs: [Int64]?
        /// For clevis: the pin of the JWE (`tpm2`, `tang`, `null`), or for `sss` the pins of its
        /// shares (`sss:tpm2`, `sss:tang`, …).
        public var clevisPins: [String]?
        /// For a clevis `sss` pin: how many shares unlock (`t`).
        public var clevisThreshold: Int64?
        /// Why the program that uses this token type would refuse it (systemd 252's
        /// tpm2_parse_luks2_json for systemd-tpm2, clevis 19 for clevis), or nil. Such a token
        /// unlocks nothing.
        public var problem: String?
    }

    public var version: Int
    /// LUKS2: the binary header plus JSON area; LUKS1: the fixed 592-byte header.
    public var headerSize: Int
    public var uuid: String
    public var label: String?
    public var segments: [Segment]
    public var keyslots: [Keyslot]
    public var tokens: [Token]
    /// `sha256` when the LUKS2 header checksum was verified, else what it could not be verified with.
    public var checksum: String

    public static let magic: [UInt8] = [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]  // "LUKS\xba\xbe"
    /// Bytes to read before the header size is known (the LUKS2 binary header; LUKS1 needs 592).
    public static let binaryHeaderSize = 4096
    static let luks1HeaderSize = 592
    /// LUKS2 `hdr_size` may be 16 KiB, 32 KiB, … 4 MiB.
    static let validHeaderSizes: Set<Int> = Set((14...22).map { 1 << $0 })

    /// How many bytes the whole header takes, from its first `binaryHeaderSize` bytes (or fewer).
    public static func requiredLength(_ prefix: [UInt8]) throws(LUKSHeaderError) -> Int {
        let version = try checkMagicAndVersion(prefix)
        if version == 1 { return luks1HeaderSize }
        guard prefix.count >= 16 else { throw truncated(at: prefix.count, need: 16, what: "hdr_size") }
        return try headerSize(prefix)
    }

    /// Parses a header from the first bytes of a device (at least `requiredLength` of them).
    public static func parse(_ bytes: [UInt8]) throws(LUKSHeaderError) -> LUKSHeader {
        let version = try checkMagicAndVersion(bytes)
        return version == 1 ? try parseLUKS1(bytes) : try parseLUKS2(bytes)
    }

    // MARK: Binary fields

    static func checkMagicAndVersion(_ b: [UInt8]) throws(LUKSHeaderError) -> Int {
        guard b.count >= 8 else { throw truncated(at: b.count, need: 8, what: "magic and version") }
        if let i = (0..<6).first(where: { b[$0] != magic[$0] }) {
            throw LUKSHeaderError(
                code: .badMagic, offset: i,
                message: "bad magic \(Hex.lowercase(b[0..<6])) (expected 4c554b53babe, \"LUKS\\xba\\xbe\")")
        }
        let version = Int(beUInt(b, 6, 2))
        guard version == 1 || version == 2 else {
            throw LUKSHeaderError(code: .unsupportedVersion, offset: 6, message: "version \(version) (expected 1 or 2)")
        }
        return version
    }

    static func headerSize(_ b: [UInt8]) throws(LUKSHeaderError) -> Int {
        let raw = beUInt(b, 8, 8)
        guard raw <= UInt64(1 << 22), validHeaderSizes.contains(Int(raw)) else {
            throw LUKSHeaderError(code: .badHeaderSize, offset: 8, message: "hdr_size \(raw) is not a power of two from 16384 to 4194304")
        }
        return Int(raw)
    }

    static func truncated(at offset: Int, need: Int, what: String) -> LUKSHeaderError {
        LUKSHeaderError(code: .truncated, offset: offset, message: "header ends after \(offset) bytes; \(what) needs \(need)")
    }

    static func beUInt(_ b: [UInt8], _ offset: Int, _ count: Int) -> UInt64 {
        b[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A NUL-padded string field.
    static func cString(_ b: [UInt8], _ offset: Int, _ count: Int) -> String {
        String(decoding: b[offset..<offset + count].prefix { $0 != 0 }, as: UTF8.self)
    }

    // MARK: LUKS1

    /// LUKS1: cipher name at 8 (32 bytes), mode at 40 (32), hash at 72 (32), key bytes u32 at
    /// 108, uuid at 168 (40), eight 48-byte keyslots from 208 (active 0x00AC71F3, iterations).
    /// The KDF is always pbkdf2.
    static func parseLUKS1(_ b: [UInt8]) throws(LUKSHeaderError) -> LUKSHeader {
        guard b.count >= luks1HeaderSize else { throw truncated(at: b.count, need: luks1HeaderSize, what: "the LUKS1 header") }
        let name = cString(b, 8, 32)
        let mode = cString(b, 40, 32)
        let hash = cString(b, 72, 32)
        guard !name.isEmpty else { throw LUKSHeaderError(code: .badMetadata, offset: 8, message: "empty cipher name") }
        let keyBytes = Int64(beUInt(b, 108, 4))
        guard keyBytes > 0, keyBytes <= 512 else {
            throw LUKSHeaderError(code: .badMetadata, offset: 108, message: "key bytes \(keyBytes) out of range")
        }
        // cryptsetup refuses a hash it does not know or shorter than 20 bytes ("Requested LUKS hash
        // md5 is not supported"): the hashes of its OpenSSL backend (default and legacy providers).
        guard let digest = luks1Hashes[hash.lowercased()], digest >= 20 else {
            throw LUKSHeaderError(code: .badMetadata, offset: 72, message: "hash \(hash) is not one cryptsetup supports for LUKS1")
        }
        try checkLUKS1Keyslots(b, keyBytes: keyBytes)
        var keyslots: [Keyslot] = []
        for slot in 0..<8 {
            let base = 208 + slot * 48
            // Enabled is 0x00AC71F3; anything else (0x0000DEAD, or a value neither) is not used.
            guard beUInt(b, base, 4) == 0x00AC_71F3 else { continue }
            keyslots.append(
                Keyslot(
                    id: String(slot), type: "luks1", keySize: keyBytes, kdf: "pbkdf2", memoryKiB: nil, timeCost: nil,
                    iterations: Int64(beUInt(b, base + 4, 4)), hash: hash))
        }
        return LUKSHeader(
            version: 1, headerSize: luks1HeaderSize, uuid: cString(b, 168, 40), label: nil,
            segments: [Segment(id: "0", type: "crypt", cipher: mode.isEmpty ? name : "\(name)-\(mode)", sectorSize: 512)],
            keyslots: keyslots, tokens: [], checksum: "none (LUKS1 has no header checksum)")
    }

    /// Hash names cryptsetup 2.6 (OpenSSL 3 backend) knows, with their digest sizes.
    static let luks1Hashes: [String: Int] = [
        "sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64, "ripemd160": 20, "whirlpool": 64,
        "sha3-224": 28, "sha3-256": 32, "sha3-384": 48, "sha3-512": 64, "sm3": 32, "blake2b-512": 64, "blake2s-256": 32,
        "md5": 16,
    ]

    /// cryptsetup's LUKS_check_keyslots: every keyslot (enabled or not) has 4000 stripes, its key
    /// material after the header and, unless the header is detached (payload offset 0), before
    /// the payload; and no two keyslots' key material overlaps (the last one's end is left to
    /// the device size check).
    static func checkLUKS1Keyslots(_ b: [UInt8], keyBytes: Int64) throws(LUKSHeaderError) {
        let sectors = (UInt64(keyBytes) * 4000 + 511) / 512
        let payload = beUInt(b, 104, 4)
        var offsets: [(slot: Int, offset: UInt64)] = []
        for slot in 0..<8 {
            let base = 208 + slot * 48
            let offset = beUInt(b, base + 40, 4)
            let stripes = beUInt(b, base + 44, 4)
            let invalid = LUKSHeaderError(
                code: .badMetadata, offset: base,
                message: "keyslot \(slot) is invalid (key material at sector \(offset), \(stripes) stripes)")
            guard stripes == 4000, offset * 512 >= UInt64(luks1HeaderSize) else { throw invalid }
            if payload != 0, payload <= offset || payload < offset + sectors { throw invalid }
            offsets.append((slot, offset))
        }
        offsets.sort { ($0.offset, $0.slot) < ($1.offset, $1.slot) }
        for (previous, next) in zip(offsets, offsets.dropFirst()) where next.offset < previous.offset + sectors {
            throw LUKSHeaderError(
                code: .badMetadata, offset: 208 + previous.slot * 48,
                message: "keyslot \(previous.slot) is invalid: its key material overlaps keyslot \(next.slot)'s")
        }
    }

    // MARK: LUKS2

    /// LUKS2: `hdr_size` u64 at 8, label at 24 (48), checksum algorithm at 72 (32), uuid at 168
    /// (40), header offset u64 at 256 (0 for the primary header), checksum at 448 (64); the JSON
    /// metadata from 4096 to `hdr_size`, NUL-padded.
    static func parseLUKS2(_ b: [UInt8]) throws(LUKSHeaderError) -> LUKSHeader {
        guard b.count >= binaryHeaderSize else { throw truncated(at: b.count, need: binaryHeaderSize, what: "the LUKS2 binary header") }
        let size = try headerSize(b)
        guard b.count >= size else { throw truncated(at: b.count, need: size, what: "hdr_size (\(size), binary header and JSON area)") }
        let headerOffset = beUInt(b, 256, 8)
        guard headerOffset == 0 else {
            throw LUKSHeaderError(code: .badMetadata, offset: 256, message: "hdr_offset \(headerOffset): this is not the primary header")
        }
        let area = b[binaryHeaderSize..<size]
        let text = area.prefix { $0 != 0 }
        guard !text.isEmpty else { throw LUKSHeaderError(code: .badJSON, offset: binaryHeaderSize, message: "the JSON area is empty") }
        let json: JSON
        do { json = try JSON.parse(text) } catch {
            throw LUKSHeaderError(code: .badJSON, offset: binaryHeaderSize + error.offset, message: "JSON metadata: \(error.message)")
        }
        let checksum = try verifyChecksum(b, size: size)
        var metadata = Metadata(json: json)
        let segments = try metadata.segments()
        let keyslots = try metadata.keyslots()
        let tokens = try metadata.tokens()
        try metadata.validate(keyslots: keyslots, tokens: tokens, headerSize: size)
        let label = cString(b, 24, 48)
        return LUKSHeader(
            version: 2, headerSize: size, uuid: cString(b, 168, 40), label: label.isEmpty ? nil : label,
            segments: segments, keyslots: keyslots, tokens: tokens, checksum: checksum)
    }

    /// The primary header's checksum: SHA-256 over `hdr_size` bytes with the checksum field
    /// (448, 64 bytes) zeroed. Other algorithms are reported as not verified.
    static func verifyChecksum(_ b: [UInt8], size: Int) throws(LUKSHeaderError) -> String {
        let algorithm = cString(b, 72, 32)
        guard algorithm == "sha256" else { return "not verified (checksum algorithm \(algorithm))" }
        var copy = Array(b[0..<size])
        for i in 448..<(448 + 64) { copy[i] = 0 }
        let digest: [UInt8]
        do {
            digest = try Digester.libcrypto.sha256(copy)
        } catch {
            throw LUKSHeaderError(code: .checksumNotComputed, offset: 448, message: error.message)
        }
        guard Array(b[448..<480]) == digest else {
            throw LUKSHeaderError(
                code: .badChecksum, offset: 448,
                message: "header checksum \(Hex.lowercase(b[448..<480])) does not match the SHA-256 of the header, \(Hex.lowercase(digest))"
            )
        }
        return "sha256"
    }

    /// Reads the JSON metadata; every type error names the field, at the JSON area's offset.
    struct Metadata {
        let json: JSON

        func bad(_ field: String, _ message: String) -> LUKSHeaderError {
            LUKSHeaderError(code: .badMetadata, offset: LUKSHeader.binaryHeaderSize, message: "JSON metadata: \(field): \(message)")
        }

        /// The members of a top-level object, sorted by numeric id.
        func members(_ key: String, required: Bool) throws(LUKSHeaderError) -> [(String, JSONObject)] {
            guard let value = json[key] else {
                if required { throw bad(key, "missing") }
                return []
            }
            guard case .object(let o) = value else { throw bad(key, "expected an object, found \(value.typeName)") }
            var out: [(String, JSONObject)] = []
            for id in o.keys.sorted(by: { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) }) {
                guard case .object(let member)? = o[id] else { throw bad("\(key).\(id)", "expected an object") }
                out.append((id, member))
            }
            return out
        }

        func string(_ o: JSONObject, _ key: String, _ field: String) throws(LUKSHeaderError) -> String {
            guard let s = o[key]?.stringValue else { throw bad("\(field).\(key)", "missing or not a string") }
            return s
        }

        func integer(_ o: JSONObject, _ key: String, _ field: String) throws(LUKSHeaderError) -> Int64? {
            guard let v = o[key] else { return nil }
            if let i = v.intValue { return i }
            // Offsets and sizes are strings in LUKS2 JSON; some integers are too.
            if let s = v.stringValue, let i = Int64(s) { return i }
            throw bad("\(field).\(key)", "expected an integer, found \(v.typeName)")
        }

        /// A JSON number, as cryptsetup requires for `key_size`, KDF costs and `sector_size` (a
        /// string there makes the header invalid).
        func number(_ o: JSONObject, _ key: String, _ field: String) throws(LUKSHeaderError) -> Int64? {
            guard let v = o[key] else { return nil }
            guard let i = v.intValue else { throw bad("\(field).\(key)", "expected an integer, found \(v.typeName)") }
            return i
        }

        /// A size or offset written as a decimal string, as LUKS2 writes them.
        func decimalString(_ o: JSONObject?, _ key: String, _ field: String) throws(LUKSHeaderError) -> Int64 {
            guard let s = o?[key]?.stringValue, !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), let i = Int64(s) else {
                throw bad("\(field).\(key)", "missing or not a decimal string")
            }
            return i
        }

        func integers(_ o: JSONObject, _ key: String, _ field: String) throws(LUKSHeaderError) -> [Int64]? {
            guard let v = o[key] else { return nil }
            guard let a = v.arrayValue else { throw bad("\(field).\(key)", "expected a list") }
            var out: [Int64] = []
            for item in a {
                guard let i = item.intValue else { throw bad("\(field).\(key)", "expected integers") }
                out.append(i)
            }
            return out
        }

        /// What cryptsetup's LUKS2 validation checks about the parts Warden reads: a token names
        /// only keyslots that exist, and keyslot areas lie inside the keyslots area (after both
        /// header copies, `config.keyslots_size` long) without overlapping.
        func validate(keyslots: [Keyslot], tokens: [Token], headerSize: Int) throws(LUKSHeaderError) {
            for (id, s) in try members("segments", required: true) where s["type"]?.stringValue == "crypt" {
                let sector = s["sector_size"]?.intValue ?? 0
                guard [512, 1024, 2048, 4096].contains(sector) else {
                    throw bad("segments.\(id).sector_size", "\(sector) is not 512, 1024, 2048 or 4096")
                }
            }
            let ids = Set(keyslots.map(\.id))
            for t in tokens {
                if let missing = t.keyslots.first(where: { !ids.contains($0) }) {
                    throw bad("tokens.\(t.id).keyslots", "keyslot \(missing) does not exist")
                }
            }
            let start = Int64(2 * headerSize)
            let end = start + (try decimalString(json["config"]?.objectValue, "keyslots_size", "config"))
            var areas: [(id: String, range: Range<Int64>)] = []
            for (id, k) in try members("keyslots", required: true) {
                let area = k["area"]?.objectValue
                // A reencryption keyslot's area is checked by cryptsetup's reencryption code; Warden
                // checks the areas of keyslots that hold keys.
                guard area?["type"]?.stringValue == "raw" || k["type"]?.stringValue == "luks2" else { continue }
                let offset = try decimalString(area, "offset", "keyslots.\(id).area")
                let size = try decimalString(area, "size", "keyslots.\(id).area")
                guard offset >= start, size <= end - offset else {
                    throw bad("keyslots.\(id).area", "\(offset)+\(size) is outside the keyslots area \(start)..<\(end)")
                }
                if let other = areas.first(where: { $0.range.overlaps(offset..<(offset + size)) }) {
                    throw bad("keyslots.\(id).area", "overlaps the area of keyslot \(other.id)")
                }
                areas.append((id, offset..<(offset + size)))
            }
        }

        mutating func segments() throws(LUKSHeaderError) -> [Segment] {
            var out: [Segment] = []
            for (id, s) in try members("segments", required: true) {
                let field = "segments.\(id)"
                let type = try string(s, "type", field)
                out.append(
                    Segment(
                        id: id, type: type, cipher: type == "crypt" ? try string(s, "encryption", field) : nil,
                        sectorSize: try number(s, "sector_size", field)))
            }
            return out
        }

        mutating func keyslots() throws(LUKSHeaderError) -> [Keyslot] {
            var out: [Keyslot] = []
            for (id, k) in try members("keyslots", required: true) {
                let field = "keyslots.\(id)"
                guard let keySize = try number(k, "key_size", field) else { throw bad("\(field).key_size", "missing") }
                guard case .object(let kdf)? = k["kdf"] else { throw bad("\(field).kdf", "missing or not an object") }
                out.append(
                    Keyslot(
                        id: id, type: try string(k, "type", field), keySize: keySize, kdf: try string(kdf, "type", field + ".kdf"),
                        memoryKiB: try number(kdf, "memory", field + ".kdf"), timeCost: try number(kdf, "time", field + ".kdf"),
                        iterations: try number(kdf, "iterations", field + ".kdf"), hash: kdf["hash"]?.stringValue))
            }
            return out
        }

        mutating func tokens() throws(LUKSHeaderError) -> [Token] {
            var out: [Token] = []
            for (id, t) in try members("tokens", required: false) {
                let field = "tokens.\(id)"
                guard let list = t["keyslots"]?.arrayValue else { throw bad("\(field).keyslots", "missing or not a list") }
                var keyslots: [String] = []
                for k in list {
                    guard let s = k.stringValue else { throw bad("\(field).keyslots", "expected keyslot ids as strings") }
                    keyslots.append(s)
                }
                let type = try string(t, "type", field)
                var token = Token(id: id, type: type, keyslots: keyslots)
                if type == "systemd-tpm2" { LUKSHeader.readTPM2(t, into: &token) }
                if type == "clevis" {
                    let binding = LUKSHeader.clevisBinding(t["jwe"])
                    token.clevisPins = binding.pins
                    token.clevisThreshold = binding.threshold
                    token.problem = binding.problem
                }
                out.append(token)
            }
            return out
        }
    }

    /// systemd 252's reading of a systemd-tpm2 token (tpm2_parse_luks2_json): `tpm2-pcrs` (PCR
    /// numbers below 24), `tpm2-blob` (base64) and `tpm2-policy-hash` (hex) are required; the bank
    /// (sha1, sha256, sha384, sha512), primary algorithm (ecc, rsa) and `tpm2-pin` (a boolean) are
    /// optional; `tpm2_pubkey_pcrs` needs `tpm2_pubkey`. A token it refuses unlocks nothing.
    static func readTPM2(_ t: JSONObject, into token: inout Token) {
        func pcrs(_ key: String) -> [Int64]?? {
            guard let v = t[key] else { return .some(nil) }
            guard let a = v.arrayValue else { return nil }
            var out: [Int64] = []
            for item in a {
                guard let i = item.intValue, i >= 0, i < 24 else { return nil }
                out.append(i)
            }
            return .some(out)
        }
        var problems: [String] = []
        switch pcrs("tpm2-pcrs") {
        case .some(.some(let p)): token.tpm2PCRs = p
        case .some(.none): problems.append("no tpm2-pcrs")
        case .none: problems.append("tpm2-pcrs is not a list of PCR numbers")
        }
        if let bank = t["tpm2-pcr-bank"] {
            if let b = bank.stringValue, ["sha1", "sha256", "sha384", "sha512"].contains(b) {
                token.tpm2PCRBank = b
            } else {
                problems.append("tpm2-pcr-bank \(bank) is not a bank")
            }
        }
        if let alg = t["tpm2-primary-alg"], !["ecc", "rsa"].contains(alg.stringValue ?? "") {
            problems.append("tpm2-primary-alg \(alg) is not ecc or rsa")
        }
        if t["tpm2-blob"]?.stringValue.flatMap(base64Decode) == nil { problems.append("no tpm2-blob in base64") }
        if !(t["tpm2-policy-hash"]?.stringValue.map { $0.count % 2 == 0 && $0.allSatisfy(\.isHexDigit) } ?? false) {
            problems.append("no tpm2-policy-hash in hex")
        }
        if let pin = t["tpm2-pin"] {
            if let p = pin.boolValue { token.tpm2Pin = p } else { problems.append("tpm2-pin is not a boolean") }
        } else {
            token.tpm2Pin = false
        }
        switch pcrs("tpm2_pubkey_pcrs") {
        case .some(.some(let p)): token.tpm2PubkeyPCRs = p
        case .some(.none): token.tpm2PubkeyPCRs = []
        case .none: problems.append("tpm2_pubkey_pcrs is not a list of PCR numbers")
        }
        if let key = t["tpm2_pubkey"] {
            if key.stringValue.flatMap(base64Decode) == nil { problems.append("tpm2_pubkey is not base64") }
        } else if !(token.tpm2PubkeyPCRs ?? []).isEmpty {
            problems.append("tpm2_pubkey_pcrs without tpm2_pubkey")
        }
        if !problems.isEmpty { token.problem = "systemd 252 refuses this systemd-tpm2 token: " + problems.joined(separator: "; ") }
    }

    /// Standard base64 (with or without padding), as systemd's unbase64mem reads it.
    static func base64Decode(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) }) else { return nil }
        return base64URLDecode(text)
    }

    /// What a clevis token's JWE binds the key to, as clevis 19 (Debian 12) writes and reads it
    /// (docs/DAEMON-SEMANTICS.md, "clevis"): the protected header's `clevis.pin`; for `sss`, the
    /// threshold `clevis.sss.t` and the pins of the compact JWEs in `clevis.sss.jwe` (one share
    /// each). A header clevis cannot use is a `problem`: the token unlocks nothing.
    struct ClevisBinding: Equatable {
        var pins: [String] = []
        var threshold: Int64?
        var problem: String?
    }

    /// The pins clevis 19 has (its `clevis-decrypt-PIN` programs in Debian 12).
    static let clevisPins: Set<String> = ["tpm2", "tang", "sss", "null"]

    static func clevisBinding(_ jwe: JSON?) -> ClevisBinding {
        func refused(_ why: String, pins: [String] = [], threshold: Int64? = nil) -> ClevisBinding {
            ClevisBinding(pins: pins, threshold: threshold, problem: "clevis 19 cannot use this token: \(why)")
        }
        guard let protected = jwe?["protected"]?.stringValue, let header = decodeJOSEHeader(protected) else {
            return refused("no JWE protected header it can read")
        }
        guard let pin = header["clevis"]?["pin"]?.stringValue else { return refused("its JWE header names no clevis pin") }
        guard clevisPins.contains(pin) else { return refused("it has no pin '\(pin)'", pins: [pin]) }
        guard pin == "sss" else { return ClevisBinding(pins: [pin]) }
        let config = header["clevis"]?["sss"]
        guard let shares = config?["jwe"]?.arrayValue else {
            return refused("the sss pin has no list of shares (clevis.sss.jwe)", pins: [])
        }
        // A share whose header cannot be read, or names a pin clevis lacks, can never be decrypted.
        let pins = shares.map { share -> String in
            guard let first = share.stringValue?.split(separator: ".", omittingEmptySubsequences: false).first,
                let h = decodeJOSEHeader(String(first)), let p = h["clevis"]?["pin"]?.stringValue
            else { return "sss:?" }
            return "sss:\(p)"
        }
        guard let t = config?["t"]?.intValue, t >= 1 else {
            return refused("the sss threshold (clevis.sss.t) is not a number from 1", pins: pins)
        }
        let usable = pins.filter { clevisPins.contains(String($0.dropFirst(4))) }.count
        guard Int64(usable) >= t else {
            return refused("the sss pin needs \(t) shares and only \(usable) of \(pins.count) can be decrypted", pins: pins, threshold: t)
        }
        return ClevisBinding(pins: pins, threshold: t)
    }

    /// What a live token needs to release the volume key, from the weakest way it can: `tpm2`
    /// (this machine's TPM state alone), `tpm2+pin` (the TPM and a PIN a person types),
    /// `tpm2+tang` (a clevis `sss` whose every quorum needs a TPM share and a tang share),
    /// `tang` (a tang server alone), `none` (clevis `null` shares suffice); nil for token types
    /// that are neither systemd-tpm2 nor clevis. A nested `sss` share is counted as needing nothing
    /// (a possible false fail, never a false pass).
    public static func release(of token: Token) -> String? {
        switch token.type {
        case "systemd-tpm2":
            return token.tpm2Pin == true ? "tpm2+pin" : "tpm2"
        case "clevis":
            guard token.problem == nil, let pins = token.clevisPins else { return nil }
            guard let t = token.clevisThreshold else {
                return pins.first.map { $0 == "null" ? "none" : $0 }
            }
            let kinds = pins.map { $0.dropFirst(4) }
            let tpm = Int64(kinds.filter { $0 == "tpm2" }.count)
            let tang = Int64(kinds.filter { $0 == "tang" }.count)
            let free = Int64(kinds.filter { $0 == "null" || $0 == "sss" }.count)
            if free >= t { return "none" }
            if tpm + free >= t { return "tpm2" }
            if tang + free >= t { return "tang" }
            return "tpm2+tang"
        default:
            return nil
        }
    }

    /// Whether every way a live systemd-tpm2 or clevis token releases the key goes through this
    /// machine's TPM (the Code's TPM-held key, and RAND SL1's root of trust).
    public static func needsTPM(_ token: Token) -> Bool {
        switch token.type {
        case "systemd-tpm2":
            return token.problem == nil
        case "clevis":
            guard token.problem == nil, let pins = token.clevisPins else { return false }
            guard let t = token.clevisThreshold else { return pins == ["tpm2"] }
            // Every quorum of t shares holds a TPM share when the others cannot make one up.
            return Int64(pins.filter { ["sss:tang", "sss:null", "sss:sss"].contains($0) }.count) < t
        default:
            return false
        }
    }

    /// A base64url-encoded JSON object (a JOSE protected header).
    static func decodeJOSEHeader(_ text: String) -> JSON? {
        guard let bytes = base64URLDecode(text), let json = try? JSON.parse(bytes) else { return nil }
        return json
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"), UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}

// MARK: - Judging the cipher

extension LUKSHeader {
    /// What a cipher specification amounts to: the family (`aes`, `adiantum`, `xchacha20`,
    /// `cipher_null`), the mode (`xts-plain64`), and the effective security in bits for a volume
    /// key of `keyBytes` (XTS splits its key in two; Adiantum and ChaCha use 256-bit keys).
    public struct CipherStrength: Sendable, Hashable {
        public var family: String
        public var mode: String
        public var securityBits: Int64?
    }

    public static func strength(cipher: String, keyBytes: Int64?) -> CipherStrength {
        var spec = cipher.lowercased()
        // Kernel crypto API form: capi:xts(aes)-plain64.
        if spec.hasPrefix("capi:"), let open = spec.firstIndex(of: "("), let close = spec[open...].firstIndex(of: ")") {
            let mode = spec[spec.index(spec.startIndex, offsetBy: 5)..<open]
            let algorithm = spec[spec.index(after: open)..<close]
            spec = "\(algorithm)-\(mode)\(spec[spec.index(after: close)...])"
        }
        let bits = keyBytes.map { $0 * 8 }
        if spec.contains("adiantum") {
            // xchacha12,aes-adiantum-plain64 / xchacha20,aes-adiantum-plain64: one 256-bit key.
            return CipherStrength(family: "adiantum", mode: spec, securityBits: bits.map { min($0, 256) })
        }
        let parts = spec.split(separator: "-", maxSplits: 1)
        let family = parts.first.map(String.init) ?? spec
        let mode = parts.count > 1 ? String(parts[1]) : ""
        if family == "cipher_null" || family == "null" { return CipherStrength(family: "cipher_null", mode: mode, securityBits: 0) }
        let security = bits.map { mode.hasPrefix("xts") ? $0 / 2 : $0 }
        return CipherStrength(family: family, mode: mode, securityBits: security)
    }
}
