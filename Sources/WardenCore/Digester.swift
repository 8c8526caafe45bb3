public import WardenFormats

/// SHA-256 as the core receives it: from its caller, the way it receives the time. The core
/// links no C, and Warden has one implementation of the digest, libcrypto's
/// (`Digester.libcrypto`, in OpenSSLSigning). A digest that cannot be computed is an error,
/// never a value from somewhere else.
public struct Digester: Sendable {
    private let sha256Body: @Sendable ([UInt8]) throws(WardenError) -> [UInt8]

    public init(sha256: @escaping @Sendable ([UInt8]) throws(WardenError) -> [UInt8]) {
        sha256Body = sha256
    }

    /// The 32 bytes of the SHA-256 of `bytes`.
    public func sha256(_ bytes: [UInt8]) throws(WardenError) -> [UInt8] {
        try sha256Body(bytes)
    }

    /// The SHA-256 of `bytes` in lower-case hex.
    public func sha256Hex(_ bytes: [UInt8]) throws(WardenError) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in try sha256(bytes) {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
