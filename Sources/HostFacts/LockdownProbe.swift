public import WardenCore
internal import WardenFormats

/// Kernel lockdown mode (`/sys/kernel/security/lockdown`, the active mode in brackets) and module
/// signature enforcement (`/sys/module/module/parameters/sig_enforce`, or `module.sig_enforce=1`
/// on the command line, which the cmdline fact carries).
public struct LockdownProbe: Probe {
    public init() {}
    public let name = "lockdown"
    public let summary = "kernel lockdown mode and module signature enforcement"
    public let reads = ["/sys/kernel/security/lockdown", "/sys/module/module/parameters/sig_enforce"]
    public var facts: [String: FactType] {
        [
            "kernel_integrity": .object([
                "lockdown": .sourced(.optional(.string)), "sig_enforce": .sourced(.optional(.bool)), "source": .string,
            ])
        ]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        func runtime(_ path: String, parse: (String) -> JSON?) -> JSON {
            switch context.sysfs(path) {
            case .present:
                do {
                    let text = String(try root.readText(path, limit: 4096).trimmed)
                    guard let v = parse(text) else {
                        return ["error": .string("\(path): unexpected content '\(text)'"), "source": .string(path)]
                    }
                    return ["value": v, "source": .string(path)]
                } catch {
                    return ["error": .string(error.description), "source": .string(path)]
                }
            case .absent: return ["value": .null, "source": .string("\(path) (absent)")]
            case let other: return other.stated(path)
            }
        }
        let lockdown = runtime("/sys/kernel/security/lockdown") { text in
            // "none [integrity] confidentiality": the bracketed word is the active mode.
            guard let open = text.firstIndex(of: "["), let close = text.firstIndex(of: "]"), open < close else { return nil }
            return .string(String(text[text.index(after: open)..<close]))
        }
        let sigEnforce = runtime("/sys/module/module/parameters/sig_enforce") { text in
            text == "Y" ? true : text == "N" ? false : nil
        }
        return ["kernel_integrity": .value(["lockdown": lockdown, "sig_enforce": sigEnforce, "source": "/sys/kernel/security/lockdown"])]
    }
}
