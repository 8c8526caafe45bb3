public import WardenCore
internal import WardenFormats

/// Weight files outside the registry (EXF-005): a scan of the site's scan roots (one filesystem
/// per root, content not names, within a budget). Every hit outside the registered weight paths
/// is a stray copy. Without a registry a stray copy cannot be told from a registered one, so the
/// fact carries what was found and an `error` saying so (docs/ARCHITECTURE.md); when discovery already
/// scanned the same roots, its scan is reused rather than repeated.
public struct StrayWeightsProbe: Probe {
    let budget: WalkBudget

    public init(budget: WalkBudget = .scan) {
        self.budget = budget
    }

    public let name = "stray-weights"
    public let summary = "weight files (by content) under the scan roots, compared with the registered weight paths"
    public var reads: [String] { Site.defaultScanRoots.map { "\($0)/** (site weights.scan_roots)" } }
    public var facts: [String: FactType] {
        [
            "stray_weights": .object([
                "source": .string, "scan": WeightScan.factType, "scan_complete": .sourced(.bool), "registry": .sourced(.bool),
                "hits": .list(.object(["path": .string, "format": .string, "size": .int, "registered": .bool, "source": .string])),
            ])
        ]
    }

    /// Hits beyond this many are counted but not listed one by one.
    static let maxHits = 1000

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let roots = context.site?.scanRoots ?? Site.defaultScanRoots
        let scan: WeightScan
        if let discovered = context.weights.scan, context.weights.origin == .discovered {
            scan = discovered
        } else {
            let minSize = context.site?.minSize ?? Site().minSize
            scan = WeightScanner(root: context.root, roots: roots, minSize: minSize, budget: budget, maxHits: StrayWeightsProbe.maxHits)
                .scan()
        }
        let source = roots.joined(separator: ", ")
        var fact: JSONObject = ["source": .string(source), "scan": scan.json]
        let found = scan.hits.map { "\($0.path) (\($0.format.rawValue), \($0.size) bytes)" }
        let foundText = found.prefix(5).joined(separator: ", ") + (scan.hitCount > 5 ? ", … (\(scan.hitCount) in all)" : "")

        // The scan must have finished to prove there is no stray copy.
        if let reason = scan.incompleteReason {
            fact["scan_complete"] = [
                "error": .string("the scan is incomplete (\(scan.entries) entries examined): \(reason)"), "source": .string(source),
            ]
        } else {
            fact["scan_complete"] = [
                "value": true, "source": .string("\(source) (\(scan.entries) entries, \(scan.candidates) candidates read)"),
            ]
        }
        guard context.weights.origin == .site else {
            fact["registry"] = [
                "error": .string(
                    "none in the site file (weights.paths): found \(scan.hitCount) weight file\(scan.hitCount == 1 ? "" : "s")\(found.isEmpty ? "" : ": " + foundText); without a registry a stray copy cannot be told from a registered one"
                ),
                "source": "site file",
            ]
            fact["hits"] = []
            return ["stray_weights": .value(.object(fact))]
        }
        fact["registry"] = ["value": true, "source": "site file (weights.paths)"]
        let registered = context.weights.paths
        var hits: [JSON] = scan.hits.map { hit in
            let inside = registered.contains { hit.path == $0 || hit.path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }
            return [
                "path": .string(hit.path), "format": .string(hit.format.rawValue), "size": .int(hit.size),
                "registered": .bool(inside), "source": .string(hit.path),
            ]
        }
        if scan.hitCount > scan.hits.count {
            hits.append([
                "path": .string("(\(scan.hitCount - scan.hits.count) more hits)"),
                "error": .string("\(scan.hitCount) weight files found; only the first \(scan.hits.count) were compared with the registry"),
            ])
        }
        fact["hits"] = .array(hits)
        return ["stray_weights": .value(.object(fact))]
    }
}
