internal import COpenSSL

/// Everything that can go wrong in this module, as one type: a libcrypto call that failed (with
/// OpenSSL's error queue drained into `details`), or a key that cannot be used, with the path
/// or key reference it concerns. Messages never contain key material.
public struct OpenSSLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// A libcrypto call failed.
        case library
        /// The key file does not exist.
        case missingFile
        /// The key file exists but could not be read or written.
        case io
        /// A private key file that group or others may access (refused, as ssh does).
        case insecurePermissions
        /// The key file for a new key already exists (never overwritten).
        case fileExists
        /// The bytes are not a key Warden can use (not PEM, encrypted, wrong type or curve).
        case invalidKey
        /// A provider key was asked for and the provider (or the TPM behind it) is not reachable.
        case providerUnavailable
    }

    public var kind: Kind
    /// The file or key reference (`handle:0x81000001`) concerned, when there is one.
    public var reference: String?
    /// What failed, with OpenSSL's own reasons appended when it gave any.
    public var message: String

    /// A failed libcrypto call: drains the thread's error queue into the message.
    init(_ operation: String, reference: String? = nil, kind: Kind = .library) {
        let details = OpenSSLError.drainQueue()
        self.kind = kind
        self.reference = reference
        self.message = details.isEmpty ? "\(operation) failed" : "\(operation) failed: \(details.joined(separator: "; "))"
    }

    /// A failure Warden names itself. OpenSSL's queue is drained into the message when
    /// `withQueue` is set, and cleared otherwise.
    init(_ kind: Kind, reference: String?, _ message: String, withQueue: Bool = false) {
        let details = OpenSSLError.drainQueue()
        self.kind = kind
        self.reference = reference
        self.message = withQueue && !details.isEmpty ? "\(message) (OpenSSL: \(details.joined(separator: "; ")))" : message
    }

    static func drainQueue() -> [String] {
        var details: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return details
    }

    public var description: String {
        reference.map { "\($0): \(message)" } ?? message
    }
}
