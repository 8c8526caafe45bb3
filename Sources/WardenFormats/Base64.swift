/// Base64 (RFC 4648) as DSSE uses it: Warden writes the standard alphabet with padding, and
/// reads either the standard or the URL-safe alphabet, padded or not.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard alphabet, padded; written straight into the string's storage (a bundle's
    /// manifest envelope carries megabytes).
    public static func encode(_ bytes: [UInt8]) -> String {
        let count = (bytes.count + 2) / 3 * 4
        return bytes.withUnsafeBufferPointer { input in
            alphabet.withUnsafeBufferPointer { alphabet in
                String(unsafeUninitializedCapacity: count) { out in
                    var i = 0
                    var o = 0
                    while i + 3 <= input.count {
                        let b0 = input[i]
                        let b1 = input[i + 1]
                        let b2 = input[i + 2]
                        out[o] = alphabet[Int(b0 >> 2)]
                        out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                        out[o + 2] = alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]
                        out[o + 3] = alphabet[Int(b2 & 0x3F)]
                        i += 3
                        o += 4
                    }
                    if i < input.count {
                        let b0 = input[i]
                        let b1 = i + 1 < input.count ? input[i + 1] : 0
                        out[o] = alphabet[Int(b0 >> 2)]
                        out[o + 1] = alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)]
                        out[o + 2] = i + 1 < input.count ? alphabet[Int((b1 & 0x0F) << 2)] : UInt8(ascii: "=")
                        out[o + 3] = UInt8(ascii: "=")
                    }
                    return count
                }
            }
        }
    }

    /// Each byte's 6-bit value in either alphabet; 0xFF for any other byte.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// The same values placed for each position of a group of four (shifted left by 18, 12, 6
    /// and 0 bits, four tables of 256 one after the other), so that a group decodes with four
    /// loads and three ORs; any other byte sets bits of the top byte, which no valid group has.
    private static let placed: [UInt32] = {
        var table = [UInt32](repeating: 0xFF00_0000, count: 1024)
        for c in 0..<256 where values[c] != 0xFF {
            for position in 0..<4 { table[position * 256 + c] = UInt32(values[c]) << (18 - 6 * position) }
        }
        return table
    }()

    /// Decodes standard or URL-safe base64; padding is optional. Nil for any other character,
    /// an impossible length, misplaced padding, or non-zero bits after the last byte (so that
    /// every byte string has exactly one accepted encoding per alphabet).
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { utf8 in placed.withUnsafeBufferPointer { decode(utf8, table: $0) } }
    }

    /// One pass over the text's bytes in place, straight into the output array.
    private static func decode(_ input: UnsafeBufferPointer<UInt8>, table: UnsafeBufferPointer<UInt32>) -> [UInt8]? {
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
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            let raw = UnsafeMutableRawPointer(base)
            func group(_ i: Int) -> UInt32 {
                table[Int(input[i])] | table[256 + Int(input[i + 1])] | table[512 + Int(input[i + 2])] | table[768 + Int(input[i + 3])]
            }
            var i = 0
            var o = 0
            // Four bytes stored per group while a fourth fits (the next group overwrites it).
            while i + 4 <= n, o + 4 <= size {
                let w = group(i)
                if w & 0xFF00_0000 != 0 {
                    valid = false
                    break
                }
                raw.storeBytes(of: (w << 8).bigEndian, toByteOffset: o, as: UInt32.self)
                i += 4
                o += 3
            }
            while valid, i + 4 <= n {
                let w = group(i)
                if w & 0xFF00_0000 != 0 {
                    valid = false
                    break
                }
                buffer[o] = UInt8(truncatingIfNeeded: w >> 16)
                buffer[o + 1] = UInt8(truncatingIfNeeded: w >> 8)
                buffer[o + 2] = UInt8(truncatingIfNeeded: w)
                i += 4
                o += 3
            }
            if valid, rest >= 2 {
                // The last two or three characters: the bits below the last whole byte must be zero.
                let w = table[Int(input[i])] | table[256 + Int(input[i + 1])] | (rest == 3 ? table[512 + Int(input[i + 2])] : 0)
                if w & 0xFF00_0000 != 0 || w & (rest == 2 ? 0xFFFF : 0xFF) != 0 {
                    valid = false
                } else {
                    buffer[o] = UInt8(truncatingIfNeeded: w >> 16)
                    if rest == 3 { buffer[o + 1] = UInt8(truncatingIfNeeded: w >> 8) }
                }
            }
            initialized = valid ? size : 0
        }
        return valid ? out : nil
    }
}
