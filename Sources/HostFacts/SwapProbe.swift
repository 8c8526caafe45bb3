public import WardenCore
internal import WardenFormats

/// Swap, and whether what is swapped out can reach a disk in the clear: live from `/proc/swaps`
/// (each device walked through sysfs to its dm-crypt mappings; swap files through their mount),
/// offline from the swap entries of `/etc/fstab` and `swap` units, matched against
/// `/etc/crypttab`. zram is memory. A random key (`/dev/urandom` as the crypttab key) makes the
/// swap unreadable after power-off.
public struct SwapProbe: Probe {
    public init() {}
    public let name = "swap"
    public let summary =
        "active swap (/proc/swaps) or configured swap (/etc/fstab, swap units) offline: zram, dm-crypt (LUKS/plain), random keys from /etc/crypttab"
    public let reads = [
        "/proc/swaps", "/sys/class/block/NAME/…", "/sys/dev/block/MAJ:MIN/…", "/proc/1/mountinfo (else /proc/self/mountinfo)",
        "/etc/fstab", "/etc/systemd/system/*.swap", "/etc/crypttab",
    ]
    public var facts: [String: FactType] {
        [
            "swap": .object([
                "source": .string, "runtime": .bool, "all_memory_or_encrypted": .sourced(.bool),
                "entries": .list(
                    .object([
                        "path": .string, "type": .string, "source": .string, "zram": .bool, "disk_backed": .bool,
                        "encrypted": .sourced(.bool), "random_key": .sourced(.bool), "encryption": .string, "devices": .strings,
                    ])),
            ])
        ]
    }

    static let procSwaps = "/proc/swaps"
    static let fstab = "/etc/fstab"

    /// A swap area as listed or configured.
    struct Area {
        var path: String
        var type: String
        var location: String
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let crypttab: Crypttab
        do { crypttab = try Crypttab.read(root) } catch {
            return ["swap": .unavailable(.error("cannot read \(Crypttab.path): \(error)"))]
        }
        if root.exists(SwapProbe.procSwaps) {
            let text: String
            do { text = try root.readText(SwapProbe.procSwaps) } catch { return ["swap": .failedRead(error, context)] }
            let areas = SwapProbe.parseProcSwaps(text)
            let entries = areas.map { runtimeItem($0, crypttab: crypttab, context: context) }
            return ["swap": .value(SwapProbe.fact(entries, source: SwapProbe.procSwaps, runtime: true))]
        }
        if context.mode == .live {
            return ["swap": .unavailable(.error("\(SwapProbe.procSwaps) does not exist"))]
        }
        let fstabText: String
        do { fstabText = try root.readText(SwapProbe.fstab) } catch {
            if error.isNotFound {
                return ["swap": .unavailable(context.absent("neither \(SwapProbe.procSwaps) nor \(SwapProbe.fstab) exists"))]
            }
            return ["swap": .failedRead(error, context)]
        }
        let fstab = SwapProbe.parseFstab(fstabText)
        var areas = fstab.filter { $0.type == "swap" }.map { Area(path: $0.spec, type: "configured", location: $0.location) }
        areas += swapUnits(root)
        let entries = areas.map { configuredItem($0, fstab: fstab, crypttab: crypttab, context: context) }
        return ["swap": .value(SwapProbe.fact(entries, source: SwapProbe.fstab, runtime: false))]
    }

    static func fact(_ entries: [JSON], source: String, runtime: Bool) -> JSON {
        var o: JSONObject = ["source": .string(source), "runtime": .bool(runtime), "entries": .array(entries)]
        // One entry known to be on disk unencrypted decides it; otherwise an entry that could not
        // be resolved leaves it undecided, and says why (a check reading it is then error or
        // not_checked as that entry is, never a pass).
        let undecided = entries.filter { $0["error"] != nil || $0["not_checked"] != nil }
        let decided = entries.filter { $0["error"] == nil && $0["not_checked"] == nil }
        let safe = decided.allSatisfy { $0["zram"] == true || $0["encrypted"]?["value"] == true }
        if !undecided.isEmpty, safe {
            let kind = undecided.contains { $0["error"] != nil } ? "error" : "not_checked"
            let why = undecided.map { "\($0["path"]?.stringValue ?? "?"): \(($0["error"] ?? $0["not_checked"])?.stringValue ?? "")" }
            o["all_memory_or_encrypted"] = [kind: .string(why.joined(separator: "; ")), "source": .string(source)]
        } else {
            o["all_memory_or_encrypted"] = ["value": .bool(safe), "source": .string(source)]
        }
        return .object(o)
    }

