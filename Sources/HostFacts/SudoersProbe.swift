public import WardenCore

/// The sudo policy, read the way sudo reads it (CONTROLS.md §1, ACC-008):
///
/// - `/etc/sudoers`, with `#include`/`@include` (relative paths are relative to the including
///   file's directory, as sudo ≥ 1.9.1 does; `%h` is the short host name) and
///   `#includedir`/`@includedir` (lexical order; names containing `.` or ending in `~` are
///   skipped, as are files that are not regular). Files sudo refuses (not owned by root, world
///   writable, group writable by a group other than root) are skipped and listed, as sudo skips
///   them. An include loop is an error (sudo reads it up to its nesting limit).
/// - Logical lines: a trailing backslash continues a line; `#` starts a comment unless it is an
///   include directive or a numeric id (`#1000`).
/// - `Defaults` in every scope: global (`Defaults`), host (`Defaults@h`), user (`Defaults:u`),
///   runas (`Defaults>r`) and command (`Defaults!c`). Global entries: the last one wins. Scoped
///   entries apply on top of the global ones to their subjects (sudo applies them after the
///   global entries whatever their position); the last one per scope and option is kept.
///   Absent options take sudo's defaults (`use_pty` is on by default from sudo 1.9.14; the
///   installed version comes from dpkg's database).
/// - User specifications: every command with its effective tags. Tags carry over to the
///   following commands of the same list until the opposite tag (`PASSWD:` after `NOPASSWD:`)
///   and restart after `:`.
/// Statements Warden cannot parse are listed as problems with file:line (sudo skips them too,
/// but what they were meant to say is unknown), so a control over them is `error`, never `pass`.
public struct SudoersProbe: Probe {
    public init() {}
    public let name = "sudoers"
    public let summary = "sudo policy: /etc/sudoers with @include/@includedir, Defaults by scope, NOPASSWD and other tags per command"
    public let reads = ["/etc/sudoers", "/etc/sudoers.d/* (and any @include/@includedir)", "/usr/bin/sudo (exists)",
                        "/var/lib/dpkg/status (sudo version)", "/etc/hostname (for %h)"]
    public let produces = ["sudoers"]

    static let mainFile = "/etc/sudoers"
    static let binaries = ["/usr/bin/sudo", "/bin/sudo"]
    static let maxDepth = 16
    static let maxFiles = 1000

    /// The options ACC-008 and LOG-009 need, with sudo's compiled-in defaults (Debian's build:
    /// syslog facility authpriv, no log file, I/O logs under /var/log/sudo-io).
    static let booleanOptions: Set<String> = ["use_pty", "log_output", "log_input", "authenticate"]
    static let stringOptions: Set<String> = ["iolog_dir", "logfile", "syslog"]
    static let defaults: JSONObject = [
        "log_output": false, "log_input": false, "authenticate": true,
        "iolog_dir": "/var/log/sudo-io", "logfile": false, "syslog": "authpriv",
    ]

    static let tagNames: Set<String> = [
        "PASSWD", "NOPASSWD", "EXEC", "NOEXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT",
        "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT",
    ]
    /// Command options of the form `NAME=value` that may precede a command.
    static let commandOptions: Set<String> = ["ROLE", "TYPE", "CWD", "CHROOT", "NOTBEFORE", "NOTAFTER", "TIMEOUT",
                                              "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS"]
    static let digests: Set<String> = ["sha224", "sha256", "sha384", "sha512"]
    static let aliasKeywords: Set<String> = ["User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias"]

    struct Setting {
        var value: JSON
        var source: String
        var json: JSON { ["value": value, "source": .string(source)] }
    }

    struct ScopedEntry {
        var source: String
        var scope: String
        var option: String
        var value: JSON
        var text: String
        var json: JSON {
            ["source": .string(source), "scope": .string(scope), "option": .string(option), "value": value, "text": .string(text)]
        }
    }

    struct State {
        var files: [String] = []
        var stack: [String] = []
        var ignored: [JSON] = []
        var problems: [JSON] = []
        var commands: [JSON] = []
        var global: [String: Setting] = [:]
        var scoped: [ScopedEntry] = []
        var hostname: String?

        mutating func problem(_ source: String, _ message: String) {
            problems.append(["source": .string(source), "error": .string(message)])
        }

