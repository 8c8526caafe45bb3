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
        Hex.lowercase(try sha256(bytes))
    }
}
