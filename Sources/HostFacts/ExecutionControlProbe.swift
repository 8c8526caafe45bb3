public import WardenCore
internal import WardenFormats

/// What may run on the host (INT-007, RAND SL3 "problematic software is blocklisted", SL4
/// "strict application allowlisting"): the site's denylist against dpkg's database and the PATH
/// directories, fapolicyd's configuration and rules as fapolicyd 1.3 reads them, and IMA
/// appraisal rules (docs/DAEMON-SEMANTICS.md, "fapolicyd and IMA appraisal").
public struct ExecutionControlProbe: Probe {
    public init() {}
    public let name = "execution"
    public let summary = "the site's software denylist (dpkg, PATH), fapolicyd's mode, unit and rules, IMA appraise rules"
    public let reads = [
        AttackSurfaceProbe.dpkgStatus, "/usr/local/sbin/*", "/usr/local/bin/*", "/usr/sbin/*", "/usr/bin/*", "/sbin/*", "/bin/*",
        ExecutionControlProbe.fapolicydConf, "/etc/fapolicyd/rules.d/*.rules", "/etc/fapolicyd/compiled.rules",
        "/etc/fapolicyd/fapolicyd.rules", SystemdUnits.enablingLinks("fapolicyd.service"), ExecutionControlProbe.imaPolicy,
        "/proc/cmdline", "/etc/default/grub",
    ]
    public var facts: [String: FactType] {
        [
            "execution": .object([
                "denylist": .object([
                    "names": .strings,
                    "packages": .list(.object(["package": .string, "status": .string, "version": .string, "source": .string])),
                    "executables": .list(.object(["name": .string, "path": .string])),
                ]),
                "fapolicyd": .object([
                    "enabled": .sourced(.bool), "permissive": .sourced(.bool), "execute_denied": .sourced(.bool),
                    "rules_files": .strings,
                ]),
                "ima": .object(["appraise_rule": .sourced(.bool)]),
            ])
        ]
    }

