import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Differential tests of journald.conf and coredump.conf reading (SystemdConf, JournaldProbe,
/// CoredumpProbe) against systemd 252 itself (docs/DAEMON-SEMANTICS.md).
///
/// Three oracles:
/// - **Files and lines**: `systemd-analyze cat-config systemd/NAME --root=TREE` prints the files in
///   the order systemd reads them, each followed by its lines as `read_line()` splits them.
/// - **What the daemon ignores and where it stops**: the real `systemd-journald` of the Debian 12
///   root, run chrooted with each tree laid over the root (Scripts/in-root), parses its
///   configuration, logs every line it ignores (`FILE:LINE: …`) and where it stops, then exits
///   early (there is no cgroup file system in the chroot). It runs without CAP_AUDIT_CONTROL and
///   CAP_SYSLOG, so it cannot touch the kernel's audit state or log. Debian 12 has no
///   systemd-coredump in its systemd package: coredump.conf is checked by cat-config and the
///   reference, whose parser rules (the shared conf-parser.c) journald checks.
/// - **Effective values**: a reference written here from systemd.syntax(7), journald.conf(5),
///   coredump.conf(5) and conf-parser.c, fed with the tool's files and lines: the last valid
///   assignment in the daemon's section wins. The reference's ignored lines are themselves
///   compared with journald's log, and its size parser (Warden's `parseSize`) with journald's
///   verdicts on `SystemMaxUse=` (the same `config_parse_iec_uint64`).
@Suite struct SystemdConfOracleTests {
    static let analyze = "/usr/bin/systemd-analyze"

    struct Daemon: Sendable {
        var name: String
        var section: String
        var keys: Set<String>
        /// Keys whose values are checked (the rest are taken as written).
        var checked: [String: @Sendable (String) -> Bool]
    }

    static let journald = Daemon(
        name: "journald.conf", section: "Journal",
        keys: [
            "Storage", "Compress", "Seal", "ReadKMsg", "Audit", "SyncIntervalSec", "RateLimitInterval", "RateLimitIntervalSec",
            "RateLimitBurst", "SystemMaxUse", "SystemMaxFileSize", "SystemKeepFree", "SystemMaxFiles", "RuntimeMaxUse",
            "RuntimeMaxFileSize", "RuntimeKeepFree", "RuntimeMaxFiles", "MaxRetentionSec", "MaxFileSec", "ForwardToSyslog",
            "ForwardToKMsg", "ForwardToConsole", "ForwardToWall", "TTYPath", "MaxLevelStore", "MaxLevelSyslog", "MaxLevelKMsg",
            "MaxLevelConsole", "MaxLevelWall", "SplitMode", "LineMax",
        ],
        checked: [
            "Storage": { ["volatile", "persistent", "auto", "none"].contains($0) }, "Seal": { SystemdConf.parseBool($0) != nil },
            "SystemMaxUse": { SystemdConf.parseSize($0) != nil },
        ])

    static let coredump = Daemon(
        name: "coredump.conf", section: "Coredump",
        keys: ["Storage", "Compress", "ProcessSizeMax", "ExternalSizeMax", "JournalSizeMax", "KeepFree", "MaxUse"],
        checked: ["Storage": { ["none", "external", "journal"].contains($0) }, "ProcessSizeMax": { SystemdConf.parseSize($0) != nil }])

    // MARK: - What cat-config says

    struct ToolView {
        var files: [(path: String, lines: [String])] = []
        var stoppedAt: String?
    }

    static func catConfig(_ root: String, _ daemon: Daemon) throws -> ToolView {
        let r = run(analyze, ["cat-config", "systemd/" + daemon.name, "--root=\(root)", "--no-pager"], timeout: 30)
        var view = ToolView()
        let prefix = "# \(root)/"
        for line in byteLines(r.stdout) {
            if line.hasPrefix(prefix) {
                if var last = view.files.popLast() {
                    if last.lines.last == "" { last.lines.removeLast() }
                    view.files.append(last)
                }
                view.files.append((String(line.dropFirst(prefix.count - 1)), []))
            } else if !view.files.isEmpty {
                view.files[view.files.count - 1].lines.append(line)
            } else if !line.isEmpty && !line.hasPrefix("# Main configuration file systemd/\(daemon.name) not found") {
                Issue.record("cat-config printed a line before any file: \(line)")
            }
        }
        if r.status != 0 {
            let marker = "Failed to cat \(root)"
            let failure = try #require(byteLines(r.stderr).first { $0.hasPrefix(marker) }, "systemd-analyze failed: \(r.stderr)")
            let path = String(failure.dropFirst(marker.count).prefix { $0 != ":" })
            view.stoppedAt = path
            if view.files.last?.path != path { view.files.append((path, [])) }
        }
        return view
    }

    // MARK: - The reference, fed with the tool's lines

    struct Outcome {
        var values: [String: (value: String, source: String)] = [:]
        /// FILE:LINE of every line the daemon warns about and ignores (values of checked keys included).
        var ignored: [String] = []
        /// Where the daemon stops reading.
        var stop: String?
        var assignments: [(location: String, key: String, value: String)] = []
    }

    enum Reference {
        static func strip(_ s: Substring) -> Substring {
            var s = s
            while let f = s.first, " \t\r\n".contains(f) { s = s.dropFirst() }
            while let l = s.last, " \t\r\n".contains(l) { s = s.dropLast() }
            return s
        }

        /// conf-parser.c as systemd.syntax(7) describes it: comments (`#`, `;`) even inside a
        /// continued line; `\` at the end continues (becoming a space), numbered by its last line;
        /// a BOM dropped once per file; `[Section]` headers (others ignored with a warning, `X-`
        /// silently); a bad header, quotes, backslashes or control characters in one, or a line
        /// that is not UTF-8 end the reading; `Key=value` stripped, unknown keys ignored.
        static func read(_ files: [(path: String, lines: [String])], _ daemon: Daemon) -> Outcome {
            var out = Outcome()
            for (path, lines) in files {
                var section: String?
                var sectionIgnored = false
                var bom = true
                var continuation: String?
                var n = 0
                func parse(_ raw: String, _ n: Int) -> Bool {
                    let here = "\(path):\(n)"
                    let l = strip(Substring(raw))
                    guard !l.isEmpty else { return false }
                    if l.unicodeScalars.contains(where: {
                        $0.value == 0xFFFD || (0xFDD0...0xFDEF).contains($0.value) || $0.value & 0xFFFE == 0xFFFE
                    }) {
                        out.stop = here
                        return true
                    }
                    if l.first == "[" {
                        guard l.count >= 2, l.last == "]" else {
                            out.stop = here
                            return true
                        }
                        let name = l.dropFirst().dropLast()
                        if name.unicodeScalars.contains(where: {
                            $0.value < 0x20 || $0.value == 0x7F || "\"'\\".unicodeScalars.contains($0)
                        }) {
                            out.stop = here
                            return true
                        }
                        if name == daemon.section {
                            section = String(name)
                            sectionIgnored = false
                        } else {
                            section = nil
                            sectionIgnored = true
                            if !name.hasPrefix("X-") { out.ignored.append(here) }
                        }
                        return false
                    }
                    guard section != nil else {
                        if !sectionIgnored { out.ignored.append(here) }
                        return false
                    }
                    guard let eq = l.firstIndex(of: "="), eq != l.startIndex else {
                        out.ignored.append(here)
                        return false
                    }
                    let key = String(strip(l[..<eq]))
                    let value = String(strip(l[l.index(after: eq)...]))
                    guard daemon.keys.contains(key) else {
                        if !key.hasPrefix("X-") { out.ignored.append(here) }
                        return false
                    }
                    out.assignments.append((here, key, value))
                    if let check = daemon.checked[key], !check(value) {
                        out.ignored.append(here)
                        return false
                    }
                    out.values[key] = (value, here)
                    return false
                }
                for line in lines {
                    n += 1
                    if let first = line.first(where: { !" \t".contains($0) }), first == "#" || first == ";" { continue }
                    var text = line
                    if bom, text.hasPrefix("\u{FEFF}") {
                        text.removeFirst()
                        bom = false
                    }
                    var joined = (continuation ?? "") + text
                    if joined.reversed().prefix(while: { $0 == "\\" }).count % 2 == 1 {
                        joined.removeLast()
                        continuation = joined + " "
                        continue
                    }
                    continuation = nil
                    if parse(joined, n) { return out }
                }
                if let continuation, parse(continuation, n + 1) { return out }
            }
            return out
        }
    }

    // MARK: - Warden's view

    struct WardenView {
        var fact: JSON
        var ignoredLocations: [String]
        var lines: [String: [String]] = [:]
    }

    static func wardenView(_ root: String, _ daemon: Daemon) throws -> WardenView {
        let host = try HostRoot(root)
        let context = ProbeContext(root: host, site: nil)
        let facts = daemon.name == "journald.conf" ? JournaldProbe().collect(context) : CoredumpProbe().collect(context)
        guard case .value(let fact)? = facts.values.first else { throw Failure("no fact: \(String(describing: facts.values.first))") }
        let ignored = (fact["ignored"]?.arrayValue ?? []).compactMap { $0.stringValue }.map(location)
        var view = WardenView(fact: fact, ignoredLocations: ignored)
        for file in (fact["files"]?.arrayValue ?? []).compactMap(\.stringValue) {
            let bytes = (try? host.read(file)) ?? []  // a link to /dev/null: nothing in the tree
            view.lines[file] = SysctlProbe.systemdLines(bytes).lines.map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        return view
    }

    /// `FILE:LINE` (or `FILE`) of an entry of the fact's `ignored`.
    static func location(_ entry: String) -> String {
        guard let r = entry.firstRange(of: ": ") else { return entry }
        return String(entry[..<r.lowerBound])
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    // MARK: - The comparisons

    /// cat-config lists the main file under /usr/lib when /etc has none, and no /lib drop-ins
    /// (its CONF_PATHS_USR); the daemons read only /etc's main file and also /lib (exceptions 1, 2).
    static func expectSameFiles(_ tool: ToolView, _ warden: WardenView, _ daemon: Daemon, _ label: String) {
        var toolPaths = tool.files.map(\.path)
        if toolPaths.first == "/usr/lib/systemd/\(daemon.name)" { toolPaths.removeFirst() }
        let read = (warden.fact["files"]?.arrayValue ?? []).compactMap(\.stringValue)
        let unread = (warden.fact["unread"]?.arrayValue ?? []).compactMap(\.stringValue)
        // Directories and links to nothing are listed by Warden in `ignored`, not `files`.
        let skipped = warden.ignoredLocations.filter { !$0.contains(":") }
        var mine = read + skipped + unread
        mine.sort { a, b in (toolPaths.firstIndex(of: a) ?? Int.max, a) < (toolPaths.firstIndex(of: b) ?? Int.max, b) }
        mine = mine.filter { !$0.hasPrefix("/lib/") }
        if tool.stoppedAt != nil {
            #expect(Array(mine.prefix(toolPaths.count)) == toolPaths, "\(label): files")
        } else {
            #expect(mine == toolPaths, "\(label): files")
        }
        for (path, lines) in tool.files where path != tool.stoppedAt && read.contains(path) {
            #expect(warden.lines[path] == lines, "\(label): lines of \(path)")
        }
    }

    /// Values and ignored lines against the reference fed with the tool's lines (and, on a
    /// split-/usr tree, the /lib drop-ins cat-config leaves out, in their place by name).
    static func expectReferenceValues(_ root: String, _ tool: ToolView, _ warden: WardenView, _ daemon: Daemon, _ label: String) -> Outcome?
    {
        var files = tool.files
        if files.first?.path == "/usr/lib/systemd/\(daemon.name)" { files.removeFirst() }
        if let stopped = tool.stoppedAt {
            // cat-config stops at a link to nothing, which the daemon skips: what follows is unknown here.
            guard (try? HostRoot(root).info(stopped))?.kind == .directory else { return nil }
            files.removeAll { $0.path == stopped }
        }
        let main = "/etc/systemd/\(daemon.name)"
        for (path, lines) in warden.lines where path.hasPrefix("/lib/") {
            let name = Array(path.split(separator: "/").last!.utf8)
            let at =
                files.firstIndex { $0.path != main && !Array($0.path.split(separator: "/").last!.utf8).lexicographicallyPrecedes(name) }
                ?? files.count
            files.insert((path, lines), at: at)
        }
        var outcome = Reference.read(files, daemon)
        if outcome.stop == nil, let stopped = tool.stoppedAt { outcome.stop = stopped }
        var expectedIgnored = outcome.ignored.filter { location in
            !outcome.assignments.contains { $0.location == location && $0.key == "SystemMaxUse" }
        }
        if let stop = outcome.stop { expectedIgnored.append(stop) }
        #expect(
            Set(warden.ignoredLocations.filter { $0.contains(":") || $0 == outcome.stop })
                == Set(expectedIgnored.filter { $0.contains(":") || $0 == outcome.stop }),
            "\(label): ignored lines: Warden \(warden.fact["ignored"] ?? .null), reference \(expectedIgnored)")
        let fields =
            daemon.name == "journald.conf"
            ? [("Storage", "storage"), ("Seal", "seal")] : [("Storage", "storage"), ("ProcessSizeMax", "process_size_max")]
        for (key, field) in fields {
            let mine = warden.fact[field]
            let source = mine?["source"]?.stringValue ?? ""
            guard let (value, location) = outcome.values[key] else {
                #expect(source.hasPrefix("default"), "\(label): \(key) is not set, Warden says \(String(describing: mine))")
                continue
            }
            #expect(source == location, "\(label): \(key) from \(location), Warden \(source)")
            switch key {
            case "Seal": #expect(mine?["value"] == .bool(SystemdConf.parseBool(value)!), "\(label): Seal=\(value)")
            case "ProcessSizeMax":
                #expect(mine?["value"] == .int(Int64(clamping: SystemdConf.parseSize(value)!)), "\(label): ProcessSizeMax=\(value)")
            default: #expect(mine?["value"] == .string(value), "\(label): \(key)=\(value)")
            }
        }
        return outcome
    }

    // MARK: - journald itself, in the Debian 12 root

    /// What journald logged about its configuration, per case: FILE:LINE (or FILE) → messages.
    static func journaldLogs(_ cases: [(name: String, tree: TempTree)]) throws -> [String: [(location: String, message: String)]] {
        let layer = TempTree(prefix: "warden-journald-layer")
        for (name, tree) in cases {
            layer.directory("cases/\(name)")
            for top in ["etc", "run", "usr"] where run("/usr/bin/test", ["-e", "\(tree.path)/\(top)"]).status == 0 {
                _ = run("/bin/cp", ["-a", "\(tree.path)/\(top)", "\(layer.path)/cases/\(name)/"])
            }
        }
        let script = """
            for d in /cases/*; do
              rm -rf /etc/systemd/journald.conf /etc/systemd/journald.conf.d /run/systemd/journald.conf.d \
                     /usr/local/lib/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d /usr/lib/systemd/journald.conf
              cp -a "$d/." /
              echo "=== ${d##*/}"
              SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_COLOR=0 \
                setpriv --bounding-set -audit_control,-audit_write,-audit_read,-syslog,-sys_module \
                timeout 10 /lib/systemd/systemd-journald 2>&1 | grep -a -E '^/|Failed to open configuration file' || true
            done
            """
        let root = try RealRoots.debian12()
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 600) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var out: [String: [(String, String)]] = [:]
        var current: String?
        for line in byteLines(r.stdout) {
            if line.hasPrefix("=== ") {
                current = String(line.dropFirst(4))
                out[current!] = []
                continue
            }
            guard let current else { continue }
            if line.hasPrefix("Failed to open configuration file '") {
                let path = line.dropFirst("Failed to open configuration file '".count).prefix { $0 != "'" }
                out[current]?.append((String(path), line))
            } else if line.hasPrefix("/"), let r = line.firstRange(of: ": ") {
                var location = String(line[..<r.lowerBound])
                if location.hasSuffix(":0") { location.removeLast(2) }
                out[current]?.append((location, String(line[r.upperBound...])))
            }
        }
        return out
    }

    // MARK: - Generated trees

    @Test func generatedJournaldTreesAgreeWithSystemd() throws {
        let started = monotonicSeconds()
        var cases: [(name: String, tree: TempTree, merged: Bool)] = []
        for seed in 0..<60 {
            let tree = TempTree(prefix: "warden-journald-oracle")
            var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 14)
            let merged = ConfTreeGenerator.build(tree, Self.journald, &rng)
            cases.append((String(format3(seed)), tree, merged))
        }
        let logs = try Self.journaldLogs(cases.filter(\.merged).map { ($0.name, $0.tree) })
        var compared = 0
        var sizeLines = 0
        var logged = 0
        var stops = 0
        var valued = 0
        for (name, tree, merged) in cases {
            let label = "journald seed \(name)"
            let tool = try Self.catConfig(tree.path, Self.journald)
            let warden = try Self.wardenView(tree.path, Self.journald)
            Self.expectSameFiles(tool, warden, Self.journald, label)
            let outcome = Self.expectReferenceValues(tree.path, tool, warden, Self.journald, label)
            if let outcome { valued += outcome.values.count }
            guard merged, let log = logs[name] else { continue }
            compared += 1
            logged += log.count
            if log.contains(where: { $0.message.contains("Failed to parse file") || $0.message.contains("Error while reading") }) {
                stops += 1
            }
            // journald's own account: every location it names, and Warden's ignored lines.
            let sizeLocations = Set((outcome?.assignments ?? []).filter { $0.key == "SystemMaxUse" }.map(\.location))
            let host = try HostRoot(tree.path)
            let daemonLocations = Set(
                log.filter { entry in
                    // journald also says it could not open a main file that is not there at all.
                    !(entry.message.hasPrefix("Failed to open") && (try? host.info(entry.location, followFinal: false)) == nil)
                }.map(\.location)
            ).subtracting(sizeLocations)
            #expect(
                daemonLocations == Set(warden.ignoredLocations),
                "\(label): journald logged \(log.map { "\($0.location): \($0.message)" }), Warden ignored \(warden.fact["ignored"] ?? .null)"
            )
            if let outcome {
                #expect(
                    Set(outcome.ignored + (outcome.stop.map { [$0] } ?? [])).subtracting(sizeLocations).subtracting(
                        log.filter { !$0.location.contains(":") }.map(\.location)) == daemonLocations.filter { $0.contains(":") },
                    "\(label): the reference's ignored lines are journald's")
                // The size parser against journald's verdicts on SystemMaxUse.
                for a in outcome.assignments where a.key == "SystemMaxUse" {
                    sizeLines += 1
                    let refused = log.contains { $0.location == a.location && $0.message.hasPrefix("Failed to parse size value") }
                    #expect(
                        (SystemdConf.parseSize(a.value) == nil) == refused,
                        "\(label): SystemMaxUse=\(a.value) at \(a.location): journald \(refused ? "refuses" : "accepts") it")
                }
            }
        }
        #expect(compared >= 40, "journald ran for \(compared) trees")
        #expect(sizeLines >= 20, "\(sizeLines) SystemMaxUse lines checked")
        print(
            "SystemdConfOracleTests: 60 journald.conf trees (\(compared) also by journald: \(logged) messages, \(stops) stops; \(valued) values set; \(sizeLines) sizes) in \(Int((monotonicSeconds() - started) * 1000)) ms"
        )
    }

    @Test func generatedCoredumpTreesAgreeWithSystemd() throws {
        for seed in 0..<60 {
            let tree = TempTree(prefix: "warden-coredump-oracle")
            var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9 &+ 1414)
            _ = ConfTreeGenerator.build(tree, Self.coredump, &rng)
            let label = "coredump seed \(seed)"
            let tool = try Self.catConfig(tree.path, Self.coredump)
            let warden = try Self.wardenView(tree.path, Self.coredump)
            Self.expectSameFiles(tool, warden, Self.coredump, label)
            _ = Self.expectReferenceValues(tree.path, tool, warden, Self.coredump, label)
        }
    }

    // MARK: - Fixtures, checked by hand

    @Test(arguments: ["journald-layered-dropins", "journald-stops-at-bad-section", "host-conformant", "host-debian-default"])
    func fixtureAgreesWithSystemd(_ name: String) throws {
        let root = Package.fixtureRoot(name)
        for daemon in [Self.journald, Self.coredump] {
            let tool = try Self.catConfig(root, daemon)
            let warden = try Self.wardenView(root, daemon)
            Self.expectSameFiles(tool, warden, daemon, "\(name) \(daemon.name)")
            _ = Self.expectReferenceValues(root, tool, warden, daemon, "\(name) \(daemon.name)")
        }
    }

    @Test func layeredDropInsHandChecked() throws {
        let root = Package.fixtureRoot("journald-layered-dropins")
        let j = try Self.wardenView(root, Self.journald).fact
        // 50-vendor.conf in /usr/lib (persistent) is masked by /etc's link to /dev/null; the
        // main file's volatile is overridden by 60-local.conf's continued line; 70-bad.conf's
        // quoted and commented values are ignored; the last valid Seal is 80-seal.conf's `off`.
        #expect(j["storage"] == ["value": "persistent", "source": "/run/systemd/journald.conf.d/60-local.conf:4"])
        #expect(j["seal"] == ["value": false, "source": "/usr/local/lib/systemd/journald.conf.d/80-seal.conf:3"])
        #expect(
            j["files"] == [
                "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/50-vendor.conf",
                "/run/systemd/journald.conf.d/60-local.conf", "/usr/lib/systemd/journald.conf.d/70-bad.conf",
                "/usr/local/lib/systemd/journald.conf.d/80-seal.conf",
            ])
        #expect(
            j["ignored"] == [
                "/usr/lib/systemd/journald.conf.d/70-bad.conf:2: invalid Storage='volatile' (systemd ignores it)",
                "/usr/lib/systemd/journald.conf.d/70-bad.conf:3: invalid Storage=none # off (systemd ignores it)",
                "/usr/lib/systemd/journald.conf.d/70-bad.conf:4: unknown key `storage` in [Journal], ignored",
                "/usr/lib/systemd/journald.conf.d/70-bad.conf:6: unknown section [Jornal]: its lines are ignored",
            ])
        let c = try Self.wardenView(root, Self.coredump).fact
        // ProcessSizeMax=infinity is refused (parse_size): the earlier 0 stands; 1G 512M is a size.
        #expect(c["storage"] == ["value": "none", "source": "/etc/systemd/coredump.conf.d/60-warden.conf:2"])
        #expect(c["process_size_max"] == ["value": 0, "source": "/etc/systemd/coredump.conf.d/60-warden.conf:3"])
        #expect(c["ignored"] == ["/etc/systemd/coredump.conf.d/90-debug.conf:2: invalid ProcessSizeMax=infinity (systemd ignores it)"])
        let audit = try audit(root: root, probes: [SysctlProbe(), CoredumpProbe(), JournaldProbe()]).findings
        #expect(audit["LOG-007"].status != .error, "\(audit["LOG-007"].summary)")
    }

    @Test func stopsAtABadSectionHeaderHandChecked() throws {
        let root = Package.fixtureRoot("journald-stops-at-bad-section")
        let j = try Self.wardenView(root, Self.journald).fact
        // 20-broken.conf:3 `[Journal] # keep` is not a section header: journald keeps what it
        // read (persistent from 10-persistent.conf), ignores the rest of 20-broken.conf and never
        // reads 30-none.conf.
        #expect(j["storage"] == ["value": "persistent", "source": "/etc/systemd/journald.conf.d/10-persistent.conf:2"])
        #expect(j["unread"] == ["/etc/systemd/journald.conf.d/30-none.conf"])
        #expect(
            j["ignored"]?.arrayValue?.last?.stringValue?.hasPrefix(
                "/etc/systemd/journald.conf.d/20-broken.conf:3: invalid section header `[Journal] # keep`: systemd-journald stops reading its configuration here"
            ) == true)
    }

    /// On a split-/usr root journald 252 reads /lib/systemd/journald.conf.d (its binary lists it),
    /// which cat-config leaves out.
    @Test func libDropInsOnASplitUsrRoot() throws {
        let tree = TempTree()
        tree.file("usr/lib/systemd/journald.conf.d/10-usr.conf", "[Journal]\nStorage=volatile\n")
        tree.file("lib/systemd/journald.conf.d/10-usr.conf", "[Journal]\nStorage=none\n")
        tree.file("lib/systemd/journald.conf.d/20-lib.conf", "[Journal]\nStorage=persistent\n")
        let j = try Self.wardenView(tree.path, Self.journald).fact
        #expect(j["files"] == ["/usr/lib/systemd/journald.conf.d/10-usr.conf", "/lib/systemd/journald.conf.d/20-lib.conf"])
        #expect(j["storage"] == ["value": "persistent", "source": "/lib/systemd/journald.conf.d/20-lib.conf:2"])
        let strings = run("/usr/bin/grep", ["-c", "-a", "/lib/systemd/journald.conf.d", "/lib/systemd/systemd-journald"])
        #expect(strings.status == 0, "the journald binary names /lib/systemd/journald.conf.d")
    }

    @Test(arguments: [
        ("0", UInt64(0)), ("2G", 2 << 30), ("1.5G", 3 << 29), ("2 G", 2 << 30), ("1G 512M", 3 << 29), ("10.M", 10 << 20),
        ("+5", 5), ("512B", 512), ("8E", 1 << 63), ("1K 1B", 1025),
    ])
    func sizes(_ text: String, _ bytes: UInt64) {
        #expect(SystemdConf.parseSize(text) == bytes)
    }

    @Test(arguments: ["infinity", "512M 1G", "1K B", "-1", "1e3", "0x10", "1GB", "", "16E", "5 +3", "18446744073709551616"])
    func refusedSizes(_ text: String) {
        #expect(SystemdConf.parseSize(text) == nil)
    }
}

