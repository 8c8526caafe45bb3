public import WardenCore
internal import WardenFormats

/// How the units that serve or train from the weights (the site's `services.weights_units`) are
/// confined (ACC-013, Code Appendix 4.4(3) "sandboxes around models"): the user each runs as
/// and its systemd sandboxing settings, from the unit file and its drop-ins merged as systemd 252
/// merges them (`UnitFile`; docs/DAEMON-SEMANTICS.md, "Unit files").
public struct ServiceSandboxProbe: Probe {
    public init() {}
    public let name = "service_sandbox"
    public let summary = "the weights units' user and systemd sandboxing, from their unit files and drop-ins"
    public let reads = UnitFile.searchPath.map { $0 + "/*" }
    public var facts: [String: FactType] {
        var settings: [String: FactType] = [:]
        for (key, _) in ServiceSandboxProbe.booleans { settings[key] = .sourced(.bool) }
        for (key, _, _) in ServiceSandboxProbe.enums { settings[key] = .sourced(.string) }
        for (key, _) in ServiceSandboxProbe.lists { settings[key] = .sourced(.strings) }
        return [
            "service_sandbox": .object([
                "source": .string,
                "units": .list(
                    .object([
                        "name": .string, "source": .string, "error": .string, "files": .strings, "ignored": .strings,
                        "user": .sourced(.optional(.string)), "dynamic_user": .sourced(.bool), "runs_as_root": .sourced(.bool),
                        "dedicated_user": .sourced(.bool),
                        "settings": .object(settings),
                    ])),
            ])
        ]
    }

    /// Boolean settings: fact key and systemd's name.
    static let booleans = [
        ("no_new_privileges", "NoNewPrivileges"), ("private_tmp", "PrivateTmp"), ("private_devices", "PrivateDevices"),
        ("protect_kernel_tunables", "ProtectKernelTunables"), ("protect_kernel_modules", "ProtectKernelModules"),
        ("protect_kernel_logs", "ProtectKernelLogs"), ("protect_control_groups", "ProtectControlGroups"),
        ("protect_clock", "ProtectClock"), ("restrict_suid_sgid", "RestrictSUIDSGID"), ("lock_personality", "LockPersonality"),
        ("restrict_realtime", "RestrictRealtime"), ("memory_deny_write_execute", "MemoryDenyWriteExecute"),
    ]
    /// Settings with named values (normalised: `yes`/`no` for the boolean forms).
    static let enums = [("protect_system", "ProtectSystem", ["full", "strict"]), ("protect_home", "ProtectHome", ["read-only", "tmpfs"])]
    /// List settings: every assignment adds, an empty one resets. (CapabilityBoundingSet= is left
    /// out: there an empty assignment means no capabilities, and a unit that is not root holds
    /// none in its effective set anyway.)
    static let lists = [
        ("restrict_address_families", "RestrictAddressFamilies"), ("system_call_filter", "SystemCallFilter"),
    ]

    /// Values systemd 252 refuses (and ignores, keeping the earlier one) for the keys read here.
    static var valid: [String: (String) -> Bool] {
        var v: [String: (String) -> Bool] = [:]
        for (_, key) in booleans { v[key] = SystemdConf.isBool }
        // An empty ProtectSystem= or ProtectHome= sets the default, `no`.
        for (_, key, words) in enums { v[key] = { $0.isEmpty || SystemdConf.isBool($0) || words.contains($0) } }
        return v
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let units = (context.site?.weightsUnits ?? []).map { ServiceSandboxProbe.unit($0, root: context.root) }
        return ["service_sandbox": .value(["source": "site file (services.weights_units)", "units": .array(units)])]
    }

