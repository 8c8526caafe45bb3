public import WardenCore
internal import WardenFormats

/// What else the host runs besides the weights' own services (HRD-012, RAND SL3 "dedicated
/// devices … do not share a machine with less-secure applications"): every unit the
/// configuration enables, as systemd 252 reads its enablement links, and the containers that
/// docker, podman and containerd keep in their state directories, read from files only
/// (docs/DAEMON-SEMANTICS.md, "Enabled units and container workloads"). Which of them are
/// expected is the control's business: the Debian 12 baseline, the site's lists.
public struct DedicatedDeviceProbe: Probe {
    public init() {}
    public let name = "dedicated"
    public let summary = "units enabled by links in /etc/systemd and /run/systemd; docker, podman and containerd containers"
    public let reads = [
        "/etc/systemd/system/*.wants/*", "/etc/systemd/system/*.requires/*", "/etc/systemd/system/*.upholds/*",
        "/run/systemd/system/*.wants/*", "/etc/systemd/user/*.wants/*", DedicatedDeviceProbe.dockerDaemonJSON,
        "/var/lib/docker/containers/*/config.v2.json", DedicatedDeviceProbe.storageConf,
        "/var/lib/containers/storage/*-containers/containers.json",
        "/home/*/.local/share/containers/storage/*-containers/containers.json", DedicatedDeviceProbe.containerdTasks + "/*/*",
        DedicatedDeviceProbe.containerdMeta,
    ]
    public var facts: [String: FactType] {
        [
            "dedicated": .object([
                "enabled_units": .list(
                    .object(["unit": .string, "wanted_by": .string, "state": .string, "scope": .string, "source": .string])),
                "containers": .list(.object(["runtime": .string, "id": .string, "name": .string, "state": .string, "source": .string])),
            ])
        ]
    }

