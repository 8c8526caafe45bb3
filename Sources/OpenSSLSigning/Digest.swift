internal import COpenSSL
public import WardenCore
internal import WardenFormats

/// Digests through libcrypto's EVP interface.
public enum OpenSSLDigest {
    public static func sha256(_ bytes: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try digest(bytes, EVP_sha256(), "SHA-256")
    }

    /// SHA-1, for name-based (version 5) UUIDs only (RFC 9562), never for integrity.
    public static func sha1(_ bytes: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        try digest(bytes, EVP_sha1(), "SHA-1")
    }

    private static func digest(_ bytes: [UInt8], _ md: OpaquePointer?, _ name: String) throws(OpenSSLError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_DigestInit_ex(ctx, md, nil) == 1
                && EVP_DigestUpdate(ctx, input.baseAddress, input.count) == 1
                && EVP_DigestFinal_ex(ctx, &out, &length) == 1
        }
        guard ok, length > 0 else { throw OpenSSLError(name) }
        return Array(out.prefix(Int(length)))
    }

    /// Lower-case hex of SHA-256.
    public static func sha256Hex(_ bytes: [UInt8]) throws(OpenSSLError) -> String {
        Hex.lowercase(try sha256(bytes))
    }

    /// The OpenSSL version linked at run time.
    public static var version: String {
        String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
    }
}

extension Digester {
    /// SHA-256 through libcrypto: the digester every caller of the core passes it. A failure of
    /// libcrypto is an error (exit 74), with OpenSSL's reasons.
    public static let libcrypto = Digester(sha256: { (bytes: [UInt8]) throws(WardenError) -> [UInt8] in
        do throws(OpenSSLError) {
            return try OpenSSLDigest.sha256(bytes)
        } catch {
            throw WardenError(.io, "computing a SHA-256 through libcrypto: \(error.message)")
        }
    })
}
