import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// EXF-008: cloud and hypervisor agents that run commands, and qemu-ga's blocked RPCs; a verdict
/// control at SL3 and SL4 alike.
@Suite struct RemoteExecTests {
    static let blockAll =
        "guest-exec,guest-exec-status,guest-file-open,guest-file-close,guest-file-read,guest-file-write,guest-file-seek,guest-file-flush,guest-ssh-add-authorized-keys,guest-set-user-password"

    /// Debian 12's qemu-guest-agent unit as this test assumes it, passing DAEMON_ARGS on.
    static let qemuUnit = """
        [Unit]
        Description=QEMU Guest Agent
        BindsTo=dev-virtio\\x2dports-org.qemu.guest_agent.0.device

        [Service]
        EnvironmentFile=-/etc/default/qemu-guest-agent
        ExecStart=/usr/sbin/qemu-ga $DAEMON_ARGS

        """

    func host() -> TempTree {
        let tree = TempTree()
        tree.directory("etc/systemd/system/multi-user.target.wants")
        tree.symlink("etc/systemd/system/multi-user.target.wants/ssh.service", to: "/lib/systemd/system/ssh.service")
        tree.directory("usr/bin")
        return tree
    }

    func qemuInstalled(_ tree: TempTree) {
        tree.file("usr/sbin/qemu-ga", "ELF")
        tree.file("lib/systemd/system/qemu-guest-agent.service", RemoteExecTests.qemuUnit)
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("remote_exec", of: RemoteExecProbe(), root: tree.path) }

    /// The agents as a live audit reports them, the tree's /run standing for the running host's
    /// (an offline root's /run says nothing of what runs).
    func liveAgents(_ tree: TempTree, forbidden: [String] = []) throws -> JSON {
        let root = try HostRoot(tree.path)
        return .array(RemoteExecProbe.agentItems(root, SystemdUnits(root: root, mode: .live), forbidden: forbidden, .live))
    }

    /// The RPCs the probe reports, `blocked` (each with where it is blocked) and the others
    /// unblocked, to be blocked in qemu-ga.conf.
    static func rpcs(_ blocked: [String: String]) -> JSON {
        .array(
            RemoteExecProbe.qemuRPCs.map { name in
                [
                    "name": .string(name), "blocked": .bool(blocked[name] != nil),
                    "source": .string(blocked[name] ?? RemoteExecProbe.qemuConf),
                ]
            })
    }

    static let blockAllNames = blockAll.split(separator: ",").map(String.init)

    // MARK: - Probe tests: the facts of each host

