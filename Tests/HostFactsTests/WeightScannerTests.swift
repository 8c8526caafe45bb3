import Glibc
import HostFacts
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A safetensors file just over the 1 MiB default threshold.
let oneMiBOfWeights = WeightFiles.safetensors(floats: (1 << 20) / 4 + 16)

func scan(_ tree: TempTree, roots: [String], minSize: Int64 = 64, budget: WalkBudget = .scan) throws -> WeightScan {
    WeightScanner(root: try HostRoot(tree.path), roots: roots, minSize: minSize, budget: budget).scan()
}

/// Runs the weights-tree probe over given weight locations and evaluates a profile, in process.
func evaluateWeights(
    _ tree: TempTree, weights: (HostRoot) -> WeightLocations, site: String? = nil, profile: String = "sl3",
    probe: WeightsTreeProbe = WeightsTreeProbe()
) throws -> (facts: FactSet, findings: [Finding]) {
    let root = try HostRoot(tree.path)
    let siteFile = try site.map { try Site.parse($0, file: "site.yaml", digester: .libcrypto) }
    let context = ProbeContext(root: root, site: siteFile, weights: weights(root))
    var facts = FactSet(mode: root.mode)
    facts["site"] = .value(siteFile?.json ?? .null)
    for (name, fact) in probe.collect(context) { facts[name] = fact }
    return (facts, Evaluator.evaluate(try BuiltIn.profile(profile), facts: facts, now: testNow))
}

