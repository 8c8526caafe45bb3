import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Boot and kernel integrity: Secure Boot (INT-001), lockdown (INT-002), module signatures
/// (INT-003), AIDE (INT-006) and the GRUB password (INT-009). Probe tests build a root and assert
/// the facts; control tests evaluate tables of canned facts at sl3 and sl4.
@Suite struct IntegrityProbeTests {
    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    let variable = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0f1f4c7b5c8"
    static let offlineLockdown =
        "offline root: no /sys/kernel/security/lockdown, so the running kernel's state there is not known"

    // MARK: - Probe tests

    @Test func secureBootVariable() throws {
        let tree = TempTree()
        let source = "/" + variable
        tree.bytes(variable, [0x06, 0, 0, 0, 1])
        #expect(
            try probeFact("secure_boot", of: SecureBootProbe(), root: tree.path) == ["enabled": Self.sourced(true, source), "uefi": true])
        tree.bytes(variable, [0x06, 0, 0, 0, 0])
        #expect(try probeFact("secure_boot", of: SecureBootProbe(), root: tree.path)["enabled"] == Self.sourced(false, source))
        tree.bytes(variable, [0x06, 0, 0])
        #expect(
            try probeFact("secure_boot", of: SecureBootProbe(), root: tree.path)["enabled"]
                == [
                    "error": .string(source + ": expected 5 bytes (4 attribute bytes and the value), found 3"), "source": .string(source),
                ])
    }

    @Test func biosBootIsNoSecureBootAndOfflineIsNotChecked() throws {
        let bios = TempTree()
        bios.directory("sys/firmware/acpi")
        #expect(
            try probeFact("secure_boot", of: SecureBootProbe(), root: bios.path)
                == ["enabled": Self.sourced(false, "/sys/firmware/efi (absent: the host booted through BIOS)"), "uefi": false])
        let offline = TempTree()
        offline.directory("etc")
        #expect(
            try probeFact("secure_boot", of: SecureBootProbe(), root: offline.path)["enabled"]
                == [
                    "not_checked": "offline root: no /sys/firmware/efi, so the running kernel's state there is not known",
                    "source": "/sys/firmware/efi",
                ])
    }

    @Test func lockdownModes() throws {
        let tree = TempTree()
        func integrity() throws -> JSON { try probeFact("kernel_integrity", of: LockdownProbe(), root: tree.path) }
        tree.file("sys/kernel/security/lockdown", "none [integrity] confidentiality\n")
        // The copied /sys holds the module parameters directory, without sig_enforce: the
        // kernel has no module signing (ProbeContext.sysfs).
        tree.directory("sys/module/module/parameters")
        #expect(try integrity()["lockdown"] == Self.sourced("integrity", "/sys/kernel/security/lockdown"))
        #expect(try integrity()["sig_enforce"] == Self.sourced(nil, "/sys/module/module/parameters/sig_enforce (absent)"))
        tree.file("sys/kernel/security/lockdown", "[none] integrity confidentiality\n")
        #expect(try integrity()["lockdown"] == Self.sourced("none", "/sys/kernel/security/lockdown"))
        tree.file("sys/kernel/security/lockdown", "garbage\n")
        #expect(
            try integrity()["lockdown"]
                == ["error": "/sys/kernel/security/lockdown: unexpected content 'garbage'", "source": "/sys/kernel/security/lockdown"])
        // An offline root without /sys says it cannot know.
        let empty = TempTree()
        #expect(
            try probeFact("kernel_integrity", of: LockdownProbe(), root: empty.path)["lockdown"]
                == ["not_checked": .string(Self.offlineLockdown), "source": "/sys/kernel/security/lockdown"])
    }

    @Test func moduleSignaturesFromTheCommandLineTheModuleParameterAndSysctl() throws {
        let tree = TempTree()
        tree.directory("sys/module")
        // Without a command line to look at, the whole fact cannot be had.
        let none = try audit(root: tree.path, probes: [KernelCmdlineProbe()]).facts["cmdline"]
        #expect(none == .unavailable(Unavailable(.notChecked, "neither /proc/cmdline nor /etc/default/grub exists (offline root)")))
        tree.file("proc/cmdline", "root=/dev/sda1 module.sig_enforce=1\n")
        let cmdline = try probeFact("cmdline", of: KernelCmdlineProbe(), root: tree.path)
        #expect(cmdline["parameters"] == ["module.sig_enforce": 1, "root": "/dev/sda1"])
        #expect(cmdline["source"] == "/proc/cmdline")
        #expect(cmdline["runtime"] == true)

        func modulesDisabled() throws -> JSON? {
            try probeFact("sysctl", of: SysctlProbe(), root: tree.path)["kernel"]?["modules_disabled"]?["values"]
        }
        #expect(
            try modulesDisabled()
                == [
                    Self.sourced(
                        nil, "not set in any sysctl.d file, and the kernel's default is not known (no kernel configuration in /boot)")
                ])
        tree.file("proc/sys/kernel/modules_disabled", "1\n")
        tree.file("etc/sysctl.d/99-lock.conf", "kernel.modules_disabled = 1\n")
        #expect(
            try modulesDisabled()
                == [
                    Self.sourced(1, "/proc/sys/kernel/modules_disabled (runtime)"),
                    Self.sourced(1, "/etc/sysctl.d/99-lock.conf:1 (persistent)"),
                ])
        tree.file("sys/module/module/parameters/sig_enforce", "Y\n")
        #expect(
            try probeFact("kernel_integrity", of: LockdownProbe(), root: tree.path)["sig_enforce"]
                == Self.sourced(true, "/sys/module/module/parameters/sig_enforce"))
    }

    @Test func aideNeedsBinaryDatabaseAndSchedule() throws {
        let tree = TempTree()
        tree.file("usr/bin/aide", "", mode: 0o755)
        tree.file("var/lib/aide/aide.db", "db")
        let unscheduled = try probeFact("aide", of: AIDEProbe(), root: tree.path)
        #expect(unscheduled["installed"] == Self.sourced(true, "/usr/bin/aide"))
        #expect(unscheduled["database"] == Self.sourced(true, "/var/lib/aide/aide.db"))
        #expect(unscheduled["scheduled"] == Self.sourced(false, "no enabled aide timer and no aide cron job"))
        tree.symlink("etc/systemd/system/timers.target.wants/dailyaidecheck.timer", to: "/lib/systemd/system/dailyaidecheck.timer")
        #expect(
            try probeFact("aide", of: AIDEProbe(), root: tree.path)["scheduled"]
                == Self.sourced(true, "/etc/systemd/system/timers.target.wants/dailyaidecheck.timer"))
        let cron = TempTree()
        cron.file("usr/bin/aide", "", mode: 0o755)
        cron.file("var/lib/aide/aide.db.new", "db")
        cron.file("etc/cron.daily/aide", "#!/bin/sh\n")
        let uncommitted = try probeFact("aide", of: AIDEProbe(), root: cron.path)
        #expect(uncommitted["scheduled"] == Self.sourced(true, "/etc/cron.daily/aide"))
        // Only an uncommitted aide.db.new: no database.
        #expect(uncommitted["database"] == Self.sourced(false, "/var/lib/aide (no aide.db)"))
        let empty = TempTree()
        #expect(try probeFact("aide", of: AIDEProbe(), root: empty.path)["installed"] == Self.sourced(false, "/usr/bin/aide (absent)"))
    }

    @Test func grubPassword() throws {
        let tree = TempTree()
        let empty = TempTree()
        tree.file("boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n}\n")
        #expect(
            try probeFact("bootloader", of: BootloaderProbe(), root: tree.path)["grub_password"]
                == Self.sourced(false, "/boot/grub/grub.cfg"))
        tree.file("boot/grub/grub.cfg", "set superusers=\"root\"\npassword_pbkdf2 root grub.pbkdf2.sha512.10000.ABC\n")
        // The line INT-009's evidence names.
        #expect(
            try probeFact("bootloader", of: BootloaderProbe(), root: tree.path)["grub_password"]
                == Self.sourced(true, "/boot/grub/grub.cfg:2"))
        #expect(
            try probeFact("bootloader", of: BootloaderProbe(), root: empty.path)["grub_password"]
                == [
                    "error":
                        "no GRUB configuration found (/boot/grub/grub.cfg): GRUB is not installed, update-grub has not run, or /boot is not mounted",
                    "source": "/boot/grub/grub.cfg",
                ])
    }

    /// A password in user.cfg counts only where grub.cfg reads user.cfg (Fedora's 01_users);
    /// Debian's grub.cfg never does, so there it protects nothing.
    @Test func grubUserCfgCountsOnlyWhenGrubCfgReadsIt() throws {
        let tree = TempTree()
        tree.file("boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n}\n")
        tree.file("boot/grub/user.cfg", "GRUB2_PASSWORD=grub.pbkdf2.sha512.10000.ABC\n")
        let debian = try probeFact("bootloader", of: BootloaderProbe(), root: tree.path)
        #expect(debian["grub_password"] == Self.sourced(false, "/boot/grub/grub.cfg, /boot/grub/user.cfg"))
        #expect(debian["files"] == ["/boot/grub/grub.cfg", "/boot/grub/user.cfg"])
        tree.file("boot/grub/grub.cfg", "if [ -f ${prefix}/user.cfg ]; then\n  source ${prefix}/user.cfg\nfi\nmenuentry 'Fedora' {\n}\n")
        #expect(
            try probeFact("bootloader", of: BootloaderProbe(), root: tree.path)["grub_password"]
                == Self.sourced(true, "/boot/grub/user.cfg:1"))
    }

    // MARK: - Control tests: tables of canned facts

    /// A row: what it is, the facts, the statuses at sl3 and sl4, and text the sl3 summary must
    /// contain (empty: not checked).
    typealias Row = (name: String, facts: [String: Fact], sl3: Status, sl4: Status, says: String)

    static let efivar = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0f1f4c7b5c8"

    static func secureBoot(_ enabled: JSON, uefi: Bool = true) -> [String: Fact] {
        ["secure_boot": .value(["enabled": enabled, "uefi": .bool(uefi)])]
    }

    static let int001Table: [Row] = [
        ("Secure Boot on", secureBoot(sourced(true, efivar)), .pass, .pass, ""),
        ("Secure Boot off", secureBoot(sourced(false, efivar)), .fail, .fail, "UEFI Secure Boot is false"),
        (
            "booted through BIOS", secureBoot(sourced(false, "/sys/firmware/efi (absent: the host booted through BIOS)"), uefi: false),
            .fail, .fail, "UEFI Secure Boot is false"
        ),
        (
            "a truncated variable",
            secureBoot([
                "error": .string(efivar + ": expected 5 bytes (4 attribute bytes and the value), found 3"), "source": .string(efivar),
            ]),
            .error, .error, "expected 5 bytes"
        ),
        (
            "an offline root without /sys",
            [
                "secure_boot": .value([
                    "enabled": [
                        "not_checked": "offline root: no /sys/firmware/efi, so the running kernel's state there is not known",
                        "source": "/sys/firmware/efi",
                    ]
                ])
            ], .notChecked, .notChecked, "offline root: no /sys/firmware/efi"
        ),
    ]

    static let lockdownSource = "/sys/kernel/security/lockdown"

    /// The kernel_integrity, cmdline and sysctl facts INT-002 and INT-003 read: lockdown as given,
    /// no sig_enforce parameter, a command line without module.sig_enforce, and
    /// kernel.modules_disabled nowhere set.
    static func kernel(
        lockdown: JSON = sourced("integrity", lockdownSource),
        sigEnforce: JSON = sourced(nil, "/sys/module/module/parameters/sig_enforce (absent)"),
        cmdline: Fact? = .value(["parameters": ["root": "/dev/sda1"], "runtime": true, "source": "/proc/cmdline", "text": "root=/dev/sda1"]
        ),
        modulesDisabled: [JSON] = [
            sourced(nil, "not set in any sysctl.d file, and the kernel's default is not known (no kernel configuration in /boot)")
        ]
    ) -> [String: Fact] {
        var facts: [String: Fact] = [
            "kernel_integrity": .value(["lockdown": lockdown, "sig_enforce": sigEnforce, "source": .string(lockdownSource)]),
            "sysctl": .value(["kernel": ["modules_disabled": ["values": .array(modulesDisabled)]]]),
        ]
        facts["cmdline"] = cmdline
        return facts
    }

    static let signaturesOnTheCommandLine: Fact = .value([
        "parameters": ["root": "/dev/sda1", "module.sig_enforce": 1], "runtime": true, "source": "/proc/cmdline",
        "text": "root=/dev/sda1 module.sig_enforce=1",
    ])
    static let modulesDisabled = [
        sourced(1, "/proc/sys/kernel/modules_disabled (runtime)"), sourced(1, "/etc/sysctl.d/99-lock.conf:1 (persistent)"),
    ]
    static let garbage: JSON = ["error": "/sys/kernel/security/lockdown: unexpected content 'garbage'", "source": .string(lockdownSource)]

    static let int002Table: [Row] = [
        ("lockdown integrity", kernel(), .pass, .fail, ""),
        ("lockdown confidentiality", kernel(lockdown: sourced("confidentiality", lockdownSource)), .pass, .pass, ""),
        ("lockdown none", kernel(lockdown: sourced("none", lockdownSource)), .fail, .fail, "kernel lockdown mode is none"),
        ("lockdown unreadable", kernel(lockdown: garbage), .error, .error, "unexpected content 'garbage'"),
        (
            "an offline root without /sys", kernel(lockdown: ["not_checked": .string(offlineLockdown), "source": .string(lockdownSource)]),
            .notChecked, .notChecked, ""
        ),
    ]

    static let int003Table: [Row] = [
        // Lockdown enforces module signatures; SL4 also wants module loading disabled.
        ("lockdown integrity", kernel(), .pass, .fail, "kernel lockdown (enforces signatures) is integrity"),
        ("nothing enforces signatures", kernel(lockdown: sourced("none", lockdownSource)), .fail, .fail, "none of the alternatives holds"),
        (
            "no command line to look at",
            kernel(
                lockdown: sourced("none", lockdownSource),
                cmdline: .unavailable(Unavailable(.notChecked, "neither /proc/cmdline nor /etc/default/grub exists (offline root)"))),
            .notChecked, .fail, "neither /proc/cmdline nor /etc/default/grub exists (offline root)"
        ),
        ("lockdown unreadable", kernel(lockdown: garbage), .error, .fail, "unexpected content 'garbage'"),
        (
            "module.sig_enforce=1 on the command line",
            kernel(lockdown: sourced("none", lockdownSource), cmdline: signaturesOnTheCommandLine),
            .pass, .fail, ""
        ),
        (
            "module.sig_enforce=1 and modules_disabled",
            kernel(lockdown: sourced("none", lockdownSource), cmdline: signaturesOnTheCommandLine, modulesDisabled: modulesDisabled), .pass,
            .pass, ""
        ),
        (
            "sig_enforce and modules_disabled",
            kernel(
                lockdown: sourced("none", lockdownSource), sigEnforce: sourced(true, "/sys/module/module/parameters/sig_enforce"),
                modulesDisabled: modulesDisabled), .pass, .pass, ""
        ),
        (
            "modules_disabled 0 in a sysctl.d file",
            kernel(modulesDisabled: [
                sourced(1, "/proc/sys/kernel/modules_disabled (runtime)"), sourced(0, "/etc/sysctl.d/99-lock.conf:1 (persistent)"),
            ]),
            .pass, .fail, ""
        ),
        ("no modules_disabled value at all", kernel(modulesDisabled: []), .pass, .error, ""),
    ]

    static func aide(installed: Bool = true, database: Bool = true, scheduled: Bool = true) -> [String: Fact] {
        [
            "aide": .value([
                "installed": sourced(.bool(installed), installed ? "/usr/bin/aide" : "/usr/bin/aide (absent)"),
                "database": sourced(.bool(database), database ? "/var/lib/aide/aide.db" : "/var/lib/aide (no aide.db)"),
                "scheduled": sourced(
                    .bool(scheduled),
                    scheduled
                        ? "/etc/systemd/system/timers.target.wants/dailyaidecheck.timer" : "no enabled aide timer and no aide cron job"),
                "source": "/var/lib/aide",
            ])
        ]
    }

    static let int006Table: [Row] = [
        ("installed, a database, a timer", aide(), .pass, .pass, ""),
        ("not scheduled", aide(scheduled: false), .fail, .fail, "a timer or cron job running AIDE is false"),
        ("only an uncommitted aide.db.new", aide(database: false), .fail, .fail, "an AIDE database is false"),
        ("not installed", aide(installed: false, database: false, scheduled: false), .fail, .fail, "AIDE installed is false"),
        (
            "no cron job, and the timers' enablement links unreadable",
            [
                "aide": .value([
                    "installed": sourced(true, "/usr/bin/aide"), "database": sourced(true, "/var/lib/aide/aide.db"),
                    "scheduled": UnknownEnablementTests.stated("*aide*.timer"), "source": "/var/lib/aide",
                ])
            ], .error, .error, UnknownEnablementTests.unknown
        ),
    ]

    static func grub(_ password: JSON) -> [String: Fact] { ["bootloader": .value(["grub_password": password, "files": []])] }

    static let int009Table: [Row] = [
        ("a password_pbkdf2 in grub.cfg", grub(sourced(true, "/boot/grub/grub.cfg:2")), .pass, .pass, ""),
        ("a password in the user.cfg grub.cfg reads", grub(sourced(true, "/boot/grub/user.cfg:1")), .pass, .pass, ""),
        ("no password", grub(sourced(false, "/boot/grub/grub.cfg")), .fail, .fail, "is false"),
        (
            "no grub.cfg",
            grub([
                "error":
                    "no GRUB configuration found (/boot/grub/grub.cfg): GRUB is not installed, update-grub has not run, or /boot is not mounted",
                "source": "/boot/grub/grub.cfg",
            ]), .error, .error, "no GRUB configuration found"
        ),
    ]

    func evaluate(_ control: String, _ row: Row) throws {
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let finding = try cannedFinding(control, profile: profile, facts: row.facts)
            #expect(finding.status == expected, "\(profile) \(row.name): \(finding.summary)")
            if profile == "sl3" { #expect(row.says.isEmpty || finding.summary.contains(row.says), "\(row.name): \(finding.summary)") }
        }
    }

    @Test(arguments: IntegrityProbeTests.int001Table.indices)
    func int001OverATableOfFacts(_ row: Int) throws { try evaluate("INT-001", Self.int001Table[row]) }

    @Test(arguments: IntegrityProbeTests.int002Table.indices)
    func int002OverATableOfFacts(_ row: Int) throws { try evaluate("INT-002", Self.int002Table[row]) }

    @Test(arguments: IntegrityProbeTests.int003Table.indices)
    func int003OverATableOfFacts(_ row: Int) throws { try evaluate("INT-003", Self.int003Table[row]) }

    @Test(arguments: IntegrityProbeTests.int006Table.indices)
    func int006OverATableOfFacts(_ row: Int) throws { try evaluate("INT-006", Self.int006Table[row]) }

    @Test(arguments: IntegrityProbeTests.int009Table.indices)
    func int009OverATableOfFacts(_ row: Int) throws { try evaluate("INT-009", Self.int009Table[row]) }
}
