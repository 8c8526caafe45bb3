internal import Glibc
import HostFacts
import Testing
import WardenCore
internal import WardenFormats
import WardenTestSupport

/// Differential tests of ModprobeProbe against kmod 30 itself (docs/DAEMON-SEMANTICS.md):
/// `modprobe -c -C DIR…` (only reads: it prints the configuration and loads nothing) prints every
/// `blacklist`, `install`, `remove`, `alias`, `options` and `softdep` entry of the files it reads,
/// in its order, and names on stderr each line it ignores. Warden's entries, ignored lines and
/// per-module verdicts (blacklisted, the install rule that applies, the options) must be kmod's.
@Suite struct ModprobeOracleTests {
    static let modprobe: String? = ["/usr/sbin/modprobe", "/sbin/modprobe"].first { (path: String) in access(path, X_OK) == 0 }

    /// What `modprobe -c` says about a configuration: its entries by kind, and what it ignored.
    struct ToolView {
        var entries: [String: [String]] = [:]
        /// `path:line` of each line kmod calls bad.
        var badLines: [String] = []
        /// Files whose deprecated `include`/`config` lines kmod skipped (one per line).
        var deprecated: [String] = []
        var directories: [String] = []
    }

    static func run(_ arguments: [String]) throws -> (stdout: String, stderr: String) {
        let tool: String = try #require(modprobe, "kmod's modprobe is needed (Scripts/setup installs kmod)")
        let r = WardenTestSupport.run(tool, ["-c"] + arguments, timeout: 30)
        try #require(r.status == 0, "modprobe -c failed: \(r.stderr)")
        return (r.stdout, r.stderr)
    }

    static func entries(_ stdout: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in byteLines(stdout) {
            if line.hasPrefix("# End of configuration files") { break }
            guard let space = line.firstIndex(of: " ") else { continue }
            out[String(line[..<space]), default: []].append(String(line[line.index(after: space)...]))
        }
        return out
    }

    /// The entries kmod adds on its own (from this machine's /proc/cmdline), printed after the
    /// files' entries of each kind: taken off every view.
    static let baseline: [String: [String]] = {
        let empty = TempTree(prefix: "warden-modprobe-empty")
        return (try? run(["-C", empty.path]).stdout).map(entries) ?? [:]
    }()

    /// `entries` without the baseline's: the command line's come last in each kind; depmod's
    /// modules.softdep (where this machine has one) is read in its place among the files.
    static func withoutBaseline(_ entries: [String: [String]]) -> [String: [String]] {
        var out = entries
        for (kind, extra) in baseline where !extra.isEmpty {
            let mine = out[kind] ?? []
            if kind == "softdep" {
                out[kind] = mine.filter { !extra.contains($0) }
                continue
            }
            #expect(Array(mine.suffix(extra.count)) == extra, "the kernel command line's \(kind) entries come last")
            out[kind] = Array(mine.dropLast(extra.count))
        }
        return out
    }

    static func toolView(_ root: String) throws -> ToolView {
        let (stdout, stderr) = try run(ModprobeProbe.directories.flatMap { ["-C", root + $0] })
        var view = ToolView()
        view.entries = entries(stdout)
        view.entries = withoutBaseline(view.entries)
        for line in byteLines(stderr) {
            if let r = line.firstRange(of: "kmod_config_parse: "), let bad = line.firstRange(of: ": ignoring bad line starting with '") {
                let location = line[r.upperBound..<bad.lowerBound]
                guard let l = location.lastOccurrence(of: " line ") else { continue }
                view.badLines.append(String(location[..<l.lowerBound].dropFirst(root.count)) + ":" + location[l.upperBound...])
            } else if let r = line.firstRange(of: "kmod_config_parse: "), let d = line.firstRange(of: ": command ") {
                view.deprecated.append(String(line[r.upperBound..<d.lowerBound].dropFirst(root.count)))
            } else if let r = line.firstRange(of: "Directories inside directories are not supported: ") {
                view.directories.append(String(line[r.upperBound...].dropFirst(root.count)))
            }
        }
        return view
    }

