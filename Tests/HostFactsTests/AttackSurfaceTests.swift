import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// HRD-013: compilers, debuggers and tracers in dpkg's database, sound cards, cameras and
/// automounters; reported at SL3, required at SL4.
@Suite struct AttackSurfaceTests {
    /// Stanzas as dpkg writes them (base-files and gcc-12-base are the Debian 12 root's own).
    static func stanza(_ package: String, status: String = "install ok installed", version: String = "1.0-1") -> String {
        """
        Package: \(package)
        Status: \(status)
        Priority: optional
        Section: devel
        Installed-Size: 100
        Maintainer: Debian Maintainers <debian-devel@lists.debian.org>
        Architecture: amd64
        Version: \(version)
        Description: \(package) for the test
         A continuation line: Package: not-a-field

        """
    }

    static let base = """
        Package: base-files
        Essential: yes
        Status: install ok installed
        Priority: required
        Section: admin
        Installed-Size: 341
        Maintainer: Santiago Vila <sanvila@debian.org>
        Architecture: amd64
        Multi-Arch: foreign
        Version: 12.4+deb12u15
        Description: Debian base system miscellaneous files

        Package: gcc-12-base
        Status: install ok installed
        Priority: optional
        Section: libs
        Installed-Size: 100
        Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
        Architecture: amd64
        Multi-Arch: same
        Source: gcc-12
        Version: 12.2.0-14+deb12u1
        Description: GCC, the GNU Compiler Collection (base package)
         This package contains files common to all languages and libraries
         contained in the GNU Compiler Collection (GCC).

        """

    /// The database: the base stanzas and these, a blank line after each.
    static func status(_ extra: [String]) -> String { ([base] + extra).joined(separator: "\n") }

    /// A host with these extra stanzas, its /sys/class copied (sound and video4linux empty).
    func host(_ extra: [String] = [], sys: Bool = true) -> TempTree {
        let tree = TempTree()
        tree.file("var/lib/dpkg/status", AttackSurfaceTests.status(extra))
        if sys {
            tree.directory("sys/class/sound")
            tree.directory("sys/class/video4linux")
        }
        return tree
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("attack_surface", of: AttackSurfaceProbe(), root: tree.path) }

    /// A reported package as the probe writes it.
    static func item(_ package: String, _ status: String = "installed", version: String = "1.0-1") -> JSON {
        ["package": .string(package), "status": .string(status), "version": .string(version), "source": "/var/lib/dpkg/status"]
    }

    static let gccBase = item("gcc-12-base", version: "12.2.0-14+deb12u1")

    // MARK: - Probe tests: the facts of each fixture

