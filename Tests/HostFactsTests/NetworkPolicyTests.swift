import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// EXF-004: egress default-deny read from the persistent nftables configuration, and management
/// access from internal networks only (sshd's addresses, AllowUsers, or the input chains); a
/// verdict control at SL3 and SL4 alike.
@Suite struct NetworkPolicyTests {
    static let inputRestricted = """
        	chain input {
        		type filter hook input priority filter; policy drop;
        		iifname "lo" accept
        		ct state established,related accept
        		ip saddr { 10.20.0.0/16, 192.168.7.0/24 } tcp dport ssh accept
        		ip6 saddr fd00::/8 tcp dport 22 accept
        	}

        """

    static let outputDrop = """
        	chain output {
        		type filter hook output priority filter; policy drop;
        		oifname "lo" accept
        		ip daddr 10.20.0.53 udp dport 53 accept
        	}

        """

    /// A host with sshd (listening everywhere, as by default), nft installed and the service
    /// enabled (unless not `enabled`), and `body` inside `table inet filter` of /etc/nftables.conf.
    func host(_ body: String, extra: String = "", enabled: Bool = true) -> TempTree {
        let tree = TempTree()
        tree.file("usr/sbin/sshd", "ELF")
        tree.file("etc/ssh/sshd_config", "Port 22\nPermitRootLogin no\n")
        tree.file("usr/sbin/nft", "ELF")
        if enabled {
            tree.symlink("etc/systemd/system/sysinit.target.wants/nftables.service", to: "/lib/systemd/system/nftables.service")
        }
        tree.file("etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\n\ntable inet filter {\n\(body)}\n\(extra)")
        return tree
    }

    func facts(_ tree: TempTree) throws -> (nft: JSON, ssh: JSON) {
        (
            try probeFact("nftables", of: NetworkPolicyProbe(), root: tree.path),
            try probeFact("ssh_management", of: NetworkPolicyProbe(), root: tree.path)
        )
    }

    // MARK: - Probe tests: the facts of each host

