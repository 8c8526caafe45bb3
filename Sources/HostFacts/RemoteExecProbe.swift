public import WardenCore
internal import WardenFormats

/// Paths by which a third party (the cloud provider, the hypervisor's operator, a vendor) runs
/// commands on the host (EXF-008, RAND SL3 "no third-party service has access to the weights"):
/// the cloud guest agents, enabled or running; qemu-guest-agent and the RPCs its configuration
/// blocks, read as qemu-ga 7.2 reads them; and, as evidence, the hypervisor and tenancy
/// (docs/DAEMON-SEMANTICS.md, "Remote-execution agents").
public struct RemoteExecProbe: Probe {
    public init() {}
    public let name = "remote_exec"
    public let summary = "cloud and vendor agents that run commands (enabled, running, installed); qemu-ga's blocked RPCs; the hypervisor"
    public let reads = [
        SystemdUnits.enablingLinks("*"), SystemdUnits.invocationLink("*"), "/usr/bin/amazon-ssm-agent",
        "/snap/amazon-ssm-agent/current/amazon-ssm-agent", "/usr/bin/google_guest_agent", "/usr/bin/google_osconfig_agent",
        "/usr/sbin/waagent", RemoteExecProbe.qemuBinary, "{/etc,/run}/systemd/system/qemu-guest-agent.service",
        "/lib/systemd/system/qemu-guest-agent.service", RemoteExecProbe.qemuDefaults,
        RemoteExecProbe.qemuConf, "/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name", "/proc/cpuinfo",
        "/sys/hypervisor/type",
    ]
    public var facts: [String: FactType] {
        [
            "remote_exec": .object([
                "agents": .list(.object(["agent": .string, "unit": .string, "how": .string, "running": .bool, "source": .string])),
                "qemu_ga": .object([
                    "installed": .bool, "source": .string, "rpcs": .list(.object(["name": .string, "blocked": .bool, "source": .string])),
                ]),
                "hypervisor": .object([
                    "sys_vendor": .string, "product_name": .string, "cpuinfo_flag": .string, "type": .string, "summary": .string,
                ]),
            ])
        ]
    }

    static let qemuDefaults = "/etc/default/qemu-guest-agent"
    /// Where an RPC that nothing blocks is to be blocked, so its evidence names it.
    public static let qemuConf = "/etc/qemu/qemu-ga.conf"
    static let qemuBinary = "/usr/sbin/qemu-ga"
    static let qemuUnit = "qemu-guest-agent.service"

    /// An agent that runs what a remote party sends it: its units and its binaries.
    public struct Agent: Sendable {
        public let name: String
        public let units: [String]
        public let binaries: [String]
    }

    /// The agents reported, by the unit names their packages install (EXF-008's
    /// `forbidden_agents` picks among these units). amazon-ssm-agent: Run Command and Session
    /// Manager (deb and snap); google-guest-agent: metadata startup scripts and OS Login keys;
    /// google-osconfig-agent: OS Config's software and exec steps; walinuxagent (Debian's unit)
    /// and waagent (upstream's): Run Command and VM extensions.
    public static let agents = [
        Agent(
            name: "amazon-ssm-agent", units: ["amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"],
            binaries: ["/usr/bin/amazon-ssm-agent", "/snap/amazon-ssm-agent/current/amazon-ssm-agent"]),
        Agent(name: "google-guest-agent", units: ["google-guest-agent.service"], binaries: ["/usr/bin/google_guest_agent"]),
        Agent(name: "google-osconfig-agent", units: ["google-osconfig-agent.service"], binaries: ["/usr/bin/google_osconfig_agent"]),
        Agent(name: "walinuxagent", units: ["walinuxagent.service", "waagent.service"], binaries: ["/usr/sbin/waagent"]),
    ]

