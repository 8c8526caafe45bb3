import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct ListenersProbeTests {
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

    func tables(_ tree: TempTree, under base: String = "proc/net", tcp: [String], tcp6: [String] = [], udp: [String] = []) {
        func rows(_ r: [String]) -> String {
            header
                + r.enumerated().map { "   \($0.offset): \($0.element) 00000000:00000000 00:00000000 00000000     0        0 1 1" }.joined(
                    separator: "\n") + "\n"
        }
        tree.file("\(base)/tcp", rows(tcp))
        tree.file("\(base)/tcp6", rows(tcp6))
        tree.file("\(base)/udp", rows(udp))
    }

    func listeners(_ tree: TempTree) throws -> JSON { try probeFact("listeners", of: ListenersProbe(), root: tree.path) }

    // MARK: - Probe tests: the listeners fact of each table

    @Test func onlySSHListensOnTheNetwork() throws {
        let tree = TempTree()
        tables(tree, tcp: ["00000000:0016 00000000:0000 0A", "0100007F:1F90 00000000:0000 0A", "0A000001:C350 0A000002:0016 01"])
        // Loopback listeners and established connections are not listeners on the network.
        #expect(
            try listeners(tree)
                == [
                    "source": "/proc/net",
                    "sockets": [["name": "tcp/22", "addresses": ["0.0.0.0:22"], "source": "0.0.0.0:22 in /proc/net"]],
                ])
    }

    @Test func everyProtocolAndPortWithItsAddresses() throws {
        let tree = TempTree()
        tables(
            tree, tcp: ["00000000:0016 00000000:0000 0A"],
            tcp6: ["00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A"],
            udp: ["00000000:0089 00000000:0000 07"])
        #expect(
            try listeners(tree)["sockets"]
                == [
                    ["name": "tcp/22", "addresses": ["0.0.0.0:22"], "source": "0.0.0.0:22 in /proc/net"],
                    [
                        "name": "tcp/8080", "addresses": ["[0:0:0:0:0:0:0:0]:8080"], "source": "[0:0:0:0:0:0:0:0]:8080 in /proc/net",
                    ],
                    ["name": "udp/137", "addresses": ["0.0.0.0:137"], "source": "0.0.0.0:137 in /proc/net"],
                ])
    }

    @Test func loopbackIPv6IsIgnoredAndTheHostNamespaceIsPreferred() throws {
        let tree = TempTree()
        tables(tree, tcp: ["00000000:1F90 00000000:0000 0A"])
        // PID 1's view wins over the process's own.
        tables(tree, under: "proc/1/net", tcp: [], tcp6: ["00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A"])
        #expect(try listeners(tree) == ["source": "/proc/1/net", "sockets": []])
    }

    @Test func offlineRootWithoutProcIsNotChecked() throws {
        let tree = TempTree()
        tree.directory("etc")
        #expect(
            try audit(root: tree.path, probes: [ListenersProbe()]).facts["listeners"]
                == .unavailable(.notChecked("/proc/net/tcp does not exist (offline root)")))
    }

    @Test func aGarbageRowIsAnErrorItem() throws {
        let tree = TempTree()
        tree.file("proc/net/tcp", header + "   0: nonsense\n")
        #expect(try listeners(tree)["sockets"] == [["name": "/proc/net/tcp:2: cannot parse", "error": "/proc/net/tcp:2: cannot parse"]])
    }

    // MARK: - Control tests: EXF-007 over a table of canned facts

    static func socket(_ name: String, _ address: String) -> JSON {
        ["name": .string(name), "addresses": [.string(address)], "source": .string("\(address) in /proc/net")]
    }

    static func canned(_ sockets: [JSON], allowed: [String]? = nil) -> [String: Fact] {
        var site: JSONObject = ["present": .bool(allowed != nil), "source": "site.yaml"]
        if let allowed { site["network"] = ["allowed_listeners": .array(allowed.map { .string($0) })] }
        return ["listeners": .value(["source": "/proc/net", "sockets": .array(sockets)]), "site": .value(.object(site))]
    }

    static let unlisted = [
        socket("tcp/22", "0.0.0.0:22"), socket("tcp/8080", "[0:0:0:0:0:0:0:0]:8080"), socket("udp/137", "0.0.0.0:137"),
    ]

    /// The same at SL3 and SL4; `failing` are the observed names of the failing evidence.
    static let exf007Table: [(String, [String: Fact], Status, [String])] = [
        ("only SSH, the default allowance", canned([socket("tcp/22", "0.0.0.0:22")]), .pass, []),
        ("nothing listens", canned([]), .pass, []),
        ("listeners the site does not allow", canned(unlisted), .fail, ["tcp/8080", "udp/137"]),
        ("the same, allowed by the site", canned(unlisted, allowed: ["tcp/22", "tcp/8080", "udp/137"]), .pass, []),
        ("SSH where the site allows only 8080", canned([socket("tcp/22", "0.0.0.0:22")], allowed: ["tcp/8080"]), .fail, ["tcp/22"]),
        ("offline without /proc", ["listeners": .unavailable(.notChecked("/proc/net/tcp does not exist (offline root)"))], .notChecked, []),
        (
            "a row that cannot be parsed",
            canned([["name": "/proc/net/tcp:2: cannot parse", "error": "/proc/net/tcp:2: cannot parse"]]), .error, []
        ),
    ]

    @Test(arguments: ListenersProbeTests.exf007Table.indices)
    func exf007OverATableOfFacts(_ row: Int) throws {
        let (name, facts, expected, failing) = ListenersProbeTests.exf007Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("EXF-007", profile: profile, facts: facts)
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(finding.evidence.filter { $0.ok == false }.map(\.observed) == failing.map { .string($0) }, "\(profile) \(name)")
        }
        if case .error = expected {
            let finding = try cannedFinding("EXF-007", profile: "sl3", facts: facts)
            #expect(finding.summary.contains("/proc/net/tcp:2: cannot parse"), "\(finding.summary)")
        }
    }

    /// The failing evidence names the socket's address and where it was read.
    @Test func theEvidenceNamesTheAddress() throws {
        let finding = try cannedFinding("EXF-007", profile: "sl3", facts: ListenersProbeTests.canned(ListenersProbeTests.unlisted))
        #expect(
            finding.evidence.contains { $0.ok == false && $0.observed == "tcp/8080" && $0.source == "[0:0:0:0:0:0:0:0]:8080 in /proc/net" })
    }

    /// End to end, once: EXF-007 joins the probe's sockets with the site file's allowance, so an
    /// unlisted listener is shown failing without a site and passing once the site allows it.
    @Test func theSiteAllowanceEndToEnd() throws {
        let tree = TempTree()
        tables(tree, tcp: ["00000000:0016 00000000:0000 0A", "00000000:1F90 00000000:0000 0A"])
        #expect(try audit(root: tree.path, probes: [ListenersProbe()]).findings["EXF-007"].status == .fail)
        let site = "network:\n  allowed_listeners: [tcp/22, tcp/8080]\n"
        #expect(try audit(root: tree.path, site: site, probes: [ListenersProbe()]).findings["EXF-007"].status == .pass)
    }
}
