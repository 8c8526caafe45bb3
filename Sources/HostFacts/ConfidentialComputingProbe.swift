public import WardenCore
internal import WardenFormats

/// Confidential computing (ENC-009, RAND SL4 "confidential computing (when available)"): whether
/// the host runs inside a CPU TEE guest, whether its CPU is TEE-capable hardware, and its NVIDIA
/// GPUs. Everything is read from files the kernel makes at run time (/proc/cpuinfo, /dev, configfs,
/// sysfs); no command runs, so nvidia-smi is never asked (docs/DAEMON-SEMANTICS.md,
/// "Confidential computing").
public struct ConfidentialComputingProbe: Probe {
    public init() {}
    public let name = "confidential_computing"
    public let summary = "CPU TEE guest devices and flags, TEE-capable CPU flags, NVIDIA GPUs on the PCI bus"
    public let reads = [
        ConfidentialComputingProbe.cpuinfo, "/dev/tdx_guest", "/dev/sev-guest", ConfidentialComputingProbe.tsmReport,
        ConfidentialComputingProbe.pciDevices + "/*/vendor", ConfidentialComputingProbe.pciDevices + "/*/class",
        ConfidentialComputingProbe.pciDevices + "/*/device", ConfidentialComputingProbe.pciDevices + "/*/driver",
    ]
    public var facts: [String: FactType] {
        [
            "confidential_computing": .object([
                "tee_guest": .list(.object(["path": .string, "what": .string, "source": .string])),
                "cpus": .list(
                    .object([
                        "name": .string, "vendor": .string, "tee_flags": .list(.string), "hypervisor": .bool, "source": .string,
                    ])),
                "gpus": .list(
                    .object([
                        "path": .string, "vendor": .string, "device": .string, "class": .string, "driver": .string,
                        "cc_mode": .string, "cc_mode_reason": .string,
                    ])),
            ])
        ]
    }

    static let cpuinfo = "/proc/cpuinfo"
    static let tsmReport = "/sys/kernel/config/tsm/report"
    static let pciDevices = "/sys/bus/pci/devices"

    /// The /proc/cpuinfo flags (arch/x86/include/asm/cpufeatures.h, as the kernel prints them)
    /// that show TEE-capable hardware. The kernel clears `sev` and `sev_es` when the firmware has
    /// not enabled memory encryption (arch/x86/kernel/cpu/amd.c), so they mean usable hardware.
    /// `tdx_host_platform` exists only from Linux 6.8; Debian 12's 6.1 shows no flag for a TDX host.
    public static let teeFlags = ["sev", "sev_es", "sev_snp", "tdx_host_platform", "tdx_guest"]

    /// The interfaces only a CPU TEE guest has: the guest drivers' devices (sev-guest, SEV-SNP;
    /// tdx-guest, Intel TDX, from Linux 6.2) and configfs-tsm's report directory (Linux 6.7),
    /// which every TEE guest driver registers with.
    static let guestDevices: [(path: String, what: String)] = [
        ("/dev/sev-guest", "AMD SEV-SNP guest device (sev-guest driver)"),
        ("/dev/tdx_guest", "Intel TDX guest device (tdx-guest driver)"),
    ]

