public import WardenCore
internal import WardenFormats

/// The audit rules the kernel will load at boot, read as `augenrules --load` (auditd 3.0.9,
/// Debian 12) builds them when /etc/audit/rules.d holds any `*.rules` file, else
/// /etc/audit/audit.rules; a difference between the two is reported as drift. augenrules
/// concatenates the files `ls -1v` lists (version sort: `9-x.rules` before `10-x.rules`; no
/// hidden files),
/// drops comments and blank lines, keeps only the last `-D`, `-b` and `-f` lines and puts them
/// first, and keeps only the last `-e` line and puts it last (lines that start in column 0: under
/// Debian's mawk its `^\s*` patterns do not skip blanks, so an indented `-e 2` stays in place,
/// and the kernel ignores what follows it) — so an `-e 2` in
/// `99-finalize.rules` does not cut off Debian's `audit.rules`, which sorts after it. In a
/// loaded file, rules after `-e 2` are ignored by the kernel. For each path of interest (weight
/// locations, canaries, the files LOG-003 names) the fact says which rule covers it first — the
/// kernel applies the first matching rule, so its key is the one the records carry. Syscall rules
/// cover the architectures the host runs: a rule without `arch=` is for the native one (b64 on
/// x86_64 and aarch64); an x86_64 host also runs 32-bit programs, so it needs `arch=b32` too.
public struct AuditRulesProbe: Probe {
    public init() {}
    public let name = "audit-rules"
    public let summary =
        "persistent audit rules (rules.d as augenrules compiles them, else audit.rules), coverage of weights, canaries and privileged files and syscalls"
    public let reads = ["/etc/audit/rules.d/*.rules", "/etc/audit/audit.rules"]
    public var facts: [String: FactType] {
        [
            "audit_rules": .object([
                "present": .bool, "architecture": .string, "source": .string, "files": .strings,
                "rules": .list(
                    .object([
                        "kind": .string, "source": .string, "text": .string, "after_immutable": .bool, "action": .string, "list": .string,
                        "perms": .string, "syscalls": .strings, "filters": .strings, "key": .optional(.string), "path": .string,
                    ])),
                "immutable": .sourced(.bool), "ignored_after_immutable": .strings,
                "weights": .list(AuditRulesProbe.coverageType),
                "canaries": .list(AuditRulesProbe.coverageType.adding(["own_rule": .bool, "exists": .bool])),
                "privileged_files": .list(AuditRulesProbe.coverageType),
                "privileged_syscalls": .list(
                    .object([
                        "name": .string, "covered": .bool, "source": .string, "arches": .strings, "missing_arches": .strings,
                        "rule": .string, "error": .string,
                    ])),
                "problems": .strings, "drift": .optional(.string), "backlog_limit": .sourced(.int),
            ])
        ]
    }

    /// Files whose changes LOG-003 wants audited (writes and attribute changes).
    public static let watchedFiles = [
        "/etc/sudoers", "/etc/sudoers.d", "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/audit",
    ]
    /// Syscalls LOG-003 wants audited; profiles choose which are required.
    public static let watchedSyscalls = [
        "init_module", "finit_module", "delete_module", "mount", "adjtimex", "settimeofday",
        "clock_settime", "ptrace", "process_vm_readv", "bpf", "kexec_load",
    ]