        mutating func ignore(_ path: String, _ reason: String) {
            ignored.append(["path": .string(path), "reason": .string(reason)])
        }
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let main = SudoersProbe.mainFile
        let installedBinary = SudoersProbe.binaries.first(where: root.exists)
        if !root.mayExist(main) {
            guard let binary = installedBinary else {
                return ["sudoers": .value(["installed": false, "source": .string(main),
                                           "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists"])]
            }
            return ["sudoers": .unavailable(.error("\(main) does not exist, but sudo is installed (\(binary))"))]
        }
        var state = State()
        state.hostname = SudoersProbe.shortHostname(context)
        do {
            try parse(file: main, from: nil, root: root, state: &state)
        } catch {
            return ["sudoers": .unavailable(.error("cannot read the sudo policy: \(error)"))]
        }
        var settings = state.global
        // The installed version matters only for use_pty's default: dpkg's database is large,
        // so it is read only when the policy does not set use_pty itself.
        let version = settings["use_pty"] == nil ? SudoersProbe.installedVersion(root) : nil
        for (option, value) in SudoersProbe.defaults where settings[option] == nil {
            settings[option] = Setting(value: value, source: "default (sudo)")
        }
        if settings["use_pty"] == nil {
            settings["use_pty"] = SudoersProbe.usePtyDefault(version)
        }
        let fact: JSONObject = [
            "installed": true,
            "source": .string(main),
            "version": version.map { .string($0.version) } ?? .null,
            "files": .array(state.files.map { .string($0) }),
            "ignored": .array(state.ignored),
            "defaults": .object(settings.mapValues(\.json)),
            "scoped_defaults": .array(state.scoped.map(\.json)),
            "commands": .array(state.commands),
            "problems": .array(state.problems),
        ]
        return ["sudoers": .value(.object(fact))]
    }

    // MARK: - Files

    /// Reads one sudoers file. Throws only for the main file; an included file that cannot be
    /// read becomes a problem at the line that includes it.
    func parse(file: String, from includer: String?, root: HostRoot, state: inout State) throws(HostError) {
        guard state.files.count < SudoersProbe.maxFiles else {
            state.problem(includer ?? file, "more than \(SudoersProbe.maxFiles) sudoers files; Warden stops reading here")
            return
        }
        let info: FileInfo
        let text: String
        do {
            info = try root.info(file)
            text = try root.readText(file)
        } catch {
            guard let includer else { throw error }
            state.problem(includer, "cannot read included file: \(error)")
            return
        }
        if let refusal = SudoersProbe.refusal(info) {
            if includer == nil {
                state.problem(file, "\(refusal): sudo refuses to run with this policy")
            } else {
                state.ignore(file, "\(refusal): sudo ignores this file")
            }
            return
        }
        state.files.append(file)
        state.stack.append(file)
        defer { state.stack.removeLast() }
        for (number, line) in SudoersProbe.logicalLines(text) {
            handle(line, at: "\(file):\(number)", file: file, root: root, state: &state)
        }
    }

    /// Why sudo would refuse a file (sudo_secure_file: owner root, not world writable, group
    /// writable only by root's group), or nil.
    static func refusal(_ info: FileInfo) -> String? {
        if info.kind != .regular { return "not a regular file" }
        if info.uid != 0 { return "owned by uid \(info.uid), should be 0" }
        if info.mode & 0o002 != 0 { return "world writable" }
        if info.mode & 0o020 != 0 && info.gid != 0 { return "group writable by gid \(info.gid)" }
        return nil
    }

    func handle(_ line: String, at here: String, file: String, root: HostRoot, state: inout State) {
        let words = line.words
        guard let first = words.first else { return }
        switch first {
        case "#include", "@include", "#includedir", "@includedir":
            include(first.hasSuffix("dir"), line.trimmed.dropFirst(first.count), at: here, file: file, root: root, state: &state)
        case _ where SudoersProbe.isDefaults(first):
            defaults(line, at: here, state: &state)
        case _ where SudoersProbe.aliasKeywords.contains(String(first)):
            // Aliases carry no tags and no Defaults; the commands they name are checked where used.
            return
        default:
            userSpec(line, at: here, state: &state)
        }
    }

