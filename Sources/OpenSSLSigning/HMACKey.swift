internal import COpenSSL
internal import Glibc
public import WardenCore
public import WardenFormats

/// A secret for HMAC-SHA256 (the canary key, SECURITY.md): 32 bytes from libcrypto's random
/// generator, kept in a file only its owner may access. As with `PrivateKey`, the bytes cannot be
/// read out through this type: the only export is `write(toNewFile:)`.
public final class HMACKey: @unchecked Sendable {
    // `@unchecked`: the bytes are written once, before the key is returned, and only read after;
    // `deinit` cleanses them.
    private let bytes: UnsafeMutableRawBufferPointer

    /// The length of a key Warden makes and accepts.
    public static let size = 32

    private init(count: Int) {
        bytes = .allocate(byteCount: count, alignment: 1)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// A key of any length, for tests against published HMAC vectors.
    package convenience init(testBytes: [UInt8]) {
        self.init(count: testBytes.count)
        testBytes.withUnsafeBytes { bytes.copyMemory(from: $0) }
    }

    deinit {
        OPENSSL_cleanse(bytes.baseAddress, bytes.count)
        bytes.deallocate()
    }

    /// A new key from libcrypto's random generator.
    public static func generate() throws(OpenSSLError) -> HMACKey {
        let key = HMACKey(count: size)
        guard RAND_bytes(key.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(size)) == 1 else {
            throw OpenSSLError("RAND_bytes (32 random bytes for the canary key)")
        }
        return key
    }

    /// Loads a key file: exactly `size` bytes, which group and others may not access (refused
    /// otherwise, as ssh refuses such private keys).
    public static func load(_ path: String) throws(OpenSSLError) -> HMACKey {
        var read = try PrivateKey.readKeyFile(path, what: "canary key file")
        defer { read.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        guard read.count == size else {
            throw OpenSSLError(
                .invalidKey, reference: path,
                "a canary key is \(size) bytes, this file has \(read.count): remove it and the next audit makes a new key (every canary then gets a new digest)"
            )
        }
        let key = HMACKey(count: size)
        read.withUnsafeBytes { key.bytes.copyMemory(from: $0) }
        return key
    }

    /// Writes the key to `path`, which must not exist, with mode 0600. The bytes go into a
    /// temporary file first, synced, then are linked into place, so that a reader never sees a
    /// partial key and an existing file is never replaced (`fileExists`).
    public func write(toNewFile path: String) throws(OpenSSLError) {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let e = errno
            throw OpenSSLError(e == ENOENT ? .missingFile : .io, reference: path, String(cString: strerror(e)))
        }
        var failure: Int32 = fchmod(fd, 0o600) == 0 ? 0 : errno
        var offset = 0
        while failure == 0, offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno != EINTR { failure = errno }
            } else {
                offset += n
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure == 0, link(temporary, path) != 0 { failure = errno }
        unlink(temporary)
        if failure == EEXIST {
            throw OpenSSLError(.fileExists, reference: path, "already exists: Warden never overwrites a key file")
        }
        guard failure == 0 else { throw OpenSSLError(.io, reference: path, String(cString: strerror(failure))) }
    }

    /// HMAC-SHA256 of `message` under this key, through libcrypto (`EVP_Q_mac`).
    public func mac(_ message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        let made = message.withUnsafeBytes { m in
            EVP_Q_mac(
                nil, "HMAC", nil, "SHA256", nil, bytes.baseAddress, bytes.count, m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                m.count, &out, out.count, &length)
        }
        guard made != nil, length == 32 else { throw OpenSSLError("HMAC-SHA256") }
        return out
    }
}

extension CanaryRedaction {
    /// The redaction of `canaries` with digests under `key`, through libcrypto. A failure of
    /// libcrypto is an error (exit 74), never a clear path.
    public init(canaries: [String], key: HMACKey) throws(WardenError) {
        try self.init(
            canaries: canaries,
            mac: { (message: [UInt8]) throws(WardenError) -> [UInt8] in
                do throws(OpenSSLError) {
                    return try key.mac(message)
                } catch {
                    throw WardenError(.io, "computing an HMAC-SHA256 through libcrypto: \(error.message)")
                }
            })
    }
}
