public import WardenCore
internal import WardenFormats

/// Where each weight path is stored (docs/DAEMON-SEMANTICS.md): its mount, the
/// block-device stack under it and the dm-crypt mappings found there, fscrypt, memory and network
/// filesystems with their in-transit protection.
public struct StorageProbe: Probe {
    public init() {}
    public let name = "storage"
    public let summary =
        "storage of every weight path: mount (longest mount point), device stack through /sys/dev/block and slaves/, dm-crypt, fscrypt, tmpfs, nfs/cifs transport encryption"
    public let reads = [
        "/proc/1/mountinfo (else /proc/self/mountinfo)", "/sys/dev/block/MAJ:MIN", "/sys/devices/…/dm/uuid, dm/name, slaves/",
    ]
    public var facts: [String: FactType] {
        [
            "storage": .object([
                "source": .string, "weights_origin": .string,
                "items": .list(StorageResolution.factType), "network_items": .list(StorageResolution.factType),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let weights = context.weights
        guard !weights.paths.isEmpty else {
            let detail = weights.error.map { " (\($0))" } ?? ""
            return ["storage": .unavailable(.error("no weight locations registered or found\(detail)"))]
        }
        let resolver: StorageResolver
        switch context.storage {
        case .success(let r): resolver = r
        case .failure(let f): return ["storage": .unavailable(f.unavailable(context))]
        }
        var items: [JSON] = []
        var network: [JSON] = []
        for path in weights.paths {
            switch resolver.resolve(path) {
            case .failure(let f):
                let item = f.item(context, label: path)
                items.append(item)
                // Unless its mount is known not to be a network filesystem, it may be one.
                let fstype = (try? context.root.resolve(path)).flatMap { resolver.mounts.mount(containing: $0) }?.fstype
                if fstype.map(StorageResolver.networkFilesystems.contains) ?? true { network.append(item) }
            case .success(let r):
                let item = r.json
                items.append(item)
                if r.storageClass == .network { network.append(item) }
            }
        }
        return [
            "storage": .value([
                "source": .string(resolver.mounts.source),
                "weights_origin": .string(weights.origin.rawValue),
                "items": .array(items),
                "network_items": .array(network),
            ])
        ]
    }
}