    static let dockerDaemonJSON = "/etc/docker/daemon.json"
    static let dockerDefaultRoot = "/var/lib/docker"
    static let storageConf = "/etc/containers/storage.conf"
    static let podmanDefaultRoot = "/var/lib/containers/storage"
    static let containerdTasks = "/run/containerd/io.containerd.runtime.v2.task"
    static let containerdMeta = "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db"
    /// A container's configuration or podman's list is small; a larger one is not what it claims.
    static let stateLimit = 4 << 20

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        var fact: JSONObject = [:]
        do {
            fact["enabled_units"] = .array(
                try context.units.enablements().map {
                    [
                        "unit": .string($0.unit), "wanted_by": .string($0.wantedBy), "state": .string($0.state),
                        "scope": .string($0.scope), "source": .string($0.link),
                    ]
                })
        } catch {
            fact["enabled_units"] = ["error": .string(error.description)]
        }
        do {
            fact["containers"] = .array(try DedicatedDeviceProbe.containers(context))
        } catch let e as ContainerStateError {
            fact["containers"] = e.json
        } catch {
            fact["containers"] = ["error": .string("\(error)")]
        }
        return ["dedicated": .value(.object(fact))]
    }

    /// Why the containers cannot be listed: `error` for state that is there and unreadable,
    /// `not_checked` for state Warden does not read.
    struct ContainerStateError: Error {
        let json: JSON
        static func error(_ reason: String) -> ContainerStateError { ContainerStateError(json: ["error": .string(reason)]) }
    }

    static func containers(_ context: ProbeContext) throws -> [JSON] {
        try docker(context.root) + podman(context.root) + containerd(context)
    }

    static func item(_ runtime: String, id: String, name: String, state: String, source: String) -> JSON {
        [
            "runtime": .string(runtime), "id": .string(id), "name": .string(name.isEmpty ? id : name), "state": .string(state),
            "source": .string(source),
        ]
    }

    /// dockerd's containers: one directory per container under `<data-root>/containers`, each
    /// with the `config.v2.json` dockerd restores it from at start (stopped ones included: a
    /// restart policy brings them back). The data root is daemon.json's `data-root` (moby 20.10,
    /// Debian 12's docker.io), else /var/lib/docker.
    static func docker(_ root: HostRoot) throws -> [JSON] {
        var dataRoot = dockerDefaultRoot
        if root.exists(dockerDaemonJSON) {
            let config: JSON
            do { config = try JSON.parse(try root.read(dockerDaemonJSON, limit: stateLimit)) } catch {
                throw ContainerStateError.error("\(dockerDaemonJSON): \(error)")
            }
            if let value = config["data-root"] {
                guard let path = value.stringValue, path.hasPrefix("/") else {
                    throw ContainerStateError.error("\(dockerDaemonJSON): data-root: expected an absolute path")
                }
                dataRoot = path
            }
        }
        let dir = dataRoot + "/containers"
        let ids: [String]
        do { ids = try root.list(dir) } catch {
            if error.isNotFound { return [] }
            throw ContainerStateError.error(error.description)
        }
        return ids.sorted().filter { !$0.hasPrefix(".") }.map { id in
            let config = dir + "/" + id + "/config.v2.json"
            do {
                let v = try JSON.parse(try root.read(config, limit: stateLimit))
                let name = v["Name"]?.stringValue.map { String($0.drop(while: { $0 == "/" })) } ?? ""
                let running = v["State"]?["Running"]?.boolValue == true
                return item("docker", id: id, name: name, state: running ? "running" : "stopped", source: config)
            } catch {
                // The directory is there, so a container is; what it is named is not known.
                return item("docker", id: id, name: "", state: "unreadable: \(error)", source: config)
            }
        }
    }

    /// podman's containers (containers/storage, Debian 12's podman 4.3): the list in
    /// `<graphroot>/<driver>-containers/containers.json`, for the system store (graphroot from
    /// storage.conf's `[storage]` table, else /var/lib/containers/storage) and for each user's
    /// rootless store under /home and /root (~/.local/share/containers/storage).
    static func podman(_ root: HostRoot) throws -> [JSON] {
        var stores = [try graphroot(root)]
        var homes = ["/root"]
        do { homes += try root.list("/home").sorted().map { "/home/" + $0 } } catch {
            if !error.isNotFound { throw ContainerStateError.error(error.description) }
        }
        stores += homes.map { $0 + "/.local/share/containers/storage" }
        var out: [JSON] = []
        for store in stores {
            let drivers: [String]
            do { drivers = try root.list(store) } catch {
                if error.isNotFound { continue }
                throw ContainerStateError.error(error.description)
            }
            for driver in drivers.sorted() where driver.hasSuffix("-containers") {
                let list = store + "/" + driver + "/containers.json"
                guard root.exists(list) else { continue }
                let v: JSON
                do { v = try JSON.parse(try root.read(list, limit: stateLimit)) } catch {
                    throw ContainerStateError.error("\(list): \(error)")
                }
                guard let entries = v.arrayValue else { throw ContainerStateError.error("\(list): expected a list of containers") }
                for entry in entries {
                    let id = entry["id"]?.stringValue ?? ""
                    let name = entry["names"]?.arrayValue?.first?.stringValue ?? ""
                    out.append(item("podman", id: id, name: name, state: "stored", source: list))
                }
            }
        }
        return out
    }

    /// storage.conf's `graphroot`: a TOML string in the `[storage]` table.
    static func graphroot(_ root: HostRoot) throws -> String {
        guard root.exists(storageConf) else { return podmanDefaultRoot }
        let text: String
        do { text = try root.readText(storageConf, limit: 1 << 20) } catch { throw ContainerStateError.error(error.description) }
        var table: Substring = ""
        var found = podmanDefaultRoot
        for (number, line) in configLines(text) {
            if line.first == "[" {
                table = line.trimmed
                continue
            }
            guard table == "[storage]", let eq = line.firstIndex(of: "="), line[..<eq].trimmed == "graphroot" else { continue }
            let value = line[line.index(after: eq)...].trimmed
            guard value.count >= 2, value.first == "\"" || value.first == "'", value.last == value.first, !value.contains("\\") else {
                throw ContainerStateError.error("\(storageConf):\(number): graphroot: expected a quoted path without escapes")
            }
            found = String(value.dropFirst().dropLast())
        }
        return found
    }

    /// containerd's containers live in its bolt database, which Warden does not read; its running
    /// tasks each have a directory under /run/containerd (the v2 shim's bundle). Live, the tasks
    /// are the workloads; the `moby` namespace is dockerd's own and reported from its state.
    /// Offline, /run is gone: with a containerd database present what it holds is not known.
    static func containerd(_ context: ProbeContext) throws -> [JSON] {
        let root = context.root
        if context.mode == .offline && !root.exists(containerdTasks) {
            guard root.exists(containerdMeta) else { return [] }
            throw ContainerStateError(
                json: [
                    "not_checked": .string(
                        "containerd keeps its containers in \(containerdMeta), a bolt database Warden does not read, and an offline root has no running tasks under \(containerdTasks)"
                    )
                ])
        }
        let namespaces: [String]
        do { namespaces = try root.list(containerdTasks) } catch {
            if error.isNotFound { return [] }
            throw ContainerStateError.error(error.description)
        }
        var out: [JSON] = []
        for namespace in namespaces.sorted() where namespace != "moby" && !namespace.hasPrefix(".") {
            let dir = containerdTasks + "/" + namespace
            let ids: [String]
            do { ids = try root.list(dir) } catch { throw ContainerStateError.error(error.description) }
            for id in ids.sorted() where !id.hasPrefix(".") {
                out.append(item("containerd", id: id, name: namespace + "/" + id, state: "running", source: dir + "/" + id))
            }
        }
        return out
    }
}
