internal import Glibc
public import WardenCore
internal import WardenFormats

/// Whether kernel modules that open exfiltration paths can load, read as kmod 30 (Debian 12)
/// reads its configuration (docs/DAEMON-SEMANTICS.md):
///
/// - Files: `*.conf` and `*.alias` entries not starting with `.` in /etc/modprobe.d,
///   /run/modprobe.d, /usr/local/lib/modprobe.d and /lib/modprobe.d (not /usr/lib/modprobe.d:
///   kmod 30 does not read it; on a merged-/usr host /lib is /usr/lib), directories left out,
///   sorted by name across the directories, the first directory holding a name winning.
/// - Lines: a `\` before a newline joins the next line; a line whose first character is `#` is a
///   comment; commands `alias`, `blacklist`, `options`, `install`, `remove`, `softdep` (`include`
///   and `config` are deprecated and skipped). Any other line, or one missing its arguments, is a
///   line kmod ignores ("ignoring bad line"): noted in the evidence, never an error.
/// - `-` and `_` in module names are the same (not inside `[...]`).
///
/// A module is *blocked* when the first `install` rule whose name pattern matches it (fnmatch)
/// runs `/bin/false`, `/bin/true` (or /usr/bin/…, the shell's `true`/`false`) or nothing at all:
/// modprobe runs the command instead of loading the module. `blacklist MODULE` alone only stops
/// loading by alias and is reported as `blacklisted`. `options` are the module's options, joined as
/// kmod joins them. Runtime: a loaded module has /sys/module/NAME.
public struct ModprobeProbe: Probe {
    public init() {}
    public let name = "modprobe"
    public let summary =
        "modprobe.d install/blacklist/options rules (as kmod 30 reads them) and /sys/module for USB storage, FireWire, Thunderbolt and Bluetooth modules"
    public let reads = [
        "/etc/modprobe.d/*.conf", "/run/modprobe.d/*.conf", "/usr/local/lib/modprobe.d/*.conf", "/lib/modprobe.d/*.conf",
        "/etc/modprobe.d/*.alias", "/run/modprobe.d/*.alias", "/usr/local/lib/modprobe.d/*.alias", "/lib/modprobe.d/*.alias",
        "/sys/module/<name>",
    ]
    public var facts: [String: FactType] {
        [
            "modules": .object([
                "source": .string, "files": .strings, "problems": .strings, "ignored": .strings,
                "modules": .object(
                    Dictionary(
                        uniqueKeysWithValues: ModprobeProbe.modules.map { module in
                            (
                                module,
                                FactType.object([
                                    "blocked": .sourced(.bool), "blacklisted": .sourced(.bool),
                                    "options": .sourced(.optional(.string)), "loaded": .sourced(.bool),
                                ])
                            )
                        })),
            ])
        ]
    }

    /// kmod 30's default configuration paths, in precedence order.
    package static let directories = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"]
    /// The modules controls ask about, with `_` as the canonical separator.
    public static let modules = [
        "usb_storage", "uas", "firewire_core", "firewire_ohci", "firewire_sbp2", "thunderbolt", "bluetooth", "btusb",
    ]
    /// Install commands that end without loading the module.
    static let blockingCommands: Set<String> = ["/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true", "false", "true"]

    package typealias Ignored = SysctlProbe.Ignored

    // MARK: - kmod's configuration

    package enum Kind: String, Sendable, Hashable, CaseIterable {
        case alias, blacklist, options, install, remove, softdep
    }

    /// One configuration entry as kmod keeps it (what `modprobe -c` prints).
    package struct Entry: Sendable, Hashable {
        package var kind: Kind
        /// The module name (or, for `install`/`remove`/`softdep`, the fnmatch pattern; for `alias`,
        /// the alias), `-` made `_`.
        package var name: String
        /// The alias's module; the options, command or soft dependencies as written after the
        /// name (options with tabs made spaces); nil for `blacklist`.
        package var value: String?
        /// `file:line` (the last line of a continued line, as kmod counts).
        package var source: String
        package var fileIndex: Int
        /// The line as the file has it (continued lines joined), for evidence: `name` is what
        /// kmod compares, not what a reviewer finds in the file.
        package var written: String
    }

