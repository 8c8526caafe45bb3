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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("INT-010", root: tree.path, probes: [PackageSigningProbe()])
    }

    @Test func debianAsInstalledPassesWithContainersNotApplicable() throws {
        let tree = Host().tree()
        let v = try fact(tree)
        let sources = try #require(v["apt_sources"]?.arrayValue)
        #expect(sources.count == 3)
        #expect(
            sources.first?["unauthenticated"] == ["value": false, "source": "/etc/apt/sources.list.d/debian.sources:1"])
        #expect(sources.map { $0["suite"] } == ["bookworm", "bookworm-updates", "bookworm-security"])
        #expect(
            v["apt_options"]?[1] == [
                "name": "Acquire::AllowInsecureRepositories",
                "value": ["value": false, "source": "Acquire::AllowInsecureRepositories (unset: false)"],
            ])
        #expect(v["containers"]?["scopes"]?["not_applicable"]?.stringValue?.hasPrefix("no container runtime installed") == true)
        for (profile, f) in try findings(tree) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func aTrustedOneLineSourceFailsNamingFileAndLine() throws {
        var host = Host()
        host.files["etc/apt/sources.list"] = """
            # deb cdrom:[Debian GNU/Linux 12]/ bookworm main
            deb http://deb.debian.org/debian bookworm main
            deb [arch=amd64 trusted=yes] http://repo.example.org/ai stable main # the vendor's
            """
        let tree = host.tree()
        let v = try fact(tree)
        let sources = try #require(v["apt_sources"]?.arrayValue)
        let vendor = try #require(sources.first { $0["uri"] == "http://repo.example.org/ai" })
        #expect(vendor["unauthenticated"] == ["value": true, "source": "/etc/apt/sources.list:3"])
        #expect(vendor["options"] == ["trusted=yes"])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/etc/apt/sources.list:3" && $0.ok == false }, "\(profile): \(f.evidence)")
        }
    }

    @Test func anInsecureAptConfOptionFailsNamingFileAndLine() throws {
        var host = Host()
        host.files["etc/apt/apt.conf.d/99insecure"] = "// for the mirror\nAcquire { AllowInsecureRepositories \"true\"; };\n"
        let tree = host.tree()
        let v = try fact(tree)
        #expect(
            v["apt_options"]?[1] == [
                "name": "Acquire::AllowInsecureRepositories",
                "value": ["value": true, "source": "/etc/apt/apt.conf.d/99insecure:2"],
            ])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.source == "/etc/apt/apt.conf.d/99insecure:2" && $0.ok == false })
        }
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

    /// Each host with the status INT-010 gets, the same at SL3 and SL4.
    static let cases: [(String, @Sendable (inout Host) -> Void, Status)] = [
        ("stock Debian 12 sources", { _ in }, .pass),
        (
            "a deb822 source with Trusted: yes",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "Types: deb\nURIs: http://repo.example.org/ai\nSuites: stable\nComponents: main\nTrusted: yes\n"
            },
            .fail
        ),
        (
            "field names without case, and a comment line inside the stanza",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "types: deb\n# the vendor has no key\nuris: http://repo.example.org/ai\nsuites: stable\ncomponents: main\ntrusted: YES\n"
            },
            .fail
        ),
        (
            "a trusted stanza with Enabled: no is not read",
            {
                $0.files["etc/apt/sources.list.d/vendor.sources"] =
                    "Enabled: no\nTypes: deb\nURIs: http://repo.example.org/ai\nSuites: stable\nComponents: main\nTrusted: yes\n"
            },
            .pass
        ),
        (
            "trusted=no is not trusting",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [ trusted=no ] http://repo.example.org/ai stable main\n" }, .pass
        ),
        (
            "allow-insecure=yes on one source",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [allow-insecure=yes] http://repo.example.org/ai stable main\n" },
            .fail
        ),
        (
            "a commented-out trusted line",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "#deb [trusted=yes] http://repo.example.org/ai stable main\n" }, .pass
        ),
        (
            "a file apt does not read (.list.disabled)",
            { $0.files["etc/apt/sources.list.d/vendor.list.disabled"] = "deb [trusted=yes] http://repo.example.org/ai stable main\n" },
            .pass
        ),
        (
            "a source line apt refuses is an error, not a pass",
            { $0.files["etc/apt/sources.list.d/vendor.list"] = "deb [trusted=yes http://repo.example.org/ai stable main\n" }, .error
        ),
        ("APT::Get::AllowUnauthenticated 1", { $0.files["etc/apt/apt.conf.d/99x"] = "APT::Get::AllowUnauthenticated \"1\";\n" }, .fail),
        ("Acquire::AllowWeakRepositories no", { $0.files["etc/apt/apt.conf.d/99x"] = "Acquire::AllowWeakRepositories \"no\";\n" }, .pass),
        (
            "a later file turns the option off again",
            {
                $0.files["etc/apt/apt.conf.d/50x"] = "Acquire::AllowDowngradeToInsecureRepositories \"true\";\n"
                $0.files["etc/apt/apt.conf.d/99x"] = "acquire::allowdowngradetoinsecurerepositories \"false\";\n"
            },
            .pass
        ),
        ("apt.conf Warden cannot read is an error", { $0.files["etc/apt/apt.conf.d/99x"] = "#include \"/etc/other\";\n" }, .error),
        (
            "podman with Debian's accept-anything policy",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = PackageSigningTests.debianPolicy
            },
            .fail
        ),
        (
            "podman with a reject default and a signed registry",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = PackageSigningTests.rejectPolicy
            },
            .pass
        ),
        (
            "reject by default but one registry accepts anything",
            {
                $0.packages.append("skopeo")
                $0.files["etc/containers/policy.json"] =
                    "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"quay.io\": [{\"type\": \"insecureAcceptAnything\"}]}}}"
            },
            .fail
        ),
        ("docker.io, which reads no signature policy", { $0.packages.append("docker.io") }, .fail),
        (
            "a policy.json that is not JSON",
            {
                $0.packages.append("podman")
                $0.files["etc/containers/policy.json"] = "{\"default\": [{\"type\": \"reject\"}]"
            },
            .error
        ),
    ]

    @Test(arguments: PackageSigningTests.cases.indices)
    func statusAtBothLevels(_ row: Int) throws {
        let (name, change, expected) = PackageSigningTests.cases[row]
        var host = Host()
        change(&host)
        let tree = host.tree()
        _ = try fact(tree)
        for (profile, f) in try findings(tree) { #expect(f.status == expected, "\(name), \(profile): \(f.summary)") }
    }

    @Test func anUnsignedContainerScopeIsNamedInTheEvidence() throws {
        var host = Host()
        host.packages.append("podman")
        host.files["etc/containers/policy.json"] = PackageSigningTests.debianPolicy
        let tree = host.tree()
        let v = try fact(tree)
        #expect(v["containers"]?["runtimes"] == ["podman"])
        #expect(v["containers"]?["policy"] == "/etc/containers/policy.json")
        let scopes = try #require(v["containers"]?["scopes"]?.arrayValue)
        #expect(scopes.first?["enforcing"] == ["value": false, "source": "/etc/containers/policy.json:2"])
        #expect(scopes.dropFirst().first?["scope"] == "transports.docker-daemon.\"\"")
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail)
            #expect(f.evidence.contains { $0.source == "/etc/containers/policy.json:2" && $0.ok == false }, "\(profile): \(f.evidence)")
        }
    }

    /// apt's StringToBool: what the `trusted` option and the apt.conf options are read with.
    @Test func aptBooleans() {
        for t in ["yes", "TRUE", "with", "on", "enable", "1", "0x1"] { #expect(PackageSigningProbe.aptBool(t, default: false), "\(t)") }
        for t in ["no", "False", "without", "off", "disable", "0"] { #expect(!PackageSigningProbe.aptBool(t, default: true), "\(t)") }
        for t in ["2", "maybe", ""] { #expect(!PackageSigningProbe.aptBool(t, default: false), "\(t)") }
    }
}
