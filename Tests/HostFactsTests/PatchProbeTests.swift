import Glibc
import Testing
import WardenCore
import WardenFormats
import WardenProfiles
import WardenTestSupport

@testable import HostFacts

private func stanza(_ package: String, _ version: String, arch: String = "amd64", status: String = "install ok installed") -> String {
    "Package: \(package)\nStatus: \(status)\nArchitecture: \(arch)\nVersion: \(version)\nDescription: \(package)\n continued\n .\n more\n"
}

private func release(suite: String, codename: String, date: String, signed: Bool = true) -> String {
    let fields = "Origin: Debian\nSuite: \(suite)\nCodename: \(codename)\nDate: \(date)\nSHA256:\n 00 1 main/binary-amd64/Packages\n"
    return signed
        ? "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n\(fields)-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
        : fields
}

/// PatchProbe's facts on built roots (a dpkg status, apt lists with their Release files, apt.conf,
/// the running kernel), and INT-008 evaluated on them at SL3 and SL4.
@Suite struct PatchProbeTests {
    static let security = "/var/lib/apt/lists/security.debian.org_debian-security_dists_bookworm-security"
    static let main = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm"

    /// A host as the conformant fixture has it: current, fresh lists, automatic updates on,
    /// running its newest kernel. Each test changes one thing.
    final class Host {
        let tree = TempTree(prefix: "warden-patches")
        var installed = [
            stanza("libssl3", "3.0.15-1~deb12u1"), stanza("tzdata", "2024b-0+deb12u1", arch: "all"),
            stanza("linux-image-6.1.0-28-amd64", "6.1.119-1"), stanza("unattended-upgrades", "2.9.1+nmu3", arch: "all"),
        ]
        var securityPackages = [stanza("libssl3", "3.0.15-1~deb12u1"), stanza("tzdata", "2024a-0+deb12u1", arch: "all")]
        var securityDate = "Sat, 28 Nov 2026 06:00:00 UTC"
        var hasSecurityList = true
        var running: String? = "6.1.0-28-amd64"
        var modules = ["6.1.0-28-amd64"]
        var autoUpgrades: String? = "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n"
        var timers = ["apt-daily.timer", "apt-daily-upgrade.timer"]
        var rebootRequired: String?

        func build() -> String {
            tree.file("var/lib/dpkg/status", installed.joined(separator: "\n"))
            if hasSecurityList {
                tree.file(
                    String((PatchProbeTests.security + "_InRelease").dropFirst()),
                    release(suite: "stable-security", codename: "bookworm-security", date: securityDate))
                tree.file(
                    String((PatchProbeTests.security + "_main_binary-amd64_Packages").dropFirst()), securityPackages.joined(separator: "\n")
                )
            }
            // The main archive has a newer tzdata too: a point release is not a security update.
            tree.file(
                String((PatchProbeTests.main + "_InRelease").dropFirst()),
                release(suite: "stable", codename: "bookworm", date: "Sat, 14 Nov 2026 10:00:00 UTC"))
            tree.file(
                String((PatchProbeTests.main + "_main_binary-amd64_Packages").dropFirst()), stanza("tzdata", "2025a-0+deb12u1", arch: "all")
            )
            if let running { tree.file("proc/sys/kernel/osrelease", running + "\n") }
            for m in modules { tree.file("lib/modules/\(m)/modules.dep") }
            tree.directory("etc/apt/apt.conf.d")
            if let autoUpgrades { tree.file("etc/apt/apt.conf.d/20auto-upgrades", autoUpgrades) }
            for t in timers { tree.symlink("etc/systemd/system/timers.target.wants/\(t)", to: "/lib/systemd/system/\(t)") }
            if let rebootRequired {
                tree.file("var/run/reboot-required", "*** System restart required ***\n")
                tree.file("var/run/reboot-required.pkgs", rebootRequired)
            }
            return tree.path
        }

        func facts() throws -> JSON {
            let context = ProbeContext(
                root: try HostRoot(build()), site: nil, weights: WeightLocations(origin: .site, paths: [], note: "test"))
            let collected = PatchProbe().collect(context)
            guard case .value(let v)? = collected["patches"] else {
                throw RealRoots.Failure("patches is \(String(describing: collected["patches"]))")
            }
            #expect(FactContract.mismatches(v, PatchProbe().facts["patches"]!, path: "patches") == [])
            return v
        }

        /// INT-008's finding at `profile` on these facts, at the tests' fixed time.
        func finding(_ profile: String) throws -> Finding {
            let root = try HostRoot(build())
            let context = ProbeContext(root: root, site: nil, weights: WeightLocations(origin: .site, paths: [], note: "test"))
            return try cannedFinding("INT-008", profile: profile, facts: PatchProbe().collect(context))
        }
    }

    // MARK: - Facts

