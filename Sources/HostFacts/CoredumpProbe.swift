public import WardenCore
internal import WardenFormats

/// What decides whether a crash can write process memory (and so weights) to disk, beside the
/// `kernel.core_pattern` and `fs.suid_dumpable` sysctls: systemd-coredump's `[Coredump]`
/// settings (with drop-ins) and the hard `core` limit of pam_limits (/etc/security/limits.conf,
/// then /etc/security/limits.d/*.conf in order; the last `*` entry wins).
public struct CoredumpProbe: Probe {
    public init() {}
    public let name = "coredump"
    public let summary = "coredump.conf and drop-ins ([Coredump] Storage, ProcessSizeMax), hard core limits in limits.conf and limits.d"
    public let reads = [
        "/etc/systemd/coredump.conf", "/etc/systemd/coredump.conf.d/*.conf", "/run/systemd/coredump.conf.d/*.conf",
        "/usr/local/lib/systemd/coredump.conf.d/*.conf", "/usr/lib/systemd/coredump.conf.d/*.conf",
        "/lib/systemd/coredump.conf.d/*.conf",
        "/etc/security/limits.conf", "/etc/security/limits.d/*.conf",
    ]
    public var facts: [String: FactType] {
        [
            "coredump": .object([
                "source": .string, "files": .strings, "unread": .strings, "ignored": .strings,
                "storage": .sourced(.string), "process_size_max": .sourced(.int),
                // A number, `unlimited`, or the text as written; null when no line sets it.
                "hard_core_limit": .sourced(.optional(.oneOf([.int, .string]))),
            ])
        ]
    }

    /// The keys of systemd-coredump 252's [Coredump] section (coredump.c, parse_config).
    static let keys: Set<String> = ["Storage", "Compress", "ProcessSizeMax", "ExternalSizeMax", "JournalSizeMax", "KeepFree", "MaxUse"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let conf = SystemdConf.read(
            root: root, name: "coredump.conf", section: "Coredump",
            valid: [
                "Storage": { ["none", "external", "journal"].contains($0) },
                "ProcessSizeMax": { SystemdConf.parseSize($0) != nil },
            ],
            known: CoredumpProbe.keys)
        if !conf.errors.isEmpty { return ["coredump": .unavailable(.error(conf.errors.joined(separator: "; ")))] }
        let storage = conf.value("Storage", default: "external")
        let sizeMax = conf.value("ProcessSizeMax", default: "2G")
        var fact: JSONObject = [
            "source": "/etc/systemd/coredump.conf",
            "files": .array(conf.files.map { .string($0) }),
            "unread": .array(conf.unread.map { .string($0) }),
            "storage": storage.json,
            "process_size_max": [
                "value": .int(SystemdConf.parseSize(sizeMax.value).map { Int64(clamping: $0) } ?? -1), "source": .string(sizeMax.source),
            ],
            "ignored": .array(conf.ignored.map { .string($0) }),
        ]
        // pam_limits: limits.conf first, then limits.d/*.conf in lexical order.
        var files = ["/etc/security/limits.conf"]
        if let extra = try? root.glob("/etc/security/limits.d/*.conf") { files += extra }
        var hardCore: JSON = ["value": .null, "source": "no `* hard core` limit in limits.conf or limits.d"]
        var problems: [String] = []
        for file in files where root.exists(file) {
            let text: String
            do { text = try root.readText(file) } catch {
                problems.append(error.description)
                continue
            }
            for (number, line) in configLines(text) {
                let w = line.words
                guard w.count == 4 else {
                    problems.append("\(file):\(number): expected `domain type item value`")
                    continue
                }
                guard w[0] == "*", w[2] == "core", w[1] == "hard" || w[1] == "-" else { continue }
                let value: JSON =
                    ["unlimited", "infinity", "-1"].contains(String(w[3]))
                    ? "unlimited" : (Int64(w[3]).map { .int($0) } ?? .string(String(w[3])))
                hardCore = ["value": value, "source": .string("\(file):\(number)")]
            }
        }
        if !problems.isEmpty { hardCore = ["error": .string(problems.joined(separator: "; ")), "source": "/etc/security/limits.conf"] }
        fact["hard_core_limit"] = hardCore
        return ["coredump": .value(.object(fact))]
    }
}
