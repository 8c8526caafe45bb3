import HostFacts
import LocalFiles
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// INT-007: at SL3 nothing of the site's software denylist is installed or on the PATH (and a
/// site without a denylist fails); at SL4 also fapolicyd enforcing a default-deny of execution,
/// or IMA appraisal enforced.
@Suite struct ExecutionControlTests {
    static let probes: [any Probe] = [ExecutionControlProbe(), KernelCmdlineProbe()]
    static let denylist = "software:\n  denylist: [nmap, netcat-traditional]\n"

    /// A merged-/usr host with a dpkg database holding `packages` (and a removed nmap).
    func host(packages: [String] = []) -> TempTree {
        let tree = TempTree()
        var status = "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n\n"
        status += "Package: nmap\nStatus: deinstall ok config-files\nVersion: 7.93+dfsg1-1\n\n"
        for p in packages { status += "Package: \(p)\nStatus: install ok installed\nVersion: 1.10-1\n\n" }
        tree.file("var/lib/dpkg/status", status)
        tree.directory("usr/bin")
        tree.directory("usr/sbin")
        tree.symlink("bin", to: "usr/bin")
        tree.symlink("sbin", to: "usr/sbin")
        tree.directory("etc/systemd/system/multi-user.target.wants")
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        return tree
    }

    /// fapolicyd as its packages ship it: enforcing, enabled, rules ending in a deny of execute
    /// followed by an allow of open.
    func fapolicyd(_ tree: TempTree, permissive: String = "0", rules: [String: String]? = nil) {
        tree.file("etc/fapolicyd/fapolicyd.conf", "#\n# fapolicyd\npermissive = \(permissive)\nnice_val = 14\nq_size = 800\n")
        let shipped = [
            "10-languages.rules": "%languages=application/x-bytecode.python,text/x-python\n",
            "40-bad-elf.rules": "# ELF with a bad header\ndeny_audit perm=any all : ftype=application/x-bad-elf\n",
            "70-trusted-lang.rules": "allow perm=open all : ftype=%languages trust=1\ndeny_audit perm=any all : ftype=%languages\n",
            "90-deny-execute.rules": "# Deny everything not trusted\ndeny_audit perm=execute all : all\n",
            "95-allow-open.rules": "allow perm=open all : all\n",
        ]
        for (name, text) in rules ?? shipped { tree.file("etc/fapolicyd/rules.d/\(name)", text) }
        tree.symlink("etc/systemd/system/multi-user.target.wants/fapolicyd.service", to: "/usr/lib/systemd/system/fapolicyd.service")
    }

    /// The `execution` fact the probe collects from `tree` with `site`, checked against its type.
    func fact(_ tree: TempTree, site: String? = ExecutionControlTests.denylist) throws -> JSON {
        try probeFact("execution", of: ExecutionControlProbe(), root: tree.path, site: site)
    }

    static let conf = "/etc/fapolicyd/fapolicyd.conf"
    static let rulesD = "/etc/fapolicyd/rules.d"

    // MARK: - Probe tests: the facts of each host

    @Test(arguments: [nil, "software:\n  denylist: []\n", "role: inference\n"])
    func withoutADenylistNothingIsLookedFor(site: String?) throws {
        let tree = host(packages: ["nmap"])
        tree.file("usr/bin/nmap", "#!/bin/sh\n", mode: 0o755)
        #expect(try fact(tree, site: site)["denylist"] == ["names": [], "packages": [], "executables": []])
    }

    /// End to end once: a site file without a denylist (none, an empty one, one without the key)
    /// goes through the parser and the collector's `site` fact to a failure at both levels; the
    /// point is that an absent key and an empty list both reach the check as "no list".
    @Test(arguments: [nil, "software:\n  denylist: []\n", "role: inference\n"])
    func withoutADenylistBothLevelsFail(site: String?) throws {
        let tree = host()
        fapolicyd(tree)
        for profile in ["sl3", "sl4"] {
            let f = try audit(root: tree.path, profile: profile, site: site, probes: ExecutionControlTests.probes)
                .findings["INT-007"]
            #expect(f.status == .fail && !f.advisory, "\(profile): \(f.summary)")
            #expect(f.summary.contains("software.denylist"), "\(f.summary)")
        }
    }