private func format3(_ n: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, 3 - s.count)) + s
}

/// Trees of journald.conf / coredump.conf drop-ins from the line forms systemd.syntax(7) allows
/// and the ways they go wrong.
enum ConfTreeGenerator {
    static let names = [
        "10-a.conf", "20-b.conf", "50-vendor.conf", "60-warden.conf", "99-z.conf", "A.conf", "_x.conf",
        ".hidden.conf", "notes.txt", "60-warden.conf.bak", "conf",
    ]

    static func values(_ key: String, _ daemon: SystemdConfOracleTests.Daemon) -> [String] {
        switch key {
        case "Storage" where daemon.section == "Journal":
            return [
                "persistent", "persistent", "volatile", "auto", "none", "Persistent", "'persistent'", "\"volatile\"", "persistent # keep",
                "", "external",
            ]
        case "Storage":
            return ["none", "none", "external", "journal", "None", "both", "'none'", "", "none # off", "persistent"]
        case "Seal":
            return ["yes", "no", "1", "0", "true", "off", "On", "Y", "maybe", "", "yes # c", "2"]
        default:
            return sizes
        }
    }

    static let sizes = [
        "0", "2G", "1.5G", "2 G", "1G 512M", "512M 1G", "infinity", "-1", "1e3", "0x10", "1GB", "", "10.M", "+5",
        "5 +3", "18446744073709551615", "18446744073709551616", "16E", "8E", "0B", "1K 1B", "1 K", "1K B", "32768",
    ]

