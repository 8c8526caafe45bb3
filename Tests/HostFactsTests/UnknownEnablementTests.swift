import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// Whether a unit is enabled, when a directory of enablement links cannot be listed
/// (`SystemdUnits.enabledFact` and `known`): every probe that asks states the unknown instead of
/// "not enabled", unless what it found decides anyway. The controls' rows for these stated
/// errors are in each control's own table (LOG-001, EXF-001, INT-005, INT-007, EXF-004, INT-004,
/// INT-001, LOG-006, LOG-008).
@Suite struct UnknownEnablementTests {
    static let unknown = "which units are enabled is not known: /etc/systemd/system: Too many levels of symbolic links"

    /// A root whose /etc/systemd/system is a symlink loop, so that listing it fails (ELOOP).
    static func unlistable() -> TempTree {
        let tree = TempTree()
        tree.symlink("etc/systemd/system", to: "/etc/systemd/system.loop")
        tree.symlink("etc/systemd/system.loop", to: "/etc/systemd/system")
        tree.file("var/lib/dpkg/status", "")
        return tree
    }

    static func stated(_ unit: String) -> JSON {
        ["error": .string(unknown), "source": .string("{/etc,/run}/systemd/system/*.{wants,requires,upholds}/\(unit)")]
    }

    /// A row: the probe, the site file, the fact path, the stated value there.
    static let rows: [(any Probe, String?, [String], JSON)] = [
        (AuditdProbe(), nil, ["auditd", "enabled"], stated("auditd.service")),
        (DevicesProbe(), nil, ["devices", "usbguard", "enabled"], stated("usbguard.service")),
        (EDRProbe(), "services:\n  edr_units: [acme-edr.service]\n", ["edr", "units", "0", "enabled"], stated("acme-edr.service")),
        (ExecutionControlProbe(), nil, ["execution", "fapolicyd", "enabled"], stated("fapolicyd.service")),
        (NetworkPolicyProbe(), nil, ["nftables", "enabled"], stated("nftables.service")),
        (PatchProbe(), nil, ["patches", "automatic", "apt_daily_timer"], stated("apt-daily.timer")),
        (PatchProbe(), nil, ["patches", "automatic", "apt_daily_upgrade_timer"], stated("apt-daily-upgrade.timer")),
        (AIDEProbe(), nil, ["aide", "scheduled"], stated("*aide*.timer")),
        (TimeSyncProbe(), nil, ["timesync", "daemons"], stated("{systemd-timesyncd,chrony,ntpsec,ntp}.service")),
    ]

    @Test(arguments: UnknownEnablementTests.rows.indices)
    func aUnitWithNoLinkFoundIsUnknown(_ row: Int) throws {
        let (probe, site, path, expected) = Self.rows[row]
        let tree = Self.unlistable()
        let fact = try probeFact(path[0], of: probe, root: tree.path, site: site)
        var value: JSON? = fact
        for key in path.dropFirst() { value = if let i = Int(key) { value?[i] } else { value?[key] } }
        #expect(value == expected, "\(path.joined(separator: "."))")
    }

    /// Live, a link found in /run while /etc/systemd/system cannot be listed: a mask there may
    /// cancel it, so a unit a control requires is not known to be enabled. Offline the /run
    /// link does not count at all (runtime state a boot discards).
    @Test func aLinkFoundWithMasksUnknownIsUnknown() throws {
        let tree = Self.unlistable()
        tree.symlink("run/systemd/system/multi-user.target.wants/auditd.service", to: "/lib/systemd/system/auditd.service")
        let root = try HostRoot(tree.path)
        #expect(SystemdUnits(root: root, mode: .live).enabledFact("auditd.service") == Self.stated("auditd.service"))
        #expect(try probeFact("auditd", of: AuditdProbe(), root: tree.path)["enabled"] == Self.stated("auditd.service"))
    }

