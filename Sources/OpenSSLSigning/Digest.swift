internal import COpenSSL

/// What went wrong inside OpenSSL, with its error queue drained into the message.
public struct OpenSSLError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var details: [String]

    init(_ operation: String) {
        self.operation = operation
        var details: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.details = details
    }

    public var description: String {
        details.isEmpty ? "\(operation) failed" : "\(operation) failed: \(details.joined(separator: "; "))"
    }
}

/// SHA-256 through libcrypto's EVP interface.
public enum OpenSSLDigest {
    public static func sha256(_ bytes: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1
                && EVP_DigestUpdate(ctx, input.baseAddress, input.count) == 1
                && EVP_DigestFinal_ex(ctx, &out, &length) == 1
        }
        guard ok, length == 32 else { throw OpenSSLError("SHA-256") }
        return out
    }

    /// The OpenSSL version linked at run time.
    public static var version: String {
        String(cString: OpenSSL_version(Int32(OPENSSL_VERSION)))
    }
}
