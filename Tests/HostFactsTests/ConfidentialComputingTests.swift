import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ENC-009: a CPU TEE guest passes, TEE-capable hardware the host does not use fails, a host
/// without such hardware is not applicable (naming its CPU), and an offline root without /proc is
/// not checked; NVIDIA GPUs are listed with a confidential-computing mode of `unknown`, which no
/// file shows. SL3 reports (advisory), SL4 decides.
@Suite struct ConfidentialComputingTests {
    static let epyc = "AMD EPYC 9654 96-Core Processor"
    static let xeon = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
    static let baseFlags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx"

    /// /proc/cpuinfo as arch/x86/kernel/cpu/proc.c prints it, for `count` identical processors.
    static func cpuinfo(vendor: String, model: String, flags: String, count: Int = 2) -> String {
        (0..<count).map { i in
            """
            processor\t: \(i)
            vendor_id\t: \(vendor)
            cpu family\t: 25
            model\t\t: 17
            model name\t: \(model)
            stepping\t: 1
            cpu MHz\t\t: 2400.000
            flags\t\t: \(flags)
            bugs\t\t: sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass
            bogomips\t: 4800.00

            """
        }.joined(separator: "\n")
    }

    struct PCI {
        var address: String
        var vendor: String
        var cls: String
        var device: String
        var driver: String?
    }

    static let h100 = PCI(address: "0000:41:00.0", vendor: "0x10de", cls: "0x030200", device: "0x2330", driver: "nvidia")

    /// A running system's files: /proc/cpuinfo, /dev (never empty on a booted host), configfs
    /// mounted, the PCI devices as sysfs links them, and the guest interfaces asked for.
    func host(cpuinfo: String?, devices: [String] = [], tsm: Bool = false, pci: [PCI] = []) -> TempTree {
        let tree = TempTree()
        if let cpuinfo { tree.file("proc/cpuinfo", cpuinfo) }
        tree.file("dev/null")
        for d in devices { tree.file("dev/" + d) }
        tree.directory("sys/kernel/config")
        if tsm { tree.directory("sys/kernel/config/tsm/report") }
        tree.directory("sys/bus/pci/devices")
        for p in pci {
            let dir = "sys/devices/pci0000:40/0000:40:01.1/" + p.address
            tree.file(dir + "/vendor", p.vendor + "\n", mode: 0o444)
            tree.file(dir + "/class", p.cls + "\n", mode: 0o444)
            tree.file(dir + "/device", p.device + "\n", mode: 0o444)
            if let driver = p.driver {
                tree.directory("sys/bus/pci/drivers/" + driver)
                tree.symlink(dir + "/driver", to: "../../../../bus/pci/drivers/" + driver)
            }
            tree.symlink("sys/bus/pci/devices/" + p.address, to: "../../../devices/pci0000:40/0000:40:01.1/" + p.address)
        }
        return tree
    }

    func fact(_ tree: TempTree) throws -> JSON {
        try probeFact("confidential_computing", of: ConfidentialComputingProbe(), root: tree.path)
    }

    @Test func anSEVSNPGuestWithAnNVIDIAGPUPassesAndSaysTheGPUModeIsUnknown() throws {
        let tree = host(
            cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", model: Self.epyc, flags: Self.baseFlags + " hypervisor sev sev_es sev_snp"),
            devices: ["sev-guest"], tsm: true,
            pci: [
                Self.h100,
                // Neither an AMD display controller nor an NVIDIA bridge (NVSwitch) is a GPU here.
                PCI(address: "0000:42:00.0", vendor: "0x1002", cls: "0x030000", device: "0x740f", driver: nil),
                PCI(address: "0000:43:00.0", vendor: "0x10de", cls: "0x068000", device: "0x22a3", driver: nil),
            ])
        let v = try fact(tree)
        #expect(v["tee_guest"]?.arrayValue?.map { $0["path"] } == ["/dev/sev-guest", "/sys/kernel/config/tsm/report"])
        let cpus = try #require(v["cpus"]?.arrayValue)
        // One item per kind of processor, not per logical CPU.
        #expect(cpus.count == 1)
        #expect(cpus.first?["name"] == .string(Self.epyc))
        #expect(cpus.first?["tee_flags"] == ["sev", "sev_es", "sev_snp"])
        #expect(cpus.first?["hypervisor"] == true)
        #expect(cpus.first?["source"] == "/proc/cpuinfo:8")
        let gpus = try #require(v["gpus"]?.arrayValue)
        #expect(gpus.map { $0["path"] } == ["/sys/bus/pci/devices/0000:41:00.0"])
        #expect(gpus.first?["driver"] == "nvidia")
        #expect(gpus.first?["device"] == "0x2330")
        #expect(gpus.first?["cc_mode"] == "unknown")
        #expect(gpus.first?["cc_mode_reason"]?.stringValue?.contains("NVML") == true)
        // The AMD display controller and the NVSwitch bridge are not listed.
        #expect(gpus.count == 1)
    }

