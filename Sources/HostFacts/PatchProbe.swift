public import WardenCore
internal import WardenFormats

/// Patch currency (INT-008): the installed packages (dpkg's status database) against the package
/// lists of the `*-security` suites apt last downloaded, with those lists' dates; the running
/// kernel against the newest installed one and a pending reboot; whether updates install
/// themselves (unattended-upgrades, APT::Periodic, the apt timers); the CPU's microcode package.
/// How each is read: docs/DAEMON-SEMANTICS.md, "Patch currency".
public struct PatchProbe: Probe {
    public init() {}
    public let name = "patches"
    public let summary =
        "dpkg status against the -security package lists in /var/lib/apt/lists (dpkg's version order), the running kernel, reboot-required, APT::Periodic and the apt timers, the microcode package"
    public let reads = [
        "/var/lib/dpkg/status", "/var/lib/apt/lists/*_Packages", "/var/lib/apt/lists/*_InRelease", "/var/lib/apt/lists/*_Release",
        "/proc/sys/kernel/osrelease", "/lib/modules/", "/var/run/reboot-required", "/var/run/reboot-required.pkgs",
        "/etc/apt/apt.conf.d/", "/etc/apt/apt.conf", SystemdUnits.enablingLinks("apt-daily*.timer"), "/proc/cpuinfo",
        "/sys/devices/system/cpu/cpu0/microcode/version",
    ]

    /// How many pending updates the fact names (the count covers all): findings travel for
    /// thousands of hosts.
    static let firstPending = 10
    static let maxLists = 32

    public var facts: [String: FactType] {
        [
            "patches": .object([
                "source": .string, "installed_packages": .int,
                "security_lists": .list(
                    .object(["path": .string, "release": .string, "suite": .string, "date": .string, "error": .string])),
                "newest_security_list": .sourced(.string),
                "pending": .object([
                    "count": .int,
                    "first": .list(
                        .object([
                            "name": .string, "package": .string, "architecture": .string, "installed": .string, "available": .string,
                            "list": .string,
                        ])),
                ]),
                "kernel": .object(["running": .sourced(.string), "newest_installed": .sourced(.string), "running_newest": .sourced(.bool)]),
                "reboot_required": .sourced(.bool), "reboot_packages": .strings,
                "automatic": .object([
                    "unattended_upgrades": .sourced(.bool), "periodic_enabled": .sourced(.bool), "update_interval": .sourced(.int),
                    "upgrade_interval": .sourced(.int), "apt_daily_timer": .sourced(.bool), "apt_daily_upgrade_timer": .sourced(.bool),
                ]),
                "microcode": .object(["vendor": .string, "package": .string, "installed": .sourced(.bool), "revision": .sourced(.string)]),
            ])
        ]
    }

    struct InstalledPackage {
        var name: String
        var architecture: String
        var version: String
        var parsed: DebianVersion
    }

    static let statusPath = "/var/lib/dpkg/status"

    struct Unreadable: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// dpkg's installed packages, by name. A package counts when its Status's third word says
    /// it is configured (`installed`, or only awaiting triggers).
    static func installed(_ root: HostRoot) -> Result<[String: [InstalledPackage]], Unreadable> {
        let bytes: [UInt8]
        do { bytes = try root.read(statusPath, limit: 64 << 20) } catch {
            return .failure(Unreadable(error.description))
        }
        let stanzas: [Deb822.Stanza]
        do { stanzas = try Deb822.stanzas(bytes, keeping: ["Package", "Status", "Version", "Architecture"]) } catch {
            return .failure(Unreadable("\(statusPath):\(error.line): \(error.reason)"))
        }
        var out: [String: [InstalledPackage]] = [:]
        for s in stanzas {
            guard let name = s.fields["Package"] else { return .failure(Unreadable("\(statusPath):\(s.line): Package: missing")) }
            let state = s.fields["Status"]?.words.last
            guard state == "installed" || state == "triggers-pending" || state == "triggers-awaited" else { continue }
            guard let version = s.fields["Version"], let parsed = DebianVersion(version) else {
                return .failure(Unreadable("\(statusPath):\(s.line): Version: '\(s.fields["Version"] ?? "")' is not a Debian version"))
            }
            out[name, default: []].append(
                InstalledPackage(name: name, architecture: s.fields["Architecture"] ?? "", version: version, parsed: parsed))
        }
        return .success(out)
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let installed: [String: [InstalledPackage]]
        switch Self.installed(root) {
        case .failure(let why): return ["patches": .unavailable(.error(why.reason))]
        case .success(let i): installed = i
        }
        var fact: JSONObject = [
            "source": .string(Self.statusPath), "installed_packages": .int(Int64(installed.values.map(\.count).reduce(0, +))),
        ]
        let (lists, newest, pending) = Self.securityLists(root, installed: installed)
        fact["security_lists"] = lists
        if let newest { fact["newest_security_list"] = ["value": .string(newest.date.description), "source": .string(newest.release)] }
        fact["pending"] = pending
        fact["kernel"] = Self.kernel(context, installed: installed)
        let (reboot, packages) = Self.rebootRequired(root)
        fact["reboot_required"] = reboot
        fact["reboot_packages"] = packages
        fact["automatic"] = Self.automatic(root, installed: installed, units: context.units)
        fact["microcode"] = Self.microcode(context, installed: installed)
        return ["patches": .value(.object(fact))]
    }