    /// Live, the same link for a unit a control forbids decides: it may start the unit.
    @Test func aForbiddenLinkFoundWithMasksUnknownStillDecides() throws {
        let tree = Self.unlistable()
        tree.symlink("run/systemd/system/multi-user.target.wants/autofs.service", to: "/lib/systemd/system/autofs.service")
        let root = try HostRoot(tree.path)
        #expect(
            AttackSurfaceProbe.automount(root, units: SystemdUnits(root: root, mode: .live)) == [
                ["unit": "autofs.service", "source": "/run/systemd/system/multi-user.target.wants/autofs.service", "how": "enabled"]
            ])
    }

    /// Nothing found for the automounters: the error points at their links, not at every unit's.
    @Test func unknownAutomountNamesItsUnits() throws {
        let tree = Self.unlistable()
        #expect(
            try probeFact("attack_surface", of: AttackSurfaceProbe(), root: tree.path)["automount"]
                == Self.stated("{autofs,udisks2}.service"))
    }

    /// /etc/systemd/user enables user units (`systemctl --global enable`): that it cannot be
    /// listed says nothing of what the system manager starts.
    @Test func anUnlistableUserScopeLeavesSystemUnitsKnown() throws {
        let tree = TempTree()
        tree.file("var/lib/dpkg/status", "")
        tree.symlink("etc/systemd/user", to: "/etc/systemd/user.loop")
        tree.symlink("etc/systemd/user.loop", to: "/etc/systemd/user")
        tree.symlink("etc/systemd/system/multi-user.target.wants/auditd.service", to: "/lib/systemd/system/auditd.service")
        #expect(
            try probeFact("auditd", of: AuditdProbe(), root: tree.path)["enabled"]
                == ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/auditd.service"])
        #expect(
            try probeFact("nftables", of: NetworkPolicyProbe(), root: tree.path)["enabled"] == [
                "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/nftables.service (no link, or masked)",
            ])
    }

    /// A cron job running AIDE schedules it whatever the unread links hold.
    @Test func anAideCronJobStillDecides() throws {
        let tree = Self.unlistable()
        tree.file("etc/cron.daily/aide", "#!/bin/sh\n")
        #expect(try probeFact("aide", of: AIDEProbe(), root: tree.path)["scheduled"] == ["value": true, "source": "/etc/cron.daily/aide"])
    }

    /// A time daemon whose link is in /run while /etc/systemd/system cannot be listed is not
    /// known to be enabled, with a server or without (offline the /run link does not count).
    @Test func aTimeDaemonFoundWithMasksUnknownIsUnknown() throws {
        let tree = Self.unlistable()
        tree.symlink("run/systemd/system/multi-user.target.wants/chrony.service", to: "/lib/systemd/system/chrony.service")
        #expect(
            try probeFact("timesync", of: TimeSyncProbe(), root: tree.path)["daemons"]
                == Self.stated("{systemd-timesyncd,chrony,ntpsec,ntp}.service"))
        tree.file("etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\n")
        #expect(
            try probeFact("timesync", of: TimeSyncProbe(), root: tree.path)["daemons"]
                == Self.stated("{systemd-timesyncd,chrony,ntpsec,ntp}.service"))
    }

    /// systemd-journal-upload with an https URL and its unit's links unread: a channel that may
    /// be the encrypted one is an error item; with http it fails LOG-006 either way and is listed.
    @Test func anHttpsJournalUploadIsUnknown() throws {
        let tree = Self.unlistable()
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=https://logs.example:19532\n")
        #expect(
            try probeFact("log_forwarding", of: LogForwardingProbe(), root: tree.path)["channels"] == [
                ["error": .string(Self.unknown), "kind": "systemd-journal-upload", "source": "/etc/systemd/journal-upload.conf:2"]
            ])
        // In clear it fails LOG-006 either way: listed, saying what is not known.
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=http://logs.example:19532\n")
        #expect(
            try probeFact("log_forwarding", of: LogForwardingProbe(), root: tree.path)["channels"] == [
                [
                    "destination": "http://logs.example:19532", "encrypted": false, "kind": "systemd-journal-upload",
                    "source": .string(
                        "/etc/systemd/journal-upload.conf:2 (sent only if systemd-journal-upload.service is enabled; \(Self.unknown))"),
                ]
            ])
    }

    /// rsyslog forwarding over TLS and audisp-remote over Kerberos with the links of the daemons
    /// that send them unread: each may be the encrypted channel, so each is an error item; a
    /// clear one fails LOG-006 either way and is listed as such.
    @Test func forwardingByAnUnreadDaemonIsUnknown() throws {
        let tree = Self.unlistable()
        tree.file("etc/rsyslog.conf", "$IncludeConfig /etc/rsyslog.d/*.conf\n")
        tree.file(
            "etc/rsyslog.d/60-forward.conf",
            "action(type=\"omfwd\" target=\"logs.example\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n*.* @logs.example\n"
        )
        tree.file("etc/audit/plugins.d/au-remote.conf", "active = yes\n")
        tree.file("etc/audit/audisp-remote.conf", "remote_server = logs.example\ntransport = krb5\n")
        #expect(
            try probeFact("log_forwarding", of: LogForwardingProbe(), root: tree.path)["channels"] == [
                ["error": .string(Self.unknown), "kind": "audisp-remote", "source": "/etc/audit/audisp-remote.conf:1"],
                ["error": .string(Self.unknown), "kind": "rsyslog omfwd", "source": "/etc/rsyslog.d/60-forward.conf:1"],
                [
                    "destination": "@logs.example", "encrypted": false, "kind": "rsyslog",
                    "source": .string("/etc/rsyslog.d/60-forward.conf:2 (sent only if rsyslog.service is enabled; \(Self.unknown))"),
                ],
            ])
    }

    /// No sshd binary and no configuration, and the ssh units' links unread: whether a server is
    /// there is unknown, not "no OpenSSH server" (which makes the SSH controls not apply).
    @Test func noServerSeenIsUnknown() throws {
        let tree = Self.unlistable()
        let facts = try audit(root: tree.path, probes: [SSHDConfigProbe(), LoginBannerProbe(), NetworkPolicyProbe()]).facts
        let reason = "whether an OpenSSH server is present is not known: no sshd binary or configuration, and \(Self.unknown)"
        #expect(facts["sshd"] == .unavailable(.error(reason)))
        #expect(facts["login_banner"] == .unavailable(.error(reason)))
        #expect(facts["ssh_management"] == .unavailable(.error(reason)))
    }
}
