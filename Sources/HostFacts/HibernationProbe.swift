public import WardenCore
internal import WardenFormats

/// Whether the host can write its memory to disk: systemd-sleep's configuration read as
/// systemd 252 reads it (docs/DAEMON-SEMANTICS.md), the sleep targets masked, and
/// `resume=` on the kernel command line.
///
/// Three operations write memory to disk: hibernate, hybrid-sleep and suspend-then-hibernate.
/// Each is possible unless sleep.conf disallows it or its target (or `sleep.target`) is masked.
/// systemd's defaults: `AllowHibernation=yes`; `AllowHybridSleep=` and
/// `AllowSuspendThenHibernate=`, when unset, follow `AllowSuspend` and `AllowHibernation` both.
public struct HibernationProbe: Probe {
    public init() {}
    public let name = "hibernation"
    public let summary =
        "systemd sleep.conf with drop-ins ([Sleep] only, masking, last assignment wins, invalid values ignored), masked sleep targets, resume= on the kernel command line, initramfs-tools RESUME"
    public let reads = [
        "/etc/systemd/sleep.conf", "{/etc,/run,/usr/local/lib,/usr/lib}/systemd/sleep.conf.d/*.conf",
        "/etc/systemd/system/*.target", "/run/systemd/system/*.target", "/proc/cmdline",
        "/etc/default/grub", "/etc/kernel/cmdline", "/etc/initramfs-tools/initramfs.conf",
        "/etc/initramfs-tools/conf.d/*", "/usr/share/initramfs-tools/hooks/resume",
    ]
    public var facts: [String: FactType] {
        [
            "hibernation": .object([
                "source": .string, "files": .list(.object(["path": .string, "masked": .bool])),
                "settings": .object(Dictionary(uniqueKeysWithValues: HibernationProbe.keys.map { ($0, FactType.sourced(.bool)) })),
                "ignored": .strings,
                "operations": .list(
                    .object([
                        "name": .string, "allowed": .sourced(.bool), "target": .string, "target_masked": .bool, "possible": .sourced(.bool),
                    ])),
                "sleep_target_masked": .bool, "possible": .bool,
                // One item per place a resume device is configured: the kernel command line, initramfs-tools.
                "resume": .list(
                    .object(["source": .string, "value": .optional(.string), "meaning": .string, "noresume": .bool, "configured": .bool])),
            ])
        ]
    }

    static let mainFile = "/etc/systemd/sleep.conf"
    static let dropInDirectories = [
        "/etc/systemd/sleep.conf.d", "/run/systemd/sleep.conf.d",
        "/usr/local/lib/systemd/sleep.conf.d", "/usr/lib/systemd/sleep.conf.d",
    ]
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
        let derived = Setting(
            value: suspend.value && hibernate.value,
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
            let possible: Setting =
                if let mask { Setting(value: false, source: mask) } else if !allowed.value {
                    Setting(value: false, source: allowed.source)
                } else { Setting(value: true, source: allowed.source) }
            anyPossible = anyPossible || possible.value
            items.append([
                "name": .string(name), "allowed": allowed.json, "target": .string(target),
                "target_masked": .bool(mask != nil), "possible": possible.json,
            ])
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
    /// the persistent sources (GRUB's defaults, /etc/kernel/cmdline). Then initramfs-tools' own
    /// `RESUME`, which Debian's initramfs resumes from without any `resume=` on the command line.
    func resumeItems(_ context: ProbeContext) -> [JSON] {
        let root = context.root
        var items: [JSON] = []
        if let text = try? root.readText("/proc/cmdline", limit: 65536) {
            items.append(HibernationProbe.resumeItem(source: "/proc/cmdline", arguments: text.words.map(String.init)))
        } else if context.mode == .live {
            return [["source": "/proc/cmdline", "error": "/proc/cmdline cannot be read"]]
        } else {
            if let grub = try? KernelCmdlineProbe.grubCommandLine(root) {
                items.append(HibernationProbe.resumeItem(source: "/etc/default/grub", arguments: grub.text.words.map(String.init)))
            }
            if let text = try? root.readText("/etc/kernel/cmdline", limit: 65536) {
                items.append(HibernationProbe.resumeItem(source: "/etc/kernel/cmdline", arguments: text.words.map(String.init)))
            }
        }
        let noresume = items.contains { $0["noresume"] == true }
        if let initramfs = HibernationProbe.initramfsResume(root, noresume: noresume) { items.append(initramfs) }
        if items.isEmpty {
            items.append([
                "source": "kernel command line",
                "not_checked": "no /proc/cmdline, /etc/default/grub, /etc/kernel/cmdline or initramfs-tools in the offline root",
            ])
        }
        return items
    }

    static let initramfsHook = "/usr/share/initramfs-tools/hooks/resume"
    static let initramfsConfig = "/etc/initramfs-tools/initramfs.conf"
    static let initramfsConfigDirectory = "/etc/initramfs-tools/conf.d"

    /// initramfs-tools' `RESUME` as `update-initramfs` reads it (initramfs.conf, then conf.d's
    /// files in name order, the last assignment winning), or nil without initramfs-tools.
    /// Its hook (initramfs-tools 0.142, `hooks/resume`) resumes from the named device; unset,
    /// empty or `auto` picks the largest swap device that is not ephemeral; only `none` turns
    /// resuming off. `noresume` on the command line stops the initramfs resuming either way.
    static func initramfsResume(_ root: HostRoot, noresume: Bool) -> JSON? {
        var files = [initramfsConfig]
        if let names = try? root.list(initramfsConfigDirectory) {
            files += names.sorted().map { joinPath(initramfsConfigDirectory, $0) }
        }
        var value: String?
        var source = "unset"
        var read: [String] = []
        for file in files {
            guard let text = try? root.readText(file, limit: 65536) else { continue }
            read.append(file)
            for (number, line) in configLines(text) where line.hasPrefix("RESUME=") {
                value = String(unquoted(line.dropFirst(7)))
                source = "\(file):\(number)"
            }
        }
        guard root.exists(initramfsHook) || !read.isEmpty else { return nil }
        let configured = value != "none" && !noresume
        let meaning =
            switch value {
            case "none": "resuming turned off"
            case nil, "", "auto": "resumes from the largest swap device that is not ephemeral, chosen at update-initramfs"
            default: "resumes from \(value!)"
            }
        return [
            "source": .string("initramfs-tools RESUME (\(source))"), "value": value.map { .string($0) } ?? .null,
            "meaning": .string(noresume ? "noresume on the command line stops it" : meaning), "noresume": .bool(noresume),
            "configured": .bool(configured),
        ]
    }

    /// `resume=` is configured when given with a value other than `none` and `noresume` is absent.
    static func resumeItem(source: String, arguments: [String]) -> JSON {
        let value = arguments.last { $0.hasPrefix("resume=") }.map { String($0.dropFirst(7)) }
        let noresume = arguments.contains("noresume")
        let configured = (value.map { !$0.isEmpty && $0 != "none" } ?? false) && !noresume
        return [
            "source": .string(source), "value": value.map { .string($0) } ?? .null, "noresume": .bool(noresume),
            "configured": .bool(configured),
        ]
    }
}