    @Test func aTDXGuestWithoutAGuestDeviceIsStatedByItsCPUFlag() throws {
        // Before Linux 6.2 a TD has no tdx-guest device; the kernel sets tdx_guest when it runs as one.
        let tree = host(cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", model: Self.xeon, flags: Self.baseFlags + " hypervisor tdx_guest"))
        let v = try fact(tree)
        #expect(
            v["tee_guest"] == [
                [
                    "path": "/proc/cpuinfo", "what": "tdx_guest CPU flag: the kernel runs as an Intel TDX guest",
                    "source": "/proc/cpuinfo:8",
                ]
            ])
        #expect(v["cpus"]?.arrayValue?.first?["tee_flags"] == ["tdx_guest"])
        #expect(v["gpus"] == [])
    }

    @Test func teeCapableHardwareTheHostDoesNotUseHasNoGuestItem() throws {
        let tree = host(
            cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", model: Self.epyc, flags: Self.baseFlags + " sme sev sev_es sev_snp"),
            pci: [Self.h100])
        let v = try fact(tree)
        #expect(v["tee_guest"] == [])
        #expect(v["cpus"]?.arrayValue?.map { [$0["tee_flags"], $0["hypervisor"]] } == [[["sev", "sev_es", "sev_snp"], false]])
        #expect(v["gpus"]?.arrayValue?.map { $0["path"] } == ["/sys/bus/pci/devices/0000:41:00.0"])
    }

    @Test func withoutTEECapableHardwareTheCPUHasNoTEEFlag() throws {
        let tree = host(cpuinfo: Self.cpuinfo(vendor: "GenuineIntel", model: Self.xeon, flags: Self.baseFlags + " vmx smx avx512f"))
        let v = try fact(tree)
        #expect(v["cpus"]?.arrayValue?.map { [$0["name"], $0["tee_flags"]] } == [[.string(Self.xeon), []]])
        #expect(v["tee_guest"] == [])
    }

    @Test func aGuestDeviceWithoutAnyFlagIsStillATEEGuest() throws {
        // An SEV-SNP guest whose kernel hides the sev flags: the device decides.
        let tree = host(
            cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", model: Self.epyc, flags: Self.baseFlags + " hypervisor"), devices: ["sev-guest"])
        let v = try fact(tree)
        #expect(v["tee_guest"]?.arrayValue?.map { $0["source"] } == ["/dev/sev-guest"])
        #expect(v["cpus"]?.arrayValue?.first?["tee_flags"] == [])
    }

    @Test func anOfflineRootWithoutProcIsNotChecked() throws {
        let tree = TempTree()
        tree.file("etc/hostname", "weights-01\n")
        let v = try fact(tree)
        #expect(v["cpus"]?["not_checked"]?.stringValue?.contains("/proc/cpuinfo") == true, "\(v)")
        #expect(v["tee_guest"]?["not_checked"] != nil)
        #expect(v["gpus"]?["not_checked"] != nil)
    }

    @Test func anOfflineRootWithAnEmptyDevDoesNotPassOnTheFlagsOfACapableCPU() throws {
        let tree = host(cpuinfo: Self.cpuinfo(vendor: "AuthenticAMD", model: Self.epyc, flags: Self.baseFlags + " sev sev_es"))
        _ = run("/bin/rm", [tree.path + "/dev/null"])
        let guest = try #require(try fact(tree)["tee_guest"]?.arrayValue)
        #expect(
            guest == [
                [
                    "path": "/dev",
                    "not_checked":
                        "offline root: /dev is empty or missing, so /dev/sev-guest and /dev/tdx_guest are not known (devtmpfs makes them at boot)",
                ]
            ])
    }