    package struct Rule {
        enum Kind: String { case watch, syscall, control }
        var kind: Kind
        var source: String
        var text: String
        var action = "always"
        var list = "exit"
        /// For watches: the watched path. For syscall rules: `dir=` or `path=` values.
        var path: String?
        var pathIsDir = false
        var perms = ""
        var syscalls: [String] = []
        var key: String?
        var filters: [String] = []
        /// `arch=` of a syscall rule, as auditctl reads it; without one, the native b64.
        var arch = "b64"
        var afterImmutable = false
        /// The line starts in column 0 (augenrules moves only such `-e`, `-D`, `-b`, `-f` lines
        /// under mawk, see `augenrulesOrder`).
        var atLineStart = true
        /// `-e N` for control rules.
        var enable: Int?

        /// A filter on the login uid makes the rule miss accesses by services (no login uid).
        var filtersLoginUID: Bool { filters.contains { $0.hasPrefix("auid") } }

        var json: JSON {
            var o: JSONObject = [
                "kind": .string(kind.rawValue), "source": .string(source), "text": .string(text),
                "after_immutable": .bool(afterImmutable),
            ]
            if kind != .control {
                o["action"] = .string(action)
                o["list"] = .string(list)
                o["perms"] = .string(perms)
                o["syscalls"] = .array(syscalls.map { .string($0) })
                o["filters"] = .array(filters.map { .string($0) })
                o["key"] = key.map { .string($0) } ?? .null
                if let path { o["path"] = .string(path) }
            }
            return .object(o)
        }
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var problems: [String] = []
        let ruleFiles: [String]
        do {
            // `ls -1v` without -a: hidden files are not compiled.
            ruleFiles = try root.list("/etc/audit/rules.d").filter { $0.hasSuffix(".rules") && !$0.hasPrefix(".") }
                .sorted { versionOrder($0, $1) < 0 }.map { "/etc/audit/rules.d/" + $0 }
        } catch {
            if !error.isNotFound { return ["audit_rules": .unavailable(.error(error.description))] }
            ruleFiles = []
        }
        var rules: [Rule] = []
        var compiled: [Rule] = []
        var sources: [String] = []
        if !ruleFiles.isEmpty {
            for file in ruleFiles {
                do { rules += parse(try root.readText(file), file: file, problems: &problems) } catch {
                    problems.append(error.description)
                }
            }
            // augenrules's awk patterns (`^\s*-e`) skip leading blanks only under gawk; Debian's
            // default awk is mawk, which has no `\s`, so there an indented line stays in place.
            let gawk = (try? root.readLink("/etc/alternatives/awk"))?.hasSuffix("gawk") == true
            rules = AuditRulesProbe.augenrulesOrder(rules, indentedToo: gawk)
            sources = ruleFiles
        }
        let loadedFile = "/etc/audit/audit.rules"
        var drift: String?
        if root.exists(loadedFile) {
            do {
                compiled = parse(try root.readText(loadedFile), file: loadedFile, problems: &problems)
            } catch {
                problems.append(error.description)
            }
            if ruleFiles.isEmpty {
                rules = compiled
                sources = [loadedFile]
            } else if compiled.map(\.text) != rules.map(\.text) {
                drift =
                    "\(loadedFile) differs from what augenrules compiles from rules.d (the rules.d files win at the next boot or `augenrules --load`)"
            }
        }
        let present = !sources.isEmpty
        if !present { sources = ["/etc/audit/rules.d"] }
        // auditctl turns a watch on a directory into a recursive `dir=` rule.
        for i in rules.indices where rules[i].kind == .watch {
            if let p = rules[i].path, root.isDirectory(p) { rules[i].pathIsDir = true }
        }
        // The kernel ignores every rule after `-e 2`.
        var immutable = false
        for i in rules.indices {
            if immutable { rules[i].afterImmutable = true }
            if rules[i].enable == 2 { immutable = true }
        }
        let effective = rules.filter { !$0.afterImmutable }
        let lastEnable = effective.last { $0.enable != nil }

        func coverage(_ path: String, isDirectory: Bool, needs: String) -> JSON {
            var item: JSONObject = ["path": .string(path), "needs": .string(needs)]
            if !problems.isEmpty {
                item["error"] = .string("audit rules have unparsable lines: \(problems.prefix(3).joined(separator: "; "))")
            }
            guard let rule = effective.first(where: { covers($0, path, isDirectory: isDirectory) }) else {
                item["covered"] = false
                item["source"] = .string(sources.first ?? loadedFile)
                item["reason"] = .string(present ? "no rule watches it" : "there are no audit rules")
                return .object(item)
            }
            let missing = needs.filter { !rule.perms.contains($0) }
            var reasons: [String] = []
            if rule.action == "never" { reasons.append("the first matching rule is a `never` rule") }
            if !missing.isEmpty { reasons.append("perm lacks \(String(missing))") }
            if rule.filtersLoginUID {
                reasons.append(
                    "filters on auid (\(rule.filters.filter { $0.hasPrefix("auid") }.joined(separator: ", "))), so reads by services are missed"
                )
            }
            item["covered"] = .bool(reasons.isEmpty)
            item["rule"] = .string(rule.text)
            item["source"] = .string(rule.source)
            item["key"] = rule.key.map { .string($0) } ?? .null
            item["reason"] = .string(reasons.isEmpty ? "covered by \(rule.source)" : reasons.joined(separator: "; "))
            return .object(item)
        }
        func isDir(_ p: String) -> Bool { root.isDirectory(p) }

        let weights = context.weights.paths.map { coverage($0, isDirectory: isDir($0), needs: "rw") }
        let canaries: [JSON] = (context.site?.canary ?? []).map { path in
            var item = coverage(path, isDirectory: false, needs: "r").objectValue ?? [:]
            let first = effective.first { covers($0, path, isDirectory: false) }
            // Its own rule: the first matching rule names exactly this file and has a key, so
            // the records of a read carry the canary's key and nothing else's.
            item["own_rule"] = .bool(first?.path == path && first?.key != nil)
            item["exists"] = .bool((try? root.info(path))?.kind == .regular)
            return .object(item)
        }
        let files = AuditRulesProbe.watchedFiles.map { coverage($0, isDirectory: isDir($0), needs: "wa") }
        let architecture = AuditRulesProbe.architecture(root)
        let arches = architecture == "x86_64" ? ["b64", "b32"] : ["b64"]
        let syscalls: [JSON] = AuditRulesProbe.watchedSyscalls.map { name in
            let found = arches.map { arch in
                (
                    arch,
                    effective.first {
                        $0.kind == .syscall && $0.action == "always" && $0.list == "exit" && $0.arch == arch
                            && ($0.syscalls.contains(name) || $0.syscalls.contains("all"))
                    }
                )
            }
            let missing = found.filter { $0.1 == nil }.map(\.0)
            let rule = found.lazy.compactMap(\.1).first
            var o: JSONObject = [
                "name": .string(name), "covered": .bool(missing.isEmpty), "source": .string(rule?.source ?? sources[0]),
                "arches": .array(arches.map { .string($0) }), "missing_arches": .array(missing.map { .string($0) }),
            ]
            if let rule { o["rule"] = .string(rule.text) }
            if !problems.isEmpty {
                o["error"] = .string("audit rules have unparsable lines: \(problems.prefix(3).joined(separator: "; "))")
            }
            return .object(o)
        }
        var fact: JSONObject = [
            "present": .bool(present),
            "architecture": .string(architecture),
            "source": .string(sources[0]),
            "files": .array(sources.map { .string($0) }),
            "rules": .array(rules.map(\.json)),
            "immutable": ["value": .bool(lastEnable?.enable == 2), "source": .string(lastEnable?.source ?? "no -e rule")],
            "ignored_after_immutable": .array(rules.filter(\.afterImmutable).map { .string($0.source) }),
            "weights": .array(weights),
            // With no weights location at all there is nothing a canary would sit beside: as
            // undecidable as the other weights controls, not a failure of this one.
            "canaries": canaries.isEmpty && weights.isEmpty
                ? ["error": "no weight locations registered or found, so there is no location a canary would watch"] : .array(canaries),
            "privileged_files": .array(files),
            "privileged_syscalls": .array(syscalls),
            "problems": .array(problems.map { .string($0) }),
        ]
        fact["drift"] = drift.map { .string($0) } ?? .null
        if let b = effective.last(where: { $0.text.hasPrefix("-b ") }) {
            fact["backlog_limit"] = ["value": .int(Int64(b.text.dropFirst(3).trimmed) ?? -1), "source": .string(b.source)]
        }
        return ["audit_rules": .value(.object(fact))]
    }

