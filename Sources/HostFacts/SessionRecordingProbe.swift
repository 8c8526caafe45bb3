public import WardenCore
internal import WardenFormats

/// Session recording by tlog through SSSD (LOG-009), read the way sssd 2.8 (Debian 12: sssd
/// 2.8.2) reads its configuration (docs/DAEMON-SEMANTICS.md): /etc/sssd/sssd.conf, then the
/// `*.conf` snippets of /etc/sssd/conf.d in name order (names starting with `.` skipped), a later
/// value of the same option in the same section winning. `[session_recording]` `scope = all`
/// records everyone; `some` records the `users` and `groups` listed; `none` (the default) no one.
/// sssd refuses to start when sssd.conf is not owned by root or is readable by others than its
/// owner (mode 0600), so then nothing is recorded. SSSD applies the recording by giving the
/// user tlog-rec-session as the shell through NSS, so /etc/nsswitch.conf's `passwd` must list
/// `sss`. The other two recorders LOG-009 accepts are facts of other probes: tlog-rec-session as
/// a login shell in /etc/passwd (`accounts.logins`), and pam_tty_audit in sshd's session stack
/// (`sshd.pam_tty_audit`).
public struct SessionRecordingProbe: Probe {
    public init() {}
    public let name = "session_recording"
    public let summary = "tlog session recording through SSSD: [session_recording] of sssd.conf and conf.d, and sss in nsswitch's passwd"
    public let reads = ["/etc/sssd/sssd.conf", "/etc/sssd/conf.d/*.conf", "/etc/nsswitch.conf"]
    public var facts: [String: FactType] {
        [
            "session_recording": .object([
                "source": .string, "files": .strings, "note": .string,
                "sssd_scope": .sourced(.string), "sssd_users": .strings, "sssd_groups": .strings,
                "nss_sss": .sourced(.bool), "tlog_sssd": .sourced(.bool),
            ])
        ]
    }

    static let mainFile = "/etc/sssd/sssd.conf"
    static let snippets = "/etc/sssd/conf.d"
    static let nsswitch = "/etc/nsswitch.conf"

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = ["source": .string(SessionRecordingProbe.mainFile)]
        var files: [String] = []
        var options: [String: (value: String, source: String)] = [:]
        var note: String?
        do {
            let info = try root.info(SessionRecordingProbe.mainFile)
            if info.uid != 0 || info.mode & 0o7177 != 0 {
                note =
                    "sssd refuses \(SessionRecordingProbe.mainFile) (owner \(info.uid), mode \(formatMode(info.mode)); it needs root and 0600)"
            }
            var paths = [SessionRecordingProbe.mainFile]
            if let names = try? root.list(SessionRecordingProbe.snippets) {
                paths += names.filter { $0.hasSuffix(".conf") && !$0.hasPrefix(".") }.sorted().map {
                    SessionRecordingProbe.snippets + "/" + $0
                }
            }
            for path in paths {
                files.append(path)
                let text = try root.readText(path, limit: 1 << 20)
                var section = ""
                for (number, line) in configLines(text, comments: ["#", ";"]) {
                    if line.first == "[", line.last == "]" {
                        section = String(line.dropFirst().dropLast().trimmed).lowercased()
                        continue
                    }
                    guard section == "session_recording", let eq = line.firstIndex(of: "=") else { continue }
                    let key = String(line[..<eq].trimmed).lowercased()
                    options[key] = (String(line[line.index(after: eq)...].trimmed), "\(path):\(number)")
                }
            }
        } catch {
            if !error.isNotFound {
                return ["session_recording": .unavailable(.error("cannot read the SSSD configuration: \(error.description)"))]
            }
            note = note ?? "no \(SessionRecordingProbe.mainFile): SSSD does not record sessions"
        }
        let scope = options["scope"].map { (value: $0.value.lowercased(), source: $0.source) } ?? (value: "none", source: "default (sssd)")
        func list(_ key: String) -> [String] {
            (options[key]?.value ?? "").split(separator: ",").map { String($0.trimmed) }.filter { !$0.isEmpty }
        }
        let users = list("users")
        let groups = list("groups")
        let nss = SessionRecordingProbe.nssHasSSS(root)
        let records = note == nil && (scope.value == "all" || (scope.value == "some" && !(users.isEmpty && groups.isEmpty)))
        fact["files"] = .array(files.map { .string($0) })
        fact["sssd_scope"] = ["value": .string(scope.value), "source": .string(scope.source)]
        fact["sssd_users"] = .array(users.map { .string($0) })
        fact["sssd_groups"] = .array(groups.map { .string($0) })
        fact["nss_sss"] = nss
        fact["tlog_sssd"] = ["value": .bool(records && nss["value"]?.boolValue == true), "source": .string(scope.source)]
        if let note { fact["note"] = .string(note) }
        return ["session_recording": .value(.object(fact))]
    }

    /// Whether glibc asks SSSD for accounts: `sss` among the sources of the last `passwd:` line
    /// of /etc/nsswitch.conf (the `[…]` actions are not sources).
    static func nssHasSSS(_ root: HostRoot) -> JSON {
        let text: String
        do { text = try root.readText(nsswitch) } catch {
            if error.isNotFound { return ["value": false, "source": .string(nsswitch)] }
            return ["error": .string("cannot read \(nsswitch): \(error.description)")]
        }
        var found: JSON = ["value": false, "source": .string(nsswitch)]
        for (number, line) in configLines(text) where line.hasPrefix("passwd:") {
            let sources = line.dropFirst("passwd:".count).words.filter { !$0.hasPrefix("[") }
            found = ["value": .bool(sources.contains("sss")), "source": .string("\(nsswitch):\(number)")]
        }
        return found
    }
}
