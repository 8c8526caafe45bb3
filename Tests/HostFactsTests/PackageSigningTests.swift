import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// INT-010: apt sources and options read as apt 2.6 reads them, and the containers/image
/// signature policy where a container runtime is installed; the control at SL3 and SL4.
@Suite struct PackageSigningTests {
    static let debianSources = """
        Types: deb
        URIs: http://deb.debian.org/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb
        URIs: http://deb.debian.org/debian-security
        Suites: bookworm-security
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        """

    /// A Debian 12 host as installed: deb822 sources, no apt.conf options, no container runtime.
    struct Host {
        var files: [String: String] = ["etc/apt/sources.list.d/debian.sources": PackageSigningTests.debianSources]
        var packages: [String] = ["apt"]

        func tree() -> TempTree {
            let tree = TempTree()
            tree.directory("etc/apt/apt.conf.d")
            tree.file("etc/apt/apt.conf.d/01autoremove", "APT { NeverAutoRemove { \"^linux-image.*\"; }; };\n")
            for (path, text) in files { tree.file(path, text) }
            let status = packages.map { "Package: \($0)\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n" }
            tree.file("var/lib/dpkg/status", status.joined(separator: "\n"))
            return tree
        }
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("package_signing", of: PackageSigningProbe(), root: tree.path) }

    // MARK: - Probe tests: the facts of each host

    @Test func debianAsInstalledWithContainersNotApplicable() throws {
        let v = try fact(Host().tree())
        #expect(v["apt_sources"] == PackageSigningTests.debianItems, "\(String(describing: v["apt_sources"]))")
        #expect(v["apt_options"] == PackageSigningTests.options(), "\(String(describing: v["apt_options"]))")
        #expect(v["containers"] == PackageSigningTests.noContainers, "\(String(describing: v["containers"]))")
    }

    @Test func aTrustedOneLineSourceNamesFileAndLine() throws {
        var host = Host()
        host.files["etc/apt/sources.list"] = """
            # deb cdrom:[Debian GNU/Linux 12]/ bookworm main
            deb http://deb.debian.org/debian bookworm main
            deb [arch=amd64 trusted=yes] http://repo.example.org/ai stable main # the vendor's
            """
        let sources = try #require(try fact(host.tree())["apt_sources"]?.arrayValue)
        let vendor = try #require(sources.first { $0["uri"] == "http://repo.example.org/ai" })
        #expect(vendor["unauthenticated"] == ["value": true, "source": "/etc/apt/sources.list:3"])
        #expect(vendor["options"] == ["trusted=yes"])
    }