    /// What augenrules makes of the concatenated rules.d files: the last `-D`, `-b` and `-f`
    /// first (in that order), every other rule in order, the last `-e` at the end; earlier
    /// `-D`, `-b`, `-f` and `-e` lines are dropped.
    static func augenrulesOrder(_ rules: [Rule], indentedToo: Bool) -> [Rule] {
        var delete: Rule?
        var backlog: Rule?
        var failure: Rule?
        var enable: Rule?
        var rest: [Rule] = []
        for rule in rules {
            if !rule.atLineStart && !indentedToo {
                rest.append(rule)
            } else if rule.text.hasPrefix("-e") {
                enable = rule
            } else if rule.text == "-D" {
                delete = rule
            } else if rule.text.hasPrefix("-f") {
                failure = rule
            } else if rule.text.hasPrefix("-b") {
                backlog = rule
            } else {
                rest.append(rule)
            }
        }
        return [delete, backlog, failure].compactMap { $0 } + rest + [enable].compactMap { $0 }
    }

    /// The host's architecture, from the ELF header of its `env` binary (offline roots have no
    /// `uname`): "x86_64", "aarch64", another `e_machine` number, or "unknown".
    static func architecture(_ root: HostRoot) -> String {
        for path in ["/usr/bin/env", "/bin/sh"] {
            guard let header = try? root.readHead(path, count: 20), header.count >= 20,
                header[0] == 0x7F, header[1] == 0x45, header[2] == 0x4C, header[3] == 0x46
            else { continue }
            let machine = header[5] == 2 ? UInt16(header[18]) << 8 | UInt16(header[19]) : UInt16(header[19]) << 8 | UInt16(header[18])
            switch machine {
            case 0x3E: return "x86_64"
            case 0xB7: return "aarch64"
            default: return "e_machine \(machine)"
            }
        }
        return "unknown"
    }

