import HostFacts
import Testing
import WardenCore
import WardenTestSupport

@Suite struct StrayWeightsTests {
    let site = "weights:\n  paths: [/srv/weights]\n  scan_roots: [/tmp, /srv, /home]\n  min_size: 16\n"

    func exf005(_ tree: TempTree, site: String?, budget: WalkBudget = .scan) throws -> Finding {
        try audit(root: tree.path, site: site, probes: [StrayWeightsProbe(budget: budget)]).findings["EXF-005"]
    }

    @Test func safetensorsInTmpOutsideTheRegistryFails() throws {
        let tree = TempTree()
        tree.bytes("srv/weights/model.safetensors", WeightFiles.safetensors(floats: 64))
        // Named like notes, recognised by content.
        tree.bytes("tmp/notes.txt", WeightFiles.safetensors(floats: 64))
        // Named like weights, but text.
        tree.file("home/alice/model.safetensors", String(repeating: "not a model\n", count: 10))
        let f = try exf005(tree, site: site)
        #expect(f.status == .fail)
        #expect(f.evidence.filter { $0.ok == false }.map(\.source) == ["/tmp/notes.txt"])
        #expect(f.summary.contains("/tmp/notes.txt"))
    }

    @Test func onlyRegisteredCopiesPass() throws {
        let tree = TempTree()
        tree.bytes("srv/weights/a/model.safetensors", WeightFiles.safetensors(floats: 64))
        tree.bytes("srv/weights/b.gguf", WeightFiles.gguf())
        tree.file("tmp/readme.txt", "hello")
        #expect(try exf005(tree, site: site).status == .pass)
        let empty = TempTree()
        empty.directory("tmp")
        #expect(try exf005(empty, site: site).status == .pass)
    }

    @Test func withoutARegistryItIsAnErrorListingWhatItFound() throws {
        let tree = TempTree()
        tree.bytes("srv/models/llm.gguf", WeightFiles.gguf())
        let f = try exf005(tree, site: "weights:\n  scan_roots: [/srv]\n  min_size: 16\n")
        #expect(f.status == .error)
        #expect(f.summary.contains("found 1 weight file: /srv/models/llm.gguf (gguf"), "\(f.summary)")
    }

    @Test func exhaustedBudgetIsAnErrorSayingHowFarItGot() throws {
        let tree = TempTree()
        for i in 0..<30 { tree.file("tmp/f\(i)", "x") }
        let f = try exf005(tree, site: site, budget: WalkBudget(maxEntries: 10, maxSeconds: 60))
        #expect(f.status == .error)
        #expect(f.summary.contains("the scan is incomplete"), "\(f.summary)")
    }
}