    static func keys(_ daemon: SystemdConfOracleTests.Daemon) -> [String] {
        daemon.section == "Journal"
            ? ["Storage", "Storage", "Storage", "Seal", "Seal", "SystemMaxUse", "SystemMaxUse", "storage", "Foo", "X-Foo", "Sea l"]
            : ["Storage", "Storage", "ProcessSizeMax", "ProcessSizeMax", "ProcessSizeMax", "MaxUse", "processsizemax", "Foo", "X-Bar"]
    }

    static func line(_ daemon: SystemdConfOracleTests.Daemon, _ allowStop: Bool, _ rng: inout SplitMix64) -> [String] {
        let key = rng.pick(keys(daemon))
        let value = rng.pick(values(key, daemon))
        switch Int.random(in: 0..<30, using: &rng) {
        case 0...9: return ["\(key)=\(value)"]
        case 10, 11: return ["\(key) = \(value)"]
        case 12: return ["  \(key)\t=  \(value)  "]
        case 13: return ["#\(key)=\(value)"]
        case 14: return ["; \(key)=\(value)"]
        case 15: return ["   # indented"]
        case 16: return [rng.pick(["", "   ", "\t"])]
        case 17, 18:
            return [
                rng.pick([
                    "[\(daemon.section)]", "[\(daemon.section)]", "[\(daemon.section)]", "[X-Foo]", "[Other]",
                    "[\(daemon.section.lowercased())]", "[ \(daemon.section)]", "[]", "  [\(daemon.section)]  ",
                ])
            ]
        case 19: return [key]
        case 20: return ["=\(value)"]
        case 21:
            return ["\(key)=\(value)\\", rng.pick(["# a comment inside", "  continued", "\(key)=\(value)", ""]), rng.pick(["", "more"])]
        case 22: return ["\(key)=\(value)\\\\"]
        case 23...24 where allowStop:
            return [rng.pick(["[\(daemon.section)", "[\(daemon.section)] # c", "[Jo\"urnal]", "\(key)=\u{FFFF}bad"])]
        default: return ["\(key)=\(value)"]
        }
    }

