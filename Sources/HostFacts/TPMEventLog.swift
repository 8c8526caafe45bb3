internal import OpenSSLSigning

/// The firmware's TPM 2.0 event log in the crypto-agile format of the TCG PC Client Platform
/// Firmware Profile (version 1.05, section 10): one `TCG_PCR_EVENT` in the SHA-1 layout whose
/// data is the `Spec ID Event03` structure naming the banks and their digest sizes, then
/// `TCG_PCR_EVENT2` records, each with one digest per bank. All integers are little-endian.
package struct TPMEventLog {
    package struct Event {
        package let pcr: Int
        package let type: UInt32
        /// Digest by TPM algorithm id.
        package let digests: [UInt16: [UInt8]]
        package let data: [UInt8]
        package let offset: Int
    }

    struct ParseError: Error, CustomStringConvertible {
        let offset: Int
        let reason: String
        var description: String { "byte \(offset): \(reason)" }
    }

    static let sha1: UInt16 = 0x0004
    package static let sha256: UInt16 = 0x000B
    package static let evNoAction: UInt32 = 0x0000_0003
    static let specIDSignature = Array("Spec ID Event03".utf8) + [0]
    static let startupLocalitySignature = Array("StartupLocality".utf8) + [0]

    /// Digest sizes by algorithm id, as the Spec ID event declares them.
    package let banks: [UInt16: Int]
    /// The `TCG_PCR_EVENT2` records, in order.
    package let events: [Event]

    /// A log whose first event is not the crypto-agile Spec ID event (a TPM 1.2 log, SHA-1 only).
    struct NotCryptoAgile: Error {}

    package init(_ bytes: [UInt8]) throws {
        var r = Reader(bytes: bytes)
        // TCG_PCR_EVENT: PCR index, type, a 20-byte SHA-1 digest, the data.
        let firstPCR = try r.u32()
        let firstType = try r.u32()
        _ = try r.take(20)
        let specSize = Int(try r.u32())
        let specStart = r.offset
        let spec = try r.take(specSize, what: "Spec ID event data")
        guard firstPCR == 0, firstType == TPMEventLog.evNoAction, spec.count >= 16,
            Array(spec[0..<16]) == TPMEventLog.specIDSignature
        else { throw NotCryptoAgile() }
        var s = Reader(bytes: spec, base: specStart)
        _ = try s.take(16)
        _ = try s.u32()  // platformClass
        _ = try s.take(4)  // spec version minor, major, errata, uintnSize
        let count = Int(try s.u32())
        guard count >= 1, count <= 16 else { throw ParseError(offset: s.offset - 4, reason: "Spec ID event: \(count) algorithms") }
        var banks: [UInt16: Int] = [:]
        for _ in 0..<count {
            let id = try s.u16()
            let size = Int(try s.u16())
            guard size >= 1, size <= 64 else { throw ParseError(offset: s.offset - 2, reason: "Spec ID event: digest size \(size)") }
            banks[id] = size
        }
        self.banks = banks

        var events: [Event] = []
        while !r.atEnd {
            let start = r.offset
            let pcr = try r.u32()
            let type = try r.u32()
            // A PCR index beyond the TPM's 24 is no record a firmware writes.
            guard pcr < 24 else { throw ParseError(offset: start, reason: "PCR index \(pcr)") }
            let digestCount = Int(try r.u32())
            guard digestCount <= 16 else { throw ParseError(offset: start + 8, reason: "\(digestCount) digests") }
            var digests: [UInt16: [UInt8]] = [:]
            for _ in 0..<digestCount {
                let at = r.offset
                let alg = try r.u16()
                guard let size = banks[alg] else {
                    throw ParseError(
                        offset: at, reason: "digest of algorithm 0x\(String(alg, radix: 16)), not declared by the Spec ID event")
                }
                digests[alg] = try r.take(size, what: "digest")
            }
            let size = Int(try r.u32())
            let data = try r.take(size, what: "event data")
            events.append(Event(pcr: Int(pcr), type: type, digests: digests, data: data, offset: start))
        }
        self.events = events
    }

    /// The SHA-256 PCR values the log extends to, for the PCRs it extends, with how many events
    /// each took (nil when the log has no SHA-256 bank). `EV_NO_ACTION` events are never extended (section 10.4.5); the
    /// `StartupLocality` one in PCR 0 sets PCR 0's starting value to the locality the TPM was
    /// started from (section 10.4.5.3). Every other PCR starts at zeros.
    package func replaySHA256() throws -> [Int: (value: [UInt8], events: Int)]? {
        let bank = TPMEventLog.sha256
        guard let size = banks[bank], size == 32 else { return nil }
        var pcrs: [Int: (value: [UInt8], events: Int)] = [:]
        var pcr0Start = [UInt8](repeating: 0, count: size)
        for event in events {
            if event.type == TPMEventLog.evNoAction {
                let sig = TPMEventLog.startupLocalitySignature
                if event.pcr == 0, event.data.count == sig.count + 1, Array(event.data[0..<sig.count]) == sig {
                    pcr0Start[size - 1] = event.data[sig.count]
                }
                continue
            }
            guard let digest = event.digests[bank] else {
                throw ParseError(offset: event.offset, reason: "event without a digest of the replayed bank")
            }
            var current = pcrs[event.pcr] ?? ([UInt8](repeating: 0, count: size), 0)
            if pcrs[event.pcr] == nil && event.pcr == 0 { current.value = pcr0Start }
            current.value = try OpenSSLDigest.sha256(current.value + digest)
            current.events += 1
            pcrs[event.pcr] = current
        }
        return pcrs
    }

    /// Bounds-checked little-endian reads.
    struct Reader {
        let bytes: [UInt8]
        var position = 0
        var base = 0
        init(bytes: [UInt8], base: Int = 0) {
            self.bytes = bytes
            self.base = base
        }
        var offset: Int { base + position }
        var atEnd: Bool { position >= bytes.count }

        mutating func take(_ n: Int, what: String = "field") throws -> [UInt8] {
            guard n >= 0, n <= bytes.count - position else {
                throw ParseError(offset: offset, reason: "\(what) of \(n) bytes runs past the end of the log")
            }
            defer { position += n }
            return Array(bytes[position..<position + n])
        }
        mutating func u16() throws -> UInt16 {
            let b = try take(2)
            return UInt16(b[0]) | UInt16(b[1]) << 8
        }
        mutating func u32() throws -> UInt32 {
            let b = try take(4)
            return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        }
    }
}
