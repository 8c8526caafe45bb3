import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("HRD-013", root: tree.path, probes: [AttackSurfaceProbe()])
    }

    @Test func aMinimalHostPassesAndSL3OnlyReports() throws {
        let tree = host()
        let v = try fact(tree)
        #expect(v["package_count"] == 2)
        // gcc-12-base is in the gcc family, reported, and not a compiler: not forbidden.
        #expect(v["packages"]?.arrayValue?.map { $0["package"] } == ["gcc-12-base"])
        let f = try findings(tree)
        #expect(f["sl3"]?.status == .pass && f["sl3"]?.advisory == true)
        #expect(f["sl4"]?.status == .pass && f["sl4"]?.advisory == false)
    }

    /// What makes HRD-013 fail, each alone; the same status at both levels (advisory at SL3).
    static let failures: [(String, @Sendable (TempTree) -> Void)] = [
        ("strace installed", { $0.file("var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("strace")])) }),
        (
            "gcc-12 half-configured: its files are there",
            {
                $0.file(
                    "var/lib/dpkg/status",
                    AttackSurfaceTests.status([AttackSurfaceTests.stanza("gcc-12", status: "install ok half-configured")]))
            }
        ),
        (
            "gdb marked for removal is still installed",
            {
                $0.file(
                    "var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("gdb", status: "deinstall ok installed")]))
            }
        ),
        ("a sound card", { $0.directory("sys/class/sound/card0") }),
        ("a camera", { $0.symlink("sys/class/video4linux/video0", to: "../../devices/pci0000:00/usb1/video4linux/video0") }),
        (
            "autofs enabled",
            { $0.symlink("etc/systemd/system/multi-user.target.wants/autofs.service", to: "/lib/systemd/system/autofs.service") }
        ),
        ("udisks2 installed, started over D-Bus", { $0.file("usr/lib/systemd/system/udisks2.service", "[Service]\nType=dbus\n") }),
    ]

    @Test(arguments: AttackSurfaceTests.failures.indices)
    func eachFails(_ row: Int) throws {
        let (name, change) = AttackSurfaceTests.failures[row]
        let tree = host()
        change(tree)
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(name), \(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.ok == false }, "\(name): \(f.evidence)")
        }
    }

    @Test func whatIsNotThereOrNotRunnablePasses() throws {
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
        let v = try fact(tree)
        // strace-doc is of the strace family, reported, and not a tracer: not forbidden.
        #expect(v["packages"]?.arrayValue?.map { $0["package"] } == ["gcc-12-base", "strace-doc"])
        #expect(v["automount"] == [])
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func theEvidenceNamesThePackageAndTheDatabase() throws {
        let tree = host([AttackSurfaceTests.stanza("linux-perf", version: "6.1.158-1")])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail)
            #expect(
                f.evidence.contains { $0.ok == false && $0.observed == "linux-perf" && $0.source == "/var/lib/dpkg/status" }, "\(profile)")
        }
    }

    @Test func offlineWithoutSysTheDevicesAreNotCheckedAndPackagesStillFail() throws {
        let tree = host(sys: false)
        #expect(try fact(tree)["sound_cards"]?["not_checked"] != nil)
        for (profile, f) in try findings(tree) { #expect(f.status == .notChecked, "\(profile): \(f.summary)") }
        tree.file("var/lib/dpkg/status", AttackSurfaceTests.status([AttackSurfaceTests.stanza("bpftrace")]))
        for (profile, f) in try findings(tree) { #expect(f.status == .fail, "\(profile): \(f.summary)") }
        // No package database: the packages cannot be judged.
        let bare = TempTree()
        bare.directory("sys/class")
        #expect(try fact(bare)["packages"]?["error"] != nil)
        for (profile, f) in try findings(bare) { #expect(f.status == .error, "\(profile): \(f.summary)") }
        // A database dpkg would refuse (a field given twice) cannot be judged either.
        bare.file("var/lib/dpkg/status", "Package: strace\nStatus: install ok installed\nPackage: gdb\n")
        #expect(try fact(bare)["packages"]?["error"] == "/var/lib/dpkg/status:3: duplicate field 'Package'")
        for (profile, f) in try findings(bare) { #expect(f.status == .error, "\(profile): \(f.summary)") }
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
