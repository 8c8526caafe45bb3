internal import Glibc
public import WardenCore
internal import WardenFormats

/// Mandatory access control: SELinux and AppArmor (ACC-012).
///
/// Runtime state is read wherever it exists under the root (a live host, or a snapshot that
/// captured /sys):
/// - SELinux: `/sys/fs/selinux/enforce` (`1` enforcing, `0` permissive). Absent on a live host:
///   SELinux is not enabled.
/// - AppArmor: `/sys/module/apparmor/parameters/enabled` (`Y`), and the loaded profiles with
///   their modes from `/sys/kernel/security/apparmor/profiles` (`name (enforce)`).
///
/// Offline, without /sys:
/// - SELinux is read from `/etc/selinux/config` (the first `SELINUX=` line, case-insensitive, as
///   libselinux reads it), overridden by `selinux=0` or `enforcing=0` on the kernel command line
///   in `/etc/default/grub`.
/// - AppArmor's runtime state cannot be known (whether the kernel enables it, which profiles the
///   service loads). What the configuration does show is kept: profiles in /etc/apparmor.d with
///   `flags=(complain)` and entries of /etc/apparmor.d/force-complain/ load in complain mode, so
///   they are listed as complain-mode profiles; the loaded-profile list also carries a
///   `not_checked` item, so an offline AppArmor host fails on a configured complain profile and is
///   otherwise `not_checked`, never `pass`.
public struct MACProbe: Probe {
    public init() {}
    public let name = "mac"
    public let summary =
        "mandatory access control: SELinux enforce state, AppArmor enabled and profile modes (runtime, or configuration offline)"
    public let reads = [
        "/sys/fs/selinux/enforce", "/etc/selinux/config", "/etc/default/grub",
        "/sys/module/apparmor/parameters/enabled", "/sys/kernel/security/apparmor/profiles",
        "/etc/apparmor.d/* (offline)", "/etc/apparmor.d/force-complain/* (offline)",
    ]
    public var facts: [String: FactType] {
        [
            "mac": .object([
                "source": .string,
                "selinux": .object(["mode": .string, "runtime": .bool, "enforcing": .sourced(.bool)]),
                "apparmor": .object([
                    // Null offline: only a running kernel knows.
                    "enabled": .optional(.sourced(.bool)), "runtime": .bool, "note": .string, "counts": .map(.int),
                    "profiles": .list(.object(["source": .string, "profile": .string, "mode": .string, "configured_by": .string])),
                ]),
            ])
        ]
    }

    static let selinuxEnforce = "/sys/fs/selinux/enforce"
    static let selinuxConfig = "/etc/selinux/config"
    static let grubDefaults = "/etc/default/grub"
    static let apparmorEnabled = "/sys/module/apparmor/parameters/enabled"
    static let apparmorProfiles = "/sys/kernel/security/apparmor/profiles"
    static let apparmorDirectory = "/etc/apparmor.d"

    /// Names the AppArmor init scripts skip in /etc/apparmor.d (rc.apparmor.functions).
    static let skippedSuffixes = [
        ".dpkg-new", ".dpkg-old", ".dpkg-dist", ".dpkg-bak", ".dpkg-remove", ".pacsave",
        ".pacnew", ".rpmnew", ".rpmsave", ".orig", ".rej", "~",
    ]

    struct Setting {
        var value: JSON
        var source: String
        var json: JSON { ["value": value, "source": .string(source)] }
    }

    /// A runtime file that exists but cannot be read, or holds something unexpected, makes the
    /// whole fact an error: the state of the host is unknown.
    public func collect(_ context: ProbeContext) -> [String: Fact] {
        do {
            return [
                "mac": .value([
                    "source": .string(context.root.exists(MACProbe.selinuxEnforce) ? MACProbe.selinuxEnforce : MACProbe.apparmorEnabled),
                    "selinux": try selinux(context),
                    "apparmor": try apparmor(context),
                ])
            ]
        } catch {
            return ["mac": .unavailable(.error(error.description))]
        }
    }

    /// The first line of a one-value runtime file, without blanks.
    static func firstLine(_ text: String) -> String {
        String(lines(text).first?.trimmed ?? "")
    }

    // MARK: - SELinux

