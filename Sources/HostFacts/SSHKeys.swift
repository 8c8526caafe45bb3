package import WardenFormats

/// One OpenSSH public key line (`TYPE BASE64 [COMMENT]`) read the way OpenSSH 9.2's `sshkey_read`
/// reads it (docs/DAEMON-SEMANTICS.md, "SSH key strength"): the first word must name a key type
/// (a full name, or a short name such as `RSA` compared without case), the second is the base64
/// wire blob, the rest is the comment. What the key is comes from the blob, never from the first
/// word: its leading string is the type, and for RSA the modulus `n` gives the size (`string
/// "ssh-rsa", mpint e, mpint n`; a certificate carries a nonce before `e`).
package struct SSHPublicKey: Equatable {
    /// The type named inside the blob (`ssh-rsa`, `ssh-ed25519-cert-v01@openssh.com`, …).
    package var type: String
    /// `rsa`, `dsa`, `ecdsa`, `ed25519`, `sk-ecdsa`, `sk-ed25519`, or the type itself when
    /// OpenSSH 9.2 does not know it.
    package var algorithm: String
    /// The RSA modulus size in bits (RSA keys and certificates only).
    package var rsaBits: Int?
    package var comment: String

    /// The algorithm of each key type OpenSSH 9.2 can hold in a blob (sshkey.c's `keytypes`,
    /// without the signature-only names).
    package static let blobTypes: [String: String] = [
        "ssh-rsa": "rsa", "ssh-rsa-cert-v01@openssh.com": "rsa",
        "ssh-dss": "dsa", "ssh-dss-cert-v01@openssh.com": "dsa",
        "ecdsa-sha2-nistp256": "ecdsa", "ecdsa-sha2-nistp384": "ecdsa", "ecdsa-sha2-nistp521": "ecdsa",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com": "ecdsa", "ecdsa-sha2-nistp384-cert-v01@openssh.com": "ecdsa",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com": "ecdsa",
        "ssh-ed25519": "ed25519", "ssh-ed25519-cert-v01@openssh.com": "ed25519",
        "sk-ecdsa-sha2-nistp256@openssh.com": "sk-ecdsa", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": "sk-ecdsa",
        "sk-ssh-ed25519@openssh.com": "sk-ed25519", "sk-ssh-ed25519-cert-v01@openssh.com": "sk-ed25519",
        "ssh-xmss@openssh.com": "xmss", "ssh-xmss-cert-v01@openssh.com": "xmss",
    ]

    /// Names `sshkey_type_from_name` also accepts as the first word: the signature-only names
    /// (exactly) and the short names (without case).
    static let signatureNames: [String: String] = [
        "rsa-sha2-256": "rsa", "rsa-sha2-512": "rsa", "rsa-sha2-256-cert-v01@openssh.com": "rsa",
        "rsa-sha2-512-cert-v01@openssh.com": "rsa", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com": "sk-ecdsa",
    ]
    static let shortNames: [String: String] = [
        "rsa": "rsa", "rsa-cert": "rsa", "dsa": "dsa", "dsa-cert": "dsa", "ecdsa": "ecdsa", "ecdsa-cert": "ecdsa",
        "ed25519": "ed25519", "ed25519-cert": "ed25519", "ecdsa-sk": "sk-ecdsa", "ecdsa-sk-cert": "sk-ecdsa",
        "ed25519-sk": "sk-ed25519", "ed25519-sk-cert": "sk-ed25519", "xmss": "xmss", "xmss-cert": "xmss",
    ]

    /// The algorithm a first word names, or nil when it names no key type (then sshd reads the
    /// line's options first).
    static func algorithm(ofWord word: Substring) -> String? {
        let name = String(word)
        return blobTypes[name] ?? signatureNames[name] ?? shortNames[name.lowercased()]
    }

    package enum Failure: Error, Equatable {
        /// The first word names no key type: not a key at this position.
        case noKeyType
        /// A key type, but a blob sshd would not read; the reason.
        case unreadable(String)

        package var reason: String {
            switch self {
            case .noKeyType: "no key type OpenSSH knows"
            case .unreadable(let why): why
            }
        }
    }

    /// The key at the start of `text` (after leading blanks).
    package static func parse(_ text: Substring) -> Result<SSHPublicKey, Failure> {
        let words = text.split(maxSplits: 2, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
        guard let first = words.first, let named = algorithm(ofWord: first) else { return .failure(.noKeyType) }
        guard words.count >= 2 else { return .failure(.unreadable("\(first) with no key data")) }
        guard let blob = Base64.decode(String(words[1])) else { return .failure(.unreadable("\(first) key data is not base64")) }
        var reader = WireReader(bytes: blob)
        guard let typeBytes = reader.string() else { return .failure(.unreadable("\(first) key data is truncated")) }
        let type = String(decoding: typeBytes, as: UTF8.self)
        guard let algorithm = blobTypes[type] else { return .failure(.unreadable("unknown key type '\(type)' in the key data")) }
        // sshd refuses a line whose first word and blob disagree (SSH_ERR_KEY_TYPE_MISMATCH).
        guard algorithm == named else { return .failure(.unreadable("\(first) names another type than its key data (\(type))")) }
        var rsaBits: Int?
        if algorithm == "rsa" {
            if type.hasSuffix("-cert-v01@openssh.com") { _ = reader.string() }  // the certificate's nonce
            guard reader.string() != nil, let modulus = reader.string() else {
                return .failure(.unreadable("\(type) key data is truncated"))
            }
            rsaBits = significantBits(modulus)
        }
        let comment = words.count > 2 ? String(words[2].trimmed) : ""
        return .success(SSHPublicKey(type: type, algorithm: algorithm, rsaBits: rsaBits, comment: comment))
    }

    /// The size of a non-negative mpint (big-endian, leading zero bytes allowed) in bits.
    static func significantBits(_ bytes: [UInt8]) -> Int {
        guard let i = bytes.firstIndex(where: { $0 != 0 }) else { return 0 }
        return (bytes.count - i - 1) * 8 + (8 - bytes[i].leadingZeroBitCount)
    }

    /// The key of one authorized_keys line: the key at the start, else after the options (as
    /// sshd's `auth_check_authkey_line` tries both). `noKeyType` for a line with a key type at
    /// neither place, which sshd skips; a key type with data sshd cannot read is `unreadable`.
    package static func authorizedKeyLine(_ line: Substring) -> Result<SSHPublicKey, Failure> {
        let direct = parse(line)
        if case .success = direct { return direct }
        let later = parse(afterOptions(line).trimmed)
        if case .success = later { return later }
        if case .failure(.noKeyType) = direct { return later }
        return direct
    }

    /// The line after its options: up to the first blank outside double quotes
    /// (`sshkey_advance_past_options`).
    static func afterOptions(_ line: Substring) -> Substring {
        var quoted = false
        var escaped = false
        for i in line.indices {
            let c = line[i]
            if quoted {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { quoted = false }
            } else if c == "\"" {
                quoted = true
            } else if c == " " || c == "\t" {
                return line[i...]
            }
        }
        return line[line.endIndex...]
    }

    /// `type`, `algorithm`, `comment` and, for RSA, `rsa_bits`: never the key material.
    package var json: JSONObject {
        var out: JSONObject = ["type": .string(type), "algorithm": .string(algorithm), "comment": .string(comment)]
        if let rsaBits { out["rsa_bits"] = .int(Int64(rsaBits)) }
        return out
    }
}

/// The SSH wire format's length-prefixed strings (RFC 4251 §5).
struct WireReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func string() -> [UInt8]? {
        guard bytes.count - offset >= 4 else { return nil }
        let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        guard bytes.count - offset - 4 >= length else { return nil }
        defer { offset += 4 + length }
        return Array(bytes[offset + 4..<offset + 4 + length])
    }
}