    /// `Defaults`, or `Defaults` directly followed by a scope character (`Defaults:alice`).
    static func isDefaults(_ word: Substring) -> Bool {
        guard word.hasPrefix("Defaults") else { return false }
        let rest = word.dropFirst("Defaults".count)
        return rest.isEmpty || "@:!>".contains(rest.first ?? " ")
    }

    func include(_ isDirectory: Bool, _ argument: Substring, at here: String, file: String, root: HostRoot, state: inout State) {
        guard var path = SudoersProbe.includePath(argument) else {
            state.problem(here, "include directive without a path")
            return
        }
        // sudo expands %h (the short host name) in @include, not in @includedir.
        if !isDirectory && path.contains("%") {
            guard let host = state.hostname else {
                state.problem(here, "cannot expand %h in '\(path)': the host name is unknown")
                return
            }
            path = SudoersProbe.expandHostname(path, host)
        }
        let directory = String(file[..<(file.lastIndex(of: "/") ?? file.startIndex)])
        let target = SudoersProbe.normalize(path.hasPrefix("/") ? path : joinPath(directory.isEmpty ? "/" : directory, path))
        guard state.stack.count < SudoersProbe.maxDepth else {
            state.problem(here, "includes nested deeper than \(SudoersProbe.maxDepth) levels")
            return
        }
        if !isDirectory {
            if state.stack.contains(target) {
                state.problem(here, "include loop: \(target) includes itself (sudo reads it again until 'too many levels of includes')")
                return
            }
            if !root.exists(target) {
                state.problem(here, "included file \(target) does not exist (sudo reports a parse error here)")
                return
            }
            // With an includer, parse reports failures as problems at the including line and never throws.
            try? parse(file: target, from: here, root: root, state: &state)
            return
        }
        let names: [String]
        do {
            names = try root.list(target)
        } catch {
            // sudo silently skips a missing directory.
            if error.isNotFound { state.ignore(target, "directory does not exist: sudo skips it") } else {
                state.problem(here, "cannot list \(target): \(error.message)")
            }
            return
        }
        for name in names {
            let path = joinPath(target, name)
            if name.contains(".") || name.hasSuffix("~") {
                state.ignore(path, "name contains '.' or ends in '~': sudo skips it")
                continue
            }
            if state.stack.contains(path) {
                state.problem(here, "include loop: \(path) includes itself (sudo reads it again until 'too many levels of includes')")
                continue
            }
            // sudo stats each entry and silently skips what is not a regular file (a dangling
            // symlink included).
            do {
                let kind = try root.info(path).kind
                if kind != .regular {
                    state.ignore(path, "not a regular file (\(kind.rawValue)): sudo skips it")
                    continue
                }
            } catch {
                if error.isNotFound { state.ignore(path, "dangling symlink: sudo skips it") } else {
                    state.problem(here, "cannot read \(path): \(error.message)")
                }
                continue
            }
            try? parse(file: path, from: here, root: root, state: &state)
        }
    }

    /// `%h` → the short host name, `%%` → `%`.
    static func expandHostname(_ path: String, _ host: String) -> String {
        var out = ""
        var percent = false
        for c in path {
            if percent {
                out += c == "h" ? host : c == "%" ? "%" : "%" + String(c)
                percent = false
            } else if c == "%" {
                percent = true
            } else {
                out.append(c)
            }
        }
        return percent ? out + "%" : out
    }

    /// The path of an include directive: double-quoted, or up to the first unescaped blank, with
    /// backslash escapes removed.
    static func includePath(_ argument: Substring) -> String? {
        let text = argument.trimmed
        var path = ""
        var quoted = false
        var index = text.startIndex
        if text.first == "\"" { quoted = true; index = text.index(after: index) }
        while index < text.endIndex {
            let c = text[index]
            if c == "\\", text.index(after: index) < text.endIndex {
                index = text.index(after: index)
                path.append(text[index])
            } else if quoted ? c == "\"" : (c == " " || c == "\t") {
                break
            } else {
                path.append(c)
            }
            index = text.index(after: index)
        }
        return path.isEmpty ? nil : path
    }

