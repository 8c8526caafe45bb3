internal import COpenSSL

/// The two signature algorithms Warden uses: Ed25519 (the default) and ECDSA over P-256 with
/// SHA-256 and DER-encoded signatures (what TPMs can hold).
public enum KeyAlgorithm: String, Sendable, CaseIterable {
    case ed25519
    case ecdsaP256 = "ecdsa-p256"

    /// The digest passed to `EVP_DigestSignInit_ex`: none for EdDSA, which hashes internally.
    var digestName: String? {
        switch self {
        case .ed25519: nil
        case .ecdsaP256: "SHA256"
        }
    }

    /// The algorithm of a key, or nil for any other kind (RSA, other curves).
    static func of(_ pkey: OpaquePointer) -> KeyAlgorithm? {
        if EVP_PKEY_is_a(pkey, "ED25519") == 1 { return .ed25519 }
        guard EVP_PKEY_is_a(pkey, "EC") == 1 else { return nil }
        var name = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else { return nil }
        let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return group == "prime256v1" || group == "P-256" ? .ecdsaP256 : nil
    }
}

/// A public key (Ed25519 or ECDSA P-256), always held by OpenSSL's default provider, so that
/// verification never depends on the device that holds the private half.
public final class PublicKey: @unchecked Sendable {
    // Immutable after init; OpenSSL 3 allows concurrent read-only use of an EVP_PKEY.
    let pkey: OpaquePointer
    public let algorithm: KeyAlgorithm
    /// The DER SubjectPublicKeyInfo.
    public let spkiDER: [UInt8]
    /// Lower-case hex SHA-256 of `spkiDER`: how envelopes name the key that signed them.
    public let keyID: String

