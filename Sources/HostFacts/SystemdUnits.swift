/// Whether a systemd unit is enabled, from the symlinks `systemctl enable` leaves in the
/// `*.wants` directories of /etc/systemd/system (and not masked to /dev/null). Shared by the
/// probes that ask about a service.
struct SystemdUnits {
    let root: HostRoot

    /// The `.wants` link that enables `unit`, or nil (also nil when the unit is masked).
    func enabledLink(_ unit: String) -> String? {
        if root.isMasked("/etc/systemd/system/\(unit)") { return nil }
        guard let dirs = try? root.list("/etc/systemd/system") else { return nil }
        for dir in dirs where dir.hasSuffix(".wants") {
            let link = "/etc/systemd/system/\(dir)/\(unit)"
            if (try? root.info(link, followFinal: false)) != nil { return link }
        }
        return nil
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
    /// user units for every user, `systemctl --global enable`). The vendor directories
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
        var out: [UnitEnablement] = []
        for (dir, state, scope) in SystemdUnits.enablementDirectories {
            let names: [String]
            do { names = try root.list(dir) } catch {
                if error.isNotFound { continue }
                throw error
            }
            for sub in names.sorted() where !sub.hasPrefix(".") {
                guard let dot = sub.lastIndex(of: "."), [".wants", ".requires", ".upholds"].contains(sub[dot...]) else { continue }
                let subdir = dir + "/" + sub
                guard root.isDirectory(subdir) else { continue }
                for name in try root.list(subdir).sorted() where !name.hasPrefix(".") {
                    let link = subdir + "/" + name
                    guard (try? root.info(link, followFinal: false))?.kind == .symlink else { continue }
                    let masks = scope == "system" ? ["/etc/systemd/system", "/run/systemd/system"] : [dir]
                    if root.isMasked(link) || masks.contains(where: { root.isMasked($0 + "/" + name) }) { continue }
                    out.append(UnitEnablement(unit: name, wantedBy: String(sub[..<dot]), state: state, scope: scope, link: link))
                }
            }
        }
        return out
    }
}
