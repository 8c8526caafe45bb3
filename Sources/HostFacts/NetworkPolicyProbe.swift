public import WardenCore
internal import WardenFormats

/// Egress default-deny and where management access may come from (EXF-004): the persistent
/// nftables configuration, read as `nft -f /etc/nftables.conf` (nftables 1.0.6, what Debian 12's
/// nftables.service runs) reads it, includes and all, and the addresses sshd listens on and the
/// sources its AllowUsers admit (docs/DAEMON-SEMANTICS.md, "nftables").
///
/// The kernel's ruleset is reachable only over netlink, which Warden does not speak: live or
/// offline, what is read is the configuration the service loads at boot, and the facts say so.
public struct NetworkPolicyProbe: Probe {
    public init() {}
    public let name = "network_policy"
    public let summary =
        "the persistent nftables ruleset (/etc/nftables.conf and its includes, as nft -f reads them): output and input chains; sshd's listen addresses and AllowUsers sources"
    public let reads = [
        NftablesConfig.mainFile, "every file it includes", SystemdUnits.enablingLinks("nftables.service"), "/usr/sbin/nft",
        "/etc/ssh/sshd_config (and its includes)",
    ]
    public var facts: [String: FactType] {
        let chain = FactType.object([
            "name": .string, "family": .string, "table": .string, "chain": .string, "source": .string, "policy": .string,
            "policy_source": .string,
            "ends_with": .string, "default_deny": .bool, "allowlist": .strings,
        ])
        return [
            "nftables": .object([
                "installed": .bool, "enabled": .sourced(.bool), "read_from": .string, "files": .strings, "error": .string,
                "output_chains": .list(chain), "output_covers": .object(["ipv4": .bool, "ipv6": .bool]),
            ]),
            "ssh_management": .object([
                "installed": .bool,
                "listen_addresses": .list(.object(["address": .string, "internal": .bool, "source": .string])),
                "allow_users": .list(.object(["entry": .string, "internal": .bool, "source": .string])),
                "nftables_by_source": .object(["restricted": .sourced(.bool), "reason": .string]),
            ]),
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var nft: JSONObject = [
            "installed": .bool(root.exists("/usr/sbin/nft")),
            "enabled": context.units.enabledFact("nftables.service"),
            "read_from": .string(
                root.isLive
                    ? "the persistent configuration \(NftablesConfig.mainFile), which nftables.service loads at boot; the kernel's running ruleset (netlink) is not read"
                    : "the persistent configuration \(NftablesConfig.mainFile), which nftables.service loads at boot"),
        ]
        let sshd = NetworkPolicyProbe.sshdAccess(root, units: context.units)
        var ssh = sshd.access?.json ?? [:]
        let ports = sshd.access?.ports ?? ["22"]
        if !root.mayExist(NftablesConfig.mainFile) {
            nft["files"] = []
            nft["output_chains"] = []
            nft["output_covers"] = ["ipv4": false, "ipv6": false]
            ssh["nftables_by_source"] = [
                "restricted": ["value": false, "source": .string(NftablesConfig.mainFile)],
                "reason": .string("no \(NftablesConfig.mainFile): no persistent ruleset"),
            ]
            if let failure = sshd.failure { return ["nftables": .value(.object(nft)), "ssh_management": .unavailable(.error(failure))] }
            return ["nftables": .value(.object(nft)), "ssh_management": .value(.object(ssh))]
        }
        do throws(NftablesConfig.Failure) {
            let config = try NftablesConfig.load(root)
            nft["files"] = .array(config.files.map { .string($0) })
            let outputs = config.baseChains(hook: "output")
            nft["output_chains"] = .array(outputs.map { config.outputItem($0) })
            nft["output_covers"] = [
                "ipv4": .bool(outputs.contains { $0.family != "ip6" }), "ipv6": .bool(outputs.contains { $0.family != "ip" }),
            ]
            ssh["nftables_by_source"] = .object(config.sshBySource(ports: ports))
        } catch {
            nft["error"] = .string(error.description)
            ssh["nftables_by_source"] = [
                "restricted": ["error": .string(error.description), "source": .string(error.place)], "reason": .string(error.description),
            ]
        }
        if let failure = sshd.failure { return ["nftables": .value(.object(nft)), "ssh_management": .unavailable(.error(failure))] }
        return ["nftables": .value(.object(nft)), "ssh_management": .value(.object(ssh))]
    }

    /// sshd's global Port, ListenAddress and AllowUsers lines, from the same reading as the
    /// `sshd` fact (SSHDConfigProbe.parse).
    struct SSHDAccess {
        var installed = true
        var ports: [String] = ["22"]
        var listen: [JSON] = []
        var allowUsers: [JSON] = []

        var json: JSONObject {
            ["installed": .bool(installed), "listen_addresses": .array(listen), "allow_users": .array(allowUsers)]
        }
    }

    static func sshdAccess(_ root: HostRoot, units: SystemdUnits) -> (access: SSHDAccess?, failure: String?) {
        var access = SSHDAccess()
        do {
            if try SSHDConfigProbe.serverSigns(root, units: units).isEmpty {
                access.installed = false
                return (access, nil)
            }
        } catch {
            return (nil, error.description)
        }
        let probe = SSHDConfigProbe()
        var state = SSHDConfigProbe.State()
        do {
            try probe.parse(file: SSHDConfigProbe.mainFile, root: root, state: &state, inMatch: nil, depth: 0)
        } catch {
            return (nil, "cannot read the sshd configuration: \(error)")
        }
        if let refusal = state.refusal { return (nil, "sshd would refuse this configuration: \(refusal)") }
        let ports = state.ports.flatMap { SSHDConfigProbe.unquotedWords($0.value.stringValue ?? "") }
        if !ports.isEmpty { access.ports = ports }
        for setting in state.listenAddresses {
            let address = listenHost(setting.value.stringValue ?? "")
            access.listen.append([
                "address": .string(address), "internal": .bool(InternalAddress.isInternal(address)), "source": .string(setting.source),
            ])
        }
        if state.listenAddresses.isEmpty {
            // OpenSSH's default: every address of both families.
            for address in ["0.0.0.0", "::"] {
                access.listen.append([
                    "address": .string(address), "internal": false, "source": "OpenSSH default (no ListenAddress: every address)",
                ])
            }
        }
        for setting in state.allowUsers {
            for entry in SSHDConfigProbe.unquotedWords(setting.value.stringValue ?? "") {
                // user@host: the host part is matched against the client's address (or name).
                let host = entry.firstIndex(of: "@").map { String(entry[entry.index(after: $0)...]) }
                access.allowUsers.append([
                    "entry": .string(entry), "internal": .bool(host.map(InternalAddress.isInternalPattern) ?? false),
                    "source": .string(setting.source),
                ])
            }
        }
        return (access, nil)
    }

    /// Whether an address, network or range is internal (`InternalAddress`).
    public static func isInternal(_ text: String) -> Bool { InternalAddress.isInternal(text) }
    /// Whether an sshd address pattern matches internal addresses only.
    public static func isInternalPattern(_ pattern: String) -> Bool { InternalAddress.isInternalPattern(pattern) }

    /// The address part of a ListenAddress value: `host`, `host:port`, `[host]:port`, each
    /// optionally followed by `rdomain NAME` (servconf.c, `process_server_config_line`).
    static func listenHost(_ value: String) -> String {
        let first = String(value.words.first ?? "")
        if first.hasPrefix("["), let close = first.firstIndex(of: "]") {
            return String(first[first.index(after: first.startIndex)..<close])
        }
        if first.filter({ $0 == ":" }).count == 1, let colon = first.firstIndex(of: ":") { return String(first[..<colon]) }
        return first
    }
}

/// Whether an address, network or address pattern lies inside the private, loopback or
/// link-local ranges (RFC 1918, RFC 6598's shared space used by VPNs, 127/8, 169.254/16;
/// IPv6 ::1, fc00::/7, fe80::/10): what "an internal network" can be told to be from the
/// host alone.
enum InternalAddress {
    static let ipv4Blocks: [(UInt32, Int)] = [
        (0x0A00_0000, 8), (0xAC10_0000, 12), (0xC0A8_0000, 16), (0x7F00_0000, 8), (0xA9FE_0000, 16), (0x6440_0000, 10),
    ]