    /// Removes `.` and `..` components (never above `/`), for stable names in evidence. A path
    /// ends at its first NUL byte, as it does for sudo (which holds it as a C string) and for the
    /// kernel: `/etc/sudoers<NUL>x` is `/etc/sudoers`, and including it from there is a loop.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.prefix(while: { $0 != "\0" }).split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    // MARK: - Lines

    /// Logical lines with the number of their first physical line: comments removed, lines
    /// ending in an unescaped backslash joined with the next.
    static func logicalLines(_ text: String) -> [(number: Int, text: String)] {
        var out: [(Int, String)] = []
        var pending = ""
        var start = 0
        for (i, raw) in lines(text).enumerated() {
            let physical = raw.trimmed
            var line: Substring
            if pending.isEmpty, let first = physical.words.first,
               ["#include", "#includedir"].contains(first) {
                line = physical
            } else {
                line = stripComment(physical).trimmed
            }
            if pending.isEmpty { start = i + 1 }
            let trailing = line.reversed().prefix(while: { $0 == "\\" }).count
            if trailing % 2 == 1 {
                line = line.dropLast()
                pending += String(line) + " "
                continue
            }
            let joined = (pending + String(line)).trimmed
            pending = ""
            if !joined.isEmpty { out.append((start, String(joined))) }
        }
        let rest = pending.trimmed
        if !rest.isEmpty { out.append((start, String(rest))) }
        return out
    }

