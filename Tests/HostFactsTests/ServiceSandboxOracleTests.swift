import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-013's reading of unit files and drop-ins (`UnitFile`, `ServiceSandboxProbe`) against
/// systemd 252 itself: `systemd-analyze security --offline=true UNIT`, run in the Debian 12 root
/// with the generated units laid over it, loads each unit as the manager does (the same search
/// path, drop-in directories, parser and `unit_patch_contexts()`) and states, setting by
/// setting, what it found. Each generated unit spreads its settings over a fragment and drop-ins
/// in /etc, /run and /usr/lib (same names hiding each other, `service.d/` and dash-prefix
/// directories, empty assignments resetting User= and the lists, values systemd refuses).
@Suite struct ServiceSandboxOracleTests {
    static let booleans = [
        ("NoNewPrivileges", "no_new_privileges"), ("PrivateTmp", "private_tmp"), ("PrivateDevices", "private_devices"),
        ("ProtectKernelTunables", "protect_kernel_tunables"), ("ProtectKernelModules", "protect_kernel_modules"),
        ("ProtectControlGroups", "protect_control_groups"),
    ]

    /// One generated unit: files (path under the root → content).
    static func generate(_ index: Int, _ rng: inout SeededGenerator) -> (unit: String, files: [(String, String)]) {
        let unit = "oracle-w\(index).service"
        let dirs = ["etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system"]
        var lines: [String] = []
        let users = ["User=mlsvc", "User=root", "User=0", "User=nobody", "User=", "DynamicUser=yes", "DynamicUser=no", "DynamicUser=maybe"]
        for _ in 0..<Int.random(in: 0...2, using: &rng) { lines.append(users.randomElement(using: &rng)!) }
        for (name, _) in booleans where Bool.random(using: &rng) {
            lines.append("\(name)=\(["yes", "no", "true", "0", "on", "sometimes"].randomElement(using: &rng)!)")
        }
        for name in ["ProtectSystem", "ProtectHome"] where Bool.random(using: &rng) {
            let values =
                name == "ProtectSystem" ? ["yes", "no", "full", "strict", "", "ro"] : ["yes", "no", "read-only", "tmpfs", "", "ro"]
            lines.append("\(name)=\(values.randomElement(using: &rng)!)")
        }
        if Bool.random(using: &rng) {
            lines.append(
                ["RestrictAddressFamilies=AF_UNIX AF_INET", "RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies="].randomElement(
                    using: &rng)!)
        }
        if Bool.random(using: &rng) {
            lines.append(["SystemCallFilter=@system-service", "SystemCallFilter=~@mount", "SystemCallFilter="].randomElement(using: &rng)!)
        }
        lines.shuffle(using: &rng)
        // The fragment in one directory, the rest spread over drop-ins of several names.
        var files: [(String, String)] = []
        let fragmentDir = dirs.randomElement(using: &rng)!
        let cut = Int.random(in: 0...lines.count, using: &rng)
        files.append(
            (
                "\(fragmentDir)/\(unit)",
                "[Unit]\nDescription=oracle\n[Service]\nExecStart=/bin/true\n" + lines[..<cut].map { $0 + "\n" }.joined()
            ))
        var rest = Array(lines[cut...])
        let dropInDirs = ["\(unit).d", "oracle-.service.d", "service.d"]
        while !rest.isEmpty {
            let n = Int.random(in: 1...rest.count, using: &rng)
            let dir = "\(dirs.randomElement(using: &rng)!)/\(dropInDirs.randomElement(using: &rng)!)"
            let name = ["10-a.conf", "20-b.conf", "30-c.conf"].randomElement(using: &rng)!
            files.append(("\(dir)/\(name)", "[Service]\n" + rest.prefix(n).map { $0 + "\n" }.joined()))
            rest.removeFirst(n)
        }
        return (unit, files)
    }

