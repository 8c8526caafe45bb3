public import WardenCore
internal import WardenFormats

/// CPU vulnerability mitigations (HRD-011): the kernel parameters that switch one off, and what
/// the running kernel reports in /sys/devices/system/cpu/vulnerabilities. The command line is
/// `/proc/cmdline` live and GRUB's defaults offline, read as `KernelCmdlineProbe` reads them.
/// Which parameters count, and how the kernel finds each, follow Linux 6.1's
/// admin-guide/kernel-parameters and its parsers (docs/DAEMON-SEMANTICS.md, "CPU mitigations").
public struct CPUMitigationsProbe: Probe {
    public init() {}
    public let name = "cpu_mitigations"
    public let summary = "CPU mitigations: kernel parameters that switch one off, and the kernel's vulnerabilities files"
    public let reads = [
        "/proc/cmdline", "/etc/default/grub", "/etc/default/grub.d/*.cfg", CPUMitigationsProbe.vulnerabilitiesDirectory + "/*",
    ]
    public var facts: [String: FactType] {
        [
            "cpu_mitigations": .object([
                "cmdline_source": .string,
                "switched_off": .list(
                    .object(["parameter": .string, "word": .string, "effect": .string, "source": .string])),
                "vulnerabilities": .list(.object(["path": .string, "text": .string, "vulnerable": .bool])),
            ])
        ]
    }