    // MARK: - Security lists

    static func securityLists(_ root: HostRoot, installed: [String: [InstalledPackage]]) -> (
        JSON, (date: Timestamp, release: String)?, JSON
    ) {
        let names: [String]
        do { names = try root.list(AptLists.directory) } catch {
            if error.isNotFound { return ([], nil, ["count": 0, "first": []]) }
            let e = JSON.object(["error": .string(error.description)])
            return (e, nil, e)
        }
        let nameSet = Set(names)
        var items: [JSON] = []
        var newest: (date: Timestamp, release: String)?
        var problems: [String] = []
        var releases: [String: Result<AptLists.Release, Deb822.Malformed>] = [:]
        struct Pending {
            var package: InstalledPackage
            var available: DebianVersion
            var list: String
        }
        var pending: [String: Pending] = [:]
        for name in names.sorted() {
            let compressed = [".lz4", ".gz", ".xz", ".zst", ".bz2"].first { name.hasSuffix("_Packages" + $0) }
            guard name.hasSuffix("_Packages") || compressed != nil else { continue }
            let path = joinPath(AptLists.directory, name)
            guard let releaseName = AptLists.releaseFile(of: name, among: nameSet) else { continue }
            let releasePath = joinPath(AptLists.directory, releaseName)
            if releases[releaseName] == nil {
                do {
                    let bytes = try root.read(releasePath, limit: 16 << 20)
                    do { releases[releaseName] = .success(try AptLists.readRelease(bytes, path: releasePath)) } catch {
                        releases[releaseName] = .failure(error)
                    }
                } catch {
                    releases[releaseName] = .failure(Deb822.Malformed(line: 0, reason: error.description))
                }
            }
            let release: AptLists.Release
            switch releases[releaseName]! {
            case .failure(let e):
                let why = e.line > 0 ? "\(releasePath):\(e.line): \(e.reason)" : e.reason
                if items.count < maxLists { items.append(["path": .string(path), "error": .string(why)]) }
                problems.append(why)
                continue
            case .success(let r): release = r
            }
            guard release.isSecurity else { continue }
            let suite = release.codename ?? release.suite ?? ""
            var item: JSONObject = ["path": .string(path), "release": .string(releasePath), "suite": .string(suite)]
            if let date = release.date {
                item["date"] = .string(date.description)
                if newest.map({ $0.date < date }) ?? true { newest = (date, releasePath) }
            } else {
                item["error"] = .string("\(releasePath) has no Date: field")
            }
            if items.count < maxLists { items.append(.object(item)) }
            if let compressed {
                problems.append(
                    "\(path): a \(compressed) list is not read (apt's Acquire::GzipIndexes or CompressionTypes): its versions are unknown")
                continue
            }
            let stanzas: [Deb822.Stanza]
            do {
                stanzas = try Deb822.stanzas(try root.read(path, limit: 256 << 20), keeping: ["Package", "Version", "Architecture"])
            } catch let e as Deb822.Malformed {
                problems.append("\(path):\(e.line): \(e.reason)")
                continue
            } catch {
                problems.append("\(error)")
                continue
            }
            for s in stanzas {
                guard let package = s.fields["Package"], let mine = installed[package], let v = s.fields["Version"] else { continue }
                guard let available = DebianVersion(v) else {
                    problems.append("\(path):\(s.line): Version: '\(v)' is not a Debian version")
                    continue
                }
                let arch = s.fields["Architecture"] ?? ""
                for p in mine where p.architecture == arch || p.architecture == "all" || arch == "all" {
                    guard p.parsed < available else { continue }
                    let key = "\(p.name):\(p.architecture)"
                    if let known = pending[key], !(known.available < available) { continue }
                    pending[key] = Pending(package: p, available: available, list: path)
                }
            }
        }
        if !problems.isEmpty {
            return (.array(items), newest, ["error": .string(problems.prefix(3).joined(separator: "; "))])
        }
        let sorted = pending.sorted { $0.key < $1.key }
        let first: [JSON] = sorted.prefix(firstPending).map { key, p in
            [
                "name": .string("\(key) \(p.package.version)"), "package": .string(p.package.name),
                "architecture": .string(p.package.architecture), "installed": .string(p.package.version),
                "available": .string(p.available.description), "list": .string(p.list),
            ]
        }
        return (.array(items), newest, ["count": .int(Int64(pending.count)), "first": .array(first)])
    }

