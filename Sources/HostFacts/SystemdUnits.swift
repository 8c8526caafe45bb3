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
