public import WardenCore
internal import WardenFormats

/// Clock synchronisation: which time daemon is enabled (systemd-timesyncd, chrony, ntpsec, ntp),
/// whether it has a server to ask, and, live, whether timesyncd reports the clock synchronised.
public struct TimeSyncProbe: Probe {
    public init() {}
    public let name = "timesync"
    public let summary = "time daemon enabled with a configured server; live synchronisation flag of timesyncd"
    public let reads = [
        SystemdUnits.enablingLinks(TimeSyncProbe.daemonUnits), "/etc/systemd/timesyncd.conf (+ drop-ins)",
        "/etc/chrony/chrony.conf", "/etc/chrony/sources.d/*.sources", "/etc/chrony/conf.d/*.conf", "/etc/ntpsec/ntp.conf", "/etc/ntp.conf",
        "/run/systemd/timesync/synchronized",
    ]
    /// The time daemons' units, as a glob for evidence.
    static let daemonUnits = "{systemd-timesyncd,chrony,ntpsec,ntp}.service"

    public var facts: [String: FactType] {
        [
            "timesync": .object([
                "source": .string, "synchronized": .sourced(.bool),
                "daemons": .list(.object(["name": .string, "source": .string, "server": .string, "configured": .bool])),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let units = context.units
        var daemons: [JSON] = []
        // systemd-timesyncd: NTP= or FallbackNTP= (Debian compiles in the debian.pool servers).
        if let link = units.enabledLink("systemd-timesyncd.service") {
            let conf = SystemdConf.read(root: root, name: "timesyncd.conf", section: "Time", valid: [:])
            let server = conf.settings["NTP"] ?? conf.settings["FallbackNTP"]
            daemons.append([
                "name": "systemd-timesyncd", "source": .string(link),
                "server": .string(server.map { "\($0.value) (\($0.source))" } ?? "compiled-in FallbackNTP servers"), "configured": true,
            ])
        }
        for (unit, files) in [
            (
                "chrony.service",
                ["/etc/chrony/chrony.conf"] + ((try? root.glob("/etc/chrony/sources.d/*.sources")) ?? [])
                    + ((try? root.glob("/etc/chrony/conf.d/*.conf")) ?? [])
            ),
            ("ntpsec.service", ["/etc/ntpsec/ntp.conf"]), ("ntp.service", ["/etc/ntp.conf"]),
        ] {
            guard let link = units.enabledLink(unit) else { continue }
            var server: String?
            for file in files where root.exists(file) {
                guard let text = try? root.readText(file) else { continue }
                for (number, line) in configLines(text) where server == nil {
                    if let first = line.words.first, ["server", "pool", "peer"].contains(first) { server = "\(file):\(number)" }
                }
            }
            daemons.append([
                "name": .string(String(unit.dropLast(".service".count))), "source": .string(link),
                "server": .string(server ?? "no server or pool line in \(files.first ?? unit)"), "configured": .bool(server != nil),
            ])
        }
        // A configured daemon found decides LOG-008's first part; without one, a daemon enabled by
        // a link in an unreadable directory may be there.
        let known = units.known(
            .array(daemons), found: daemons.contains { $0["configured"] == true }, links: TimeSyncProbe.daemonUnits)
        var fact: JSONObject = ["source": "/etc/systemd/system", "daemons": known]
        if context.mode == .live, !daemons.isEmpty, daemons.allSatisfy({ $0["name"] == "systemd-timesyncd" }) {
            let flag = "/run/systemd/timesync/synchronized"
            fact["synchronized"] = ["value": .bool(root.exists(flag)), "source": .string(flag)]
        } else {
            fact["synchronized"] = [
                "not_applicable": .string(context.mode == .live ? "synchronisation is read from timesyncd only" : "offline root"),
                "source": "/run/systemd/timesync/synchronized",
            ]
        }
        return ["timesync": .value(.object(fact))]
    }
}
