public import WardenCore
internal import WardenFormats

/// The report a busy engineer reads in a terminal: grouped by area, failures first, each with what
/// was observed, what was expected and how to fix it, and a one-line verdict at the end.
public enum TextReport {
    public static func render(_ doc: FindingsDocument, color: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        // Statuses are spelled as in the findings (`not_checked`), louder where they need action.
        let marks: [Status: String] = [
            .fail: paint("FAIL", "31;1"), .error: paint("ERROR", "33;1"), .notChecked: paint("NOT_CHECKED", "33"),
            .pass: paint("pass", "32"), .notApplicable: paint("not_applicable", "2"), .waived: paint("WAIVED", "36"),
            .manual: paint("manual", "2"),
        ]
        let order: [Status] = [.fail, .error, .notChecked, .waived, .manual, .pass, .notApplicable]
        var out = ""
        let hostname = doc.host["hostname"]?.stringValue ?? "unknown host"
        out +=
            "Warden audit of \(hostname) (\(doc.facts.mode.rawValue), root \(doc.root)) against \(doc.profile.id) \(doc.profile.version): \(doc.profile.title)\n"
        if case .value(let s)? = doc.facts["site"], let name = s["environment"]?.stringValue,
            let environment = Site.Environment(rawValue: name)
        {
            out += "Environment: \(name) (RAND's SL3 alternative \(environment.randAlternative))\n"
        }
        if case .value(let w)? = doc.facts["weights"], let note = w["note"]?.stringValue {
            let paths = w["paths"]?.arrayValue?.compactMap(\.stringValue) ?? []
            out +=
                "Weights: \(note)"
                + (paths.isEmpty ? "" : ": " + paths.prefix(5).joined(separator: ", ") + (paths.count > 5 ? ", … (\(paths.count))" : ""))
                + "\n"
            if let e = w["discovery_error"]?.stringValue { out += "         \(e)\n" }
        }
        // A long reason shared by several controls (sshd refusing its configuration makes every
        // SSH control an error) is printed once, then referred to.
        var shown: [String: String] = [:]
        func reason(_ f: Finding) -> String {
            guard f.summary.count > 40 else { return f.summary }
            if let first = shown[f.summary] { return "(the same reason as \(first))" }
            shown[f.summary] = f.control
            return f.summary
        }
        for area in Area.allCases {
            let results = doc.findings.filter { $0.area == area }
                .sorted { (order.firstIndex(of: $0.status)!, $0.control) < (order.firstIndex(of: $1.status)!, $1.control) }
            guard !results.isEmpty else { continue }
            let passed = results.filter { $0.status == .pass }.count
            out += "\n\(paint(area.title, "1")) (\(passed)/\(results.count) pass)\n"
            for f in results {
                let advisory = f.advisory ? " (advisory)" : ""
                out += "  \(marks[f.status] ?? f.status.rawValue) \(f.control) [\(f.severity.rawValue)] \(f.title)\(advisory)\n"
                switch f.status {
                case .pass:
                    break
                case .fail, .waived:
                    let failed = f.evidence.filter { $0.ok == false }
                    if failed.isEmpty || f.status == .waived { out += "      \(reason(f))\n" }
                    for e in failed.prefix(6) {
                        let subject = e.subject.map { "\($0): " } ?? ""
                        out += "      \(subject)\(render(e.observed)), expected \(e.expected)  [\(e.source)]\n"
                    }
                    if failed.count > 6 { out += "      … \(failed.count - 6) more in the JSON findings\n" }
                    if f.status == .fail { out += "      fix: \(f.remediation)\n" }
                default:
                    out += "      \(reason(f))\n"
                }
            }
        }
        let s = doc.summary
        let counts = [Status.fail, .error, .notChecked, .pass, .waived, .notApplicable, .manual]
            .compactMap { st in s.counts[st].flatMap { $0 > 0 ? "\($0) \(st.rawValue)" : nil } }.joined(separator: ", ")
        let verdict: String
        switch s.verdict {
        case .conformant: verdict = paint("CONFORMANT", "32;1")
        case .nonconformant: verdict = paint("NOT CONFORMANT", "31;1")
        case .incomplete: verdict = paint("INCOMPLETE", "33;1")
        }
        out += "\n\(doc.profile.id): \(verdict) — \(counts)\n"
        if !s.expiredWaivers.isEmpty { out += "Expired waivers: \(s.expiredWaivers.joined(separator: ", "))\n" }
        return out
    }

    static func render(_ v: JSON) -> String {
        switch v {
        case .string(let s): return s.isEmpty ? "\"\"" : s
        case .null: return "not set"
        default: return v.compactString
        }
    }
}
