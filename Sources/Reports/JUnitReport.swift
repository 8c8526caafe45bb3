public import WardenCore
internal import WardenFormats

/// JUnit XML for CI systems: one test case per control. A failing verdict control is a
/// `<failure>` with what was observed and expected; an undecided one (error, not_checked) an
/// `<error>`; advisory, waived, manual and not-applicable controls are `<skipped>` with the reason,
/// so that only what decides conformance can fail a pipeline.
public enum JUnitReport {
    public static func render(_ doc: FindingsDocument) -> String {
        let host = doc.host["hostname"]?.stringValue ?? "unknown host"
        var failures = 0
        var errors = 0
        var skipped = 0
        var cases = ""
        for f in doc.findings {
            cases += "    <testcase classname=\"warden.\(f.area.rawValue)\" name=\"\(escape("\(f.control) \(f.title)"))\" time=\"0\">\n"
            let detail = f.evidence.filter { $0.ok == false }.prefix(20).map { e in
                "\(e.subject.map { "\($0): " } ?? "")observed \(TextReport.render(e.observed)), expected \(e.expected) [\(e.source)]"
            }.joined(separator: "\n")
            switch (f.status, f.advisory) {
            case (.fail, false):
                failures += 1
                cases +=
                    "      <failure type=\"fail\" message=\"\(escape(f.summary))\">\(escape(detail + "\nfix: " + f.remediation))</failure>\n"
            case (.error, false), (.notChecked, false):
                errors += 1
                cases += "      <error type=\"\(f.status.rawValue)\" message=\"\(escape(f.summary))\"/>\n"
            case (.pass, _):
                break
            default:
                skipped += 1
                let why = f.advisory ? "advisory (\(f.status.rawValue)): \(f.summary)" : "\(f.status.rawValue): \(f.summary)"
                cases += "      <skipped message=\"\(escape(why))\"/>\n"
            }
            cases += "    </testcase>\n"
        }
        let n = doc.findings.count
        let suite = escape("\(doc.profile.id) \(doc.profile.version) on \(host)")
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="warden" tests="\(n)" failures="\(failures)" errors="\(errors)" skipped="\(skipped)">
              <testsuite name="\(suite)" tests="\(n)" failures="\(failures)" errors="\(errors)" skipped="\(skipped)" timestamp="\(doc.finishedAt)" hostname="\(escape(host))">
            \(cases)  </testsuite>
            </testsuites>

            """
    }

    /// XML (and HTML) text and attribute escaping; control characters XML 1.0 forbids are dropped.
    static func escape(_ s: String) -> String {
        // Most text has nothing to replace or drop: returned as it is, without a walk over its
        // scalars (0xEF starts U+FFFE and U+FFFF, so it takes the walk).
        guard
            s.utf8.contains(where: {
                ($0 < 0x20 && $0 != 0x0A && $0 != 0x09 && $0 != 0x0D) || $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<")
                    || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == 0xEF
            })
        else { return s }
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