    @Test func nothingDenylistedAndNoAllowlist() throws {
        let tree = host(packages: ["curl"])
        tree.file("usr/bin/curl", "", mode: 0o755)
        tree.file("usr/bin/nmap", "not executable", mode: 0o644)
        let v = try fact(tree)
        #expect(v["denylist"] == ["names": ["nmap", "netcat-traditional"], "packages": [], "executables": []], "\(v)")
        #expect(
            v["fapolicyd"] == [
                "enabled": [
                    "value": false,
                    "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/fapolicyd.service (no link, or masked)",
                ],
                "permissive": ["value": false, "source": "/etc/fapolicyd/fapolicyd.conf (absent: fapolicyd's default, 0)"],
                "rules_files": [],
                "execute_denied": ["value": false, "source": "no fapolicyd rules (rules.d/*.rules, compiled.rules, fapolicyd.rules)"],
            ], "\(v)")
        #expect(
            v["ima"]?["appraise_rule"] == [
                "value": false,
                "source":
                    "/etc/default/grub:2 (GRUB, offline root: the next boot's command line) (no /etc/ima/ima-policy; ima_policy=appraise_tcb or ima_appraise_tcb)",
            ], "\(v)")
    }

    @Test func aDenylistedPackageIsListedButNotARemovedOne() throws {
        let tree = host(packages: ["netcat-traditional"])
        let packages = try fact(tree)["denylist"]?["packages"]
        // The removed nmap (config-files) is not installed.
        #expect(
            packages == [
                [
                    "package": "netcat-traditional", "status": "installed", "version": "1.10-1", "source": "/var/lib/dpkg/status",
                ]
            ], "\(String(describing: packages))")
    }

    @Test func aDenylistedExecutableOnThePathIsNamedOnceThroughMergedUsr() throws {
        let tree = host()
        tree.file("usr/bin/nmap", "#!/bin/sh\n", mode: 0o755)
        let executables = try fact(tree)["denylist"]?["executables"]
        #expect(executables == [["name": "nmap", "path": "/usr/bin/nmap"]], "/bin is /usr/bin: one file, named once")
        // Also in /usr/local, which no package owns.
        let local = host()
        local.file("usr/local/sbin/netcat-traditional", "", mode: 0o700)
        #expect(
            try fact(local)["denylist"]?["executables"] == [
                ["name": "netcat-traditional", "path": "/usr/local/sbin/netcat-traditional"]
            ])
    }

    @Test func anUnreadablePackageDatabaseIsAnErrorNamingTheLine() throws {
        let tree = host()
        tree.file("var/lib/dpkg/status", "Status: install ok installed\n")
        let packages = try fact(tree)["denylist"]?["packages"]
        #expect(packages == ["error": "/var/lib/dpkg/status:1: Package: missing", "source": "/var/lib/dpkg/status"])
    }

    @Test func aDenylistEntryMustBeAPackageName() throws {
        for bad in ["/usr/bin/nc", "Nmap", "x", "-rf"] {
            #expect(throws: WardenError.self) {
                try Site.parse("software:\n  denylist: [nmap, \"\(bad)\"]\n", file: "site.yaml", digester: .libcrypto)
            }
            do {
                _ = try Site.parse("software:\n  denylist: [nmap, \"\(bad)\"]\n", file: "site.yaml", digester: .libcrypto)
            } catch {
                #expect("\(error)".contains("site.yaml:2") && "\(error)".contains("not a Debian package name"), "\(error)")
            }
        }
        let site = try Site.parse("software:\n  denylist: [nmap, g++, libc6.1-dev]\n", file: "site.yaml", digester: .libcrypto)
        #expect(site.softwareDenylist == ["nmap", "g++", "libc6.1-dev"])
    }

    @Test func fapolicydAsShipped() throws {
        let tree = host()
        fapolicyd(tree)
        let v = try #require(try fact(tree)["fapolicyd"])
        #expect(v["permissive"] == ["value": false, "source": "/etc/fapolicyd/fapolicyd.conf:3"], "\(v)")
        #expect(v["execute_denied"] == ["value": true, "source": "/etc/fapolicyd/rules.d/90-deny-execute.rules:2"], "\(v)")
        #expect(v["enabled"] == ["value": true, "source": "/etc/systemd/system/multi-user.target.wants/fapolicyd.service"], "\(v)")
        #expect(
            v["rules_files"]
                == [
                    "/etc/fapolicyd/rules.d/10-languages.rules", "/etc/fapolicyd/rules.d/40-bad-elf.rules",
                    "/etc/fapolicyd/rules.d/70-trusted-lang.rules", "/etc/fapolicyd/rules.d/90-deny-execute.rules",
                    "/etc/fapolicyd/rules.d/95-allow-open.rules",
                ], "\(v)")
    }

    @Test func permissiveAsFapolicydReadsIt() throws {
        func permissive(_ value: String) throws -> JSON? {
            let tree = host()
            fapolicyd(tree, permissive: value)
            return try fact(tree)["fapolicyd"]?["permissive"]
        }
        #expect(try permissive("1") == ["value": true, "source": "/etc/fapolicyd/fapolicyd.conf:3"])
        // A number above 1 is taken as 1.
        #expect(try permissive("2") == ["value": true, "source": "/etc/fapolicyd/fapolicyd.conf:3"])
        // A value fapolicyd refuses stops the daemon: an error naming the line.
        #expect(
            try permissive("yes") == [
                "error": "/etc/fapolicyd/fapolicyd.conf:3: permissive: expected a number, found 'yes' (fapolicyd would not start)",
                "source": "/etc/fapolicyd/fapolicyd.conf:3",
            ])
        // daemon-config.c splits at spaces and compares names exactly: both lines stop fapolicyd.
        for line in ["permissive=0", "Permissive = 0"] {
            let other = host()
            fapolicyd(other)
            other.file("etc/fapolicyd/fapolicyd.conf", "# fapolicyd\n\(line)\n")
            let p = try fact(other)["fapolicyd"]?["permissive"]
            #expect(p?["source"] == "/etc/fapolicyd/fapolicyd.conf:2", "\(line): \(String(describing: p))")
            #expect(p?["error"]?.stringValue?.hasPrefix("/etc/fapolicyd/fapolicyd.conf:2: ") == true, "\(line): \(String(describing: p))")
        }
    }

    @Test func fapolicydMaskedIsNotEnabled() throws {
        let tree = host()
        fapolicyd(tree)
        tree.symlink("etc/systemd/system/fapolicyd.service", to: "/dev/null")
        #expect(
            try fact(tree)["fapolicyd"]?["enabled"] == [
                "value": false, "source": "{/etc,/run}/systemd/system/*.{wants,requires,upholds}/fapolicyd.service (no link, or masked)",
            ])
    }

    /// The first matching rule decides: an allow of execute for all : all before the deny makes
    /// the deny dead, wherever the deny sits; rules.d is read in `ls -v` order (9 before 10).
    @Test func theFirstRuleForExecuteOfAllDecides() throws {
        func executeDenied(_ rules: [String: String]) throws -> JSON? {
            let tree = host()
            fapolicyd(tree, rules: rules)
            return try fact(tree)["fapolicyd"]?["execute_denied"]
        }
        #expect(
            try executeDenied(["10-deny.rules": "deny_audit perm=execute all : all\n", "9-allow.rules": "allow perm=any all : all\n"])
                == ["value": false, "source": "/etc/fapolicyd/rules.d/9-allow.rules:1"])
        // Swapped by name, the deny comes first.
        #expect(
            try executeDenied(["9-deny.rules": "deny_audit perm=execute all : all\n", "10-allow.rules": "allow perm=any all : all\n"])
                == ["value": true, "source": "/etc/fapolicyd/rules.d/9-deny.rules:1"])
        // An allow of open only, or of execute for trusted files only, does not defeat it.
        #expect(
            try executeDenied(["50.rules": "allow perm=open all : all\nallow perm=execute all : trust=1\ndeny perm=any all : all\n"])
                == ["value": true, "source": "/etc/fapolicyd/rules.d/50.rules:3"])
        // Rules that only end in a deny of open do not deny execution.
        #expect(
            try executeDenied(["50.rules": "allow perm=execute all : trust=1\ndeny all : all\n"]) == [
                "value": false, "source": "/etc/fapolicyd/rules.d/50.rules (no rule denies execute for all : all)",
            ])
    }

    @Test func theOldSingleRulesFileIsReadWithoutRulesD() throws {
        let tree = host()
        fapolicyd(tree, rules: [:])
        tree.file("etc/fapolicyd/fapolicyd.rules", "allow perm=execute all : trust=1\ndeny_audit perm=any all : all\n")
        let v = try #require(try fact(tree)["fapolicyd"])
        #expect(v["rules_files"] == ["/etc/fapolicyd/fapolicyd.rules"], "\(v)")
        #expect(v["execute_denied"] == ["value": true, "source": "/etc/fapolicyd/fapolicyd.rules:2"], "\(v)")
    }

    @Test func aMalformedRuleIsAnErrorNamingItsLine() throws {
        // fapolicyd's rules.c takes perm= only right after the decision, and knows eight decisions.
        for (rules, why) in [
            ("# policy\ndeny_audit perm=execute all all\n", "50.rules:2: a rule needs ':' between subject and object"),
            ("deny_audit all perm=execute : all\n", "50.rules:1: perm= must come right after the decision"),
            ("block perm=execute all : all\n", "50.rules:1: unknown decision 'block'"),
        ] {
            let tree = host()
            fapolicyd(tree, rules: ["50.rules": rules])
            let v = try fact(tree)["fapolicyd"]
            let error: JSON = ["error": .string("/etc/fapolicyd/rules.d/" + why)]
            #expect(v?["execute_denied"] == error && v?["rules_files"] == error, "\(rules): \(String(describing: v))")
        }
    }

    @Test func anIMAPolicyRuleAppraisingExecution() throws {
        let tree = host()
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"ima_appraise=enforce\"\n")
        tree.file(
            "etc/ima/ima-policy", "# measure, then appraise\nmeasure func=BPRM_CHECK\nappraise func=BPRM_CHECK appraise_type=imasig\n")
        #expect(try fact(tree)["ima"]?["appraise_rule"] == ["value": true, "source": "/etc/ima/ima-policy:3"])
        #expect(try probeFact("cmdline", of: KernelCmdlineProbe(), root: tree.path)["parameters"]?["ima_appraise"] == "enforce")
        // A policy that appraises only modules allows any program.
        tree.file("etc/ima/ima-policy", "appraise func=MODULE_CHECK appraise_type=imasig\n")
        #expect(
            try fact(tree)["ima"]?["appraise_rule"] == ["value": false, "source": "/etc/ima/ima-policy (no appraise rule for execution)"])
    }

    /// Without a policy file the command line's built-in appraise_tcb policy counts, in either mode.
    @Test(arguments: ["enforce", "log"])
    func theBuiltInAppraiseTCBPolicy(mode: String) throws {
        let tree = host()
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"ima_appraise=\(mode) ima_policy=tcb|appraise_tcb\"\n")
        #expect(
            try fact(tree)["ima"]?["appraise_rule"] == [
                "value": true,
                "source":
                    "/etc/default/grub:1 (GRUB, offline root: the next boot's command line) (no /etc/ima/ima-policy; ima_policy=appraise_tcb or ima_appraise_tcb)",
            ])
        #expect(try probeFact("cmdline", of: KernelCmdlineProbe(), root: tree.path)["parameters"]?["ima_appraise"] == .string(mode))
    }

    // MARK: - Control tests: INT-007 over canned facts

    static let names: JSON = ["nmap", "netcat-traditional"]

    /// The `execution` fact of a host with nothing denylisted and fapolicyd as shipped, enabled
    /// and enforcing; each row changes one thing.
    static func execution(
        packages: JSON = [], executables: JSON = [], enabled: Bool = true,
        permissive: JSON = ["value": false, "source": "/etc/fapolicyd/fapolicyd.conf:3"],
        executeDenied: JSON = ["value": true, "source": "/etc/fapolicyd/rules.d/90-deny-execute.rules:2"],
        appraiseRule: JSON = ["value": false, "source": "/etc/ima/ima-policy (no appraise rule for execution)"]
    ) -> JSON {
        [
            "denylist": ["names": names, "packages": packages, "executables": executables],
            "fapolicyd": [
                "enabled": ["value": .bool(enabled), "source": "/etc/systemd/system/multi-user.target.wants/fapolicyd.service"],
                "permissive": permissive, "execute_denied": executeDenied,
                "rules_files": ["/etc/fapolicyd/rules.d/90-deny-execute.rules"],
            ],
            "ima": ["appraise_rule": appraiseRule],
        ]
    }

    /// The offline command line GRUB gives, parsed as the probe parses it.
    static func cmdline(_ parameters: JSONObject = ["quiet": true]) -> JSON {
        let text = parameters.keys.sorted().map { parameters[$0] == true ? $0 : "\($0)=\(parameters[$0]!.stringValue ?? "")" }
        return [
            "text": .string(text.joined(separator: " ")), "runtime": false, "parameters": .object(parameters),
            "source": "/etc/default/grub:1 (GRUB, offline root: the next boot's command line)",
        ]
    }

    static func site(_ denylist: [String]? = ["nmap", "netcat-traditional"]) -> JSON {
        var site: JSONObject = ["present": true, "source": "site.yaml"]
        if let denylist { site["software"] = ["denylist": .array(denylist.map { .string($0) })] }
        return .object(site)
    }

    static let imaOnly = execution(
        enabled: false, appraiseRule: ["value": true, "source": "/etc/ima/ima-policy:3"])

    /// A row: what changes, the facts, the status at SL3 and SL4, and a part of the summary of
    /// each level that does not pass.
    static let int007Table: [(String, [String: JSON], Status, Status, String?)] = [
        ("fapolicyd as shipped", ["execution": execution(), "cmdline": cmdline(), "site": site()], .pass, .pass, nil),
        (
            "fapolicyd.service's enablement links unreadable",
            [
                "execution": AuditRulesProbeTests.with(
                    execution(),
                    [
                        "fapolicyd": AuditRulesProbeTests.with(
                            execution()["fapolicyd"]!, ["enabled": UnknownEnablementTests.stated("fapolicyd.service")])
                    ]),
                "cmdline": cmdline(), "site": site(),
            ], .pass, .error, UnknownEnablementTests.unknown
        ),
        (
            "no site file",
            ["execution": execution(), "cmdline": cmdline(), "site": ["present": false, "source": "no site file (defaults)"]], .fail, .fail,
            "software.denylist"
        ),
        (
            "a site without a denylist", ["execution": execution(), "cmdline": cmdline(), "site": site(nil)], .fail, .fail,
            "software.denylist"
        ),
        ("an empty denylist", ["execution": execution(), "cmdline": cmdline(), "site": site([])], .fail, .fail, "software.denylist"),
        (
            "no allowlist at all",
            [
                "execution": execution(
                    enabled: false,
                    permissive: ["value": false, "source": "/etc/fapolicyd/fapolicyd.conf (absent: fapolicyd's default, 0)"],
                    executeDenied: ["value": false, "source": "no fapolicyd rules (rules.d/*.rules, compiled.rules, fapolicyd.rules)"]),
                "cmdline": cmdline(), "site": site(),
            ], .pass, .fail, "fapolicyd.service enabled"
        ),
        (
            "a denylisted package installed",
            [
                "execution": execution(packages: [
                    [
                        "package": "netcat-traditional", "status": "installed", "version": "1.10-1",
                        "source": "/var/lib/dpkg/status",
                    ]
                ]), "cmdline": cmdline(), "site": site(),
            ], .fail, .fail, "netcat-traditional"
        ),
        (
            "a denylisted executable on the PATH",
            ["execution": execution(executables: [["name": "nmap", "path": "/usr/bin/nmap"]]), "cmdline": cmdline(), "site": site()],
            .fail, .fail, "/usr/bin/nmap"
        ),
        (
            "dpkg's database unreadable",
            [
                "execution": execution(packages: [
                    "error": "/var/lib/dpkg/status:1: Package: missing", "source": "/var/lib/dpkg/status",
                ]), "cmdline": cmdline(), "site": site(),
            ], .error, .error, "/var/lib/dpkg/status:1"
        ),
        (
            "fapolicyd permissive",
            [
                "execution": execution(permissive: ["value": true, "source": "/etc/fapolicyd/fapolicyd.conf:3"]), "cmdline": cmdline(),
                "site": site(),
            ],
            .pass, .fail, "fapolicyd permissive"
        ),
        (
            "a permissive value fapolicyd refuses",
            [
                "execution": execution(permissive: [
                    "error": "/etc/fapolicyd/fapolicyd.conf:3: permissive: expected a number, found 'yes' (fapolicyd would not start)",
                    "source": "/etc/fapolicyd/fapolicyd.conf:3",
                ]), "cmdline": cmdline(), "site": site(),
            ], .pass, .error, "/etc/fapolicyd/fapolicyd.conf:3"
        ),
        (
            "fapolicyd not enabled", ["execution": execution(enabled: false), "cmdline": cmdline(), "site": site()], .pass, .fail,
            "fapolicyd.service enabled"
        ),
        (
            "an earlier blanket allow",
            [
                "execution": execution(executeDenied: ["value": false, "source": "/etc/fapolicyd/rules.d/9-allow.rules:1"]),
                "cmdline": cmdline(), "site": site(),
            ],
            .pass, .fail, nil
        ),
        (
            "a malformed rule",
            [
                "execution": execution(executeDenied: [
                    "error": "/etc/fapolicyd/rules.d/50.rules:2: a rule needs ':' between subject and object"
                ]),
                "cmdline": cmdline(), "site": site(),
            ], .pass, .error, "/etc/fapolicyd/rules.d/50.rules:2"
        ),
        (
            "IMA appraisal enforced with an execute rule",
            ["execution": imaOnly, "cmdline": cmdline(["ima_appraise": "enforce"]), "site": site()], .pass, .pass, nil
        ),
        (
            "IMA appraisal enforced, appraising modules only",
            ["execution": execution(enabled: false), "cmdline": cmdline(["ima_appraise": "enforce"]), "site": site()],
            .pass, .fail, "IMA appraise rule"
        ),
        (
            "IMA appraisal in log mode",
            ["execution": imaOnly, "cmdline": cmdline(["ima_appraise": "log", "ima_policy": "appraise_tcb"]), "site": site()],
            .pass, .fail, "ima_appraise"
        ),
    ]

    @Test(arguments: ExecutionControlTests.int007Table.indices)
    func int007OverATableOfFacts(_ row: Int) throws {
        let (name, facts, sl3, sl4, summary) = ExecutionControlTests.int007Table[row]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let f = try cannedFinding("INT-007", profile: profile, facts: facts)
            #expect(f.status == expected && !f.advisory, "\(profile) \(name): \(f.summary)")
            if let summary, expected != .pass { #expect(f.summary.contains(summary), "\(profile) \(name): \(f.summary)") }
        }
    }

    /// A pass at SL3 names the list it checked.
    @Test func aPassNamesTheDenylist() throws {
        let f = try cannedFinding(
            "INT-007", profile: "sl3", facts: ["execution": Self.execution(), "cmdline": Self.cmdline(), "site": Self.site()])
        #expect(f.status == .pass && f.evidence.contains { $0.observed == ["nmap", "netcat-traditional"] }, "\(f.evidence)")
    }

    /// Without an allowlist SL4's summary names both ways to have one.
    @Test func noAllowlistNamesFapolicydAndIMA() throws {
        let f = try cannedFinding(
            "INT-007", profile: "sl4", facts: ["execution": Self.execution(enabled: false), "cmdline": Self.cmdline(), "site": Self.site()])
        #expect(f.status == .fail && f.summary.contains("fapolicyd.service enabled") && f.summary.contains("ima_appraise"), "\(f.summary)")
    }

    // MARK: the oracle

    /// On the real Debian 12 root, with a file of every kind in /usr/local/bin: the names Warden
    /// finds on the PATH are those `command -v` finds with root's PATH (ENV_SUPATH), and the
    /// packages those dpkg-query reports as installed.
    @Test func theDenylistAgreesWithTheShellAndDpkgOnTheRealRoot() throws {
        let root = try RealRoots.debian12()
        let names = ["dpkg", "bash", "tar", "login", "mount", "nmap", "socat", "local-tool", "local-data", "local-link"]
        let layer = TempTree(prefix: "warden-denylist-oracle")
        layer.file("usr/local/bin/local-tool", "#!/bin/sh\n", mode: 0o755)
        layer.file("usr/local/bin/local-data", "not a program\n", mode: 0o644)
        layer.symlink("usr/local/bin/local-link", to: "/usr/bin/tar")
        let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let script =
            "for n in \(names.joined(separator: " ")); do PATH=\(path) command -v \"$n\" >/dev/null && echo \"$n\"; done; "
            + "dpkg-query -W -f '${db:Status-Status} ${Package}\\n' \(names.joined(separator: " ")) 2>/dev/null; true"
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 120) }
        try #require(r.status == 0, "\(r.stderr)")
        var onPath: Set<String> = []
        var installed: Set<String> = []
        for line in r.stdout.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 1 { onPath.insert(String(words[0])) }
            if words.count == 2, words[0] == "installed" { installed.insert(String(words[1])) }
        }
        // Warden reads the same files: the root with the layer's files on top.
        let copy = TempTree(prefix: "warden-denylist-ours")
        copy.file("var/lib/dpkg/status", try LocalFile.readText(root + "/var/lib/dpkg/status", limit: 64 << 20))
        for dir in ["usr/bin", "usr/sbin"] { copy.directory(dir) }
        copy.symlink("bin", to: "usr/bin")
        copy.symlink("sbin", to: "usr/sbin")
        let real = try HostRoot(root)
        for name in names {
            for dir in ["usr/bin", "usr/sbin"] {
                if let info = try? real.info("/\(dir)/\(name)"), info.kind == .regular {
                    copy.file("\(dir)/\(name)", "", mode: UInt32(info.mode & 0o7777))
                }
            }
        }
        copy.file("usr/local/bin/local-tool", "#!/bin/sh\n", mode: 0o755)
        copy.file("usr/local/bin/local-data", "not a program\n", mode: 0o644)
        copy.symlink("usr/local/bin/local-link", to: "/usr/bin/tar")
        let site = "software:\n  denylist: [\(names.joined(separator: ", "))]\n"
        let v = try fact(copy, site: site)
        let ours = Set((v["denylist"]?["executables"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        let ourPackages = Set((v["denylist"]?["packages"]?.arrayValue ?? []).compactMap { $0["package"]?.stringValue })
        #expect(ours == onPath, "Warden \(ours.sorted()), the shell \(onPath.sorted())")
        #expect(ourPackages == installed, "Warden \(ourPackages.sorted()), dpkg-query \(installed.sorted())")
        #expect(onPath.isSuperset(of: ["dpkg", "bash", "tar", "local-tool", "local-link"]) && !onPath.contains("local-data"))
        #expect(installed.isSuperset(of: ["dpkg", "bash", "tar"]) && !installed.contains("nmap"))
    }
}
