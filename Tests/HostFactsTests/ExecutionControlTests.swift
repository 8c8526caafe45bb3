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

    func fact(_ tree: TempTree, site: String? = ExecutionControlTests.denylist) throws -> JSON {
        let facts = try audit(root: tree.path, site: site, probes: ExecutionControlTests.probes).facts
        guard case .value(let v)? = facts["execution"] else { throw TestFailure("no execution fact") }
        let mismatches = FactContract.mismatches(v, try #require(ExecutionControlProbe().facts["execution"]), path: "execution")
        #expect(mismatches.isEmpty, "\(mismatches)")
        return v
    }

    func finding(_ tree: TempTree, _ profile: String, site: String? = ExecutionControlTests.denylist) throws -> Finding {
        try audit(root: tree.path, profile: profile, site: site, probes: ExecutionControlTests.probes).findings["INT-007"]
    }

    // MARK: SL3: the denylist

    @Test(arguments: [nil, "software:\n  denylist: []\n", "role: inference\n"])
    func withoutADenylistBothLevelsFail(site: String?) throws {
        let tree = host()
        fapolicyd(tree)
        for profile in ["sl3", "sl4"] {
            let f = try finding(tree, profile, site: site)
            #expect(f.status == .fail && !f.advisory, "\(profile): \(f.summary)")
            #expect(f.summary.contains("software.denylist"), "\(f.summary)")
        }
    }

    @Test func nothingDenylistedPassesSL3NamingTheListAndSL4NeedsAnAllowlist() throws {
        let tree = host(packages: ["curl"])
        tree.file("usr/bin/curl", "", mode: 0o755)
        tree.file("usr/bin/nmap", "not executable", mode: 0o644)
        let v = try fact(tree)
        #expect(v["denylist"] == ["names": ["nmap", "netcat-traditional"], "packages": [], "executables": []], "\(v)")
        let sl3 = try finding(tree, "sl3")
        #expect(sl3.status == .pass, "\(sl3.summary)")
        #expect(sl3.evidence.contains { $0.observed == ["nmap", "netcat-traditional"] }, "the list is named: \(sl3.evidence)")
        let sl4 = try finding(tree, "sl4")
        #expect(sl4.status == .fail, "\(sl4.summary)")
        #expect(sl4.summary.contains("fapolicyd.service enabled") && sl4.summary.contains("ima_appraise"), "\(sl4.summary)")
    }

    @Test func aDenylistedPackageFailsBothLevels() throws {
        let tree = host(packages: ["netcat-traditional"])
        fapolicyd(tree)
        let packages = try #require(try fact(tree)["denylist"]?["packages"]?.arrayValue)
        #expect(packages.map { $0["package"] } == ["netcat-traditional"], "the removed nmap (config-files) is not installed")
        for profile in ["sl3", "sl4"] {
            let f = try finding(tree, profile)
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.summary.contains("netcat-traditional"), "\(f.summary)")
        }
    }

    @Test func aDenylistedExecutableOnThePathFailsOnceThroughMergedUsr() throws {
        let tree = host()
        tree.file("usr/bin/nmap", "#!/bin/sh\n", mode: 0o755)
        let executables = try #require(try fact(tree)["denylist"]?["executables"]?.arrayValue)
        #expect(executables == [["name": "nmap", "path": "/usr/bin/nmap"]], "/bin is /usr/bin: one file, named once: \(executables)")
        let f = try finding(tree, "sl3")
        #expect(f.status == .fail && f.summary.contains("/usr/bin/nmap"), "\(f.summary)")
        // Also in /usr/local, which no package owns.
        let local = host()
        local.file("usr/local/sbin/netcat-traditional", "", mode: 0o700)
        #expect(try finding(local, "sl3").status == .fail)
    }

    @Test func anUnreadablePackageDatabaseIsAnError() throws {
        let tree = host()
        tree.file("var/lib/dpkg/status", "Status: install ok installed\n")
        let f = try finding(tree, "sl3")
        #expect(f.status == .error && f.summary.contains("/var/lib/dpkg/status:1"), "\(f.summary)")
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

    // MARK: SL4: fapolicyd

    @Test func fapolicydAsShippedPassesSL4() throws {
        let tree = host()
        fapolicyd(tree)
        let v = try #require(try fact(tree)["fapolicyd"])
        #expect(v["permissive"] == ["value": false, "source": "/etc/fapolicyd/fapolicyd.conf:3"], "\(v)")
        #expect(v["execute_denied"] == ["value": true, "source": "/etc/fapolicyd/rules.d/90-deny-execute.rules:2"], "\(v)")
        #expect(v["enabled"]?["value"] == true)
        for profile in ["sl3", "sl4"] {
            let f = try finding(tree, profile)
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
    }

    @Test func permissiveFapolicydFailsSL4() throws {
        let tree = host()
        fapolicyd(tree, permissive: "1")
        let f = try finding(tree, "sl4")
        #expect(f.status == .fail && f.summary.contains("fapolicyd permissive"), "\(f.summary)")
        #expect(try finding(tree, "sl3").status == .pass, "SL3 does not ask for an allowlist")
    }

    @Test func aPermissiveValueFapolicydRefusesIsAnErrorNamingTheLine() throws {
        let tree = host()
        fapolicyd(tree, permissive: "yes")
        let f = try finding(tree, "sl4")
        #expect(f.status == .error && f.summary.contains("/etc/fapolicyd/fapolicyd.conf:3"), "\(f.summary)")
        // daemon-config.c splits at spaces and compares names exactly: both lines stop fapolicyd.
        for line in ["permissive=0", "Permissive = 0"] {
            let other = host()
            fapolicyd(other)
            other.file("etc/fapolicyd/fapolicyd.conf", "# fapolicyd\n\(line)\n")
            let g = try finding(other, "sl4")
            #expect(g.status == .error && g.summary.contains("/etc/fapolicyd/fapolicyd.conf:2"), "\(line): \(g.summary)")
        }
        // A number above 1 is taken as 1.
        let two = host()
        fapolicyd(two, permissive: "2")
        #expect(try fact(two)["fapolicyd"]?["permissive"]?["value"] == true)
    }

    @Test func fapolicydNotEnabledFailsSL4() throws {
        let tree = host()
        fapolicyd(tree)
        tree.symlink("etc/systemd/system/fapolicyd.service", to: "/dev/null")
        let f = try finding(tree, "sl4")
        #expect(f.status == .fail && f.summary.contains("fapolicyd.service enabled"), "\(f.summary)")
    }

    /// The first matching rule decides: an allow of execute for all : all before the deny makes
    /// the deny dead, wherever the deny sits; rules.d is read in `ls -v` order (9 before 10).
    @Test func anEarlierBlanketAllowDefeatsTheDeny() throws {
        let tree = host()
        fapolicyd(tree, rules: ["10-deny.rules": "deny_audit perm=execute all : all\n", "9-allow.rules": "allow perm=any all : all\n"])
        let v = try #require(try fact(tree)["fapolicyd"])
        #expect(v["execute_denied"] == ["value": false, "source": "/etc/fapolicyd/rules.d/9-allow.rules:1"], "\(v)")
        #expect(try finding(tree, "sl4").status == .fail)
        // Swapped by name, the deny comes first.
        let swapped = host()
        fapolicyd(swapped, rules: ["9-deny.rules": "deny_audit perm=execute all : all\n", "10-allow.rules": "allow perm=any all : all\n"])
        #expect(try finding(swapped, "sl4").status == .pass)
        // An allow of open only, or of execute for trusted files only, does not defeat it.
        let narrow = host()
        fapolicyd(
            narrow,
            rules: ["50.rules": "allow perm=open all : all\nallow perm=execute all : trust=1\ndeny perm=any all : all\n"])
        #expect(try finding(narrow, "sl4").status == .pass)
        // Rules that only end in a deny of open do not deny execution.
        let openOnly = host()
        fapolicyd(openOnly, rules: ["50.rules": "allow perm=execute all : trust=1\ndeny all : all\n"])
        #expect(try finding(openOnly, "sl4").status == .fail)
    }

    @Test func theOldSingleRulesFileIsReadWithoutRulesD() throws {
        let tree = host()
        fapolicyd(tree, rules: [:])
        tree.file("etc/fapolicyd/fapolicyd.rules", "allow perm=execute all : trust=1\ndeny_audit perm=any all : all\n")
        let v = try #require(try fact(tree)["fapolicyd"])
        #expect(v["rules_files"] == ["/etc/fapolicyd/fapolicyd.rules"] && v["execute_denied"]?["value"] == true, "\(v)")
        #expect(try finding(tree, "sl4").status == .pass)
    }

    @Test func aMalformedRuleIsAnErrorNamingItsLine() throws {
        let tree = host()
        fapolicyd(tree, rules: ["50.rules": "# policy\ndeny_audit perm=execute all all\n"])
        let f = try finding(tree, "sl4")
        #expect(f.status == .error && f.summary.contains("/etc/fapolicyd/rules.d/50.rules:2"), "\(f.summary)")
        // fapolicyd's rules.c takes perm= only right after the decision, and knows eight decisions.
        for bad in ["deny_audit all perm=execute : all", "block perm=execute all : all"] {
            let other = host()
            fapolicyd(other, rules: ["50.rules": bad + "\n"])
            let g = try finding(other, "sl4")
            #expect(g.status == .error && g.summary.contains("/etc/fapolicyd/rules.d/50.rules:1"), "\(bad): \(g.summary)")
        }
    }

    // MARK: SL4: IMA appraisal

    @Test func imaAppraisalEnforcedWithAnExecuteRulePassesSL4() throws {
        let tree = host()
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"ima_appraise=enforce\"\n")
        tree.file(
            "etc/ima/ima-policy", "# measure, then appraise\nmeasure func=BPRM_CHECK\nappraise func=BPRM_CHECK appraise_type=imasig\n")
        #expect(try fact(tree)["ima"]?["appraise_rule"] == ["value": true, "source": "/etc/ima/ima-policy:3"])
        #expect(try finding(tree, "sl4").status == .pass)
        // A policy that appraises only modules allows any program.
        tree.file("etc/ima/ima-policy", "appraise func=MODULE_CHECK appraise_type=imasig\n")
        let f = try finding(tree, "sl4")
        #expect(f.status == .fail && f.summary.contains("IMA appraise rule"), "\(f.summary)")
        // The built-in appraise_tcb policy when no policy file is loaded.
        let builtIn = host()
        builtIn.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"ima_appraise=enforce ima_policy=tcb|appraise_tcb\"\n")
        #expect(try finding(builtIn, "sl4").status == .pass)
    }

    @Test func imaAppraisalInLogModeFailsSL4() throws {
        let tree = host()
        tree.file("etc/default/grub", "GRUB_CMDLINE_LINUX=\"ima_appraise=log ima_policy=appraise_tcb\"\n")
        let f = try finding(tree, "sl4")
        #expect(f.status == .fail && f.summary.contains("ima_appraise"), "\(f.summary)")
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