    static let fapolicydConf = "/etc/fapolicyd/fapolicyd.conf"
    static let imaPolicy = "/etc/ima/ima-policy"
    /// The directories of Debian's default PATH for root (/etc/login.defs ENV_SUPATH), where a
    /// name typed at a shell is found.
    static let pathDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let fact: JSONObject = [
            "denylist": .object(ExecutionControlProbe.denylist(context)),
            "fapolicyd": .object(ExecutionControlProbe.fapolicyd(context.root, units: context.units)),
            "ima": ["appraise_rule": ExecutionControlProbe.imaAppraise(context)],
        ]
        return ["execution": .value(.object(fact))]
    }

    // MARK: the site's denylist

    static func denylist(_ context: ProbeContext) -> JSONObject {
        let names = context.site?.softwareDenylist ?? []
        var out: JSONObject = ["names": .array(names.map { .string($0) })]
        let wanted = Set(names)
        switch AttackSurfaceProbe.packageStates(context.root) {
        case .success(let states):
            out["packages"] = .array(
                states.filter { wanted.contains($0.package) }.map {
                    [
                        "package": .string($0.package), "status": .string($0.status), "version": .string($0.version),
                        "source": .string(AttackSurfaceProbe.dpkgStatus),
                    ]
                })
        case .failure(let e):
            out["packages"] = ["error": .string(e.reason), "source": .string(AttackSurfaceProbe.dpkgStatus)]
        }
        // On a merged-/usr root /bin and /usr/bin are one directory: each file is named once, by
        // the first PATH directory that reaches it.
        var found: [JSON] = []
        for name in names {
            // Per name: another name linked to the same program is found under its own name.
            var seen: Set<String> = []
            for dir in pathDirectories {
                let path = "\(dir)/\(name)"
                let info: FileInfo
                do { info = try context.root.info(path) } catch {
                    if error.isNotFound { continue }
                    out["executables"] = ["error": .string(error.description), "source": .string(path)]
                    return out
                }
                guard info.kind == .regular, info.mode & 0o111 != 0 else { continue }
                let resolved = (try? context.root.resolve(path)) ?? path
                if seen.insert(resolved).inserted { found.append(["name": .string(name), "path": .string(path)]) }
            }
        }
        out["executables"] = .array(found)
        return out
    }

    // MARK: fapolicyd

    static func fapolicyd(_ root: HostRoot, units: SystemdUnits) -> JSONObject {
        var out: JSONObject = ["enabled": units.enabledFact("fapolicyd.service")]
        out["permissive"] = permissive(root)
        switch rules(root) {
        case .success(let r):
            out["rules_files"] = .array(r.files.map { .string($0) })
            out["execute_denied"] = r.executeDenied
        case .failure(let e):
            out["rules_files"] = ["error": .string(e.reason)]
            out["execute_denied"] = ["error": .string(e.reason)]
        }
        return out
    }

    /// `permissive` as fapolicyd 1.3's daemon-config.c reads fapolicyd.conf: each line split at
    /// spaces into `name`, `=`, `value`; a first word starting with `#` is a comment; a line of
    /// 159 characters or more is skipped; names compare exactly. The last `permissive` wins: 0
    /// enforces, any larger number means 1 (only log). A value that is not digits, or a line
    /// without the `=` word, stops the daemon: `error` naming the line. No file: the default, 0.
    static func permissive(_ root: HostRoot) -> JSON {
        let text: String
        do { text = try root.readText(fapolicydConf, limit: 1 << 20) } catch {
            if error.isNotFound {
                return ["value": false, "source": .string("\(fapolicydConf) (absent: fapolicyd's default, 0)")]
            }
            return ["error": .string(error.description), "source": .string(fapolicydConf)]
        }
        var result: JSON = ["value": false, "source": .string("\(fapolicydConf) (permissive not set: fapolicyd's default, 0)")]
        for (index, line) in lines(text).enumerated() where line.utf8.count < 159 {
            let words = line.split(separator: " ")
            guard let name = words.first, !name.hasPrefix("#") else { continue }
            let here = "\(fapolicydConf):\(index + 1)"
            func refused(_ why: String) -> JSON {
                ["error": .string("\(here): \(why) (fapolicyd would not start)"), "source": .string(here)]
            }
            guard words.count >= 3, words[1] == "=" else { return refused("expected 'name = value' with spaces around '='") }
            if name != "permissive" {
                if name.lowercased() == "permissive" { return refused("unknown keyword '\(name)' (names are case-sensitive)") }
                continue
            }
            let value = words[2]
            guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return refused("permissive: expected a number, found '\(value)'")
            }
            result = ["value": .bool(value.contains { $0 != "0" }), "source": .string(here)]
        }
        return result
    }

    struct RulesError: Error { var reason: String }

    /// fapolicyd.rules(5)'s decisions: every one with `deny` denies, every one with `allow` allows.
    static let decisions: Set<Substring> = [
        "allow", "deny", "allow_audit", "deny_audit", "allow_syslog", "deny_syslog", "allow_log", "deny_log",
    ]

    /// The rules fapolicyd loads at its next start: the unit runs `fagenrules` first, which
    /// concatenates /etc/fapolicyd/rules.d/*.rules in `ls -v` order into compiled.rules; without
    /// rules.d files, compiled.rules as it is; older setups keep one fapolicyd.rules. The first
    /// rule that matches decides (fapolicyd.rules(5)), so execution is denied by default when a
    /// `deny*` rule for `execute` or `any` covers subject `all` and object `all`, and no rule
    /// before it allows execution the same way.
    static func rules(_ root: HostRoot) -> Result<(files: [String], executeDenied: JSON), RulesError> {
        var files: [String]
        do {
            files = try root.glob("/etc/fapolicyd/rules.d/*.rules").sorted { versionOrder($0, $1) < 0 }
        } catch {
            if !error.isNotFound { return .failure(RulesError(reason: error.description)) }
            files = []
        }
        if files.isEmpty {
            // The daemon prefers compiled.rules and falls back to the deprecated single file.
            files = ["/etc/fapolicyd/compiled.rules", "/etc/fapolicyd/fapolicyd.rules"].first(where: root.exists).map { [$0] } ?? []
        }
        guard !files.isEmpty else {
            return .success(([], ["value": false, "source": "no fapolicyd rules (rules.d/*.rules, compiled.rules, fapolicyd.rules)"]))
        }
        for file in files {
            let text: String
            do { text = try root.readText(file, limit: 4 << 20) } catch { return .failure(RulesError(reason: error.description)) }
            for (number, line) in configLines(text) {
                // `%name=a,b` defines a set for later rules.
                if line.hasPrefix("%") { continue }
                let words = line.words
                guard let colon = words.firstIndex(of: ":") else {
                    return .failure(RulesError(reason: "\(file):\(number): a rule needs ':' between subject and object"))
                }
                let decision = words[0]
                guard decisions.contains(decision) else {
                    return .failure(RulesError(reason: "\(file):\(number): unknown decision '\(decision)'"))
                }
                // rules.c (nv_split) takes `perm=` only as the first field after the decision;
                // anywhere else it is an unknown subject field and the rules do not load.
                var subject = Array(words[1..<colon])
                var perm: Substring = "open"
                if let p = subject.first, p.hasPrefix("perm=") {
                    perm = subject.removeFirst().dropFirst(5)
                }
                guard perm == "open" || perm == "execute" || perm == "any" else {
                    return .failure(RulesError(reason: "\(file):\(number): perm: expected open, execute or any, found '\(perm)'"))
                }
                if subject.contains(where: { $0.hasPrefix("perm=") }) {
                    return .failure(RulesError(reason: "\(file):\(number): perm= must come right after the decision"))
                }
                let object = Array(words[(colon + 1)...])
                guard perm != "open", subject == ["all"], object == ["all"] else { continue }
                let source = JSON.string("\(file):\(number)")
                return .success((files, ["value": .bool(decision.hasPrefix("deny")), "source": source]))
            }
        }
        return .success(
            (files, ["value": false, "source": .string("\(files.joined(separator: ", ")) (no rule denies execute for all : all)")]))
    }

    // MARK: IMA appraisal

    /// Whether IMA has a rule that appraises what is executed. systemd 252 loads
    /// /etc/ima/ima-policy into the kernel at boot when it exists (ima-setup.c), and then that
    /// policy replaces the built-in one; otherwise the command line's built-in `ima_policy=appraise_tcb`
    /// (or the older flag `ima_appraise_tcb`) appraises every file root owns, executables included.
    /// A policy rule counts when its action is `appraise` and it names no `func=` (every hook) or
    /// `func=BPRM_CHECK` or `func=MMAP_CHECK` (execution and executable mappings).
    static func imaAppraise(_ context: ProbeContext) -> JSON {
        let root = context.root
        if root.exists(imaPolicy) {
            let text: String
            do { text = try root.readText(imaPolicy, limit: 1 << 20) } catch {
                return ["error": .string(error.description), "source": .string(imaPolicy)]
            }
            for (number, line) in configLines(text) {
                let words = line.words
                guard words.first == "appraise" else { continue }
                let funcs = words.filter { $0.hasPrefix("func=") }
                if funcs.isEmpty || funcs.contains("func=BPRM_CHECK") || funcs.contains("func=MMAP_CHECK") {
                    return ["value": true, "source": .string("\(imaPolicy):\(number)")]
                }
            }
            return ["value": false, "source": .string("\(imaPolicy) (no appraise rule for execution)")]
        }
        guard case .value(let cmdline)? = KernelCmdlineProbe().collect(context)["cmdline"],
            case .object(let parameters)? = cmdline["parameters"]
        else {
            return ["not_checked": "the kernel command line could not be read", "source": "/proc/cmdline"]
        }
        let source = cmdline["source"]?.stringValue ?? "/proc/cmdline"
        var builtIn = parameters["ima_appraise_tcb"] == .bool(true)
        if case .string(let policies)? = parameters["ima_policy"] {
            builtIn = builtIn || policies.split(separator: "|").contains("appraise_tcb")
        }
        return ["value": .bool(builtIn), "source": .string("\(source) (no \(imaPolicy); ima_policy=appraise_tcb or ima_appraise_tcb)")]
    }
}
