internal import SystemdJournal
public import WardenCore
internal import WardenFormats

/// systemd-journald: effective `Storage=` and `Seal=` ([Journal] with drop-ins), whether
/// /var/log/journal exists, the forward-secure sealing key, and, on a live host, whether the
/// journal (opened with libsystemd) holds entries of the current boot.
public struct JournaldProbe: Probe {
    public init() {}
    public let name = "journald"
    public let summary =
        "journald.conf and drop-ins ([Journal] Storage, Seal), /var/log/journal, FSS key, entries of this boot (libsystemd)"
    public let reads = [
        "/etc/systemd/journald.conf", "/etc/systemd/journald.conf.d/*.conf", "/run/systemd/journald.conf.d/*.conf",
        "/usr/local/lib/systemd/journald.conf.d/*.conf", "/usr/lib/systemd/journald.conf.d/*.conf",
        "/lib/systemd/journald.conf.d/*.conf",
        "/var/log/journal/<machine-id>/", "/etc/machine-id", "/proc/sys/kernel/random/boot_id",
    ]
    public var facts: [String: FactType] {
        [
            "journald": .object([
                "source": .string, "files": .strings, "unread": .strings, "ignored": .strings,
                "storage": .sourced(.string), "seal": .sourced(.bool), "journal_directory": .sourced(.bool),
                "persistent": .sourced(.bool), "fss_key": .sourced(.bool), "entries_this_boot": .sourced(.bool),
            ])
        ]
    }

    static let storageValues: Set<String> = ["volatile", "persistent", "auto", "none"]
    /// The keys of journald 252's [Journal] section (journald-gperf.gperf): others are ignored.
    static let keys: Set<String> = [
        "Storage", "Compress", "Seal", "ReadKMsg", "Audit", "SyncIntervalSec", "RateLimitInterval", "RateLimitIntervalSec",
        "RateLimitBurst", "SystemMaxUse", "SystemMaxFileSize", "SystemKeepFree", "SystemMaxFiles", "RuntimeMaxUse",
        "RuntimeMaxFileSize", "RuntimeKeepFree", "RuntimeMaxFiles", "MaxRetentionSec", "MaxFileSec", "ForwardToSyslog",
        "ForwardToKMsg", "ForwardToConsole", "ForwardToWall", "TTYPath", "MaxLevelStore", "MaxLevelSyslog", "MaxLevelKMsg",
        "MaxLevelConsole", "MaxLevelWall", "SplitMode", "LineMax",
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let conf = SystemdConf.read(
            root: root, name: "journald.conf", section: "Journal",
            valid: ["Storage": { JournaldProbe.storageValues.contains($0) }, "Seal": SystemdConf.isBool],
            known: JournaldProbe.keys)
        if !conf.errors.isEmpty { return ["journald": .unavailable(.error(conf.errors.joined(separator: "; ")))] }
        let storage = conf.value("Storage", default: "auto")
        let seal = conf.value("Seal", default: "yes")
        let journalDir = root.isDirectory("/var/log/journal")
        let persistent = storage.value == "persistent" || (storage.value == "auto" && journalDir)
        let machineID = (try? root.readText("/etc/machine-id", limit: 4096)).map { String($0.trimmed) } ?? ""
        // journald keeps the sealing key under the machine id; without one there is no key to find.
        let fssPath = machineID.isEmpty ? "/var/log/journal/MACHINE_ID/fss (no /etc/machine-id)" : "/var/log/journal/\(machineID)/fss"
        var fact: JSONObject = [
            "source": "/etc/systemd/journald.conf",
            "files": .array(conf.files.map { .string($0) }),
            "unread": .array(conf.unread.map { .string($0) }),
            "storage": storage.json,
            "seal": ["value": .bool(SystemdConf.parseBool(seal.value) ?? false), "source": .string(seal.source)],
            "journal_directory": ["value": .bool(journalDir), "source": "/var/log/journal"],
            "persistent": [
                "value": .bool(persistent),
                "source": .string(
                    "\(storage.source) (Storage=\(storage.value)\(storage.value == "auto" ? (journalDir ? ", /var/log/journal exists" : ", no /var/log/journal") : ""))"
                ),
            ],
            "fss_key": ["value": .bool(!machineID.isEmpty && (try? root.info(fssPath))?.kind == .regular), "source": .string(fssPath)],
            "ignored": .array(conf.ignored.map { .string($0) }),
        ]
        fact["entries_this_boot"] = entriesThisBoot(context, journalDir: journalDir)
        return ["journald": .value(.object(fact))]
    }

    /// Live only: opens the journal with libsystemd and looks for an entry of the current boot.
    func entriesThisBoot(_ context: ProbeContext, journalDir: Bool) -> JSON {
        let root = context.root
        guard context.mode == .live else {
            return [
                "not_applicable": "offline root: the current boot's entries are checked only on a live host", "source": "/var/log/journal",
            ]
        }
        guard journalDir, let resolved = try? root.resolve("/var/log/journal") else {
            return ["value": false, "source": "/var/log/journal (absent: the journal is not persistent)"]
        }
        guard let bootID = try? String(root.readText("/proc/sys/kernel/random/boot_id", limit: 4096).trimmed) else {
            return ["error": "cannot read /proc/sys/kernel/random/boot_id", "source": "/proc/sys/kernel/random/boot_id"]
        }
        do {
            let journal = try Journal(directory: root.hostPath(resolved))
            let n = try journal.countEntries(bootID: bootID, limit: 1)
            return ["value": .bool(n > 0), "source": .string("/var/log/journal (_BOOT_ID=\(bootID))")]
        } catch {
            return ["error": .string(error.description), "source": "/var/log/journal"]
        }
    }
}