    /// A literal address, `address/prefix` or `first-last` range.
    static func isInternal(_ text: String) -> Bool {
        if let dash = text.firstIndex(of: "-"), !text.contains(":") || text.contains(".") {
            return isInternal(String(text[..<dash])) && isInternal(String(text[text.index(after: dash)...]))
        }
        var address = text
        var prefix: Int?
        if let slash = text.firstIndex(of: "/") {
            address = String(text[..<slash])
            guard let p = Int(text[text.index(after: slash)...]) else { return false }
            prefix = p
        }
        if let v4 = ipv4(address) {
            return ipv4Blocks.contains { block, length in
                (prefix ?? 32) >= length && (v4 >> UInt32(32 - length)) == (block >> UInt32(32 - length))
            }
        }
        let lower = address.lowercased()
        guard lower.contains(":"), lower.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
        if lower == "::1" { return (prefix ?? 128) == 128 }
        let head = lower.hasPrefix(":") ? 0 : UInt16(lower.prefix { $0 != ":" }, radix: 16) ?? 0
        if head & 0xFE00 == 0xFC00 { return (prefix ?? 128) >= 7 }
        if head & 0xFFC0 == 0xFE80 { return (prefix ?? 128) >= 10 }
        return false
    }

    /// An sshd address pattern (`10.1.*`, `192.168.0.0/16`, a literal): internal when every
    /// address it can match is. A negated or non-numeric pattern (a host name) is not.
    static func isInternalPattern(_ pattern: String) -> Bool {
        guard let wild = pattern.firstIndex(where: { $0 == "*" || $0 == "?" }) else { return isInternal(pattern) }
        // The literal octets before the wildcard decide the range.
        let octets = pattern[..<wild].split(separator: ".", omittingEmptySubsequences: false).dropLast().compactMap { UInt32($0) }
        guard pattern[..<wild].hasSuffix("."), (1...4).contains(octets.count), octets.allSatisfy({ $0 < 256 }) else { return false }
        var value: UInt32 = 0
        for octet in octets { value = value << 8 | octet }
        let length = octets.count * 8
        let network = value << UInt32(32 - length)
        return ipv4Blocks.contains { block, blockLength in
            length >= blockLength && (network >> UInt32(32 - blockLength)) == (block >> UInt32(32 - blockLength))
        }
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, let n = UInt32(part), n < 256 else { return nil }
            value = value << 8 | n
        }
        return value
    }
}
