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

    func exf007(_ tree: TempTree, site: String? = nil) throws -> Finding {
        try audit(root: tree.path, site: site, probes: [ListenersProbe()]).findings["EXF-007"]
    }

    @Test func onlySSHOnTheNetworkPasses() throws {
        let tree = TempTree()
        tables(tree, tcp: ["00000000:0016 00000000:0000 0A", "0100007F:1F90 00000000:0000 0A", "0A000001:C350 0A000002:0016 01"])
        let f = try exf007(tree)
        #expect(f.status == .pass, "\(f.summary)")
    }

    @Test func unlistedListenerFailsWithItsAddress() throws {
        let tree = TempTree()
        tables(
            tree, tcp: ["00000000:0016 00000000:0000 0A"],
            tcp6: ["00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A"],
            udp: ["00000000:0089 00000000:0000 07"])
        let f = try exf007(tree)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.ok == false && $0.observed == "tcp/8080" && $0.source == "[0:0:0:0:0:0:0:0]:8080 in /proc/net" })
        #expect(f.evidence.contains { $0.ok == false && $0.observed == "udp/137" })
        let allowed = try exf007(tree, site: "network:\n  allowed_listeners: [tcp/22, tcp/8080, udp/137]\n")
        #expect(allowed.status == .pass)
    }

    @Test func loopbackIPv6IsIgnoredAndTheHostNamespaceIsPreferred() throws {
        let tree = TempTree()
        tables(tree, tcp: ["00000000:1F90 00000000:0000 0A"])
        // PID 1's view wins over the process's own.
        tables(tree, under: "proc/1/net", tcp: [], tcp6: ["00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A"])
        #expect(try exf007(tree).status == .pass)
    }

    @Test func offlineRootWithoutProcIsNotChecked() throws {
        let tree = TempTree()
        tree.directory("etc")
        #expect(try exf007(tree).status == .notChecked)
    }

    @Test func garbageRowIsAnError() throws {
        let tree = TempTree()
        tree.file("proc/net/tcp", header + "   0: nonsense\n")
        let f = try exf007(tree)
        #expect(f.status == .error)
        #expect(f.summary.contains("/proc/net/tcp:2: cannot parse"))
    }
}
