public import WardenCore
internal import WardenFormats

/// Measured boot (INT-004, RAND SL4 "secure hardware required for access"): the firmware's TPM
/// event log replayed into SHA-256 PCR values and compared with what the TPM holds, as the
/// kernel shows both (docs/DAEMON-SEMANTICS.md, "TPM event log").
public struct MeasuredBootProbe: Probe {
    public init() {}
    public let name = "measured_boot"
    public let summary = "the TPM event log replayed into SHA-256 PCRs, against the TPM's PCRs in sysfs"
    public let reads = [MeasuredBootProbe.eventLog, MeasuredBootProbe.pcrDirectory + "/*"]
    public var facts: [String: FactType] {
        [
            "measured_boot": .object([
                "log": .string, "events": .int, "banks": .strings,
                "pcrs": .list(
                    .object([
                        "name": .string, "pcr": .int, "events": .int, "replayed": .string, "read": .string, "matches": .bool,
                        "source": .string,
                    ])),
            ])
        ]
    }

    static let eventLog = "/sys/kernel/security/tpm0/binary_bios_measurements"
    static let pcrDirectory = "/sys/class/tpm/tpm0/pcr-sha256"
    /// A firmware log holds a few hundred events, tens of kilobytes; a server with many option
    /// ROMs and boot entries stays well below this. A larger file is refused, not cut.
    static let logLimit = 8 << 20

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        ["measured_boot": MeasuredBootProbe.measure(context)]
    }

    static func measure(_ context: ProbeContext) -> Fact {
        let root = context.root
        guard case .present = context.sysfs(eventLog), root.exists(eventLog) else {
            return .unavailable(
                .notChecked(
                    "no TPM event log at \(eventLog) (\(context.mode == .offline ? "an offline root without it" : "no TPM 2.0, or firmware that keeps no log")), so there is nothing to replay"
                ))
        }
        guard root.isDirectory(pcrDirectory) else {
            return .unavailable(
                .notChecked(
                    "\(pcrDirectory) is absent (a kernel before 5.12 does not show the PCRs), so the replay has nothing to compare with"))
        }
        let bytes: [UInt8]
        do { bytes = try root.read(eventLog, limit: logLimit) } catch {
            return .unavailable(.error("\(error.description) (the log is read up to \(logLimit >> 20) MiB)"))
        }
        let log: TPMEventLog
        do { log = try TPMEventLog(bytes) } catch is TPMEventLog.NotCryptoAgile {
            return .unavailable(.notChecked("\(eventLog) is not in the crypto-agile format (a TPM 1.2 log): it has no SHA-256 bank"))
        } catch {
            return .unavailable(.error("\(eventLog): \(error)"))
        }
        let replayed: [Int: (value: [UInt8], events: Int)]
        do {
            guard let r = try log.replaySHA256() else {
                return .unavailable(.notChecked("\(eventLog) has no SHA-256 bank to replay"))
            }
            replayed = r
        } catch {
            return .unavailable(.error("\(eventLog): \(error)"))
        }
        var items: [JSON] = []
        for (pcr, state) in replayed.sorted(by: { $0.key < $1.key }) {
            let path = pcrDirectory + "/\(pcr)"
            let read: String
            do { read = String(try root.readText(path, limit: 256).trimmed).lowercased() } catch {
                return .unavailable(.error("\(error.description): the TPM's PCR \(pcr) cannot be read to compare"))
            }
            let value = Hex.lowercase(state.value)
            items.append([
                "name": .string("PCR \(pcr): replayed \(value), the TPM holds \(read.isEmpty ? "nothing" : read)"),
                "pcr": .int(Int64(pcr)), "events": .int(Int64(state.events)), "replayed": .string(value), "read": .string(read),
                "matches": .bool(read == value), "source": .string(path),
            ])
        }
        let banks = log.banks.keys.sorted().map { id in bankNames[id] ?? "0x" + String(id, radix: 16) }
        return .value([
            "log": .string(eventLog), "events": .int(Int64(log.events.count)), "banks": .array(banks.map { .string($0) }),
            "pcrs": .array(items),
        ])
    }

    static let bankNames: [UInt16: String] = [0x0004: "sha1", 0x000B: "sha256", 0x000C: "sha384", 0x000D: "sha512", 0x0012: "sm3_256"]
}