    /// Takes ownership of `pkey` (freed here on failure). `der` is the key's SubjectPublicKeyInfo
    /// when the caller already holds it in canonical form; otherwise OpenSSL encodes it.
    init(taking pkey: OpaquePointer, der: [UInt8]? = nil, reference: String?) throws(OpenSSLError) {
        guard let algorithm = KeyAlgorithm.of(pkey) else {
            EVP_PKEY_free(pkey)
            throw OpenSSLError(.invalidKey, reference: reference, "unsupported key type: Warden signs with Ed25519 or ECDSA P-256 keys")
        }
        let bytes: [UInt8]
        if let der {
            bytes = der
        } else {
            var encoded: UnsafeMutablePointer<UInt8>?
            let length = i2d_PUBKEY(pkey, &encoded)
            guard length > 0, let encoded else {
                EVP_PKEY_free(pkey)
                throw OpenSSLError("encoding the public key (i2d_PUBKEY)", reference: reference)
            }
            bytes = Array(UnsafeBufferPointer(start: encoded, count: Int(length)))
            warden_openssl_free(encoded)
        }
        let keyID: String
        do {
            keyID = try OpenSSLDigest.sha256Hex(bytes)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.algorithm = algorithm
        self.spkiDER = bytes
        self.keyID = keyID
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A PEM `PUBLIC KEY` block (SubjectPublicKeyInfo). `reference` names the source in errors.
    /// The block is decoded here and read as DER (OpenSSL's PEM reader sets up its whole decoder
    /// framework per call, 100 times slower); a block with headers goes to OpenSSL's reader.
    public convenience init(pem: [UInt8], reference: String? = nil) throws(OpenSSLError) {
        if let der = PEMBlock.publicKeyDER(pem) {
            try self.init(spkiDER: der, reference: reference)
            return
        }
        let loaded: OpaquePointer? = pem.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return warden_read_public_key(bio)
        }
        guard let loaded else { throw OpenSSLError("reading a PEM public key", reference: reference, kind: .invalidKey) }
        try self.init(taking: loaded, reference: reference)
    }

    /// A DER SubjectPublicKeyInfo. An Ed25519 key in its one canonical encoding is imported from
    /// its 32 raw bytes (what `d2i_PUBKEY` finds after its decoder lookups, 30 times slower).
    public convenience init(spkiDER: [UInt8], reference: String? = nil) throws(OpenSSLError) {
        if spkiDER.count == PublicKey.ed25519Prefix.count + 32, spkiDER.starts(with: PublicKey.ed25519Prefix) {
            let raw = spkiDER.withUnsafeBufferPointer { buffer in
                EVP_PKEY_new_raw_public_key_ex(nil, "ED25519", nil, buffer.baseAddress.map { $0 + PublicKey.ed25519Prefix.count }, 32)
            }
            guard let raw else { throw OpenSSLError("reading a DER Ed25519 public key", reference: reference, kind: .invalidKey) }
            try self.init(taking: raw, der: spkiDER, reference: reference)
            return
        }
        let loaded: OpaquePointer? = spkiDER.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let loaded else { throw OpenSSLError("reading a DER public key", reference: reference, kind: .invalidKey) }
        try self.init(taking: loaded, reference: reference)
    }

    /// The DER of an Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410 §4):
    /// SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes, no unused bits) }.
    static let ed25519Prefix: [UInt8] = [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00]

    /// The key as a PEM `PUBLIC KEY` block, ending in a newline: what `PEM_write_bio_PUBKEY`
    /// writes (base64 of the DER in lines of 64), without its encoder set-up per key.
    public var pem: String {
        var out = "-----BEGIN PUBLIC KEY-----\n"
        var encoded = [UInt8](repeating: 0, count: (spkiDER.count + 2) / 3 * 4 + 1)
        let n = spkiDER.withUnsafeBufferPointer { der in
            encoded.withUnsafeMutableBufferPointer { EVP_EncodeBlock($0.baseAddress, der.baseAddress, Int32(der.count)) }
        }
        var line = 0
        while line < Int(n) {
            let end = min(line + 64, Int(n))
            out += String(decoding: encoded[line..<end], as: UTF8.self) + "\n"
            line = end
        }
        return out + "-----END PUBLIC KEY-----\n"
    }

    /// Whether `signature` is this key's signature over `message` (Ed25519 over the message
    /// itself; ECDSA P-256 over its SHA-256, DER-encoded). A bad signature is `false`, not an error.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else {
            ERR_clear_error()
            return false
        }
        defer { EVP_MD_CTX_free(ctx) }
        defer { ERR_clear_error() }
        guard EVP_DigestVerifyInit_ex(ctx, nil, algorithm.digestName, nil, nil, pkey, nil) == 1 else { return false }
        let result = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestVerify(ctx, sig.baseAddress, sig.count, msg.baseAddress, msg.count)
            }
        }
        return result == 1
    }
}

/// The body of the first `PUBLIC KEY` block of a PEM text, as DER.
enum PEMBlock {
    /// Nil when there is no such block, when it has headers (`Name: value` lines) or is not
    /// plain base64: the caller then leaves the text to OpenSSL.
    static func publicKeyDER(_ pem: [UInt8]) -> [UInt8]? {
        var body: [UInt8] = []
        var inside = false
        for line in pem.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let line = line.last == 0x0D ? line.dropLast() : line
            if !inside {
                inside = line.elementsEqual("-----BEGIN PUBLIC KEY-----".utf8)
            } else if line.elementsEqual("-----END PUBLIC KEY-----".utf8) {
                return decode(body)
            } else {
                guard line.allSatisfy(isBase64) else { return nil }
                body.append(contentsOf: line)
            }
        }
        return nil
    }

    private static func isBase64(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            true
        default: false
        }
    }

    /// `EVP_DecodeBlock` decodes whole groups of four, padding included as zero bytes.
    private static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard !text.isEmpty, text.count % 4 == 0, text.count <= 1 << 16 else { return nil }
        let padding = text.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2, !text.dropLast(padding).contains(UInt8(ascii: "=")) else { return nil }
        var out = [UInt8](repeating: 0, count: text.count / 4 * 3)
        let length = text.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { EVP_DecodeBlock($0.baseAddress, input.baseAddress, Int32(input.count)) }
        }
        guard length == Int32(out.count) else { return nil }
        return Array(out.dropLast(padding))
    }
}