    func selinux(_ context: ProbeContext) throws(HostError) -> JSON {
        let root = context.root
        var mode: String
        var enforcing: Setting
        switch context.sysfs(MACProbe.selinuxEnforce) {
        case .present:
            let value = MACProbe.firstLine(try root.readText(MACProbe.selinuxEnforce, limit: 64))
            switch value {
            case "1": mode = "enforcing"
            case "0": mode = "permissive"
            default:
                throw HostError(path: MACProbe.selinuxEnforce, errno: EINVAL, message: "unexpected value '\(value)' (expected 0 or 1)")
            }
            enforcing = Setting(value: .bool(mode == "enforcing"), source: MACProbe.selinuxEnforce)
            return ["mode": .string(mode), "runtime": true, "enforcing": enforcing.json]
        case .absent:
            enforcing = Setting(value: false, source: "\(MACProbe.selinuxEnforce) (absent: SELinux is not enabled in the running kernel)")
            return ["mode": "not enabled", "runtime": true, "enforcing": enforcing.json]
        case .unmounted:
            throw HostError(path: MACProbe.selinuxEnforce, errno: ENOENT, message: "/sys is not mounted")
        case .offline: break
        }
        // Offline: the configuration the next boot will use.
        let configured = try MACProbe.selinuxConfigMode(root)
        mode = configured.mode
        enforcing = Setting(value: .bool(mode == "enforcing"), source: configured.source)
        if mode == "enforcing", let override = MACProbe.cmdlineOverride(root) {
            mode = override.mode
            enforcing = Setting(value: false, source: override.source)
        }
        return ["mode": .string(mode), "runtime": false, "enforcing": enforcing.json]
    }

    /// `SELINUX=` from /etc/selinux/config: the first such line, compared case-insensitively.
    static func selinuxConfigMode(_ root: HostRoot) throws(HostError) -> (mode: String, source: String) {
        let text: String
        do {
            text = try root.readText(selinuxConfig, limit: 65536)
        } catch {
            guard error.isNotFound else { throw error }
            return ("not configured", "\(selinuxConfig) (absent: SELinux is not configured)")
        }
        for (number, line) in configLines(text) where line.hasPrefix("SELINUX=") {
            var value = line.dropFirst("SELINUX=".count).trimmed.lowercased()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
            let mode = ["enforcing", "permissive", "disabled"].first { value.hasPrefix($0) } ?? "unrecognised (\(value))"
            return (mode, "\(selinuxConfig):\(number)")
        }
        return ("not configured", "\(selinuxConfig) (no SELINUX= line)")
    }