    // MARK: Live

    /// `/proc/swaps`: a header line, then `Filename Type Size Used Priority` (names octal-escaped).
    static func parseProcSwaps(_ text: String) -> [Area] {
        var areas: [Area] = []
        for (i, line) in lines(text).enumerated() where i > 0 {
            let w = line.words
            guard w.count >= 2 else { continue }
            areas.append(Area(path: decodeOctalEscapes(w[0]), type: String(w[1]), location: "\(procSwaps):\(i + 1)"))
        }
        return areas
    }

    func runtimeItem(_ area: Area, crypttab: Crypttab, context: ProbeContext) -> JSON {
        let base: JSONObject = ["path": .string(area.path), "type": .string(area.type), "source": .string(area.location)]
        if SwapProbe.isZram(area.path) { return SwapProbe.zramItem(base, area) }
        let root = context.root
        if area.type == "file" {
            let resolution = context.storage.flatMap { $0.resolve(area.path) }
            switch resolution {
            case .failure(let f): return f.item(context, label: area.path, extra: base)
            case .success(let r):
                return SwapProbe.item(
                    base, area, diskBacked: true, encrypted: r.encrypted, encryption: "swap file: \(r.encryption)",
                    randomKey: nil, devices: r.devices)
            }
        }
        let stack: DeviceStack
        do { stack = try DeviceStack.walk(root: root, link: try SwapProbe.sysLink(area.path, root: root)) } catch {
            return error.item(context, label: area.path, extra: base)
        }
        if stack.devices.last.map(SwapProbe.isZram) == true {
            return SwapProbe.zramItem(base, area)
        }
        var random: (Bool, String)?
        if let top = stack.cryptMappings.first, let entry = crypttab.entry(named: top.name) {
            random = (entry.randomKey, entry.location)
        }
        let encryption =
            stack.encrypted
            ? "dm-crypt \(stack.kinds.joined(separator: "+")) (\(stack.devices.joined(separator: " → ")))"
            : "not encrypted (\(stack.devices.joined(separator: " → ")))"
        return SwapProbe.item(
            base, area, diskBacked: true, encrypted: stack.encrypted, encryption: encryption,
            randomKey: stack.encrypted ? random : nil, devices: stack.devices)
    }

    /// The sysfs directory of a swap device: `/sys/class/block/NAME` for the node's name (after
    /// following `/dev/mapper/…` links), else `/sys/dev/block/MAJ:MIN` of the node itself.
    static func sysLink(_ device: String, root: HostRoot) throws(StorageFailure) -> String {
        // /dev may be absent (an offline root): then the path names the device as it is.
        let resolved: String
        do { resolved = try root.resolve(device) } catch {
            guard error.isNotFound else { throw .failed(error.description) }
            resolved = device
        }
        let name = String(resolved.split(separator: "/").last ?? "")
        let byName = "/sys/class/block/\(name)"
        if root.exists(byName) { return byName }
        if let info = try? root.info(resolved), info.kind == .block { return "/sys/dev/block/\(info.rdevMajor):\(info.rdevMinor)" }
        throw .missing("\(byName) does not exist")
    }

    static func isZram(_ path: String) -> Bool {
        path.hasPrefix("/dev/zram") || path.hasPrefix("zram")
    }

    static func zramItem(_ base: JSONObject, _ area: Area) -> JSON {
        var o = base
        o["zram"] = true
        o["disk_backed"] = false
        o["encrypted"] = ["value": false, "source": .string(area.location)]
        o["random_key"] = ["value": false, "source": .string(area.location)]
        o["encryption"] = "zram: compressed memory, never written to disk"
        return .object(o)
    }

    /// `randomKey`: nil when the swap is not encrypted or no crypttab line names its mapping;
    /// else whether that line's key is a random source, with the line.
    static func item(
        _ base: JSONObject, _ area: Area, diskBacked: Bool, encrypted: Bool, encryption: String,
        randomKey: (Bool, String)?, devices: [String]
    ) -> JSON {
        var o = base
        o["zram"] = false
        o["disk_backed"] = .bool(diskBacked)
        o["encrypted"] = ["value": .bool(encrypted), "source": .string(area.location)]
        o["random_key"] = [
            "value": .bool(randomKey?.0 ?? false), "source": .string(randomKey?.1 ?? "no /etc/crypttab line for this mapping"),
        ]
        o["encryption"] = .string(encryption)
        o["devices"] = .array(devices.map { .string($0) })
        return .object(o)
    }

    // MARK: Offline