    /// What systemd-analyze says of each unit: the line of each setting (✓ or ✗, and its text).
    static func analyze(_ layer: TempTree, _ units: [String]) throws -> [String: [String: (ok: Bool, text: String)]] {
        let script = """
            for u in \(units.joined(separator: " ")); do
              echo "=== $u"
              systemd-analyze security --offline=true --no-pager "$u" 2>&1 || true
            done
            """
        let root = try RealRoots.debian12()
        let r = RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 600)
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var out: [String: [String: (ok: Bool, text: String)]] = [:]
        var current = ""
        for line in byteLines(r.stdout) {
            if line.hasPrefix("=== ") {
                current = String(line.dropFirst(4))
                out[current] = [:]
                continue
            }
            if line.contains("has a bad unit file setting") { out[current, default: [:]]["refused"] = (false, line) }
            let ok = line.hasPrefix("✓ ")
            guard ok || line.hasPrefix("✗ ") else { continue }
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 3 else { continue }
            out[current, default: [:]][String(words[1])] = (ok, words.dropFirst(2).joined(separator: " "))
        }
        return out
    }

    /// systemd-analyze's wording for each ProtectSystem= and ProtectHome= value.
    static let protectSystem = [
        "strict read-only access to the OS file hierarchy": "strict", "very limited write access to the OS file hierarchy": "full",
        "limited write access to the OS file hierarchy": "yes", "full access to the OS file hierarchy": "no",
    ]
    static let protectHome = [
        "no access to home directories": "yes", "read-only access to home directories": "read-only",
        "access to fake empty home directories": "tmpfs", "full access to home directories": "no",
    ]

    static func phrase(_ text: String, _ table: [String: String]) -> String? {
        table.keys.sorted { $0.count > $1.count }.first { text.contains($0) }.flatMap { table[$0] }
    }

    /// Compares Warden's item for `unit` with systemd-analyze's lines; true when systemd refused
    /// the unit (and Warden says so).
    static func agree(_ unit: String, _ item: JSON, _ lines: [String: (ok: Bool, text: String)]) throws -> Bool {
        let settings = item["settings"]
        if let refused = lines["refused"] {
            #expect(item["error"]?.stringValue?.contains("systemd refuses to load") == true, "\(unit): \(refused.text); Warden: \(item)")
            return true
        }
        #expect(item["error"] == nil, "\(unit): \(item)")
        #expect(
            item["dedicated_user"]?["value"]?.boolValue == lines["User=/DynamicUser="]?.ok,
            "\(unit): \(item["user"] ?? nil) \(lines["User=/DynamicUser="]?.text ?? "")")
        // A setting the tool rates without a mark (auditd: "option does not apply" to what it
        // is) is not compared.
        for (name, key) in booleans {
            guard let line = lines["\(name)="] else { continue }
            #expect(settings?[key]?["value"]?.boolValue == line.ok, "\(unit) \(name): \(settings?[key] ?? nil)")
        }
        if let line = lines["ProtectSystem="] {
            #expect(
                settings?["protect_system"]?["value"]?.stringValue == phrase(line.text, protectSystem),
                "\(unit): \(settings?["protect_system"] ?? nil) \(line.text)")
        }
        if let line = lines["ProtectHome="] {
            #expect(
                settings?["protect_home"]?["value"]?.stringValue == phrase(line.text, protectHome),
                "\(unit): \(settings?["protect_home"] ?? nil) \(line.text)")
        }
        if let line = lines["RestrictAddressFamilies=~AF_PACKET"] {
            let families = settings?["restrict_address_families"]?["value"]?.arrayValue ?? []
            #expect(!families.isEmpty == line.ok, "\(unit): \(families)")
        }
        if let line = lines["SystemCallFilter=~@mount"] {
            let filter = settings?["system_call_filter"]?["value"]?.arrayValue ?? []
            #expect(!filter.isEmpty == line.ok, "\(unit): \(filter)")
        }
        return false
    }

    /// Debian 12's own units, as packaged (systemd-localed and rc-local with Debian's drop-ins),
    /// and chrony with a site's drop-in that empties User= and lowers ProtectSystem=.
    @Test func realDebianUnitsAgreeWithSystemd() throws {
        let layer = TempTree()
        layer.file("etc/systemd/system/chrony.service.d/50-site.conf", "[Service]\nUser=\nProtectSystem=full\n")
        let units = ["systemd-localed.service", "rc-local.service", "chrony.service", "ssh.service", "cron.service", "auditd.service"]
        let tool = try ServiceSandboxOracleTests.analyze(layer, units)
        let root = try RealRoots.debian12()
        // Warden reads the base root with the layer's one file copied over a scratch copy of
        // the units' directories: enough for what these units read.
        let view = TempTree()
        for dir in ["lib/systemd/system", "etc/systemd/system"] {
            _ = run("/bin/mkdir", ["-p", view.path + "/" + dir])
            _ = run("/bin/cp", ["-a", root + "/" + dir + "/.", view.path + "/" + dir + "/"])
        }
        _ = run("/bin/cp", ["-a", layer.path + "/etc/.", view.path + "/etc/"])
        let site = "services:\n  weights_units: [\(units.joined(separator: ", "))]\n"
        let facts = try audit(root: view.path, site: site, probes: [ServiceSandboxProbe()]).facts
        guard case .value(let fact)? = facts["service_sandbox"] else { throw TestFailure("no service_sandbox fact") }
        let items = try #require(fact["units"]?.arrayValue)
        for (unit, item) in zip(units, items) {
            let lines = try #require(tool[unit], "systemd-analyze said nothing of \(unit)")
            let refused = try ServiceSandboxOracleTests.agree(unit, item, lines)
            #expect(!refused, "\(unit) refused")
        }
        let localed = try #require(items.first)
        #expect(localed["files"]?.arrayValue?.count == 2, "the unit and Debian's locale-gen.conf: \(localed["files"] ?? nil)")
        let chrony = try #require(items.dropFirst(2).first)
        #expect(chrony["runs_as_root"]?["value"] == true && chrony["settings"]?["protect_system"]?["value"] == "full", "\(chrony)")
    }

    @Test func generatedUnitsAgreeWithSystemd() throws {
        var rng = SeededGenerator(seed: 0xACC0_13)
        let layer = TempTree()
        var units: [String] = []
        for i in 0..<48 {
            let (unit, files) = ServiceSandboxOracleTests.generate(i, &rng)
            for (path, content) in files {
                // Several units draw the same shared drop-in paths: a unit's own directory only.
                if path.contains("/oracle-.service.d/") || path.contains("/service.d/") { continue }
                layer.file(path, content)
            }
            units.append(unit)
        }
        // The dash-prefix and type-wide drop-ins, shared by every unit, each set once.
        layer.file("run/systemd/system/oracle-.service.d/15-prefix.conf", "[Service]\nPrivateDevices=yes\n")
        layer.file("etc/systemd/system/service.d/05-all.conf", "[Service]\nProtectKernelTunables=yes\n")
        let tool = try ServiceSandboxOracleTests.analyze(layer, units)
        let site = "services:\n  weights_units: [\(units.joined(separator: ", "))]\n"
        let facts = try audit(root: layer.path, site: site, probes: [ServiceSandboxProbe()]).facts
        guard case .value(let fact)? = facts["service_sandbox"] else { throw TestFailure("no service_sandbox fact") }
        let items = try #require(fact["units"]?.arrayValue)
        var compared = 0
        var refusedCount = 0
        for (unit, item) in zip(units, items) {
            let lines = try #require(tool[unit], "systemd-analyze said nothing of \(unit)")
            // The generated units are all rated on every setting compared (none is skipped).
            let rated =
                ["User=/DynamicUser=", "ProtectSystem=", "ProtectHome=", "RestrictAddressFamilies=~AF_PACKET", "SystemCallFilter=~@mount"]
                .allSatisfy { lines[$0] != nil } && ServiceSandboxOracleTests.booleans.allSatisfy { lines["\($0.0)="] != nil }
            #expect(rated || lines["refused"] != nil, "\(unit): \(lines.keys.sorted())")
            if try ServiceSandboxOracleTests.agree(unit, item, lines) { refusedCount += 1 }
            compared += 1
        }
        #expect(compared == 48)
        // Most units load, so that the settings are compared, and some are refused.
        #expect((1...12).contains(refusedCount), "\(refusedCount) units refused")
    }
}
