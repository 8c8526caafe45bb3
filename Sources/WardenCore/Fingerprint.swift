/// A 128-bit checksum over named texts that costs about a byte's load per byte: how a compiled
/// catalog tells that the YAML files it was compiled from are still the files present, without
/// hashing them with SHA-256 at every start (that was a tenth of an audit). Not an integrity
/// check: whoever can edit the YAML can edit the compiled file, and the SHA-256 digests a
/// compiled file records were computed from the YAML when it was compiled. Every step of each
/// lane is a bijection of its state for a given input word, so an edit that changes one 8-byte
/// word (or a length) always changes the fingerprint.
public enum Fingerprint {
    public static func of(_ parts: [(name: String, text: String)]) -> String {
        var state = State()
        for part in parts {
            state.feed(part.name)
            state.feed(part.text)
        }
        return state.hex
    }

    struct State {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15
        var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F

        mutating func mix(_ w: UInt64) {
            a = (a ^ w) &* 0xFF51_AFD7_ED55_8CCD
            a ^= a &>> 32
            b = (b &+ w) &* 0xC4CE_B9FE_1A85_EC53
            b ^= b &>> 29
        }

        mutating func feed(_ text: String) {
            var copy = text
            copy.withUTF8 { bytes in
                let raw = UnsafeRawBufferPointer(bytes)
                var i = 0
                while i + 8 <= raw.count {
                    mix(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    i += 8
                }
                var tail: UInt64 = 0
                for j in i..<raw.count { tail |= UInt64(raw[j]) << (UInt64(j - i) * 8) }
                mix(tail)
                mix(UInt64(raw.count))
            }
        }

        var hex: String {
            var out = ""
            for lane in [a, b] {
                let digits = String(lane, radix: 16)
                out += String(repeating: "0", count: 16 - digits.count) + digits
            }
            return out
        }
    }
}
