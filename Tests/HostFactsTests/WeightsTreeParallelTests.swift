import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The weights-tree walk makes its system calls on several threads; its facts must be the bytes a
/// sequential depth-first walk gives, whatever the number of threads, the batch size and the
/// scheduling: the same counts, and the same first few offenders (first in walk order).
@Suite struct WeightsTreeParallelTests {
    /// A tree with many directories, one large flat directory (many batches), offenders deep in
    /// it, other owners, ACLs, symlinks and a fifo.
    static func makeHost() -> WeightsHost {
        let host = WeightsHost()
        var n = 0
        for a in 0..<4 {
            for b in 0..<5 {
                for c in 0..<3 {
                    for f in 0..<12 {
                        n += 1
                        let path = "srv/weights/m\(a)/s\(b)/p\(c)/shard-\(n).bin"
                        host.tree.file(path, "w", mode: n % 13 == 0 ? 0o644 : 0o640)
                        if n % 29 == 0 { host.chmod(path, 0o664) }
                        if f == 5 && n % 2 == 0 { host.tree.symlink("srv/weights/m\(a)/s\(b)/p\(c)/link-\(n)", to: "/etc/passwd") }
                    }
                }
            }
        }
        for i in 0..<300 {
            host.tree.file("srv/weights/flat/f\(i).bin", "w", mode: i % 37 == 0 ? 0o604 : 0o640)
        }
        host.chown("990:991", "srv/weights")
        host.chown("1002:991", "srv/weights/m2/s3")
        host.chmod("srv/weights/m1/s4", 0o770)
        host.chmod("srv/weights/m3/s1/p2", 0o755)
        #expect(mkfifo(host.weights + "/m0/s0/fifo", 0o600) == 0)
        host.setfacl("-m", "u:1001:r", "srv/weights/m3/s4/p2/shard-719.bin")
        host.setfacl("-m", "u:1002:rw", "srv/weights/flat/f299.bin")
        host.setfacl("-d", "-m", "g:991:rx", "srv/weights/m1/s2")
        return host
    }

    /// The facts of the walk, serialised.
    static func facts(_ host: WeightsHost, _ probe: WeightsTreeProbe) throws -> [UInt8] {
        let site = "weights:\n  paths: [/srv/weights, /srv/weights/m2]\n  owner: weights\n  group: readers\n"
        let facts = try host.audit(site: site, probe: probe).facts
        var out: [UInt8] = []
        for name in ["weights_tree", "weights_acl"] {
            guard case .value(let v)? = facts[name] else {
                Issue.record("no \(name)")
                return []
            }
            out += v.serialized() + [0x0A]
        }
        return out
    }

    /// Paths of the regular files with `mode` owned by weights (990), in the order a plain recursive readdir walk meets them.
    static func sequentialPaths(_ host: WeightsHost, mode: UInt32) -> [String] {
        var paths: [String] = []
        func walk(_ virtual: String) {
            guard let dir = opendir(host.path + virtual) else { return }
            defer { closedir(dir) }
            while let e = readdir(dir) {
                let name = withUnsafePointer(to: &e.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." { continue }
                let path = virtual + "/" + name
                var st = stat()
                guard lstat(host.path + path, &st) == 0 else { continue }
                if st.st_mode & S_IFMT == S_IFREG && UInt32(st.st_mode) & 0o7777 == mode && st.st_uid == 990 { paths.append(path) }
                if st.st_mode & S_IFMT == S_IFDIR { walk(path) }
            }
        }
        walk("/srv/weights")
        return paths
    }

    @Test func theFactsAreTheSameBytesWhateverTheThreadsAndBatches() throws {
        let host = WeightsTreeParallelTests.makeHost()
        let sequential = try WeightsTreeParallelTests.facts(host, WeightsTreeProbe(budget: .weightsTree, workers: 1))
        #expect(sequential.count > 1000)
        // Helpers from the first entry, from part-way through (a pool started mid-walk takes over
        // batches already read ahead), and never (a tree below the threshold).
        for (workers, batch, after) in [
            (1, 1, 0), (2, 1, 0), (2, 3, 0), (2, 32, 100), (3, 7, 0), (4, 32, 500), (2, 16, 1024), (2, 5, 1 << 20),
        ] {
            for _ in 0..<3 {
                let probe = WeightsTreeProbe(budget: .weightsTree, workers: workers, batchSize: batch, parallelAfter: after)
                let parallel = try WeightsTreeParallelTests.facts(host, probe)
                #expect(
                    parallel == sequential,
                    "workers \(workers), batch \(batch), helpers after \(after): \(String(decoding: parallel, as: UTF8.self))")
            }
        }
        // Past the class limit, the merged class's first examples are still those of walk order.
        let merged = try WeightsTreeParallelTests.facts(host, WeightsTreeProbe(budget: .weightsTree, maxClasses: 2, workers: 1))
        let mergedParallel = try WeightsTreeParallelTests.facts(
            host, WeightsTreeProbe(budget: .weightsTree, maxClasses: 2, workers: 2, batchSize: 2, parallelAfter: 0))
        #expect(merged == mergedParallel)
    }

    @Test func theFirstOffendersAreTheFirstInDepthFirstOrder() throws {
        let host = WeightsTreeParallelTests.makeHost()
        let probe = WeightsTreeProbe(budget: .weightsTree, workers: 2, batchSize: 3, parallelAfter: 0)
        let (facts, findings) = try host.audit(site: "weights:\n  paths: [/srv/weights]\n", probe: probe)
        let classes = try #require(host.location(facts)?["classes"]?.arrayValue)
        for mode in [0o644, 0o664, 0o604] as [UInt32] {
            let expected = WeightsTreeParallelTests.sequentialPaths(host, mode: mode)
            let found = try #require(
                classes.first {
                    $0["kind"] == "file" && $0["uid"] == 990 && $0["mode"]?["value"]?.stringValue == "0" + String(mode, radix: 8)
                })
            #expect(found["count"]?.intValue == Int64(expected.count))
            #expect(found["examples"]?.arrayValue?.compactMap(\.stringValue) == Array(expected.prefix(20)))
        }
        #expect(findings["ACC-001"].status == .fail)
        #expect(findings["ACC-002"].status == .fail)
    }

    @Test func anExhaustedBudgetStopsAtTheSameEntry() throws {
        let host = WeightsTreeParallelTests.makeHost()
        for budget in [1, 2, 40, 333, 700] {
            let limit = WalkBudget(maxEntries: budget, maxSeconds: 600)
            let sequential = try WeightsTreeParallelTests.facts(host, WeightsTreeProbe(budget: limit, workers: 1))
            #expect(String(decoding: sequential, as: UTF8.self).contains("the \(budget)-entry budget after \(budget) entries"))
            for (workers, batch, after) in [(2, 1, 0), (2, 32, 0), (4, 5, 0), (2, 3, 20)] {
                let probe = WeightsTreeProbe(budget: limit, workers: workers, batchSize: batch, parallelAfter: after)
                let parallel = try WeightsTreeParallelTests.facts(host, probe)
                #expect(parallel == sequential, "budget \(budget), workers \(workers), batch \(batch), helpers after \(after)")
            }
        }
    }
}
