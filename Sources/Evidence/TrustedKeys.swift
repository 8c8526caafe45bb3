public import OpenSSLSigning
internal import WardenCore
public import WardenFormats

/// The public keys a reviewer trusts (`--trust`), by keyid. Built from PEM text: each file may hold
/// several `PUBLIC KEY` blocks, with any text around them (so `warden key show` output is a
/// valid trust file). Any other PEM block — a private key above all — is refused.
public struct TrustedKeys: Sendable {
    public private(set) var keys: [String: PublicKey] = [:]
    /// Where each key came from, for messages.
    public private(set) var sources: [String: String] = [:]

    public init() {}

    public subscript(keyID: String) -> PublicKey? { keys[keyID] }
    public var count: Int { keys.count }

    public mutating func add(_ key: PublicKey, source: String) {
        keys[key.keyID] = key
        sources[key.keyID] = source
    }

    /// Adds every public key in a PEM file's bytes. Read line by line as bytes (a fleet's trust
    /// file holds a key per host); lines may end in CRLF.
    public mutating func add(pem bytes: [UInt8], file: String) throws(WardenError) {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw WardenError(.malformed, file: file, "not a PEM file: not UTF-8 text")
        }
        let begin = Array("-----BEGIN ".utf8)
        let dashes = Array("-----".utf8)
        let publicKey = Array("PUBLIC KEY".utf8)
        var block: [UInt8] = []
        var label: ArraySlice<UInt8>?
        var found = 0
        var start = 0
        var n = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var line = bytes[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            n += 1
            start = end + 1
            if label == nil, line.starts(with: begin), line.count >= begin.count + dashes.count,
                line.suffix(dashes.count).elementsEqual(dashes)
            {
                let name = line.dropFirst(begin.count).dropLast(dashes.count)
                guard name.elementsEqual(publicKey) else {
                    throw WardenError(
                        .malformed, file: file, line: n,
                        "holds a '\(String(decoding: name, as: UTF8.self))' PEM block: --trust takes public keys only ('PUBLIC KEY' blocks, as 'warden key show' prints them)"
                    )
                }
                label = name
                block = Array(line)
            } else if let current = label {
                block.append(0x0A)
                block.append(contentsOf: line)
                guard line.count == current.count + 14, line.starts(with: "-----END ".utf8),
                    line.dropFirst(9).prefix(current.count).elementsEqual(current),
                    line.suffix(dashes.count).elementsEqual(dashes)
                else { continue }
                block.append(0x0A)
                do {
                    add(try PublicKey(pem: block), source: file)
                } catch {
                    throw WardenError(.malformed, file: file, line: n, error.message)
                }
                found += 1
                label = nil
            }
        }
        if label != nil { throw WardenError(.malformed, file: file, "a PEM block has no END line (truncated file?)") }
        if found == 0 { throw WardenError(.malformed, file: file, "no PEM public key ('-----BEGIN PUBLIC KEY-----') in this file") }
    }
}
