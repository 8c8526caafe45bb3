internal import WardenCore
internal import WardenFormats

/// Whether a systemd unit is enabled and whether it is active, one reading for every probe that
/// asks about a service (docs/DAEMON-SEMANTICS.md, "Enabled and active units"). A value reads
/// the configuration directories once, when made; an audit makes one (`ProbeContext.units`)
/// for all its probes.
struct SystemdUnits {
    let root: HostRoot
    /// Offline, /run is what the audited host had when it last ran (or whatever the image
    /// holds): runtime state (`systemctl enable --runtime`, `mask --runtime`) that a boot
    /// discards, so neither its links nor its masks count.
    let mode: AuditMode
    private let links: [UnitEnablement]
    /// The first directory of links that could not be listed, by scope: a user-scope one
    /// (/etc/systemd/user) says nothing about what the system manager starts.
    private let failures: [String: HostError]
    /// The first mask directory that could not be listed: a link found elsewhere may be masked.
    private let maskFailure: HostError?

    init(root: HostRoot) { self.init(root: root, mode: root.mode) }

    /// `mode` other than the root's: a test's tree standing for a live host's.
    init(root: HostRoot, mode: AuditMode) {
        self.root = root
        self.mode = mode
        (links, failures, maskFailure) = SystemdUnits.readEnablements(root, mode)
    }

    /// The link that enables `unit` for the system manager, as `enablements()` reads them, or
    /// nil: no link, the unit masked, a link in a directory that could not be listed, or a link
    /// whose unit may be masked in a mask directory that could not be listed (`unknown` says
    /// whether a directory could not be). What a control requires enabled asks this.
    func enabledLink(_ unit: String) -> String? { enabledLink { $0 == unit } }

    /// The first such link (by path) of a unit whose name `matches`.
    func enabledLink(where matches: (String) -> Bool) -> String? {
        maskFailure == nil ? foundLink(where: matches) : nil
    }

    /// The first link (by path) of a unit whose name `matches` that is not known to be masked,
    /// even when a mask could not be checked: what a control forbids asks this, since a link
    /// that may start the unit is reason enough to say so.
    func foundLink(where matches: (String) -> Bool) -> String? {
        links.first { $0.scope == "system" && matches($0.unit) }?.link
    }

    /// `foundLink` of `unit` itself.
    func foundLink(_ unit: String) -> String? { foundLink { $0 == unit } }

    /// Whether `unit` is enabled, as a sourced bool naming the link, or where the links would
    /// be; an error when none was found and a directory of links could not be listed, since a
    /// control that requires the unit enabled must not fail on what it could not read.
    func enabledFact(_ unit: String) -> JSON {
        if let link = enabledLink(unit) { return ["value": true, "source": .string(link)] }
        return known(["value": false, "source": .string("\(SystemdUnits.enablingLinks(unit)) (no link, or masked)")], links: unit)
    }

    /// `value` when every directory of the system manager's links was read, or when what was
    /// `found` decides whatever the unread directory enables (a forbidden unit found enabled, a
    /// time daemon found configured); otherwise an error naming the directory and where the
    /// links of `unit` (a glob) would be, never a silent "not enabled".
    func known(_ value: JSON, found: Bool = false, links unit: String = "*") -> JSON {
        guard !found, let unknown else { return value }
        return ["error": .string(unknown), "source": .string(SystemdUnits.enablingLinks(unit))]
    }

    /// Why which units the system manager starts is not known (a directory of its links could
    /// not be listed), or nil when every one was read.
    var unknown: String? { failures["system"].map { "which units are enabled is not known: \($0.description)" } }

    /// The directories whose link to /dev/null masks a unit of the system manager, as
    /// `systemctl mask` (/etc) and `systemctl mask --runtime` (/run, live only) make them.
    static func maskDirectories(_ mode: AuditMode) -> [String] {
        mode == .live ? ["/etc/systemd/system", "/run/systemd/system"] : ["/etc/systemd/system"]
    }

    /// Whether `unit` is masked for the system manager: nothing starts it, not even D-Bus or
    /// udev activation.
    func isMasked(_ unit: String) -> Bool {
        SystemdUnits.maskDirectories(mode).contains { root.isMasked($0 + "/" + unit) }
    }

    /// Where the links that could enable `unit` are, for evidence when there is none.
    static func enablingLinks(_ unit: String) -> String {
        "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/\(unit)"
    }

    /// The link systemd 252 keeps while `unit` is active: made when the unit is about to run its
    /// first process (`unit_prepare_exec` → `unit_export_state_files`), removed when it becomes
    /// inactive or failed (`unit_notify` → `unit_unlink_state_files`). Named by the unit's own
    /// name, whatever its slice; its cgroup is neither (an instance's is under its template's
    /// slice, and a cgroup that still holds a process outlives its unit).
    static func invocationLink(_ unit: String) -> String { "/run/systemd/units/invocation:" + unit }

