public import WardenCore

/// Settles the weight locations before the probes run (docs/ARCHITECTURE.md): the site's
/// `weights.paths` when the site file has them, else the weight files found by content under the
/// scan roots (the site's `weights.scan_roots`, or `Site.defaultScanRoots`).
public enum WeightDiscovery {
    /// Discovered weight files beyond this many are counted, not audited (and say so).
    public static let maxLocations = 1000

    public static func locations(root: HostRoot, site: Site?, budget: WalkBudget = .scan) -> WeightLocations {
        if let paths = site?.weightsPaths {
            return WeightLocations(origin: .site, paths: paths, note: "weight locations from the site file's registry (weights.paths)")
        }
        let roots = site?.scanRoots ?? Site.defaultScanRoots
        let minSize = site?.minSize ?? Site().minSize
        let scan = WeightScanner(root: root, roots: roots, minSize: minSize, budget: budget, maxHits: WeightDiscovery.maxLocations).scan()
        let files = scan.hitCount == 1 ? "1 weight file" : "\(scan.hitCount) weight files"
        let note =
            "no registry of weight locations: found \(files) by content (at least \(minSize) bytes) under "
            + "\(roots.joined(separator: ", ")) (\(scan.entries) entries examined); the ACC, ENC and LOG controls treat them as the weight locations"
        var problems: [String] = []
        if let reason = scan.incompleteReason { problems.append("weight discovery did not finish: \(reason)") }
        if scan.hitCount > scan.hits.count {
            problems.append("found \(scan.hitCount) weight files; only the first \(scan.hits.count) are audited as weight locations")
        }
        return WeightLocations(
            origin: .discovered, paths: scan.hits.map(\.path), note: note,
            error: problems.isEmpty ? nil : problems.joined(separator: "; "), scan: scan)
    }
}