    /// Whether `rule` applies to accesses of `path`: a watch or `dir=` on the path or an ancestor
    /// directory, or `path=` equal to it.
    func covers(_ rule: Rule, _ path: String, isDirectory: Bool) -> Bool {
        guard rule.kind != .control, let target = rule.path, rule.list == "exit" else { return false }
        let normalized = target.count > 1 && target.hasSuffix("/") ? String(target.dropLast()) : target
        if normalized == path { return true }
        guard rule.pathIsDir else { return false }
        return path.hasPrefix(normalized == "/" ? "/" : normalized + "/")
    }

    /// Parses auditctl rule lines. Unknown or malformed lines are reported with file:line.
    package func parse(_ text: String, file: String, problems: inout [String]) -> [Rule] {
        var rules: [Rule] = []
        let raw = lines(text)
        for (number, line) in configLines(text) {
            let here = "\(file):\(number)"
            let tokens = line.words.map(String.init)
            var rule = Rule(kind: .control, source: here, text: tokens.joined(separator: " "))
            rule.atLineStart = raw[number - 1].first.map { $0 != " " && $0 != "\t" } ?? true
            var i = 0
            var ok = true
            func next() -> String? {
                i += 1
                return i < tokens.count ? tokens[i] : nil
            }
            while i < tokens.count, ok {
                let t = tokens[i]
                switch t {
                case "-w":
                    guard let p = next() else {
                        ok = false
                        break
                    }
                    rule.kind = .watch
                    rule.path = p
                    rule.pathIsDir = p.hasSuffix("/")
                    rule.perms = "rwxa"
                case "-p":
                    guard let p = next(), p.allSatisfy({ "rwxa".contains($0) }) else {
                        ok = false
                        break
                    }
                    rule.perms = p
                case "-k":
                    guard let k = next() else {
                        ok = false
                        break
                    }
                    rule.key = k
                case "-a", "-A":
                    guard let spec = next() else {
                        ok = false
                        break
                    }
                    let parts = spec.split(separator: ",").map(String.init)
                    guard parts.count == 2 else {
                        ok = false
                        break
                    }
                    let (a, l) = ["always", "never"].contains(parts[0]) ? (parts[0], parts[1]) : (parts[1], parts[0])
                    guard ["always", "never"].contains(a), ["exit", "task", "user", "exclude", "filesystem", "io_uring"].contains(l) else {
                        ok = false
                        break
                    }
                    rule.kind = .syscall
                    rule.action = a
                    rule.list = l
                    rule.perms = ""
                case "-S":
                    guard let s = next() else {
                        ok = false
                        break
                    }
                    rule.syscalls += s.split(separator: ",").map(String.init)
                case "-F":
                    guard let f = next() else {
                        ok = false
                        break
                    }
                    if f.hasPrefix("dir=") {
                        rule.path = String(f.dropFirst(4))
                        rule.pathIsDir = true
                    } else if f.hasPrefix("path=") {
                        rule.path = String(f.dropFirst(5))
                    } else if f.hasPrefix("perm=") {
                        rule.perms = String(f.dropFirst(5))
                    } else if f.hasPrefix("key=") {
                        rule.key = String(f.dropFirst(4))
                    } else if f.hasPrefix("arch=") {
                        // auditctl's names for the two x86/arm ABIs (b64/b32 and their machine names).
                        let a = String(f.dropFirst(5))
                        rule.arch =
                            ["b64", "x86_64", "aarch64"].contains(a) ? "b64" : ["b32", "i386", "i686", "arm"].contains(a) ? "b32" : a
                        rule.filters.append(f)
                    } else {
                        rule.filters.append(f)
                    }
                case "-e":
                    guard let v = next(), let n = Int(v), (0...2).contains(n) else {
                        ok = false
                        break
                    }
                    rule.enable = n
                case "-D", "-b", "-f", "-r", "--backlog_wait_time", "--loginuid-immutable", "-c", "-i", "--reset-lost":
                    // Control rules; their arguments follow.
                    if ["-b", "-f", "-r", "--backlog_wait_time"].contains(t) {
                        guard next() != nil else {
                            ok = false
                            break
                        }
                    }
                default:
                    ok = false
                }
                i += 1
            }
            if !ok || (rule.kind == .watch && rule.path?.hasPrefix("/") != true) {
                problems.append("\(here): cannot parse audit rule '\(line)'")
                continue
            }
            rules.append(rule)
        }
        return rules
    }
}
