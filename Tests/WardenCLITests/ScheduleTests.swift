import Testing
import WardenTestSupport

@Suite struct ScheduleTests {
    func warden(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(Package.wardenBinary, arguments)
    }

    @Test func installedUnitsPassSystemdAnalyzeVerify() throws {
        let dir = TempTree()
        let r = warden([
            "schedule", "install", "--unit-dir", dir.path, "--calendar", "*-*-* 03:00:00", "--profile", "sl4",
            "--site", "/etc/warden/site.yaml", "--metrics", "/var/lib/node_exporter/textfile/warden.prom",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let service = try #require(
            String(validating: Array(run("/bin/cat", [dir.path + "/warden-audit.service"]).stdout.utf8), as: UTF8.self))
        let timer = run("/bin/cat", [dir.path + "/warden-audit.timer"]).stdout
        // ExecStart names the absolute path of this very binary.
        let binary = run("/bin/readlink", ["-f", Package.wardenBinary]).stdout.trimmingNewline
        #expect(
            service.contains(
                "ExecStart=\(binary) audit --profile sl4 --site /etc/warden/site.yaml --metrics /var/lib/node_exporter/textfile/warden.prom"
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

    @Test func relativePathsAreRefused() {
        let dir = TempTree()
        let r = warden(["schedule", "install", "--unit-dir", dir.path, "--site", "site.yaml"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--site: must be an absolute path"))
    }
}
