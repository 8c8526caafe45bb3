import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("EXF-008", root: tree.path, probes: [RemoteExecProbe()])
    }

    @Test func noAgentPassesAtBothLevels() throws {
        let tree = host()
        let v = try fact(tree)
        #expect(v["agents"] == [])
        #expect(v["qemu_ga"]?["installed"] == false)
        #expect(v["hypervisor"]?["sys_vendor"] == "not known (offline root)")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass && f.advisory == false, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.observed.stringValue?.hasPrefix("vendor not known") == true }, "\(f.evidence)")
        }
    }

    @Test func qemuGuestAgentWithTheRPCsBlockedInItsConfigurationPasses() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "# the agent's own file\n[general]\nblock-rpcs = \(RemoteExecTests.blockAll)\n")
        let v = try fact(tree)
        let blocked = v["qemu_ga"]?["rpcs"]?.arrayValue?.filter { $0["blocked"] == true }.compactMap { $0["name"]?.stringValue }
        #expect(blocked == RemoteExecTests.blockAll.split(separator: ",").map(String.init))
        #expect(v["qemu_ga"]?["rpcs"]?.arrayValue?.first?["source"] == "/etc/qemu/qemu-ga.conf:3")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func theCommandLineAndTheFileAddUp() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest-exec,guest-exec-status\n")
        tree.file(
            "etc/default/qemu-guest-agent",
            "DAEMON_ARGS=\"-b guest-file-open,guest-file-close --block-rpcs=guest-file-read,guest-file-write,guest-file-seek,guest-file-flush -bguest-ssh-add-authorized-keys,guest-set-user-password\"\n"
        )
        let v = try fact(tree)
        let rpcs = try #require(v["qemu_ga"]?["rpcs"]?.arrayValue)
        #expect(rpcs.first { $0["name"] == "guest-file-open" }?["source"] == "/etc/default/qemu-guest-agent:1")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
        // A unit that does not pass DAEMON_ARGS on: the defaults file blocks nothing.
        tree.file("lib/systemd/system/qemu-guest-agent.service", "[Service]\nExecStart=/usr/sbin/qemu-ga\n")
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
    }

    /// What makes EXF-008 fail, each alone, at both levels.
    static let failures: [(String, @Sendable (TempTree) -> Void)] = [
        (
            "amazon-ssm-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service",
                    to: "/lib/systemd/system/amazon-ssm-agent.service")
            }
        ),
        (
            "amazon-ssm-agent's snap enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/snap.amazon-ssm-agent.amazon-ssm-agent.service",
                    to: "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service")
            }
        ),
        (
            "google-guest-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/google-guest-agent.service",
                    to: "/lib/systemd/system/google-guest-agent.service")
            }
        ),
        (
            "google-osconfig-agent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/google-osconfig-agent.service",
                    to: "/lib/systemd/system/google-osconfig-agent.service")
            }
        ),
        (
            "walinuxagent enabled",
            {
                $0.symlink(
                    "etc/systemd/system/multi-user.target.wants/walinuxagent.service", to: "/lib/systemd/system/walinuxagent.service")
            }
        ),
        (
            "waagent running (its invocation link), not enabled",
            { $0.symlink("run/systemd/units/invocation:waagent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e") }
        ),
        (
            "qemu-guest-agent installed, nothing blocked",
            {
                $0.file("usr/sbin/qemu-ga", "ELF")
                $0.file("lib/systemd/system/qemu-guest-agent.service", RemoteExecTests.qemuUnit)
            }
        ),
        (
            "qemu-guest-agent with guest-exec blocked only",
            {
                $0.file("usr/sbin/qemu-ga", "ELF")
                $0.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest-exec\n")
            }
        ),
        (
            "qemu-guest-agent with a wildcard, which qemu-ga does not expand",
            {
                $0.file("usr/sbin/qemu-ga", "ELF")
                $0.file(
                    "etc/qemu/qemu-ga.conf",
                    "[general]\nblock-rpcs=guest-exec,guest-exec-status,guest-file-*,guest-ssh-add-authorized-keys,guest-set-user-password\n"
                )
            }
        ),
        (
            "qemu-guest-agent with blanks after the commas (names qemu-ga does not know)",
            {
                $0.file("usr/sbin/qemu-ga", "ELF")
                $0.file(
                    "etc/qemu/qemu-ga.conf",
                    "[general]\nblock-rpcs=" + RemoteExecTests.blockAll.split(separator: ",").joined(separator: ", ") + "\n")
            }
        ),
        (
            "block-rpcs in another group",
            {
                $0.file("usr/sbin/qemu-ga", "ELF")
                $0.file("etc/qemu/qemu-ga.conf", "[other]\nblock-rpcs=\(RemoteExecTests.blockAll)\n")
            }
        ),
    ]

    @Test(arguments: RemoteExecTests.failures.indices)
    func eachFails(_ row: Int) throws {
        let (name, change) = RemoteExecTests.failures[row]
        let tree = host()
        change(tree)
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(name), \(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.ok == false }, "\(name): \(f.evidence)")
        }
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
            try fact(tree)["agents"]
                == [
                    [
                        "agent": "google-guest-agent", "unit": "google-guest-agent.service", "how": "enabled", "running": false,
                        "source": "/etc/systemd/system/sockets.target.requires/google-guest-agent.service",
                    ]
                ])
        tree.symlink("run/systemd/units/invocation:google-guest-agent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e")
        tree.symlink("run/systemd/units/invocation:amazon-ssm-agent.service", to: "9a8b7c6d5e4f40312a3b4c5d6e7f8091")
        #expect(
            try fact(tree)["agents"]
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

    @Test func anAgentInstalledButNotEnabledIsReportedAndPasses() throws {
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
                        "running": false, "source": "/usr/bin/google_guest_agent",
                    ]
                ])
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
        // qemu-ga masked does not start when the channel appears.
        tree.file("usr/sbin/qemu-ga", "ELF")
        tree.symlink("etc/systemd/system/qemu-guest-agent.service", to: "/dev/null")
        #expect(try fact(tree)["qemu_ga"]?["installed"] == false)
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func aConfigurationQemuGaWouldRefuseIsAnErrorNamingTheLine() throws {
        let tree = host()
        qemuInstalled(tree)
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest-exec\nthis is not a key\n")
        #expect(
            try fact(tree)["qemu_ga"]?["rpcs"]?["error"] == "/etc/qemu/qemu-ga.conf:3: neither a group, a key=value pair nor a comment")
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
        tree.file("etc/qemu/qemu-ga.conf", "[general]\nblock-rpcs=guest\\sexec\n")
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
    }

    @Test func theHypervisorIsReportedFromDMIAndCpuinfo() throws {
        let tree = host()
        tree.file("sys/class/dmi/id/sys_vendor", "QEMU\n")
        tree.file("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n")
        tree.file("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n\n")
        let h = try #require(try fact(tree)["hypervisor"])
        #expect(h["sys_vendor"] == "QEMU")
        #expect(h["product_name"] == "Standard PC (Q35 + ICH9, 2009)")
        #expect(h["cpuinfo_flag"] == "set")
        // /sys/hypervisor is not in this copy of /sys: nothing is known of it.
        #expect(h["type"] == "not known (offline root)")
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
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

    /// The site's denylist: its units, enabled or running, fail like the cloud agents; the same
    /// unit without the site file is not known and passes.
    @Test func aUnitTheSiteForbidsFailsWhenEnabledOrRunning() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/multi-user.target.wants/rmm-agent.service", to: "/lib/systemd/system/rmm-agent.service")
        tree.symlink("run/systemd/units/invocation:backup-agent.service", to: "0b5f1c7e2d8a4f6b9c3e5a7d1f2b4c6e")
        let site = "services:\n  forbidden_agents: [rmm-agent.service, backup-agent.service, absent.service]\n"
        for profile in ["sl3", "sl4"] {
            let (facts, findings) = try audit(root: tree.path, profile: profile, site: site, probes: [RemoteExecProbe()])
            guard case .value(let v)? = facts["remote_exec"] else { throw TestFailure("no remote_exec fact") }
            #expect(
                v["agents"]?.arrayValue?.map { [$0["unit"], $0["how"]] }
                    == [["rmm-agent.service", "enabled"], ["backup-agent.service", "running"]])
            let f = findings["EXF-008"]
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(
                f.evidence.filter { $0.ok == false }.map(\.source) == [
                    "/etc/systemd/system/multi-user.target.wants/rmm-agent.service", "/run/systemd/units/invocation:backup-agent.service",
                ], "\(f.evidence)")
            let without = try audit(root: tree.path, profile: profile, probes: [RemoteExecProbe()])
            #expect(without.findings["EXF-008"].status == .pass, "\(profile)")
        }
    }

    /// The committed fixtures: qemu-ga kept with the RPCs blocked passes; amazon-ssm-agent
    /// enabled beside a qemu-ga that blocks nothing fails on both, at both levels.
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