    static let vulnerabilitiesDirectory = "/sys/devices/system/cpu/vulnerabilities"

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = ["vulnerabilities": CPUMitigationsProbe.vulnerabilities(context)]
        if root.exists("/proc/cmdline") {
            do {
                let text = try root.readText("/proc/cmdline", limit: 65536)
                fact["cmdline_source"] = "/proc/cmdline"
                fact["switched_off"] = .array(CPUMitigationsProbe.switchedOff(text, source: "/proc/cmdline"))
            } catch {
                fact["switched_off"] = ["error": .string(error.description), "source": "/proc/cmdline"]
            }
        } else {
            do {
                if let grub = try KernelCmdlineProbe.grubCommandLine(context.root) {
                    fact["cmdline_source"] = .string("\(grub.source) (GRUB, offline root: the next boot's command line)")
                    fact["switched_off"] = .array(CPUMitigationsProbe.switchedOff(grub.text, source: grub.source))
                } else {
                    let reason = "neither /proc/cmdline nor /etc/default/grub exists"
                    fact["switched_off"] =
                        context.mode == .offline
                        ? ["not_checked": .string("\(reason) (offline root)"), "source": "kernel command line"]
                        : ["error": .string(reason), "source": "kernel command line"]
                }
            } catch {
                fact["switched_off"] = ["error": .string(error.description), "source": "/etc/default/grub"]
            }
        }
        return ["cpu_mitigations": .value(.object(fact))]
    }

    /// The files of the vulnerabilities directory with their text. The sysfs rule decides what a
    /// missing directory means (`ProbeContext.sysfs`); a kernel without it (before 4.15) reports
    /// nothing, which cannot pass.
    static func vulnerabilities(_ context: ProbeContext) -> JSON {
        let dir = vulnerabilitiesDirectory
        switch context.sysfs(dir) {
        case .present:
            let names: [String]
            do { names = try context.root.list(dir).filter { !$0.hasPrefix(".") }.sorted() } catch {
                return ["error": .string(error.description), "source": .string(dir)]
            }
            // The kernel makes every file when it makes the directory: none is a report of nothing.
            guard !names.isEmpty else { return ["error": .string("\(dir) lists no CPU vulnerability"), "source": .string(dir)] }
            return .array(names.map { vulnerability(context.root, dir + "/" + $0) })
        case .absent:
            return [
                "error": .string("the running kernel has no \(dir), so it reports no CPU vulnerability (a kernel before 4.15?)"),
                "source": .string(dir),
            ]
        case let other:
            return other.stated(dir)
        }
    }

    static func vulnerability(_ root: HostRoot, _ path: String) -> JSON {
        do {
            let text = String(try root.readText(path, limit: 4096).trimmed)
            return ["path": .string(path), "text": .string(text), "vulnerable": .bool(text.hasPrefix("Vulnerable"))]
        } catch {
            return ["path": .string(path), "error": .string(error.description)]
        }
    }

    /// How the kernel finds a parameter. `kernel`: the generic parser (`parse_args`, early and
    /// module parameters): words split at white space outside double quotes, `-` and `_` the same
    /// in the name, nothing after `--` (that goes to init). `x86`: arch/x86/lib/cmdline.c's
    /// `cmdline_find_option(_bool)`, which bugs.c and pti.c use: the exact name, anywhere on the
    /// line, `--` included.
    enum Finder { case kernel, x86 }

    struct Switch: Sendable {
        let name: String
        /// The values that switch the mitigation off; nil for a flag that does it by itself.
        let off: (@Sendable (String) -> Bool)?
        let finder: Finder
        let effect: String
    }

    /// The names of the parameters the amd64 kernel reads itself (not the arm64, POWER or s390
    /// ones, nor the kvm modules'), for the test that finds each in Debian 12's kernel image.
    public static var amd64KernelParameters: [String] {
        let elsewhere: Set = [
            "kvm.nx_huge_pages", "kvm_intel.vmentry_l1d_flush", "nosmap", "nosmep", "kpti", "nospectre_bhb", "ssbd", "no_entry_flush",
            "no_uaccess_flush", "nobp",
        ]
        return switches.map(\.name).filter { !elsewhere.contains($0) }
    }

    static func value(_ words: String...) -> @Sendable (String) -> Bool { { words.contains($0) } }

    /// A value `kstrtobool` reads as false (`kpti=`, `kvm.nx_huge_pages=`, which also takes `off`).
    static func kstrtoboolFalse(_ value: String) -> Bool {
        let u = Array(value.utf8)
        guard let first = u.first else { return false }
        if first == UInt8(ascii: "n") || first == UInt8(ascii: "N") || first == UInt8(ascii: "0") { return true }
        return (first == UInt8(ascii: "o") || first == UInt8(ascii: "O")) && u.count > 1
            && (u[1] == UInt8(ascii: "f") || u[1] == UInt8(ascii: "F"))
    }

    /// Linux 6.1's kernel-parameters.txt as Debian 12's kernel ships it (its stable updates
    /// included): everything `mitigations=off` stands for, the parameters that switch one of
    /// those mitigations off, and SMEP and SMAP.
    static let switches: [Switch] = [
        Switch(name: "mitigations", off: value("off"), finder: .kernel, effect: "every optional CPU mitigation"),
        Switch(name: "nopti", off: nil, finder: .x86, effect: "page table isolation (Meltdown)"),
        Switch(name: "pti", off: value("off"), finder: .x86, effect: "page table isolation (Meltdown)"),
        Switch(name: "nospectre_v1", off: nil, finder: .kernel, effect: "the Spectre variant 1 mitigations"),
        Switch(name: "nospectre_v2", off: nil, finder: .x86, effect: "the Spectre variant 2 mitigations"),
        Switch(name: "spectre_v2", off: value("off"), finder: .x86, effect: "the Spectre variant 2 mitigations"),
        Switch(name: "spectre_v2_user", off: value("off"), finder: .x86, effect: "the Spectre variant 2 user-space mitigations"),
        Switch(name: "nospec_store_bypass_disable", off: nil, finder: .x86, effect: "the Speculative Store Bypass mitigation"),
        Switch(name: "spec_store_bypass_disable", off: value("off"), finder: .x86, effect: "the Speculative Store Bypass mitigation"),
        Switch(name: "l1tf", off: value("off"), finder: .kernel, effect: "the L1 Terminal Fault mitigation"),
        Switch(name: "mds", off: value("off"), finder: .kernel, effect: "the Microarchitectural Data Sampling mitigation"),
        Switch(name: "tsx_async_abort", off: value("off"), finder: .kernel, effect: "the TSX Async Abort mitigation"),
        Switch(name: "mmio_stale_data", off: value("off"), finder: .kernel, effect: "the MMIO Stale Data mitigation"),
        Switch(name: "retbleed", off: value("off"), finder: .kernel, effect: "the Retbleed mitigation"),
        Switch(name: "srbds", off: value("off"), finder: .kernel, effect: "the SRBDS mitigation"),
        Switch(name: "gather_data_sampling", off: value("off"), finder: .kernel, effect: "the Gather Data Sampling mitigation"),
        Switch(name: "reg_file_data_sampling", off: value("off"), finder: .kernel, effect: "the Register File Data Sampling mitigation"),
        Switch(name: "spectre_bhi", off: value("off"), finder: .kernel, effect: "the Branch History Injection mitigation"),
        Switch(
            name: "spec_rstack_overflow", off: value("off"), finder: .kernel, effect: "the Speculative Return Stack Overflow mitigation"),
        Switch(name: "indirect_target_selection", off: value("off"), finder: .kernel, effect: "the Indirect Target Selection mitigation"),
        Switch(name: "tsa", off: value("off"), finder: .kernel, effect: "the Transient Scheduler Attacks mitigation"),
        Switch(name: "vmscape", off: value("off"), finder: .kernel, effect: "the VMSCAPE mitigation"),
        Switch(name: "kvm.nx_huge_pages", off: kstrtoboolFalse, finder: .kernel, effect: "the iTLB multihit mitigation for KVM guests"),
        Switch(name: "kvm_intel.vmentry_l1d_flush", off: value("never"), finder: .kernel, effect: "the L1D flush on VM entry (L1TF)"),
        Switch(name: "nosmap", off: nil, finder: .kernel, effect: "SMAP (supervisor mode access prevention)"),
        Switch(name: "nosmep", off: nil, finder: .kernel, effect: "SMEP (supervisor mode execution prevention)"),
        Switch(name: "kpti", off: kstrtoboolFalse, finder: .kernel, effect: "kernel page table isolation (arm64)"),
        Switch(name: "nospectre_bhb", off: nil, finder: .kernel, effect: "the Spectre-BHB mitigations (arm64)"),
        Switch(name: "ssbd", off: value("force-off"), finder: .kernel, effect: "the Speculative Store Bypass mitigation (arm64)"),
        Switch(name: "no_entry_flush", off: nil, finder: .kernel, effect: "the L1-D flush on kernel entry (POWER)"),
        Switch(name: "no_uaccess_flush", off: nil, finder: .kernel, effect: "the L1-D flush after user access (POWER)"),
        Switch(name: "nobp", off: value("0"), finder: .kernel, effect: "branch prediction protection (s390)"),
    ]

    /// Every word of `text` that switches a mitigation off, in the order of the table, each once
    /// per occurrence. An `off` anywhere counts, even where a later occurrence sets the
    /// parameter again (the kernel takes the later one): the `off` is to be removed, a possible
    /// false fail but never a false pass.
    static func switchedOff(_ text: String, source: String) -> [JSON] {
        let kernel = kernelParameters(text)
        let x86 = x86Words(text)
        var out: [JSON] = []
        for s in switches {
            let candidates: [(name: String, value: String?, word: String)]
            switch s.finder {
            case .kernel:
                candidates = kernel.filter { normalised($0.name) == normalised(s.name) }
            case .x86:
                // cmdline_find_option_bool matches a whole word; cmdline_find_option a word
                // that starts with `name=`.
                candidates = x86.compactMap { word in
                    if s.off == nil { return word == s.name ? (s.name, nil, word) : nil }
                    guard word.hasPrefix(s.name + "=") else { return nil }
                    return (s.name, String(word.dropFirst(s.name.count + 1)), word)
                }
            }
            for c in candidates {
                if let off = s.off {
                    guard let v = c.value, off(v) else { continue }
                }
                out.append([
                    "parameter": .string(s.name), "word": .string(c.word), "effect": .string("switches off \(s.effect)"),
                    "source": .string(source),
                ])
            }
        }
        return out
    }

    /// `-` and `_` are the same in a parameter's name (`parameq`).
    static func normalised(_ name: String) -> String {
        String(decoding: name.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "_") : $0 }, as: UTF8.self)
    }

    /// The parameters as `parse_args` reads them (kernel/params.c `next_arg`, Linux 6.1): split
    /// at white space outside double quotes, the name up to the first `=`, quotes around the
    /// value removed, and nothing from a bare `--` on.
    static func kernelParameters(_ text: String) -> [(name: String, value: String?, word: String)] {
        let b = Array(text.utf8)
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        var out: [(String, String?, String)] = []
        var i = 0
        while i < b.count, isSpace(b[i]) { i += 1 }
        while i < b.count {
            var start = i
            var inQuote = false
            var quoted = false
            if b[start] == UInt8(ascii: "\"") {
                start += 1
                inQuote = true
                quoted = true
            }
            var j = start
            var equals: Int?
            while j < b.count {
                if isSpace(b[j]) && !inQuote { break }
                if equals == nil && j > start && b[j] == UInt8(ascii: "=") { equals = j }
                if b[j] == UInt8(ascii: "\"") { inQuote.toggle() }
                j += 1
            }
            var end = j
            let word = String(decoding: b[i..<j], as: UTF8.self)
            if quoted && end > start && b[end - 1] == UInt8(ascii: "\"") { end -= 1 }
            let name: String
            var value: String?
            if let e = equals, e < end {
                name = String(decoding: b[start..<e], as: UTF8.self)
                var vs = e + 1
                var ve = end
                if vs < ve && b[vs] == UInt8(ascii: "\"") {
                    vs += 1
                    if ve > vs && b[ve - 1] == UInt8(ascii: "\"") { ve -= 1 }
                }
                value = String(decoding: b[vs..<max(vs, ve)], as: UTF8.self)
            } else {
                name = String(decoding: b[start..<max(start, end)], as: UTF8.self)
            }
            if value == nil && name == "--" { break }
            out.append((name, value, word))
            i = j
            while i < b.count, isSpace(b[i]) { i += 1 }
        }
        return out
    }

    /// The words as arch/x86/lib/cmdline.c sees them: split at every byte up to and including
    /// space (`myisspace`), no quoting, the whole line.
    static func x86Words(_ text: String) -> [String] {
        text.utf8.split(whereSeparator: { $0 <= 0x20 }).map { String(decoding: $0, as: UTF8.self) }
    }
}