@Suite struct WeightScannerTests {
    @Test func discoveryFindsWeightsByContentNotByName() throws {
        let tree = TempTree()
        tree.bytes("home/ana/notes.txt", oneMiBOfWeights, mode: 0o640)
        tree.file("home/ana/model.safetensors", String(repeating: "these are not weights\n", count: 60_000), mode: 0o640)
        tree.bytes("srv/small.safetensors", WeightFiles.safetensors(), mode: 0o640)  // under the 1 MiB default
        let (facts, findings) = try audit(root: tree.path, probes: [WeightsTreeProbe()])
        guard case .value(let w)? = facts["weights"] else {
            Issue.record("no weights fact")
            return
        }
        #expect(w["origin"] == "discovered")
        #expect(w["paths"] == ["/home/ana/notes.txt"])
        #expect(
            w["note"]?.stringValue?.hasPrefix("no registry of weight locations: found 1 weight file by content (at least 1048576 bytes)")
                == true)
        #expect(w["discovery"]?["hits"] == [["path": "/home/ana/notes.txt", "size": .int(oneMiBOfWeights.count), "format": "safetensors"]])
        #expect(w["discovery"]?["candidates"] == 2)
        #expect(w["discovery_error"] == nil)
        #expect(findings["ACC-001"].status == .pass, "\(findings["ACC-001"].summary)")
        #expect(findings["ACC-002"].status == .pass, "\(findings["ACC-002"].summary)")
    }

    @Test func discoveredWorldReadableWeightsFailACC001() throws {
        let tree = TempTree()
        tree.bytes("tmp/export/shard.gguf.part", WeightFiles.gguf() + [UInt8](repeating: 0, count: 1 << 20), mode: 0o644)
        let f = try audit(root: tree.path, probes: [WeightsTreeProbe()]).findings["ACC-001"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/tmp/export/shard.gguf.part" && $0.observed == "0644" })
    }

    @Test func siteThresholdAndScanRootsAreUsed() throws {
        let tree = TempTree()
        tree.bytes("models/a.npy", WeightFiles.numpy(), mode: 0o600)
        tree.bytes("home/b.npy", WeightFiles.numpy(), mode: 0o600)
        let site = "weights:\n  scan_roots: [/models]\n  min_size: 64\n"
        let (facts, _) = try audit(root: tree.path, site: site, probes: [WeightsTreeProbe()])
        guard case .value(let w)? = facts["weights"] else {
            Issue.record("no weights fact")
            return
        }
        #expect(w["paths"] == ["/models/a.npy"])
        #expect(w["discovery"]?["min_size"] == 64)
    }

    @Test func staysOnOneFilesystemPerRoot() throws {
        let tree = TempTree()
        tree.bytes("data/own.bin", WeightFiles.safetensors())
        let mountPoint = tree.directory("data/mnt")
        let mounted = run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "this test mounts a tmpfs (needs root): \(mounted.stderr)")
        defer { withExtendedLifetime(tree) { _ = run("/bin/umount", [mountPoint]) } }  // unmount before the tree is removed
        tree.bytes("data/mnt/other.bin", WeightFiles.safetensors())

        let one = try scan(tree, roots: ["/data"])
        #expect(one.hits.map(\.path) == ["/data/own.bin"])
        #expect(one.otherFilesystems.first == ["/data/mnt"])
        #expect(one.incompleteReason == nil)
        // Named as a root of its own, the mount is scanned.
        let both = try scan(tree, roots: ["/data", "/data/mnt"])
        #expect(Set(both.hits.map(\.path)) == ["/data/own.bin", "/data/mnt/other.bin"])
    }

    @Test func nestedAndDuplicateRootsAreScannedOnce() throws {
        let tree = TempTree()
        tree.bytes("srv/models/a.bin", WeightFiles.safetensors())
        tree.symlink("data", to: "/srv")
        let s = try scan(tree, roots: ["/srv", "/srv/models", "/data"])
        #expect(s.hitCount == 1)
        #expect(s.hits.map(\.path) == ["/srv/models/a.bin"])
        #expect(s.roots.map(\.status) == [.scanned, .scanned, .duplicate])
    }

    @Test func symlinksAreNeverFollowed() throws {
        let tree = TempTree()
        tree.bytes("srv/real/w.bin", WeightFiles.safetensors())
        tree.symlink("home/ana/to-dir", to: "/srv/real")
        tree.symlink("home/ana/to-file", to: "/srv/real/w.bin")
        tree.symlink("home/ana/relative", to: "../../srv/real/w.bin")
        let s = try scan(tree, roots: ["/home"])
        #expect(s.hitCount == 0)
        #expect(s.entries == 5)  // /home, /home/ana and the three links
        // A scan root that is itself a symlink is resolved inside the root, as configured.
        tree.symlink("models", to: "/srv/real")
        #expect(try scan(tree, roots: ["/models"]).hits.map(\.path) == ["/models/w.bin"])
    }

    @Test func fifosAndDevicesAreNeverOpened() throws {
        let tree = TempTree()
        tree.bytes("tmp/w.bin", WeightFiles.safetensors())
        #expect(mkfifo(tree.path + "/tmp/pipe", 0o644) == 0)
        #expect(mknod(tree.path + "/tmp/null", S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0)  // 1:3, like /dev/null
        let s = try scan(tree, roots: ["/tmp"], minSize: 0)
        #expect(s.candidates == 1)
        #expect(s.hits.map(\.path) == ["/tmp/w.bin"])
        #expect(s.unreadable.count == 0)
    }

    @Test func entryBudgetStopsTheScanAndSaysHowFarItGot() throws {
        let tree = TempTree()
        for i in 0..<30 { tree.file("srv/f\(i)", "x") }
        tree.directory("opt")
        let s = try scan(tree, roots: ["/srv", "/opt"], budget: WalkBudget(maxEntries: 10, maxSeconds: 600))
        #expect(s.entries == 10)
        #expect(s.stopped == "stopped at the 10-entry budget after 10 entries, in /srv")
        #expect(s.roots.map(\.status) == [.scanned, .notReached])
        #expect(s.incompleteReason?.contains("10-entry budget") == true)
    }

    @Test func timeBudgetStopsTheScan() throws {
        let tree = TempTree()
        tree.file("srv/f", "x")
        let s = try scan(tree, roots: ["/srv"], budget: WalkBudget(maxEntries: 1000, maxSeconds: 0))
        #expect(s.entries == 0)
        #expect(s.stopped == "stopped at the 0-second time budget after 0 entries, before /srv")
    }

    @Test func anExhaustedDiscoveryMakesTheWeightControlsErrors() throws {
        let tree = TempTree()
        tree.bytes("home/w.bin", oneMiBOfWeights, mode: 0o600)
        for i in 0..<20 { tree.file("home/z/f\(i)", "x") }
        let (_, findings) = try evaluateWeights(
            tree,
            weights: { root in
                WeightDiscovery.locations(root: root, site: nil, budget: WalkBudget(maxEntries: 5, maxSeconds: 600))
            })
        for id in ["ACC-001", "ACC-002"] {
            #expect(findings[id].status == .error)
            #expect(
                findings[id].summary.contains("weight locations: weight discovery did not finish: the scan stopped at the 5-entry budget"),
                "\(findings[id].summary)")
        }
    }

    @Test func tooDeepASubtreeIsRecordedAndTheScanGoesOn() throws {
        let tree = TempTree()
        tree.directory("srv/deep/" + Array(repeating: "d", count: 260).joined(separator: "/"))
        tree.bytes("srv/w.bin", WeightFiles.safetensors())
        let s = try scan(tree, roots: ["/srv"])
        #expect(s.hits.map(\.path) == ["/srv/w.bin"])
        #expect(s.unreadable.count == 1)
        #expect(s.unreadable.first.first?.message == "more than 256 directory levels deep: not walked")
        #expect(s.incompleteReason?.contains("1 unreadable path") == true)
    }

    /// Root reads everything, so this runs the CLI as `nobody` to meet paths it cannot open.
    @Test func unreadablePathsAreRecordedNotFatal() throws {
        let tree = TempTree()
        chmod(tree.path, 0o755)
        tree.bytes("srv/open/w.bin", WeightFiles.safetensors(), mode: 0o600)
        chown(tree.path + "/srv/open/w.bin", 65534, 65534)
        tree.bytes("srv/open/root-only.bin", WeightFiles.safetensors(), mode: 0o600)
        tree.bytes("srv/closed/x.bin", WeightFiles.safetensors(), mode: 0o600)
        chmod(tree.path + "/srv/closed", 0o700)
        let site = tree.file("site.yaml", "weights:\n  scan_roots: [/srv]\n  min_size: 64\n")
        let profile = tree.file(
            "weights-only.yaml",
            """
            id: weights-only
            title: ACC-001 and ACC-002 alone
            version: "1"
            controls:
              ACC-001: {parameters: {max_file_mode: "7750", max_dir_mode: "7750"}}
              ACC-002: {}

            """)
        let r = run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", Package.wardenBinary, "audit", "--root", tree.path,
                "--site", site, "--profile", profile, "--format", "json", "--no-sign",
            ])
        let doc = try JSON.parse(r.stdout)
        let weights = try #require(doc.value(at: ["facts", "facts", "weights", "value"]), "\(r.stderr)")
        #expect(weights["paths"] == ["/srv/open/w.bin"])
        let unreadable = weights["discovery"]?["unreadable"]
        #expect(unreadable?["count"] == 2)
        let first = Set(unreadable?["first"]?.arrayValue ?? [])
        #expect(
            first == [
                ["path": "/srv/closed", "error": "Permission denied"], ["path": "/srv/open/root-only.bin", "error": "Permission denied"],
            ])
        #expect(weights["discovery_error"]?.stringValue?.contains("weight discovery did not finish: 2 unreadable paths") == true)
        // Incomplete, not failed: the weight controls are errors and say why.
        #expect(r.status == 2, "\(r.stdout.prefix(2000))")
        let acc001 = doc["results"]?.arrayValue?.first { $0["control"] == "ACC-001" }
        #expect(acc001?["status"] == "error")
        #expect(acc001?["summary"]?.stringValue?.contains("2 unreadable paths") == true)
    }
}
