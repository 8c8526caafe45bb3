import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// HRD-012's enabled units against systemd 252 itself: `systemctl list-unit-files
/// --state=enabled,enabled-runtime`, chrooted into the Debian 12 root, and with `--root=TREE` on
/// trees built here (docs/DAEMON-SEMANTICS.md, "Enabled units and container workloads").
/// list-unit-files names unit files, the probe names links: an instance maps to its template.
@Suite struct DedicatedDeviceOracleTests {
    static let systemctl = "/usr/bin/systemctl"
    static let arguments = ["list-unit-files", "--state=enabled,enabled-runtime", "--no-legend", "--no-pager"]

    static func unitFiles(_ stdout: String) -> Set<String> {
        Set(stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// `getty@tty1.service` → `getty@.service`.
    static func unitFile(_ unit: String) -> String {
        guard let at = unit.firstIndex(of: "@"), let dot = unit.lastIndex(of: "."), at < dot else { return unit }
        return String(unit[...at]) + String(unit[dot...])
    }

    /// Every unit file `list-unit-files` names in `stdout`, with its state.
    static func states(_ stdout: String) -> [String: String] {
        Dictionary(
            stdout.split(separator: "\n").map { line in
                let words = line.split(separator: " ")
                return (String(words[0]), String(words.count > 1 ? words[1] : ""))
            }, uniquingKeysWith: { a, _ in a })
    }

    /// The unit files `systemctl is-enabled` calls `enabled` or `enabled-runtime`, asked of each
    /// of `files` (one answer a line, in order).
    static func enabledByIsEnabled(_ files: [String], _ stdout: String) -> Set<String> {
        let answers = stdout.split(separator: "\n").map(String.init)
        return Set(zip(files, answers).filter { ["enabled", "enabled-runtime"].contains($0.1) }.map(\.0))
    }

    /// The unit files `SystemdUnits.enabledLink` finds a link for (an instance's link counting
    /// for its template), asked of each of `files`.
    static func enabledByWarden(_ files: [String], root: String) throws -> Set<String> {
        let units = SystemdUnits(root: try HostRoot(root), mode: .live)
        return Set(files.filter { file in units.enabledLink { DedicatedDeviceOracleTests.unitFile($0) == file } != nil })
    }

    static func probeUnits(_ root: String) throws -> [JSON] {
        try probeFact("dedicated", of: DedicatedDeviceProbe(), root: root)["enabled_units"]?.arrayValue ?? []
    }

    @Test func theDebian12RootAsSystemctlListsIt() throws {
        let base = try RealRoots.debian12()
        let r = RealRoots.inRoot(base, [DedicatedDeviceOracleTests.systemctl] + DedicatedDeviceOracleTests.arguments)
        try #require(r.status == 0, "\(r.stderr)")
        let tool = DedicatedDeviceOracleTests.unitFiles(r.stdout)
        #expect(tool.count >= 15 && tool.contains("ssh.service"), "\(r.stdout)")
        let warden = Set(
            try DedicatedDeviceOracleTests.probeUnits(base).compactMap(\.["unit"]?.stringValue).map(DedicatedDeviceOracleTests.unitFile))
        #expect(warden == tool)
        // Unit by unit, the probes' `enabledLink` answers as `systemctl is-enabled` does.
        let all = RealRoots.inRoot(base, [DedicatedDeviceOracleTests.systemctl, "list-unit-files", "--no-legend", "--no-pager"])
        try #require(all.status == 0, "\(all.stderr)")
        let files = DedicatedDeviceOracleTests.states(all.stdout).keys.sorted()
        let answers = RealRoots.inRoot(base, [DedicatedDeviceOracleTests.systemctl, "is-enabled"] + files)
        #expect(answers.stdout.split(separator: "\n").count == files.count, "\(answers.stderr)")
        let byTool = DedicatedDeviceOracleTests.enabledByIsEnabled(files, answers.stdout)
        #expect(byTool == tool)
        #expect(try DedicatedDeviceOracleTests.enabledByWarden(files, root: base) == byTool)
    }

    static func unitFileText(_ wantedBy: String, _ extra: String = "") -> String {
        "[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=\(wantedBy)\n\(extra)"
    }

    /// Links in .wants and .requires, /run's, masks in /etc and /run, a regular file, a template with its default
    /// instance, a dangling link: Warden and systemctl agree, but where the manager does otherwise
    /// than list-unit-files says. Warden reports what the manager starts anyway, a link in
    /// `*.upholds` and an instance other than the template's default instance (systemctl:
    /// `disabled`, `indirect`), and leaves out a `.wants` link to /dev/null, which systemctl
    /// calls enabled by its name and the manager ignores as masked.
    @Test func generatedTreesAgreeWithSystemctl() throws {
        let tree = TempTree()
        let lib = "usr/lib/systemd/system/"
        for name in ["extra", "masked", "rt", "req", "up", "idle", "nulled", "runmasked"] {
            tree.file(lib + name + ".service", DedicatedDeviceOracleTests.unitFileText("multi-user.target"))
        }
        tree.file(lib + "getty@.service", DedicatedDeviceOracleTests.unitFileText("getty.target", "DefaultInstance=tty1\n"))
        tree.file(lib + "tmpl@.service", DedicatedDeviceOracleTests.unitFileText("multi-user.target"))
        tree.file(lib + "fstrim.timer", "[Timer]\nOnCalendar=weekly\n[Install]\nWantedBy=timers.target\n")
        let etc = "etc/systemd/system/"
        tree.symlink(etc + "multi-user.target.wants/extra.service", to: "/" + lib + "extra.service")
        tree.symlink(etc + "multi-user.target.wants/masked.service", to: "/" + lib + "masked.service")
        tree.symlink(etc + "masked.service", to: "/dev/null")
        tree.symlink(etc + "multi-user.target.wants/nulled.service", to: "/dev/null")
        tree.symlink(etc + "multi-user.target.wants/runmasked.service", to: "/" + lib + "runmasked.service")
        tree.symlink("run/systemd/system/runmasked.service", to: "/dev/null")
        tree.symlink("run/systemd/system/multi-user.target.wants/rt.service", to: "/" + lib + "rt.service")
        tree.symlink(etc + "sockets.target.requires/req.service", to: "/" + lib + "req.service")
        tree.symlink(etc + "getty.target.wants/getty@tty1.service", to: "/" + lib + "getty@.service")
        tree.symlink(etc + "timers.target.wants/fstrim.timer", to: "/" + lib + "fstrim.timer")
        tree.file(etc + "multi-user.target.wants/idle.service", DedicatedDeviceOracleTests.unitFileText("multi-user.target"))
        // The two the manager starts though list-unit-files does not call them enabled.
        tree.symlink(etc + "graphical.target.upholds/up.service", to: "/" + lib + "up.service")
        tree.symlink(etc + "multi-user.target.wants/tmpl@a.service", to: "/" + lib + "tmpl@.service")

        let r = run(DedicatedDeviceOracleTests.systemctl, ["--root=\(tree.path)"] + DedicatedDeviceOracleTests.arguments)
        try #require(r.status == 0, "\(r.stderr)")
        let tool = DedicatedDeviceOracleTests.unitFiles(r.stdout)
        #expect(tool == ["extra.service", "getty@.service", "req.service", "rt.service", "fstrim.timer", "nulled.service"], "\(r.stdout)")
        let items = try DedicatedDeviceOracleTests.probeUnits(tree.path)
        let warden = Set(items.compactMap(\.["unit"]?.stringValue).map(DedicatedDeviceOracleTests.unitFile))
        // The probe audits the tree offline, where /run's link and mask are runtime state a boot
        // discards (systemctl --root reads them): rt.service is not enabled, runmasked.service is.
        #expect(warden == tool.subtracting(["nulled.service", "rt.service"]).union(["up.service", "tmpl@.service", "runmasked.service"]))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("rt.service") && $0.contains("enabled-runtime") })
        #expect(items.first { $0["unit"] == "rt.service" } == nil)
        let all = run(DedicatedDeviceOracleTests.systemctl, ["--root=\(tree.path)", "list-unit-files", "--no-legend", "--no-pager"])
        let states = DedicatedDeviceOracleTests.states(all.stdout)
        #expect(states["up.service"] == "disabled" && states["tmpl@.service"] == "indirect", "\(all.stdout)")
        #expect(states["runmasked.service"] == "masked-runtime" && states["masked.service"] == "masked", "\(all.stdout)")

        // Unit by unit, the probes' `enabledLink` answers as `systemctl is-enabled` does, with the
        // same three differences; a unit masked in /run is enabled for neither.
        let files = states.keys.sorted()
        let answers = run(DedicatedDeviceOracleTests.systemctl, ["--root=\(tree.path)", "is-enabled"] + files)
        #expect(answers.stdout.split(separator: "\n").count == files.count, "\(answers.stderr)")
        let byTool = DedicatedDeviceOracleTests.enabledByIsEnabled(files, answers.stdout)
        #expect(byTool == tool, "\(answers.stdout)")
        #expect(
            try DedicatedDeviceOracleTests.enabledByWarden(files, root: tree.path)
                == byTool.subtracting(["nulled.service"]).union(["up.service", "tmpl@.service"]))
    }
}
