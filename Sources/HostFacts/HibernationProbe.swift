public import WardenCore

/// Whether the host can write its memory to disk: systemd-sleep's configuration read as
/// systemd 252 reads it (CONTROLS.md §1, "systemd drop-ins"), the sleep targets masked, and
/// `resume=` on the kernel command line.
///
/// Three operations write memory to disk: hibernate, hybrid-sleep and suspend-then-hibernate.
/// Each is possible unless sleep.conf disallows it or its target (or `sleep.target`) is masked.
/// systemd's defaults: `AllowHibernation=yes`; `AllowHybridSleep=` and
/// `AllowSuspendThenHibernate=`, when unset, follow `AllowSuspend` and `AllowHibernation` both.
public struct HibernationProbe: Probe {
    public init() {}
    public let name = "hibernation"
    public let summary = "systemd sleep.conf with drop-ins ([Sleep] only, masking, last assignment wins, invalid values ignored), masked sleep targets, resume= on the kernel command line"
    public let reads = ["/etc/systemd/sleep.conf", "{/etc,/run,/usr/local/lib,/usr/lib}/systemd/sleep.conf.d/*.conf",
                        "/etc/systemd/system/*.target", "/run/systemd/system/*.target", "/proc/cmdline",
                        "/etc/default/grub", "/etc/kernel/cmdline", "/etc/initramfs-tools/conf.d/resume"]
    public let produces = ["hibernation"]

    static let mainFile = "/etc/systemd/sleep.conf"
    static let dropInDirectories = ["/etc/systemd/sleep.conf.d", "/run/systemd/sleep.conf.d",
                                    "/usr/local/lib/systemd/sleep.conf.d", "/usr/lib/systemd/sleep.conf.d"]
    static let keys = ["AllowSuspend", "AllowHibernation", "AllowHybridSleep", "AllowSuspendThenHibernate"]
    /// Where masking symlinks live, in the order systemd looks.
    static let unitDirectories = ["/etc/systemd/system", "/run/systemd/system"]

    struct Setting {
        var value: Bool
        var source: String
        var json: JSON { ["value": .bool(value), "source": .string(source)] }
    }

    struct Config {
        var settings: [String: Setting] = [:]
        var files: [JSON] = []
        var ignored: [String] = []
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var config = Config()
        do {
            for file in try HibernationProbe.configFiles(root) {
                try parse(file, root: root, into: &config)
            }
        } catch {
            return ["hibernation": .unavailable(.error("cannot read the sleep configuration: \(error)"))]
        }
        let s = config.settings
        let suspend = s["AllowSuspend"] ?? Setting(value: true, source: "default (systemd)")
        let hibernate = s["AllowHibernation"] ?? Setting(value: true, source: "default (systemd)")
        let derived = Setting(value: suspend.value && hibernate.value,
                              source: "default (systemd: AllowSuspend and AllowHibernation: \(suspend.source), \(hibernate.source))")
        let sleepMask = masked("sleep.target", root: root)
        let operations: [(String, Setting, String)] = [
            ("hibernate", hibernate, "hibernate.target"),
            ("hybrid-sleep", s["AllowHybridSleep"] ?? derived, "hybrid-sleep.target"),
            ("suspend-then-hibernate", s["AllowSuspendThenHibernate"] ?? derived, "suspend-then-hibernate.target"),
        ]
        var items: [JSON] = []
        var anyPossible = false
        for (name, allowed, target) in operations {
            let mask = masked(target, root: root) ?? sleepMask
            let possible: Setting = if let mask { Setting(value: false, source: mask) } else if !allowed.value { Setting(value: false, source: allowed.source) } else { Setting(value: true, source: allowed.source) }
            anyPossible = anyPossible || possible.value
            items.append(["name": .string(name), "allowed": allowed.json, "target": .string(target),
                          "target_masked": .bool(mask != nil), "possible": possible.json])
        }
        let fact: JSON = [
            "source": .string(HibernationProbe.mainFile),
            "files": .array(config.files),
            "settings": .object(s.mapValues(\.json)),
            "ignored": .array(config.ignored.map { .string($0) }),
            "operations": .array(items),
            "sleep_target_masked": .bool(sleepMask != nil),
            "possible": .bool(anyPossible),
            "resume": .array(resumeItems(context)),
        ]
        return ["hibernation": .value(fact)]
    }

    /// The main file (when it exists), then the drop-ins sorted by file name across directories,
    /// a name in an earlier directory masking the same name in later ones.
    static func configFiles(_ root: HostRoot) throws(HostError) -> [String] {
        var files: [String] = root.exists(mainFile) ? [mainFile] : []
        var chosen: [String: String] = [:]
        for dir in dropInDirectories {
            let names: [String]
            do { names = try root.list(dir) } catch {
                if error.isNotFound { continue }
                throw error
            }
            for name in names where name.hasSuffix(".conf") && chosen[name] == nil {
                chosen[name] = joinPath(dir, name)
            }
        }
        files += chosen.keys.sorted().compactMap { chosen[$0] }
        return files
    }

