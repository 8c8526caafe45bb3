internal import COpenSSL
internal import Glibc

/// A signing key: an Ed25519 or ECDSA P-256 key in a PEM file (PKCS#8, mode 0600), or a key held
/// by an OpenSSL provider — a TPM through `tpm2-openssl` — that never leaves the device.
/// The private half cannot be read out through this type: the only export is `writePEM(toNewFile:)`.
public final class PrivateKey {
    let pkey: OpaquePointer
    /// The library context the key lives in when a provider holds it; kept alive with the key.
    let providerContext: ProviderContext?
    public let publicKey: PublicKey

    public var algorithm: KeyAlgorithm { publicKey.algorithm }
    public var keyID: String { publicKey.keyID }
    /// The provider holding the key (`tpm2`), or nil for a key in host memory.
    public var providerName: String? { providerContext?.name }

    /// Takes ownership of `pkey` (freed here on failure).
    private init(taking pkey: OpaquePointer, context: ProviderContext?, reference: String?) throws(OpenSSLError) {
        var der: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pkey, &der)
        guard length > 0, let der else {
            EVP_PKEY_free(pkey)
            throw OpenSSLError("exporting the public key", reference: reference)
        }
        let spki = Array(UnsafeBufferPointer(start: der, count: Int(length)))
        warden_openssl_free(der)
        do {
            publicKey = try PublicKey(spkiDER: spki, reference: reference)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.providerContext = context
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A new key in host memory.
    public static func generate(_ algorithm: KeyAlgorithm) throws(OpenSSLError) -> PrivateKey {
        let made: OpaquePointer? =
            switch algorithm {
            case .ed25519: warden_generate_ed25519()
            case .ecdsaP256: warden_generate_p256()
            }
        guard let made else { throw OpenSSLError("generating an \(algorithm.rawValue) key") }
        return try PrivateKey(taking: made, context: nil, reference: nil)
    }

    /// Loads a key by reference: `handle:0x81000001` (a persistent TPM handle through the `tpm2`
    /// provider), or a path to a PEM file holding either a PKCS#8 private key or a TPM-wrapped
    /// `TSS2 PRIVATE KEY`. A file that group or others may access is refused, as ssh refuses it.
    public static func load(_ reference: String) throws(OpenSSLError) -> PrivateKey {
        if reference.hasPrefix("handle:") { return try loadFromStore(reference) }
        var bytes = try readKeyFile(reference)
        defer { bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        // Looked for in the bytes themselves: no copy of the key material is made.
        if contains(bytes, "-----BEGIN TSS2 PRIVATE KEY-----") {
            let context = try ProviderContext(name: "tpm2", reference: reference)
            return try fromPEM(bytes, context: context, reference: reference)
        }
        if contains(bytes, "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            throw OpenSSLError(
                .invalidKey, reference: reference,
                "encrypted private keys are not supported (Warden never prompts for a passphrase): protect the key file with mode 0600, or keep the key in a TPM"
            )
        }
        return try fromPEM(bytes, context: nil, reference: reference)
    }

    private static func fromPEM(_ bytes: [UInt8], context: ProviderContext?, reference: String) throws(OpenSSLError) -> PrivateKey {
        let loaded: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return warden_read_private_key(bio, context?.libctx)
        }
        guard let loaded else {
            throw OpenSSLError(
                "reading a PEM private key (PKCS#8 'PRIVATE KEY' or TPM 'TSS2 PRIVATE KEY')", reference: reference, kind: .invalidKey)
        }
        return try PrivateKey(taking: loaded, context: context, reference: reference)
    }

    /// A key through `OSSL_STORE` in the provider's library context (`handle:0x8100000N`).
    private static func loadFromStore(_ reference: String) throws(OpenSSLError) -> PrivateKey {
        let context = try ProviderContext(name: "tpm2", reference: reference)
        guard let store = OSSL_STORE_open_ex(reference, context.libctx, nil, nil, nil, nil, nil, nil) else {
            throw OpenSSLError("opening the key in the TPM", reference: reference, kind: .invalidKey)
        }
        defer { OSSL_STORE_close(store) }
        while OSSL_STORE_eof(store) == 0 {
            guard let info = OSSL_STORE_load(store) else { continue }
            defer { OSSL_STORE_INFO_free(info) }
            if OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY, let pkey = OSSL_STORE_INFO_get1_PKEY(info) {
                return try PrivateKey(taking: pkey, context: context, reference: reference)
            }
            if OSSL_STORE_error(store) != 0 { break }
        }
        throw OpenSSLError(.invalidKey, reference: reference, "no private key at this TPM handle", withQueue: true)
    }