    static func unit(_ name: String, root: HostRoot) -> JSON {
        let loaded = UnitFile.load(name, root: root, valid: valid)
        guard let fragment = loaded.fragment else {
            let path = UnitFile.searchPath.joined(separator: ", ")
            return ["name": .string(name), "source": .string(name), "error": .string("no unit file \(name) in \(path)")]
        }
        if loaded.masked {
            return ["name": .string(name), "source": .string(fragment), "error": .string("\(fragment) is masked: the unit cannot run")]
        }
        if let problem = loaded.problem {
            return ["name": .string(name), "source": .string(fragment), "error": .string(problem)]
        }
        // DynamicUser= is parsed as fatal (config_parse_bool with ltype true): a value that is
        // not a boolean makes systemd refuse the whole unit ("bad unit file setting").
        if let bad = loaded.conf.assignments["DynamicUser"]?.first(where: { SystemdConf.parseBool($0.value) == nil }) {
            let reason =
                "\(bad.source): DynamicUser=\(bad.value) is not a boolean: systemd refuses to load \(name) (a bad unit file setting)"
            return ["name": .string(name), "source": .string(fragment), "error": .string(reason)]
        }
        func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }
        let user = loaded.last("User").flatMap { $0.value.isEmpty ? nil : $0 }
        let userSource = loaded.last("User")?.source ?? "default (systemd: no User=, so root)"
        let dynamic = loaded.last("DynamicUser")
        let isDynamic = dynamic.flatMap { SystemdConf.parseBool($0.value) } ?? false
        let dynamicSource = dynamic?.source ?? "default (systemd)"
        // A unit without User= (or with User= emptied) runs as root, as does User=root or 0;
        // DynamicUser=yes allocates an unprivileged user whatever User= says. nobody is shared
        // by whatever runs unconfigured, so it is no service's own (systemd-analyze security
        // marks it as well).
        let rootUser = user == nil || user?.value == "root" || user?.value == "0"
        let runsAsRoot = !isDynamic && rootUser
        let dedicated = isDynamic || (!rootUser && user?.value != "nobody" && user?.value != "65534")
        var settings: JSONObject = [:]
        for (key, name) in booleans {
            let s = loaded.last(name)
            settings[key] = sourced(.bool(s.flatMap { SystemdConf.parseBool($0.value) } ?? false), s?.source ?? "default (systemd)")
        }
        for (key, name, _) in enums {
            let s = loaded.last(name)
            var value = s?.value ?? "no"
            if value.isEmpty { value = "no" }
            if let b = SystemdConf.parseBool(value) { value = b ? "yes" : "no" }
            var source = s?.source ?? "default (systemd)"
            // unit_patch_contexts(): DynamicUser=yes sets ProtectSystem=strict, raises
            // ProtectHome to read-only, and turns on PrivateTmp, NoNewPrivileges and
            // RestrictSUIDSGID.
            if isDynamic, name == "ProtectSystem", value != "strict" {
                value = "strict"
                source = "\(dynamicSource) (DynamicUser=yes implies ProtectSystem=strict)"
            }
            if isDynamic, name == "ProtectHome", value == "no" {
                value = "read-only"
                source = "\(dynamicSource) (DynamicUser=yes implies ProtectHome=read-only)"
            }
            settings[key] = sourced(.string(value), source)
        }
        if isDynamic {
            for (key, name) in [
                ("private_tmp", "PrivateTmp"), ("no_new_privileges", "NoNewPrivileges"), ("restrict_suid_sgid", "RestrictSUIDSGID"),
            ] {
                settings[key] = sourced(true, "\(dynamicSource) (DynamicUser=yes implies \(name)=yes)")
            }
        }
        for (key, name) in lists {
            let (words, source) = loaded.list(name)
            settings[key] = sourced(.array(words.map { .string($0) }), source ?? "default (systemd: not restricted)")
        }
        return [
            "name": .string(name), "source": .string(fragment), "files": .array(loaded.files.map { .string($0) }),
            "ignored": .array(loaded.conf.ignored.map { .string($0) }),
            "user": sourced(user.map { .string($0.value) } ?? .null, userSource),
            "dynamic_user": sourced(.bool(isDynamic), dynamicSource),
            "runs_as_root": sourced(.bool(runsAsRoot), isDynamic ? dynamicSource : userSource),
            "dedicated_user": sourced(.bool(dedicated), isDynamic ? dynamicSource : userSource),
            "settings": .object(settings),
        ]
    }
}