    /// Warden's entries, printed as `modprobe -c` prints them.
    static func printed(_ rules: ModprobeProbe.Rules, _ kind: ModprobeProbe.Kind) -> [String] {
        rules.entries(kind).map { e in
            kind == .softdep ? e.name : e.name + (e.value.map { " " + $0 } ?? "")
        }
    }

    /// The module names to judge: those the controls ask about and every name in the configuration.
    static func modules(_ view: ToolView) -> [String] {
        var names = Set(ModprobeProbe.modules + ["snd_hda_intel", "usb_storage", "b-t", "b[-]t", "uas"])
        for kind in ["blacklist", "options", "install"] {
            for line in view.entries[kind] ?? [] { names.insert(String(line.prefix { $0 != " " })) }
        }
        return names.sorted()
    }

    static func check(_ root: String, _ label: String) throws {
        let tool = try toolView(root)
        let reading = ModprobeProbe.read(root: try HostRoot(root))
        #expect(reading.problems.isEmpty, "\(label): \(reading.problems)")
        for kind in ModprobeProbe.Kind.allCases {
            let toolLines = (tool.entries[kind.rawValue] ?? []).map { kind == .softdep ? String($0.prefix { $0 != " " }) : $0 }
            #expect(printed(reading.rules, kind) == toolLines, "\(label): \(kind.rawValue) entries")
        }
        let bad = reading.ignored.filter { $0.reason.hasPrefix("kmod ignores this bad line") }.map(\.location)
        #expect(bad == tool.badLines, "\(label): bad lines")
        let deprecated = reading.ignored.filter { $0.reason.contains("deprecated") }.map { String($0.location.prefix { $0 != ":" }) }
        #expect(deprecated == tool.deprecated, "\(label): deprecated commands")
        let directories = reading.ignored.filter { $0.reason.hasPrefix("a directory") }.map(\.location)
        let dangling = Set(reading.ignored.filter { $0.reason.hasPrefix("a link to nothing") }.map(\.location))
        #expect(directories.sorted() == tool.directories.filter { !dangling.contains($0) }.sorted(), "\(label): directories")

        // Per module, what kmod's lookups (first fnmatch install rule, exact blacklist, joined
        // options) give on kmod's entries, and what Warden concludes.
        let installs = (tool.entries["install"] ?? []).map { line -> (String, String) in
            let name = line.prefix { $0 != " " }
            return (String(name), String(line.dropFirst(name.count + 1)))
        }
        let facts = ModprobeProbe().collect(ProbeContext(root: try HostRoot(root), site: nil))
        guard case .value(let fact)? = facts["modules"] else { throw SysctlOracleTests.Failure("no modules fact") }
        for module in modules(tool) {
            let install = installs.first { fnmatch($0.0, module, 0) == 0 }
            #expect(reading.rules.install(of: module)?.value == install?.1, "\(label): install rule of \(module)")
            let blacklisted = (tool.entries["blacklist"] ?? []).contains(module)
            #expect((reading.rules.blacklist(of: module) != nil) == blacklisted, "\(label): blacklist of \(module)")
            let options = (tool.entries["options"] ?? []).filter { $0.prefix { $0 != " " } == module }.map {
                String($0.dropFirst(module.count + 1))
            }
            let mine = reading.rules.options(of: module).compactMap(\.value)
            #expect(mine == options, "\(label): options of \(module)")
            guard ModprobeProbe.modules.contains(module), let o = fact["modules"]?[module] else { continue }
            #expect(o["blocked"]?["value"] == .bool(install.map { ModprobeProbe.blocks($0.1) } ?? false), "\(label): \(module) blocked")
            #expect(o["blacklisted"]?["value"] == .bool(blacklisted), "\(label): \(module) blacklisted")
            #expect(
                o["options"]?["value"] == (options.isEmpty ? .null : .string(options.joined(separator: " "))), "\(label): \(module) options"
            )
        }
    }

    // MARK: - Fixtures

    static let fixtures = ["modprobe-blacklist-only", "modprobe-every-form-blocks", "modprobe-masked-and-crlf", "host-conformant"]

    @Test(arguments: fixtures)
    func fixtureAgreesWithKmod(_ name: String) throws {
        try Self.check(Package.fixtureRoot(name), name)
    }

    @Test func fixturesPassAndFailAsTheyShould() throws {
        let blocks = try audit(root: Package.fixtureRoot("modprobe-every-form-blocks"), probes: [ModprobeProbe()])
        // The storage rule holds; EXF-001's USB default deny reads other probes' facts, not collected here.
        let storage = blocks.findings["EXF-001"]
        #expect(
            storage.evidence.contains { $0.expected == "usb-storage blocked by an install rule" && $0.ok == true }, "\(storage.evidence)")
        #expect(storage.status == .error, "\(storage.summary)")
        guard case .value(let v)? = blocks.facts["modules"] else {
            Issue.record("no fact")
            return
        }
        // Hand-checked: every module the controls ask about is blocked; kmod's two bad lines are shown.
        for module in ModprobeProbe.modules {
            #expect(v["modules"]?[module]?["blocked"]?["value"] == true, "\(module)")
        }
        #expect(v["modules"]?["usb_storage"]?["options"]?["value"] == "delay_use=5 quirks=0")
        #expect(v["ignored"]?.arrayValue?.count == 2, "\(String(describing: v["ignored"]))")

        let masked = try audit(root: Package.fixtureRoot("modprobe-masked-and-crlf"), probes: [ModprobeProbe()])
        let f = masked.findings["EXF-001"]
        #expect(f.status == .fail)
        #expect(
            f.evidence.contains { $0.source.hasPrefix("/etc/modprobe.d/70-crlf.conf:1 (install usb-storage /bin/false\r)") },
            "\(f.evidence)")
        guard case .value(let m)? = masked.facts["modules"] else {
            Issue.record("no fact")
            return
        }
        #expect(m["modules"]?["usb_storage"]?["blacklisted"]?["value"] == false)
        #expect(m["modules"]?["firewire_core"]?["blocked"]?["value"] == false)
    }

    /// This machine's own configuration, with kmod's default directories: Warden's directory
    /// list is kmod's.
    @Test func thisMachinesConfigurationAgrees() throws {
        let (stdout, _) = try Self.run([])
        let tool = Self.withoutBaseline(Self.entries(stdout))
        let reading = ModprobeProbe.read(root: try HostRoot("/"))
        for kind in [ModprobeProbe.Kind.blacklist, .install, .options, .alias] {
            #expect(Self.printed(reading.rules, kind) == (tool[kind.rawValue] ?? []), "\(kind.rawValue)")
        }
    }

    // MARK: - Generated trees

    /// 80 trees built from the line forms kmod accepts, warns about or skips.
    @Test(arguments: 0..<80)
    func generatedTreeAgreesWithKmod(_ seed: Int) throws {
        let tree = TempTree(prefix: "warden-modprobe-oracle")
        var rng = SplitMix64(seed: UInt64(seed) &* 0x2545_F491 &+ 11)
        ModprobeTreeGenerator.build(tree, &rng)
        try Self.check(tree.path, "seed \(seed)")
    }
}

