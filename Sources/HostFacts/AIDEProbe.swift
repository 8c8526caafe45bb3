public import WardenCore
internal import WardenFormats

/// File integrity monitoring with AIDE: the binary, its database, and a periodic check (a
/// systemd timer enabled as `SystemdUnits` reads it, or a cron job naming aide).
public struct AIDEProbe: Probe {
    public init() {}
    public let name = "aide"
    public let summary = "AIDE binary, database under /var/lib/aide, and a timer or cron job that runs it"
    public let reads = [
        "/usr/bin/aide", "/usr/sbin/aide", "/var/lib/aide/", SystemdUnits.enablingLinks("*aide*.timer"),
        "/etc/cron.daily/", "/etc/cron.d/", "/etc/crontab",
    ]
    public var facts: [String: FactType] {
        [
            "aide": .object(["source": .string, "installed": .sourced(.bool), "database": .sourced(.bool), "scheduled": .sourced(.bool)])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let binary = ["/usr/bin/aide", "/usr/sbin/aide"].first { root.exists($0) }
        let databases = ((try? root.list("/var/lib/aide")) ?? []).filter { $0.hasPrefix("aide.db") && !$0.hasPrefix("aide.db.new") }
        var schedule = context.units.enabledLink { $0.contains("aide") && $0.hasSuffix(".timer") }
        if schedule == nil {
            for dir in ["/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.d"] {
                for name in (try? root.list(dir)) ?? [] where name.contains("aide") { schedule = schedule ?? "\(dir)/\(name)" }
            }
        }
        if schedule == nil, let crontab = try? root.readText("/etc/crontab") {
            for (number, line) in configLines(crontab) where line.contains("aide") { schedule = schedule ?? "/etc/crontab:\(number)" }
        }
        return [
            "aide": .value([
                "source": "/var/lib/aide",
                "installed": ["value": .bool(binary != nil), "source": .string(binary ?? "/usr/bin/aide (absent)")],
                "database": [
                    "value": .bool(!databases.isEmpty),
                    "source": .string(databases.first.map { "/var/lib/aide/\($0)" } ?? "/var/lib/aide (no aide.db)"),
                ],
                "scheduled": schedule.map { ["value": true, "source": .string($0)] }
                    ?? context.units.known(["value": false, "source": "no enabled aide timer and no aide cron job"], links: "*aide*.timer"),
            ])
        ]
    }
}