    @Test func defaultDenyBothWaysWithSSHFromTheManagementNetwork() throws {
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop)
        let (nft, ssh) = try facts(tree)
        #expect(nft == Self.nftables(), "\(nft)")
        #expect(ssh == Self.ssh(), "\(ssh)")
    }

    @Test func aLastRuleThatDropsEverythingIsADefaultDeny() throws {
        let tree = host(
            NetworkPolicyTests.inputRestricted
                + "\tchain output {\n\t\ttype filter hook output priority 0;\n\t\toifname \"lo\" accept\n\t\tcounter log prefix \"egress \" reject with icmpx type admin-prohibited\n\t}\n"
        )
        #expect(try facts(tree).nft["output_chains"] == [Self.lastRuleDrops])
    }

    /// nftables.service is enabled by any link systemd's manager follows (`SystemdUnits`): a
    /// `.requires` link, or a link in /run only, as well as a `.wants` link; not when it is masked
    /// in /run.
    @Test func nftablesEnabledAsTheManagerReadsIt() throws {
        let rows: [(String, (TempTree) -> Void, JSON)] = [
            (
                "a .requires link",
                { $0.symlink("etc/systemd/system/sysinit.target.requires/nftables.service", to: "/lib/systemd/system/nftables.service") },
                ["value": true, "source": "/etc/systemd/system/sysinit.target.requires/nftables.service"]
            ),
            (
                "a link in /run only, offline: runtime state a boot discards",
                { $0.symlink("run/systemd/system/sysinit.target.wants/nftables.service", to: "/lib/systemd/system/nftables.service") },
                Self.notEnabled
            ),
            (
                "a .requires link, masked in /run, offline: the mask does not survive a boot",
                {
                    $0.symlink("etc/systemd/system/sysinit.target.requires/nftables.service", to: "/lib/systemd/system/nftables.service")
                    $0.symlink("run/systemd/system/nftables.service", to: "/dev/null")
                },
                ["value": true, "source": "/etc/systemd/system/sysinit.target.requires/nftables.service"]
            ),
            (
                "a .requires link, masked in /etc",
                {
                    $0.symlink("etc/systemd/system/sysinit.target.requires/nftables.service", to: "/lib/systemd/system/nftables.service")
                    $0.symlink("etc/systemd/system/nftables.service", to: "/dev/null")
                },
                Self.notEnabled
            ),
        ]
        for (name, change, expected) in rows {
            let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop, enabled: false)
            change(tree)
            #expect(try facts(tree).nft["enabled"] == expected, "\(name)")
        }
    }

    /// Hosts EXF-004 fails on, each changing one thing, and the part of a fact that says so.
    static let failures: [(String, @Sendable (TempTree) -> Void, String, String, JSON)] = [
        (
            "output policy accept",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n"
                )
            },
            "nftables", "output_chains", [NetworkPolicyTests.policyAccept]
        ),
        (
            "no output chain",
            { $0.file("etc/nftables.conf", "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\n") },
            "nftables", "output_covers", ["ipv4": false, "ipv6": false]
        ),
        (
            "only an ip (IPv4) output chain",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\ntable ip out {\n\(NetworkPolicyTests.outputDrop)}\n")
            },
            "nftables", "output_covers", ["ipv4": true, "ipv6": false]
        ),
        (
            "nftables.service masked",
            { $0.symlink("etc/systemd/system/nftables.service", to: "/dev/null") },
            "nftables", "enabled", NetworkPolicyTests.notEnabled
        ),
        (
            "a later flush ruleset empties it",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)\(NetworkPolicyTests.outputDrop)}\nflush ruleset\ntable inet filter {\n\tchain output {\n\t\ttype filter hook output priority 0;\n\t}\n}\n"
                )
            },
            "nftables", "output_chains", [NetworkPolicyTests.flushedOutput]
        ),
        (
            "SSH open to any source",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport { 22, 443 } accept\n\t}\n\(NetworkPolicyTests.outputDrop)}\n"
                )
            },
            "ssh_management", "nftables_by_source",
            NetworkPolicyTests.bySource(
                false, "/etc/nftables.conf:4: tcp dport { 22, 443 } accept admits SSH from any source", "/etc/nftables.conf:4")
        ),
        (
            "SSH open to any source, the rule over several lines with a comment",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport {\n\t\t\t22, # ssh\n\t\t\t443 \\\n\t\t} accept  # web and ssh\n\t}\n\(NetworkPolicyTests.outputDrop)}\n"
                )
            },
            "ssh_management", "nftables_by_source",
            NetworkPolicyTests.bySource(
                false, "/etc/nftables.conf:4: tcp dport { 22, 443 } accept admits SSH from any source", "/etc/nftables.conf:4")
        ),
        (
            "SSH from a public network",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tip saddr 203.0.113.0/24 tcp dport 22 accept\n\t}\n\(NetworkPolicyTests.outputDrop)}\n"
                )
            },
            "ssh_management", "nftables_by_source",
            NetworkPolicyTests.bySource(
                false, "/etc/nftables.conf:4: ip saddr 203.0.113.0/24 tcp dport 22 accept admits SSH from any source",
                "/etc/nftables.conf:4")
        ),
    ]

    @Test(arguments: 0..<failures.count) func eachFailureIsInTheFacts(_ index: Int) throws {
        let (label, change, fact, key, expected) = NetworkPolicyTests.failures[index]
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop)
        change(tree)
        let (nft, ssh) = try facts(tree)
        let value = (fact == "nftables" ? nft : ssh)[key]
        #expect(value == expected, "\(label): \(String(describing: value))")
    }

    @Test func sshdListenAddressesAndAllowUsers() throws {
        let open = "\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n"
        let tree = host(open + NetworkPolicyTests.outputDrop)
        let ssh = try facts(tree).ssh
        #expect(ssh["listen_addresses"] == Self.ssh()["listen_addresses"], "OpenSSH's default: every address")
        #expect(
            ssh["nftables_by_source"]
                == Self.bySource(
                    false,
                    "input chain inet filter input: policy accept at /etc/nftables.conf:6, and the last rule does not drop everything",
                    "/etc/nftables.conf:5"))
        tree.file("etc/ssh/sshd_config", "ListenAddress 10.20.0.5\nListenAddress [fd00::5]:22\n")
        #expect(try facts(tree).ssh["listen_addresses"] == Self.internalListen)
        // Every ListenAddress is reported, not only the first (sshd listens on each).
        tree.file("etc/ssh/sshd_config", "ListenAddress 10.20.0.5\nListenAddress 0.0.0.0\n")
        #expect(try facts(tree).ssh["listen_addresses"] == Self.oneListenPublic)
        tree.file("etc/ssh/sshd_config", "AllowUsers alice@10.20.* bob@192.168.7.0/24\nAllowUsers carol@172.16.1.9\n")
        #expect(try facts(tree).ssh["allow_users"] == Self.internalAllowUsers)
        tree.file("etc/ssh/sshd_config", "AllowUsers alice@10.20.* bob\n")
        #expect(try facts(tree).ssh["allow_users"] == Self.allowUsersAnywhere)
    }

    @Test func includesAreReadAsNftReadsThem() throws {
        let tree = host("", extra: "include \"nftables.d/*.nft\"\ninclude \"./srv/extra.nft\"\n")
        tree.file("etc/nftables.d/20-output.nft", "table inet filter {\n\(NetworkPolicyTests.outputDrop)}\n")
        tree.file("etc/nftables.d/10-input.nft", "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\n")
        tree.file("etc/nftables.d/.hidden.nft", "this is not read\n")
        tree.directory("etc/nftables.d/dir.nft")
        tree.file("srv/extra.nft", "add rule inet filter output ip daddr 10.20.0.80 tcp dport 443 accept\n")
        let (nft, ssh) = try facts(tree)
        #expect(nft["files"] == ["/etc/nftables.conf", "/etc/nftables.d/10-input.nft", "/etc/nftables.d/20-output.nft", "/srv/extra.nft"])
        let chain = nft["output_chains"]?.arrayValue?.first
        #expect(chain?["default_deny"] == true && chain?["source"] == "/etc/nftables.d/20-output.nft:2", "\(String(describing: chain))")
        #expect(chain?["allowlist"]?.arrayValue?.last == "/srv/extra.nft:1: ip daddr 10.20.0.80 tcp dport 443 accept")
        #expect(nft["output_covers"] == ["ipv4": true, "ipv6": true])
        #expect(ssh["nftables_by_source"]?["restricted"]?["value"] == true, "\(ssh)")
    }

    @Test func aConfigurationNftWouldRefuseIsAnErrorNamingTheLine() throws {
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop, extra: "include \"/etc/missing.nft\"\n")
        let (nft, ssh) = try facts(tree)
        let error = try #require(nft["error"]?.stringValue)
        #expect(error.hasPrefix("/etc/nftables.conf:18: Could not process include"), "\(nft)")
        #expect(nft["output_chains"] == nil && nft["output_covers"] == nil, "\(nft)")
        #expect(
            ssh["nftables_by_source"]
                == ["restricted": ["error": .string(error), "source": "/etc/nftables.conf:18"], "reason": .string(error)])
        tree.file(
            "etc/nftables.conf", "table inet filter {\n\tchain output {\n\t\ttype filter hook output priority 0; policy $p;\n\t}\n}\n")
        #expect(try facts(tree).nft["error"]?.stringValue?.hasPrefix("/etc/nftables.conf:3:") == true)
    }

    // MARK: - Control tests: EXF-004 over canned facts

    static let notEnabled: JSON = [
        "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/nftables.service (no link, or masked)",
    ]

    /// An output chain of /etc/nftables.conf as the probe describes it.
    static func chain(
        family: String = "inet", table: String = "filter", source: String = "/etc/nftables.conf:12", policy: String = "drop",
        policySource: String = "/etc/nftables.conf:13", endsWith: String? = nil, allowlist: JSON? = nil
    ) -> JSON {
        let deny = policy == "drop" || endsWith != nil
        let because =
            endsWith
            ?? (policy == "drop"
                ? "policy drop at \(policySource)"
                : (policySource.hasPrefix("nft's default") ? "no policy (accept)" : "policy \(policy) at \(policySource)")
                    + ", and the last rule does not drop everything")
        return [
            "name": .string("\(family) \(table) output"), "family": .string(family), "table": .string(table), "chain": "output",
            "source": .string(source), "policy": .string(policy), "policy_source": .string(policySource), "ends_with": .string(because),
            "default_deny": .bool(deny),
            "allowlist": allowlist ?? [
                "/etc/nftables.conf:14: oifname \"lo\" accept", "/etc/nftables.conf:15: ip daddr 10.20.0.53 udp dport 53 accept",
            ],
        ]
    }

    static let lastRuleDrops = chain(
        policy: "accept", policySource: "nft's default (no policy statement)",
        endsWith: "/etc/nftables.conf:15: counter log prefix \"egress \" reject with icmpx type admin-prohibited",
        allowlist: ["/etc/nftables.conf:14: oifname \"lo\" accept"])
    static let policyAccept = chain(source: "/etc/nftables.conf:9", policy: "accept", policySource: "/etc/nftables.conf:10", allowlist: [])
    static let flushedOutput = chain(
        source: "/etc/nftables.conf:17", policy: "accept", policySource: "nft's default (no policy statement)", allowlist: [])

    /// The `nftables` fact of the conformant host; each row changes one thing.
    static func nftables(
        chains: [JSON] = [chain()], ipv4: Bool = true, ipv6: Bool = true, enabled: JSON? = nil, error: String? = nil
    ) -> JSON {
        var nft: JSONObject = [
            "installed": true,
            "enabled": enabled ?? ["value": true, "source": "/etc/systemd/system/sysinit.target.wants/nftables.service"],
            "read_from": "the persistent configuration /etc/nftables.conf, which nftables.service loads at boot",
        ]
        if let error {
            nft["error"] = .string(error)
        } else {
            nft["files"] = ["/etc/nftables.conf"]
            nft["output_chains"] = .array(chains)
            nft["output_covers"] = ["ipv4": .bool(ipv4), "ipv6": .bool(ipv6)]
        }
        return .object(nft)
    }

    static func bySource(_ restricted: Bool, _ reason: String, _ source: String) -> JSON {
        ["restricted": ["value": .bool(restricted), "source": .string(source)], "reason": .string(reason)]
    }

    static let defaultListen: JSON = [
        ["address": "0.0.0.0", "internal": false, "source": "OpenSSH default (no ListenAddress: every address)"],
        ["address": "::", "internal": false, "source": "OpenSSH default (no ListenAddress: every address)"],
    ]
    static let internalListen: JSON = [
        ["address": "10.20.0.5", "internal": true, "source": "/etc/ssh/sshd_config:1"],
        ["address": "fd00::5", "internal": true, "source": "/etc/ssh/sshd_config:2"],
    ]
    static let oneListenPublic: JSON = [
        ["address": "10.20.0.5", "internal": true, "source": "/etc/ssh/sshd_config:1"],
        ["address": "0.0.0.0", "internal": false, "source": "/etc/ssh/sshd_config:2"],
    ]
    static let internalAllowUsers: JSON = [
        ["entry": "alice@10.20.*", "internal": true, "source": "/etc/ssh/sshd_config:1"],
        ["entry": "bob@192.168.7.0/24", "internal": true, "source": "/etc/ssh/sshd_config:1"],
        ["entry": "carol@172.16.1.9", "internal": true, "source": "/etc/ssh/sshd_config:2"],
    ]
    static let allowUsersAnywhere: JSON = [
        ["entry": "alice@10.20.*", "internal": true, "source": "/etc/ssh/sshd_config:1"],
        ["entry": "bob", "internal": false, "source": "/etc/ssh/sshd_config:1"],
    ]
    static let inputOpen = bySource(
        false, "input chain inet filter input: policy accept at /etc/nftables.conf:6, and the last rule does not drop everything",
        "/etc/nftables.conf:5")

    /// The `ssh_management` fact of the conformant host (sshd on every address, the input chain
    /// admitting SSH from internal sources only).
    static func ssh(listen: JSON = defaultListen, allowUsers: JSON = [], bySource: JSON? = nil) -> JSON {
        [
            "installed": true, "listen_addresses": listen, "allow_users": allowUsers,
            "nftables_by_source": bySource
                ?? Self.bySource(
                    true, "every input chain drops by default and admits SSH only from internal saddr matches", "/etc/nftables.conf:5"),
        ]
    }

    /// A row: what changes, the two facts, the status (the same at SL3 and SL4), and the source
    /// a failed piece of evidence names.
    static let exf004Table: [(String, JSON, JSON, Status, String?)] = [
        ("default-deny both ways, SSH from the management network", nftables(), ssh(), .pass, nil),
        ("a last rule that drops everything", nftables(chains: [lastRuleDrops]), ssh(), .pass, nil),
        ("output policy accept", nftables(chains: [policyAccept]), ssh(), .fail, "/etc/nftables.conf:9"),
        ("no output chain", nftables(chains: [], ipv4: false, ipv6: false), ssh(), .fail, "nftables.output_chains"),
        ("only an ip (IPv4) output chain", nftables(chains: [chain(family: "ip", table: "out")], ipv6: false), ssh(), .fail, "nftables"),
        ("nftables.service masked", nftables(enabled: notEnabled), ssh(), .fail, "nftables.service (no link, or masked)"),
        (
            "nftables.service's enablement links unreadable", nftables(enabled: UnknownEnablementTests.stated("nftables.service")), ssh(),
            .error, nil
        ),
        ("a later flush ruleset empties it", nftables(chains: [flushedOutput]), ssh(), .fail, "/etc/nftables.conf:17"),
        (
            "SSH open to any source", nftables(),
            ssh(
                bySource: bySource(
                    false, "/etc/nftables.conf:4: tcp dport { 22, 443 } accept admits SSH from any source", "/etc/nftables.conf:4")),
            .fail, "/etc/nftables.conf:4"
        ),
        ("an open input chain, sshd on every address", nftables(), ssh(bySource: inputOpen), .fail, nil),
        ("an open input chain, sshd on internal addresses", nftables(), ssh(listen: internalListen, bySource: inputOpen), .pass, nil),
        ("an open input chain, sshd also on 0.0.0.0", nftables(), ssh(listen: oneListenPublic, bySource: inputOpen), .fail, nil),
        (
            "an open input chain, AllowUsers from internal sources", nftables(), ssh(allowUsers: internalAllowUsers, bySource: inputOpen),
            .pass, nil
        ),
        (
            "an open input chain, AllowUsers admitting bob anywhere", nftables(), ssh(allowUsers: allowUsersAnywhere, bySource: inputOpen),
            .fail, nil
        ),
        (
            "a configuration nft would refuse",
            nftables(error: "/etc/nftables.conf:18: Could not process include of /etc/missing.nft"),
            ssh(bySource: [
                "restricted": [
                    "error": "/etc/nftables.conf:18: Could not process include of /etc/missing.nft", "source": "/etc/nftables.conf:18",
                ],
                "reason": "/etc/nftables.conf:18: Could not process include of /etc/missing.nft",
            ]), .error, nil
        ),
    ]

    @Test(arguments: NetworkPolicyTests.exf004Table.indices)
    func exf004OverATableOfFacts(_ row: Int) throws {
        let (name, nft, ssh, expected, source) = NetworkPolicyTests.exf004Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("EXF-004", profile: profile, facts: ["nftables": nft, "ssh_management": ssh])
            #expect(f.status == expected && !f.advisory, "\(profile) \(name): \(f.summary)")
            if let source {
                #expect(f.evidence.contains { $0.ok != true && $0.source.contains(source) }, "\(name): \(f.evidence.map(\.source))")
            }
        }
    }

    /// A pass names the line of the output chain's policy.
    @Test func aPassNamesTheOutputPolicy() throws {
        let f = try cannedFinding("EXF-004", profile: "sl3", facts: ["nftables": Self.nftables(), "ssh_management": Self.ssh()])
        #expect(f.evidence.contains { $0.source == "/etc/nftables.conf:12" && $0.ok == true }, "\(f.evidence)")
    }

    @Test func internalAddresses() {
        for yes in [
            "10.0.0.1", "10.0.0.0/8", "172.31.255.1", "192.168.0.0/16", "127.0.0.1", "100.64.1.1", "fd12::1", "fe80::1", "::1",
            "10.0.0.1-10.0.0.9",
        ] {
            #expect(NetworkPolicyProbe.isInternal(yes), "\(yes)")
        }
        for no in ["0.0.0.0", "0.0.0.0/0", "10.0.0.0/7", "172.32.0.1", "8.8.8.8", "::", "2001:db8::1", "fc00::/6", "host.example", ""] {
            #expect(!NetworkPolicyProbe.isInternal(no), "\(no)")
        }
        #expect(NetworkPolicyProbe.isInternalPattern("10.1.*"))
        #expect(!NetworkPolicyProbe.isInternalPattern("1*"))
        #expect(!NetworkPolicyProbe.isInternalPattern("*"))
        #expect(!NetworkPolicyProbe.isInternalPattern("10.1.2.3.4.*"))
    }
}