/// Trees of modprobe.d files from a grammar of kmod's commands and the ways lines go wrong.
enum ModprobeTreeGenerator {
    static let names = [
        "usb-storage", "usb_storage", "uas", "firewire-core", "firewire_ohci", "firewire*", "usb*", "bluetooth",
        "btusb", "thunderbolt", "b[-]t", "snd-hda-intel", "a]b", "c[d", "*", "fire?ire_sbp2",
    ]
    static let commands = [
        "/bin/false", "/bin/true", "/usr/bin/false", "/sbin/modprobe --ignore-install usb-storage", " ",
        "  /bin/false  # blocked", "false", "/bin/echo no; /bin/false", "\t/bin/true",
    ]
    static let options = ["delay_use=5", "quirks=0\tx=1", "enable=0 ", "  a=b", "index=-2"]

    static func sep(_ rng: inout SplitMix64) -> String { rng.pick([" ", " ", " ", "\t", "  ", " \t "]) }

    static func line(_ rng: inout SplitMix64) -> String {
        let name = rng.pick(names)
        let lead = rng.chance(0.1) ? rng.pick([" ", "\t", "  "]) : ""
        let trail = rng.chance(0.15) ? rng.pick([" ", "  ", "\t", "\r"]) : ""
        var body: String
        switch Int.random(in: 0..<26, using: &rng) {
        case 0...4: body = "install\(sep(&rng))\(name)\(sep(&rng))\(rng.pick(commands))"
        case 5...8: body = "blacklist\(sep(&rng))\(name)"
        case 9, 10: body = "blacklist \(name) \(rng.pick(names))"
        case 11, 12: body = "options\(sep(&rng))\(name)\(sep(&rng))\(rng.pick(options))"
        case 13: body = "alias \(rng.pick(["usb:v*", "pci:v00008086d*", "my-alias"])) \(name)"
        case 14: body = "remove \(name) /bin/true"
        case 15: body = "softdep \(name) pre: uas post: \(rng.pick(names))"
        case 16: body = rng.pick(["# a comment", "#", "# install usb-storage /bin/false"])
        case 17: body = "  # an indented comment"
        case 18: body = rng.pick(["include /etc/modprobe.d/x.conf", "config y"])
        case 19:
            body = rng.pick([
                "weakdep bluetooth btusb", "Blacklist usb-storage", "block usb-storage", "install", "options \(name)",
                "install \(name)", "alias one", "softdep \(name)", "blacklist",
            ])
        case 20: body = rng.pick(["", "   ", "\t"])
        case 21: body = "install \(name) /bin/fal\\se"
        case 22: body = "blacklist \(name)\u{0}junk"
        default: body = "install \(name) \\\n\t\(rng.pick(commands))"
        }
        // A backslash-newline may split any line between words.
        if rng.chance(0.1), let space = body.firstIndex(of: " ") {
            body = String(body[..<space]) + " \\\n" + String(body[body.index(after: space)...])
        }
        return lead + body + trail
    }

