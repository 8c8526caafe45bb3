public import OpenSSLSigning
public import WardenCore

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

    /// Adds every public key in a PEM file's bytes.
    public mutating func add(pem bytes: [UInt8], file: String) throws(WardenError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw WardenError(.malformed, file: file, "not a PEM file: not UTF-8 text") }
        var block: [Substring] = []
        var label: Substring?
        var found = 0
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if label == nil, line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                let name = line.dropFirst(11).dropLast(5)
                guard name == "PUBLIC KEY" else {
                    throw WardenError(.malformed, file: file, line: n + 1, "holds a '\(name)' PEM block: --trust takes public keys only ('PUBLIC KEY' blocks, as 'warden key show' prints them)")
                }
                label = name
                block = [line]
            } else if let current = label {
                block.append(line)
                guard line == "-----END \(current)-----" else { continue }
                let pem = Array((block.joined(separator: "\n") + "\n").utf8)
                do {
                    add(try PublicKey(pem: pem), source: file)
                } catch {
                    throw WardenError(.malformed, file: file, line: n + 1, error.message)
                }
                found += 1
                label = nil
            }
        }
        if label != nil { throw WardenError(.malformed, file: file, "a PEM block has no END line (truncated file?)") }
        if found == 0 { throw WardenError(.malformed, file: file, "no PEM public key ('-----BEGIN PUBLIC KEY-----') in this file") }
    }
}