    /// The qemu-ga 7.2 commands that run programs, move files, or let the host in by key or
    /// password: each is reported with whether the configuration blocks it.
    public static let qemuRPCs = [
        "guest-exec", "guest-exec-status", "guest-file-open", "guest-file-close", "guest-file-read", "guest-file-write",
        "guest-file-seek", "guest-file-flush", "guest-ssh-add-authorized-keys", "guest-ssh-remove-authorized-keys",
        "guest-ssh-get-authorized-keys", "guest-set-user-password",
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let agents = RemoteExecProbe.agentItems(
            context.root, context.units, forbidden: context.site?.forbiddenAgents ?? [], context.mode)
        let found = agents.contains { $0["how"] == "enabled" || $0["how"] == "running" }
        let fact: JSONObject = [
            "agents": context.units.known(.array(agents), found: found),
            "qemu_ga": RemoteExecProbe.qemuGuestAgent(context.root, units: context.units),
            "hypervisor": .object(RemoteExecProbe.hypervisor(context)),
        ]
        return ["remote_exec": .value(.object(fact))]
    }

    /// One item per agent unit that is enabled or running, or whose binary is installed, and
    /// per unit of the site's denylist (`forbidden`) that is enabled or running. A unit runs
    /// while systemd keeps its invocation link (`SystemdUnits.isActive`): the live view. An
    /// offline root's /run shows nothing that runs (EDRProbe says the same of its units), so
    /// there `running` is not applicable and only enablement and binaries count.
    static func agentItems(_ root: HostRoot, _ units: SystemdUnits, forbidden: [String], _ mode: AuditMode) -> [JSON] {
        func running(_ unit: String) -> Bool? { mode == .live ? units.isActive(unit) : nil }
        var out: [JSON] = []
        for agent in agents {
            var found = false
            for unit in agent.units {
                if let link = units.foundLink(unit) {
                    out.append(item(agent, unit, how: "enabled", running: running(unit), source: link))
                    found = true
                } else if running(unit) == true {
                    out.append(item(agent, unit, how: "running", running: true, source: SystemdUnits.invocationLink(unit)))
                    found = true
                }
            }
            if !found, let binary = agent.binaries.first(where: { root.exists($0) }) {
                out.append(item(agent, agent.units[0], how: "installed, not enabled", running: running(agent.units[0]), source: binary))
            }
        }
        // The site's own denylist (remote management, backup agents): units only, no binaries.
        let known = Set(agents.flatMap(\.units))
        for unit in forbidden where !known.contains(unit) {
            let agent = Agent(name: "site denylist", units: [unit], binaries: [])
            if let link = units.foundLink(unit) {
                out.append(item(agent, unit, how: "enabled", running: running(unit), source: link))
            } else if running(unit) == true {
                out.append(item(agent, unit, how: "running", running: true, source: SystemdUnits.invocationLink(unit)))
            }
        }
        return out
    }

    /// `running` nil: an offline root, where it is not applicable.
    static func item(_ agent: Agent, _ unit: String, how: String, running: Bool?, source: String) -> JSON {
        let runs: JSON =
            running.map { .bool($0) }
            ?? [
                "not_applicable": "offline root: whether the unit is running is not checked (known only on a live host)",
                "source": .string(SystemdUnits.invocationLink(unit)),
            ]
        return ["agent": .string(agent.name), "unit": .string(unit), "how": .string(how), "running": runs, "source": .string(source)]
    }