    @Test func anInsecureAptConfOptionNamesFileAndLine() throws {
        var host = Host()
        host.files["etc/apt/apt.conf.d/99insecure"] = "// for the mirror\nAcquire { AllowInsecureRepositories \"true\"; };\n"
        #expect(
            try fact(host.tree())["apt_options"]
                == PackageSigningTests.options([
                    "Acquire::AllowInsecureRepositories": ["value": true, "source": "/etc/apt/apt.conf.d/99insecure:2"]
                ]))
    }

    static let rejectPolicy = """
        {
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {
                    "registry.example.org": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/etc/pki/containers/r.gpg"}]
                }
            }
        }
        """
    /// What Debian 12's golang-github-containers-common installs.
    static let debianPolicy = """
        {
            "default": [
                {
                    "type": "insecureAcceptAnything"
                }
            ],
            "transports":
                {
                    "docker-daemon":
                        {
                            "": [{"type":"insecureAcceptAnything"}]
                        }
                }
        }
        """

    /// Each host and the part of the fact that decides INT-010 there: the `unauthenticated`
    /// of the vendor's sources (or the error items of the source files), one apt.conf option, or
    /// the containers part.
    enum Part: Sendable {
        case vendorSources([JSON])
        case sourceErrors([JSON])
        case option(String, JSON)
        case optionsError(String)
        case containers(JSON)
    }

    static let cases: [(String, @Sendable (inout Host) -> Void, Part)] = [
        ("stock Debian 12 sources", { _ in }, .vendorSources([])),
        (
            "a deb822 source with Trusted: yes",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "Types: deb\nURIs: http://repo.example.org/ai\nSuites: stable\nComponents: main\nTrusted: yes\n"
            },
            .vendorSources([["value": true, "source": "/etc/apt/sources.list.d/vendor.sources:5"]])
        ),
        (
            "field names without case, and a comment line inside the stanza",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "types: deb\n# the vendor has no key\nuris: http://repo.example.org/ai\nsuites: stable\ncomponents: main\ntrusted: YES\n"
            },
            .vendorSources([["value": true, "source": "/etc/apt/sources.list.d/vendor.sources:6"]])
        ),
        (
            "a trusted stanza with Enabled: no is not read",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "Enabled: no\nTypes: deb\nURIs: http://repo.example.org/ai\nSuites: stable\nComponents: main\nTrusted: yes\n"
            },
            .vendorSources([])
        ),
        (
            "trusted=no is not trusting",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [ trusted=no ] http://repo.example.org/ai stable main\n" },
            .vendorSources([["value": false, "source": "/etc/apt/sources.list.d/vendor.list:1"]])
        ),
        (
            "allow-insecure=yes on one source",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [allow-insecure=yes] http://repo.example.org/ai stable main\n" },
            .vendorSources([["value": true, "source": "/etc/apt/sources.list.d/vendor.list:1"]])
        ),
        (
            "a commented-out trusted line",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "#deb [trusted=yes] http://repo.example.org/ai stable main\n" },
            .vendorSources([])
        ),
        (
            "a file apt does not read (.list.disabled)",
            { $0.files["etc/apt/sources.list.d/vendor.list.disabled"] = "deb [trusted=yes] http://repo.example.org/ai stable main\n" },
            .vendorSources([])
        ),
        (
            "a source line apt refuses is an error, not a pass",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [trusted=yes http://repo.example.org/ai stable main\n" },
            .sourceErrors([
                [
                    "error": "/etc/apt/sources.list.d/vendor.list:1: [option] not terminated",
                    "source": "/etc/apt/sources.list.d/vendor.list",
                ]
            ])
        ),
        (
            "APT::Get::AllowUnauthenticated 1", { $0.files["etc/apt/apt.conf.d/99x"] = "APT::Get::AllowUnauthenticated \"1\";\n" },
            .option("APT::Get::AllowUnauthenticated", ["value": true, "source": "/etc/apt/apt.conf.d/99x:1"])
        ),
        (
            "Acquire::AllowWeakRepositories no", { $0.files["etc/apt/apt.conf.d/99x"] = "Acquire::AllowWeakRepositories \"no\";\n" },
            .option("Acquire::AllowWeakRepositories", ["value": false, "source": "/etc/apt/apt.conf.d/99x:1"])
        ),
        (
            "a later file turns the option off again",
            {
                $0.files["etc/apt/apt.conf.d/50x"] = "Acquire::AllowDowngradeToInsecureRepositories \"true\";\n"
                $0.files["etc/apt/apt.conf.d/99x"] = "acquire::allowdowngradetoinsecurerepositories \"false\";\n"
            },
            .option("Acquire::AllowDowngradeToInsecureRepositories", ["value": false, "source": "/etc/apt/apt.conf.d/99x:1"])
        ),
        (
            "apt.conf Warden cannot read is an error", { $0.files["etc/apt/apt.conf.d/99x"] = "#include \"/etc/other\";\n" },
            .optionsError("/etc/apt/apt.conf.d/99x:1")
        ),
        (
            "podman with Debian's accept-anything policy",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = PackageSigningTests.debianPolicy
            },
            .containers(PackageSigningTests.debianContainers)
        ),
        (
            "podman with a reject default and a signed registry",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = PackageSigningTests.rejectPolicy
            },
            .containers(PackageSigningTests.rejectContainers)
        ),
        (
            "reject by default but one registry accepts anything",
            {
                $0.packages.append("skopeo")
                $0.files["etc/containers/policy.json"] =
                    "{\"default\": [{\"type\": \"reject\"}],\n \"transports\": {\"docker\": {\n  \"quay.io\": [{\"type\": \"insecureAcceptAnything\"}]}}}"
            },
            .containers(PackageSigningTests.quayContainers)
        ),
        (
            "docker.io, which reads no signature policy", { $0.packages.append("docker.io") },
            .containers(["runtimes": ["docker.io"], "scopes": []])
        ),
        (
            "a policy.json that is not JSON",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = "{\"default\": [{\"type\": \"reject\"}]"
            },
            .containers(PackageSigningTests.notJSON)
        ),
    ]

    @Test(arguments: PackageSigningTests.cases.indices)
    func theDecidingFacts(_ row: Int) throws {
        let (name, change, part) = PackageSigningTests.cases[row]
        var host = Host()
        change(&host)
        let v = try fact(host.tree())
        let sources = v["apt_sources"]?.arrayValue ?? []
        switch part {
        case .vendorSources(let expected):
            let found = sources.filter { $0["uri"] == "http://repo.example.org/ai" }.map { $0["unauthenticated"] ?? nil }
            #expect(found == expected, "\(name): \(sources)")
            #expect(!sources.contains { $0["error"] != nil }, "\(name): \(sources)")
        case .sourceErrors(let expected):
            #expect(sources.filter { $0["error"] != nil } == expected, "\(name): \(sources)")
        case .option(let option, let expected):
            let found = v["apt_options"]?.arrayValue?.first { $0["name"] == .string(option) }?["value"]
            #expect(found == expected, "\(name): \(String(describing: v["apt_options"]))")
        case .optionsError(let place):
            #expect(v["apt_options"]?["error"]?.stringValue?.contains(place) == true, "\(name): \(String(describing: v["apt_options"]))")
        case .containers(let expected):
            #expect(v["containers"] == expected, "\(name): \(String(describing: v["containers"]))")
        }
    }

    @Test func anUnsignedContainerScopeIsNamed() throws {
        var host = Host()
        host.packages.append("podman")
        host.files["etc/containers/policy.json"] = PackageSigningTests.debianPolicy
        let v = try fact(host.tree())
        #expect(v["containers"]?["runtimes"] == ["podman"])
        #expect(v["containers"]?["policy"] == "/etc/containers/policy.json")
        let scopes = try #require(v["containers"]?["scopes"]?.arrayValue)
        #expect(scopes.first?["enforcing"] == ["value": false, "source": "/etc/containers/policy.json:2"])
        #expect(scopes.dropFirst().first?["scope"] == "transports.docker-daemon.\"\"")
        #expect(scopes.dropFirst().first?["enforcing"] == ["value": false, "source": "/etc/containers/policy.json:11"])
    }

    // MARK: - Control tests: INT-010 over canned facts

    /// A source as the probe reports it, used with a valid signature unless `unauthenticated`.
    static func source(
        _ uri: String, _ suite: String, line: String, unauthenticated: Bool = false, options: JSON = []
    ) -> JSON {
        [
            "entry": .string("deb \(uri) \(suite)"), "type": "deb", "uri": .string(uri), "suite": .string(suite), "options": options,
            "unauthenticated": ["value": .bool(unauthenticated), "source": .string(line)],
        ]
    }

    static let debianItems: JSON = [
        source("http://deb.debian.org/debian", "bookworm", line: "/etc/apt/sources.list.d/debian.sources:1"),
        source("http://deb.debian.org/debian", "bookworm-updates", line: "/etc/apt/sources.list.d/debian.sources:1"),
        source("http://deb.debian.org/debian-security", "bookworm-security", line: "/etc/apt/sources.list.d/debian.sources:7"),
    ]

    static let noContainers: JSON = [
        "runtimes": [],
        "scopes": [
            "not_applicable":
                "no container runtime installed (none of podman, skopeo, buildah, cri-o, docker.io, docker-ce, containerd, containerd.io in dpkg's status) and no /etc/containers/policy.json"
        ],
    ]

    static func scope(_ scope: String, _ requirements: JSON, enforcing: Bool, source: String) -> JSON {
        ["scope": .string(scope), "requirements": requirements, "enforcing": ["value": .bool(enforcing), "source": .string(source)]]
    }

    static func containers(_ runtime: String, _ scopes: JSON) -> JSON {
        ["runtimes": [.string(runtime)], "policy": "/etc/containers/policy.json", "scopes": scopes]
    }

    static let debianContainers = containers(
        "podman",
        [
            scope("default", ["insecureAcceptAnything"], enforcing: false, source: "/etc/containers/policy.json:2"),
            scope(
                "transports.docker-daemon.\"\"", ["insecureAcceptAnything"], enforcing: false,
                source: "/etc/containers/policy.json:11"),
        ])
    static let rejectContainers = containers(
        "podman",
        [
            scope("default", ["reject"], enforcing: true, source: "/etc/containers/policy.json:2"),
            scope(
                "transports.docker.\"registry.example.org\"", ["signedBy"], enforcing: true,
                source: "/etc/containers/policy.json:5"),
        ])
    static let quayContainers = containers(
        "skopeo",
        [
            scope("default", ["reject"], enforcing: true, source: "/etc/containers/policy.json:1"),
            scope(
                "transports.docker.\"quay.io\"", ["insecureAcceptAnything"], enforcing: false,
                source: "/etc/containers/policy.json:3"),
        ])
    static let notJSON = containers(
        "podman", ["error": "/etc/containers/policy.json: line 1, column 33: unexpected end of input in object"])

    /// The `package_signing` fact of Debian 12 as installed; each row changes one thing.
    static func signing(sources: JSON = debianItems, options: JSON = options(), containers: JSON = noContainers) -> JSON {
        ["apt_sources": sources, "apt_options": options, "containers": containers]
    }

    static func withVendor(_ vendor: JSON) -> JSON { .array((debianItems.arrayValue ?? []) + [vendor]) }

    /// A row: what changes, the fact, the status (the same at SL3 and SL4), and the source a
    /// failed piece of evidence names.
    static let int010Table: [(String, JSON, Status, String?)] = [
        ("stock Debian 12", signing(), .pass, nil),
        (
            "a trusted one-line source",
            signing(
                sources: withVendor(
                    source(
                        "http://repo.example.org/ai", "stable", line: "/etc/apt/sources.list:3", unauthenticated: true,
                        options: ["trusted=yes"]))),
            .fail, "/etc/apt/sources.list:3"
        ),
        (
            "trusted=no",
            signing(
                sources: withVendor(
                    source("http://repo.example.org/ai", "stable", line: "/etc/apt/sources.list.d/vendor.list:1", options: ["trusted=no"]))),
            .pass, nil
        ),
        (
            "a source line apt refuses",
            signing(
                sources: withVendor([
                    "error": "/etc/apt/sources.list.d/vendor.list:1: [option] not terminated",
                    "source": "/etc/apt/sources.list.d/vendor.list",
                ])), .error, nil
        ),
        (
            "an insecure apt.conf option",
            signing(
                options: options(["Acquire::AllowInsecureRepositories": ["value": true, "source": "/etc/apt/apt.conf.d/99insecure:2"]])),
            .fail, "/etc/apt/apt.conf.d/99insecure:2"
        ),
        (
            "an option set to false",
            signing(options: options(["Acquire::AllowWeakRepositories": ["value": false, "source": "/etc/apt/apt.conf.d/99x:1"]])), .pass,
            nil
        ),
        ("apt.conf Warden cannot read", signing(options: ["error": "/etc/apt/apt.conf.d/99x:1: #include is not read"]), .error, nil),
        ("podman with Debian's accept-anything policy", signing(containers: debianContainers), .fail, "/etc/containers/policy.json:2"),
        ("podman with a reject default and a signed registry", signing(containers: rejectContainers), .pass, nil),
        (
            "reject by default but one registry accepts anything", signing(containers: quayContainers), .fail,
            "/etc/containers/policy.json:3"
        ),
        ("docker.io, which reads no signature policy", signing(containers: ["runtimes": ["docker.io"], "scopes": []]), .fail, nil),
        ("a policy.json that is not JSON", signing(containers: notJSON), .error, nil),
    ]

    @Test(arguments: PackageSigningTests.int010Table.indices)
    func int010OverATableOfFacts(_ row: Int) throws {
        let (name, signing, expected, source) = PackageSigningTests.int010Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("INT-010", profile: profile, facts: ["package_signing": signing])
            #expect(f.status == expected, "\(profile) \(name): \(f.summary)")
            if let source { #expect(f.evidence.contains { $0.source == source && $0.ok == false }, "\(profile) \(name): \(f.evidence)") }
        }
    }

    /// The apt.conf options as the probe reports them, all unset but `set`.
    static func options(_ set: [String: JSON] = [:]) -> JSON {
        .array(
            [
                "APT::Get::AllowUnauthenticated", "Acquire::AllowInsecureRepositories", "Acquire::AllowDowngradeToInsecureRepositories",
                "Acquire::AllowWeakRepositories",
            ].map { name in ["name": .string(name), "value": set[name] ?? ["value": false, "source": .string("\(name) (unset: false)")]] })
    }

    /// apt's StringToBool: what the `trusted` option and the apt.conf options are read with.
    @Test func aptBooleans() {
        for t in ["yes", "TRUE", "with", "on", "enable", "1", "0x1"] { #expect(PackageSigningProbe.aptBool(t, default: false), "\(t)") }
        for t in ["no", "False", "without", "off", "disable", "0"] { #expect(!PackageSigningProbe.aptBool(t, default: true), "\(t)") }
        for t in ["2", "maybe", ""] { #expect(!PackageSigningProbe.aptBool(t, default: false), "\(t)") }
    }
}
