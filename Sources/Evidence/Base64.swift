/// Base64 (RFC 4648) as DSSE uses it: Warden writes the standard alphabet with padding, and
/// reads either the standard or the URL-safe alphabet, padded or not.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Each byte's 6-bit value in either alphabet; 0xFF for any other byte.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// Decodes standard or URL-safe base64; padding is optional. Nil for any other character,
    /// an impossible length, misplaced padding, or non-zero bits after the last byte (so that
    /// every byte string has exactly one accepted encoding per alphabet).
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 in values.withUnsafeBufferPointer { decode(utf8, table: $0) } }
    }

    /// One pass over the text's bytes in place, straight into the output array.
    private static func decode(_ input: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var n = input.count
        if n % 4 == 0, n > 0, input[n - 1] == UInt8(ascii: "=") {
            n -= 1
            if n > 0, input[n - 1] == UInt8(ascii: "=") { n -= 1 }
        }
        guard n % 4 != 1 else { return nil }
        let rest = n % 4
        let size = n / 4 * 3 + (rest == 0 ? 0 : rest - 1)
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var i = 0, o = 0
            while i + 4 <= n {
                let v0 = table[Int(input[i])], v1 = table[Int(input[i + 1])], v2 = table[Int(input[i + 2])], v3 = table[Int(input[i + 3])]
                if (v0 | v1 | v2 | v3) & 0xC0 != 0 { valid = false; break }
                buffer[o] = v0 << 2 | v1 >> 4
                buffer[o + 1] = (v1 & 0x0F) << 4 | v2 >> 2
                buffer[o + 2] = (v2 & 0x03) << 6 | v3
                i += 4
                o += 3
            }
            if valid, rest >= 2 {
                let v0 = table[Int(input[i])], v1 = table[Int(input[i + 1])], v2 = rest == 3 ? table[Int(input[i + 2])] : 0
                if (v0 | v1 | v2) & 0xC0 != 0 || (rest == 2 ? v1 & 0x0F : v2 & 0x03) != 0 {
                    valid = false
                } else {
                    buffer[o] = v0 << 2 | v1 >> 4
                    if rest == 3 { buffer[o + 1] = (v1 & 0x0F) << 4 | v2 >> 2 }
                }
            }
            initialized = valid ? size : 0
        }
        return valid ? out : nil
    }
}
