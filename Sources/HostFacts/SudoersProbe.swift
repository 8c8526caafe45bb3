public import WardenCore
internal import WardenFormats

/// The sudo policy, read the way sudo reads it (docs/DAEMON-SEMANTICS.md, ACC-008):
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
    public let reads = [
        "/etc/sudoers", "/etc/sudoers.d/* (and any @include/@includedir)", "/usr/bin/sudo (exists)",
        "/var/lib/dpkg/status (sudo version)", "/etc/hostname (for %h)", "/etc/pam.d/sudo, /etc/pam.d/sudo-i (and their includes)",
    ]
    public var facts: [String: FactType] {
        [
            "sudoers": .object([
                "installed": .bool, "source": .string, "note": .string, "version": .optional(.string), "files": .strings,
                "ignored": .list(.object(["path": .string, "reason": .string])),
                // Flags are booleans; `!logfile` and `!syslog` turn those off (false).
                "defaults": .object([
                    "use_pty": .sourced(.bool), "log_output": .sourced(.bool), "log_input": .sourced(.bool),
                    "authenticate": .sourced(.bool),
                    "iolog_dir": .sourced(.string), "logfile": .sourced(.oneOf([.string, .bool])),
                    "syslog": .sourced(.oneOf([.string, .bool])),
                    // In seconds (sudo's minutes × 60, rounded up); negative: never expires.
                    "timestamp_timeout": .sourced(.int),
                ]),
                // Whether every way through the PAM stack sudo authenticates with asks pam_u2f
                // (`sudo`, and `sudo-i` for `sudo -i`: Debian builds sudo --with-pam-login).
                "pam_u2f_required": .object(["sudo": .sourced(.bool), "sudo-i": .sourced(.bool)]),
                "scoped_defaults": .list(
                    .object([
                        "source": .string, "scope": .string, "option": .string, "value": .oneOf([.bool, .string, .int]), "text": .string,
                    ])),
                "commands": .list(
                    .object([
                        "source": .string, "users": .strings, "hosts": .strings, "runas": .optional(.string), "command": .string,
                        "negated": .bool, "tags": .strings, "rule": .string,
                    ])),
                "problems": .list(.object(["source": .string, "error": .string, "kind": .string])),
            ])
        ]
    }

    static let mainFile = "/etc/sudoers"
    static let binaries = ["/usr/bin/sudo", "/bin/sudo"]
    static let maxDepth = 16
    static let maxFiles = 1000

    /// The options ACC-008 and LOG-009 need, with sudo's compiled-in defaults (Debian's build:
    /// syslog facility authpriv, no log file, I/O logs under /var/log/sudo-io).
    static let booleanOptions: Set<String> = ["use_pty", "log_output", "log_input", "authenticate"]
    static let stringOptions: Set<String> = ["iolog_dir", "logfile", "syslog", "timestamp_timeout"]
    static let defaults: JSONObject = [
        "timestamp_timeout": 900,  // Debian's build: --with-timeout=15 (`sudo -V`)
        "log_output": false, "log_input": false, "authenticate": true,
        "iolog_dir": "/var/log/sudo-io", "logfile": false, "syslog": "authpriv",
    ]

    static let tagNames: Set<String> = [
        "PASSWD", "NOPASSWD", "EXEC", "NOEXEC", "SETENV", "NOSETENV", "LOG_INPUT", "NOLOG_INPUT",
        "LOG_OUTPUT", "NOLOG_OUTPUT", "MAIL", "NOMAIL", "FOLLOW", "NOFOLLOW", "INTERCEPT", "NOINTERCEPT",
    ]
    /// Command options of the form `NAME=value` that may precede a command.
    static let commandOptions: Set<String> = [
        "ROLE", "TYPE", "CWD", "CHROOT", "NOTBEFORE", "NOTAFTER", "TIMEOUT",
        "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS",
    ]
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
        /// Alias names defined so far, by type.
        var aliases: [String: Set<String>] = [:]

        /// A statement or file sudo refuses. `kind` is `syntax` for what visudo reports while
        /// parsing (a syntax error, an include it cannot read) and `defaults` for a Defaults entry it
        /// refuses once the files are parsed.
        mutating func problem(_ source: String, _ message: String, kind: String = "syntax") {
            problems.append(["source": .string(source), "error": .string(message), "kind": .string(kind)])
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
                return [
                    "sudoers": .value([
                        "installed": false, "source": .string(main),
                        "note": "sudo is not installed: neither /etc/sudoers nor /usr/bin/sudo exists",
                    ])
                ]
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
            "pam_u2f_required": [
                "sudo": PAMStack.requires(root, service: "sudo", type: "auth", .succeeds, where: PAMStack.isU2F),
                "sudo-i": PAMStack.requires(root, service: "sudo-i", type: "auth", .succeeds, where: PAMStack.isU2F),
            ],
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
            if error.isNotFound {
                state.ignore(target, "directory does not exist: sudo skips it")
            } else {
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
                if error.isNotFound {
                    state.ignore(path, "dangling symlink: sudo skips it")
                } else {
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
        if text.first == "\"" {
            quoted = true
            index = text.index(after: index)
        }
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
            if part == ".." {
                _ = parts.popLast()
                continue
            }
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
                ["#include", "#includedir"].contains(first)
            {
                line = physical
            } else {
                // Blanks are kept: next to a continuation they matter (Cursor.bindingList).
                line = stripComment(Substring(raw))
                while let l = line.last, l == " " || l == "\t" || l == "\r" { line = line.dropLast() }
            }
            if pending.isEmpty { start = i + 1 }
            let trailing = line.reversed().prefix(while: { $0 == "\\" }).count
            if trailing % 2 == 1 {
                line = line.dropLast()
                pending += String(line) + String(continuation)
                continue
            }
            let joined = trimmedStatement(pending + String(line))
            pending = ""
            if !joined.isEmpty { out.append((start, joined)) }
        }
        let rest = trimmedStatement(pending)
        if !rest.isEmpty { out.append((start, rest)) }
        return out
    }

    /// Where a line ended with `\` and the next one joins it: sudo's lexer takes it as a blank,
    /// except in a Defaults binding list (Cursor.bindingList).
    static let continuation = Character("\u{1}")

    static func trimmedStatement(_ s: String) -> String {
        var t = Substring(s)
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == continuation }
        while let f = t.first, blank(f) { t = t.dropFirst() }
        while let l = t.last, blank(l) { t = t.dropLast() }
        return String(t)
    }

    /// A statement as written, continued lines shown joined by a blank.
    static func display(_ s: String) -> String { String(s.map { $0 == continuation ? " " : $0 }) }

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

    // MARK: - Statements (sudo 1.9.13: gram.y, toke.l, defaults.c)

    /// A cursor over one logical line, in Unicode scalars.
    struct Cursor {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ text: String, at start: Int = 0) {
            s = Array(text.unicodeScalars)
            i = start
        }

        var atEnd: Bool { i >= s.count }
        var current: Unicode.Scalar? { i < s.count ? s[i] : nil }

        static let continuation: Unicode.Scalar = "\u{1}"
        static func isBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" || c == continuation }
        static func isPlainBlank(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\r" }

        mutating func skipBlanks() { while let c = current, Cursor.isBlank(c) { i += 1 } }

        /// Skips blanks, then takes `c` if it is next.
        mutating func take(_ c: Unicode.Scalar) -> Bool {
            skipBlanks()
            guard current == c else { return false }
            i += 1
            return true
        }

        /// The next non-blank scalar, without moving.
        func peekAfterBlanks() -> Unicode.Scalar? {
            var j = i
            while j < s.count, Cursor.isBlank(s[j]) { j += 1 }
            return j < s.count ? s[j] : nil
        }

        /// toke.l's WORD: characters other than blanks and `> ! = : , ( ) \ "`, a backslash
        /// escaping the next one (kept without the backslash). (`#` starts a comment unless a
        /// number follows, and comments are gone by now: `#1000` and `%#1000` are words.)
        mutating func bareWord() -> String {
            var out = String.UnicodeScalarView()
            while let c = current {
                if c == "\\", i + 1 < s.count {
                    out.append(s[i + 1])
                    i += 2
                    continue
                }
                if Cursor.isBlank(c) || ">!=:,()\\\"".unicodeScalars.contains(c) { break }
                out.append(c)
                i += 1
            }
            return String(out)
        }

        /// A double-quoted string (after its opening quote): `\"` and `\\` escapes. Nil when not closed.
        mutating func quoted() -> String? {
            var out = String.UnicodeScalarView()
            while let c = current {
                i += 1
                if c == "\"" { return String(out) }
                if c == "\\", let next = current, next == "\"" || next == "\\" {
                    out.append(next)
                    i += 1
                    continue
                }
                out.append(c)
            }
            return nil
        }

        /// One item of a user, host or runas list or a Defaults binding: `!`… then a quoted
        /// string or a word. Nil when there is none.
        mutating func listItem() -> String? {
            skipBlanks()
            var negation = ""
            while current == "!" {
                negation += "!"
                i += 1
                skipBlanks()
            }
            if current == "\"" {
                i += 1
                guard let q = quoted(), !q.isEmpty else { return nil }
                return negation + q
            }
            let word = bareWord()
            return word.isEmpty ? nil : negation + word
        }

        /// `item (, item)*`.
        mutating func list() -> [String]? {
            guard let first = listItem() else { return nil }
            var items = [first]
            while peekAfterBlanks() == "," {
                _ = take(",")
                guard let next = listItem() else { return nil }
                items.append(next)
            }
            return items
        }

        /// A Defaults binding list: `item (, item)*`, where blanks beside a continued line end the
        /// list (sudo 1.9.13's lexer: `Defaults:alice, \\` + `  bob` and `Defaults:alice \\` +
        /// `, bob` are syntax errors, `Defaults:alice,\\` + `bob` and `Defaults:alice , bob` are
        /// not), and the list may not start on the next line. Nil when it is not a list.
        mutating func bindingList() -> [String]? {
            var j = i
            while j < s.count, Cursor.isBlank(s[j]) {
                if s[j] == Cursor.continuation { return nil }
                j += 1
            }
            guard let first = listItem() else { return nil }
            var items = [first]
            while true {
                // The separator: continuations, blanks, the comma, blanks, continuations.
                var j = i
                var blank = false
                var blankThenContinuation = false
                while j < s.count, Cursor.isBlank(s[j]) {
                    if s[j] == Cursor.continuation { blankThenContinuation = blankThenContinuation || blank } else { blank = true }
                    j += 1
                }
                guard j < s.count, s[j] == "," else { break }
                if blankThenContinuation { return nil }
                j += 1
                while j < s.count, Cursor.isPlainBlank(s[j]) { j += 1 }
                var continued = false
                while j < s.count, s[j] == Cursor.continuation {
                    j += 1
                    continued = true
                }
                if continued, j < s.count, Cursor.isPlainBlank(s[j]) { return nil }
                i = j
                guard let next = listItem() else { return nil }
                items.append(next)
            }
            return items
        }

        /// Characters of a command path or argument up to a blank (path) or to `,` `:` (args),
        /// backslash escapes removed.
        mutating func commandText(stopAtBlank: Bool) -> String {
            var out = String.UnicodeScalarView()
            while let c = current {
                if c == "\\", i + 1 < s.count {
                    out.append(s[i + 1])
                    i += 2
                    continue
                }
                // An unescaped `=` is part of an argument (`/bin/ls a=b`); `,` and `:` end it.
                if c == "," || c == ":" || (stopAtBlank && Cursor.isBlank(c)) { break }
                out.append(c == Cursor.continuation ? " " : c)
                i += 1
            }
            var text = String(out)
            while let l = text.unicodeScalars.last, Cursor.isBlank(l) { text.unicodeScalars.removeLast() }
            return text
        }
    }

    /// Why a statement is refused, with the kind visudo reports it as: a syntax error (the first
    /// one is all visudo reports) or a Defaults entry it checks after parsing.
    struct Refusal: Error {
        var message: String
        var kind = "syntax"
    }

    static func isAliasName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("A"..."Z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    func handle(_ line: String, at here: String, file: String, root: HostRoot, state: inout State) {
        let first = Substring(line.prefix { $0 != " " && $0 != "\t" && $0 != SudoersProbe.continuation })
        guard !first.isEmpty else { return }
        switch first {
        case "#include", "@include", "#includedir", "@includedir":
            include(first.hasSuffix("dir"), line.trimmed.dropFirst(first.count), at: here, file: file, root: root, state: &state)
        case _ where SudoersProbe.isDefaults(first):
            defaults(line, at: here, state: &state)
        case _ where SudoersProbe.aliasKeywords.contains(String(first)):
            alias(line, keyword: String(first), at: here, state: &state)
        default:
            userSpec(line, at: here, state: &state)
        }
    }

    // MARK: - Aliases

    /// `Type NAME = item, … [: NAME = …]`: names are checked (an upper-case letter, then upper-case
    /// letters, digits and `_`; not `ALL`; not defined twice for the same type).
    func alias(_ line: String, keyword: String, at here: String, state: inout State) {
        var c = Cursor(line, at: keyword.unicodeScalars.count)
        let type = keyword == "Cmd_Alias" ? "Cmnd_Alias" : keyword
        do throws(Refusal) {
            guard let first = c.current, Cursor.isBlank(first) else { throw Refusal(message: "syntax error after \(keyword)") }
            while true {
                c.skipBlanks()
                let name = c.bareWord()
                if name == "ALL" { throw Refusal(message: "reserved word ALL used as an alias name") }
                guard SudoersProbe.isAliasName(name) else {
                    throw Refusal(message: "'\(name)' is not an alias name (A-Z, then A-Z, 0-9 or _)")
                }
                guard c.take("=") else { throw Refusal(message: "expected '=' after \(keyword) \(name)") }
                if type == "Cmnd_Alias" {
                    repeat { _ = try SudoersProbe.command(&c) } while c.take(",")
                } else {
                    guard c.list() != nil else { throw Refusal(message: "expected a list after \(keyword) \(name) =") }
                }
                if state.aliases[type, default: []].contains(name) { throw Refusal(message: "alias \(name) already defined") }
                state.aliases[type, default: []].insert(name)
                c.skipBlanks()
                if c.atEnd { return }
                guard c.take(":") else { throw Refusal(message: "unexpected text after the alias \(name)") }
            }
        } catch {
            state.problem(
                here, "not a sudoers statement sudo accepts (\(error.message)): '\(SudoersProbe.display(line))'", kind: error.kind)
        }
    }

    // MARK: - Defaults

    enum OptionType {
        /// `timeout`: minutes, a decimal fraction allowed (`5.5`, `-1`); `duration`: seconds or
        /// `1h30m`; `path`: must start with `/`; `directory`: `/`, `~` or `*`.
        case flag, integer, unsignedInteger, timeout, duration, mode, string, path, directory, list, facility, priority, rlimit
        case tuple(Set<String>)
    }

    /// Every Defaults option of sudo 1.9.13 (sudoers(5), "SUDOERS OPTIONS"; def_data.in), with its
    /// type and whether it may be negated without a value (`!option`, the man page's "can be used
    /// in a boolean context").
    static let options: [String: (type: OptionType, boolean: Bool)] = {
        var o: [String: (type: OptionType, boolean: Bool)] = [:]
        let flags = """
            always_query_group_plugin always_set_home authenticate case_insensitive_group case_insensitive_user closefrom_override
            compress_io exec_background env_editor env_reset fast_glob log_passwords fqdn ignore_audit_errors ignore_dot
            ignore_iolog_errors ignore_logfile_errors ignore_local_sudoers ignore_unknown_defaults insults log_allowed log_denied
            log_exit_status log_host log_input log_output log_server_keepalive log_server_verify log_stderr log_stdin log_stdout
            log_subcmds log_ttyin log_ttyout log_year long_otp_prompt mail_all_cmnds mail_always mail_badpass mail_no_host
            mail_no_perms mail_no_user match_group_by_gid intercept intercept_allow_setid intercept_authenticate intercept_verify
            netgroup_tuple noexec noninteractive_auth pam_acct_mgmt pam_rhost pam_ruser pam_session pam_setcred passprompt_override
            path_info preserve_groups pwfeedback requiretty root_sudo rootpw runas_allow_unknown_id runas_check_shell runaspw
            selinux set_home set_logname set_utmp setenv shell_noargs stay_setuid sudoedit_checkdir sudoedit_follow syslog_pid
            targetpw tty_tickets umask_override use_loginclass use_netgroups use_pty user_command_timeouts utmp_runas visiblepw
            iolog_flush
            """
        for name in flags.split(whereSeparator: { $0 == " " || $0 == "\n" }) { o[String(name)] = (.flag, true) }
        o["closefrom"] = (.integer, false)
        o["command_timeout"] = (.duration, false)
        o["log_server_timeout"] = (.duration, false)
        o["maxseq"] = (.string, false)
        o["passwd_tries"] = (.unsignedInteger, false)
        o["syslog_maxlen"] = (.unsignedInteger, false)
        o["loglinelen"] = (.unsignedInteger, true)
        o["passwd_timeout"] = (.timeout, true)
        o["timestamp_timeout"] = (.timeout, true)
        o["umask"] = (.mode, true)
        for name in [
            "apparmor_profile", "authfail_message", "badpass_message", "iolog_file", "iolog_group", "iolog_user",
            "limitprivs", "mailsub", "pam_askpass_service", "pam_login_service", "pam_service", "passprompt", "privs",
            "role", "runas_default", "sudoers_locale", "timestampowner", "type",
        ] {
            o[name] = (.string, false)
        }
        for name in [
            "editor", "iolog_dir", "lecture_status_dir", "log_server_cabundle", "log_server_peer_cert", "log_server_peer_key",
            "timestampdir",
        ] {
            o[name] = (.path, false)
        }
        o["iolog_mode"] = (.mode, false)
        o["intercept_type"] = (.tuple(["dso", "trace"]), false)
        o["timestamp_type"] = (.tuple(["global", "ppid", "tty", "kernel"]), false)
        for name in ["admin_flag", "exempt_group", "group_plugin", "mailerflags", "mailfrom", "mailto", "secure_path"] {
            o[name] = (.string, true)
        }
        o["runchroot"] = (.directory, true)
        o["runcwd"] = (.directory, true)
        for name in ["env_file", "lecture_file", "logfile", "mailerpath", "restricted_env_file"] { o[name] = (.path, true) }
        o["fdexec"] = (.tuple(["always", "never", "digest_only"]), true)
        o["lecture"] = (.tuple(["always", "never", "once"]), true)
        o["listpw"] = (.tuple(["all", "always", "any", "never"]), true)
        o["verifypw"] = (.tuple(["all", "always", "any", "never"]), true)
        o["log_format"] = (.tuple(["json", "sudo"]), true)
        o["syslog"] = (.facility, true)
        o["syslog_badpri"] = (.priority, true)
        o["syslog_goodpri"] = (.priority, true)
        for name in ["as", "core", "cpu", "data", "fsize", "locks", "memlock", "nofile", "nproc", "rss", "stack"] {
            o["rlimit_" + name] = (.rlimit, true)
        }
        for name in ["env_check", "env_delete", "env_keep", "log_servers"] { o[name] = (.list, true) }
        return o
    }()

    static let facilities: Set<String> = [
        "authpriv", "auth", "daemon", "user", "local0", "local1", "local2", "local3",
        "local4", "local5", "local6", "local7",
    ]
    static let priorities: Set<String> = ["alert", "crit", "debug", "emerg", "err", "info", "notice", "warning", "none"]

    /// Whether sudo accepts `value` for an option of `type` (defaults.c's store_* functions).
    static func accepts(_ value: String, _ type: OptionType) -> Bool {
        let digits = { (s: Substring) in !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }
        switch type {
        case .flag: return false
        case .integer:
            var s = Substring(value)
            if s.first == "-" || s.first == "+" { s = s.dropFirst() }
            return digits(s) && Int64(s).map { $0 <= Int64(Int32.max) } == true
        case .unsignedInteger:
            let s = value.first == "+" ? Substring(value).dropFirst() : Substring(value)
            return digits(s) && UInt64(s).map { $0 <= UInt64(UInt32.max) } == true
        case .timeout:
            // A number of minutes (passwd_timeout, timestamp_timeout: strtod, no exponent).
            var s = Substring(value)
            if s.first == "-" || s.first == "+" { s = s.dropFirst() }
            let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count <= 2, !s.isEmpty, s != "." else { return false }
            return parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } } && parts.contains { !$0.isEmpty }
        case .mode:
            return digits(Substring(value)) && value.allSatisfy { $0 < "8" } && (Int(value, radix: 8) ?? Int.max) <= 0o777
        case .duration: return acceptsCommandOption("TIMEOUT", value)
        case .rlimit:
            // A limit, or soft and hard limits: a number, `infinity`, `user` or `default` each.
            let parts = value.split(separator: ",", omittingEmptySubsequences: false)
            return parts.count <= 2 && parts.allSatisfy { digits($0) || ["infinity", "user", "default"].contains($0) }
        case .string, .list: return !value.isEmpty
        case .path: return value.hasPrefix("/")
        case .directory: return value.hasPrefix("/") || value.hasPrefix("~") || value.hasPrefix("*")
        case .facility: return facilities.contains(value)
        case .priority: return priorities.contains(value)
        case .tuple(let values): return values.contains(value)
        }
    }

    func defaults(_ line: String, at here: String, state: inout State) {
        var c = Cursor(line, at: "Defaults".unicodeScalars.count)
        var scope: String?
        var binding = ""
        var entries: [(negated: Bool, option: String, op: String?, value: String?, text: String)] = []
        do throws(Refusal) {
            if let kind = c.current, let name = ["@": "host", ":": "user", "!": "command", ">": "runas"][kind] {
                c.i += 1
                guard let items = c.bindingList() else { throw Refusal(message: "Defaults\(kind) without a \(name) list") }
                binding = items.joined(separator: ",")
                scope = "\(name) \(binding)"
                binding = String(kind) + binding
            } else if let first = c.current, !Cursor.isBlank(first) {
                throw Refusal(message: "text right after Defaults")
            }
            repeat {
                c.skipBlanks()
                let start = c.i
                var negated = false
                while c.take("!") { negated.toggle() }
                c.skipBlanks()
                var name = ""
                // toke.l's DEFVAR: lower-case letters and `_` (`rlimit_nofile=1024,2048` is a syntax error at `2048`).
                while let ch = c.current, ("a"..."z").contains(ch) || ch == "_" {
                    name.unicodeScalars.append(ch)
                    c.i += 1
                }
                guard !name.isEmpty else { throw Refusal(message: "expected a Defaults option") }
                var op: String?
                var value: String?
                c.skipBlanks()
                if c.current == "=" {
                    op = "="
                } else if c.current == "+" || c.current == "-", c.i + 1 < c.s.count, c.s[c.i + 1] == "=" {
                    op = String(c.current!) + "="
                    c.i += 1
                }
                if let op {
                    guard !negated else { throw Refusal(message: "'!' before an option with a value") }
                    c.i += 1
                    c.skipBlanks()
                    if c.current == "\"" {
                        c.i += 1
                        guard let q = c.quoted() else { throw Refusal(message: "unterminated quoted value") }
                        guard !q.isEmpty else { throw Refusal(message: "empty string") }
                        value = q
                    } else {
                        var out = String.UnicodeScalarView()
                        while let ch = c.current, !Cursor.isBlank(ch), ch != ",", ch != "\"" {
                            if ch == "\\", c.i + 1 < c.s.count {
                                out.append(c.s[c.i + 1])
                                c.i += 2
                                continue
                            }
                            out.append(ch)
                            c.i += 1
                        }
                        guard !out.isEmpty else { throw Refusal(message: "\(name)\(op) without a value") }
                        value = String(out)
                    }
                }
                let text = String(SudoersProbe.display(String(String.UnicodeScalarView(c.s[start..<c.i]))).trimmed)
                entries.append((negated, name, op, value, text))
                c.skipBlanks()
            } while c.take(",")
            guard c.atEnd else { throw Refusal(message: "unexpected text after the Defaults options") }
        } catch {
            state.problem(
                here, "not a sudoers statement sudo accepts (\(error.message)): '\(SudoersProbe.display(line))'", kind: error.kind)
            return
        }
        for entry in entries {
            let option = entry.option
            // What defaults.c refuses once the file is parsed; sudo skips the entry.
            guard let spec = SudoersProbe.options[option] else {
                state.problem(here, "unknown Defaults option \"\(option)\": sudo refuses the entry", kind: "defaults")
                continue
            }
            if case .flag = spec.type {
                guard entry.value == nil else {
                    state.problem(here, "\(option) is a flag and takes no value: '\(entry.text)'", kind: "defaults")
                    continue
                }
            } else {
                guard let value = entry.value else {
                    if !(spec.boolean && entry.negated) {
                        state.problem(here, "no value specified for \"\(option)\": '\(entry.text)'", kind: "defaults")
                        continue
                    }
                    record(option, false, entry.text, scope: scope, binding: binding, at: here, state: &state)
                    continue
                }
                if entry.op != "=" {
                    guard case .list = spec.type else {
                        state.problem(here, "invalid operator \"\(entry.op ?? "")\" for \"\(option)\"", kind: "defaults")
                        continue
                    }
                }
                guard SudoersProbe.accepts(value, spec.type) else {
                    state.problem(here, "value \"\(value)\" is invalid for option \"\(option)\"", kind: "defaults")
                    continue
                }
                record(option, .string(value), entry.text, scope: scope, binding: binding, at: here, state: &state)
                continue
            }
            record(option, .bool(!entry.negated), entry.text, scope: scope, binding: binding, at: here, state: &state)
        }
    }

    /// Keeps an accepted entry of an option Warden judges.
    func record(_ option: String, _ value: JSON, _ text: String, scope: String?, binding: String, at here: String, state: inout State) {
        guard SudoersProbe.booleanOptions.contains(option) || SudoersProbe.stringOptions.contains(option) else { return }
        var value = value
        if option == "timestamp_timeout" { value = SudoersProbe.timeoutSeconds(value) }
        if let scope {
            let entry = ScopedEntry(source: here, scope: scope, option: option, value: value, text: "Defaults\(binding) \(text)")
            state.scoped.removeAll { $0.scope == scope && $0.option == option }
            state.scoped.append(entry)
        } else {
            state.global[option] = Setting(value: value, source: here)
        }
    }

    /// sudo's minutes (`strtod`, then × 60) in whole seconds, rounded away from zero so that a
    /// fraction over a limit never reads as within it; `!timestamp_timeout` is 0.
    static func timeoutSeconds(_ value: JSON) -> JSON {
        guard case .string(let text) = value else { return 0 }
        guard let minutes = Double(text) else { return value }
        let seconds = minutes * 60
        return .int(Int64(seconds < 0 ? seconds.rounded(.down) : seconds.rounded(.up)))
    }

    // MARK: - User specifications

    struct Command {
        var text: String
        var negated: Bool
    }

    /// One command of a list (gram.y's digcmnd): `!`…, an optional digest (`sha256:` and the
    /// hash in hex or base64), then `ALL`, an alias, `sudoedit`, a path or a regular expression
    /// (`^…`) with its arguments.
    static func command(_ c: inout Cursor) throws(Refusal) -> Command {
        c.skipBlanks()
        var negated = false
        while c.current == "!" {
            negated.toggle()
            c.i += 1
            c.skipBlanks()
        }
        var digest = ""
        for algorithm in digestBytes.keys.sorted() where c.s[c.i...].starts(with: (algorithm + ":").unicodeScalars) {
            c.i += algorithm.count + 1
            var hash = ""
            while let ch = c.current,
                ch.properties.isASCIIHexDigit || ("A"..."Z").contains(ch) || ("a"..."z").contains(ch) || "+/=".unicodeScalars.contains(ch)
            {
                hash.unicodeScalars.append(ch)
                c.i += 1
            }
            let bytes = digestBytes[algorithm]!
            let base64 = (bytes + 2) / 3 * 4
            let isHex = hash.count == bytes * 2 && hash.unicodeScalars.allSatisfy { $0.properties.isASCIIHexDigit }
            let unpadded = (bytes * 4 + 2) / 3
            var stripped = Substring(hash)
            while stripped.hasSuffix("=") { stripped = stripped.dropLast() }
            let isBase64 = (hash.count == base64 || hash.count == unpadded) && stripped.count == unpadded
            guard isHex || isBase64 else { throw Refusal(message: "invalid \(algorithm) digest '\(hash)'") }
            digest = "\(algorithm):\(hash) "
            c.skipBlanks()
            break
        }
        let text: String
        if c.current == "/" || c.current == "^" {
            let path = c.commandText(stopAtBlank: true)
            c.skipBlanks()
            let args = c.commandText(stopAtBlank: false)
            // A directory (`/usr/bin/`) allows every command in it, with any arguments: it takes none.
            if path.hasSuffix("/") && !args.isEmpty { throw Refusal(message: "arguments after the directory \(path)") }
            text = args.isEmpty ? path : "\(path) \(args)"
        } else {
            let word = c.bareWord()
            switch word {
            case "ALL" where digest.isEmpty:
                text = word
            case "sudoedit":
                c.skipBlanks()
                let args = c.commandText(stopAtBlank: false)
                text = args.isEmpty ? word : "\(word) \(args)"
            case _ where isAliasName(word) && digest.isEmpty:
                text = word
            default:
                throw Refusal(message: "expected a fully-qualified path name, found '\(word)'")
            }
        }
        return Command(text: (negated ? "!" : "") + digest + text, negated: negated)
    }

    static let digestBytes = ["sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64]

    /// A command option's value (`CWD=`, `TIMEOUT=`, …), as sudo checks it.
    static func acceptsCommandOption(_ name: String, _ value: String) -> Bool {
        switch name {
        case "CWD", "CHROOT": return value.hasPrefix("/") || value.hasPrefix("~") || value == "*"
        case "TIMEOUT":
            // [days d][hours h][minutes m][seconds s], or a number of seconds.
            if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }) { return true }
            var rest = Substring(value.lowercased())
            var units = Array("dhms")
            guard !rest.isEmpty else { return false }
            while !rest.isEmpty {
                let number = rest.prefix { $0.isASCII && $0.isNumber }
                rest = rest.dropFirst(number.count)
                guard !number.isEmpty, let unit = rest.first, let at = units.firstIndex(of: unit) else { return false }
                units.removeFirst(at + 1)
                rest = rest.dropFirst()
            }
            return true
        case "NOTBEFORE", "NOTAFTER":
            // Generalized time: YYYYMMDDHH[MM[SS]][.fraction][Z|+hhmm|-hhmm].
            var s = Substring(value)
            if s.hasSuffix("Z") {
                s = s.dropLast()
            } else if s.count > 5, "+-".contains(s[s.index(s.endIndex, offsetBy: -5)]) {
                guard s.suffix(4).allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
                s = s.dropLast(5)
            }
            if let dot = s.firstIndex(of: ".") { s = s[..<dot] }
            return [10, 12, 14].contains(s.count) && s.allSatisfy { $0.isASCII && $0.isNumber }
        default: return !value.isEmpty
        }
    }

    /// `users hosts = [(runas)] [OPTION=v]… [TAG:]… command [, …] [: hosts = …]`: records every
    /// command with its effective tags. Runas and tags carry over to the following commands of
    /// the same host list and restart after `:`.
    func userSpec(_ line: String, at here: String, state: inout State) {
        var c = Cursor(line)
        var found: [JSON] = []
        do throws(Refusal) {
            guard let users = c.list() else { throw Refusal(message: "expected a user list") }
            guard var hosts = c.list() else { throw Refusal(message: "expected a host list after the users") }
            hostLoop: while true {
                guard c.take("=") else { throw Refusal(message: "expected '=' after the host list") }
                var runas: String?
                var tags: [String: String] = [:]
                while true {
                    c.skipBlanks()
                    var stage = 0  // 0: runas allowed, 1: options, 2: tags
                    if c.current == "(" {
                        c.i += 1
                        let start = c.i
                        if c.peekAfterBlanks() != ":" && c.peekAfterBlanks() != ")" {
                            guard c.list() != nil else { throw Refusal(message: "bad runas list") }
                        }
                        if c.take(":"), c.peekAfterBlanks() != ")" {
                            guard c.list() != nil else { throw Refusal(message: "bad runas group list") }
                        }
                        guard c.take(")") else { throw Refusal(message: "unbalanced parenthesis") }
                        runas = String(SudoersProbe.display(String(String.UnicodeScalarView(c.s[start..<(c.i - 1)]))).trimmed)
                        stage = 1
                    }
                    // Options, then tags, then the command.
                    while true {
                        c.skipBlanks()
                        let mark = c.i
                        let word = c.bareWord()
                        if SudoersProbe.commandOptions.contains(word), c.current == "=" {
                            guard stage <= 1 else { throw Refusal(message: "\(word)= after a tag") }
                            c.i += 1
                            let value = c.bareWord()
                            guard SudoersProbe.acceptsCommandOption(word, value) else {
                                throw Refusal(message: "invalid \(word) value '\(value)'")
                            }
                            stage = 1
                            continue
                        }
                        if SudoersProbe.tagNames.contains(word), c.peekAfterBlanks() == ":" {
                            _ = c.take(":")
                            tags[word.hasPrefix("NO") ? String(word.dropFirst(2)) : word] = word
                            stage = 2
                            continue
                        }
                        c.i = mark
                        break
                    }
                    if c.current == "(" { throw Refusal(message: "a runas list must come first") }
                    let command = try SudoersProbe.command(&c)
                    let tagList = tags.values.sorted()
                    let rule =
                        "\(users.joined(separator: ",")) \(hosts.joined(separator: ",")) = "
                        + (runas.map { "(\($0)) " } ?? "") + tagList.map { "\($0): " }.joined() + command.text
                    found.append([
                        "source": .string(here), "users": .array(users.map { .string($0) }), "hosts": .array(hosts.map { .string($0) }),
                        "runas": runas.map { .string($0) } ?? .null, "command": .string(command.text), "negated": .bool(command.negated),
                        "tags": .array(tagList.map { .string($0) }), "rule": .string(rule),
                    ])
                    c.skipBlanks()
                    if c.atEnd { break hostLoop }
                    if c.take(",") { continue }
                    if c.take(":") {
                        guard let next = c.list() else { throw Refusal(message: "expected a host list after ':'") }
                        hosts = next
                        continue hostLoop
                    }
                    throw Refusal(message: "unexpected '\(c.current.map { String($0) } ?? "")' after a command")
                }
            }
        } catch {
            state.problem(
                here, "not a sudoers statement sudo accepts (\(error.message)): '\(SudoersProbe.display(line))'", kind: error.kind)
            return
        }
        state.commands.append(contentsOf: found)
    }

    // MARK: - Host information

    static func shortHostname(_ context: ProbeContext) -> String? {
        let paths = context.mode == .live ? ["/proc/sys/kernel/hostname", "/etc/hostname"] : ["/etc/hostname"]
        for path in paths {
            guard let text = try? context.root.readText(path, limit: 4096),
                let line = text.split(separator: "\n").first?.trimmed, !line.isEmpty
            else { continue }
            return String(line.split(separator: ".").first ?? line)
        }
        return nil
    }

    typealias InstalledVersion = PackageDatabase.Installed

    /// The installed sudo package and version from dpkg's database, or nil.
    static func installedVersion(_ root: HostRoot) -> InstalledVersion? {
        PackageDatabase.installedVersion(root, packages: ["sudo", "sudo-ldap"])
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
        return Setting(
            value: .bool(on), source: "default (\(installed.package) \(installed.version): use_pty is \(on ? "on" : "off") by default)")
    }
}