    /// Whether `unit` is active (activating, active, reloading or deactivating): its invocation
    /// link is there. Only a live host's /run has one; an offline root's says nothing.
    func isActive(_ unit: String) -> Bool {
        (try? root.info(SystemdUnits.invocationLink(unit), followFinal: false))?.kind == .symlink
    }
}

/// A service unit as systemd 252 loads it (docs/DAEMON-SEMANTICS.md, "Unit files"): the first
/// file of that name on the unit search path, then the `*.conf` drop-ins of its `.d` directories
/// on every directory of the path, read with the parser of `SystemdConf` (the same
/// `config_parse`), `[Service]` only.
struct UnitFile {
    /// The file systemd loads the unit from (its "fragment"), nil when there is none.
    var fragment: String?
    /// The fragment and its drop-ins, in the order systemd reads them.
    var files: [String] = []
    /// The unit is masked: its fragment is a link to /dev/null or an empty file.
    var masked = false
    /// Why systemd would not load the unit, or why Warden cannot know what it loads.
    var problem: String?
    var conf = SystemdConf()

    /// The system manager's unit search path (`systemd-analyze unit-paths` on Debian 12, without
    /// generators: an offline root has not run them). Debian builds systemd 252 with split /usr,
    /// so /lib/systemd/system comes before /usr/lib/systemd/system.
    static let searchPath = [
        "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient", "/run/systemd/generator.early",
        "/etc/systemd/system", "/etc/systemd/system.attached", "/run/systemd/system", "/run/systemd/system.attached",
        "/run/systemd/generator", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
        "/run/systemd/generator.late",
    ]

    /// The names whose `.d` directories hold drop-ins for `unit` (`unit_file_find_dirs`): the
    /// unit itself, its template (`foo@.service` for `foo@bar.service`), each dash prefix
    /// (`foo-.service` for `foo-bar.service`), and the unit type (`service`).
    static func dropInNames(_ unit: String) -> [String] {
        guard let dot = unit.lastIndex(of: ".") else { return [unit] }
        let stem = unit[..<dot]
        let type = unit[unit.index(after: dot)...]
        var names = [unit]
        if let at = stem.firstIndex(of: "@"), stem.index(after: at) != stem.endIndex {
            names.append("\(stem[...at]).\(type)")
        }
        var prefix = stem
        while let dash = prefix.lastIndex(of: "-") {
            prefix = prefix[..<dash]
            names.append("\(prefix)-.\(type)")
        }
        names.append(String(type))
        return names
    }

    /// Loads `unit`; `valid` says which values systemd accepts for a key (others are ignored).
    static func load(_ unit: String, root: HostRoot, valid: [String: (String) -> Bool]) -> UnitFile {
        var out = UnitFile()
        out.conf.quietSections = ["Unit", "Install"]
        out.fragment = searchPath.map { "\($0)/\(unit)" }.first { (try? root.info($0, followFinal: false)) != nil }
        guard let fragment = out.fragment else { return out }
        if root.isMasked(fragment) || (try? root.info(fragment))?.size == 0 {
            out.masked = true
            return out
        }
        var byName: [[UInt8]: String] = [:]
        for dir in searchPath {
            for name in dropInNames(unit) {
                let path = "\(dir)/\(name).d"
                guard let entries = try? root.list(path) else { continue }
                for entry in entries where entry.hasSuffix(".conf") && !entry.hasPrefix(".") {
                    let bytes = Array(entry.utf8)
                    if byName[bytes] == nil { byName[bytes] = joinPath(path, entry) }
                }
            }
        }
        let dropIns = byName.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
        for file in [fragment] + dropIns {
            switch root.readConfigFile(file, daemon: "systemd") {
            case .bytes(let bytes):
                out.files.append(file)
                if let stop = out.conf.parse(bytes, file: file, section: "Service", valid: valid, known: nil, daemon: "systemd") {
                    out.problem = "\(stop): systemd does not load \(unit)"
                    return out
                }
            case .skipped(let reason):
                out.conf.ignored.append("\(file): \(reason)")
            case .failed(let problem):
                out.problem = problem
                return out
            }
        }
        return out
    }

    /// The effective value of a setting whose later assignment replaces the earlier one.
    func last(_ key: String) -> SystemdConf.Setting? { conf.settings[key] }