    // MARK: - Kernel and reboot

    /// The newest installed kernel: of the releases in /lib/modules that an installed
    /// `linux-image-RELEASE` package provides, the one whose package version is highest; without
    /// such packages (a kernel built locally), the highest release in dpkg's order.
    static func kernel(_ context: ProbeContext, installed: [String: [InstalledPackage]]) -> JSON {
        let root = context.root
        let releases = ((try? root.list("/lib/modules")) ?? []).filter { root.isDirectory("/lib/modules/\($0)") }
        let packaged = releases.compactMap { r in installed["linux-image-\(r)"]?.first.map { (release: r, version: $0.parsed) } }
        let newest: String?
        if let best = packaged.max(by: { $0.version < $1.version }) {
            newest = best.release
        } else {
            newest = releases.compactMap { r in DebianVersion(r).map { (r, $0) } }.max(by: { $0.1 < $1.1 })?.0
        }
        var out: JSONObject = [:]
        let osrelease = "/proc/sys/kernel/osrelease"
        var running: String?
        do {
            running = String(try root.readText(osrelease).trimmed)
            out["running"] = ["value": .string(running!), "source": .string(osrelease)]
        } catch {
            let stated: JSON =
                error.isNotFound && context.mode == .offline
                ? [
                    "not_checked": .string("offline root: no \(osrelease), so the running kernel is not known"),
                    "source": .string(osrelease),
                ]
                : ["error": .string(error.description), "source": .string(osrelease)]
            out["running"] = stated
            out["running_newest"] = stated
        }
        guard let newest else {
            out["newest_installed"] = ["not_applicable": "no kernel in /lib/modules", "source": "/lib/modules"]
            if running != nil {
                out["running_newest"] = [
                    "not_applicable": "no kernel is installed in /lib/modules (the host boots one from elsewhere)",
                    "source": "/lib/modules",
                ]
            }
            return .object(out)
        }
        let source = packaged.isEmpty ? "/lib/modules/\(newest)" : "\(statusPath): linux-image-\(newest)"
        out["newest_installed"] = ["value": .string(newest), "source": .string(source)]
        if let running {
            out["running_newest"] = [
                "value": .bool(running == newest), "source": .string("\(osrelease): \(running); newest installed \(newest)"),
            ]
        }
        return .object(out)
    }

    /// update-notifier-common's and unattended-upgrades' marker (`/var/run/reboot-required`,
    /// with the packages that asked in `.pkgs`). It lives in /run, so an offline copy never has
    /// it; the kernel part is what tells there.
    static func rebootRequired(_ root: HostRoot) -> (JSON, JSON) {
        let path = "/var/run/reboot-required"
        guard root.exists(path) else { return (["value": false, "source": .string("\(path) (absent)")], []) }
        let text = (try? root.readText(path + ".pkgs")) ?? ""
        var seen: Set<Substring> = []
        let packages = configLines(text).map(\.text).filter { seen.insert($0).inserted }
        return (["value": true, "source": .string(path)], .array(packages.prefix(firstPending).map { .string(String($0)) }))
    }

