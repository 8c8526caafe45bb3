import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// Differential tests of NftablesConfig against nft 1.0.6 itself in the Debian 12 root
/// (docs/DAEMON-SEMANTICS.md, "nftables"): each case's files are laid over the root, `nft -f
/// /etc/nftables.conf` loads them into the kernel of a private network namespace (`unshare
/// --net`: the host's ruleset is never touched), and `nft -j list ruleset` says which chains
/// exist, with their hook, policy and number of rules. Warden's reading of the same files must
/// give the same chains; where nft refuses the files, Warden must report an error.
@Suite struct NftablesOracleTests {
    static let cases: [(name: String, files: [String: String])] = [
        (
            "the conformant fixture",
            [
                "etc/nftables.conf": fixture("etc/nftables.conf"),
                "etc/nftables.d/allow-out.nft": fixture("etc/nftables.d/allow-out.nft"),
            ]
        ),
        (
            "includes: a glob in /etc, ./ from the working directory, dot files and directories skipped",
            [
                "etc/nftables.conf": "flush ruleset\ntable inet f {\n}\ninclude \"nftables.d/*.nft\"\ninclude \"./srv/x.nft\"\n",
                "etc/nftables.d/10-in.nft":
                    "table inet f {\n\tchain input { type filter hook input priority 0; policy drop; tcp dport 22 accept; }\n}\n",
                "etc/nftables.d/20-out.nft": "add chain inet f output { type filter hook output priority 0 ; policy drop ; }\n",
                "etc/nftables.d/.hidden.nft": "add chain inet f hidden\n",
                "etc/nftables.d/dir.nft/keep": "",
                "srv/x.nft": "add rule inet f output oifname \"lo\" accept\ninsert rule inet f output ct state established accept\n",
            ]
        ),
        (
            "a glob that matches nothing",
            [
                "etc/nftables.conf":
                    "include \"/etc/nothing-here/*.nft\"\ntable ip t {\n\tchain o {\n\t\ttype filter hook output priority 0\n\t}\n}\n"
            ]
        ),
        (
            "flush ruleset, delete table, delete chain, flush chain, a policy changed later",
            [
                "etc/nftables.conf": """
                table inet gone { chain output { type filter hook output priority 0; policy drop; }; }
                flush ruleset
                table inet filter {
                	chain output {
                		type filter hook output priority 0; policy drop;
                		accept
                	}
                	chain extra {
                		counter
                	}
                	chain input {
                		type filter hook input priority 0; policy drop;
                		tcp dport { 22,
                			443 } accept
                	}
                }
                table ip6 other { chain output { type filter hook output priority 10; }; }
                delete table ip6 other
                delete chain inet filter extra
                flush chain inet filter input
                chain inet filter output { policy accept; }
                table t {
                	chain out {
                		type filter hook output priority 0; policy drop # the default family is ip
                		ip daddr 10.0.0.1 \\
                			counter accept
                	}
                }

                """
            ]
        ),
        (
            "comments, strings with #, sets and maps are skipped",
            [
                "etc/nftables.conf": """
                define mgmt = { 10.20.0.0/16, 192.168.7.0/24 }
                table inet filter {
                	set allowed { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 } }
                	map m { type inet_service : verdict; elements = { 22 : accept } }
                	chain output {
                		type filter hook output priority filter; policy drop; comment "egress # allowlist"
                		ip daddr @allowed accept comment "to the mirror"
                		ip saddr $mgmt tcp dport vmap @m
                	}
                }

                """
            ]
        ),
        (
            "a chain's '}' right before its table's",
            ["etc/nftables.conf": "table inet f { chain output { type filter hook output priority 0; policy drop; } }\n"]
        ),
        ("a missing include", ["etc/nftables.conf": "table inet f {\n}\ninclude \"/etc/missing.nft\"\n"]),
        ("a rule for a chain that does not exist", ["etc/nftables.conf": "table inet f {\n}\nadd rule inet f nowhere accept\n"]),
    ]

    static func fixture(_ path: String) -> String {
        guard let root = try? HostRoot(Package.fixtureRoot("host-conformant")) else { return "" }
        return (try? root.readText("/" + path)) ?? ""
    }

    struct ChainView: Equatable, CustomStringConvertible {
        var hook: String
        var policy: String
        var rules: Int
        var description: String { "hook \(hook) policy \(policy) rules \(rules)" }
    }

    /// What nft loaded: "family table chain" → hook, policy, rule count; nil when it refused.
    static func nftView(_ layer: String, base: String) throws -> (view: [String: ChainView]?, stderr: String) {
        let script = "nft -f /etc/nftables.conf && nft -j list ruleset"
        let r = run("/usr/bin/unshare", ["--net", RealRoots.inRootScript, "--layer", layer, base, "/bin/sh", "-c", script], timeout: 120)
        guard r.status == 0 else { return (nil, r.stderr) }
        let document = try JSON.parse(r.stdout)
        var view: [String: ChainView] = [:]
        for object in document["nftables"]?.arrayValue ?? [] {
            if let chain = object["chain"] {
                let key = [chain["family"], chain["table"], chain["name"]].compactMap { $0?.stringValue }.joined(separator: " ")
                view[key] = ChainView(
                    hook: chain["hook"]?.stringValue ?? "", policy: chain["hook"] == nil ? "" : chain["policy"]?.stringValue ?? "accept",
                    rules: view[key]?.rules ?? 0)
            }
            if let rule = object["rule"] {
                let key = [rule["family"], rule["table"], rule["chain"]].compactMap { $0?.stringValue }.joined(separator: " ")
                view[key, default: ChainView(hook: "", policy: "", rules: 0)].rules += 1
            }
        }
        return (view, r.stderr)
    }

    static func wardenView(_ root: String) throws -> [String: ChainView]? {
        guard let config = try? NftablesConfig.load(try HostRoot(root)) else { return nil }
        var view: [String: ChainView] = [:]
        for table in config.tables.values {
            for chain in table.chains.values {
                view["\(table.family) \(table.name) \(chain.name)"] = ChainView(
                    hook: chain.hook ?? "", policy: chain.hook == nil ? "" : chain.policy ?? "accept", rules: chain.rules.count)
            }
        }
        return view
    }

    @Test(arguments: 0..<cases.count) func chainsAreNftsOwn(_ index: Int) throws {
        let (name, files) = NftablesOracleTests.cases[index]
        let base = try RealRoots.debian12()
        let layer = TempTree(prefix: "warden-nft")
        for (path, text) in files {
            if path.hasSuffix("/keep") { layer.directory(String(path.dropLast(5))) } else { layer.file(path, text) }
        }
        let (tool, stderr) = try withExtendedLifetime(layer) { try NftablesOracleTests.nftView(layer.path, base: base) }
        let warden = try NftablesOracleTests.wardenView(layer.path)
        #expect(
            warden == tool,
            "\(name): nft says \(tool.map(\.description) ?? "refused: \(stderr)"), Warden \(warden.map(\.description) ?? "error")")
        if index < 5 { #expect(tool != nil, "\(name): nft refused it: \(stderr)") }
    }
}