    static func content(_ daemon: SystemdConfOracleTests.Daemon, _ allowStop: Bool, _ rng: inout SplitMix64) -> [UInt8] {
        var lines: [String] = rng.chance(0.85) ? ["[\(daemon.section)]"] : []
        for _ in 0..<Int.random(in: 0...9, using: &rng) { lines += line(daemon, allowStop, &rng) }
        var text: String
        switch Int.random(in: 0..<20, using: &rng) {
        case 0...13: text = lines.joined(separator: "\n") + "\n"
        case 14, 15: text = lines.joined(separator: "\r\n") + "\r\n"
        case 16: text = lines.joined(separator: "\r")
        case 17: text = lines.joined(separator: "\n")
        default: text = lines.joined(separator: "\n\n") + "\n"
        }
        var bytes = Array(text.utf8)
        // U+FFFF (which systemd's utf8_is_valid refuses too) mostly stands for bytes that are not UTF-8.
        let marker: [UInt8] = [0xEF, 0xBF, 0xBF]
        if rng.chance(0.7), let i = (0..<max(0, bytes.count - 2)).first(where: { Array(bytes[$0..<$0 + 3]) == marker }) {
            bytes.replaceSubrange(i..<i + 3, with: [0xFF, 0xFE])
        }
        if rng.chance(0.05) { bytes = [0xEF, 0xBB, 0xBF] + bytes }
        return bytes
    }