    /// The entries of all files, in the order kmod reads them, and the lines it ignores.
    package struct Rules: Sendable {
        package var entries: [Entry] = []
        package var ignored: [Ignored] = []

        package init() {}

        package func entries(_ kind: Kind) -> [Entry] { entries.filter { $0.kind == kind } }

        /// The first `blacklist` of exactly this module (module_is_blacklisted()).
        package func blacklist(of module: String) -> Entry? {
            entries.first { $0.kind == .blacklist && $0.name == module }
        }

        /// The first `install` rule whose pattern matches the module (kmod_module_get_install_commands()).
        package func install(of module: String) -> Entry? {
            entries.first { $0.kind == .install && fnmatch($0.name, module, 0) == 0 }
        }

        /// Every `options` line of exactly this module, joined with a space (kmod_module_get_options()).
        package func options(of module: String) -> [Entry] {
            entries.filter { $0.kind == .options && $0.name == module }
        }

        /// Fuzzing entry point: the first install rule per name.
        package var install: [String: (command: String, source: String)] {
            var out: [String: (command: String, source: String)] = [:]
            for e in entries(.install) where out[e.name] == nil { out[e.name] = (e.value ?? "", e.source) }
            return out
        }

        /// Fuzzing entry point: the first blacklist per name.
        package var blacklist: [String: String] {
            var out: [String: String] = [:]
            for e in entries(.blacklist) where out[e.name] == nil { out[e.name] = e.source }
            return out
        }
    }

    /// Whether an install command ends without loading the module: one of the blocking
    /// commands, or nothing (a shell comment aside), run by the shell instead of the load.
    package static func blocks(_ command: String) -> Bool {
        var words = command.words.map(String.init)
        if let comment = words.firstIndex(where: { $0.hasPrefix("#") }) { words = Array(words[..<comment]) }
        return words.isEmpty || (words.count == 1 && blockingCommands.contains(words[0]))
    }

    // MARK: - Collecting

    /// Everything kmod would read from a root: the files in order, their entries, what it skips,
    /// and what could not be read (with the indexes of the unreadable files).
    package struct Reading: Sendable {
        package var files: [String] = []
        package var rules = Rules()
        package var ignored: [Ignored] = []
        package var problems: [String] = []
        package var listingFailed = false
        package var unreadable: [Int] = []

        /// Whether nothing unread comes before file `index` (nil: no rule was found, so nothing
        /// may be unread).
        package func decides(before index: Int?) -> Bool {
            guard !listingFailed else { return false }
            guard let index else { return unreadable.isEmpty }
            return unreadable.allSatisfy { $0 > index }
        }
    }

    package static func read(root: HostRoot) -> Reading {
        var r = Reading()
        r.files = configFiles(root: root, problems: &r.problems, skipped: &r.ignored)
        r.listingFailed = !r.problems.isEmpty
        for (i, file) in r.files.enumerated() {
            switch root.readConfigFile(file, daemon: "kmod") {
            case .bytes(let bytes): parse(bytes, file: file, fileIndex: i, into: &r.rules)
            case .skipped(let reason): r.ignored.append(Ignored(location: file, reason: reason))
            case .failed(let problem):
                r.problems.append(problem)
                r.unreadable.append(i)
            }
        }
        r.ignored += r.rules.ignored
        return r
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let reading = ModprobeProbe.read(root: root)
        let (files, rules, notes, problems) = (reading.files, reading.rules, reading.ignored, reading.problems)
        let undecided: JSON = .string(
            "modprobe configuration that could not be read may hold a rule for it: \(problems.prefix(3).joined(separator: "; "))")
        func decided(before index: Int?) -> Bool { reading.decides(before: index) }
        var modules: JSONObject = [:]
        for module in ModprobeProbe.modules {
            var o: JSONObject = [:]
            let relevant = notes.filter { $0.text.map { $0.dashesAsUnderscores.contains(module) } ?? false }
            let ignoredNote = relevant.isEmpty ? "" : "; kmod ignores " + relevant.map(\.description).joined(separator: "; ")
            let install = rules.install(of: module)
            if !decided(before: install?.fileIndex) {
                o["blocked"] = ["error": undecided]
            } else if let i = install {
                let command = i.value ?? ""
                o["blocked"] = [
                    "value": .bool(ModprobeProbe.blocks(command)),
                    "source": .string("\(i.source) (\(i.written))\(ignoredNote)"),
                ]
            } else {
                o["blocked"] = ["value": false, "source": .string("no `install \(module) /bin/false` in modprobe.d\(ignoredNote)")]
            }
            if let b = rules.blacklist(of: module) {
                o["blacklisted"] = ["value": true, "source": .string(b.source)]
            } else if decided(before: nil) {
                o["blacklisted"] = ["value": false, "source": .string("no `blacklist \(module)` in modprobe.d")]
            } else {
                o["blacklisted"] = ["error": undecided]
            }
            let options = rules.options(of: module)
            if decided(before: nil) {
                o["options"] =
                    options.isEmpty
                    ? ["value": .null, "source": .string("no `options \(module)` in modprobe.d")]
                    : [
                        "value": .string(options.compactMap(\.value).joined(separator: " ")),
                        "source": .string(options.map(\.source).joined(separator: ", ")),
                    ]
            } else {
                o["options"] = ["error": undecided]
            }
            let sysModule = "/sys/module/\(module)"
            switch context.sysfs(sysModule) {
            case .present: o["loaded"] = ["value": true, "source": .string(sysModule)]
            case .absent: o["loaded"] = ["value": false, "source": .string("\(sysModule) (absent)")]
            case let other: o["loaded"] = other.stated(sysModule, now: true)
            }
            modules[module] = .object(o)
        }
        return [
            "modules": .value(
                .object([
                    "source": "/etc/modprobe.d", "files": .array(files.map { .string($0) }),
                    "modules": .object(modules), "problems": .array(problems.map { .string($0) }),
                    "ignored": .array(notes.map { .string($0.description) }),
                ]))
        ]
    }

