import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// HRD-011: the kernel parameters that switch a CPU mitigation off, found as the kernel finds
/// them, and the vulnerabilities the running kernel reports.
@Suite struct CPUMitigationsTests {
    static let vulnerabilities = "sys/devices/system/cpu/vulnerabilities/"

    /// A host booted with `cmdline` whose kernel reports these vulnerability files.
    func host(
        cmdline: String?, files: [String: String]? = ["meltdown": "Not affected", "spectre_v2": "Mitigation: Retpolines; STIBP: disabled"]
    )
        -> TempTree
    {
        let tree = TempTree()
        if let cmdline { tree.file("proc/cmdline", cmdline + "\n") }
        if let files {
            tree.directory(CPUMitigationsTests.vulnerabilities)
            for (name, text) in files { tree.file(CPUMitigationsTests.vulnerabilities + name, text + "\n", mode: 0o444) }
        }
        return tree
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("cpu_mitigations", of: CPUMitigationsProbe(), root: tree.path) }

    // MARK: - Probe tests: the facts of a command line and sysfs

    @Test func aCleanCommandLineAndAMitigatedCPU() throws {
        let v = try fact(host(cmdline: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-50-amd64 root=/dev/vda1 ro mitigations=auto,nosmt mds=full quiet"))
        #expect(v["cmdline_source"] == "/proc/cmdline")
        #expect(v["switched_off"] == [])
        #expect(
            v["vulnerabilities"]?.arrayValue?.map { [$0["path"], $0["text"], $0["vulnerable"]] } == [
                ["/sys/devices/system/cpu/vulnerabilities/meltdown", "Not affected", false],
                ["/sys/devices/system/cpu/vulnerabilities/spectre_v2", "Mitigation: Retpolines; STIBP: disabled", false],
            ])
    }

    /// Each command line with the words the probe reports for it: the generic parser's rules
    /// (`-` as `_`, quotes, nothing after `--`) for early and module parameters, and the exact,
    /// whole-line search of arch/x86/lib/cmdline.c for the ones bugs.c and pti.c look up.
    static let commandLines: [(String, [String])] = [
        ("mitigations=off", ["mitigations=off"]),
        ("nopti nospectre_v2 nosmap nosmep", ["nopti", "nospectre_v2", "nosmap", "nosmep"]),
        (
            "pti=off spectre_v2=off spectre_v2_user=off spec_store_bypass_disable=off",
            [
                "pti=off", "spectre_v2=off", "spectre_v2_user=off", "spec_store_bypass_disable=off",
            ]
        ),
        ("pti=on spectre_v2=retpoline mds=full,nosmt l1tf=flush", []),
        // The generic parser takes `-` for `_`; cmdline_find_option_bool does not.
        ("nospectre-v1 nospectre-v2 mmio-stale-data=off", ["nospectre-v1", "mmio-stale-data=off"]),
        // After `--` the words go to init: the generic parser stops, the x86 search does not.
        ("ro -- mds=off nopti", ["nopti"]),
        ("\"mds=off\" retbleed=\"off\"", ["retbleed=\"off\"", "\"mds=off\""]),
        ("kvm.nx_huge_pages=N kvm-intel.vmentry_l1d_flush=never", ["kvm.nx_huge_pages=N", "kvm-intel.vmentry_l1d_flush=never"]),
        ("kvm.nx_huge_pages=force gather_data_sampling=off spectre_bhi=off", ["gather_data_sampling=off", "spectre_bhi=off"]),
        // A value set again later: the `off` still counts (it is to be removed).
        ("mitigations=off mitigations=auto", ["mitigations=off"]),
        ("nopti=1 pti", []),
    ]

    @Test(arguments: CPUMitigationsTests.commandLines.indices)
    func theParametersThatSwitchAMitigationOffAreFoundAsTheKernelFindsThem(_ row: Int) throws {
        let (cmdline, words) = CPUMitigationsTests.commandLines[row]
        let found = try fact(host(cmdline: cmdline))["switched_off"]?.arrayValue ?? []
        #expect(Set(found.compactMap { $0["word"]?.stringValue }) == Set(words), "\(cmdline)")
        #expect(found.count == words.count, "\(cmdline): \(found)")
        #expect(found.allSatisfy { $0["source"] == "/proc/cmdline" })
    }

    @Test func aVulnerabilityTheKernelReportsIsStatedWithItsText() throws {
        let text = "Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable"
        let tree = host(cmdline: "ro quiet", files: ["mds": text, "meltdown": "Not affected", "l1tf": "Mitigation: PTE Inversion"])
        let items = try fact(tree)["vulnerabilities"]?.arrayValue ?? []
        #expect(items.map { $0["path"] } == ["l1tf", "mds", "meltdown"].map { .string("/sys/devices/system/cpu/vulnerabilities/" + $0) })
        #expect(items.map { $0["vulnerable"] } == [false, true, false])
        #expect(items.map { $0["text"] } == ["Mitigation: PTE Inversion", .string(text), "Not affected"])
    }

    @Test func offlineWithoutSysfsTheVulnerabilitiesAreNotCheckedAndGRUBStatesTheRest() throws {
        let tree = host(cmdline: nil, files: nil)
        tree.file("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        let v = try fact(tree)
        #expect(v["switched_off"] == [])
        #expect(v["vulnerabilities"]?["not_checked"]?.stringValue?.contains("/sys/devices/system/cpu/vulnerabilities") == true, "\(v)")
        tree.file("etc/default/grub.d/90-speed.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX mitigations=off\"\n")
        let off = try fact(tree)["switched_off"]?.arrayValue ?? []
        #expect(off.map { $0["word"] } == ["mitigations=off"])
        #expect(off.first?["source"] == "/etc/default/grub.d/90-speed.cfg:1")
    }

    @Test func aKernelThatReportsNothingIsAnError() throws {
        // The directory is there and empty: nothing was reported, which cannot pass.
        let empty = host(cmdline: "ro", files: [:])
        #expect(try fact(empty)["vulnerabilities"]?["error"] != nil)
        // The cpu directory copied without vulnerabilities/: the kernel lacks it.
        let old = host(cmdline: "ro", files: nil)
        old.directory("sys/devices/system/cpu/cpu0")
        #expect(try fact(old)["vulnerabilities"]?["error"] != nil)
        // Neither a command line nor GRUB offline: not checked.
        let bare = host(cmdline: nil)
        #expect(try fact(bare)["switched_off"]?["not_checked"] != nil)
    }

    // MARK: - Control tests: HRD-011 over canned facts

    static func off(_ parameter: String, _ word: String, source: String = "/proc/cmdline") -> JSON {
        ["parameter": .string(parameter), "word": .string(word), "effect": "switches a mitigation off", "source": .string(source)]
    }

    static func vulnerability(_ name: String, _ text: String) -> JSON {
        ["path": .string("/" + vulnerabilities + name), "text": .string(text), "vulnerable": .bool(text.hasPrefix("Vulnerable"))]
    }

    static let mds = "Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable"

    /// A clean command line and a mitigated CPU; each row changes one thing.
    static func cpu(switchedOff: JSON = [], vulnerabilities: JSON? = nil) -> JSON {
        [
            "cmdline_source": "/proc/cmdline", "switched_off": switchedOff,
            "vulnerabilities": vulnerabilities
                ?? [vulnerability("meltdown", "Not affected"), vulnerability("spectre_v2", "Mitigation: Retpolines; STIBP: disabled")],
        ]
    }

    static let noSysfs: JSON = ["not_checked": "/sys/devices/system/cpu/vulnerabilities is not in an offline root"]

    /// Rows: case, fact, status (a verdict at SL3 and SL4 alike), the failing evidence as
    /// (source, observed), and what the summary names.
    static let hrd011Table: [(String, JSON, Status, [[String]], String?)] = [
        ("a clean command line, a mitigated CPU", cpu(), .pass, [], nil),
        ("mitigations=off", cpu(switchedOff: [off("mitigations", "mitigations=off")]), .fail, [["/proc/cmdline", "mitigations=off"]], nil),
        (
            "nopti and nospectre_v2", cpu(switchedOff: [off("nopti", "nopti"), off("nospectre_v2", "nospectre_v2")]), .fail,
            [["/proc/cmdline", "nopti"], ["/proc/cmdline", "nospectre_v2"]], nil
        ),
        (
            "the kernel reports mds Vulnerable",
            cpu(vulnerabilities: [
                vulnerability("l1tf", "Mitigation: PTE Inversion"), vulnerability("mds", mds), vulnerability("meltdown", "Not affected"),
            ]),
            .fail, [["/sys/devices/system/cpu/vulnerabilities/mds", mds]], "/sys/devices/system/cpu/vulnerabilities/mds"
        ),
        (
            "offline: the vulnerabilities unknown, GRUB clean", cpu(vulnerabilities: noSysfs), .notChecked, [],
            "/sys/devices/system/cpu/vulnerabilities"
        ),
        (
            "offline: the vulnerabilities unknown, GRUB switches one off",
            cpu(
                switchedOff: [off("mitigations", "mitigations=off", source: "/etc/default/grub.d/90-speed.cfg:1")], vulnerabilities: noSysfs
            ),
            .fail, [["/etc/default/grub.d/90-speed.cfg:1", "mitigations=off"]], nil
        ),
        (
            "the kernel reports nothing",
            cpu(vulnerabilities: ["error": "/sys/devices/system/cpu/vulnerabilities: the kernel reports no vulnerability"]),
            .error, [], nil
        ),
        (
            "neither a command line nor GRUB offline",
            cpu(switchedOff: ["not_checked": "no /proc/cmdline in an offline root, and no GRUB configuration"]), .notChecked, [], nil
        ),
    ]

    @Test(arguments: CPUMitigationsTests.hrd011Table.indices)
    func hrd011OverATableOfFacts(_ row: Int) throws {
        let (name, value, expected, failing, named) = CPUMitigationsTests.hrd011Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("HRD-011", profile: profile, facts: ["cpu_mitigations": value])
            #expect(f.status == expected && !f.advisory, "\(name) at \(profile): \(f.summary)")
            let bad = f.evidence.filter { $0.ok == false }.map { [$0.source, $0.observed.stringValue ?? "\($0.observed)"] }
            #expect(bad == failing, "\(name) at \(profile): \(f.evidence)")
            if let named { #expect(f.summary.contains(named), "\(name) at \(profile): \(f.summary)") }
        }
    }

    /// The oracle is Debian 12's own kernel: every amd64 parameter of the table is a string in
    /// the image the base root boots (xz-compressed vmlinuz, unpacked by Python's lzma), so the
    /// table names parameters that kernel reads; and `nosmap`, `nosmep` are not, as 6.1's
    /// kernel-parameters.txt says (POWER only).
    @Test func everyAmd64ParameterIsOneDebian12sKernelKnows() throws {
        let root = try RealRoots.debian12()
        let script = """
            import glob, lzma, sys
            image = sorted(glob.glob(sys.argv[1] + '/boot/vmlinuz-*'))[-1]
            print(image)
            data = open(image, 'rb').read()
            at = data.find(b'\\xfd7zXZ\\x00')
            kernel = lzma.LZMADecompressor().decompress(data[at:])
            for name in sys.argv[2:]:
                print(name, kernel.count(name.encode() + b'\\x00') > 0)
            """
        let names = CPUMitigationsProbe.amd64KernelParameters + ["nosmap", "nosmep"]
        let r = run("/usr/bin/python3", ["-c", script, root] + names, timeout: 120)
        try #require(r.status == 0, "python3: \(r.stderr)")
        var known: [String: Bool] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { known[String(parts[0])] = parts[1] == "True" }
        }
        let image = r.stdout.split(separator: "\n").first.map(String.init) ?? "?"
        for name in CPUMitigationsProbe.amd64KernelParameters { #expect(known[name] == true, "\(name) is not in \(image)") }
        #expect(known["nosmap"] == false)
        #expect(known["nosmep"] == false)
    }
}