    static func content(_ rng: inout SplitMix64) -> [UInt8] {
        let lines = (0..<Int.random(in: 0...10, using: &rng)).map { _ in line(&rng) }
        var text = lines.joined(separator: "\n")
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: break
        case 1: text += "\\"
        case 2: text += "\\\n"
        default: text += "\n"
        }
        return Array(text.utf8)
    }

    static func build(_ tree: TempTree, _ rng: inout SplitMix64) {
        let merged = rng.chance(0.3)
        if merged {
            tree.directory("usr/lib")
            tree.symlink("lib", to: "usr/lib")
        }
        let dirs = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "lib/modprobe.d", "usr/lib/modprobe.d"]
        let files = [
            "10-a.conf", "50-x.conf", "60-warden.conf", "usb.conf", "x.alias", "a.conf", ".hidden.conf", "README",
            "60-warden.conf.dpkg-old", "blacklist", "z.alias",
        ]
        var made: Set<String> = []
        for _ in 0..<Int.random(in: 1...7, using: &rng) {
            let dir = rng.pick(dirs)
            let path = dir + "/" + rng.pick(files)
            // With /lib a link to usr/lib, the two names are one directory.
            let key = merged ? path.swappingFirst("usr/lib/", for: "lib/") : path
            guard made.insert(key).inserted else { continue }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<8: tree.symlink(path, to: "/dev/null")
            // kmod 30 does not check fstatat() on a dangling link and tests whatever type the
            // entry before it had (docs/DAEMON-SEMANTICS.md): such links get names of their own.
            case 8..<12: tree.symlink("\(dir)/dangling-\(made.count).conf", to: "missing.conf")
            case 12..<15: tree.directory(path)
            default: tree.bytes(path, content(&rng))
            }
        }
    }
}

extension String {
    /// The string with the first `target` replaced.
    func swappingFirst(_ target: String, for replacement: String) -> String {
        guard let r = firstRange(of: target) else { return self }
        return String(self[..<r.lowerBound]) + replacement + String(self[r.upperBound...])
    }
}

extension StringProtocol {
    /// The last occurrence of `target`.
    func lastOccurrence(of target: String) -> Range<Index>? {
        var found: Range<Index>?
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            found = r
            rest = self[index(after: r.lowerBound)...]
        }
        return found
    }
}