    @Test func aMinimalHostHasOnlyTheBaseCompilerLibrary() throws {
        // gcc-12-base is in the gcc family, so it is reported (HRD-013 decides it is not a compiler).
        #expect(
            try fact(host())
                == [
                    "package_count": 2, "packages": [AttackSurfaceTests.gccBase], "sound_cards": [], "cameras": [], "automount": [],
                ])
    }

    /// What each change to a minimal host adds to the fact: the field and its whole value.
    static let changes: [(String, @Sendable (TempTree) -> Void, String, JSON)] = [
        (
            "strace installed",
            { $0.file("var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("strace")])) },
            "packages", [gccBase, item("strace")]
        ),
        (
            "gcc-12 half-configured: its files are there",
            {
                $0.file(
                    "var/lib/dpkg/status",
                    AttackSurfaceTests.status([AttackSurfaceTests.stanza("gcc-12", status: "install ok half-configured")]))
            },
            "packages", [gccBase, item("gcc-12", "half-configured")]
        ),
        (
            "gdb marked for removal is still installed",
            {
                $0.file(
                    "var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("gdb", status: "deinstall ok installed")]))
            },
            "packages", [gccBase, item("gdb")]
        ),
        (
            "linux-perf, with its version",
            {
                $0.file(
                    "var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("linux-perf", version: "6.1.158-1")]))
            },
            "packages", [gccBase, item("linux-perf", version: "6.1.158-1")]
        ),
        ("a sound card", { $0.directory("sys/class/sound/card0") }, "sound_cards", [["path": "/sys/class/sound/card0"]]),
        (
            "a camera", { $0.symlink("sys/class/video4linux/video0", to: "../../devices/pci0000:00/usb1/video4linux/video0") },
            "cameras", [["path": "/sys/class/video4linux/video0"]]
        ),
        (
            "autofs enabled",
            { $0.symlink("etc/systemd/system/multi-user.target.wants/autofs.service", to: "/lib/systemd/system/autofs.service") },
            "automount",
            [["unit": "autofs.service", "source": "/etc/systemd/system/multi-user.target.wants/autofs.service", "how": "enabled"]]
        ),
        (
            "udisks2 installed, started over D-Bus",
            { $0.file("usr/lib/systemd/system/udisks2.service", "[Service]\nType=dbus\n") }, "automount",
            [["unit": "udisks2.service", "source": "/usr/lib/systemd/system/udisks2.service", "how": "started on demand over D-Bus"]]
        ),
    ]

    @Test(arguments: AttackSurfaceTests.changes.indices)
    func eachChangeIsInTheFact(_ row: Int) throws {
        let (name, change, field, expected) = AttackSurfaceTests.changes[row]
        let tree = host()
        change(tree)
        let v = try fact(tree)
        #expect(v[field] == expected, "\(name): \(v)")
        // Nothing else moves.
        var rest = v.objectValue ?? [:]
        rest[field] = nil
        rest["package_count"] = nil
        var minimal = try fact(host()).objectValue ?? [:]
        minimal[field] = nil
        minimal["package_count"] = nil
        #expect(JSON.object(rest) == JSON.object(minimal), "\(name)")
    }

    @Test func whatIsNotThereOrNotRunnableIsNotInTheFact() throws {
        let tree = host([
            AttackSurfaceTests.stanza("gdb", status: "deinstall ok config-files"),
            AttackSurfaceTests.stanza("ltrace", status: "purge ok not-installed"),
            AttackSurfaceTests.stanza("strace-doc"),
        ])
        // The sound subsystem's timer and sequencer are not cards.
        tree.directory("sys/class/sound/timer")
        tree.directory("sys/class/sound/seq")
        // udisks2 masked cannot be started, over D-Bus either.
        tree.file("usr/lib/systemd/system/udisks2.service", "[Service]\nType=dbus\n")
        tree.symlink("etc/systemd/system/udisks2.service", to: "/dev/null")
        // strace-doc is of the strace family, so it is reported (HRD-013 decides it is not a tracer).
        #expect(
            try fact(tree)
                == [
                    "package_count": 3, "packages": [AttackSurfaceTests.gccBase, AttackSurfaceTests.item("strace-doc")], "sound_cards": [],
                    "cameras": [], "automount": [],
                ])
    }

    /// `systemctl mask --runtime udisks2` masks it in /run/systemd/system, which systemd honours
    /// as it does /etc's: live, D-Bus cannot start it either. Offline that mask is gone at the
    /// next boot: udisks2 can run.
    @Test func udisks2MaskedInRun() throws {
        let tree = host()
        tree.file("usr/lib/systemd/system/udisks2.service", "[Service]\nType=dbus\n")
        #expect(try fact(tree)["automount"]?.arrayValue?.count == 1)
        tree.symlink("run/systemd/system/udisks2.service", to: "/dev/null")
        let root = try HostRoot(tree.path)
        #expect(AttackSurfaceProbe.automount(root, units: SystemdUnits(root: root, mode: .live)) == [])
        #expect(try fact(tree)["automount"]?.arrayValue?.count == 1)
    }

    /// autofs with its enablement links unreadable: the automount list is an error, not empty.
    @Test func unlistableLinksLeaveAutomountUnknown() throws {
        let tree = host()
        tree.symlink("etc/systemd/system", to: "/etc/systemd/system.loop")
        tree.symlink("etc/systemd/system.loop", to: "/etc/systemd/system")
        let unknown = try #require(try fact(tree)["automount"]?["error"]?.stringValue)
        #expect(unknown.hasPrefix("which units are enabled is not known: "), "\(unknown)")
    }

    @Test func offlineWithoutSysTheDevicesAreNotChecked() throws {
        let v = try fact(host(sys: false))
        #expect(
            v["sound_cards"]
                == [
                    "not_checked": "offline root: no /sys/class/sound, so the running kernel's state there is not known",
                    "source": "/sys/class/sound",
                ])
        #expect(
            v["cameras"]
                == [
                    "not_checked": "offline root: no /sys/class/video4linux, so the running kernel's state there is not known",
                    "source": "/sys/class/video4linux",
                ])
        #expect(v["packages"] == [AttackSurfaceTests.gccBase])
    }

    @Test func aMissingOrMalformedDatabaseIsAnError() throws {
        let bare = TempTree()
        bare.directory("sys/class")
        let missing = try fact(bare)
        #expect(
            missing["packages"] == ["error": "/var/lib/dpkg/status: No such file or directory", "source": "/var/lib/dpkg/status"])
        #expect(missing["package_count"] == nil)
        // /sys/class is there without sound or video4linux: the kernel has neither.
        #expect(missing["sound_cards"] == [] && missing["cameras"] == [])
        // A database dpkg would refuse (a field given twice) cannot be judged either.
        bare.file("var/lib/dpkg/status", "Package: strace\nStatus: install ok installed\nPackage: gdb\n")
        #expect(
            try fact(bare)["packages"]
                == ["error": "/var/lib/dpkg/status:3: duplicate field 'Package'", "source": "/var/lib/dpkg/status"])
    }

    // MARK: - Control tests: HRD-013 over a table of canned facts

    /// The fact of a minimal host (what `aMinimalHostHasOnlyTheBaseCompilerLibrary` collects);
    /// each row changes one thing.
    static func canned(
        packages: JSON = [gccBase], soundCards: JSON = [], cameras: JSON = [], automount: JSON = []
    ) -> JSON {
        ["package_count": 2, "packages": packages, "sound_cards": soundCards, "cameras": cameras, "automount": automount]
    }

    static let offline: JSON = ["not_checked": "offline root: no /sys/class/sound", "source": "/sys/class/sound"]

    /// Each row's status at both levels (SL3 reports, so its finding is advisory; SL4 requires).
    static let hrd013Table: [(String, JSON, Status)] = [
        ("a minimal host", canned(), .pass),
        ("strace installed", canned(packages: [gccBase, item("strace")]), .fail),
        ("gcc-12 half-configured", canned(packages: [gccBase, item("gcc-12", "half-configured")]), .fail),
        ("gdb", canned(packages: [gccBase, item("gdb")]), .fail),
        ("linux-perf", canned(packages: [gccBase, item("linux-perf", version: "6.1.158-1")]), .fail),
        ("strace-doc is no tracer", canned(packages: [gccBase, item("strace-doc")]), .pass),
        ("a sound card", canned(soundCards: [["path": "/sys/class/sound/card0"]]), .fail),
        ("a camera", canned(cameras: [["path": "/sys/class/video4linux/video0"]]), .fail),
        (
            "autofs enabled",
            canned(automount: [
                ["unit": "autofs.service", "source": "/etc/systemd/system/multi-user.target.wants/autofs.service", "how": "enabled"]
            ]), .fail
        ),
        (
            "udisks2 over D-Bus",
            canned(automount: [
                ["unit": "udisks2.service", "source": "/usr/lib/systemd/system/udisks2.service", "how": "started on demand over D-Bus"]
            ]), .fail
        ),
        ("offline without /sys", canned(soundCards: offline, cameras: offline), .notChecked),
        (
            "enablement links unreadable",
            canned(automount: [
                "error": "which units are enabled is not known: /etc/systemd/system: Too many levels of symbolic links", "source": "*",
            ]),
            .error
        ),
        (
            "offline without /sys, bpftrace installed",
            canned(packages: [gccBase, item("bpftrace")], soundCards: offline, cameras: offline), .fail
        ),
        (
            "no package database",
            canned(packages: ["error": "/var/lib/dpkg/status: No such file or directory", "source": "/var/lib/dpkg/status"]), .error
        ),
        (
            "a database dpkg would refuse",
            canned(packages: ["error": "/var/lib/dpkg/status:3: duplicate field 'Package'", "source": "/var/lib/dpkg/status"]), .error
        ),
    ]

    @Test(arguments: AttackSurfaceTests.hrd013Table.indices)
    func hrd013OverATableOfFacts(_ row: Int) throws {
        let (name, value, expected) = AttackSurfaceTests.hrd013Table[row]
        for profile in ["sl3", "sl4"] {
            let finding = try cannedFinding("HRD-013", profile: profile, facts: ["attack_surface": value])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(finding.advisory == (profile == "sl3"), "\(profile) \(name)")
            if expected == .fail { #expect(finding.evidence.contains { $0.ok == false }, "\(profile) \(name): \(finding.evidence)") }
        }
    }

    @Test func theFailingEvidenceNamesThePackageAndTheDatabase() throws {
        let value = AttackSurfaceTests.canned(packages: [AttackSurfaceTests.gccBase, AttackSurfaceTests.item("linux-perf")])
        let finding = try cannedFinding("HRD-013", profile: "sl4", facts: ["attack_surface": value])
        #expect(
            finding.evidence.contains { $0.ok == false && $0.observed == "linux-perf" && $0.source == "/var/lib/dpkg/status" },
            "\(finding.evidence)")
    }

    /// End to end, once: a host with a debugger fails at SL4 through the whole path (dpkg's
    /// database read by the probe, HRD-013 over its fact), so that the probe's fact and the
    /// control's reading of it are shown to meet.
    @Test func aDebuggerOnDiskFailsEndToEnd() throws {
        let tree = host([AttackSurfaceTests.stanza("gdb")])
        let f = try findingsBySL("HRD-013", root: tree.path, probes: [AttackSurfaceProbe()])
        #expect(f["sl3"]?.status == .fail && f["sl3"]?.advisory == true)
        #expect(f["sl4"]?.status == .fail && f["sl4"]?.advisory == false)
    }

    /// Every package name the built-in profiles forbid is in a family the probe reports, so that
    /// none of them can go unseen.
    @Test func everyForbiddenPackageIsReported() throws {
        for profile in ["sl3", "sl4"] {
            let c = try #require(try BuiltIn.profile(profile).controls.first { $0.definition.id == "HRD-013" })
            let names = c.parameters["forbidden_packages"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(names.count >= 9)
            for name in names {
                #expect(AttackSurfaceProbe.families.contains { name == $0 || name.hasPrefix($0 + "-") }, "\(name)")
            }
        }
    }

    /// The oracle is dpkg itself (Debian 12's dpkg-query in the base root): over the root's own
    /// database with stanzas of every status appended, the packages Warden counts as present
    /// are those whose `db:Status-Status` is neither `not-installed` nor `config-files`.
    @Test func packageStatesAreDpkgQuerys() throws {
        let root = try RealRoots.debian12()
        let layer = TempTree(prefix: "warden-dpkg-oracle")
        let original = try LocalFile.readText(root + "/var/lib/dpkg/status", limit: 64 << 20)
        let extra = [
            AttackSurfaceTests.stanza("strace"), AttackSurfaceTests.stanza("gcc-12", status: "install ok half-configured"),
            AttackSurfaceTests.stanza("gdb", status: "deinstall ok config-files"),
            AttackSurfaceTests.stanza("valgrind", status: "hold ok unpacked"),
            AttackSurfaceTests.stanza("ltrace", status: "deinstall ok installed"),
        ]
        let status = original + (original.hasSuffix("\n\n") ? "" : "\n") + extra.joined(separator: "\n")
        layer.file("var/lib/dpkg/status", status)
        let r = withExtendedLifetime(layer) {
            RealRoots.inRoot(
                root, layers: [layer.path], ["dpkg-query", "-W", "-f", "${binary:Package} ${db:Status-Status}\\n"], timeout: 120)
        }
        try #require(r.status == 0, "\(r.stderr)")
        var theirs: [String: String] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { continue }
            let name = String(parts[0].split(separator: ":").first ?? parts[0])
            if !["not-installed", "config-files"].contains(parts[1]) { theirs[name] = String(parts[1]) }
        }
        let check = TempTree()
        check.file("var/lib/dpkg/status", status)
        let ours = try AttackSurfaceProbe.packageStates(try HostRoot(check.path)).get()
        #expect(Dictionary(ours.map { ($0.package, $0.status) }, uniquingKeysWith: { a, _ in a }) == theirs)
        #expect(theirs["gcc-12"] == "half-configured" && theirs["gdb"] == nil && theirs["ltrace"] == "installed")
        #expect(theirs.count > 200)
    }
}