    /// Reads a private key file after checking that only its owner can access it (`what` names
    /// the kind of key in the refusal).
    static func readKeyFile(_ path: String, what: String = "private key file") throws(OpenSSLError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let e = errno
            throw OpenSSLError(e == ENOENT ? .missingFile : .io, reference: path, String(cString: strerror(e)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OpenSSLError(.io, reference: path, String(cString: strerror(errno))) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw OpenSSLError(.invalidKey, reference: path, "not a regular file") }
        let mode = UInt32(st.st_mode) & 0o777
        if mode & 0o077 != 0 {
            throw OpenSSLError(
                .insecurePermissions, reference: path,
                "\(what) has mode \(octal(mode)): group or others can access it, so it is refused (as ssh refuses such keys); run 'chmod 600 \(path)'"
            )
        }
        let limit = 1 << 20
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        defer { buffer.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) } }
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw OpenSSLError(.io, reference: path, String(cString: strerror(errno)))
            }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if out.count > limit { throw OpenSSLError(.invalidKey, reference: path, "larger than \(limit) bytes: not a key file") }
        }
        return out
    }

    /// Signs `message`: Ed25519 over the message itself (one-shot), ECDSA P-256 over its SHA-256
    /// with a DER signature. The signature is checked against the public key before it is returned,
    /// so a device that signs wrongly is caught here rather than by a reviewer.
    public func sign(_ message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw OpenSSLError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit_ex(ctx, nil, algorithm.digestName, providerContext?.libctx, nil, pkey, nil) == 1 else {
            throw OpenSSLError("starting an \(algorithm.rawValue) signature")
        }
        var length = 0
        let sized = message.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) }
        guard sized == 1, length > 0 else { throw OpenSSLError("sizing an \(algorithm.rawValue) signature") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = message.withUnsafeBufferPointer { msg in
            signature.withUnsafeMutableBufferPointer { EVP_DigestSign(ctx, $0.baseAddress, &length, msg.baseAddress, msg.count) }
        }
        guard signed == 1 else { throw OpenSSLError("\(algorithm.rawValue) signing") }
        signature.removeSubrange(length...)
        guard publicKey.isValidSignature(signature, for: message) else {
            throw OpenSSLError(.library, reference: providerName, "the new signature does not verify with the key's own public key")
        }
        return signature
    }

    /// Writes the key as an unencrypted PKCS#8 PEM file with mode 0600. Never overwrites: an
    /// existing file is an error. A provider-held key cannot be written out.
    public func writePEM(toNewFile path: String) throws(OpenSSLError) {
        guard providerContext == nil else {
            throw OpenSSLError(
                .invalidKey, reference: path, "a key held by the \(providerName ?? "provider") provider cannot be written to a file")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST {
                throw OpenSSLError(
                    .fileExists, reference: path, "already exists: Warden never overwrites a key file (remove it or choose another path)")
            }
            throw OpenSSLError(e == ENOENT ? .missingFile : .io, reference: path, String(cString: strerror(e)))
        }
        var failure: OpenSSLError?
        if fchmod(fd, 0o600) != 0 { failure = OpenSSLError(.io, reference: path, String(cString: strerror(errno))) }
        // A secure-memory BIO is cleansed when freed; the PEM is written straight from it.
        if failure == nil, let bio = BIO_new(BIO_s_secmem()) {
            if warden_write_private_key(bio, pkey) == 1 {
                var data: UnsafeMutablePointer<CChar>?
                let length = warden_bio_get_mem_data(bio, &data)
                var offset = 0
                while failure == nil, let data, offset < length {
                    let n = Glibc.write(fd, data + offset, length - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        failure = OpenSSLError(.io, reference: path, String(cString: strerror(errno)))
                    } else {
                        offset += n
                    }
                }
            } else {
                failure = OpenSSLError("encoding the private key", reference: path)
            }
            BIO_free(bio)
        } else if failure == nil {
            failure = OpenSSLError("BIO_new", reference: path)
        }
        if failure == nil, fsync(fd) != 0 { failure = OpenSSLError(.io, reference: path, String(cString: strerror(errno))) }
        if close(fd) != 0, failure == nil { failure = OpenSSLError(.io, reference: path, String(cString: strerror(errno))) }
        if let failure {
            unlink(path)
            throw failure
        }
    }
}

/// An OpenSSL library context with one provider (plus `default` for everything it lacks), so
/// that loading `tpm2` changes nothing for keys outside it.
final class ProviderContext {
    let name: String
    let libctx: OpaquePointer
    private var providers: [OpaquePointer] = []

    init(name: String, reference: String) throws(OpenSSLError) {
        guard let libctx = OSSL_LIB_CTX_new() else { throw OpenSSLError("OSSL_LIB_CTX_new", reference: reference) }
        self.name = name
        self.libctx = libctx
        guard let provider = OSSL_PROVIDER_load(libctx, name) else {
            var message = "cannot load the OpenSSL '\(name)' provider"
            if name == "tpm2" {
                let tcti = getenv("TPM2OPENSSL_TCTI").map { "TPM2OPENSSL_TCTI=" + String(cString: $0) }
                message =
                    "no TPM reachable: the OpenSSL 'tpm2' provider (Debian package tpm2-openssl) could not start with "
                    + (tcti ?? "the default TPM device (set TPM2OPENSSL_TCTI to choose another)")
            }
            throw OpenSSLError(.providerUnavailable, reference: reference, message, withQueue: true)
        }
        providers.append(provider)
        guard let fallback = OSSL_PROVIDER_load(libctx, "default") else {
            throw OpenSSLError("loading the OpenSSL 'default' provider", reference: reference, kind: .providerUnavailable)
        }
        providers.append(fallback)
    }

    deinit {
        for p in providers.reversed() { OSSL_PROVIDER_unload(p) }
        OSSL_LIB_CTX_free(libctx)
    }
}

func contains(_ bytes: [UInt8], _ marker: String) -> Bool {
    let needle = Array(marker.utf8)
    guard bytes.count >= needle.count else { return false }
    return (0...(bytes.count - needle.count)).contains { start in
        bytes[start..<start + needle.count].elementsEqual(needle)
    }
}

func octal(_ mode: UInt32) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