    @Test func noAgent() throws {
        let v = try fact(host())
        #expect(v["agents"] == [])
        #expect(v["qemu_ga"] == ["installed": false, "source": "/usr/sbin/qemu-ga"])
        #expect(
            v["hypervisor"] == [
                "sys_vendor": "not known (offline root)", "product_name": "not known (offline root)",
                "cpuinfo_flag": "not known (offline root)", "type": "not known (offline root)",
                "summary":
                    "vendor not known (offline root), product not known (offline root), cpuinfo hypervisor flag not known (offline root), /sys/hypervisor/type not known (offline root)",
            ])
    }

    @Test func qemuGuestAgentWithTheRPCsBlockedInItsConfiguration() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "# the agent's own file\n[general]\nblock-rpcs = \(RemoteExecTests.blockAll)\n")
        let blocked = Dictionary(uniqueKeysWithValues: Self.blockAllNames.map { ($0, "/etc/qemu/qemu-ga.conf:3") })
        #expect(try fact(tree)["qemu_ga"] == ["installed": true, "source": "/usr/sbin/qemu-ga", "rpcs": Self.rpcs(blocked)])
    }

    @Test func theCommandLineAndTheFileAddUp() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest-exec,guest-exec-status\n")
        tree.file(
            "etc/default/qemu-guest-agent",
            "DAEMON_ARGS=\"-b guest-file-open,guest-file-close --block-rpcs=guest-file-read,guest-file-write,guest-file-seek,guest-file-flush -bguest-ssh-add-authorized-keys,guest-set-user-password\"\n"
        )
        var blocked = Dictionary(uniqueKeysWithValues: Self.blockAllNames.map { ($0, "/etc/default/qemu-guest-agent:1") })
        for rpc in ["guest-exec", "guest-exec-status"] { blocked[rpc] = "/etc/qemu/qemu-ga.conf:2" }
        #expect(try fact(tree)["qemu_ga"]?["rpcs"] == Self.rpcs(blocked))
        // A unit that does not pass DAEMON_ARGS on: the defaults file blocks nothing.
        tree.file("lib/systemd/system/qemu-guest-agent.service", "[Service]\nExecStart=/usr/sbin/qemu-ga\n")
        #expect(
            try fact(tree)["qemu_ga"]?["rpcs"]
                == Self.rpcs(["guest-exec": "/etc/qemu/qemu-ga.conf:2", "guest-exec-status": "/etc/qemu/qemu-ga.conf:2"]))
    }

    /// Hosts with an agent that runs commands: the `agents` item each gives (unit, how, source).
    static let agentHosts: [(String, @Sendable (TempTree) -> Void, [JSON?])] = [
        (
            "amazon-ssm-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service",
                    to: "/lib/systemd/system/amazon-ssm-agent.service")
            },
            ["amazon-ssm-agent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"]
        ),
        (
            "amazon-ssm-agent's snap enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/snap.amazon-ssm-agent.amazon-ssm-agent.service",
                    to: "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service")
            },
            [
                "snap.amazon-ssm-agent.amazon-ssm-agent.service", "enabled",
                "/etc/systemd/system/multi-user.target.wants/snap.amazon-ssm-agent.amazon-ssm-agent.service",
            ]
        ),
        (
            "google-guest-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/google-guest-agent.service",
                    to: "/lib/systemd/system/google-guest-agent.service")
            },
            ["google-guest-agent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/google-guest-agent.service"]
        ),
        (
            "google-osconfig-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/google-osconfig-agent.service",
                    to: "/lib/systemd/system/google-osconfig-agent.service")
            },
            ["google-osconfig-agent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/google-osconfig-agent.service"]
        ),
        (
            "walinuxagent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/walinuxagent.service", to: "/lib/systemd/system/walinuxagent.service")
            },
            ["walinuxagent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/walinuxagent.service"]
        ),
        (
            "waagent running (its invocation link), not enabled",
            { $0.symlink("run/systemd/units/invocation:waagent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e") },
            ["waagent.service", "running", "/run/systemd/units/invocation:waagent.service"]
        ),
    ]

    @Test(arguments: RemoteExecTests.agentHosts.indices)
    func anAgentThatRunsCommands(_ row: Int) throws {
        let (name, change, expected) = RemoteExecTests.agentHosts[row]
        let tree = host()
        change(tree)
        let agents = try liveAgents(tree).arrayValue ?? []
        #expect(agents.map { [$0["unit"] ?? nil, $0["how"] ?? nil, $0["source"] ?? nil] } == [expected], "\(name)")
    }

    /// qemu-ga configurations that leave RPCs open: the RPCs they block.
    static let qemuHosts: [(String, String?, [String])] = [
        ("qemu-guest-agent installed, nothing blocked", nil, []),
        ("qemu-guest-agent with guest-exec blocked only", "[general]\nblock-rpcs=guest-exec\n", ["guest-exec"]),
        (
            "qemu-guest-agent with a wildcard, which qemu-ga does not expand",
            "[general]\nblock-rpcs=guest-exec,guest-exec-status,guest-file-*,guest-ssh-add-authorized-keys,guest-set-user-password\n",
            ["guest-exec", "guest-exec-status", "guest-ssh-add-authorized-keys", "guest-set-user-password"]
        ),
        (
            "qemu-guest-agent with blanks after the commas (names qemu-ga does not know)",
            "[general]\nblock-rpcs=" + blockAll.split(separator: ",").joined(separator: ", ") + "\n", ["guest-exec"]
        ),
        ("block-rpcs in another group", "[other]\nblock-rpcs=\(blockAll)\n", []),
    ]

    @Test(arguments: RemoteExecTests.qemuHosts.indices)
    func qemuGuestAgentWithRPCsOpen(_ row: Int) throws {
        let (name, conf, blocked) = RemoteExecTests.qemuHosts[row]
        let tree = host()
        qemuInstalled(tree)
        if let conf { tree.file("etc/qemu/qemu-ga.conf", conf) }
        let rpcs = Self.rpcs(Dictionary(uniqueKeysWithValues: blocked.map { ($0, "/etc/qemu/qemu-ga.conf:2") }))
        #expect(try fact(tree)["qemu_ga"] == ["installed": true, "source": "/usr/sbin/qemu-ga", "rpcs": rpcs], "\(name)")
    }

    /// Running is systemd's invocation link (`SystemdUnits.isActive`), for an enabled unit and
    /// one that is not; a cgroup directory left behind (a process systemd could not remove it
    /// for, or an instance's cgroup under its template's slice) is not. Enabled is any link the
    /// manager follows, a `.requires` one too.
    @Test func runningIsTheInvocationLink() throws {
        let tree = host()
        tree.symlink(
            "etc/systemd/system/sockets.target.requires/google-guest-agent.service", to: "/lib/systemd/system/google-guest-agent.service")
        tree.directory("sys/fs/cgroup/system.slice/amazon-ssm-agent.service")
        tree.directory("sys/fs/cgroup/system.slice/google-guest-agent.service")
        #expect(
            try liveAgents(tree)
                == [
                    [
                        "agent": "google-guest-agent", "unit": "google-guest-agent.service", "how": "enabled", "running": false,
                        "source": "/etc/systemd/system/sockets.target.requires/google-guest-agent.service",
                    ]
                ])
        tree.symlink("run/systemd/units/invocation:google-guest-agent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e")
        tree.symlink("run/systemd/units/invocation:amazon-ssm-agent.service", to: "9a8b7c6d5e4f40312a3b4c5d6e7f8091")
        #expect(
            try liveAgents(tree)
                == [
                    [
                        "agent": "amazon-ssm-agent", "unit": "amazon-ssm-agent.service", "how": "running", "running": true,
                        "source": "/run/systemd/units/invocation:amazon-ssm-agent.service",
                    ],
                    [
                        "agent": "google-guest-agent", "unit": "google-guest-agent.service", "how": "enabled", "running": true,
                        "source": "/etc/systemd/system/sockets.target.requires/google-guest-agent.service",
                    ],
                ])
    }

    @Test func anAgentInstalledButNotEnabledIsReported() throws {
        let tree = host()
        tree.file("usr/bin/google_guest_agent", "ELF")
        // Masked: enablement links left behind do not start it.
        tree.symlink("etc/systemd/system/multi-user.target.wants/walinuxagent.service", to: "/lib/systemd/system/walinuxagent.service")
        tree.symlink("etc/systemd/system/walinuxagent.service", to: "/dev/null")
        let v = try fact(tree)
        #expect(
            v["agents"]
                == [
                    [
                        "agent": "google-guest-agent", "unit": "google-guest-agent.service", "how": "installed, not enabled",
                        "running": [
                            "not_applicable": "offline root: whether the unit is running is not checked (known only on a live host)",
                            "source": "/run/systemd/units/invocation:google-guest-agent.service",
                        ],
                        "source": "/usr/bin/google_guest_agent",
                    ]
                ])
        // qemu-ga masked does not start when the channel appears.
        tree.file("usr/sbin/qemu-ga", "ELF")
        tree.symlink("etc/systemd/system/qemu-guest-agent.service", to: "/dev/null")
        #expect(try fact(tree)["qemu_ga"] == ["installed": false, "source": "/usr/sbin/qemu-ga"])
    }

    /// A directory of enablement links that cannot be listed (here /etc/systemd/system is a
    /// symlink loop) leaves "no agent enabled" unknown: the list is an error, never an empty list that
    /// EXF-008 would pass. An agent found enabled elsewhere still decides it.
    @Test func unlistableLinksLeaveTheAgentsUnknown() throws {
        let tree = TempTree()
        tree.symlink("etc/systemd/system", to: "/etc/systemd/system.loop")
        tree.symlink("etc/systemd/system.loop", to: "/etc/systemd/system")
        let unknown = try #require(try fact(tree)["agents"]?["error"]?.stringValue)
        #expect(unknown.hasPrefix("which units are enabled is not known: "), "\(unknown)")
        #expect(unknown.contains("/etc/systemd/system"), "\(unknown)")
        tree.symlink(
            "run/systemd/system/multi-user.target.wants/amazon-ssm-agent.service", to: "/lib/systemd/system/amazon-ssm-agent.service")
        #expect(try liveAgents(tree)[0]?["how"] == "enabled")
        // Offline, /run's links are runtime state a boot discards: still unknown.
        #expect(try fact(tree)["agents"]?["error"]?.stringValue == unknown)
    }

    /// Offline, /run is not the running host's: an invocation link left there does not make an
    /// agent "running", and whether an enabled or installed one runs is not applicable (as
    /// EDRProbe says of its units), never `false`.
    @Test func offlineNothingIsKnownToRun() throws {
        let tree = host()
        tree.symlink("run/systemd/units/invocation:waagent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e")
        #expect(try fact(tree)["agents"] == [])
        tree.symlink(
            "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service", to: "/lib/systemd/system/amazon-ssm-agent.service")
        #expect(
            try fact(tree)["agents"] == [
                [
                    "agent": "amazon-ssm-agent", "unit": "amazon-ssm-agent.service", "how": "enabled",
                    "running": [
                        "not_applicable": "offline root: whether the unit is running is not checked (known only on a live host)",
                        "source": "/run/systemd/units/invocation:amazon-ssm-agent.service",
                    ],
                    "source": "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service",
                ]
            ])
    }

    /// `systemctl mask --runtime` masks in /run/systemd/system, which systemd honours as it
    /// does /etc's: live, qemu-ga does not start when the channel appears. Offline that mask is
    /// gone at the next boot: qemu-ga is installed.
    @Test func qemuGaMaskedInRun() throws {
        let tree = host()
        qemuInstalled(tree)
        #expect(try fact(tree)["qemu_ga"]?["installed"] == true)
        tree.symlink("run/systemd/system/qemu-guest-agent.service", to: "/dev/null")
        let root = try HostRoot(tree.path)
        #expect(
            RemoteExecProbe.qemuGuestAgent(root, units: SystemdUnits(root: root, mode: .live))
                == ["installed": false, "source": "/usr/sbin/qemu-ga"])
        #expect(try fact(tree)["qemu_ga"]?["installed"] == true)
    }

    @Test func aConfigurationQemuGaWouldRefuseIsAnErrorNamingTheLine() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest-exec\nthis is not a key\n")
        #expect(
            try fact(tree)["qemu_ga"]?["rpcs"] == [
                "error": "/etc/qemu/qemu-ga.conf:3: neither a group, a key=value pair nor a comment", "source": "/etc/qemu/qemu-ga.conf",
            ])
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest\\sexec\n")
        #expect(
            try fact(tree)["qemu_ga"]?["rpcs"] == [
                "error": "/etc/qemu/qemu-ga.conf:2: block-rpcs: escape sequences are not read", "source": "/etc/qemu/qemu-ga.conf",
            ])
    }

    @Test func theHypervisorIsReportedFromDMIAndCpuinfo() throws {
        let tree = host()
        tree.file("sys/class/dmi/id/sys_vendor", "QEMU\n")
        tree.file("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n")
        tree.file("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n\n")
        // /sys/hypervisor is not in this copy of /sys: nothing is known of it.
        #expect(try fact(tree)["hypervisor"] == Self.qemuHypervisor)
    }

    /// Every unit the built-in profiles forbid is one the probe reports, and every RPC they
    /// require blocked is one it reports, so that none can go unseen.
    @Test func everyForbiddenUnitAndRequiredRPCIsReported() throws {
        let units = Set(RemoteExecProbe.agents.flatMap(\.units))
        for profile in ["sl3", "sl4"] {
            let c = try #require(try BuiltIn.profile(profile).controls.first { $0.definition.id == "EXF-008" })
            let forbidden = c.parameters["forbidden_agents"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(Set(forbidden) == units, "\(profile)")
            let rpcs = c.parameters["qemu_ga_blocked_rpcs"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(rpcs.contains("guest-exec") && rpcs.contains("guest-file-open") && rpcs.count == 10, "\(profile)")
            for rpc in rpcs { #expect(RemoteExecProbe.qemuRPCs.contains(rpc), "\(rpc)") }
        }
    }

    /// The site's denylist: its units, enabled or running, are reported like the cloud agents
    /// (running live only); without the site file they are not known.
    @Test func theUnitsTheSiteForbidsAreReportedWhenEnabledOrRunning() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/multi-user.target.wants/rmm-agent.service", to: "/lib/systemd/system/rmm-agent.service")
        tree.symlink("run/systemd/units/invocation:backup-agent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e")
        let site = "services:\n  forbidden_agents: [rmm-agent.service, backup-agent.service, absent.service]\n"
        let v = try probeFact("remote_exec", of: RemoteExecProbe(), root: tree.path, site: site)
        #expect(
            v["agents"]?.arrayValue?.map { [$0["unit"], $0["how"], $0["source"]] } == [
                ["rmm-agent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/rmm-agent.service"]
            ], "\(v)")
        let live = try liveAgents(tree, forbidden: ["rmm-agent.service", "backup-agent.service", "absent.service"])
        #expect(
            live.arrayValue?.map { [$0["unit"], $0["how"], $0["source"]] } == [
                ["rmm-agent.service", "enabled", "/etc/systemd/system/multi-user.target.wants/rmm-agent.service"],
                ["backup-agent.service", "running", "/run/systemd/units/invocation:backup-agent.service"],
            ], "\(live)")
        #expect(try fact(tree)["agents"] == [])
    }

    // MARK: - Control tests: EXF-008 over canned facts

    static let offlineHypervisor: JSON = [
        "sys_vendor": "not known (offline root)", "product_name": "not known (offline root)",
        "cpuinfo_flag": "not known (offline root)", "type": "not known (offline root)",
        "summary":
            "vendor not known (offline root), product not known (offline root), cpuinfo hypervisor flag not known (offline root), /sys/hypervisor/type not known (offline root)",
    ]
    static let qemuHypervisor: JSON = [
        "sys_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)", "cpuinfo_flag": "set",
        "type": "not known (offline root)",
        "summary":
            "vendor QEMU, product Standard PC (Q35 + ICH9, 2009), cpuinfo hypervisor flag set, /sys/hypervisor/type not known (offline root)",
    ]

    static func agent(_ name: String, unit: String, how: String, source: String) -> JSON {
        ["agent": .string(name), "unit": .string(unit), "how": .string(how), "running": .bool(how == "running"), "source": .string(source)]
    }

    /// An agent item as an offline audit reports it: whether it runs is not applicable.
    static func offline(_ item: JSON) -> JSON {
        AuditRulesProbeTests.with(
            item,
            [
                "running": [
                    "not_applicable": "offline root: whether the unit is running is not checked (known only on a live host)",
                    "source": .string(SystemdUnits.invocationLink(item["unit"]?.stringValue ?? "")),
                ]
            ])
    }

    /// The `remote_exec` fact of a host with qemu-ga installed and every RPC of `blockAll`
    /// blocked in qemu-ga.conf; each row changes one thing.
    static func remoteExec(
        agents: [JSON] = [], agentsFact: JSON? = nil, qemu: Bool = true, blocked: [String] = blockAllNames, rpcs: JSON? = nil,
        hypervisor: JSON = offlineHypervisor
    ) -> JSON {
        var qemuGA: JSONObject = ["installed": .bool(qemu), "source": "/usr/sbin/qemu-ga"]
        if qemu { qemuGA["rpcs"] = rpcs ?? Self.rpcs(Dictionary(uniqueKeysWithValues: blocked.map { ($0, "/etc/qemu/qemu-ga.conf:3") })) }
        return ["agents": agentsFact ?? .array(agents), "qemu_ga": .object(qemuGA), "hypervisor": hypervisor]
    }

    static let rmmSite: JSON = [
        "present": true, "source": "site.yaml", "services": ["forbidden_agents": ["rmm-agent.service", "backup-agent.service"]],
    ]
    static let rmm = agent(
        "rmm-agent.service", unit: "rmm-agent.service", how: "enabled",
        source: "/etc/systemd/system/multi-user.target.wants/rmm-agent.service")

    /// A row: what changes, the facts, the status (the same at SL3 and SL4).
    static let exf008Table: [(String, [String: JSON], Status)] = [
        ("no agent, no qemu-ga", ["remote_exec": remoteExec(qemu: false)], .pass),
        ("qemu-ga with the RPCs blocked", ["remote_exec": remoteExec()], .pass),
        ("a known hypervisor is reported, not judged", ["remote_exec": remoteExec(hypervisor: qemuHypervisor)], .pass),
        (
            "amazon-ssm-agent enabled",
            [
                "remote_exec": remoteExec(agents: [
                    agent(
                        "amazon-ssm-agent", unit: "amazon-ssm-agent.service", how: "enabled",
                        source: "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service")
                ])
            ], .fail
        ),
        (
            "waagent running, not enabled",
            [
                "remote_exec": remoteExec(agents: [
                    agent("walinuxagent", unit: "waagent.service", how: "running", source: "/run/systemd/units/invocation:waagent.service")
                ])
            ], .fail
        ),
        (
            "google-guest-agent installed, not enabled",
            [
                "remote_exec": remoteExec(agents: [
                    agent(
                        "google-guest-agent", unit: "google-guest-agent.service", how: "installed, not enabled",
                        source: "/usr/bin/google_guest_agent")
                ])
            ], .pass
        ),
        (
            "offline, amazon-ssm-agent enabled, whether it runs not applicable",
            [
                "remote_exec": remoteExec(agents: [
                    offline(
                        agent(
                            "amazon-ssm-agent", unit: "amazon-ssm-agent.service", how: "enabled",
                            source: "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"))
                ])
            ], .fail
        ),
        (
            "offline, google-guest-agent installed, not enabled: judged on enablement alone",
            [
                "remote_exec": remoteExec(agents: [
                    offline(
                        agent(
                            "google-guest-agent", unit: "google-guest-agent.service", how: "installed, not enabled",
                            source: "/usr/bin/google_guest_agent"))
                ])
            ], .pass
        ),
        (
            "enablement links unreadable",
            [
                "remote_exec": remoteExec(agentsFact: [
                    "error": "which units are enabled is not known: /etc/systemd/system: Too many levels of symbolic links",
                    "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/*",
                ])
            ], .error
        ),
        ("qemu-ga blocking nothing", ["remote_exec": remoteExec(blocked: [])], .fail),
        ("qemu-ga blocking guest-exec only", ["remote_exec": remoteExec(blocked: ["guest-exec"])], .fail),
        (
            "qemu-ga leaving guest-file-open open", ["remote_exec": remoteExec(blocked: blockAllNames.filter { $0 != "guest-file-open" })],
            .fail
        ),
        (
            "a qemu-ga.conf qemu-ga would refuse",
            [
                "remote_exec": remoteExec(rpcs: [
                    "error": "/etc/qemu/qemu-ga.conf:3: neither a group, a key=value pair nor a comment",
                    "source": "/etc/qemu/qemu-ga.conf",
                ])
            ], .error
        ),
        ("a unit the site forbids, enabled", ["remote_exec": remoteExec(agents: [rmm]), "site": rmmSite], .fail),
        ("the same unit, without the site file", ["remote_exec": remoteExec(agents: [rmm])], .pass),
    ]

    @Test(arguments: RemoteExecTests.exf008Table.indices)
    func exf008OverATableOfFacts(_ row: Int) throws {
        let (name, facts, expected) = RemoteExecTests.exf008Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("EXF-008", profile: profile, facts: facts)
            #expect(f.status == expected && !f.advisory, "\(profile) \(name): \(f.summary)")
            // A failure names what failed.
            if expected == .fail { #expect(f.evidence.contains { $0.ok == false }, "\(profile) \(name): \(f.evidence)") }
        }
    }

    /// The evidence of a pass reports the hypervisor; of a site's unit, the links that failed.
    @Test func theEvidenceNamesTheHypervisorAndTheFailedLinks() throws {
        let pass = try cannedFinding("EXF-008", profile: "sl3", facts: ["remote_exec": Self.remoteExec(qemu: false)])
        #expect(pass.evidence.contains { $0.observed.stringValue?.hasPrefix("vendor not known") == true }, "\(pass.evidence)")
        let running = Self.agent(
            "backup-agent.service", unit: "backup-agent.service", how: "running",
            source: "/run/systemd/units/invocation:backup-agent.service")
        let fail = try cannedFinding(
            "EXF-008", profile: "sl4",
            facts: ["remote_exec": Self.remoteExec(agents: [Self.rmm, running], qemu: false), "site": Self.rmmSite])
        #expect(
            fail.evidence.filter { $0.ok == false }.map(\.source) == [
                "/etc/systemd/system/multi-user.target.wants/rmm-agent.service", "/run/systemd/units/invocation:backup-agent.service",
            ], "\(fail.evidence)")
    }

    /// qemu-ga's RPCs as the evidence shows them: a blocked one is the good case (ok, "blocked"),
    /// an open one the failure, each with where it is blocked or is to be blocked.
    @Test func theEvidenceOfQemuGaRPCsSaysWhichAreBlocked() throws {
        func rpcEvidence(_ blocked: [String]) throws -> [Observation] {
            let f = try cannedFinding("EXF-008", profile: "sl3", facts: ["remote_exec": Self.remoteExec(blocked: blocked)])
            return f.evidence.filter { $0.source.hasPrefix(RemoteExecProbe.qemuConf) }
        }
        #expect(
            try rpcEvidence(Self.blockAllNames)
                == Self.blockAllNames.map {
                    Observation(source: "/etc/qemu/qemu-ga.conf:3", observed: true, expected: "qemu-ga RPC blocked", ok: true, subject: $0)
                })
        let open = try rpcEvidence(["guest-exec"])
        #expect(
            open.filter { $0.ok == false }
                == Self.blockAllNames.dropFirst().map {
                    Observation(
                        source: RemoteExecProbe.qemuConf, observed: false,
                        expected: "qemu-ga RPC blocked (or: not qemu-guest-agent installed)", ok: false, subject: $0)
                }, "\(open)")
        #expect(
            open.filter { $0.ok == true }
                == [
                    Observation(
                        source: "/etc/qemu/qemu-ga.conf:3", observed: true, expected: "qemu-ga RPC blocked", ok: true, subject: "guest-exec"
                    )
                ], "\(open)")
    }

    /// End to end once: the committed fixtures, qemu-ga kept with the RPCs blocked passes;
    /// amazon-ssm-agent enabled beside a qemu-ga that blocks nothing fails on both, at both
    /// levels. The point is that the fixtures stay what their names say.
    @Test func theFixtures() throws {
        let blocked = Package.fixtureRoot("remote-qemu-ga-blocked")
        let open = Package.fixtureRoot("remote-ssm-agent-and-qemu-ga-open")
        for profile in ["sl3", "sl4"] {
            let pass = try audit(root: blocked, profile: profile, probes: [RemoteExecProbe()]).findings["EXF-008"]
            #expect(pass.status == .pass, "\(profile): \(pass.summary)")
            let fail = try audit(root: open, profile: profile, probes: [RemoteExecProbe()]).findings["EXF-008"]
            #expect(fail.status == .fail, "\(profile): \(fail.summary)")
            let failed = Set(fail.evidence.filter { $0.ok == false }.map(\.source))
            #expect(failed.contains("/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"), "\(fail.evidence)")
            #expect(failed.contains(RemoteExecProbe.qemuConf), "\(fail.evidence)")
        }
    }
}