    /// qemu-guest-agent needs no enabling: Debian's unit has no [Install] section and udev starts
    /// it when the hypervisor offers the org.qemu.guest_agent.0 channel. Installed (the binary
    /// there and the unit not masked) is therefore as good as running. The blocked RPCs are the
    /// union of the configuration file's `block-rpcs` and the command line's (`DAEMON_ARGS` of
    /// /etc/default/qemu-guest-agent): qemu-ga 7.2 concatenates the two lists.
    static func qemuGuestAgent(_ root: HostRoot, units: SystemdUnits) -> JSON {
        guard root.exists(qemuBinary), !units.isMasked(qemuUnit) else {
            return ["installed": false, "source": .string(qemuBinary)]
        }
        var blocked: [String: String] = [:]
        do {
            for (name, source) in try configBlockedRPCs(root) + defaultsBlockedRPCs(root) where blocked[name] == nil {
                blocked[name] = source
            }
        } catch let e as QemuConfigError {
            return ["installed": true, "source": .string(qemuBinary), "rpcs": ["error": .string(e.reason), "source": .string(e.file)]]
        } catch {
            return ["installed": true, "source": .string(qemuBinary), "rpcs": ["error": .string("\(error)"), "source": .string(qemuConf)]]
        }
        let rpcs: [JSON] = qemuRPCs.map { name in
            ["name": .string(name), "blocked": .bool(blocked[name] != nil), "source": .string(blocked[name] ?? qemuConf)]
        }
        return ["installed": true, "source": .string(qemuBinary), "rpcs": .array(rpcs)]
    }

    struct QemuConfigError: Error {
        let file: String
        let reason: String
    }

    /// `block-rpcs` of the `[general]` group of /etc/qemu/qemu-ga.conf, read as GLib's key file
    /// parser reads it (qemu-ga 7.2 takes the string and splits it at commas): `#` comment lines,
    /// `[group]` headers, `key=value` with blanks around the `=` dropped, the last assignment of
    /// a key winning. A line that is none of these makes GLib refuse the file, and qemu-ga with
    /// it (it exits): an error naming the line.
    static func configBlockedRPCs(_ root: HostRoot) throws -> [(String, String)] {
        guard root.exists(qemuConf) else { return [] }
        let text: String
        do { text = try root.readText(qemuConf, limit: 1 << 20) } catch { throw QemuConfigError(file: qemuConf, reason: error.description) }
        var group: Substring? = nil
        var found: (value: Substring, line: Int)? = nil
        for (i, raw) in lines(text).enumerated() {
            let line = raw.trimmed
            if line.isEmpty || line.first == "#" { continue }
            if line.first == "[" {
                guard line.last == "]" else {
                    throw QemuConfigError(file: qemuConf, reason: "\(qemuConf):\(i + 1): group header without ']'")
                }
                group = line.dropFirst().dropLast()
                continue
            }
            guard let eq = line.firstIndex(of: "=") else {
                throw QemuConfigError(file: qemuConf, reason: "\(qemuConf):\(i + 1): neither a group, a key=value pair nor a comment")
            }
            guard group != nil else {
                throw QemuConfigError(file: qemuConf, reason: "\(qemuConf):\(i + 1): key outside any group")
            }
            if group == "general", line[..<eq].trimmed == "block-rpcs" {
                // GLib would turn escapes (`\\s`, `\\,`) into other bytes: rather than guess, refuse.
                guard !line[eq...].contains("\\") else {
                    throw QemuConfigError(file: qemuConf, reason: "\(qemuConf):\(i + 1): block-rpcs: escape sequences are not read")
                }
                found = (line[line.index(after: eq)...].trimmed, i + 1)
            }
        }
        guard let found else { return [] }
        return rpcList(found.value).map { ($0, "\(qemuConf):\(found.line)") }
    }