    /// `selinux=0` or `enforcing=0` in GRUB_CMDLINE_LINUX(_DEFAULT) of /etc/default/grub.
    static func cmdlineOverride(_ root: HostRoot) -> (mode: String, source: String)? {
        guard let text = try? root.readText(grubDefaults, limit: 1 << 20) else { return nil }
        for (number, line) in configLines(text) where line.hasPrefix("GRUB_CMDLINE_LINUX") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let value = line[line.index(after: eq)...].filter { $0 != "\"" && $0 != "'" }
            let words = value.words
            if words.contains("selinux=0") { return ("disabled (selinux=0 on the kernel command line)", "\(grubDefaults):\(number)") }
            if words.contains("enforcing=0") { return ("permissive (enforcing=0 on the kernel command line)", "\(grubDefaults):\(number)") }
        }
        return nil
    }

    // MARK: - AppArmor

    func apparmor(_ context: ProbeContext) throws(HostError) -> JSON {
        let root = context.root
        switch context.sysfs(MACProbe.apparmorEnabled) {
        case .present: break
        case .absent:
            return [
                "enabled": Setting(value: false, source: "\(MACProbe.apparmorEnabled) (absent: AppArmor is not in the running kernel)")
                    .json,
                "runtime": true, "profiles": [],
            ]
        case .unmounted: throw HostError(path: MACProbe.apparmorEnabled, errno: ENOENT, message: "/sys is not mounted")
        case .offline: return offlineAppArmor(root)
        }
        let enabledText = MACProbe.firstLine(try root.readText(MACProbe.apparmorEnabled, limit: 64))
        guard enabledText == "Y" || enabledText == "N" else {
            throw HostError(path: MACProbe.apparmorEnabled, errno: EINVAL, message: "unexpected value '\(enabledText)' (expected Y or N)")
        }
        let enabled = enabledText == "Y"
        var result: JSONObject = ["enabled": Setting(value: .bool(enabled), source: MACProbe.apparmorEnabled).json, "runtime": true]
        guard enabled else {
            result["profiles"] = []
            return .object(result)
        }
        do {
            let text = try root.readText(MACProbe.apparmorProfiles, limit: 16 << 20)
            let profiles = MACProbe.loadedProfiles(text)
            result["profiles"] = .array(profiles)
            var counts: [String: Int] = [:]
            for p in profiles { if let m = p["mode"]?.stringValue { counts[m, default: 0] += 1 } }
            result["counts"] = .object(counts.mapValues { .int($0) })
        } catch {
            let item: JSON =
                error.isNotFound
                ? (context.mode == .live
                    ? [
                        "source": .string(MACProbe.apparmorProfiles),
                        "error": .string("\(MACProbe.apparmorProfiles) does not exist (is securityfs mounted?)"),
                    ]
                    : [
                        "source": .string(MACProbe.apparmorProfiles),
                        "not_checked": .string("\(MACProbe.apparmorProfiles) is not in this offline root"),
                    ])
                : ["source": .string(MACProbe.apparmorProfiles), "error": .string(error.description)]
            result["profiles"] = [item]
        }
        return .object(result)
    }

    /// `/sys/kernel/security/apparmor/profiles`: one `name (mode)` per line.
    static func loadedProfiles(_ text: String) -> [JSON] {
        var out: [JSON] = []
        for (i, raw) in lines(text).enumerated() {
            let line = raw.trimmed
            if line.isEmpty { continue }
            let here = "\(apparmorProfiles):\(i + 1)"
            guard line.last == ")", let open = line.lastIndex(of: "("), open > line.startIndex else {
                out.append(["source": .string(here), "error": .string("unexpected line '\(line)' (expected 'name (mode)')")])
                continue
            }
            let name = line[..<open].trimmed
            let mode = line[line.index(after: open)..<line.index(before: line.endIndex)].trimmed
            guard !name.isEmpty, !mode.isEmpty else {
                out.append(["source": .string(here), "error": .string("unexpected line '\(line)' (expected 'name (mode)')")])
                continue
            }
            out.append(["source": .string(here), "profile": .string(String(name)), "mode": .string(String(mode))])
        }
        return out
    }

    /// Offline: complain-mode profiles the configuration loads, plus a `not_checked` item for the
    /// runtime state that is not there.
    func offlineAppArmor(_ root: HostRoot) -> JSON {
        var profiles: [JSON] = []
        let disabled = Set((try? root.list(MACProbe.apparmorDirectory + "/disable")) ?? [])
        let names: [String]
        do {
            names = try root.list(MACProbe.apparmorDirectory)
        } catch {
            names = []
            if !error.isNotFound {
                profiles.append(["source": .string(MACProbe.apparmorDirectory), "error": .string(error.description)])
            }
        }
        for name in names
        where !name.hasPrefix(".") && name != "README" && !disabled.contains(name)
            && !MACProbe.skippedSuffixes.contains(where: { name.hasSuffix($0) })
        {
            let path = joinPath(MACProbe.apparmorDirectory, name)
            guard (try? root.info(path))?.kind == .regular else { continue }
            do {
                let text = try root.readText(path, limit: 1 << 20)
                for (number, line) in configLines(text) where MACProbe.declaresComplain(line) {
                    profiles.append([
                        "source": .string("\(path):\(number)"), "profile": .string(MACProbe.profileName(line)),
                        "mode": "complain", "configured_by": "flags=(complain)",
                    ])
                }
            } catch {
                profiles.append(["source": .string(path), "error": .string(error.description)])
            }
        }
        for name in (try? root.list(MACProbe.apparmorDirectory + "/force-complain")) ?? [] where !name.hasPrefix(".") {
            profiles.append([
                "source": .string(MACProbe.apparmorDirectory + "/force-complain/" + name), "profile": .string(name),
                "mode": "complain", "configured_by": "force-complain",
            ])
        }
        profiles.append([
            "source": .string(MACProbe.apparmorProfiles),
            "not_checked": "AppArmor runtime state (enabled, loaded profiles) is not available on an offline root",
        ])
        return [
            "enabled": .null, "runtime": false, "profiles": .array(profiles),
            "note": "offline: only complain-mode profiles configured in /etc/apparmor.d can be seen",
        ]
    }

    /// A profile header whose flags include `complain`: `profile x /bin/x flags=(complain) {`.
    package static func declaresComplain(_ line: Substring) -> Bool {
        guard let flags = line.firstRange(of: "flags") else { return false }
        var rest = line[flags.upperBound...].trimmed
        guard rest.first == "=" else { return false }
        rest = rest.dropFirst().trimmed
        guard rest.first == "(", let close = rest.firstIndex(of: ")") else { return false }
        return rest[rest.index(after: rest.startIndex)..<close]
            .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
            .contains("complain")
    }

    /// The profile name of a header line: the word after `profile`, else the first word.
    static func profileName(_ line: Substring) -> String {
        let words = line.words
        if words.first == "profile", words.count > 1 { return String(words[1]) }
        return String(words.first ?? line)
    }
}
