/// Durations as the command line takes them: `7d`, `36h`, `90m`, `45s`, `2w`, or sums like
/// `1d12h`. With `bareSeconds` a number without a unit counts as seconds, and units are
/// case-insensitive, as sshd's time format (`ClientAliveInterval 5m`, `LoginGraceTime 90`).
public enum Durations {
    public static func seconds(_ text: String, bareSeconds: Bool = false) -> Int64? {
        var total: Int64 = 0
        var number: Int64?
        for c in bareSeconds ? text.lowercased() : text {
            if let d = c.wholeNumberValue, c.isASCII {
                let (n, overflow) = (number ?? 0).multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                number = n + Int64(d)
                continue
            }
            let unit: Int64
            switch c {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            case "w": unit = 604_800
            default: return nil
            }
            guard let n = number else { return nil }
            let (part, overflow) = n.multipliedReportingOverflow(by: unit)
            guard !overflow, total <= Int64.max - part else { return nil }
            total += part
            number = nil
        }
        if let number, bareSeconds {
            guard total <= Int64.max - number else { return nil }
            return total + number
        }
        guard number == nil, !text.isEmpty else { return nil }
        return total
    }

    /// `7d`, `36h`, `1d12h`, `90s`.
    public static func text(_ seconds: Int64) -> String {
        guard seconds > 0 else { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, name) in [(Int64(86400), "d"), (3600, "h"), (60, "m"), (1, "s")] where rest >= unit {
            out += "\(rest / unit)\(name)"
            rest %= unit
        }
        return out
    }
}