    /// Reads one file's `[Sleep]` section. A drop-in linked to /dev/null (or empty) masks the
    /// same name in later directories and sets nothing.
    func parse(_ file: String, root: HostRoot, into config: inout Config) throws(HostError) {
        if (try? root.readLink(file)) == "/dev/null" {
            config.files.append(["path": .string(file), "masked": true])
            return
        }
        let text = try root.readText(file, limit: 1 << 20)
        config.files.append(["path": .string(file), "masked": false])
        var section: Substring?
        for (number, line) in HibernationProbe.logicalLines(text) {
            let here = "\(file):\(number)"
            if line.hasPrefix("[") {
                section = line.hasSuffix("]") ? line.dropFirst().dropLast() : nil
                continue
            }
            guard section == "Sleep" else { continue }
            guard let eq = line.firstIndex(of: "=") else {
                config.ignored.append("\(here): '\(line)' is not an assignment; systemd ignores it")
                continue
            }
            let key = String(line[..<eq].trimmed)
            let value = String(line[line.index(after: eq)...].trimmed)
            guard HibernationProbe.keys.contains(key) else { continue }
            if value.isEmpty {
                // An empty assignment resets the setting to its default.
                config.settings[key] = nil
                continue
            }
            guard let b = HibernationProbe.parseBoolean(value) else {
                config.ignored.append("\(here): \(key)=\(value) is not a boolean (values are not unquoted); systemd ignores it")
                continue
            }
            config.settings[key] = Setting(value: b, source: here)
        }
    }

    /// Lines without comments (`#`, `;`) and blanks, with backslash continuations joined, each
    /// with the number of its first physical line.
    static func logicalLines(_ text: String) -> [(Int, Substring)] {
        var out: [(Int, Substring)] = []
        var pending: (Int, String)?
        for (i, raw) in lines(text).enumerated() {
            let line = raw.trimmed
            if pending == nil && (line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";")) { continue }
            if line.hasSuffix("\\") {
                let part = String(line.dropLast())
                pending = pending.map { ($0.0, $0.1 + " " + part) } ?? (i + 1, part)
                continue
            }
            if let p = pending {
                out.append((p.0, Substring(p.1 + " " + line)))
                pending = nil
            } else {
                out.append((i + 1, line))
            }
        }
        if let p = pending { out.append((p.0, Substring(p.1))) }
        return out
    }

    /// systemd's parse_boolean: 1/yes/y/true/t/on and 0/no/n/false/f/off, any case.
    static func parseBoolean(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "1", "yes", "y", "true", "t", "on": true
        case "0", "no", "n", "false", "f", "off": false
        default: nil
        }
    }

    /// Where a unit is masked (a link to /dev/null in /etc or /run), or nil.
    func masked(_ unit: String, root: HostRoot) -> String? {
        for dir in HibernationProbe.unitDirectories {
            let path = joinPath(dir, unit)
            if let target = try? root.readLink(path), target == "/dev/null" { return "\(path) → /dev/null" }
        }
        return nil
    }

    /// `resume=` on the kernel command line: `/proc/cmdline` when present; offline without it,
    /// the persistent sources (GRUB's defaults, /etc/kernel/cmdline, initramfs-tools' RESUME).
    func resumeItems(_ context: ProbeContext) -> [JSON] {
        let root = context.root
        if let text = try? root.readText("/proc/cmdline", limit: 65536) {
            return [HibernationProbe.resumeItem(source: "/proc/cmdline", arguments: text.words.map(String.init))]
        }
        if context.mode == .live { return [["source": "/proc/cmdline", "error": "/proc/cmdline cannot be read"]] }
        var items: [JSON] = []
        if let grub = try? root.readText("/etc/default/grub", limit: 1 << 20) {
            var arguments: [String] = []
            for (_, line) in configLines(grub) {
                for key in ["GRUB_CMDLINE_LINUX=", "GRUB_CMDLINE_LINUX_DEFAULT="] where line.hasPrefix(key) {
                    var value = line.dropFirst(key.count)
                    if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = value.dropFirst().dropLast() }
                    arguments += value.words.map(String.init)
                }
            }
            items.append(HibernationProbe.resumeItem(source: "/etc/default/grub", arguments: arguments))
        }
        if let text = try? root.readText("/etc/kernel/cmdline", limit: 65536) {
            items.append(HibernationProbe.resumeItem(source: "/etc/kernel/cmdline", arguments: text.words.map(String.init)))
        }
        if let text = try? root.readText("/etc/initramfs-tools/conf.d/resume", limit: 65536) {
            let value = configLines(text).compactMap { _, line in line.hasPrefix("RESUME=") ? String(line.dropFirst(7)) : nil }.last
            let configured = value.map { !$0.isEmpty && $0 != "none" } ?? false
            items.append(["source": "/etc/initramfs-tools/conf.d/resume", "value": value.map { .string($0) } ?? .null,
                          "configured": .bool(configured)])
        }
        if items.isEmpty {
            items.append(["source": "kernel command line",
                          "not_checked": "no /proc/cmdline, /etc/default/grub, /etc/kernel/cmdline or /etc/initramfs-tools/conf.d/resume in the offline root"])
        }
        return items
    }

    /// `resume=` is configured when given with a value other than `none` and `noresume` is absent.
    static func resumeItem(source: String, arguments: [String]) -> JSON {
        let value = arguments.last { $0.hasPrefix("resume=") }.map { String($0.dropFirst(7)) }
        let noresume = arguments.contains("noresume")
        let configured = (value.map { !$0.isEmpty && $0 != "none" } ?? false) && !noresume
        return ["source": .string(source), "value": value.map { .string($0) } ?? .null, "noresume": .bool(noresume),
                "configured": .bool(configured)]
    }
}
