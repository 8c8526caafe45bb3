import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// HRD-012: the units the configuration enables and the containers on the host, against the
/// Debian 12 baseline and the site's lists; a verdict control at SL3 and SL4 alike.
@Suite struct DedicatedDeviceTests {
    /// A host that enables a part of the baseline, as Debian's packages do.
    func host() -> TempTree {
        let tree = TempTree()
        tree.directory("usr/lib/systemd/system")
        tree.symlink("etc/systemd/system/multi-user.target.wants/ssh.service", to: "/lib/systemd/system/ssh.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/cron.service", to: "/lib/systemd/system/cron.service")
        tree.symlink("etc/systemd/system/getty.target.wants/getty@tty1.service", to: "/lib/systemd/system/getty@.service")
        tree.symlink("etc/systemd/system/timers.target.wants/apt-daily.timer", to: "/lib/systemd/system/apt-daily.timer")
        // An alias is not an enablement.
        tree.symlink("etc/systemd/system/sshd.service", to: "/lib/systemd/system/ssh.service")
        return tree
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("dedicated", of: DedicatedDeviceProbe(), root: tree.path) }

    func units(_ v: JSON) -> [String] { v["enabled_units"]?.arrayValue?.compactMap { $0["unit"]?.stringValue } ?? [] }

    /// The link that enables each unit, by unit.
    func links(_ v: JSON) -> [String: JSON] {
        var out: [String: JSON] = [:]
        for item in v["enabled_units"]?.arrayValue ?? [] { if let unit = item["unit"]?.stringValue { out[unit] = item["source"] } }
        return out
    }

    // MARK: - Probe tests: the facts of a tree

