public import WardenCore
package import WardenFormats

/// Sockets listening on non-loopback addresses, from `/proc/1/net/{tcp,tcp6,udp,udp6}` (the
/// host's network namespace, docs/ARCHITECTURE.md), falling back to `/proc/net/…` when /proc/1 is absent.
/// TCP sockets count in state LISTEN (`0A`); UDP sockets count when bound (state `07`, no peer).
public struct ListenersProbe: Probe {
    public init() {}
    public let name = "listeners"
    public let summary = "listening TCP and bound UDP sockets on non-loopback addresses"
    public let reads = ["/proc/1/net/tcp", "/proc/1/net/tcp6", "/proc/1/net/udp", "/proc/1/net/udp6", "/proc/net/*"]
    public var facts: [String: FactType] {
        [
            "listeners": .object([
                "source": .string, "sockets": .list(.object(["name": .string, "addresses": .strings, "source": .string])),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let base = root.isDirectory("/proc/1/net") ? "/proc/1/net" : "/proc/net"
        guard root.exists("\(base)/tcp") else {
            return ["listeners": .unavailable(context.absent("\(base)/tcp does not exist"))]
        }
        var sockets: JSONObject = [:]
        var problems: [String] = []
        for table in ["tcp", "tcp6", "udp", "udp6"] {
            let path = "\(base)/\(table)"
            guard root.exists(path) else { continue }
            let text: String
            do { text = try root.readText(path, limit: 64 << 20) } catch {
                return ["listeners": .unavailable(.error(error.description))]
            }
            ListenersProbe.parse(text, path: path, base: base, into: &sockets, problems: &problems)
        }
        var list = sockets.sorted(by: { $0.key < $1.key }).map(\.value)
        for p in problems { list.append(["name": .string(p), "error": .string(p)]) }
        return ["listeners": .value(["source": .string(base), "sockets": .array(list)])]
    }

    /// Adds the listening sockets of one table (`tcp`, `tcp6`, `udp`, `udp6`, told apart by the
    /// last component of `path`) to `sockets`, keyed `proto/port`; the header line is skipped.
    package static func parse(_ text: String, path: String, base: String, into sockets: inout JSONObject, problems: inout [String]) {
        let proto = path.split(separator: "/").last?.hasPrefix("udp") == true ? "udp" : "tcp"
        for (number, line) in text.split(separator: "\n").enumerated().dropFirst() {
            let f = line.words
            guard f.count >= 4, let local = ListenersProbe.decode(f[1]) else {
                problems.append("\(path):\(number + 1): cannot parse")
                continue
            }
            let state = f[3]
            guard proto == "tcp" ? state == "0A" : state == "07" else { continue }
            guard !local.loopback else { continue }
            let id = "\(proto)/\(local.port)"
            let address = "\(local.address):\(local.port)"
            var entry = sockets[id]?.objectValue ?? ["name": .string(id), "addresses": []]
            var addresses = entry["addresses"]?.arrayValue ?? []
            if !addresses.contains(.string(address)) { addresses.append(.string(address)) }
            entry["addresses"] = .array(addresses)
            entry["source"] = .string("\(addresses.compactMap(\.stringValue).joined(separator: ", ")) in \(base)")
            sockets[id] = .object(entry)
        }
    }

    struct Local {
        var address: String
        var port: Int
        var loopback: Bool
    }

    /// `0100007F:0016` (IPv4, little-endian words) or a 32-hex-digit IPv6 address.
    static func decode(_ field: Substring) -> Local? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1], radix: 16) else { return nil }
        let hex = Array(parts[0])
        func byte(_ i: Int) -> UInt8? { UInt8(String(hex[i * 2..<i * 2 + 2]), radix: 16) }
        switch hex.count {
        case 8:
            guard let b = (0..<4).map(byte) as [UInt8?]?, b.allSatisfy({ $0 != nil }) else { return nil }
            let bytes = b.map { $0! }.reversed().map { Int($0) }
            return Local(address: bytes.map(String.init).joined(separator: "."), port: port, loopback: bytes[0] == 127)
        case 32:
            // Four 32-bit words, each in host (little-endian) order.
            var bytes: [UInt8] = []
            for w in 0..<4 {
                for i in (0..<4).reversed() {
                    guard let v = byte(w * 4 + i) else { return nil }
                    bytes.append(v)
                }
            }
            let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            let loopback = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
            let mappedLoopback = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
            return Local(address: "[" + groups.joined(separator: ":") + "]", port: port, loopback: loopback || mappedLoopback)
        default:
            return nil
        }
    }
}
