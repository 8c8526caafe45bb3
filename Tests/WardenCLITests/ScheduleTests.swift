import Testing
import WardenTestSupport

@Suite struct ScheduleTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    @Test func installedUnitsPassSystemdAnalyzeVerify() throws {
        let dir = TempTree()
        let site = dir.file("etc/site.yaml", "role: storage\n")
        let r = warden([
            "schedule", "install", "--unit-dir", dir.path, "--calendar", "*-*-* 03:00:00", "--profile", "sl4",
            "--site", site, "--metrics", "/var/lib/node_exporter/textfile/warden.prom",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let service = try #require(
            String(validating: Array(run("/bin/cat", [dir.path + "/warden-audit.service"]).stdout.utf8), as: UTF8.self))
        let timer = run("/bin/cat", [dir.path + "/warden-audit.timer"]).stdout
        // ExecStart names the absolute path of this very binary.
        let binary = run("/bin/readlink", ["-f", Package.wardenBinary]).stdout.trimmingNewline
        #expect(
            service.contains(
                "ExecStart=\(binary) audit --profile sl4 --site \(site) --metrics /var/lib/node_exporter/textfile/warden.prom"
            ))
        for line in [
            "ProtectSystem=strict", "NoNewPrivileges=yes", "IPAddressDeny=any", "RestrictAddressFamilies=AF_UNIX AF_NETLINK",
            "StateDirectory=warden", "ReadWritePaths=-/var/lib/node_exporter/textfile",
            "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE",
        ] {
            #expect(service.contains("\n" + line + "\n"), "missing \(line)")
        }
        // Nothing that would hide the host's sockets or /tmp from the audit.
        for hiding in ["PrivateNetwork", "PrivateTmp", "ProtectHome", "PrivateDevices"] { #expect(!service.contains(hiding)) }
        for line in ["OnCalendar=*-*-* 03:00:00", "Persistent=true", "RandomizedDelaySec=1h", "WantedBy=timers.target"] {
            #expect(timer.contains(line), "missing \(line)")
        }
        let verify = run("/usr/bin/systemd-analyze", ["verify", dir.path + "/warden-audit.service", dir.path + "/warden-audit.timer"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(run("/usr/bin/systemd-analyze", ["calendar", "*-*-* 03:00:00"]).status == 0)
    }

    @Test func uninstallRemovesOnlyWardensUnits() {
        let dir = TempTree()
        #expect(warden(["schedule", "install", "--unit-dir", dir.path]).status == 0)
        let r = warden(["schedule", "uninstall", "--unit-dir", dir.path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("removed \(dir.path)/warden-audit.timer"))
        #expect(run("/bin/ls", ["-A", dir.path]).stdout.isEmpty)
        dir.file("warden-audit.service", "[Service]\nExecStart=/bin/true\n")
        let foreign = warden(["schedule", "uninstall", "--unit-dir", dir.path])
        #expect(foreign.status == 64)
        #expect(foreign.stderr.contains("was not written by warden"))
        #expect(warden(["schedule", "install", "--unit-dir", dir.path]).status == 64)
    }

    /// A site file that every scheduled run would fail on is refused now, naming it; a missing
    /// unit directory is made; a binary in a build folder is warned about (the tests' own is).
    @Test func installChecksWhatTheUnitWillNeed() {
        let dir = TempTree()
        let missing = warden(["schedule", "install", "--unit-dir", dir.path, "--site", dir.path + "/absent.yaml"])
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.contains("\(dir.path)/absent.yaml"), "\(missing.stderr)")
        let bad = dir.file("bad.yaml", "rol: storage\n")
        let malformed = warden(["schedule", "install", "--unit-dir", dir.path, "--site", bad])
        #expect(malformed.status == 65)
        #expect(malformed.stderr.contains("bad.yaml:1:1: error: rol: unknown key 'rol' (did you mean 'role'?)"), "\(malformed.stderr)")
        #expect(run("/bin/ls", ["-A", dir.path]).stdout == "bad.yaml\n", "nothing written")
        let units = dir.path + "/new/system"
        let made = warden(["schedule", "install", "--unit-dir", units])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(run("/usr/bin/test", ["-f", units + "/warden-audit.timer"]).status == 0)
        #expect(made.stderr.contains("warning: ExecStart will name "), "\(made.stderr)")
        #expect(made.stderr.contains("in a SwiftPM build folder"), "\(made.stderr)")
    }

    /// An enabled timer is disabled before its unit files go: uninstall says so, in that order.
    @Test func uninstallOfAnEnabledTimerSaysWhatToDoFirst() {
        let dir = TempTree()
        #expect(warden(["schedule", "install", "--unit-dir", dir.path]).status == 0)
        dir.directory("timers.target.wants")
        _ = run("/bin/ln", ["-s", dir.path + "/warden-audit.timer", dir.path + "/timers.target.wants/warden-audit.timer"])
        let r = warden(["schedule", "uninstall", "--unit-dir", dir.path])
        #expect(r.status == 64)
        #expect(
            r.stderr.contains(
                "the timer is enabled: run `systemctl disable --now warden-audit.timer` first, then `warden schedule uninstall`, then `systemctl daemon-reload`"
            ), "\(r.stderr)")
        #expect(run("/usr/bin/test", ["-f", dir.path + "/warden-audit.timer"]).status == 0, "nothing removed")
        _ = run("/bin/rm", [dir.path + "/timers.target.wants/warden-audit.timer"])
        let after = warden(["schedule", "uninstall", "--unit-dir", dir.path])
        #expect(after.status == 0)
        #expect(after.stdout.hasSuffix("now run: systemctl daemon-reload\n"))
    }

    @Test func relativePathsAreRefused() {
        let dir = TempTree()
        let r = warden(["schedule", "install", "--unit-dir", dir.path, "--site", "site.yaml"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--site: must be an absolute path"))
    }

    /// The Debian package's units (Scripts/package) are `schedule install`'s text with the
    /// package's paths, its man page and a header of their own, so that `schedule uninstall`
    /// never removes the package's files.
    @Test func packageUnitsAreInstallsTextUnderTheirOwnHeader() throws {
        let dir = TempTree()
        let made = warden(["schedule", "package-units", "--output", dir.path + "/lib/systemd/system"])
        #expect(made.status == 0, "\(made.stderr)")
        let service = run("/bin/cat", [dir.path + "/lib/systemd/system/warden-audit.service"]).stdout
        let timer = run("/bin/cat", [dir.path + "/lib/systemd/system/warden-audit.timer"]).stdout
        let header = "# Installed by the warden package (Scripts/package); override with `systemctl edit`.\n"
        #expect(service.hasPrefix(header) && timer.hasPrefix(header))
        #expect(service.contains("\nExecStart=/usr/bin/warden audit --profile sl3 --site /etc/warden/site.yaml\n"))
        #expect(service.contains("\nDocumentation=man:warden(1)\n") && timer.contains("\nDocumentation=man:warden(1)\n"))

        let site = dir.file("etc/warden/site.yaml", "role: storage\n")
        #expect(warden(["schedule", "install", "--unit-dir", dir.path + "/etc", "--site", site]).status == 0)
        let installed = run("/bin/cat", [dir.path + "/etc/warden-audit.service"]).stdout
        func body(_ unit: String) -> [Substring] {
            unit.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("ExecStart=") && !$0.hasPrefix("Documentation=") }
        }
        #expect(body(service) == body(installed))

        let uninstall = warden(["schedule", "uninstall", "--unit-dir", dir.path + "/lib/systemd/system"])
        #expect(uninstall.status == 64)
        #expect(uninstall.stderr.contains("was not written by warden"), "\(uninstall.stderr)")
        #expect(run("/usr/bin/test", ["-f", dir.path + "/lib/systemd/system/warden-audit.service"]).status == 0)
        #expect(warden(["schedule", "package-units", "--output", dir.path, "--binary", "warden"]).status == 64)
    }
}
