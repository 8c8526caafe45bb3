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

    func findings(_ tree: TempTree, site: String? = nil) throws -> [String: Finding] {
        var out: [String: Finding] = [:]
        for profile in ["sl3", "sl4"] {
            out[profile] = try audit(root: tree.path, profile: profile, site: site, probes: [DedicatedDeviceProbe()]).findings["HRD-012"]
        }
        return out
    }

    func units(_ v: JSON) -> [String] { v["enabled_units"]?.arrayValue?.compactMap { $0["unit"]?.stringValue } ?? [] }

    @Test func theBaselineAloneWithWardensTimerPassesAtBothLevels() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/timers.target.wants/warden-audit.timer", to: "/etc/systemd/system/warden-audit.timer")
        let v = try fact(tree)
        #expect(units(v) == ["getty@tty1.service", "cron.service", "ssh.service", "apt-daily.timer", "warden-audit.timer"])
        #expect(v["enabled_units"]?.arrayValue?.first?["wanted_by"] == "getty.target")
        #expect(v["enabled_units"]?.arrayValue?.first?["state"] == "enabled")
        #expect(v["containers"] == [])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass && f.advisory == false, "\(profile): \(f.summary)")
        }
    }

    /// What systemd 252's manager starts from a configuration directory: links in `*.wants`,
    /// `*.requires` and `*.upholds`, /run's as `enabled-runtime`, /etc/systemd/user's for every
    /// user; not a regular file, a hidden entry, a masked unit or a link to /dev/null.
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
                ["cron.service", "enabled", "system"], ["ssh.service", "enabled", "system"],
                ["req.service", "enabled", "system"], ["apt-daily.timer", "enabled", "system"],
                ["rt.service", "enabled-runtime", "system"], ["pipewire.service", "enabled", "user"],
            ])
        #expect(items.first { $0["unit"] == "rt.service" }?["source"] == "/run/systemd/system/multi-user.target.wants/rt.service")
    }

    /// Each unexpected unit fails, named with the link that enables it; the site's lists allow
    /// them, at both levels.
    @Test func anUnexpectedUnitFailsNamingItsLinkUntilTheSiteAllowsIt() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/multi-user.target.wants/nginx.service", to: "/lib/systemd/system/nginx.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/falcon-sensor.service", to: "/lib/systemd/system/falcon-sensor.service")
        tree.symlink("etc/systemd/system/multi-user.target.wants/vllm.service", to: "/etc/systemd/system/vllm.service")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            let failed = f.evidence.filter { $0.ok == false }.map(\.source)
            #expect(
                Set(failed) == [
                    "/etc/systemd/system/multi-user.target.wants/nginx.service",
                    "/etc/systemd/system/multi-user.target.wants/falcon-sensor.service",
                    "/etc/systemd/system/multi-user.target.wants/vllm.service",
                ], "\(f.evidence)")
            #expect(f.summary.contains("nginx.service"), "\(f.summary)")
        }
        let partial = "services:\n  weights_units: [vllm.service]\n  edr_units: [falcon-sensor.service]\n"
        for (profile, f) in try findings(tree, site: partial) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(
                f.evidence.filter { $0.ok == false }.map(\.source) == ["/etc/systemd/system/multi-user.target.wants/nginx.service"],
                "\(f.evidence)")
        }
        let site = partial + "  allowed_units: [nginx.service]\n"
        for (profile, f) in try findings(tree, site: site) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    /// An instance is judged by its own name: the baseline's getty@tty1.service does not allow a
    /// getty on a serial line.
    @Test func anotherInstanceOfABaselineTemplateIsNotInTheBaseline() throws {
        let tree = host()
        tree.symlink("etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service", to: "/lib/systemd/system/serial-getty@.service")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.summary.contains("serial-getty@ttyS0.service"), "\(f.summary)")
        }
    }

    @Test func dockerAndPodmanContainersFailUnlessTheSiteNamesThem() throws {
        let tree = host()
        let id = String(repeating: "ab", count: 32)
        tree.file("var/lib/docker/containers/\(id)/config.v2.json", #"{"ID":"\#(id)","Name":"/jupyter","State":{"Running":true}}"#)
        tree.file(
            "home/alice/.local/share/containers/storage/overlay-containers/containers.json",
            #"[{"id":"0123456789ab","names":["scratch"],"image":"deadbeef"}]"#)
        let v = try fact(tree)
        #expect(
            v["containers"]?.arrayValue?.map { [$0["runtime"], $0["name"], $0["state"]] } == [
                ["docker", "jupyter", "running"], ["podman", "scratch", "stored"],
            ])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(
                Set(f.evidence.filter { $0.ok == false }.map(\.source)) == [
                    "/var/lib/docker/containers/\(id)/config.v2.json",
                    "/home/alice/.local/share/containers/storage/overlay-containers/containers.json",
                ], "\(f.evidence)")
        }
        let site = "services:\n  allowed_containers: [jupyter, 0123456789ab]\n"
        for (profile, f) in try findings(tree, site: site) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
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
            try fact(tree)["containers"]?["error"]
                == "/etc/containers/storage.conf:2: graphroot: expected a quoted path without escapes")
        for (profile, f) in try findings(tree) { #expect(f.status == .error, "\(profile): \(f.summary)") }
    }

    /// containerd keeps its containers in a bolt database Warden does not read: offline, with
    /// that database there, they are not known.
    @Test func containerdOfflineIsNotChecked() throws {
        let tree = host()
        tree.file("var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", "bolt")
        let v = try fact(tree)
        #expect(v["containers"]?["not_checked"]?.stringValue?.contains("bolt database") == true)
        for (profile, f) in try findings(tree) { #expect(f.status == .notChecked, "\(profile): \(f.summary)") }
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