    @Test func aCurrentHostHasNothingPending() throws {
        let f = try Host().facts()
        #expect(f["installed_packages"] == 4)
        #expect(f["pending"] == ["count": 0, "first": []])
        #expect(f["security_lists"]?.arrayValue?.count == 1)
        #expect(f["security_lists"]?[0]?["suite"] == "bookworm-security")
        #expect(f["security_lists"]?[0]?["date"] == "2026-11-28T06:00:00Z")
        #expect(f["newest_security_list"] == ["value": "2026-11-28T06:00:00Z", "source": .string(Self.security + "_InRelease")])
        #expect(f["kernel"]?["running_newest"]?["value"] == true)
        #expect(f["automatic"]?["upgrade_interval"] == ["value": 86400, "source": "/etc/apt/apt.conf.d/20auto-upgrades:2"])
        #expect(f["automatic"]?["unattended_upgrades"]?["value"] == true)
        #expect(f["automatic"]?["apt_daily_upgrade_timer"]?["value"] == true)
    }

    @Test func aNewerSecurityVersionIsPendingWithBothVersions() throws {
        let host = Host()
        host.securityPackages.append(stanza("libssl3", "3.0.16-1~deb12u1"))
        // Another architecture's newer build is not this host's.
        host.securityPackages.append(stanza("tzdata", "2024b-0+deb12u1", arch: "all"))
        host.securityPackages.append(stanza("linux-image-6.1.0-28-amd64", "6.1.120-1", arch: "arm64"))
        let f = try host.facts()
        #expect(f["pending"]?["count"] == 1)
        #expect(
            f["pending"]?["first"]?[0]
                == [
                    "name": "libssl3:amd64 3.0.15-1~deb12u1", "package": "libssl3", "architecture": "amd64",
                    "installed": "3.0.15-1~deb12u1", "available": "3.0.16-1~deb12u1",
                    "list": .string(Self.security + "_main_binary-amd64_Packages"),
                ])
    }

    @Test func theSuiteComesFromTheReleaseFileNotTheFileName() throws {
        // A list named like a security archive whose Release says it is the main suite.
        let host = Host()
        host.hasSecurityList = false
        let tree = host.tree
        tree.file(
            String((Self.security + "_InRelease").dropFirst()),
            release(suite: "stable", codename: "bookworm", date: "Sat, 28 Nov 2026 06:00:00 UTC"))
        tree.file(String((Self.security + "_main_binary-amd64_Packages").dropFirst()), stanza("libssl3", "3.0.16-1~deb12u1"))
        // And a mirror with an unremarkable name whose Release is the security suite.
        tree.file(
            "var/lib/apt/lists/mirror.example_m_dists_x_Release",
            release(suite: "stable-security", codename: "bookworm-security", date: "Fri, 27 Nov 2026 06:00:00 +0000", signed: false))
        tree.file("var/lib/apt/lists/mirror.example_m_dists_x_main_binary-amd64_Packages", stanza("tzdata", "2025b-0+deb12u1", arch: "all"))
        let f = try host.facts()
        #expect(
            f["security_lists"]?.arrayValue?.map { $0["path"] } == [
                "/var/lib/apt/lists/mirror.example_m_dists_x_main_binary-amd64_Packages"
            ])
        #expect(f["pending"]?["count"] == 1)
        #expect(f["pending"]?["first"]?[0]?["package"] == "tzdata")
    }

    @Test func badInputNamesFileAndLine() throws {
        let host = Host()
        host.installed.append("Package: broken\nStatus install ok installed\n")
        let root = try HostRoot(host.build())
        let collected = PatchProbe().collect(
            ProbeContext(root: root, site: nil, weights: WeightLocations(origin: .site, paths: [], note: "t")))
        guard case .unavailable(let u)? = collected["patches"] else {
            Issue.record("\(String(describing: collected["patches"]))")
            return
        }
        let why = u.reason
        #expect(u.kind == .error)
        #expect(why == "/var/lib/dpkg/status:38: a field name must be followed by a colon", "\(why)")

        let lists = Host()
        lists.securityPackages.append("Package: libssl3\nVersion: 3.0.16\nVersion: 3.0.17\n")
        let f = try lists.facts()
        #expect(f["pending"] == ["error": .string(Self.security + "_main_binary-amd64_Packages:21: duplicate field 'Version'")])
    }

    @Test func compressedSecurityListsAreNotGuessed() throws {
        let host = Host()
        host.hasSecurityList = false
        host.tree.file(
            String((Self.security + "_InRelease").dropFirst()),
            release(suite: "stable-security", codename: "bookworm-security", date: "Sat, 28 Nov 2026 06:00:00 UTC"))
        host.tree.file(String((Self.security + "_main_binary-amd64_Packages.lz4").dropFirst()), "not read")
        let f = try host.facts()
        #expect(f["pending"]?["error"]?.stringValue?.contains("a .lz4 list is not read") == true)
    }

    @Test func kernelAndReboot() throws {
        let offline = Host()
        offline.running = nil
        let f = try offline.facts()
        #expect(
            f["kernel"]?["running_newest"]?["not_checked"]?.stringValue?.hasPrefix("offline root: no /proc/sys/kernel/osrelease") == true)

        let old = Host()
        old.running = "6.1.0-27-amd64"
        old.modules = ["6.1.0-27-amd64", "6.1.0-28-amd64"]
        old.installed.append(stanza("linux-image-6.1.0-27-amd64", "6.1.115-1"))
        old.rebootRequired = "linux-image-6.1.0-28-amd64\nlibc6\nlibc6\n"
        let g = try old.facts()
        #expect(g["kernel"]?["newest_installed"]?["value"] == "6.1.0-28-amd64")
        #expect(g["kernel"]?["running_newest"]?["value"] == false)
        #expect(g["reboot_required"]?["value"] == true)
        #expect(g["reboot_packages"] == ["linux-image-6.1.0-28-amd64", "libc6"])

        // A kernel without a package: release order decides (-10 after -9).
        let local = Host()
        local.installed = [stanza("unattended-upgrades", "2.9.1+nmu3", arch: "all")]
        local.modules = ["6.1.0-9-custom", "6.1.0-10-custom"]
        local.running = "6.1.0-10-custom"
        #expect(try local.facts()["kernel"]?["running_newest"]?["value"] == true)
    }

    @Test func periodicIntervalsAsAptSystemdDailyReadsThem() {
        #expect(PatchProbe.intervalSeconds("1") == 86400)
        #expect(PatchProbe.intervalSeconds("12h") == 43200)
        #expect(PatchProbe.intervalSeconds("30m") == 1800)
        #expect(PatchProbe.intervalSeconds("always") == 1)
        #expect(PatchProbe.intervalSeconds("0") == 0)
        #expect(PatchProbe.intervalSeconds("daily") == nil)
    }

    // MARK: - INT-008 at SL3 and SL4

    static let table: [(String, @Sendable (Host) -> Void, Status, String)] = [
        ("current, fresh lists, automatic updates", { _ in }, .pass, "all 14 checks passed"),
        (
            "a security update not installed", { $0.securityPackages.append(stanza("libssl3", "3.0.16-1~deb12u1")) }, .fail,
            "libssl3:amd64 3.0.15-1~deb12u1: a newer version in a -security list is 3.0.16-1~deb12u1 (not allowed)"
        ),
        (
            "lists older than seven days", { $0.securityDate = "Fri, 20 Nov 2026 11:59:59 UTC" }, .error,
            "no package list of a -security suite"
        ),
        ("lists seven days old to the second", { $0.securityDate = "Sun, 22 Nov 2026 12:00:00 GMT" }, .pass, "all 14 checks passed"),
        ("no security source at all", { $0.hasSecurityList = false }, .error, "no package list of a -security suite"),
        (
            "stale lists that already show a missing update",
            {
                $0.securityDate = "Sun, 01 Nov 2026 00:00:00 UTC"
                $0.securityPackages.append(stanza("libssl3", "3.0.16-1~deb12u1"))
            }, .fail, "libssl3:amd64"
        ),
        (
            "running an older kernel than installed", { $0.running = "6.1.0-27-amd64" }, .fail,
            "the running kernel is the newest installed is false"
        ),
        ("the running kernel unknown offline", { $0.running = nil }, .notChecked, "offline root: no /proc/sys/kernel/osrelease"),
        ("a reboot requested", { $0.rebootRequired = "libc6\n" }, .fail, "a reboot requested by an update"),
        (
            "no automatic upgrades", { $0.autoUpgrades = nil }, .fail,
            "APT::Periodic::Unattended-Upgrade (seconds; 0 never) is 0, expected ≥ 1"
        ),
        (
            "unattended-upgrades not installed", { $0.installed.removeLast() }, .fail,
            "unattended-upgrades installed is false, expected = true"
        ),
        ("apt-daily-upgrade.timer not enabled", { $0.timers = ["apt-daily.timer"] }, .fail, "apt-daily-upgrade.timer enabled is false"),
        (
            "the timers' enablement links unreadable",
            {
                $0.timers = []
                $0.tree.symlink("etc/systemd/system", to: "/etc/systemd/system.loop")
                $0.tree.symlink("etc/systemd/system.loop", to: "/etc/systemd/system")
            }, .error, UnknownEnablementTests.unknown
        ),
        (
            "apt.conf apt would refuse", { $0.autoUpgrades = "APT::Periodic::Unattended-Upgrade \"1\"\n" }, .error,
            "20auto-upgrades:1: 'APT::Periodic::Unattended-Upgrade' is not followed by ';'"
        ),
        (
            "weekly upgrades",
            { $0.autoUpgrades = "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"7\";\n" }, .fail, "≤ 86400"
        ),
    ]

    @Test(arguments: ["sl3", "sl4"], PatchProbeTests.table.indices)
    func int008(profile: String, row: Int) throws {
        let (name, change, expected, summary) = Self.table[row]
        let host = Host()
        change(host)
        let finding = try host.finding(profile)
        #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
        #expect(finding.summary.contains(summary), "\(profile) \(name): \(finding.summary)")
    }

    /// The stale list's date is in the evidence, counted from the evaluation time.
    @Test func aStaleListStatesItsDate() throws {
        let host = Host()
        host.securityDate = "Fri, 20 Nov 2026 11:59:59 UTC"
        let finding = try host.finding("sl3")
        #expect(finding.status == .error)
        #expect(finding.evidence.contains { $0.observed == "2026-11-20T11:59:59Z" && $0.source == Self.security + "_InRelease" })
    }
}
