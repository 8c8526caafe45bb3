import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct ForwardingTimeTests {
    func finding(_ tree: TempTree, _ id: String, profile: String = "sl3") throws -> Finding {
        try audit(
            root: tree.path, profile: profile,
            probes: [LogForwardingProbe(), TimeSyncProbe(), SudoersProbe(), AccountsProbe(), SSHDConfigProbe(), SessionRecordingProbe()]
        ).findings[id]
    }

    /// Debian 12's own /etc/rsyslog.conf, which includes /etc/rsyslog.d/*.conf.
    static let debianRsyslogConf = (try? LocalFile.readText(Package.fixtureRoot("host-conformant") + "/etc/rsyslog.conf")) ?? ""

    @Test func rsyslogForwardingNeedsTLS() throws {
        let tree = TempTree()
        tree.file("etc/rsyslog.conf", Self.debianRsyslogConf)
        tree.file("etc/rsyslog.d/60-forward.conf", "*.* @@logs.example:514\n")
        let plain = try finding(tree, "LOG-006")
        #expect(plain.status == .fail)
        #expect(plain.evidence.contains { $0.source == "/etc/rsyslog.d/60-forward.conf:1" && $0.ok == false })
        tree.file("etc/rsyslog.d/60-forward.conf", "$DefaultNetstreamDriver gtls\n$ActionSendStreamDriverMode 1\n*.* @@logs.example:6514\n")
        #expect(try finding(tree, "LOG-006").status == .pass)
        tree.file(
            "etc/rsyslog.d/60-forward.conf",
            "action(type=\"omfwd\" target=\"logs.example\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n")
        #expect(try finding(tree, "LOG-006").status == .pass)
        tree.file("etc/rsyslog.d/60-forward.conf", "action(type=\"omfwd\" target=\"logs.example\" port=\"514\" protocol=\"tcp\")\n")
        #expect(try finding(tree, "LOG-006").status == .fail)
        // Without /etc/rsyslog.conf rsyslogd reads nothing of rsyslog.d.
        unlink(tree.path + "/etc/rsyslog.conf")
        tree.file(
            "etc/rsyslog.d/60-forward.conf",
            "action(type=\"omfwd\" target=\"logs.example\" port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\")\n")
        #expect(try finding(tree, "LOG-006").status == .fail)
    }

    /// Forwarding configurations as rsyslogd reads them: each is first checked to be one that
    /// rsyslogd 8.2302 (Debian 12, in the root of Scripts/roots) accepts (`rsyslogd -N1`), then
    /// judged by Warden. rsyslogd prints no parse tree, so whether a channel is encrypted is
    /// checked against rsyslog's documentation (omfwd, global(), the netstream drivers).
    static let forwardingCases: [(name: String, config: String, encrypted: Bool)] = [
        (
            "multi-line action with spaces around =",
            """
            action(
              type = "omfwd"
              target = "logs.example" port = "6514" protocol = "tcp"
              StreamDriver = "gtls"   # the GnuTLS driver
              StreamDriverMode = "1"
              StreamDriverAuthMode = "x509/name"
            )
            """, true
        ),
        (
            "global default driver, action without one",
            """
            global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="/etc/rsyslog-ca.pem")
            *.* action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriverMode="1" StreamDriverAuthMode="x509/name")
            """, true
        ),
        (
            "the OpenSSL driver",
            """
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" streamdriver="ossl" streamdrivermode="1" streamdriverauthmode="x509/name")
            """, true
        ),
        (
            "TLS driver but mode 0",
            """
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="0")
            """, false
        ),
        (
            "UDP ignores the stream driver",
            """
            action(type="omfwd" target="logs.example" port="514" protocol="udp" StreamDriver="gtls" StreamDriverMode="1")
            """, false
        ),
        (
            "plain TCP driver by default",
            """
            action(type="omfwd" target="logs.example" port="514" protocol="tcp" StreamDriverMode="1")
            """, false
        ),
        (
            "a parenthesis and a # inside a string",
            """
            template(name="t" type="string" string="(%msg%) # not a comment\n")
            action(type="omfwd" target="logs.example" port="6514" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" template="t")
            """, true
        ),
        (
            "legacy @@ with the legacy driver settings",
            """
            $DefaultNetstreamDriver gtls
            $DefaultNetstreamDriverCAFile /etc/rsyslog-ca.pem
            $ActionSendStreamDriverMode 1
            *.* @@logs.example:6514
            """, true
        ),
    ]

    /// 60 generated forwarding configurations: the parameters drawn at random (protocol, driver,
    /// mode, a global or legacy default driver), written in varied forms (one line or several,
    /// spaces around `=`, any case, comments, after a filter). rsyslogd -N1 must accept each;
    /// Warden must judge it as rsyslog's documentation does from the drawn parameters.
    static func generatedForwarding(count: Int) -> [(name: String, config: String, encrypted: Bool)] {
        var rng = SeededGenerator(seed: 8_2302)
        return (0..<count).map { n in
            let proto = ["tcp", "udp", nil].randomElement(using: &rng)!
            let driver = ["gtls", "ossl", "ptcp", nil].randomElement(using: &rng)!
            let mode = ["0", "1", nil].randomElement(using: &rng)!
            let global = ["gtls", "ossl", nil].randomElement(using: &rng)!
            let legacyGlobal = Bool.random(using: &rng)
            func name(_ s: String) -> String { [s, s.lowercased(), s.uppercased()].randomElement(using: &rng)! }
            let eq = [" = ", "=", "= "].randomElement(using: &rng)!
            var params = ["type\(eq)\"omfwd\"", "target\(eq)\"logs.example\"", "port\(eq)\"6514\""]
            if let proto { params.append("\(name("Protocol"))\(eq)\"\(proto)\"") }
            if let driver { params.append("\(name("StreamDriver"))\(eq)\"\(driver)\"") }
            if let mode { params.append("\(name("StreamDriverMode"))\(eq)\"\(mode)\"") }
            if (driver ?? global) != nil && mode == "1" { params.append("StreamDriverAuthMode\(eq)\"anon\"") }
            params.shuffle(using: &rng)
            let multiLine = Bool.random(using: &rng)
            var action = "action(" + params.joined(separator: multiLine ? "\n  " : " ") + (multiLine ? "\n)" : ")")
            if Bool.random(using: &rng) { action = "*.* " + action }
            if multiLine && Bool.random(using: &rng) { action = action.replacingFirst("\n  ", with: "  # forward everything\n  ") }
            var lines: [String] = []
            if let global {
                lines.append(
                    legacyGlobal
                        ? "$DefaultNetstreamDriver \(global)"
                        : "global(DefaultNetstreamDriver=\"\(global)\" DefaultNetstreamDriverCAFile=\"/etc/rsyslog-ca.pem\")")
                if legacyGlobal { lines.append("$DefaultNetstreamDriverCAFile /etc/rsyslog-ca.pem") }
            }
            lines.append(action)
            let effectiveDriver = driver ?? global ?? "ptcp"
            let encrypted = proto == "tcp" && ["gtls", "ossl"].contains(effectiveDriver) && mode == "1"
            return ("generated \(n)", lines.joined(separator: "\n"), encrypted)
        }
    }

    @Test func rsyslogForwardingAsRsyslogdReadsIt() throws {
        let root = try RealRoots.debian12()
        let cases = Self.forwardingCases + Self.generatedForwarding(count: 60)
        // rsyslogd -N1 on every case in one run of the root.
        let layer = TempTree(prefix: "warden-rsyslog-oracle")
        layer.file("etc/rsyslog-ca.pem", "")  // rsyslogd -N1 only checks that the CA file can be opened
        for (n, c) in cases.enumerated() {
            layer.file(
                "cases/\(n)/rsyslog.conf", Self.debianRsyslogConf.replacingFirst("/etc/rsyslog.d/*.conf", with: "/cases/\(n)/d/*.conf"))
            layer.file("cases/\(n)/d/60-forward.conf", c.config + "\n")
        }
        let script = """
            n=0
            while [ -d /cases/$n ]; do
              echo "== $n"
              /usr/sbin/rsyslogd -N1 -f /cases/$n/rsyslog.conf >/tmp/out 2>&1 || { echo "REFUSED"; grep -i error /tmp/out | head -2; }
              n=$((n+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "\(r.stderr)")
        var refused: [Int: String] = [:]
        var current = -1
        for line in r.stdout.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("== ") {
                current = Int(line.dropFirst(3)) ?? -1
                continue
            }
            if line.hasPrefix("REFUSED") {
                refused[current] = ""
            } else if refused[current] != nil {
                refused[current]! += String(line) + " "
            }
        }
        #expect(current == cases.count - 1)
        for (n, c) in cases.enumerated() {
            #expect(refused[n] == nil, "\(c.name): rsyslogd -N1 refuses it: \(refused[n] ?? "")\n\(c.config)")
            let tree = TempTree()
            tree.file("etc/rsyslog.conf", Self.debianRsyslogConf)
            tree.file("etc/rsyslog.d/60-forward.conf", c.config + "\n")
            let facts = try audit(root: tree.path, probes: [LogForwardingProbe()]).facts
            guard case .value(let v)? = facts["log_forwarding"] else {
                Issue.record("no fact")
                continue
            }
            let channels = v["channels"]?.arrayValue ?? []
            #expect(channels.count == 1, "\(c.name): \(channels)")
            #expect(channels.first?["encrypted"] == .bool(c.encrypted), "\(c.name): \(channels)\n\(c.config)")
            #expect(channels.first?["source"]?.stringValue?.hasPrefix("/etc/rsyslog.d/60-forward.conf:") == true)
        }
    }

    @Test func journalUploadNeedsHTTPSAndItsUnit() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=https://logs.example:19532\n")
        #expect(try finding(tree, "LOG-006").status == .fail)  // unit not enabled
        tree.symlink(
            "etc/systemd/system/multi-user.target.wants/systemd-journal-upload.service",
            to: "/lib/systemd/system/systemd-journal-upload.service")
        #expect(try finding(tree, "LOG-006").status == .pass)
        tree.file("etc/systemd/journal-upload.conf", "[Upload]\nURL=http://logs.example:19532\n")
        #expect(try finding(tree, "LOG-006").status == .fail)
    }

    @Test func audispRemoteWithKerberos() throws {
        let tree = TempTree()
        tree.file("etc/audit/plugins.d/au-remote.conf", "active = yes\ndirection = out\npath = /sbin/audisp-remote\n")
        tree.file("etc/audit/audisp-remote.conf", "remote_server = logs.example\ntransport = TCP\n")
        #expect(try finding(tree, "LOG-006").status == .fail)
        tree.file("etc/audit/audisp-remote.conf", "remote_server = logs.example\ntransport = KRB5\n")
        #expect(try finding(tree, "LOG-006").status == .pass)
    }

    @Test func timeDaemons() throws {
        let tree = TempTree()
        #expect(try finding(tree, "LOG-008").status == .fail)
        tree.symlink("etc/systemd/system/multi-user.target.wants/chrony.service", to: "/lib/systemd/system/chrony.service")
        tree.file("etc/chrony/chrony.conf", "driftfile /var/lib/chrony/chrony.drift\n")
        let noServer = try finding(tree, "LOG-008")
        #expect(noServer.status == .fail)
        tree.file("etc/chrony/sources.d/local.sources", "server ntp.example iburst\n")
        #expect(try finding(tree, "LOG-008").status == .pass)
        let timesyncd = TempTree()
        timesyncd.symlink(
            "etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", to: "/lib/systemd/system/systemd-timesyncd.service")
        #expect(try finding(timesyncd, "LOG-008").status == .pass)
        timesyncd.symlink("etc/systemd/system/systemd-timesyncd.service", to: "/dev/null")
        #expect(try finding(timesyncd, "LOG-008").status == .fail)  // masked
    }

    @Test func sudoLogging() throws {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n"
        let tree = TempTree()
        tree.file("etc/passwd", passwd)
        tree.file("usr/bin/sudo", "", mode: 0o755)
        // sudo logs its events, but nothing records sessions: SL3 asks for a recorder (RAND SL2).
        tree.file("etc/sudoers", "Defaults use_pty\nroot ALL=(ALL:ALL) ALL\n", mode: 0o440)
        #expect(try finding(tree, "LOG-009").status == .fail)
        tree.file("etc/sudoers", "Defaults use_pty\nDefaults log_output\nroot ALL=(ALL:ALL) ALL\n", mode: 0o440)
        #expect(try finding(tree, "LOG-009").status == .pass)
        // Recorded, but sudo's own events are not logged.
        tree.file("etc/sudoers", "Defaults use_pty\nDefaults !syslog\nDefaults log_output\nroot ALL=(ALL:ALL) ALL\n", mode: 0o440)
        #expect(try finding(tree, "LOG-009").status == .fail)
        tree.file(
            "etc/sudoers",
            "Defaults use_pty\nDefaults !syslog\nDefaults logfile=/var/log/sudo.log\nDefaults log_output\nroot ALL=(ALL:ALL) ALL\n",
            mode: 0o440)
        #expect(try finding(tree, "LOG-009", profile: "sl4").status == .pass)
        // Without sudo, sessions must still be recorded (tlog or pam_tty_audit); without the
        // accounts, whether a login shell records them cannot be known.
        let bare = TempTree()
        #expect(try finding(bare, "LOG-009").status == .error)
        bare.file("etc/passwd", passwd)
        #expect(try finding(bare, "LOG-009").status == .fail)
    }
}
