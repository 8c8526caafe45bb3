public import WardenCore

/// Settles the weight locations before the probes run (DESIGN.md §1): the site's
/// `weights.paths` when the site file has them, else discovery by content under the scan roots.
public enum WeightDiscovery {
    public static func locations(root: HostRoot, site: Site?) -> WeightLocations {
        if let paths = site?.weightsPaths {
            return WeightLocations(origin: .site, paths: paths, note: "weight locations from the site file's registry (weights.paths)")
        }
        return WeightLocations(origin: .discovered, paths: [], note: "no registry of weight locations",
                               error: "weight discovery is not available yet")
    }
}