    /// Builds one tree; returns whether /usr is merged (/lib a link to usr/lib).
    static func build(_ tree: TempTree, _ daemon: SystemdConfOracleTests.Daemon, _ rng: inout SplitMix64) -> Bool {
        let merged = rng.chance(0.8)
        let allowStop = rng.chance(0.3)
        if merged { tree.symlink("lib", to: "usr/lib") }
        let name = daemon.name
        var parents = ["etc/systemd", "run/systemd", "usr/local/lib/systemd", "usr/lib/systemd"]
        if !merged { parents.append("lib/systemd") }
        let hasMain = rng.chance(0.75)
        if hasMain {
            if rng.chance(0.07) {
                tree.symlink("etc/systemd/\(name)", to: "/dev/null")
            } else {
                tree.bytes("etc/systemd/\(name)", content(daemon, allowStop, &rng))
            }
        }
        if rng.chance(0.1) { tree.bytes("usr/lib/systemd/\(name)", content(daemon, false, &rng)) }
        var made: Set<String> = []
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            let parent = rng.pick(parents)
            let path = "\(parent)/\(name).d/\(rng.pick(names))"
            guard made.insert(path).inserted else { continue }
            let up = String(repeating: "../", count: path.split(separator: "/").count - 1)
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<6: tree.symlink(path, to: "/dev/null")
            case 6..<10: tree.bytes(path, [])
            case 10..<14 where hasMain: tree.symlink(path, to: up + "etc/systemd/\(name)")
            case 14..<16 where allowStop: tree.symlink(path, to: "missing.conf")
            case 16..<18 where allowStop: tree.directory(path)
            default: tree.bytes(path, content(daemon, allowStop, &rng))
            }
        }
        return merged
    }
}
