public import WardenCore
internal import WardenFormats

/// Whether an EDR or IDS agent runs on the host (INT-005, Code Appendix 4.5(6) "EDR and/or IDS
/// tools on all networks and devices"): the site's `services.edr_units`, and the agents Warden
/// recognises by package, each enabled and, on a live host, active
/// (docs/DAEMON-SEMANTICS.md, "EDR and IDS agents").
public struct EDRProbe: Probe {
    public init() {}
    public let name = "edr"
    public let summary = "the site's EDR units and recognised EDR/IDS agents: installed, enabled, active"
    public let reads = [SystemdUnits.enablingLinks("*"), SystemdUnits.invocationLink("*"), AttackSurfaceProbe.dpkgStatus]
    public var facts: [String: FactType] {
        let unit = FactType.object([
            "name": .string, "package": .string, "version": .string, "enabled": .sourced(.bool), "active": .sourced(.bool),
        ])
        return ["edr": .object(["units": .list(unit), "agents": .list(unit), "source": .string])]
    }

    /// An agent recognised by its Debian package and the unit that package installs.
    public struct Agent: Sendable {
        public let package: String
        public let unit: String
    }

    /// Agents recognised without a site file, by the package names and units their vendors'
    /// Linux install guides give (CrowdStrike Falcon, Microsoft Defender for Endpoint,
    /// SentinelOne, Elastic Agent, Wazuh) and Debian 12's own host and network IDS packages
    /// (osquery is not in Debian; suricata and samhain are). Any other agent is named in the
    /// site's `services.edr_units`.
    public static let agents = [
        Agent(package: "falcon-sensor", unit: "falcon-sensor.service"),
        Agent(package: "mdatp", unit: "mdatp.service"),
        Agent(package: "sentinelagent", unit: "sentinelone.service"),
        Agent(package: "elastic-agent", unit: "elastic-agent.service"),
        Agent(package: "wazuh-agent", unit: "wazuh-agent.service"),
        Agent(package: "osquery", unit: "osqueryd.service"),
        Agent(package: "suricata", unit: "suricata.service"),
        Agent(package: "samhain", unit: "samhain.service"),
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let systemd = context.units
        let units = (context.site?.edrUnits ?? []).map { JSON.object(EDRProbe.unitItem($0, systemd, context.mode)) }
        let agents: JSON
        switch AttackSurfaceProbe.packageStates(context.root) {
        case .success(let states):
            var items: [JSON] = []
            for agent in EDRProbe.agents {
                guard let state = states.first(where: { $0.package == agent.package && $0.status == "installed" }) else { continue }
                var item = EDRProbe.unitItem(agent.unit, systemd, context.mode)
                item["package"] = .string(agent.package)
                item["version"] = .string(state.version)
                items.append(.object(item))
            }
            agents = .array(items)
        case .failure(let e):
            agents = ["error": .string(e.reason), "source": .string(AttackSurfaceProbe.dpkgStatus)]
        }
        return [
            "edr": .value(["units": .array(units), "agents": agents, "source": "site file (services.edr_units) and /var/lib/dpkg/status"])
        ]
    }

    /// A unit is enabled by a link the manager follows, and active while systemd keeps its
    /// invocation link (`SystemdUnits`). Offline there is no such state: the active part does not
    /// apply, and the control decides on enablement alone.
    static func unitItem(_ unit: String, _ systemd: SystemdUnits, _ mode: AuditMode) -> JSONObject {
        let enabled = systemd.enabledFact(unit)
        let invocation = SystemdUnits.invocationLink(unit)
        let active: JSON
        if mode == .offline {
            active = [
                "not_applicable": "offline root: whether the unit is active is not checked (known only on a live host)",
                "source": .string(invocation),
            ]
        } else {
            let running = systemd.isActive(unit)
            active = ["value": .bool(running), "source": .string(running ? invocation : "\(invocation) (absent: not active)")]
        }
        return ["name": .string(unit), "enabled": enabled, "active": active]
    }
}
