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

    func fact(_ tree: TempTree, site: String = site) throws -> JSON {
        let facts = try audit(root: tree.path, site: site, probes: [ServiceSandboxProbe()]).facts
        guard case .value(let v)? = facts["service_sandbox"] else { throw TestFailure("no service_sandbox fact") }
        let mismatches = FactContract.mismatches(v, try #require(ServiceSandboxProbe().facts["service_sandbox"]), path: "service_sandbox")
        #expect(mismatches.isEmpty, "\(mismatches)")
        return try #require(v["units"]?.arrayValue?.first)
    }

    func findings(_ tree: TempTree, site: String = site) throws -> [String: Finding] {
        var out: [String: Finding] = [:]
        for profile in ["sl3", "sl4"] {
            out[profile] = try audit(root: tree.path, profile: profile, site: site, probes: [ServiceSandboxProbe()]).findings["ACC-013"]
        }
        return out
    }

    @Test func noWeightsUnitIsNotApplicable() throws {
        let tree = host()
        for site in ["role: storage\n", "services:\n  weights_units: []\n"] {
            for (profile, f) in try findings(tree, site: site) {
                #expect(f.status == .notApplicable && !f.advisory, "\(profile): \(f.summary)")
                #expect(f.summary.contains("the site lists no weights units"), "\(f.summary)")
            }
        }
    }

    @Test func aSandboxedUnitPassesAtBothLevels() throws {
        let tree = host()
        let v = try fact(tree)
        #expect(v["name"] == "vllm.service")
        #expect(v["source"] == "/lib/systemd/system/vllm.service")
        #expect(v["user"] == ["value": "mlsvc", "source": "/lib/systemd/system/vllm.service:6"])
        #expect(v["runs_as_root"]?["value"] == false)
        #expect(v["settings"]?["protect_system"] == ["value": "strict", "source": "/lib/systemd/system/vllm.service:8"])
        #expect(v["settings"]?["restrict_address_families"]?["value"] == ["AF_UNIX", "AF_INET", "AF_INET6"])
        #expect(v["settings"]?["private_devices"] == ["value": false, "source": "default (systemd)"])
        #expect(v["ignored"] == [])
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
    }

    @Test func protectSystemFullWithoutFiltersPassesSL3AndFailsSL4() throws {
        let tree = host(
            ServiceSandboxTests.sl4Unit.replacing("ProtectSystem=strict", with: "ProtectSystem=full")
                .replacing("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n", with: "")
                .replacing("SystemCallFilter=@system-service\n", with: ""))
        let f = try findings(tree)
        #expect(f["sl3"]?.status == .pass, "\(f["sl3"]?.summary ?? "")")
        #expect(f["sl4"]?.status == .fail)
        let summary = f["sl4"]?.summary ?? ""
        #expect(summary.contains("vllm.service") && summary.contains("ProtectSystem"), "\(summary)")
        #expect(summary.contains("RestrictAddressFamilies") && summary.contains("SystemCallFilter"), "\(summary)")
    }

    /// What makes ACC-013 fail at both levels, each alone, and what the summary must name.
    static let failures: [(String, String, String)] = [
        ("no User=", "User=mlsvc\n", ""),
        ("User=root", "User=mlsvc\n", "User=root\n"),
        ("User=0", "User=mlsvc\n", "User=0\n"),
        ("User=nobody", "User=mlsvc\n", "User=nobody\n"),
        ("no NoNewPrivileges=", "NoNewPrivileges=yes\n", ""),
        ("NoNewPrivileges=no", "NoNewPrivileges=yes\n", "NoNewPrivileges=no\n"),
        ("ProtectSystem=yes", "ProtectSystem=strict\n", "ProtectSystem=yes\n"),
        ("no ProtectHome=", "ProtectHome=yes\n", ""),
        ("no PrivateTmp=", "PrivateTmp=yes\n", ""),
        ("no ProtectKernelTunables=", "ProtectKernelTunables=yes\n", ""),
        ("no ProtectKernelModules=", "ProtectKernelModules=yes\n", ""),
        ("no ProtectControlGroups=", "ProtectControlGroups=yes\n", ""),
    ]

    @Test(arguments: failures) func eachMissingSettingFails(_ name: String, _ from: String, _ to: String) throws {
        let tree = host(ServiceSandboxTests.sl4Unit.replacing(from, with: to))
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(name), \(profile): \(f.summary)")
            #expect(f.summary.contains("vllm.service"), "\(name): \(f.summary)")
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
        #expect(v["runs_as_root"]?["value"] == true)
        #expect(v["settings"]?["protect_home"]?["value"] == "read-only")
        #expect(v["settings"]?["private_devices"]?["value"] == true)
        #expect(
            v["settings"]?["restrict_address_families"]
                == ["value": ["AF_UNIX"], "source": "/etc/systemd/system/vllm.service.d/30-reset.conf:4"])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.summary.contains("runs as root"), "\(f.summary)")
        }
    }

    @Test func dynamicUserImpliesWhatSystemdImplies() throws {
        let tree = host(
            "[Service]\nExecStart=/usr/bin/vllm\nDynamicUser=yes\nNoNewPrivileges=yes\nProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes\n"
        )
        let v = try fact(tree)
        #expect(v["runs_as_root"]?["value"] == false)
        #expect(v["settings"]?["protect_system"]?["value"] == "strict")
        #expect(v["settings"]?["protect_home"]?["value"] == "read-only")
        #expect(v["settings"]?["private_tmp"]?["value"] == true)
        let f = try findings(tree)
        #expect(f["sl3"]?.status == .pass, "\(f["sl3"]?.summary ?? "")")
        #expect(f["sl4"]?.status == .fail, "no filters at SL4")
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
            #expect(v["error"]?.stringValue?.contains(reason) == true, "\(v)")
            for (profile, f) in try findings(tree) {
                #expect(f.status == .error, "\(profile): \(f.summary)")
                #expect(f.summary.contains("vllm.service") && f.summary.contains(reason), "\(f.summary)")
            }
        }
    }
}