    static let gpuModeReason =
        "the NVIDIA driver shows a GPU's confidential-computing mode in no file (/proc/driver/nvidia/gpus/*/information and sysfs have none); only NVML (nvidia-smi conf-compute) and a BAR0 register read (gpu-admin-tools) report it, and Warden runs no command"

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = [:]
        let text: String
        do { text = try root.readText(Self.cpuinfo, limit: 16 << 20) } catch {
            // Without /proc nothing of the running system is there: neither flags nor devices.
            let stated: JSON =
                error.isNotFound && context.mode == .offline
                ? [
                    "not_checked": .string("offline root: no \(Self.cpuinfo), so the running CPU and its TEE state are not known"),
                    "source": .string(Self.cpuinfo),
                ]
                : ["error": .string(error.description), "source": .string(Self.cpuinfo)]
            fact["cpus"] = stated
            fact["tee_guest"] = stated
            fact["gpus"] = Self.gpus(context)
            return ["confidential_computing": .value(.object(fact))]
        }
        let cpus = Self.cpus(text)
        fact["cpus"] = .array(cpus.map(\.json))
        var guest: [JSON] = cpus.filter { $0.teeFlags.contains("tdx_guest") }.prefix(1).map {
            [
                "path": .string(Self.cpuinfo), "what": "tdx_guest CPU flag: the kernel runs as an Intel TDX guest",
                "source": .string($0.flagsSource),
            ]
        }
        guest += Self.guestDevices(context)
        switch context.sysfs("/sys/kernel/config/tsm") {
        case .present:
            if root.exists(Self.tsmReport) {
                guest.append([
                    "path": .string(Self.tsmReport), "what": "configfs-tsm attestation reports (a TEE guest driver registered)",
                    "source": .string(Self.tsmReport),
                ])
            }
        case .absent: break
        case let other: guest.append(other.stated("/sys/kernel/config/tsm"))
        }
        fact["tee_guest"] = .array(guest)
        fact["gpus"] = Self.gpus(context)
        return ["confidential_computing": .value(.object(fact))]
    }

    /// The guest devices present. /dev is made by devtmpfs at boot: an offline root's /dev that
    /// holds nothing says nothing about them (one item stating so); live, an empty /dev is an error.
    static func guestDevices(_ context: ProbeContext) -> [JSON] {
        let root = context.root
        let devEntries = (try? root.list("/dev")) ?? []
        if devEntries.isEmpty {
            let reason = "/dev is empty or missing, so /dev/sev-guest and /dev/tdx_guest are not known (devtmpfs makes them at boot)"
            return context.mode == .offline
                ? [["path": "/dev", "not_checked": .string("offline root: " + reason)]] : [["path": "/dev", "error": .string(reason)]]
        }
        return guestDevices.filter { root.exists($0.path) }.map {
            ["path": .string($0.path), "what": .string($0.what), "source": .string($0.path)]
        }
    }

    struct CPU {
        var name: String
        var vendor: String
        var teeFlags: [String]
        var hypervisor: Bool
        /// The line of its `flags` (else its first line): where the kernel shows what it has.
        var flagsSource: String

        /// The same kind of processor, wherever its lines are.
        func same(as other: CPU) -> Bool {
            name == other.name && vendor == other.vendor && teeFlags == other.teeFlags && hypervisor == other.hypervisor
        }

        var json: JSON {
            [
                "name": .string(name), "vendor": .string(vendor), "tee_flags": .array(teeFlags.map { .string($0) }),
                "hypervisor": .bool(hypervisor), "source": .string(flagsSource),
            ]
        }
    }

    /// The distinct processors of /proc/cpuinfo (one item per model and flag set, not per
    /// logical CPU), read as arch/x86/kernel/cpu/proc.c prints them: a block per processor
    /// starting at `processor`, lines `name<TAB>: value`, `flags` the space-separated feature
    /// names. Other architectures print no `flags` line: their items have no TEE flag.
    static func cpus(_ text: String) -> [CPU] {
        var out: [CPU] = []
        var current: CPU?
        func finish() {
            if let c = current, !out.contains(where: { $0.same(as: c) }) { out.append(c) }
            current = nil
        }
        for (i, line) in lines(text).enumerated() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmed
            let value = line[line.index(after: colon)...].trimmed
            switch key {
            case "processor":
                finish()
                current = CPU(name: "unknown", vendor: "unknown", teeFlags: [], hypervisor: false, flagsSource: "\(cpuinfo):\(i + 1)")
            case "vendor_id": current?.vendor = String(value)
            case "model name": current?.name = String(value)
            case "flags":
                let words = Set(value.words.map(String.init))
                current?.teeFlags = teeFlags.filter { words.contains($0) }
                current?.hypervisor = words.contains("hypervisor")
                current?.flagsSource = "\(cpuinfo):\(i + 1)"
            default: continue
            }
        }
        finish()
        return out
    }

    /// NVIDIA display controllers on the PCI bus (vendor 0x10de, class 0x03xxxx: VGA and 3D
    /// controllers), each with its driver and a confidential-computing mode of `unknown`, with
    /// the reason: no file holds it.
    static func gpus(_ context: ProbeContext) -> JSON {
        let root = context.root
        let dir = pciDevices
        switch context.sysfs(dir) {
        case .present:
            let names: [String]
            do { names = try root.list(dir).filter { !$0.hasPrefix(".") }.sorted() } catch {
                return ["error": .string(error.description), "source": .string(dir)]
            }
            var out: [JSON] = []
            for name in names {
                let path = dir + "/" + name
                func attribute(_ a: String) -> String? { (try? root.readText(path + "/" + a, limit: 4096)).map { String($0.trimmed) } }
                guard let vendor = attribute("vendor"), let cls = attribute("class") else {
                    out.append(["path": .string(path), "error": .string("\(path): vendor or class cannot be read")])
                    continue
                }
                guard vendor.lowercased() == "0x10de", cls.lowercased().hasPrefix("0x03") else { continue }
                var gpu: JSONObject = [
                    "path": .string(path), "vendor": .string(vendor), "class": .string(cls), "cc_mode": "unknown",
                    "cc_mode_reason": .string(gpuModeReason),
                ]
                if let device = attribute("device") { gpu["device"] = .string(device) }
                if let link = try? root.readLink(path + "/driver"), let last = link.split(separator: "/").last {
                    gpu["driver"] = .string(String(last))
                }
                out.append(.object(gpu))
            }
            return .array(out)
        case .absent: return []
        case let other: return other.stated(dir)
        }
    }
}