    /// Canned facts a probe could produce: the GPU part decides only where a mode is known, which
    /// the NVIDIA driver shows in no file today (a future reader of NVML-free state would).
    static func canned(guest: Bool, flags: [String], gpuModes: [String], cpu: String = epyc, teeGuest: JSON? = nil) -> JSON {
        [
            "tee_guest": teeGuest
                ?? .array(
                    guest
                        ? [["path": "/dev/sev-guest", "what": "AMD SEV-SNP guest device (sev-guest driver)", "source": "/dev/sev-guest"]]
                        : []),
            "cpus": [
                [
                    "name": .string(cpu), "vendor": cpu == epyc ? "AuthenticAMD" : "GenuineIntel",
                    "tee_flags": .array(flags.map { .string($0) }),
                    "hypervisor": .bool(guest),
                    "source": "/proc/cpuinfo:8",
                ]
            ],
            "gpus": .array(
                gpuModes.enumerated().map { i, mode in
                    [
                        "path": .string("/sys/bus/pci/devices/0000:4\(i):00.0"), "vendor": "0x10de", "class": "0x030200",
                        "cc_mode": .string(mode),
                        "cc_mode_reason": "canned",
                    ]
                }),
        ]
    }

    static let enc009Table: [(String, JSON, Status, Status)] = [
        ("guest, no GPU", canned(guest: true, flags: ["sev_snp"], gpuModes: []), .pass, .pass),
        ("guest, GPU mode unknown", canned(guest: true, flags: [], gpuModes: ["unknown"]), .pass, .pass),
        ("guest, GPU in CC mode", canned(guest: true, flags: [], gpuModes: ["on"]), .pass, .pass),
        ("guest, one GPU with CC off", canned(guest: true, flags: [], gpuModes: ["on", "off"]), .fail, .fail),
        ("guest, GPU in devtools mode", canned(guest: true, flags: [], gpuModes: ["devtools"]), .fail, .fail),
        ("capable, not a guest", canned(guest: false, flags: ["sev", "sev_es"], gpuModes: []), .fail, .fail),
        ("no TEE hardware", canned(guest: false, flags: [], gpuModes: ["unknown"]), .notApplicable, .notApplicable),
    ]

