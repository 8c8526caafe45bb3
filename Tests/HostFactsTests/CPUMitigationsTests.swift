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

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("HRD-011", root: tree.path, probes: [CPUMitigationsProbe()])
    }

    @Test func aCleanCommandLineAndAMitigatedCPUPassAtBothLevels() throws {
        let tree = host(cmdline: "BOOT_IMAGE=/boot/vmlinuz-6.1.0-50-amd64 root=/dev/vda1 ro mitigations=auto,nosmt mds=full quiet")
        #expect(try fact(tree)["switched_off"] == [])
        #expect(try fact(tree)["vulnerabilities"]?.arrayValue?.map { $0["vulnerable"] } == [false, false])
        for (profile, f) in try findings(tree) { #expect(f.status == .pass, "\(profile): \(f.summary)") }
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
        let tree = host(cmdline: cmdline)
        let found = try fact(tree)["switched_off"]?.arrayValue ?? []
        #expect(Set(found.compactMap { $0["word"]?.stringValue }) == Set(words), "\(cmdline)")
        #expect(found.allSatisfy { $0["source"] == "/proc/cmdline" })
        for (profile, f) in try findings(tree) {
            #expect(f.status == (words.isEmpty ? .pass : .fail), "\(profile) \(cmdline): \(f.summary)")
            for word in words {
                #expect(f.evidence.contains { $0.ok == false && $0.observed == .string(word) && $0.source == "/proc/cmdline" }, "\(word)")
            }
        }
    }

    @Test func aVulnerabilityTheKernelReportsFailsNamingTheFileAndItsText() throws {
        let text = "Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable"
        let tree = host(cmdline: "ro quiet", files: ["mds": text, "meltdown": "Not affected", "l1tf": "Mitigation: PTE Inversion"])
        let items = try fact(tree)["vulnerabilities"]?.arrayValue ?? []
        #expect(items.map { $0["path"] } == ["l1tf", "mds", "meltdown"].map { .string("/sys/devices/system/cpu/vulnerabilities/" + $0) })
        #expect(items.map { $0["vulnerable"] } == [false, true, false])
        for (profile, f) in try findings(tree) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            let bad = f.evidence.filter { $0.ok == false }
            #expect(bad.count == 1, "\(f.evidence)")
            #expect(bad.first?.observed == .string(text))
            #expect(bad.first?.source == "/sys/devices/system/cpu/vulnerabilities/mds")
            #expect(f.summary.contains("/sys/devices/system/cpu/vulnerabilities/mds"), "\(f.summary)")
        }
    }

    @Test func offlineWithoutSysfsTheVulnerabilitiesAreNotCheckedAndGRUBDecidesTheRest() throws {
        let tree = host(cmdline: nil, files: nil)
        tree.file("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        let v = try fact(tree)
        #expect(v["switched_off"] == [])
        #expect(v["vulnerabilities"]?["not_checked"] != nil)
        for (profile, f) in try findings(tree) {
            // Never a pass: the kernel's own report is missing.
            #expect(f.status == .notChecked, "\(profile): \(f.summary)")
            #expect(f.summary.contains("/sys/devices/system/cpu/vulnerabilities"), "\(f.summary)")
        }
        tree.file("etc/default/grub.d/90-speed.cfg", "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX mitigations=off\"\n")
        let off = try fact(tree)["switched_off"]?.arrayValue ?? []
        #expect(off.map { $0["word"] } == ["mitigations=off"])
        #expect(off.first?["source"] == "/etc/default/grub.d/90-speed.cfg:1")
        for (profile, f) in try findings(tree) {
            // What is known fails, whatever the unknown part holds.
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.evidence.contains { $0.ok == false && $0.source == "/etc/default/grub.d/90-speed.cfg:1" })
        }
    }

    @Test func aKernelThatReportsNothingIsAnError() throws {
        // The directory is there and empty: nothing was reported, which cannot pass.
        let empty = host(cmdline: "ro", files: [:])
        for (profile, f) in try findings(empty) { #expect(f.status == .error, "\(profile): \(f.summary)") }
        // The cpu directory copied without vulnerabilities/: the kernel lacks it.
        let old = host(cmdline: "ro", files: nil)
        old.directory("sys/devices/system/cpu/cpu0")
        #expect(try fact(old)["vulnerabilities"]?["error"] != nil)
        for (profile, f) in try findings(old) { #expect(f.status == .error, "\(profile): \(f.summary)") }
        // Neither a command line nor GRUB offline: not checked.
        let bare = host(cmdline: nil)
        #expect(try fact(bare)["switched_off"]?["not_checked"] != nil)
        for (profile, f) in try findings(bare) { #expect(f.status == .notChecked, "\(profile): \(f.summary)") }
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