    /// The `--block-rpcs` (`-b`) options in `DAEMON_ARGS` of /etc/default/qemu-guest-agent, when
    /// the installed unit reads that file and passes the variable on its command line
    /// (`ExecStart=/usr/sbin/qemu-ga $DAEMON_ARGS`, split at blanks). Every occurrence adds to the
    /// list.
    static func defaultsBlockedRPCs(_ root: HostRoot) throws -> [(String, String)] {
        guard root.exists(qemuDefaults), unitPassesDaemonArgs(root) else { return [] }
        let text: String
        do { text = try root.readText(qemuDefaults, limit: 1 << 20) } catch {
            throw QemuConfigError(file: qemuDefaults, reason: error.description)
        }
        var args: (value: Substring, line: Int)? = nil
        for (number, line) in configLines(text) {
            var assignment = line
            if assignment.hasPrefix("export ") { assignment = assignment.dropFirst("export ".count).trimmed }
            guard let eq = assignment.firstIndex(of: "="), assignment[..<eq].trimmed == "DAEMON_ARGS" else { continue }
            args = (unquoted(assignment[assignment.index(after: eq)...].trimmed), number)
        }
        guard let args else { return [] }
        let words = args.value.words
        var out: [(String, String)] = []
        var i = 0
        while i < words.count {
            let w = words[i]
            var list: Substring? = nil
            if w.hasPrefix("--block-rpcs=") {
                list = w.dropFirst("--block-rpcs=".count)
            } else if w == "--block-rpcs" || w == "-b" {
                if i + 1 < words.count {
                    list = words[i + 1]
                    i += 1
                }
            } else if w.hasPrefix("-b") && !w.hasPrefix("--") {
                list = w.dropFirst(2)
            }
            if let list { out += rpcList(list).map { ($0, "\(qemuDefaults):\(args.line)") } }
            i += 1
        }
        return out
    }

    /// Whether the installed unit reads /etc/default/qemu-guest-agent and puts `DAEMON_ARGS` on
    /// the command line: otherwise what that file says never reaches qemu-ga, and counting it
    /// would be a false pass.
    static func unitPassesDaemonArgs(_ root: HostRoot) -> Bool {
        let unitFiles = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"].map { $0 + "/" + qemuUnit }
        guard let file = unitFiles.first(where: { root.exists($0) }), let text = try? root.readText(file, limit: 1 << 20) else {
            return false
        }
        let reads = configLines(text).contains { $0.text.hasPrefix("EnvironmentFile") && $0.text.contains(qemuDefaults) }
        let passes = configLines(text).contains {
            $0.text.hasPrefix("ExecStart") && ($0.text.contains("$DAEMON_ARGS") || $0.text.contains("${DAEMON_ARGS}"))
        }
        return reads && passes
    }

    /// A comma-separated list of RPC names, split as qemu-ga's `split_list` splits it: at each
    /// comma, nothing trimmed (`guest-exec, guest-file-open` blocks " guest-file-open", which is
    /// no command). qemu-ga matches names exactly: `guest-file-*` blocks nothing.
    static func rpcList(_ value: Substring) -> [String] {
        value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    /// The hypervisor and tenancy as the firmware and kernel state them, for evidence: each a
    /// string, with what is unknown said in words (an offline root rarely has them).
    static func hypervisor(_ context: ProbeContext) -> JSONObject {
        func sysfsText(_ path: String) -> String {
            switch context.sysfs(path) {
            case .present:
                do { return String(try context.root.readText(path, limit: 4096).trimmed) } catch {
                    return "unreadable: \(error.description)"
                }
            case .absent: return "absent"
            case .offline: return "not known (offline root)"
            case .unmounted: return "not known (/sys is not mounted)"
            }
        }
        let vendor = sysfsText("/sys/class/dmi/id/sys_vendor")
        let product = sysfsText("/sys/class/dmi/id/product_name")
        let type = sysfsText("/sys/hypervisor/type")
        let flag: String
        if context.root.exists("/proc/cpuinfo") {
            do {
                let text = try context.root.readText("/proc/cpuinfo", limit: 16 << 20)
                let hasFlag = lines(text).contains { line in
                    guard line.hasPrefix("flags"), let colon = line.firstIndex(of: ":") else { return false }
                    return line[line.index(after: colon)...].words.contains("hypervisor")
                }
                flag = hasFlag ? "set" : "not set"
            } catch {
                flag = "unreadable: \(error.description)"
            }
        } else {
            flag = context.mode == .offline ? "not known (offline root)" : "absent"
        }
        return [
            "sys_vendor": .string(vendor), "product_name": .string(product), "cpuinfo_flag": .string(flag), "type": .string(type),
            "summary": .string("vendor \(vendor), product \(product), cpuinfo hypervisor flag \(flag), /sys/hypervisor/type \(type)"),
        ]
    }
}