    struct FstabEntry {
        var spec: String
        var file: String
        var type: String
        var options: [String]
        var location: String
    }

    /// `/etc/fstab`: `spec file vfstype options [freq [passno]]`, fields octal-escaped.
    static func parseFstab(_ text: String) -> [FstabEntry] {
        configLines(text).compactMap { number, line in
            let w = line.words
            guard w.count >= 3 else { return nil }
            return FstabEntry(
                spec: decodeOctalEscapes(w[0]), file: decodeOctalEscapes(w[1]), type: String(w[2]),
                options: w.count > 3 ? w[3].split(separator: ",").map(String.init) : [],
                location: "\(fstab):\(number)")
        }
    }

    /// `What=` of the `[Swap]` section of swap units in /etc/systemd/system.
    func swapUnits(_ root: HostRoot) -> [Area] {
        guard let units = try? root.glob("/etc/systemd/system/*.swap") else { return [] }
        var areas: [Area] = []
        for unit in units {
            guard let text = try? root.readText(unit, limit: 1 << 20) else { continue }
            var section = ""
            for (number, line) in configLines(text, comments: ["#", ";"]) {
                if line.hasPrefix("[") {
                    section = String(line)
                    continue
                }
                guard section == "[Swap]", line.hasPrefix("What=") else { continue }
                areas.append(Area(path: String(line.dropFirst(5).trimmed), type: "configured", location: "\(unit):\(number)"))
            }
        }
        return areas
    }

    /// The dm mapping a `/dev/mapper/NAME` or `/dev/disk/by-id/dm-name-NAME` path names.
    static func mapperName(_ spec: String) -> String? {
        for prefix in ["/dev/mapper/", "/dev/disk/by-id/dm-name-"] where spec.hasPrefix(prefix) {
            return String(spec.dropFirst(prefix.count))
        }
        return nil
    }

    /// A raw disk partition node: no device-mapper layer can sit in between.
    static func isRawPartition(_ spec: String) -> Bool {
        spec.wholeMatch(of: /\/dev\/((sd|vd|xvd|hd)[a-z]+[0-9]+|nvme[0-9]+n[0-9]+p[0-9]+|mmcblk[0-9]+p[0-9]+)/) != nil
    }

    /// Offline, a configured swap area is judged by name: zram; a crypttab mapping; a raw
    /// partition; a file on a filesystem that is itself one of these. Anything else (UUID=,
    /// LABEL=, an LVM volume) needs the running system to resolve, and is `not_checked`.
    func configuredItem(_ area: Area, fstab: [FstabEntry], crypttab: Crypttab, context: ProbeContext) -> JSON {
        let base: JSONObject = ["path": .string(area.path), "type": .string(area.type), "source": .string(area.location)]
        if SwapProbe.isZram(area.path) { return SwapProbe.zramItem(base, area) }
        var spec = area.path
        var prefix = ""
        if !spec.hasPrefix("/dev/") && !spec.contains("=") {
            // A swap file: judge the filesystem it is on, by its fstab line.
            let holder = fstab.filter { $0.type != "swap" && MountTable.isWithin(spec, $0.file) }.max { $0.file.count < $1.file.count }
            guard let holder else {
                return StorageFailure.missing("no /etc/fstab line mounts the filesystem holding the swap file \(spec)").item(
                    context, label: area.path, extra: base)
            }
            spec = holder.spec
            prefix = "swap file on \(holder.file) (\(holder.location)): "
        }
        if let name = SwapProbe.mapperName(spec) {
            guard let entry = crypttab.entry(named: name) else {
                return StorageFailure.missing(
                    "\(spec) is not a mapping named in /etc/crypttab; whether it lies on an encrypted device (LVM on LUKS) needs /sys"
                )
                .item(context, label: area.path, extra: base)
            }
            let plain = entry.randomKey || entry.options.contains("plain") || entry.options.contains("swap")
            return SwapProbe.item(
                base, area, diskBacked: true, encrypted: true,
                encryption: prefix + "dm-crypt \(plain ? "plain" : "LUKS") mapping \(name) (\(entry.location))",
                randomKey: prefix.isEmpty ? (entry.randomKey, entry.location) : nil, devices: [])
        }
        if SwapProbe.isRawPartition(spec) {
            return SwapProbe.item(
                base, area, diskBacked: true, encrypted: false,
                encryption: prefix + "raw partition \(spec): no dm-crypt layer", randomKey: nil, devices: [])
        }
        return StorageFailure.missing("which device \(spec) names needs the running system (/proc/swaps, /sys)").item(
            context, label: area.path, extra: base)
    }
}
