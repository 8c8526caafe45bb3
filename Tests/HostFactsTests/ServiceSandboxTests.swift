import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ACC-013: the site's weights units run unprivileged and sandboxed, read from their unit files
/// and drop-ins as systemd 252 merges them; a verdict control at SL3 and, stricter, at SL4.
@Suite struct ServiceSandboxTests {
    static let site = "services:\n  weights_units: [vllm.service]\n"

    /// A unit that meets SL4 (and so SL3): its own user, every setting, both filters.
    static let sl4Unit = """
        [Unit]
        Description=vLLM

        [Service]
        ExecStart=/usr/bin/vllm serve /srv/weights/model
        User=mlsvc
        NoNewPrivileges=yes
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes
        ProtectKernelTunables=yes
        ProtectKernelModules=yes
        ProtectControlGroups=yes
        RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
        SystemCallFilter=@system-service

        [Install]
        WantedBy=multi-user.target

        """

    func host(_ unit: String? = sl4Unit) -> TempTree {
        let tree = TempTree()
        tree.directory("etc/systemd/system")
        if let unit { tree.file("lib/systemd/system/vllm.service", unit) }
        return tree
    }

    /// The whole fact, checked against the type the probe declares.
    func sandbox(_ tree: TempTree, site: String = site) throws -> JSON {
        try probeFact("service_sandbox", of: ServiceSandboxProbe(), root: tree.path, site: site)
    }

    /// The one unit the site lists.
    func fact(_ tree: TempTree, site: String = site) throws -> JSON {
        try #require(try sandbox(tree, site: site)["units"]?.arrayValue?.first)
    }

    // MARK: - Probe tests: the facts of a unit and its drop-ins

    /// End to end once: whether there is anything to judge is the site file's, read by the
    /// collector, which the canned rows below cannot show.
    @Test func noWeightsUnitIsNotApplicable() throws {
        let tree = host()
        for site in ["role: storage\n", "services:\n  weights_units: []\n"] {
            #expect(try sandbox(tree, site: site) == ["source": "site file (services.weights_units)", "units": []])
            for profile in ["sl3", "sl4"] {
                let f = try audit(root: tree.path, profile: profile, site: site, probes: [ServiceSandboxProbe()]).findings["ACC-013"]
                #expect(f.status == .notApplicable && !f.advisory, "\(profile): \(f.summary)")
                #expect(f.summary.contains("the site lists no weights units"), "\(f.summary)")
            }
        }
    }