    // MARK: - Files

    /// The files kmod 30's conf_files_list() reads, in order: in each directory the entries not
    /// starting with `.` whose names end in `.conf` or `.alias` (at least 6 bytes long), except
    /// directories; a name in an earlier directory hiding it in later ones; sorted by name as
    /// strcmp sorts. A configuration path that is a file, not a directory, is read itself.
    package static func configFiles(root: HostRoot, problems: inout [String], skipped: inout [Ignored]) -> [String] {
        var byName: [[UInt8]: String] = [:]
        func add(_ name: String, _ path: String) {
            let bytes = Array(name.utf8)
            if byName[bytes] == nil { byName[bytes] = path }
        }
        for dir in directories {
            let kind: FileInfo.Kind
            do { kind = try root.info(dir).kind } catch {
                if !error.isNotFound { problems.append(error.description) }
                continue
            }
            if kind != .directory {
                add(String(dir.split(separator: "/").last ?? ""), dir)
                continue
            }
            let names: [String]
            do { names = try root.list(dir) } catch {
                problems.append(error.description)
                continue
            }
            for name in names {
                let u = Array(name.utf8)
                guard u.first != UInt8(ascii: "."), u.count >= 6,
                    u.suffix(5).elementsEqual(".conf".utf8) || u.suffix(6).elementsEqual(".alias".utf8)
                else { continue }
                let path = joinPath(dir, name)
                if (try? root.info(path))?.kind == .directory {
                    skipped.append(Ignored(location: path, reason: "a directory: kmod does not read directories inside directories"))
                    continue
                }
                add(name, path)
            }
        }
        return byName.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map(\.value)
    }

    // MARK: - Parsing

    /// Adds the entries of one file, as kmod_config_parse() reads it; lines it ignores go to
    /// `rules.ignored`.
    package static func parse(_ bytes: [UInt8], file: String, fileIndex: Int, into rules: inout Rules) {
        for (number, raw) in kmodLines(bytes) {
            // C strings: the line ends at its first NUL.
            let line = raw.firstIndex(of: 0).map { Array(raw[..<$0]) } ?? raw
            guard let first = line.first, first != UInt8(ascii: "#") else { continue }
            var tokens = Tokenizer(line)
            guard let cmd = tokens.next() else { continue }
            let here = "\(file):\(number)"
            let command = String(decoding: cmd, as: UTF8.self)
            let text = String(decoding: line, as: UTF8.self).trimmingBlanks
            // Only kmod's delimiters are trimmed: a carriage return is part of the command.
            var written = line[...]
            while let f = written.first, Tokenizer.isDelimiter(f) { written = written.dropFirst() }
            while let l = written.last, Tokenizer.isDelimiter(l) { written = written.dropLast() }
            func add(_ kind: Kind, _ name: [UInt8], _ value: [UInt8]?) {
                rules.entries.append(
                    Entry(
                        kind: kind, name: String(decoding: name, as: UTF8.self), value: value.map { String(decoding: $0, as: UTF8.self) },
                        source: here, fileIndex: fileIndex, written: String(decoding: written, as: UTF8.self)))
            }
            switch command {
            case "alias":
                let alias = tokens.next()
                let module = tokens.next()
                guard let a = underscores(alias), let m = underscores(module) else { break }
                add(.alias, a, m)
                continue
            case "blacklist":
                guard let m = underscores(tokens.next()) else { break }
                add(.blacklist, m, nil)
                continue
            case "options", "install", "remove", "softdep":
                let module = tokens.next()
                guard let m = underscores(module), var rest = tokens.rest() else { break }
                if command == "options" { rest = rest.map { $0 == 0x09 ? 0x20 : $0 } }
                add(Kind(rawValue: command)!, m, rest)
                continue
            case "include", "config":
                rules.ignored.append(
                    Ignored(location: here, reason: "the command `\(command)` is deprecated: kmod does not parse it", text: text))
                continue
            default:
                break
            }
            rules.ignored.append(Ignored(location: here, reason: "kmod ignores this bad line (starting with '\(command)')", text: text))
        }
    }

