public import WardenCore

/// `warden profiles coverage` as text or Markdown (its JSON is `RANDCoverage.json`).
public enum RANDCoverageReport {
    static let order: [RANDCoverage.Status] = [.implemented, .supported, .proxied, .reported, .organisational, .notCovered]

    static func name(_ status: RANDCoverage.Status) -> String {
        status == .notCovered ? "not covered" : status.rawValue
    }

    static func heading(_ c: RANDCoverage) -> (title: String, counts: String) {
        let levels = c.level == .sl1 ? "SL1" : "SL1–\(c.level.rawValue)"
        let title =
            "RAND \(c.catalogue.report) (\(c.catalogue.title), \(c.catalogue.published)): the \(c.rows.count) measures at \(levels) "
            + "that concern one host, against \(c.profile.id) \(c.profile.version) (\(c.profile.title))"
        let counts = order.map { "\(c.counts[$0] ?? 0) \(name($0))" }.joined(separator: ", ")
        return (title, counts)
    }

    static func citations(_ row: RANDCoverage.Row) -> String {
        row.citations.map { "\($0.control) (\($0.relation.rawValue)\($0.advisory ? ", advisory" : ""))" }.joined(separator: ", ")
    }

    public static func text(_ c: RANDCoverage) -> String {
        let (title, counts) = heading(c)
        var out = "\(title)\n\(counts)\nAliases R-n are Warden's; RAND's measures have labels, not numbers.\n\n"
        for row in c.rows {
            let m = row.measure
            out += "\(m.alias) \(m.level.rawValue) p. \(m.page) \(m.label)\n"
            out += "    \(name(row.status))"
            if !row.citations.isEmpty { out += ": \(citations(row))" }
            out += "\n"
            if let a = m.attestation { out += "    attest: \(a)\n" }
        }
        return out
    }

    /// Markdown under a heading of level `depth` (1 for `#`).
    public static func markdown(_ c: RANDCoverage, depth: Int = 1) -> String {
        let (title, _) = heading(c)
        var out = String(repeating: "#", count: depth) + " RAND coverage of \(c.profile.id)\n\n\(title).\n"
        out += "Aliases R-n are Warden's; RAND's measures have labels, not numbers.\n\n"
        out += "| Status | Measures |\n|---|---|\n"
        for s in order { out += "| \(name(s)) | \(c.counts[s] ?? 0) |\n" }
        out += "\n| Measure | Level | Page | Label | Status | Controls, or what to attest |\n|---|---|---|---|---|---|\n"
        for row in c.rows {
            let m = row.measure
            let detail = [citations(row), m.attestation ?? ""].filter { !$0.isEmpty }.joined(separator: "; ")
            out +=
                "| \(m.alias) | \(m.level.rawValue) | \(m.page) | \(BundleReport.mdEscape(m.label, inTable: true)) | \(name(row.status)) | \(BundleReport.mdEscape(detail, inTable: true)) |\n"
        }
        return out
    }
}