    /// The effective words of a list setting: every assignment adds its words, and an empty one
    /// drops what came before (`RestrictAddressFamilies=`, `SystemCallFilter=`), with the
    /// source of the last assignment that counts.
    func list(_ key: String) -> (words: [String], source: String?) {
        var words: [String] = []
        var source: String?
        for a in conf.assignments[key] ?? [] {
            if a.value.isEmpty {
                words = []
                source = a.source
            } else {
                words += a.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                source = a.source
            }
        }
        return (words, source)
    }
}

/// One unit that a `.wants`, `.requires` or `.upholds` link in a configuration directory pulls
/// in: what `systemctl enable` (and `systemctl preset`) leave behind.
struct UnitEnablement {
    /// The link's name: the unit that starts (an instance such as `getty@tty1.service` as such).
    let unit: String
    /// The unit whose directory holds the link (`multi-user.target`).
    let wantedBy: String
    /// `enabled` for /etc, `enabled-runtime` for /run, as `systemctl list-unit-files` calls them.
    let state: String
    let scope: String
    let link: String
}

extension SystemdUnits {
    /// The configuration directories whose links enable units, with the state and scope systemd
    /// 252 gives what they enable (`find_symlinks_in_scope`: the persistent configuration
    /// directory means `enabled`, the runtime one `enabled-runtime`; /etc/systemd/user enables
    /// user units for every user, `systemctl --global enable`); the runtime one is read live only.
    /// The vendor directories
    /// (/usr/lib/systemd/system/*.wants) belong to the packages, which `list-unit-files` shows
    /// as `static`, never `enabled`.
    static let enablementDirectories: [(dir: String, state: String, scope: String)] = [
        ("/etc/systemd/system", "enabled", "system"),
        ("/run/systemd/system", "enabled-runtime", "system"),
        ("/etc/systemd/user", "enabled", "user"),
    ]

    /// Every unit enabled by a link in `enablementDirectories`, sorted by link path. Read as
    /// systemd 252's manager reads a configuration directory when it loads dependencies
    /// (`process_deps`): the subdirectories named `*.wants`, `*.requires` and `*.upholds`, their
    /// symlinks only (a regular file there is ignored with a warning), hidden entries skipped, a
    /// link to /dev/null or to a unit masked in /etc or /run left out, since it starts nothing.
    /// Each link is reported by its own name: an instance (`getty@tty2.service`) starts whatever
    /// its template's `DefaultInstance=` says, and a link in `*.upholds` starts its unit though
    /// `list-unit-files` (whose `find_symlinks` looks only at `*.wants` and `*.requires`) calls
    /// it `disabled`. A directory that exists but cannot be listed is an error: what it enables
    /// is unknown.
    func enablements() throws(HostError) -> [UnitEnablement] {
        if let failure = failures["system"] ?? failures["user"] { throw failure }
        return links
    }

    /// The links, the first directory of each scope that could not be listed (the others are
    /// still read, so that one unreadable directory does not hide what the rest enable), and
    /// the first mask directory that could not be listed.
    private static func readEnablements(_ root: HostRoot, _ mode: AuditMode) -> ([UnitEnablement], [String: HostError], HostError?) {
        var out: [UnitEnablement] = []
        var failures: [String: HostError] = [:]
        var maskFailure: HostError?
        let maskDirectories = SystemdUnits.maskDirectories(mode)
        for (dir, state, scope) in SystemdUnits.enablementDirectories where mode == .live || !dir.hasPrefix("/run/") {
            let names: [String]
            do { names = try root.list(dir) } catch {
                if !error.isNotFound {
                    if failures[scope] == nil { failures[scope] = error }
                    if maskFailure == nil, scope == "system", maskDirectories.contains(dir) { maskFailure = error }
                }
                continue
            }
            for sub in names.sorted() where !sub.hasPrefix(".") {
                guard let dot = sub.lastIndex(of: "."), [".wants", ".requires", ".upholds"].contains(sub[dot...]) else { continue }
                let subdir = dir + "/" + sub
                guard root.isDirectory(subdir) else { continue }
                let entries: [String]
                do { entries = try root.list(subdir) } catch {
                    if failures[scope] == nil { failures[scope] = error }
                    continue
                }
                for name in entries.sorted() where !name.hasPrefix(".") {
                    let link = subdir + "/" + name
                    guard (try? root.info(link, followFinal: false))?.kind == .symlink else { continue }
                    let masks = scope == "system" ? maskDirectories : [dir]
                    if root.isMasked(link) || masks.contains(where: { root.isMasked($0 + "/" + name) }) { continue }
                    out.append(UnitEnablement(unit: name, wantedBy: String(sub[..<dot]), state: state, scope: scope, link: link))
                }
            }
        }
        return (out, failures, maskFailure)
    }
}