    /// Fuzzing entry point: one file's rules; lines kmod ignores as problems.
    package static func parse(_ text: String, file: String, into rules: inout Rules, problems: inout [String]) {
        var one = Rules()
        parse(Array(text.utf8), file: file, fileIndex: rules.entries.map(\.fileIndex).max().map { $0 + 1 } ?? 0, into: &one)
        rules.entries += one.entries
        rules.ignored += one.ignored
        problems += one.ignored.map(\.description)
    }

    /// The logical lines of a file as kmod's freadline_wrapped() reads them, each with the number
    /// of its last physical line: `\` and a newline join lines; `\` before any other byte is
    /// dropped and the byte kept (before the end of the file, it leaves a 0xFF byte).
    package static func kmodLines(_ b: [UInt8]) -> [(number: Int, line: [UInt8])] {
        var out: [(Int, [UInt8])] = []
        var number = 0
        var i = 0
        while true {
            var buffer: [UInt8] = []
            var newlines = 0
            var ended = false
            while !ended {
                guard i < b.count else {
                    if buffer.isEmpty { return out }
                    newlines += 1
                    ended = true
                    break
                }
                let c = b[i]
                i += 1
                switch c {
                case 0x0A:
                    newlines += 1
                    ended = true
                case 0x5C:
                    if i < b.count {
                        let next = b[i]
                        i += 1
                        if next == 0x0A { newlines += 1 } else { buffer.append(next) }
                    } else {
                        buffer.append(0xFF)
                    }
                default:
                    buffer.append(c)
                }
            }
            number += newlines
            out.append((number, buffer))
        }
    }

    /// strtok_r() over spaces and tabs, and the rest of the line after the last token's delimiter
    /// (strtok_r(NULL, "\0")).
    struct Tokenizer {
        let line: [UInt8]
        var position = 0

        init(_ line: [UInt8]) { self.line = line }

        static func isDelimiter(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

        mutating func next() -> [UInt8]? {
            while position < line.count, Tokenizer.isDelimiter(line[position]) { position += 1 }
            guard position < line.count else { return nil }
            let start = position
            while position < line.count, !Tokenizer.isDelimiter(line[position]) { position += 1 }
            let token = Array(line[start..<position])
            if position < line.count { position += 1 }
            return token
        }

        mutating func rest() -> [UInt8]? {
            guard position < line.count else { return nil }
            defer { position = line.count }
            return Array(line[position...])
        }
    }

    /// kmod's underscores(): `-` becomes `_` outside `[...]`; a missing name, a `]` outside
    /// brackets or a `[` never closed make the line bad (nil).
    static func underscores(_ name: [UInt8]?) -> [UInt8]? {
        guard var s = name else { return nil }
        var i = 0
        while i < s.count {
            switch s[i] {
            case UInt8(ascii: "-"): s[i] = UInt8(ascii: "_")
            case UInt8(ascii: "]"): return nil
            case UInt8(ascii: "["):
                guard let close = s[i...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
                i = close
            default: break
            }
            i += 1
        }
        return s
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, carriage returns and newlines.
    var trimmingBlanks: String { String(trimmed) }

    /// Module names as kmod compares them.
    var dashesAsUnderscores: String { String(map { $0 == "-" ? "_" : $0 }) }
}
