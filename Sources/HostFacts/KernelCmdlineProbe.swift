public import WardenCore
internal import WardenFormats

/// The kernel command line: `/proc/cmdline` on a live host; offline, what GRUB will pass at the
/// next boot (`GRUB_CMDLINE_LINUX` and `GRUB_CMDLINE_LINUX_DEFAULT` in /etc/default/grub and
/// /etc/default/grub.d/*.cfg, later assignments winning, as grub-mkconfig sources them).
public struct KernelCmdlineProbe: Probe {
    public init() {}
    public let name = "cmdline"
    public let summary = "kernel command line: /proc/cmdline live, GRUB defaults offline"
    public let reads = ["/proc/cmdline", "/etc/default/grub", "/etc/default/grub.d/*.cfg"]
    public var facts: [String: FactType] {
        [
            "cmdline": .object([
                "text": .string, "source": .string, "runtime": .bool,
                // `name=value` (an integer when the value is one) or `true` for a bare flag.
                "parameters": .map(.oneOf([.int, .string, .bool])),
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        if root.exists("/proc/cmdline") {
            do {
                let text = String(try root.readText("/proc/cmdline", limit: 65536).trimmed)
                return ["cmdline": .value(KernelCmdlineProbe.fact(text, source: "/proc/cmdline", runtime: true))]
            } catch {
                return ["cmdline": .unavailable(.error(error.description))]
            }
        }
        let grub: (text: String, source: String)?
        do { grub = try KernelCmdlineProbe.grubCommandLine(root) } catch {
            return ["cmdline": .unavailable(.error(error.description))]
        }
        guard let grub else {
            return ["cmdline": .unavailable(context.absent("neither /proc/cmdline nor /etc/default/grub exists"))]
        }
        return [
            "cmdline": .value(
                KernelCmdlineProbe.fact(
                    grub.text, source: "\(grub.source) (GRUB, offline root: the next boot's command line)", runtime: false))
        ]
    }

    /// The next boot's command line as GRUB's defaults give it: `GRUB_CMDLINE_LINUX` then
    /// `GRUB_CMDLINE_LINUX_DEFAULT` from /etc/default/grub and /etc/default/grub.d/*.cfg, the
    /// last assignment of each winning (they are shell variables), with the file:line of the last
    /// one read; nil when there is no such file.
    static func grubCommandLine(_ root: HostRoot) throws(HostError) -> (text: String, source: String)? {
        var files: [String] = []
        if root.exists("/etc/default/grub") { files.append("/etc/default/grub") }
        if let extra = try? root.glob("/etc/default/grub.d/*.cfg") { files += extra }
        guard !files.isEmpty else { return nil }
        var linux = ""
        var linuxDefault = ""
        var source = files[0]
        for file in files {
            for (number, line) in configLines(try root.readText(file)) {
                for (name, target) in [("GRUB_CMDLINE_LINUX=", 0), ("GRUB_CMDLINE_LINUX_DEFAULT=", 1)] where line.hasPrefix(name) {
                    let value = String(unquoted(line.dropFirst(name.count)))
                    if target == 0 { linux = value } else { linuxDefault = value }
                    source = "\(file):\(number)"
                }
            }
        }
        return ([linux, linuxDefault].filter { !$0.isEmpty }.joined(separator: " "), source)
    }

    /// `parameters` maps each name to its last value (`true` for a bare flag), as the kernel
    /// takes the last occurrence.
    static func fact(_ text: String, source: String, runtime: Bool) -> JSON {
        var parameters: JSONObject = [:]
        for word in text.words {
            if let eq = word.firstIndex(of: "=") {
                parameters[String(word[..<eq])] = SysctlProbe.typed(String(word[word.index(after: eq)...]))
            } else {
                parameters[String(word)] = true
            }
        }
        return ["text": .string(text), "source": .string(source), "runtime": .bool(runtime), "parameters": .object(parameters)]
    }
}