    // MARK: - Automatic updates

    /// apt.systemd.daily's reading of an APT::Periodic interval: days unless suffixed `s`, `m`,
    /// `h` or `d`; `always` runs at every timer run (1 here); 0 or unset never.
    package static func intervalSeconds(_ text: String) -> Int? {
        if text == "always" { return 1 }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(text)
        var unit = 86400
        if let last = number.last, let u = units[last] {
            unit = u
            number = number.dropLast()
        }
        guard !number.isEmpty, number.allSatisfy(\.isASCII), let n = Int(number), n >= 0 else { return nil }
        return n * unit
    }

    static func automatic(_ root: HostRoot, installed: [String: [InstalledPackage]], units: SystemdUnits) -> JSON {
        let conf = AptConf.read(root)
        if !conf.problems.isEmpty { return ["error": .string(conf.problems.prefix(3).joined(separator: "; "))] }
        var out: JSONObject = [:]
        let uu = installed["unattended-upgrades"]?.first
        out["unattended_upgrades"] = [
            "value": .bool(uu != nil),
            "source": .string(uu.map { "\(statusPath): unattended-upgrades \($0.version)" } ?? "\(statusPath) (not installed)"),
        ]
        let enable = conf["APT::Periodic::Enable"]
        out["periodic_enabled"] = [
            "value": .bool(enable.map { Int($0.value) != 0 } ?? true),
            "source": .string(enable?.source ?? "APT::Periodic::Enable (unset: 1)"),
        ]
        for (key, name) in [
            ("update_interval", "APT::Periodic::Update-Package-Lists"), ("upgrade_interval", "APT::Periodic::Unattended-Upgrade"),
        ] {
            guard let v = conf[name] else {
                out[key] = ["value": 0, "source": .string("\(name) (unset: never)")]
                continue
            }
            guard let seconds = intervalSeconds(v.value) else {
                out[key] = ["error": .string("\(v.source): \(name) '\(v.value)' is not an interval"), "source": .string(v.source)]
                continue
            }
            out[key] = ["value": .int(Int64(seconds)), "source": .string(v.source)]
        }
        for (key, unit) in [("apt_daily_timer", "apt-daily.timer"), ("apt_daily_upgrade_timer", "apt-daily-upgrade.timer")] {
            out[key] = units.enabledFact(unit)
        }
        return .object(out)
    }

    // MARK: - Microcode

    static func microcode(_ context: ProbeContext, installed: [String: [InstalledPackage]]) -> JSON {
        var out: JSONObject = [:]
        guard let cpuinfo = try? context.root.readText("/proc/cpuinfo") else {
            return ["not_checked": .string("no /proc/cpuinfo: the CPU vendor is not known"), "source": "/proc/cpuinfo"]
        }
        var vendor: String?
        var revision: String?
        for line in lines(cpuinfo) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmed
            if key == "vendor_id", vendor == nil { vendor = String(parts[1].trimmed) }
            if key == "microcode", revision == nil { revision = String(parts[1].trimmed) }
        }
        guard let vendor else { return .object(out) }
        out["vendor"] = .string(vendor)
        let package = vendor == "GenuineIntel" ? "intel-microcode" : vendor == "AuthenticAMD" ? "amd64-microcode" : nil
        if let package {
            out["package"] = .string(package)
            let p = installed[package]?.first
            out["installed"] = [
                "value": .bool(p != nil),
                "source": .string(p.map { "\(statusPath): \(package) \($0.version)" } ?? "\(statusPath) (not installed)"),
            ]
        }
        let sysfs = "/sys/devices/system/cpu/cpu0/microcode/version"
        if case .present = context.sysfs(sysfs), let v = try? context.root.readText(sysfs) {
            out["revision"] = ["value": .string(String(v.trimmed)), "source": .string(sysfs)]
        } else if let revision {
            out["revision"] = ["value": .string(revision), "source": "/proc/cpuinfo"]
        }
        return .object(out)
    }
}
