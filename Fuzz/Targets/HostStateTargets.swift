internal import HostFacts
internal import OpenSSLSigning
internal import WardenCore
internal import WardenFormats

/// Fuzz targets for the parsers of the host state issue 18's controls read: the TPM event log
/// (INT-004), fapolicyd's configuration and rules (INT-007), /proc/cpuinfo (ENC-009) and unit
/// files with their drop-ins (ACC-013). Each checks what the facts it makes must say of any
/// input, beyond not crashing.
enum HostStateTargets {
    /// A crypto-agile log: every event has a digest of declared size for banks the Spec ID event
    /// declared only, at increasing offsets, for one of the 24 PCRs; a replay extends each PCR
    /// once per event that is not EV_NO_ACTION, to 32 bytes, and gives the same values twice.
    static func tpmEventLog(_ bytes: [UInt8]) throws(InvariantViolation) {
        guard let log = try? TPMEventLog(bytes) else { return }
        var previous = -1
        for event in log.events {
            try require(event.offset > previous && event.offset < bytes.count, "event at byte \(event.offset) after \(previous)")
            previous = event.offset
            try require((0..<24).contains(event.pcr), "PCR \(event.pcr)")
            for (alg, digest) in event.digests {
                try require(log.banks[alg] == digest.count, "a digest of \(digest.count) bytes for bank 0x\(String(alg, radix: 16))")
            }
        }
        guard let replayed = try? log.replaySHA256() else { return }
        let extended = log.events.filter { $0.type != TPMEventLog.evNoAction }.count
        try require(replayed.values.map(\.events).reduce(0, +) == extended, "\(extended) events extended, replay counts otherwise")
        try require(replayed.values.allSatisfy { $0.value.count == 32 }, "a SHA-256 PCR that is not 32 bytes")
        let again = try? log.replaySHA256()
        try require(again?.mapValues(\.value) == replayed.mapValues(\.value), "two replays of one log differ")
    }

    static let fapolicydRoot = ScratchRoot(files: [
        "/etc/fapolicyd/fapolicyd.conf": "permissive = 0\nnice_val = 14\n",
        "/etc/fapolicyd/rules.d/10-languages.rules": "%languages=application/x-bytecode.python,text/x-python\n",
        "/etc/fapolicyd/rules.d/90-deny-execute.rules": "deny_audit perm=execute all : all\n",
    ])

    /// The input as fapolicyd.conf: `permissive` is a boolean with its line, or an error naming
    /// the line fapolicyd stops at.
    static func fapolicydConf(_ bytes: [UInt8]) throws(InvariantViolation) {
        let context = fapolicydRoot.context(writing: bytes, to: "/etc/fapolicyd/fapolicyd.conf")
        let fapolicyd = try execution(context)["fapolicyd"]
        let permissive = fapolicyd?["permissive"]
        let source = permissive?["source"]?.stringValue ?? ""
        try require(source.hasPrefix("/etc/fapolicyd/fapolicyd.conf"), "permissive from \(source)")
        if let error = permissive?["error"]?.stringValue {
            try require(error.hasPrefix(source + ": "), "an error that does not start with its line: \(error)")
            try require(line(of: source, in: bytes) != nil, "an error naming no line of the file: \(source)")
        } else {
            try require(permissive?["value"]?.boolValue != nil, "permissive without a value: \(String(describing: permissive))")
        }
    }

    /// The input as a rules.d file between two others (fagenrules order): a rule that denies
    /// execution by default is a `deny*` line of a file that is read, and every file read is one
    /// of rules.d's.
    static func fapolicydRules(_ bytes: [UInt8]) throws(InvariantViolation) {
        let file = "/etc/fapolicyd/rules.d/50-fuzz.rules"
        let context = fapolicydRoot.context(writing: bytes, to: file)
        let fapolicyd = try execution(context)["fapolicyd"]
        let files = fapolicyd?["rules_files"]?.arrayValue?.compactMap(\.stringValue)
        let denied = fapolicyd?["execute_denied"]
        if let error = denied?["error"]?.stringValue {
            try require(error.hasPrefix(file + ":"), "an error outside the fuzzed file: \(error)")
            return
        }
        try require(
            files == ["/etc/fapolicyd/rules.d/10-languages.rules", file, "/etc/fapolicyd/rules.d/90-deny-execute.rules"],
            "rules files \(String(describing: files))")
        let source = denied?["source"]?.stringValue ?? ""
        guard denied?["value"] == true else {
            try require(denied?["value"] == false, "execute_denied without a value: \(String(describing: denied))")
            // The last file denies execution for all : all, so only a rule of the input allowing
            // it first can make the answer false.
            try require(source.hasPrefix(file + ":"), "not denied, from \(source)")
            return
        }
        if source.hasPrefix(file + ":") {
            // The rule's first word, after the blanks configLines trims.
            let rule = (line(of: source, in: bytes) ?? []).drop { [0x20, 0x09, 0x0D, 0x0A].contains($0) }
            try require(rule.starts(with: Array("deny".utf8)), "denied by line `\(text(Array(rule)))`")
        } else {
            try require(source == "/etc/fapolicyd/rules.d/90-deny-execute.rules:1", "denied by \(source)")
        }
    }

    static func execution(_ context: ProbeContext) throws(InvariantViolation) -> JSON {
        guard case .value(let fact)? = ExecutionControlProbe().collect(context)["execution"] else {
            throw InvariantViolation(message: "execution was not collected")
        }
        return fact
    }

    /// Line N of `bytes` for a source `FILE:N`, nil when there is no such line. Lines end at
    /// each "\n" only, as the probes' line reader splits them.
    static func line(of source: String, in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        guard let colon = source.lastIndex(of: ":"), let n = Int(source[source.index(after: colon)...]), n >= 1 else { return nil }
        let all = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        return n <= all.count ? all[n - 1] : nil
    }

