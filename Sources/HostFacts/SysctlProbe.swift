public import WardenCore

/// Kernel parameters as they are now (`/proc/sys`) and as they will be after the next boot (the
/// `sysctl.d` files), merged the way systemd-sysctl does it (CONTROLS.md §1): `*.conf` from
/// /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d,
/// sorted by file name across directories, a same-named file in an earlier directory masking the
/// later ones, later assignments winning. /etc/sysctl.conf counts only through the usual
/// /etc/sysctl.d/99-sysctl.conf link; where procps' `sysctl --system` (which reads it last) would
/// end with another value, the evidence says so.
///
/// For each key Warden checks, the fact holds `values`: the runtime value (live) and the
/// persistent value, each with its source. A control passes only when every entry satisfies it;
/// a key no file sets has a persistent entry whose value is null, which satisfies nothing.
public struct SysctlProbe: Probe {
    public init() {}
    public let name = "sysctl"
    public let summary = "kernel parameters: runtime /proc/sys and persistent sysctl.d, in systemd-sysctl's order"
    public let reads = ["/proc/sys/<key>", "/etc/sysctl.d/*.conf", "/run/sysctl.d/*.conf", "/usr/local/lib/sysctl.d/*.conf",
                        "/usr/lib/sysctl.d/*.conf", "/lib/sysctl.d/*.conf", "/etc/sysctl.conf"]
    public let produces = ["sysctl"]

    static let directories = ["/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"]

    /// The keys controls check. A control naming another key finds no value (an error, not a pass).
    public static let keys = [
        "kernel.yama.ptrace_scope", "kernel.kptr_restrict", "kernel.dmesg_restrict", "kernel.unprivileged_bpf_disabled",
        "kernel.perf_event_paranoid", "net.core.bpf_jit_harden", "kernel.kexec_load_disabled", "kernel.core_pattern",
        "fs.suid_dumpable", "vm.unprivileged_userfaultfd", "user.max_user_namespaces", "kernel.sysrq",
        "fs.protected_hardlinks", "fs.protected_symlinks", "kernel.randomize_va_space", "kernel.modules_disabled",
    ]

    package struct Assignment {
        package var value: String
        package var source: String
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var problems: [String] = []
        let files = root.dropInFiles(in: SysctlProbe.directories, problems: &problems)
        var systemd: [String: Assignment] = [:]
        for file in files { apply(file: file, root: root, into: &systemd, problems: &problems) }
        // procps reads /etc/sysctl.conf last, whether or not 99-sysctl.conf links to it.
        var procps = systemd
        if root.exists("/etc/sysctl.conf") { apply(file: "/etc/sysctl.conf", root: root, into: &procps, problems: &problems) }

        let hasProcSys = root.isDirectory("/proc/sys")
        var tree: JSONObject = [:]
        for key in SysctlProbe.keys {
            var values: [JSON] = []
            if hasProcSys {
                let path = "/proc/sys/" + key.replacingDots()
                do {
                    let raw = try root.readText(path, limit: 65536)
                    values.append(["value": SysctlProbe.typed(String(raw.trimmed)), "source": .string("\(path) (runtime)")])
                } catch {
                    if error.isNotFound {
                        values.append(["value": .null, "source": .string("\(path) (runtime): not present in this kernel")])
                    } else {
                        values.append(["source": .string(path), "error": .string(error.description)])
                    }
                }
            }
            var persistent: JSON = ["value": .null, "source": "not set in any sysctl.d file (persistent)"]
            if let a = systemd[key] {
                var source = "\(a.source) (persistent\(hasProcSys ? "" : "; offline root: no runtime value, decided on this alone"))"
                if let p = procps[key], p.value != a.value {
                    source += "; note: `sysctl --system` would end with \(p.value) from \(p.source)"
                }
                persistent = ["value": SysctlProbe.typed(a.value), "source": .string(source)]
            } else if let p = procps[key] {
                persistent = ["value": .null, "source": .string("not applied at boot by systemd-sysctl (only \(p.source), which procps reads but systemd-sysctl does not)")]
            }
            // Not set in any file that could be read, where one could not: the persistent value is
            // unknown, not "not set" (the problems below say why).
            if systemd[key] != nil || problems.isEmpty { values.append(persistent) }
            // A line systemd-sysctl could not parse may have been meant for this key: undecided.
            for problem in problems { values.append(["source": .string("sysctl configuration"), "error": .string(problem)]) }
            tree.insert(["values": .array(values)], at: key.split(separator: ".").map(String.init))
        }
        var fact = tree
        fact["files"] = .array(files.map { .string($0) })
        fact["problems"] = .array(problems.map { .string($0) })
        fact["runtime_available"] = .bool(hasProcSys)
        return ["sysctl": .value(.object(fact))]
    }

    func apply(file: String, root: HostRoot, into values: inout [String: Assignment], problems: inout [String]) {
        // /etc/sysctl.conf itself may be linked to /dev/null: it then sets nothing.
        if root.isMasked(file) { return }
        let text: String
        do { text = try root.readText(file) } catch {
            problems.append(error.description)
            return
        }
        SysctlProbe.parse(text, file: file, into: &values, problems: &problems)
    }

    /// Applies the `key = value` lines of one sysctl.d file: `#` and `;` start comments, a
    /// leading `-` only makes a failed write non-fatal, a later assignment replaces an earlier one.
    package static func parse(_ text: String, file: String, into values: inout [String: Assignment], problems: inout [String]) {
        for (number, line) in configLines(text, comments: ["#", ";"]) {
            var l = line
            if l.first == "-" { l = l.dropFirst() }
            guard let eq = l.firstIndex(of: "=") else {
                problems.append("\(file):\(number): not a `key = value` line")
                continue
            }
            let key = SysctlProbe.normalize(String(l[..<eq].trimmed))
            let value = l[l.index(after: eq)...].trimmed.words.joined(separator: " ")
            guard !key.isEmpty else {
                problems.append("\(file):\(number): empty key")
                continue
            }
            values[key] = Assignment(value: value, source: "\(file):\(number)")
        }
    }

    /// `kernel/yama/ptrace_scope` → `kernel.yama.ptrace_scope` (sysctl.d(5): when the first
    /// separator is a slash, slashes and dots swap).
    static func normalize(_ key: String) -> String {
        guard let first = key.firstIndex(where: { $0 == "." || $0 == "/" }), key[first] == "/" else { return key }
        return String(key.map { $0 == "/" ? "." : $0 == "." ? "/" : $0 })
    }

    /// Integers as integers (so `gte` works), anything else as the trimmed string.
    static func typed(_ value: String) -> JSON {
        if let i = Int64(value) { return .int(i) }
        return .string(value)
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}

extension JSONObject {
    /// Inserts `value` at a nested key path, creating objects on the way.
    mutating func insert(_ value: JSON, at path: [String]) {
        guard let first = path.first else { return }
        if path.count == 1 { self[first] = value; return }
        var child = self[first]?.objectValue ?? [:]
        child.insert(value, at: Array(path.dropFirst()))
        self[first] = .object(child)
    }
}