    @Test func theBaselineAndWardensTimerAreListedWithTheirLinks() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/timers.target.wants/warden-audit.timer", to: "/etc/systemd/system/warden-audit.timer")
        let v = try fact(tree)
        #expect(units(v) == ["getty@tty1.service", "cron.service", "ssh.service", "apt-daily.timer", "warden-audit.timer"])
        #expect(v["enabled_units"]?.arrayValue?.first?["wanted_by"] == "getty.target")
        #expect(v["enabled_units"]?.arrayValue?.first?["state"] == "enabled")
        #expect(links(v)["warden-audit.timer"] == "/etc/systemd/system/timers.target.wants/warden-audit.timer")
        #expect(v["containers"] == [])
    }

    /// What systemd 252's manager starts from a configuration directory: links in `*.wants`,
    /// `*.requires` and `*.upholds`, /etc/systemd/user's for every user; not a regular file, a
    /// hidden entry, a masked unit or a link to /dev/null. Offline, /run's links and masks are
    /// runtime state a boot discards: rt.service is not enabled, rtmasked.service is.
    @Test func theLinksSystemdFollowsAndNoOthers() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/sockets.target.requires/req.service", to: "/lib/systemd/system/req.service")
        tree.symlink("etc/systemd/system/graphical.target.upholds/up.service", to: "/lib/systemd/system/up.service")
        tree.symlink("run/systemd/system/multi-user.target.wants/rt.service", to: "/lib/systemd/system/rt.service")
        tree.symlink("etc/systemd/user/default.target.wants/pipewire.service", to: "/usr/lib/systemd/user/pipewire.service")
        tree.file("etc/systemd/system/multi-user.target.wants/plain.service", "[Service]\nExecStart=/bin/true\n")
        tree.symlink("etc/systemd/system/multi-user.target.wants/.hidden.service", to: "/lib/systemd/system/x.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/masked.service", to: "/lib/systemd/system/masked.service")
        tree.symlink("etc/systemd/system/masked.service", to: "/dev/null")
        tree.symlink("etc/systemd/system/multi-user.target.wants/nulled.service", to: "/dev/null")
        tree.symlink("etc/systemd/system/multi-user.target.wants/rtmasked.service", to: "/lib/systemd/system/rtmasked.service")
        tree.symlink("run/systemd/system/rtmasked.service", to: "/dev/null")
        let v = try fact(tree)
        let items = try #require(v["enabled_units"]?.arrayValue)
        #expect(
            items.map { [$0["unit"], $0["state"], $0["scope"]] } == [
                ["getty@tty1.service", "enabled", "system"], ["up.service", "enabled", "system"],
                ["cron.service", "enabled", "system"], ["rtmasked.service", "enabled", "system"],
                ["ssh.service", "enabled", "system"], ["req.service", "enabled", "system"],
                ["apt-daily.timer", "enabled", "system"], ["pipewire.service", "enabled", "user"],
            ])
        #expect(
            items.first { $0["unit"] == "rtmasked.service" }?["source"]
                == "/etc/systemd/system/multi-user.target.wants/rtmasked.service")
    }

    /// Each unit beyond the baseline is listed with the link that enables it, which the control
    /// names as its evidence.
    @Test func unitsBeyondTheBaselineAreListedWithTheirLinks() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/multi-user.target.wants/nginx.service", to: "/lib/systemd/system/nginx.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/falcon-sensor.service", to: "/lib/systemd/system/falcon-sensor.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/vllm.service", to: "/etc/systemd/system/vllm.service")
        let v = try fact(tree)
        #expect(
            Set(units(v)) == [
                "getty@tty1.service", "cron.service", "ssh.service", "apt-daily.timer", "nginx.service", "falcon-sensor.service",
                "vllm.service",
            ])
        for unit in ["nginx.service", "falcon-sensor.service", "vllm.service"] {
            #expect(links(v)[unit] == .string("/etc/systemd/system/multi-user.target.wants/\(unit)"))
        }
    }

    /// An instance is listed by its own name, not its template's: the control judges
    /// serial-getty@ttyS0.service, not getty@.service.
    @Test func anInstanceIsListedByItsOwnName() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service", to: "/lib/systemd/system/serial-getty@.service")
        let v = try fact(tree)
        let item = v["enabled_units"]?.arrayValue?.first { $0["unit"] == "serial-getty@ttyS0.service" }
        #expect(item?["wanted_by"] == "getty.target")
        #expect(item?["source"] == "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service")
        #expect(units(v).contains("getty@tty1.service"))
    }

    @Test func dockerAndPodmanContainersAreListed() throws {
        let tree = host()
        let id = String(repeating: "ab", count: 32)
        tree.file("var/lib/docker/containers/\(id)/config.v2.json", #"{"ID":"\#(id)","Name":"/jupyter","State":{"Running":true}}"#)
        tree.file(
            "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
            #"[{"id":"0123456789ab","names":["scratch"],"image":"deadbeef"}]"#)
        let v = try fact(tree)
        #expect(
            v["containers"]?.arrayValue?.map { [$0["runtime"], $0["id"], $0["name"], $0["state"], $0["source"]] } == [
                ["docker", .string(id), "jupyter", "running", .string("/var/lib/docker/containers/\(id)/config.v2.json")],
                [
                    "podman", "0123456789ab", "scratch", "stored",
                    "/home/alice/.local/share/containers/storage/overlay-containers/containers.json",
                ],
            ])
    }

    /// dockerd's data-root and podman's graphroot move the state: it is read where they say.
    @Test func theRuntimesConfiguredStateDirectoriesAreRead() throws {
        let tree = host()
        tree.file("etc/docker/daemon.json", #"{"data-root": "/srv/docker"}"#)
        tree.file("srv/docker/containers/c1/config.v2.json", #"{"Name":"/web","State":{"Running":false}}"#)
        tree.file("var/lib/docker/containers/ignored/config.v2.json", #"{"Name":"/old"}"#)
        tree.file("etc/containers/storage.conf", "[storage]\ndriver = \"overlay\"\ngraphroot = \"/data/containers\"\n")
        tree.file("data/containers/vfs-containers/containers.json", #"[{"id":"p1","names":["db"]}]"#)
        let v = try fact(tree)
        #expect(
            v["containers"]?.arrayValue?.map { [$0["runtime"], $0["name"], $0["state"], $0["source"]] } == [
                ["docker", "web", "stopped", "/srv/docker/containers/c1/config.v2.json"],
                ["podman", "db", "stored", "/data/containers/vfs-containers/containers.json"],
            ])
        tree.file("etc/containers/storage.conf", "[storage]\ngraphroot = /data\n")
        #expect(
            try fact(tree)["containers"]
                == ["error": "/etc/containers/storage.conf:2: graphroot: expected a quoted path without escapes"])
    }

    /// containerd keeps its containers in a bolt database Warden does not read: offline, with
    /// that database there, they are not known.
    @Test func containerdOfflineIsNotChecked() throws {
        let tree = host()
        tree.file("var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", "bolt")
        let v = try fact(tree)
        #expect(v["containers"]?["not_checked"]?.stringValue?.contains("bolt database") == true)
        #expect(v["containers"]?.objectValue?.count == 1)
    }

    // MARK: - Control tests: HRD-012 over canned facts

    static func unit(_ name: String, wantedBy: String = "multi-user.target") -> JSON {
        [
            "unit": .string(name), "wanted_by": .string(wantedBy), "state": "enabled", "scope": "system",
            "source": .string("/etc/systemd/system/\(wantedBy).wants/\(name)"),
        ]
    }

    static let jupyterSource = "/var/lib/docker/containers/abab/config.v2.json"
    static let scratchSource = "/home/alice/.local/share/containers/storage/overlay-containers/containers.json"
    static let jupyter: JSON = ["runtime": "docker", "id": "abab", "name": "jupyter", "state": "running", "source": .string(jupyterSource)]
    static let scratch: JSON = [
        "runtime": "podman", "id": "0123456789ab", "name": "scratch", "state": "stored", "source": .string(scratchSource),
    ]

    /// The baseline part a Debian package enables, and Warden's timer; each row adds one thing.
    static func dedicated(units extra: [JSON] = [], containers: JSON = []) -> JSON {
        let baseline = [
            unit("getty@tty1.service", wantedBy: "getty.target"), unit("cron.service"), unit("ssh.service"),
            unit("apt-daily.timer", wantedBy: "timers.target"), unit("warden-audit.timer", wantedBy: "timers.target"),
        ]
        return ["enabled_units": .array(baseline + extra), "containers": containers]
    }

    static let threeUnits = [unit("nginx.service"), unit("falcon-sensor.service"), unit("vllm.service")]
    static let partialSite = "services:\n  weights_units: [vllm.service]\n  edr_units: [falcon-sensor.service]\n"
    static let link = "/etc/systemd/system/multi-user.target.wants/"

    /// Rows: case, fact, site file, status (HRD-012 is a verdict at SL3 and SL4 alike), the
    /// evidence that fails, and what the summary names.
    static let hrd012Table: [(String, JSON, String?, Status, Set<String>, String?)] = [
        ("the baseline and Warden's timer", dedicated(), nil, .pass, [], nil),
        (
            "three units beyond the baseline", dedicated(units: threeUnits), nil, .fail,
            [link + "nginx.service", link + "falcon-sensor.service", link + "vllm.service"], "nginx.service"
        ),
        (
            "the site names two as weights and EDR units", dedicated(units: threeUnits), partialSite, .fail, [link + "nginx.service"],
            "nginx.service"
        ),
        ("the site allows the third", dedicated(units: threeUnits), partialSite + "  allowed_units: [nginx.service]\n", .pass, [], nil),
        (
            "another instance of a baseline template", dedicated(units: [unit("serial-getty@ttyS0.service", wantedBy: "getty.target")]),
            nil,
            .fail, ["/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"], "serial-getty@ttyS0.service"
        ),
        ("a docker and a podman container", dedicated(containers: [jupyter, scratch]), nil, .fail, [jupyterSource, scratchSource], nil),
        (
            "the site allows one by name, one by id", dedicated(containers: [jupyter, scratch]),
            "services:\n  allowed_containers: [jupyter, 0123456789ab]\n", .pass, [], nil
        ),
        (
            "podman's storage.conf unreadable",
            dedicated(containers: ["error": "/etc/containers/storage.conf:2: graphroot: expected a quoted path without escapes"]), nil,
            .error, [], nil
        ),
        (
            "containerd's bolt database, offline",
            dedicated(containers: ["not_checked": "containerd keeps its containers in a bolt database"]), nil, .notChecked, [], nil
        ),
    ]

    @Test(arguments: DedicatedDeviceTests.hrd012Table.indices)
    func hrd012OverATableOfFacts(_ row: Int) throws {
        let (name, dedicated, siteText, expected, failing, named) = DedicatedDeviceTests.hrd012Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding(
                "HRD-012", profile: profile, facts: ["dedicated": dedicated, "site": try SysctlProbeTests.site(siteText)])
            #expect(f.status == expected && f.advisory == false, "\(name) at \(profile): \(f.summary)")
            #expect(Set(f.evidence.filter { $0.ok == false }.map(\.source)) == failing, "\(name) at \(profile): \(f.evidence)")
            if let named { #expect(f.summary.contains(named), "\(name) at \(profile): \(f.summary)") }
        }
    }

    /// End to end once: the site file's lists reach the control through the collected `site`
    /// fact, which the canned rows above build themselves.
    @Test func aSiteFileAllowsAUnitEndToEnd() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/multi-user.target.wants/nginx.service", to: "/lib/systemd/system/nginx.service")
        let probes: [any Probe] = [DedicatedDeviceProbe()]
        #expect(try audit(root: tree.path, probes: probes).findings["HRD-012"].status == .fail)
        let site = "services:\n  allowed_units: [nginx.service]\n"
        for profile in ["sl3", "sl4"] {
            let f = try audit(root: tree.path, profile: profile, site: site, probes: probes).findings["HRD-012"]
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    /// The baseline the profiles carry is what the Debian 12 base root enables, plus the two
    /// units other controls' remediations enable (docs/DAEMON-SEMANTICS.md): regenerated by
    /// listing the probe's units on the base root.
    @Test func theBaselineIsWhatTheDebian12RootEnables() throws {
        let base = try RealRoots.debian12()
        let v = try probeFact("dedicated", of: DedicatedDeviceProbe(), root: base)
        let enabled = Set(units(v))
        for profile in ["sl3", "sl4"] {
            let c = try #require(try BuiltIn.profile(profile).controls.first { $0.definition.id == "HRD-012" })
            let baseline = Set(c.parameters["baseline_units"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(baseline == enabled.union(["systemd-timesyncd.service", "unattended-upgrades.service"]), "\(profile)")
        }
    }
}