    @Test(arguments: ConfidentialComputingTests.enc009Table.indices)
    func enc009OverATableOfFacts(_ row: Int) throws {
        let (name, value, sl3, sl4) = ConfidentialComputingTests.enc009Table[row]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let finding = try cannedFinding("ENC-009", profile: profile, facts: ["confidential_computing": value])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
            #expect(finding.blocksConformance == (profile == "sl4" && expected == .fail), "\(profile) \(name)")
        }
    }

    static let tdxByFlag: JSON = [
        ["path": "/proc/cpuinfo", "what": "tdx_guest CPU flag: the kernel runs as an Intel TDX guest", "source": "/proc/cpuinfo:8"]
    ]
    static let offlineDev: JSON = [
        [
            "path": "/dev",
            "not_checked":
                "offline root: /dev is empty or missing, so /dev/sev-guest and /dev/tdx_guest are not known (devtmpfs makes them at boot)",
        ]
    ]
    static let noProc: JSON = [
        "tee_guest": ["not_checked": "offline root without /proc/cpuinfo"], "cpus": ["not_checked": "offline root without /proc/cpuinfo"],
        "gpus": ["not_checked": "offline root without /sys/bus/pci/devices"],
    ]

    /// The cases the fixtures above state, with what the finding shows: its status at both
    /// levels (SL3 reports, SL4 decides), a part of its summary, and evidence that must be there
    /// as (ok, source or subject, observed when it matters).
    static let enc009Shown: [(String, JSON, Status, String?, [(Bool, String, JSON?)])] = [
        (
            "an SEV-SNP guest with a GPU of unknown mode", canned(guest: true, flags: ["sev", "sev_es", "sev_snp"], gpuModes: ["unknown"]),
            .pass,
            nil, [(true, "/dev/sev-guest", nil), (true, "/sys/bus/pci/devices/0000:40:00.0", "unknown")]
        ),
        (
            "a TDX guest by its CPU flag alone", canned(guest: true, flags: ["tdx_guest"], gpuModes: [], cpu: xeon, teeGuest: tdxByFlag),
            .pass,
            nil, [(true, "/proc/cpuinfo:8", nil)]
        ),
        (
            "SEV-capable, not a guest, with a GPU", canned(guest: false, flags: ["sev", "sev_es", "sev_snp"], gpuModes: ["unknown"]), .fail,
            "does not run inside a CPU TEE guest", []
        ),
        (
            "no TEE hardware", canned(guest: false, flags: [], gpuModes: [], cpu: xeon), .notApplicable, "does not apply: ",
            [(false, xeon, [])]
        ),
        ("offline without /proc", noProc, .notChecked, "/proc/cpuinfo", []),
        (
            "offline with an empty /dev and a capable CPU",
            canned(guest: false, flags: ["sev", "sev_es"], gpuModes: [], teeGuest: offlineDev),
            .notChecked, nil, []
        ),
    ]

    @Test(arguments: ConfidentialComputingTests.enc009Shown.indices)
    func enc009ShowsWhatDecided(_ row: Int) throws {
        let (name, value, expected, summary, evidence) = ConfidentialComputingTests.enc009Shown[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding("ENC-009", profile: profile, facts: ["confidential_computing": value])
            #expect(f.status == expected && f.advisory == (profile == "sl3"), "\(name) at \(profile): \(f.summary)")
            // At SL4 what is not known to pass blocks too; not applicable does not.
            #expect(f.blocksConformance == (profile == "sl4" && [.fail, .notChecked].contains(expected)), "\(name) at \(profile)")
            if let summary {
                // "does not apply: " opens the summary; the other parts are anywhere in it.
                let shown = summary.hasSuffix(": ") ? f.summary.hasPrefix(summary) : f.summary.contains(summary)
                #expect(shown, "\(name) at \(profile): \(f.summary)")
            }
            for (ok, key, observed) in evidence {
                #expect(
                    f.evidence.contains {
                        $0.ok == ok && ($0.source == key || $0.subject == key) && (observed == nil || $0.observed == observed)
                    },
                    "\(name) at \(profile): \(f.evidence)")
            }
        }
    }

    /// The oracle is Debian 12's own kernel (the base root's): which of the flags the probe reads
    /// its image can print in /proc/cpuinfo (x86_cap_flags, the names NUL-terminated in the
    /// xz-compressed vmlinuz), and that it ships the sev-guest driver the remediation loads but
    /// is built without TDX guest support.
    @Test func debian12sKernelPrintsTheSEVFlagsAndShipsTheSEVGuestDriver() throws {
        let root = try RealRoots.debian12()
        let script = """
            import glob, lzma, sys
            image = sorted(glob.glob(sys.argv[1] + '/boot/vmlinuz-*'))[-1]
            data = open(image, 'rb').read()
            kernel = lzma.LZMADecompressor().decompress(data[data.find(b'\\xfd7zXZ\\x00'):])
            for name in sys.argv[2:]:
                print(name, kernel.count(b'\\x00' + name.encode() + b'\\x00') > 0)
            """
        let r = run("/usr/bin/python3", ["-c", script, root] + ConfidentialComputingProbe.teeFlags, timeout: 120)
        try #require(r.status == 0, "python3: \(r.stderr)")
        var known: [String: Bool] = [:]
        for line in r.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { known[String(parts[0])] = parts[1] == "True" }
        }
        // 6.1 prints sev and sev_es, and tdx_guest; sev_snp and tdx_host_platform came later.
        #expect(known == ["sev": true, "sev_es": true, "sev_snp": false, "tdx_host_platform": false, "tdx_guest": true], "\(known)")
        let config = run("/bin/sh", ["-c", "cat \"$0\"/boot/config-*", root]).stdout
        #expect(config.contains("\nCONFIG_SEV_GUEST=m\n"))
        #expect(config.contains("\n# CONFIG_INTEL_TDX_GUEST is not set\n"))
        let modules = run("/usr/bin/find", [root + "/lib/modules", "-name", "sev-guest.ko*"]).stdout
        #expect(modules.contains("sev-guest.ko"), "no sev-guest module in the base root's kernel")
    }
}