    static let cpuinfoRoot = ScratchRoot(files: ["/dev/null": "", "/etc/hostname": "fuzzhost\n"])

    /// The input as /proc/cpuinfo (ConfidentialComputingProbe, and RemoteExecProbe's hypervisor
    /// flag): each processor named once, with TEE flags the probe knows only, and a source that
    /// is a line of the file; a tdx_guest flag is a guest item citing such a line.
    static func cpuinfo(_ bytes: [UInt8]) throws(InvariantViolation) {
        let context = cpuinfoRoot.context(writing: bytes, to: "/proc/cpuinfo")
        guard case .value(let fact)? = ConfidentialComputingProbe().collect(context)["confidential_computing"],
            let cpus = fact["cpus"]?.arrayValue
        else { throw InvariantViolation(message: "confidential_computing.cpus was not collected") }
        let lineCount = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
        var seen: [JSON] = []
        for cpu in cpus {
            try require(!seen.contains(cpu), "one processor listed twice: \(cpu)")
            seen.append(cpu)
            let flags = cpu["tee_flags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            try require(Set(flags).isSubset(of: ConfidentialComputingProbe.teeFlags), "TEE flags \(flags)")
            let source = cpu["source"]?.stringValue ?? ""
            let number = source.hasPrefix("/proc/cpuinfo:") ? Int(source.dropFirst("/proc/cpuinfo:".count)) : nil
            try require(number.map { $0 >= 1 && $0 <= lineCount } == true, "source \(source) of \(lineCount) lines")
        }
        let guests = fact["tee_guest"]?.arrayValue ?? []
        let tdx = cpus.contains { $0["tee_flags"]?.arrayValue?.contains("tdx_guest") == true }
        try require(guests.contains { $0["path"] == "/proc/cpuinfo" } == tdx, "a tdx_guest flag and the guest items disagree")
        guard case .value(let remote)? = RemoteExecProbe().collect(context)["remote_exec"] else {
            throw InvariantViolation(message: "remote_exec was not collected")
        }
        let flag = remote["hypervisor"]?["cpuinfo_flag"]?.stringValue
        try require(flag == "set" || flag == "not set", "cpuinfo_flag \(String(describing: flag))")
    }

    static let unit = "vllm-server@0.service"
    static let unitSite: Site = {
        do {
            return try Site.parse("services:\n  weights_units: [\(unit)]\n", file: "site.yaml", digester: .libcrypto)
        } catch { fatalError("the unit target's site file does not parse: \(error)") }
    }()

    /// Drop-ins for each name systemd looks under: the template's, a dash prefix's, the type's.
    static let unitRoot = ScratchRoot(files: [
        "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nvllm:x:990:990::/srv/vllm:/usr/sbin/nologin\n",
        "/etc/systemd/system/vllm-server@.service.d/10-user.conf": "[Service]\nUser=vllm\nSystemCallFilter=@system-service\n",
        "/usr/lib/systemd/system/vllm-.service.d/20-protect.conf": "[Service]\nProtectSystem=full\nRestrictAddressFamilies=AF_UNIX\n",
        "/lib/systemd/system/service.d/30-tmp.conf": "[Service]\nPrivateTmp=yes\n",
    ])

    /// The input as the unit file and as one of its drop-ins (in /run, read after those of /etc
    /// and before those of /usr/lib by name), through ServiceSandboxProbe: the unit loads from
    /// its fragment first, every value names a file that was read and a line of it, and a unit
    /// that runs as root has no dedicated user.
    static func unitFile(_ bytes: [UInt8]) throws(InvariantViolation) {
        let fragment = "/etc/systemd/system/" + unit
        _ = unitRoot.context(writing: bytes, to: fragment)
        let context = unitRoot.context(writing: bytes, to: "/run/systemd/system/\(unit).d/15-fuzz.conf", site: unitSite)
        guard case .value(let fact)? = ServiceSandboxProbe().collect(context)["service_sandbox"],
            let items = fact["units"]?.arrayValue, items.count == 1, let item = items.first
        else { throw InvariantViolation(message: "service_sandbox has not one unit") }
        if item["error"] != nil { return }
        try require(item["source"]?.stringValue == fragment, "loaded from \(String(describing: item["source"]))")
        let files = item["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
        try require(files.first == fragment && files.count <= 5 && Set(files).count == files.count, "files \(files)")
        var values: [(String, JSON)] = [("user", item["user"] ?? .null), ("dynamic_user", item["dynamic_user"] ?? .null)]
        for (key, value) in item["settings"]?.objectValue ?? [:] { values.append((key, value)) }
        for (key, value) in values {
            guard let source = value["source"]?.stringValue else { throw InvariantViolation(message: "\(key) has no source") }
            if source.hasPrefix("default") { continue }
            let place = source.split(separator: " ", maxSplits: 1).first.map(String.init) ?? source
            guard let colon = place.lastIndex(of: ":"), let number = Int(place[place.index(after: colon)...]) else {
                throw InvariantViolation(message: "\(key) from \(source), not a file's line")
            }
            try require(files.contains(String(place[..<colon])) && number >= 1, "\(key) from \(source), not a file read: \(files)")
        }
        for (key, value) in item["settings"]?.objectValue ?? [:] {
            guard let words = value["value"]?.arrayValue else { continue }
            try require(
                words.allSatisfy { $0.stringValue.map { !$0.isEmpty && !$0.contains(" ") && !$0.contains("\t") } == true },
                "\(key) words \(words)")
        }
        if item["runs_as_root"]?["value"] == true {
            try require(item["dedicated_user"]?["value"] == false, "runs as root with a dedicated user")
        }
    }
}
