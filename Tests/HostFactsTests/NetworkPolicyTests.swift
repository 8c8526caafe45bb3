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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("EXF-004", root: tree.path, probes: [NetworkPolicyProbe()])
    }

    @Test func defaultDenyBothWaysWithSSHFromTheManagementNetworkPasses() throws {
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop)
        let (nft, ssh) = try facts(tree)
        let chain = try #require(nft["output_chains"]?.arrayValue?.first)
        #expect(chain["default_deny"] == true)
        #expect(chain["name"] == "inet filter output")
        #expect(chain["policy_source"] == "/etc/nftables.conf:13")
        #expect(
            chain["allowlist"] == [
                "/etc/nftables.conf:14: oifname \"lo\" accept", "/etc/nftables.conf:15: ip daddr 10.20.0.53 udp dport 53 accept",
            ])
        #expect(nft["enabled"]?["value"] == true)
        #expect(nft["read_from"]?.stringValue?.contains("persistent configuration /etc/nftables.conf") == true)
        #expect(ssh["nftables_by_source"]?["restricted"]?["value"] == true, "\(ssh)")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass && f.advisory == false, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/etc/nftables.conf:12" && $0.ok == true }, "\(f.evidence)")
        }
    }

    @Test func aLastRuleThatDropsEverythingIsADefaultDeny() throws {
        let tree = host(
            NetworkPolicyTests.inputRestricted
                + "\tchain output {\n\t\ttype filter hook output priority 0;\n\t\toifname \"lo\" accept\n\t\tcounter log prefix \"egress \" reject with icmpx type admin-prohibited\n\t}\n"
        )
        let chain = try #require(try facts(tree).nft["output_chains"]?.arrayValue?.first)
        #expect(chain["default_deny"] == true)
        #expect(chain["ends_with"]?.stringValue?.hasPrefix("/etc/nftables.conf:15: counter log prefix") == true, "\(chain)")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
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
                "a link in /run only",
                { $0.symlink("run/systemd/system/sysinit.target.wants/nftables.service", to: "/lib/systemd/system/nftables.service") },
                ["value": true, "source": "/run/systemd/system/sysinit.target.wants/nftables.service"]
            ),
            (
                "a .requires link, masked in /run",
                {
                    $0.symlink("etc/systemd/system/sysinit.target.requires/nftables.service", to: "/lib/systemd/system/nftables.service")
                    $0.symlink("run/systemd/system/nftables.service", to: "/dev/null")
                },
                [
                    "value": false,
                    "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/nftables.service (no link, or masked)",
                ]
            ),
        ]
        for (name, change, expected) in rows {
            let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop, enabled: false)
            change(tree)
            #expect(try facts(tree).nft["enabled"] == expected, "\(name)")
            let status: Status = expected["value"] == true ? .pass : .fail
            for (profile, f) in try findings(tree) { #expect(f.status == status, "\(name), \(profile): \(f.summary)") }
        }
    }

    /// What makes EXF-004 fail, each alone, at both levels, and the source the evidence names.
    static let failures: [(String, @Sendable (TempTree) -> Void, String)] = [
        (
            "output policy accept",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n"
                )
            },
            "/etc/nftables.conf:9"
        ),
        (
            "no output chain",
            { $0.file("etc/nftables.conf", "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\n") },
            "nftables.output_chains"
        ),
        (
            "only an ip (IPv4) output chain",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\ntable ip out {\n\(NetworkPolicyTests.outputDrop)}\n")
            },
            "nftables"
        ),
        (
            "nftables.service masked",
            { $0.symlink("etc/systemd/system/nftables.service", to: "/dev/null") },
            "nftables.service (no link, or masked)"
        ),
        (
            "a later flush ruleset empties it",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\(NetworkPolicyTests.inputRestricted)\(NetworkPolicyTests.outputDrop)}\nflush ruleset\ntable inet filter {\n\tchain output {\n\t\ttype filter hook output priority 0;\n\t}\n}\n"
                )
            },
            "/etc/nftables.conf:17"
        ),
        (
            "SSH open to any source",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\ttcp dport { 22, 443 } accept\n\t}\n\(NetworkPolicyTests.outputDrop)}\n"
                )
            },
            "/etc/nftables.conf:4"
        ),
        (
            "SSH from a public network",
            {
                $0.file(
                    "etc/nftables.conf",
                    "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tip saddr 203.0.113.0/24 tcp dport 22 accept\n\t}\n\(NetworkPolicyTests.outputDrop)}\n"
                )
            },
            "/etc/nftables.conf:4"
        ),
    ]

    @Test(arguments: 0..<failures.count) func eachFailureFailsAtBothLevels(_ index: Int) throws {
        let (label, change, source) = NetworkPolicyTests.failures[index]
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop)
        change(tree)
        let found = try findings(tree)
        #expect(found.count == 2)
        for (profile, f) in found {
            #expect(f.status == .fail, "\(label), \(profile): \(f.summary)")
            #expect(
                f.evidence.contains { $0.ok != true && $0.source.contains(source) },
                "\(label): \(f.evidence.map { "\($0.source) \($0.ok.map(String.init) ?? "-") \($0.expected)" })")
        }
    }

    @Test func sshdBoundToAnInternalAddressOrAllowUsersFromOneIsEnoughWithoutAnInputRule() throws {
        let open = "\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t}\n"
        let tree = host(open + NetworkPolicyTests.outputDrop)
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
        tree.file("etc/ssh/sshd_config", "ListenAddress 10.20.0.5\nListenAddress [fd00::5]:22\n")
        let ssh = try facts(tree).ssh
        #expect(
            ssh["listen_addresses"] == [
                ["address": "10.20.0.5", "internal": true, "source": "/etc/ssh/sshd_config:1"],
                ["address": "fd00::5", "internal": true, "source": "/etc/ssh/sshd_config:2"],
            ])
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
        // Every ListenAddress counts, not only the first (sshd listens on each).
        tree.file("etc/ssh/sshd_config", "ListenAddress 10.20.0.5\nListenAddress 0.0.0.0\n")
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
        tree.file("etc/ssh/sshd_config", "AllowUsers alice@10.20.* bob@192.168.7.0/24\nAllowUsers carol@172.16.1.9\n")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
        tree.file("etc/ssh/sshd_config", "AllowUsers alice@10.20.* bob\n")
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
    }

    @Test func includesAreReadAsNftReadsThem() throws {
        let tree = host("", extra: "include \"nftables.d/*.nft\"\ninclude \"./srv/extra.nft\"\n")
        tree.file("etc/nftables.d/20-output.nft", "table inet filter {\n\(NetworkPolicyTests.outputDrop)}\n")
        tree.file("etc/nftables.d/10-input.nft", "table inet filter {\n\(NetworkPolicyTests.inputRestricted)}\n")
        tree.file("etc/nftables.d/.hidden.nft", "this is not read\n")
        tree.directory("etc/nftables.d/dir.nft")
        tree.file("srv/extra.nft", "add rule inet filter output ip daddr 10.20.0.80 tcp dport 443 accept\n")
        let nft = try facts(tree).nft
        #expect(nft["files"] == ["/etc/nftables.conf", "/etc/nftables.d/10-input.nft", "/etc/nftables.d/20-output.nft", "/srv/extra.nft"])
        #expect(
            nft["output_chains"]?.arrayValue?.first?["allowlist"]?.arrayValue?.last
                == "/srv/extra.nft:1: ip daddr 10.20.0.80 tcp dport 443 accept")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func aConfigurationNftWouldRefuseIsAnErrorNamingTheLine() throws {
        let tree = host(NetworkPolicyTests.inputRestricted + NetworkPolicyTests.outputDrop, extra: "include \"/etc/missing.nft\"\n")
        let nft = try facts(tree).nft
        #expect(nft["error"]?.stringValue?.hasPrefix("/etc/nftables.conf:18: Could not process include") == true, "\(nft)")
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
        tree.file(
            "etc/nftables.conf", "table inet filter {\n\tchain output {\n\t\ttype filter hook output priority 0; policy $p;\n\t}\n}\n")
        #expect(try facts(tree).nft["error"]?.stringValue?.hasPrefix("/etc/nftables.conf:3:") == true)
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
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
