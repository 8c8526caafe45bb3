package import WardenFormats

/// One type (`auth`, `session`) of a PAM service's stack, built the way Linux-PAM 1.5.2 (Debian
/// 12: libpam0g 1.5.2-6) builds it (`libpam/pam_handlers.c`), and the question the controls ask
/// of it answered the way `_pam_dispatch_aux` (`libpam/pam_dispatch.c`) walks it: can the stack
/// end in success without a given module (succeeding, or running)? docs/DAEMON-SEMANTICS.md.
///
/// - Files: `/etc/pam.d/SERVICE`; without it, `/etc/pam.d/other`; a type the service's file does
///   not configure at all comes from `other` too.
/// - Lines: `\` joins lines, `#` starts a comment, `[…]` is one word. `[-]TYPE CONTROL MODULE
///   ARGS`, the type without case; `@include FILE` takes FILE's lines of the type asked for;
///   `include` splices the named file's lines of that type, `substack` too, one level down (where
///   `done`, `die` and jumps end at the substack's end). A file that cannot be included, a bad
///   type or control, or a line without a module becomes a handler that always fails.
/// - Controls: `required`, `requisite`, `sufficient`, `optional`, and `[value=action …]` with
///   `ok`, `done`, `bad`, `die`, `ignore`, `reset` or a jump; what is left unset is `bad`.
/// - The walk: every module may return any value (`pam_permit` only success, `pam_deny` only
///   failure); the stack is walked for every combination, as the dispatcher would for those
///   returns, and ends in success when the impression is positive with a success status.
/// The modules' shared objects are not looked for: a module that is not installed fails every
/// time, which locks out rather than lets in.
package struct PAMStack {
    enum Action: Hashable {
        case ok, done, bad, die, ignore, reset
        case jump(Int)
    }

    package struct Handler {
        /// 0 for the service's own stack, one more inside each substack.
        var level: Int
        /// The module's file name (`pam_u2f.so`), empty for a handler that always fails.
        var module: String
        var arguments: [String]
        /// One action per PAM return value (`returnNames`).
        var actions: [Action]
        var source: String
        var mustFail = false
        /// The `substack` line itself, which the dispatcher steps over.
        var substackHeader = false
    }

    /// Linux-PAM's return values, by number (`_pam_token_returns`).
    static let returnNames = [
        "success", "open_err", "symbol_err", "service_err", "system_err", "buf_err", "perm_denied", "auth_err",
        "cred_insufficient", "authinfo_unavail", "user_unknown", "maxtries", "new_authtok_reqd", "acct_expired",
        "session_err", "cred_unavail", "cred_expired", "cred_err", "no_module_data", "conv_err", "authtok_err",
        "authtok_recover_err", "authtok_lock_busy", "authtok_disable_aging", "try_again", "ignore", "abort",
        "authtok_expired", "module_unknown", "bad_item", "conv_again", "incomplete",
    ]
    static let success = 0
    static let permDenied = 6
    static let authErr = 7
    static let newAuthtokRequired = 12
    static let ignore = 25
    static let incomplete = 31
    /// PAM_SUBSTACK_MAX_LEVEL.
    static let maxIncludeLevel = 16
    static let directory = "/etc/pam.d/"

    var service: String
    var type: String
    var handlers: [Handler] = []
    /// What PAM would log and go past (lines that become failing handlers, bad control words).
    var problems: [String] = []
    /// The file the stack starts from (`/etc/pam.d/SERVICE`, or `other` in its place).
    var file: String
    /// Set when includes multiplied the stack past `maxHandlers` (a file including itself):
    /// what it holds is then not walked.
    var tooLarge = false
    static let maxHandlers = 10_000

    /// The stack of `type` for `service`; throws when no file of the service (nor `other`)
    /// can be read: PAM then refuses every request.
    init(_ root: HostRoot, service: String, type: String) throws(HostError) {
        self.service = service
        self.type = type
        file = PAMStack.directory + service
        do {
            try load(root, file: file, level: 0, includeLevel: 0, serviceFile: true)
            if handlers.isEmpty {
                // The dispatcher takes a type the service leaves out from `other`.
                file = PAMStack.directory + "other"
                try load(root, file: file, level: 0, includeLevel: 0, serviceFile: true)
            }
        } catch {
            guard error.isNotFound, file != PAMStack.directory + "other" else { throw error }
            file = PAMStack.directory + "other"
            try load(root, file: file, level: 0, includeLevel: 0, serviceFile: true)
        }
    }

    /// The modules on the stack, in order, once each.
    var modules: [String] {
        var seen: Set<String> = []
        return handlers.compactMap { h in h.module.isEmpty || !seen.insert(h.module).inserted ? nil : h.module }
    }

    private mutating func load(_ root: HostRoot, file: String, level: Int, includeLevel: Int, serviceFile: Bool) throws(HostError) {
        let text: String
        do { text = try root.readText(file, limit: 1 << 20) } catch {
            if serviceFile { throw error }
            throw error
        }
        for (number, line) in PAMStack.assembledLines(text) {
            guard handlers.count < PAMStack.maxHandlers else {
                tooLarge = true
                return
            }
            let here = "\(file):\(number)"
            var words = PAMStack.tokens(line)
            guard !words.isEmpty else { continue }
            var typeWord = words.removeFirst()
            if typeWord == "@include" {
                guard let name = words.first else {
                    problems.append("\(here): @include without a file")
                    continue
                }
                include(root, name, from: here, level: level, includeLevel: includeLevel, substack: false)
                continue
            }
            if typeWord.hasPrefix("-") { typeWord.removeFirst() }
            let knownTypes = ["auth", "session", "account", "password"]
            var mustFail = false
            if !knownTypes.contains(typeWord.lowercased()) {
                // PAM installs a line of an unknown type as a failing handler of the type asked for.
                problems.append("\(here): illegal module type '\(typeWord)'")
                mustFail = true
            } else if typeWord.lowercased() != type {
                continue
            }
            guard !words.isEmpty else {
                problems.append("\(here): no control flag")
                handlers.append(Handler(level: level, module: "", arguments: [], actions: PAMStack.all(.bad), source: here, mustFail: true))
                continue
            }
            let control = words.removeFirst()
            let actions: [Action]
            switch control.lowercased() {
            case "include", "substack":
                guard let name = words.first else {
                    problems.append("\(here): \(control) without a file")
                    handlers.append(
                        Handler(level: level, module: "", arguments: [], actions: PAMStack.all(.bad), source: here, mustFail: true))
                    continue
                }
                include(root, name, from: here, level: level, includeLevel: includeLevel, substack: control.lowercased() == "substack")
                continue
            case "required": actions = PAMStack.fixed(success: .ok, ignore: .ignore, otherwise: .bad)
            case "requisite": actions = PAMStack.fixed(success: .ok, ignore: .ignore, otherwise: .die)
            case "optional": actions = PAMStack.fixed(success: .ok, ignore: .ignore, otherwise: .ignore)
            case "sufficient": actions = PAMStack.fixed(success: .done, ignore: .ignore, otherwise: .ignore)
            default: actions = PAMStack.bracketed(control, at: here, problems: &problems)
            }
            guard !words.isEmpty else {
                problems.append("\(here): no module name")
                handlers.append(Handler(level: level, module: "", arguments: [], actions: actions, source: here, mustFail: true))
                continue
            }
            let path = words.removeFirst()
            let module = String(path.split(separator: "/").last ?? Substring(path))
            handlers.append(Handler(level: level, module: module, arguments: words, actions: actions, source: here, mustFail: mustFail))
        }
    }

    private mutating func include(_ root: HostRoot, _ name: String, from here: String, level: Int, includeLevel: Int, substack: Bool) {
        if substack {
            handlers.append(
                Handler(level: level, module: "", arguments: [], actions: PAMStack.all(.ignore), source: here, substackHeader: true))
        }
        let path = name.hasPrefix("/") ? name : PAMStack.directory + name
        guard includeLevel + 1 < PAMStack.maxIncludeLevel else {
            problems.append("\(here): includes nested deeper than \(PAMStack.maxIncludeLevel) levels")
            handlers.append(Handler(level: level, module: "", arguments: [], actions: PAMStack.all(.bad), source: here, mustFail: true))
            return
        }
        do {
            try load(root, file: path, level: level + (substack ? 1 : 0), includeLevel: includeLevel + 1, serviceFile: false)
        } catch {
            problems.append("\(here): cannot include \(path): \(error.message)")
            handlers.append(Handler(level: level, module: "", arguments: [], actions: PAMStack.all(.bad), source: here, mustFail: true))
        }
    }

    static func all(_ action: Action) -> [Action] { Array(repeating: action, count: returnNames.count) }

    static func fixed(success: Action, ignore: Action, otherwise: Action) -> [Action] {
        var a = all(otherwise)
        a[PAMStack.success] = success
        a[PAMStack.newAuthtokRequired] = success
        a[PAMStack.ignore] = ignore
        return a
    }

    /// `[value=action …]` (`_pam_parse_control`): `default=` fills what is still unset, so it
    /// does not undo an earlier value; anything left unset is `bad`.
    static func bracketed(_ control: String, at here: String, problems: inout [String]) -> [Action] {
        var actions: [Action?] = Array(repeating: nil, count: returnNames.count)
        var body = Substring(control)
        if body.first == "[" { body = body.dropFirst() }
        if body.last == "]" { body = body.dropLast() }
        for token in body.words {
            let parts = token.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                problems.append("\(here): bad control '\(token)'")
                continue
            }
            let action: Action
            switch parts[1].lowercased() {
            case "ok": action = .ok
            case "done": action = .done
            case "bad": action = .bad
            case "die": action = .die
            case "ignore": action = .ignore
            case "reset": action = .reset
            default:
                guard let n = Int(parts[1]), n > 0 else {
                    problems.append("\(here): bad action '\(parts[1])'")
                    continue
                }
                action = .jump(n)
            }
            if parts[0].lowercased() == "default" {
                for i in actions.indices where actions[i] == nil { actions[i] = action }
            } else if let i = returnNames.firstIndex(of: parts[0].lowercased()) {
                actions[i] = action
            } else {
                problems.append("\(here): unknown return value '\(parts[0])'")
            }
        }
        return actions.map { $0 ?? .bad }
    }

    /// Logical lines: `#` to the end of a line is a comment, a `\` before the newline joins the
    /// next line (numbered by its first line).
    static func assembledLines(_ text: String) -> [(number: Int, text: String)] {
        var out: [(Int, String)] = []
        var pending: (Int, String)?
        for (i, raw) in lines(text).enumerated() {
            var line = String(raw)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            let continued = line.trimmed.hasSuffix("\\")
            if continued { line = String(line.trimmed.dropLast()) }
            if var p = pending {
                p.1 += " " + line
                pending = p
            } else {
                pending = (i + 1, line)
            }
            if !continued, let p = pending {
                if !p.1.trimmed.isEmpty { out.append(p) }
                pending = nil
            }
        }
        if let p = pending, !p.1.trimmed.isEmpty { out.append(p) }
        return out
    }

    /// Words split on blanks, a `[…]` (with `\]` inside) kept as one word.
    static func tokens(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inBracket = false
        var escaped = false
        for c in line {
            if inBracket {
                if escaped {
                    current.append(c)
                    escaped = false
                } else if c == "\\" {
                    escaped = true
                } else {
                    current.append(c)
                    if c == "]" { inBracket = false }
                }
                continue
            }
            if c == " " || c == "\t" || c == "\r" {
                if !current.isEmpty { out.append(current) }
                current = ""
            } else {
                if c == "[" && current.isEmpty { inBracket = true }
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    // MARK: - The walk

    package enum Requirement {
        /// The module must return success on every way to success (a factor: pam_u2f).
        case succeeds
        /// The module must be called on every way to success (a recorder: pam_tty_audit).
        case runs
    }

    private struct State: Hashable {
        var index: Int
        var previousLevel: Int
        /// 0 undecided, 1 positive, 2 negative (`_PAM_UNDEF`, `_PAM_POSITIVE`, `_PAM_NEGATIVE`).
        var impression: Int
        var succeeded: Bool
        var satisfied: Bool
        var saved: [Int: [Int]]
    }

    /// Whether some way through the stack ends in success.
    var canSucceed: Bool { wayToSuccess(where: { _ in false }, .runs) }

    /// Whether some way through the stack ends in success without the handlers `target`
    /// selects doing what `requirement` says.
    func wayToSuccess(where target: (Handler) -> Bool, _ requirement: Requirement) -> Bool {
        var seen: Set<State> = []
        var todo = [State(index: 0, previousLevel: 0, impression: 0, succeeded: false, satisfied: false, saved: [:])]
        while var s = todo.popLast() {
            guard seen.insert(s).inserted else { continue }
            guard s.index < handlers.count else {
                if s.succeeded && s.impression == 1 && !s.satisfied { return true }
                continue
            }
            let h = handlers[s.index]
            if s.previousLevel < h.level { s.saved[h.level] = [s.impression, s.succeeded ? 1 : 0] }
            if h.substackHeader {
                var next = s
                next.index += 1
                next.previousLevel = h.level
                todo.append(next)
                continue
            }
            let isTarget = !h.mustFail && target(h)
            for (returned, action) in outcomes(h, factor: isTarget && requirement == .succeeds) {
                var n = s
                n.previousLevel = h.level
                if isTarget && (requirement == .runs || returned == PAMStack.success) { n.satisfied = true }
                var index = s.index
                let ignored = returned == PAMStack.ignore
                switch action {
                case .reset:
                    let saved = s.saved[h.level] ?? [0, 0]
                    n.impression = saved[0]
                    n.succeeded = saved[1] == 1
                case .ok, .done:
                    if n.impression == 0 || (n.impression == 1 && n.succeeded), !ignored {
                        n.impression = 1
                        n.succeeded = returned == PAMStack.success
                    }
                    if n.impression == 1 && action == .done { index = endOfLevel(index) }
                case .bad, .die:
                    if n.impression != 2 {
                        n.impression = 2
                        n.succeeded = !ignored && returned == PAMStack.success
                    }
                    if action == .die { index = endOfLevel(index) }
                case .ignore:
                    break
                case .jump(let count):
                    var left = count
                    while index + 1 < handlers.count && handlers[index + 1].level >= h.level && left > 0 {
                        repeat { index += 1 } while index + 1 < handlers.count && handlers[index + 1].level > h.level
                        left -= 1
                    }
                    if left > 0 {
                        n.impression = 2
                        n.succeeded = false
                    }
                }
                n.index = index + 1
                todo.append(n)
            }
        }
        return false
    }

    /// The index of the last handler of the level `index` is on (the dispatcher's
    /// `decision_made`: the rest of this stack or substack is skipped).
    private func endOfLevel(_ index: Int) -> Int {
        var i = index
        while i + 1 < handlers.count && handlers[i + 1].level >= handlers[index].level { i += 1 }
        return i
    }

    private struct Kind: Hashable {
        var success: Bool
        var ignore: Bool
        var action: Action
    }

    /// What a handler may return, with the action each return leads to, one per distinct pair
    /// of action and kind of return (success, ignore, other). A `factor` (pam_u2f) either
    /// succeeds or fails: it never returns PAM_IGNORE.
    private func outcomes(_ h: Handler, factor: Bool) -> [(Int, Action)] {
        let returns: [Int]
        if factor {
            returns = Array(0..<PAMStack.incomplete).filter { $0 != PAMStack.ignore && $0 != PAMStack.newAuthtokRequired }
        } else if h.mustFail {
            returns = [PAMStack.permDenied]
        } else if h.module == "pam_permit.so" {
            returns = [PAMStack.success]
        } else if h.module == "pam_deny.so" {
            returns = [PAMStack.authErr]
        } else {
            returns = Array(0..<PAMStack.incomplete)
        }
        var out: [(Int, Action)] = []
        var kinds: Set<Kind> = []
        for r in returns {
            let kind = Kind(success: r == PAMStack.success, ignore: r == PAMStack.ignore, action: h.actions[r])
            if kinds.insert(kind).inserted { out.append((r, h.actions[r])) }
        }
        return out
    }
}

extension PAMStack {
    /// pam_u2f as a factor: `nouserok` lets a user without an enrolled key through, `alwaysok`
    /// everyone (pam-u2f 1.2, Debian 12's libpam-u2f).
    package static func isU2F(_ h: Handler) -> Bool {
        h.module == "pam_u2f.so" && !h.arguments.contains("nouserok") && !h.arguments.contains("alwaysok")
    }

    /// pam_tty_audit turning auditing on for someone (`enable=PATTERNS`).
    package static func isTTYAuditEnable(_ h: Handler) -> Bool {
        h.module == "pam_tty_audit.so" && h.arguments.contains { $0.hasPrefix("enable=") && $0.count > "enable=".count }
    }

    /// Whether every way to success through `service`'s `type` stack has `target` doing what
    /// `requirement` says, as a sourced bool (the source is the target's first line, else the
    /// stack's file), or an `error` when no file can be read. A stack that never succeeds does
    /// not count: nobody gets in, the remediation did not work.
    package static func requires(
        _ root: HostRoot, service: String, type: String, _ requirement: Requirement, where target: (Handler) -> Bool
    ) -> JSON {
        let stack: PAMStack
        do { stack = try PAMStack(root, service: service, type: type) } catch {
            return ["error": .string("cannot read the PAM configuration of \(service): \(error.description)")]
        }
        if stack.tooLarge {
            return ["error": .string("the PAM stack of \(service) has more than \(maxHandlers) lines once its includes are followed")]
        }
        guard let first = stack.handlers.first(where: { !$0.mustFail && target($0) }) else {
            return ["value": false, "source": .string(stack.file)]
        }
        let holds = stack.canSucceed && !stack.wayToSuccess(where: target, requirement)
        return ["value": .bool(holds), "source": .string(first.source)]
    }
}