    @Test func aSandboxedUnitsSettingsWithTheirLines() throws {
        let v = try fact(host())
        #expect(v["name"] == "vllm.service")
        #expect(v["source"] == "/lib/systemd/system/vllm.service")
        #expect(v["user"] == ["value": "mlsvc", "source": "/lib/systemd/system/vllm.service:6"])
        #expect(v["runs_as_root"] == ["value": false, "source": "/lib/systemd/system/vllm.service:6"])
        #expect(v["dedicated_user"] == ["value": true, "source": "/lib/systemd/system/vllm.service:6"])
        #expect(v["settings"]?["no_new_privileges"] == ["value": true, "source": "/lib/systemd/system/vllm.service:7"])
        #expect(v["settings"]?["protect_system"] == ["value": "strict", "source": "/lib/systemd/system/vllm.service:8"])
        #expect(v["settings"]?["protect_home"] == ["value": "yes", "source": "/lib/systemd/system/vllm.service:9"])
        #expect(v["settings"]?["private_tmp"]?["value"] == true)
        #expect(v["settings"]?["protect_kernel_tunables"]?["value"] == true)
        #expect(v["settings"]?["protect_kernel_modules"]?["value"] == true)
        #expect(v["settings"]?["protect_control_groups"]?["value"] == true)
        #expect(
            v["settings"]?["restrict_address_families"]
                == ["value": ["AF_UNIX", "AF_INET", "AF_INET6"], "source": "/lib/systemd/system/vllm.service:14"])
        #expect(v["settings"]?["system_call_filter"] == ["value": ["@system-service"], "source": "/lib/systemd/system/vllm.service:15"])
        #expect(v["settings"]?["private_devices"] == ["value": false, "source": "default (systemd)"])
        #expect(v["ignored"] == [])
    }

    @Test func withoutFiltersTheListsAreEmptyAndSaySo() throws {
        let tree = host(
            ServiceSandboxTests.sl4Unit.replacing("ProtectSystem=strict", with: "ProtectSystem=full")
                .replacing("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n", with: "")
                .replacing("SystemCallFilter=@system-service\n", with: ""))
        let v = try fact(tree)
        #expect(v["settings"]?["protect_system"] == ["value": "full", "source": "/lib/systemd/system/vllm.service:8"])
        #expect(v["settings"]?["restrict_address_families"] == ["value": [], "source": "default (systemd: not restricted)"])
        #expect(v["settings"]?["system_call_filter"] == ["value": [], "source": "default (systemd: not restricted)"])
    }

    /// Each setting ACC-013 needs, missing or weakened alone, and the values (dotted path under
    /// the unit) the probe states for it.
    static let weakened: [(String, String, String, JSON)] = [
        ("no User=", "User=mlsvc\n", "", ["user": nil, "runs_as_root": true, "dedicated_user": false]),
        ("User=root", "User=mlsvc\n", "User=root\n", ["user": "root", "runs_as_root": true, "dedicated_user": false]),
        ("User=0", "User=mlsvc\n", "User=0\n", ["user": "0", "runs_as_root": true, "dedicated_user": false]),
        ("User=nobody", "User=mlsvc\n", "User=nobody\n", ["user": "nobody", "runs_as_root": false, "dedicated_user": false]),
        ("no NoNewPrivileges=", "NoNewPrivileges=yes\n", "", ["settings.no_new_privileges": false]),
        ("NoNewPrivileges=no", "NoNewPrivileges=yes\n", "NoNewPrivileges=no\n", ["settings.no_new_privileges": false]),
        ("ProtectSystem=yes", "ProtectSystem=strict\n", "ProtectSystem=yes\n", ["settings.protect_system": "yes"]),
        ("no ProtectHome=", "ProtectHome=yes\n", "", ["settings.protect_home": "no"]),
        ("no PrivateTmp=", "PrivateTmp=yes\n", "", ["settings.private_tmp": false]),
        ("no ProtectKernelTunables=", "ProtectKernelTunables=yes\n", "", ["settings.protect_kernel_tunables": false]),
        ("no ProtectKernelModules=", "ProtectKernelModules=yes\n", "", ["settings.protect_kernel_modules": false]),
        ("no ProtectControlGroups=", "ProtectControlGroups=yes\n", "", ["settings.protect_control_groups": false]),
    ]

    @Test(arguments: weakened) func eachWeakenedSettingIsStated(_ name: String, _ from: String, _ to: String, _ expected: JSON) throws {
        let v = try fact(host(ServiceSandboxTests.sl4Unit.replacing(from, with: to)))
        for (path, value) in expected.objectValue ?? [:] {
            var item: JSON? = v
            for key in path.split(separator: ".") { item = item?[String(key)] }
            #expect(item?["value"] == value, "\(name): \(path) is \(String(describing: item))")
        }
    }

    @Test func dropInsMergeAsSystemdMergesThem() throws {
        let tree = host()
        // /etc's 20-user.conf hides /usr/lib's file of the same name; the later 30-… empties
        // User= (root again) and resets the address families before adding one.
        tree.file("usr/lib/systemd/system/vllm.service.d/20-user.conf", "[Service]\nUser=other\n")
        tree.file("etc/systemd/system/vllm.service.d/20-user.conf", "[Service]\nProtectHome=read-only\n")
        tree.file(
            "etc/systemd/system/vllm.service.d/30-reset.conf",
            "[Service]\nUser=\nRestrictAddressFamilies=\nRestrictAddressFamilies=AF_UNIX\n")
        tree.file("etc/systemd/system/service.d/10-all.conf", "[Service]\nPrivateDevices=yes\n")
        tree.file("etc/systemd/system/vllm.service.d/.hidden.conf", "[Service]\nUser=hidden\n")
        tree.file("etc/systemd/system/vllm.service.d/40-not-conf", "[Service]\nUser=nope\n")
        let v = try fact(tree)
        #expect(
            v["files"]
                == [
                    "/lib/systemd/system/vllm.service", "/etc/systemd/system/service.d/10-all.conf",
                    "/etc/systemd/system/vllm.service.d/20-user.conf", "/etc/systemd/system/vllm.service.d/30-reset.conf",
                ])
        #expect(v["user"] == ["value": nil, "source": "/etc/systemd/system/vllm.service.d/30-reset.conf:2"])
        #expect(v["runs_as_root"] == ["value": true, "source": "/etc/systemd/system/vllm.service.d/30-reset.conf:2"])
        #expect(v["settings"]?["protect_home"]?["value"] == "read-only")
        #expect(v["settings"]?["private_devices"]?["value"] == true)
        #expect(
            v["settings"]?["restrict_address_families"]
                == ["value": ["AF_UNIX"], "source": "/etc/systemd/system/vllm.service.d/30-reset.conf:4"])
    }

    @Test func dynamicUserImpliesWhatSystemdImplies() throws {
        let tree = host(
            "[Service]\nExecStart=/usr/bin/vllm\nDynamicUser=yes\nNoNewPrivileges=yes\nProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes\n"
        )
        let v = try fact(tree)
        #expect(v["dynamic_user"] == ["value": true, "source": "/lib/systemd/system/vllm.service:3"])
        #expect(v["runs_as_root"]?["value"] == false)
        #expect(v["dedicated_user"]?["value"] == true)
        #expect(v["settings"]?["protect_system"]?["value"] == "strict")
        #expect(v["settings"]?["protect_home"]?["value"] == "read-only")
        #expect(v["settings"]?["private_tmp"]?["value"] == true)
        #expect(v["settings"]?["system_call_filter"]?["value"] == [])
    }

    @Test func anInvalidValueIsIgnoredAsSystemdIgnoresIt() throws {
        let tree = host(ServiceSandboxTests.sl4Unit.replacing("ProtectSystem=strict", with: "ProtectSystem=strict\nProtectSystem=ro"))
        let v = try fact(tree)
        #expect(v["settings"]?["protect_system"]?["value"] == "strict")
        #expect(v["ignored"]?.arrayValue?.contains { $0.stringValue?.contains("ProtectSystem=ro") == true } == true)
    }

    @Test func aListedUnitWithoutAUsableFileIsAnError() throws {
        let missing = host(nil)
        let masked = host()
        masked.symlink("etc/systemd/system/vllm.service", to: "/dev/null")
        let broken = host("[Service\nUser=mlsvc\n")
        let refused = host(ServiceSandboxTests.sl4Unit.replacing("User=mlsvc", with: "DynamicUser=maybe"))
        for (tree, reason) in [
            (missing, "no unit file vllm.service in"), (masked, "is masked"), (broken, "invalid section header"),
            (refused, "vllm.service:6: DynamicUser=maybe is not a boolean: systemd refuses to load vllm.service"),
        ] {
            let v = try fact(tree)
            #expect(v["name"] == "vllm.service")
            #expect(v["error"]?.stringValue?.contains(reason) == true, "\(v)")
            #expect(v["settings"] == nil, "\(v)")
        }
    }

    // MARK: - Control tests: ACC-013 over canned facts

    /// A unit that meets SL4 as the probe states it; each row changes one thing.
    static func unit(
        user: JSON = "mlsvc", dynamic: Bool = false, runsAsRoot: Bool = false, dedicatedUser: Bool = true,
        settings changes: JSONObject = [:]
    ) -> JSON {
        let source = "/lib/systemd/system/vllm.service"
        var settings: JSONObject = [:]
        for (key, value) in [
            "no_new_privileges": true, "protect_system": "strict", "protect_home": "yes", "private_tmp": true,
            "protect_kernel_tunables": true, "protect_kernel_modules": true, "protect_control_groups": true, "private_devices": false,
            "restrict_address_families": ["AF_UNIX", "AF_INET", "AF_INET6"], "system_call_filter": ["@system-service"],
        ] as [String: JSON] {
            settings[key] = ["value": value, "source": .string(source + ":7")]
        }
        for (key, value) in changes { settings[key] = ["value": value, "source": "default (systemd)"] }
        let userSource = JSON.string(source + ":6")
        return [
            "name": "vllm.service", "source": .string(source), "files": [.string(source)], "ignored": [],
            "user": ["value": user, "source": userSource], "dynamic_user": ["value": .bool(dynamic), "source": userSource],
            "runs_as_root": ["value": .bool(runsAsRoot), "source": userSource],
            "dedicated_user": ["value": .bool(dedicatedUser), "source": userSource], "settings": .object(settings),
        ]
    }

    static let noFilters: JSONObject = ["restrict_address_families": [], "system_call_filter": []]
    static let refused = "/lib/systemd/system/vllm.service:6: DynamicUser=maybe is not a boolean: systemd refuses to load vllm.service"

    /// Rows: case, units, status at SL3 and at SL4, and what a summary that is not a pass names.
    static let acc013Table: [(String, [JSON], Status, Status, [String])] = [
        ("the site lists no weights units", [], .notApplicable, .notApplicable, ["the site lists no weights units"]),
        ("sandboxed, both filters", [unit()], .pass, .pass, []),
        (
            "ProtectSystem=full, no filters",
            [unit(settings: ["protect_system": "full", "restrict_address_families": [], "system_call_filter": []])], .pass, .fail,
            ["vllm.service", "ProtectSystem", "RestrictAddressFamilies", "SystemCallFilter"]
        ),
        (
            "DynamicUser=yes and what it implies, no filters", [unit(user: nil, dynamic: true, settings: noFilters)], .pass, .fail,
            ["vllm.service", "SystemCallFilter"]
        ),
        ("no User= (root)", [unit(user: nil, runsAsRoot: true, dedicatedUser: false)], .fail, .fail, ["vllm.service", "runs as root"]),
        ("User=root", [unit(user: "root", runsAsRoot: true, dedicatedUser: false)], .fail, .fail, ["vllm.service", "runs as root"]),
        ("User=0", [unit(user: "0", runsAsRoot: true, dedicatedUser: false)], .fail, .fail, ["vllm.service", "runs as root"]),
        ("User=nobody, shared", [unit(user: "nobody", dedicatedUser: false)], .fail, .fail, ["vllm.service"]),
        ("NoNewPrivileges off", [unit(settings: ["no_new_privileges": false])], .fail, .fail, ["vllm.service", "NoNewPrivileges"]),
        ("ProtectSystem=yes", [unit(settings: ["protect_system": "yes"])], .fail, .fail, ["vllm.service", "ProtectSystem"]),
        ("ProtectHome off", [unit(settings: ["protect_home": "no"])], .fail, .fail, ["vllm.service", "ProtectHome"]),
        ("PrivateTmp off", [unit(settings: ["private_tmp": false])], .fail, .fail, ["vllm.service", "PrivateTmp"]),
        (
            "ProtectKernelTunables off", [unit(settings: ["protect_kernel_tunables": false])], .fail, .fail,
            ["vllm.service", "ProtectKernelTunables"]
        ),
        (
            "ProtectKernelModules off", [unit(settings: ["protect_kernel_modules": false])], .fail, .fail,
            ["vllm.service", "ProtectKernelModules"]
        ),
        (
            "ProtectControlGroups off", [unit(settings: ["protect_control_groups": false])], .fail, .fail,
            ["vllm.service", "ProtectControlGroups"]
        ),
        (
            "no unit file", [["name": "vllm.service", "error": "no unit file vllm.service in /etc/systemd/system, /lib/systemd/system"]],
            .error, .error, ["vllm.service", "no unit file vllm.service in"]
        ),
        (
            "a unit systemd refuses to load", [["name": "vllm.service", "error": .string(refused)]], .error, .error,
            ["vllm.service", refused]
        ),
    ]

    @Test(arguments: ServiceSandboxTests.acc013Table.indices)
    func acc013OverATableOfFacts(_ row: Int) throws {
        let (name, units, sl3, sl4, named) = ServiceSandboxTests.acc013Table[row]
        let fact: JSON = ["source": "site file (services.weights_units)", "units": .array(units)]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let f = try cannedFinding("ACC-013", profile: profile, facts: ["service_sandbox": fact])
            #expect(f.status == expected && !f.advisory, "\(name) at \(profile): \(f.summary)")
            guard f.status != .pass else { continue }
            for part in named { #expect(f.summary.contains(part), "\(name) at \(profile): \(f.summary)") }
        }
    }
}