    /// The line up to a comment: `#` outside double quotes, not escaped, and not a numeric id
    /// (`#1000`, `%#1000`, `(#0)`).
    static func stripComment(_ line: Substring) -> Substring {
        var quoted = false
        var index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            let next = line.index(after: index)
            if c == "\\" {
                index = next < line.endIndex ? line.index(after: next) : next
                continue
            }
            if c == "\"" { quoted.toggle() }
            if c == "#" && !quoted {
                let following = next < line.endIndex ? line[next] : " "
                if !(following.isASCII && (following.isNumber || following == "-")) { return line[..<index] }
            }
            index = next
        }
        return line
    }

    // MARK: - Defaults

    func defaults(_ line: String, at here: String, state: inout State) {
        var rest = Substring(line).dropFirst("Defaults".count)
        var scope: String?
        var binding = ""
        if let kind = rest.first, let name = ["@": "host", ":": "user", "!": "command", ">": "runas"][kind] {
            rest = rest.dropFirst()
            // The binding is a comma-separated list; blanks may follow a comma.
            var items: [String] = []
            while true {
                rest = rest.trimmed
                let end = rest.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "," }) ?? rest.endIndex
                items.append(String(rest[..<end]))
                rest = rest[end...].trimmed
                guard rest.first == "," else { break }
                rest = rest.dropFirst()
            }
            binding = items.joined(separator: ",")
            guard !binding.isEmpty else { state.problem(here, "Defaults\(kind) without a \(name) list"); return }
            scope = "\(name) \(binding)"
            binding = String(kind) + binding
        } else if let c = rest.first, c != " " && c != "\t" {
            state.problem(here, "not a sudoers statement: '\(line)'")
            return
        }
        let parameters = SudoersProbe.splitParameters(rest)
        guard !parameters.isEmpty else { state.problem(here, "Defaults without an option"); return }
        for parameter in parameters {
            var text = Substring(parameter)
            var negated = false
            while text.first == "!" { negated.toggle(); text = text.dropFirst().trimmed }
            let nameEnd = text.firstIndex(where: { $0 == "=" || $0 == "+" || $0 == "-" || $0 == " " || $0 == "\t" }) ?? text.endIndex
            let option = String(text[..<nameEnd])
            var valueText = text[nameEnd...].trimmed
            let hasValue = !valueText.isEmpty
            if valueText.hasPrefix("+=") || valueText.hasPrefix("-=") { valueText = valueText.dropFirst(2) } else if valueText.first == "=" { valueText = valueText.dropFirst() }
            valueText = valueText.trimmed
            if valueText.count >= 2, valueText.first == "\"", valueText.last == "\"" { valueText = valueText.dropFirst().dropLast() }
            guard !option.isEmpty else { state.problem(here, "Defaults entry without an option name: '\(parameter)'"); continue }
            let value: JSON
            if SudoersProbe.booleanOptions.contains(option) {
                guard !hasValue else { state.problem(here, "\(option) is a flag and takes no value: '\(parameter)'"); continue }
                value = .bool(!negated)
            } else if SudoersProbe.stringOptions.contains(option) {
                if negated && !hasValue {
                    value = false
                } else if !negated && hasValue && !valueText.isEmpty {
                    value = .string(String(valueText))
                } else {
                    state.problem(here, "\(option) needs a value (or '!\(option)' to turn it off): '\(parameter)'")
                    continue
                }
            } else {
                continue
            }
            let setting = Setting(value: value, source: here)
            if let scope {
                let entry = ScopedEntry(source: here, scope: scope, option: option, value: value, text: "Defaults\(binding) \(parameter)")
                state.scoped.removeAll { $0.scope == scope && $0.option == option }
                state.scoped.append(entry)
            } else {
                state.global[option] = setting
            }
        }
    }

    /// Splits `a, !b, c="x, y"` on commas outside double quotes (backslash escapes kept).
    static func splitParameters(_ text: Substring) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in text {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\" { current.append(c); escaped = true; continue }
            if c == "\"" { quoted.toggle() }
            if c == "," && !quoted {
                out.append(String(current.trimmed))
                current = ""
                continue
            }
            current.append(c)
        }
        out.append(String(current.trimmed))
        return out.filter { !$0.isEmpty }
    }

    // MARK: - User specifications

    enum Token: Equatable {
        case word(String)
        case comma, colon, equals
        /// The text inside `( … )`.
        case runas(String)
        /// `NOPASSWD:` and the other tags.
        case tag(String)
        /// `CWD=`, `ROLE=`, …: the next word is its value.
        case option(String)
    }

    /// sudoers tokens: words (backslash escapes and double quotes removed), `,` `:` `=`, runas
    /// groups, tags (`NOPASSWD:`, also with blanks before the colon), command options, and
    /// digests (`sha256:…`) kept inside their word. Nil when a parenthesis or quote is not closed.
    static func tokenize(_ line: String) -> [Token]? {
        let chars = Array(line)
        var tokens: [Token] = []
        var word = ""
        var inWord = false
        func flush() {
            if inWord { tokens.append(.word(word)) }
            word = ""
            inWord = false
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case "\\":
                if i + 1 < chars.count { word.append(chars[i + 1]); i += 1 }
                inWord = true
            case " ", "\t":
                flush()
            case ",":
                flush()
                tokens.append(.comma)
            case "=":
                flush()
                if case .word(let w)? = tokens.last, commandOptions.contains(w) {
                    tokens[tokens.count - 1] = .option(w)
                } else {
                    tokens.append(.equals)
                }
            case ":":
                if inWord && digests.contains(word) { word.append(c); break }
                flush()
                if case .word(let w)? = tokens.last, tagNames.contains(w) {
                    tokens[tokens.count - 1] = .tag(w)
                } else {
                    tokens.append(.colon)
                }
            case "(":
                flush()
                guard let close = chars[i...].firstIndex(of: ")") else { return nil }
                tokens.append(.runas(String(String(chars[(i + 1)..<close]).trimmed)))
                i = close
            case "\"":
                guard let close = chars[(i + 1)...].firstIndex(of: "\"") else { return nil }
                word.append(contentsOf: chars[(i + 1)..<close])
                inWord = true
                i = close
            default:
                word.append(c)
                inWord = true
            }
            i += 1
        }
        flush()
        return tokens
    }

    /// `users hosts = [(runas)] [OPTION=v] [TAG:] command [, …] [: hosts = …]`: records every
    /// command with its effective tags.
    func userSpec(_ line: String, at here: String, state: inout State) {
        guard let tokens = SudoersProbe.tokenize(line) else {
            state.problem(here, "unbalanced parenthesis or quote: '\(line)'")
            return
        }
        var i = 0
        func list() -> [String]? {
            guard i < tokens.count, case .word(let first) = tokens[i] else { return nil }
            var items = [first]
            i += 1
            while i + 1 < tokens.count, tokens[i] == .comma, case .word(let next) = tokens[i + 1] {
                items.append(next)
                i += 2
            }
            return items
        }
        guard let users = list(), var hosts = list(), i < tokens.count, tokens[i] == .equals else {
            state.problem(here, "not a sudoers statement: '\(line)'")
            return
        }
        i += 1
        var found: [JSON] = []
        var runas: String?
        var tags: [String: String] = [:]
        var command: [String] = []
        func finish() -> Bool {
            guard !command.isEmpty else { return false }
            let text = command.joined(separator: " ")
            let tagList = tags.values.sorted()
            let rule = "\(users.joined(separator: ",")) \(hosts.joined(separator: ",")) = "
                + (runas.map { "(\($0)) " } ?? "") + tagList.map { "\($0): " }.joined() + text
            found.append([
                "source": .string(here), "users": .array(users.map { .string($0) }), "hosts": .array(hosts.map { .string($0) }),
                "runas": runas.map { .string($0) } ?? .null, "command": .string(text), "negated": .bool(text.hasPrefix("!")),
                "tags": .array(tagList.map { .string($0) }), "rule": .string(rule),
            ])
            command = []
            return true
        }
        while i < tokens.count {
            switch tokens[i] {
            case .runas(let r):
                runas = r
            case .option:
                i += 1  // its value
            case .tag(let t):
                tags[t.hasPrefix("NO") ? String(t.dropFirst(2)) : t] = t
            case .word(let w):
                command.append(w)
            case .comma:
                guard finish() else { state.problem(here, "empty command in '\(line)'"); return }
            case .colon:
                guard finish() else { state.problem(here, "empty command in '\(line)'"); return }
                i += 1
                guard let next = list(), i < tokens.count, tokens[i] == .equals else {
                    state.problem(here, "expected 'hosts =' after ':' in '\(line)'")
                    return
                }
                hosts = next
                runas = nil
                tags = [:]
            case .equals:
                state.problem(here, "unexpected '=' in '\(line)'")
                return
            }
            i += 1
        }
        guard finish() else { state.problem(here, "no command in '\(line)'"); return }
        state.commands.append(contentsOf: found)
    }

    // MARK: - Host information

    static func shortHostname(_ context: ProbeContext) -> String? {
        let paths = context.mode == .live ? ["/proc/sys/kernel/hostname", "/etc/hostname"] : ["/etc/hostname"]
        for path in paths {
            guard let text = try? context.root.readText(path, limit: 4096),
                  let line = text.split(separator: "\n").first?.trimmed, !line.isEmpty else { continue }
            return String(line.split(separator: ".").first ?? line)
        }
        return nil
    }

    struct InstalledVersion {
        var package: String
        var version: String
    }

    /// The installed sudo package and version from dpkg's database, or nil.
    static func installedVersion(_ root: HostRoot) -> InstalledVersion? {
        guard let text = try? root.readText("/var/lib/dpkg/status", limit: 64 << 20) else { return nil }
        for stanza in text.split(separator: "\n\n") {
            var fields: [Substring: Substring] = [:]
            for line in stanza.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":"), line.first != " " else { continue }
                fields[line[..<colon]] = line[line.index(after: colon)...].trimmed
            }
            guard let package = fields["Package"], package == "sudo" || package == "sudo-ldap",
                  fields["Status"]?.hasSuffix(" installed") == true, let version = fields["Version"] else { continue }
            return InstalledVersion(package: String(package), version: String(version))
        }
        return nil
    }

    /// sudo turns `use_pty` on by default from 1.9.14; before that it is off.
    static func usePtyDefault(_ installed: InstalledVersion?) -> Setting {
        guard let installed else {
            return Setting(value: false, source: "default (sudo version unknown; before 1.9.14 use_pty is off)")
        }
        // "1.9.13p3-1+deb12u1" → [1, 9, 13]: drop an epoch and the Debian revision.
        var upstream = Substring(installed.version)
        if let colon = upstream.firstIndex(of: ":") { upstream = upstream[upstream.index(after: colon)...] }
        if let dash = upstream.lastIndex(of: "-") { upstream = upstream[..<dash] }
        let numbers = upstream.split(separator: ".").prefix(3).map { Int($0.prefix(while: \.isNumber)) ?? 0 }
        let on = numbers.lexicographicallyPrecedes([1, 9, 14]) == false
        return Setting(value: .bool(on), source: "default (\(installed.package) \(installed.version): use_pty is \(on ? "on" : "off") by default)")
    }
}
