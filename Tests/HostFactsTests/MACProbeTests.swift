import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct MACProbeTests {
    func finding(_ root: String, profile: String = "sl3") throws -> Finding {
        try audit(root: root, profile: profile, probes: [MACProbe()]).findings["ACC-012"]
    }

    @Test func selinuxEnforcingPasses() throws {
        for profile in ["sl3", "sl4"] {
            let f = try finding(Package.fixtureRoot("mac-selinux-enforcing"), profile: profile)
            #expect(f.status == .pass, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/sys/fs/selinux/enforce" && $0.observed == true })
        }
    }

    @Test func selinuxPermissiveFails() throws {
        let f = try finding(Package.fixtureRoot("mac-selinux-permissive"))
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/sys/fs/selinux/enforce" && $0.observed == false })
        #expect(f.summary.contains("SELinux enforcing is false"))
        #expect(f.summary.contains("AppArmor is not enabled"))
    }

    @Test func apparmorEnforcingEveryProfilePasses() throws {
        let f = try finding(Package.fixtureRoot("mac-apparmor-enforcing"))
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/sys/kernel/security/apparmor/profiles:7" && $0.observed == "/usr/sbin/chronyd" })
    }

    @Test func apparmorComplainProfileFails() throws {
        let f = try finding(Package.fixtureRoot("mac-apparmor-complain-profile"))
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/sys/kernel/security/apparmor/profiles:8" })
        #expect(evidence.observed == "/usr/local/bin/weights-server")
        #expect(f.summary.contains("complain mode"))
    }

    @Test func apparmorEnabledWithoutProfilesFails() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "Y\n")
        t.file("sys/kernel/security/apparmor/profiles", "")
        let f = try finding(t.path)
        #expect(f.status == .fail)
        #expect(f.summary.contains("enforces no profile"))
    }

    @Test func apparmorDisabledFails() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "N\n")
        t.file("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\n")
        #expect(try finding(t.path).status == .fail)
    }

    @Test func garbageInTheProfileListIsAnErrorNamingTheLine() throws {
        let t = TempTree()
        t.file("sys/module/apparmor/parameters/enabled", "Y\n")
        t.file("sys/kernel/security/apparmor/profiles", "/usr/bin/man (enforce)\nnot a profile line\n")
        let f = try finding(t.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("/sys/kernel/security/apparmor/profiles:2"))
    }

    @Test func unexpectedRuntimeValueIsAnErrorNamingThePath() throws {
        let t = TempTree()
        t.file("sys/fs/selinux/enforce", "2\n")
        let f = try finding(t.path)
        #expect(f.status == .error)
        #expect(f.summary.contains("/sys/fs/selinux/enforce: unexpected value '2'"))
    }

    @Test func offlineSELinuxConfigEnforcingPasses() throws {
        let t = TempTree()
        t.file("etc/selinux/config", "# comment\nSELINUX=Enforcing\nSELINUXTYPE=targeted\n")
        let f = try finding(t.path)
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/etc/selinux/config:2" && $0.observed == true })
    }

    @Test func offlineKernelCommandLineOverridesSELinuxConfig() throws {
        let t = TempTree()
        t.file("etc/selinux/config", "SELINUX=enforcing\n")
        t.file("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"quiet enforcing=0\"\n")
        let f = try finding(t.path)
        // SELinux does not enforce; AppArmor's runtime state is unknown offline.
        #expect(f.status == .notChecked)
        #expect(f.evidence.contains { $0.source == "/etc/default/grub:2" && $0.observed == false })
    }

    @Test func offlineAppArmorComplainProfileInConfigurationFails() throws {
        let f = try finding(Package.fixtureRoot("mac-offline-apparmor-complain-configured"))
        #expect(f.status == .fail)
        let evidence = try #require(f.evidence.first { $0.source == "/etc/apparmor.d/usr.local.bin.weights-server:5" })
        #expect(evidence.observed == "weights-server")
        // Disabled profiles and dpkg leftovers are not loaded, so they do not count.
        #expect(!f.evidence.contains { $0.source.contains("old-tool") || $0.source.contains("dpkg-old") })
    }

    @Test func offlineForceComplainEntryFails() throws {
        let t = TempTree()
        t.file("etc/apparmor.d/usr.sbin.chronyd", "/usr/sbin/chronyd {\n}\n")
        t.symlink("etc/apparmor.d/force-complain/usr.sbin.chronyd", to: "/etc/apparmor.d/usr.sbin.chronyd")
        let f = try finding(t.path)
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/etc/apparmor.d/force-complain/usr.sbin.chronyd" })
    }

    @Test func offlineAppArmorWithoutComplainProfilesIsNotChecked() throws {
        let t = TempTree()
        t.file("etc/apparmor.d/usr.sbin.chronyd", "/usr/sbin/chronyd {\n  capability sys_time,\n}\n")
        let f = try finding(t.path)
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("not available on an offline root"))
    }

    @Test(arguments: [
        ("profile x /usr/bin/x flags=(complain) {", true),
        ("/usr/bin/x flags = ( attach_disconnected , complain ) {", true),
        ("/usr/bin/x flags=(enforce) {", false),
        ("/usr/bin/x flags=(unconfined) {", false),
        ("/usr/bin/complain-tool {", false),
    ])
    func complainFlags(line: String, complain: Bool) {
        #expect(MACProbe.declaresComplain(Substring(line)) == complain)
    }
}
