public import Evidence
public import WardenCore
internal import WardenFormats

/// The reviewer's report on a bundle (or on one host's findings): Markdown and a self-contained
/// HTML page (inline CSS, no scripts, no external assets, printable). Pure functions of the
/// summary, so that a verifier re-renders them and compares bytes.
///
/// Order: the verdict first; then the hosts; pass rates per area; the host × control matrices;
/// the failing controls with evidence and remediation; the mapping onto Commitment II.7 (third
/// draft) and Appendix 4 (final Code); rejected and superseded inputs.
public enum BundleReport {
    public static let markdownName = "report.md"
    public static let htmlName = "report.html"
    /// Matrices show at most this many hosts (those with problems first); summary.json has all.
    public static let matrixRows = 250

    /// Both reports, as a bundle ships them (each rendered on a core of its own; for 10,000 hosts
    /// each takes a while), with the RAND coverage of the bundle's profiles.
    public static func documents(coverage: [RANDCoverage]) -> [(path: String, render: @Sendable (FleetSummary) -> [UInt8])] {
        let source = Source(coverage: coverage)
        return [
            (markdownName, { Array(markdown($0, source: source).utf8) }),
            (htmlName, { Array(html($0, source: source).utf8) }),
        ]
    }

    // MARK: - What both formats say

    static let order: [Status] = [.pass, .waived, .notApplicable, .fail, .error, .notChecked, .manual]

    static func symbol(_ s: Status) -> String {
        switch s {
        case .pass: "✓"
        case .fail: "✗"
        case .error: "!"
        case .notChecked: "?"
        case .notApplicable: "–"
        case .waived: "W"
        case .manual: "M"
        }
    }

    static func label(_ s: Status) -> String {
        switch s {
        case .pass: "pass"
        case .fail: "fail"
        case .error: "error"
        case .notChecked: "not_checked"
        case .notApplicable: "not_applicable"
        case .waived: "waived"
        case .manual: "manual"
        }
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    static func validUntil(_ s: FleetSummary) -> Timestamp { Timestamp(seconds: s.createdAt.seconds + s.maxAge) }

    /// The headline: conformance to each profile, out of the inventory when there is one, and
    /// how many of the conformant hosts rest on stale findings.
    static func headline(_ s: FleetSummary) -> String {
        let total = s.inventory?.hosts.count ?? s.hosts.count
        let what = s.inventory == nil ? "bundled host" : "inventory host"
        let parts = s.profiles.indices.map { p in
            let stale = s.hosts.count(where: { $0.stale && $0.results[p].conformant })
            return "\(s.conformantCount(p)) of \(plural(total, what)) conform to \(s.profiles[p].id.uppercased())"
                + (stale > 0 ? " (\(stale) of them on stale findings)" : "")
        }
        return parts.joined(separator: "; ") + "."
    }

    /// The problems the verdict lists, each with the hosts concerned.
    /// One problem the verdict lists: a title, and the hosts or inputs concerned (short names
    /// shown inline, reasons one per line).
    struct Problem {
        var title: String
        var items: [String] = []
        var inline = true
    }

    static func problems(_ s: FleetSummary) -> [Problem] {
        func names(_ list: [String]) -> [String] {
            list.count > 40 ? list.prefix(40) + ["(40 of \(list.count) shown; all are in summary.json)"] : list
        }
        var out: [Problem] = []
        if s.inventory == nil {
            out.append(
                Problem(
                    title:
                        "No inventory: there is no registry of the hosts that store weights (Appendix 4.2(1)), so coverage cannot be established"
                ))
        }
        if !s.missing.isEmpty {
            out.append(
                Problem(
                    title: "\(plural(s.missing.count, "inventory host")) missing (no accepted findings)",
                    items: names(s.missing.map(\.name).sorted())))
        }
        if !s.stale.isEmpty {
            out.append(
                Problem(
                    title: "\(plural(s.stale.count, "host")) stale (findings older than \(Durations.text(s.maxAge)) at \(s.createdAt))",
                    items: names(s.stale.map(\.name).sorted())))
        }
        for (kind, title) in [
            (Rejection.Kind.wrongKey, "signed by a key other than the inventory's"), (.unknown, "from hosts not in the inventory"),
        ] {
            let list = s.rejected(kind)
            if !list.isEmpty {
                out.append(
                    Problem(
                        title: "\(plural(list.count, "input")) \(title)",
                        items: names(list.map { "\($0.hostname ?? $0.machineID ?? $0.input): \($0.reason)" }), inline: false))
            }
        }
        let other = s.rejected.filter { $0.kind != .wrongKey && $0.kind != .unknown }
        if !other.isEmpty {
            out.append(
                Problem(
                    title: "\(plural(other.count, "input")) unverifiable (rejected)",
                    items: names(other.map { "\($0.input): \($0.reason)" }), inline: false))
        }
        for p in s.profiles.indices {
            let failing = s.hosts.filter { !$0.results[p].conformant }
            if !failing.isEmpty {
                out.append(
                    Problem(
                        title: "\(plural(failing.count, "host")) not conformant to \(s.profiles[p].id.uppercased())",
                        items: names(failing.map(\.name).sorted())))
            }
        }
        return out
    }

    /// Hosts in the order a reader looks for them: by name.
    /// (Positions are sorted rather than the hosts themselves, which are large to move.)
    static func byName(_ s: FleetSummary) -> [FleetSummary.Host] {
        let hosts = s.hosts
        return hosts.indices.sorted { (hosts[$0].name, hosts[$0].machineID) < (hosts[$1].name, hosts[$1].machineID) }.map { hosts[$0] }
    }

    /// Hosts for a matrix: those that do not conform first, then by name; at most `matrixRows`.
    static func matrixHosts(_ s: FleetSummary, profile p: Int) -> [FleetSummary.Host] {
        let hosts = s.hosts
        let conforms = hosts.map { $0.results[p].conformant }
        let order = hosts.indices.sorted {
            (conforms[$0] ? 1 : 0, hosts[$0].name, hosts[$0].machineID) < (conforms[$1] ? 1 : 0, hosts[$1].name, hosts[$1].machineID)
        }
        return order.prefix(matrixRows).map { hosts[$0] }
    }

    /// Status counts over every (host, control) of an area under a profile.
    static func areaCounts(_ s: FleetSummary, profile p: Int, area: Area) -> [Status: Int] {
        var counts: [Status: Int] = [:]
        for c in s.controls where c.area == area {
            for (status, n) in c.tallies[p]?.counts ?? [:] { counts[status, default: 0] += n }
        }
        return counts
    }

    /// Pass rate: pass ÷ every result but not applicable.
    static func passRate(_ counts: [Status: Int]) -> (pass: Int, decided: Int) {
        let decided = counts.filter { $0.key != .notApplicable }.values.reduce(0, +)
        return (counts[.pass, default: 0], decided)
    }

    static func percent(_ part: Int, _ whole: Int) -> String { whole == 0 ? "–" : "\(part * 100 / whole)%" }

    /// Controls that keep at least one host from conforming to some profile, most widespread first.
    static func failingControls(_ s: FleetSummary) -> [FleetSummary.Control] {
        s.controls.filter { c in c.tallies.contains { ($0?.hostsBlocking ?? 0) > 0 } }.sorted {
            let a = $0.tallies.map { $0?.hostsBlocking ?? 0 }.max() ?? 0
            let b = $1.tallies.map { $0?.hostsBlocking ?? 0 }.max() ?? 0
            return (b, $1.severity, $0.id) < (a, $0.severity, $1.id)
        }
    }

    static func evidenceLine(_ e: Observation) -> String {
        let subject = e.subject.map { "\($0): " } ?? ""
        let observed: String = if case .string(let text) = e.observed { text } else { e.observed.compactString }
        let shown = observed.count > 200 ? String(observed.prefix(197)) + "…" : observed
        return "\(subject)observed \(shown), expected \(e.expected) [\(e.source)]"
    }

    /// An item's verdict under each profile: "SL3 met (…); SL4 not met (…)" (a profile the item
    /// is not judged under is left out).
    static func satisfaction(_ s: FleetSummary, _ item: MappedItem) -> String {
        judged(s, item).map { "\($0.profiles) \($0.judgement.verdict.rawValue) (\($0.judgement.detail))" }.joined(separator: "; ")
    }

    /// An item's judgements with the profiles that share each ("SL3 and SL4"), leaving out the
    /// profiles it is not judged under.
    static func judged(_ s: FleetSummary, _ item: MappedItem) -> [(profiles: String, judgement: ItemJudgement)] {
        var out: [(ids: [String], judgement: ItemJudgement)] = []
        for p in s.profiles.indices where item.judgements[p].verdict != .notJudged {
            let j = item.judgements[p]
            let id = s.profiles[p].id.uppercased()
            if let last = out.last, last.judgement.verdict == j.verdict, last.judgement.detail == j.detail {
                out[out.count - 1].ids.append(id)
            } else {
                out.append(([id], j))
            }
        }
        return out.map { ($0.ids.joined(separator: " and "), $0.judgement) }
    }

    /// What a profile's host controls cover of RAND's measures, in one paragraph: a conformant
    /// host shows the host-checkable part of a level, not the level.
    static func randStatement(_ c: RANDCoverage) -> (text: String, notCovered: [String]) {
        let counts = RANDCoverageReport.order.map { "\(c.counts[$0] ?? 0) \(RANDCoverageReport.name($0))" }.joined(separator: ", ")
        let text =
            "\(c.profile.id.uppercased()): of RAND's \(c.rows.count) measures up to \(c.level.rawValue) that concern one host (\(c.catalogue.report), \(c.catalogue.published)), "
            + "its controls: \(counts). Organisational measures need attestations; measures not covered are checked by no control. "
            + "A host conforming to \(c.profile.id.uppercased()) shows the host-checkable part of RAND \(c.level.rawValue), not \(c.level.rawValue) itself."
        let missing = c.rows.filter { $0.status == .notCovered }.map {
            "\($0.measure.alias) (\($0.measure.level.rawValue), p. \($0.measure.page)) \($0.measure.label)"
        }
        return (text, missing)
    }

    /// How an item is judged, as the report says it.
    static let mappingRule =
        "Under each profile an item is met when, on every inventory host, every verdict control citing it passed or did not apply, and one passed; not met when one failed or is waived; undetermined when one is error or not checked, or a host has no fresh findings; manual when no verdict control cites it or it is organisational, with the attestation to collect. SL4 items are judged against SL4."

    /// What shows a third-draft measure beyond its items' controls.
    static func measureNote(_ s: FleetSummary, _ id: String, _ source: Source) -> String? {
        switch id {
        case "II.7.3":
            return s.inventory.map {
                "The inventory in this bundle registers \(plural($0.hosts.count, "host")) that store weights (item 1)."
            }
        case "II.7.6":
            if source.envelope != nil {
                return "One envelope shows one audit; scheduled audits and fresh bundles show the measures applied over time."
            }
            return
                "A bundle is valid for \(Durations.text(s.maxAge)) after it was made; scheduled audits and fresh bundles show the measures applied over time."
        default:
            return nil
        }
    }

    // MARK: - Markdown

    /// What a report is made from, when it is not a verified bundle.
    public struct Source: Sendable {
        /// The line that opens a report made from input nothing verified.
        public var unverified: String?
        /// The path of the one findings envelope the report is made from (not a bundle).
        public var envelope: String?
        /// What the profiles' controls cover of RAND's host measures (`warden profiles coverage`).
        public var coverage: [RANDCoverage]

        public init(unverified: String? = nil, envelope: String? = nil, coverage: [RANDCoverage] = []) {
            self.unverified = unverified
            self.envelope = envelope
            self.coverage = coverage
        }
    }

    /// What the report is made from and when, in one sentence.
    static func provenance(_ s: FleetSummary, _ source: Source) -> String {
        guard let envelope = source.envelope else {
            return "Bundle created \(s.createdAt), valid until \(validUntil(s)) (max age \(Durations.text(s.maxAge)))."
        }
        return
            "One host's signed findings (\(envelope)), not an evidence bundle: no inventory, no bundler's signature, no validity period. Made \(s.createdAt); findings older than \(Durations.text(s.maxAge)) are counted stale."
    }

    public static func markdown(_ s: FleetSummary, source: Source = Source()) -> String {
        var out = source.unverified.map { "**\(mdEscape($0))**\n\n" } ?? ""
        out += "# Evidence for Commitment II.7 / Appendix 4: \(plural(s.hosts.count, "host"))\n\n"
        out += mdEscape(provenance(s, source)) + " "
        out += "Profiles: " + s.profiles.map { "\($0.id) \($0.version) (\($0.title))" }.joined(separator: "; ") + ".\n"
        out += "Conformance is recomputed from the facts inside each host's signed findings, not taken from the host's own verdict.\n\n"

        out += "## Verdict\n\n**\(headline(s))**"
        out += s.completeAndConformant ? " Every inventory host is present, fresh, verified and conformant.\n\n" : "\n\n"
        for p in problems(s) {
            if p.items.isEmpty {
                out += "- \(p.title)\n"
            } else if p.inline {
                out += "- \(p.title): \(mdEscape(p.items.joined(separator: ", ")))\n"
            } else {
                out += "- \(p.title):\n"
                for item in p.items { out += "  - \(mdEscape(item))\n" }
            }
        }

        out +=
            "\n## Hosts\n\n| Host | Machine id | Role | Audited | Finished | "
            + s.profiles.map { $0.id.uppercased() }.joined(separator: " | ") + " |\n"
        out += "|---|---|---|---|---|" + String(repeating: "---|", count: s.profiles.count) + "\n"
        for h in byName(s) {
            out +=
                "| \(mdEscape(h.name, inTable: true)) | `\(h.machineID)` | \(h.role ?? "–") | \(h.auditedProfile) | \(h.finishedAt)\(h.stale ? " **stale**" : "") | "
            out += h.results.map { $0.verdict.rawValue }.joined(separator: " | ") + " |\n"
        }
        if s.hosts.isEmpty { out += "| (no host) | | | | |" + String(repeating: " |", count: s.profiles.count) + "\n" }

        out += "\n## Pass rate by area\n\nPass rate = pass ÷ every result except not applicable, over all hosts.\n\n"
        out +=
            "| Area | " + s.profiles.map { $0.id.uppercased() }.joined(separator: " | ") + " |\n|---|"
            + String(repeating: "---|", count: s.profiles.count) + "\n"
        for area in Area.allCases {
            out += "| \(area.title) | "
            out +=
                s.profiles.indices.map { p in
                    let r = passRate(areaCounts(s, profile: p, area: area))
                    let filled = r.decided == 0 ? 0 : r.pass * 20 / r.decided
                    return "`" + String(repeating: "█", count: filled) + String(repeating: "░", count: 20 - filled)
                        + "` \(percent(r.pass, r.decided)) (\(r.pass)/\(r.decided))"
                }.joined(separator: " | ") + " |\n"
        }

        for p in s.profiles.indices {
            let profile = s.profiles[p]
            let hosts = matrixHosts(s, profile: p)
            out += "\n## Host × control matrix, \(profile.id.uppercased())\n\n"
            out +=
                "✓ pass, ✗ fail, ! error, ? not checked, – not applicable, W waived, M manual; (a) advisory controls do not decide conformance. "
            out += "Columns per area, in this order:\n\n"
            for area in Area.allCases {
                let ids = s.controls.filter { $0.area == area && $0.tallies[p] != nil }.map {
                    $0.id + (profile.advisory.contains($0.id) ? " (a)" : "")
                }
                if !ids.isEmpty { out += "- \(area.title): \(ids.joined(separator: ", "))\n" }
            }
            out +=
                "\n| Host | " + Area.allCases.map(\.prefix).joined(separator: " | ") + " | Verdict |\n|---|"
                + String(repeating: "---|", count: Area.allCases.count + 1) + "\n"
            let byArea = Area.allCases.map { area in s.controls.filter { $0.area == area && $0.tallies[p] != nil }.map(\.id) }
            for h in hosts {
                out += "| \(mdEscape(h.name, inTable: true)) | "
                out += byArea.map { ids in
                    ids.map { symbol(h.results[p].notPassed[$0] ?? .pass) }.joined()
                }.joined(separator: " | ")
                out += " | \(h.results[p].verdict.rawValue)\(h.stale ? " (stale)" : "") |\n"
            }
            if s.hosts.count > hosts.count { out += "\n\(s.hosts.count - hosts.count) more hosts (all conformant) are in summary.json.\n" }
        }

        out += "\n## Controls that keep hosts from conforming\n\n"
        let failing = failingControls(s)
        if failing.isEmpty { out += "No control keeps any host from conforming.\n" }
        if !failing.isEmpty {
            out +=
                "| Control | Severity | " + s.profiles.map { "Hosts kept from \($0.id.uppercased())" }.joined(separator: " | ")
                + " |\n|---|---|" + String(repeating: "---|", count: s.profiles.count) + "\n"
            for c in failing {
                out +=
                    "| \(c.id) \(mdEscape(c.title, inTable: true)) | \(c.severity.rawValue) | "
                    + c.tallies.map(blockingCounts).joined(separator: " | ")
                    + " |\n"
            }
            out += "\n"
        }
        for c in failing {
            out += "### \(c.id) \(mdEscape(c.title)) [\(c.severity.rawValue)]\n\n"
            out += "\(keeps(s, c)) "
            out += "References: " + (c.references.cop + c.references.appendix4).joined(separator: ", ") + ".\n\n"
            out += "**Remediation:** \(mdEscape(c.remediation))\n\n\(shownOf(s, c)):\n\n"
            for e in examples(c) {
                out += "- \(mdEscape(e.name)) (`\(e.machineID)`), \(label(e.status)): \(mdEscape(e.summary))\n"
                for ev in e.evidence { out += "  - \(mdEscape(evidenceLine(ev)))\n" }
            }
            out += "\n"
        }

        if !source.coverage.isEmpty {
            out += "## RAND coverage\n\n"
            for c in source.coverage {
                let (text, missing) = randStatement(c)
                out += mdEscape(text) + "\n\n"
                if !missing.isEmpty {
                    out += "Not covered at \(c.profile.id.uppercased()) (\(missing.count)):\n\n"
                    for m in missing { out += "- \(mdEscape(m))\n" }
                    out += "\n"
                }
            }
        }

        let mapping = s.codeOfPracticeMapping
        out += "## Commitment II.7 (third draft) and Appendix 4 (final Code)\n\n"
        out +=
            "Controls map onto items through their references (`Profiles/controls/*.yaml`). \(mappingRule) "
        out += "In the final Code (10 July 2025) Commitment II.7 became Commitment 6, whose Measure 6.2 points to Appendix 4.\n\n"
        for m in mapping.thirdDraft {
            out += "### Measure \(m.measure.id) \(m.measure.title)\n\n"
            out +=
                m.controls.isEmpty
                ? "No host control cites this measure.\n" : "Controls citing it: \(m.controls.joined(separator: ", ")).\n"
            if let note = measureNote(s, m.measure.id, source) { out += note + "\n" }
            out += "\n| Item | | Controls | Fleet |\n|---|---|---|---|\n"
            for item in m.items {
                let counterpart = m.measure.items.first { $0.id == item.id }?.appendix4
                out +=
                    "| \(item.id)\(counterpart.map { " → \($0)" } ?? "") | \(item.text) | \(item.controls.joined(separator: ", ")) | \(satisfaction(s, item)) |\n"
            }
            out += "\n"
        }
        out += "### Appendix 4\n\n| Item | | Controls | Fleet |\n|---|---|---|---|\n"
        for m in mapping.appendix4 {
            for item in m.items {
                out += "| \(item.id) | \(item.text) | \(item.controls.joined(separator: ", ")) | \(satisfaction(s, item)) |\n"
            }
        }

        if !s.rejected.isEmpty || !s.superseded.isEmpty {
            out += "\n## Inputs left out\n\n"
            for r in s.rejected { out += "- rejected (\(r.kind.rawValue)): \(mdEscape(r.input)): \(mdEscape(r.reason))\n" }
            for x in s.superseded {
                out += "- superseded by a newer envelope of `\(x.machineID)`: \(mdEscape(x.input)) (finished \(x.finishedAt))\n"
            }
        }
        out +=
            "\n---\nCheck this bundle with `warden verify BUNDLE --trust KEYS`: it recomputes every figure above from the signed findings.\n"
        return out
    }

    /// A tally's blocking results by status ("2 fail, 1 error"), "0", or "–" when the profile
    /// does not select the control; never one "failing" figure for all three.
    static func blockingCounts(_ tally: FleetSummary.Tally?) -> String {
        guard let tally else { return "–" }
        let parts = [(Status.fail, "fail"), (.error, "error"), (.notChecked, "not checked")].compactMap { status, word in
            tally.counts[status].flatMap { $0 > 0 ? "\($0) \(word)" : nil }
        }
        return parts.isEmpty ? "0" : parts.joined(separator: ", ")
    }

    /// "Under SL3: 2 fail, 1 error of 5 hosts; under SL4: …."
    static func keeps(_ s: FleetSummary, _ c: FleetSummary.Control) -> String {
        let parts = s.profiles.indices.compactMap { p in
            c.tallies[p].map { "under \(s.profiles[p].id.uppercased()): \(blockingCounts($0)) of \(plural(s.hosts.count, "host"))" }
        }
        return "Keeps hosts from conforming: " + parts.joined(separator: "; ") + "."
    }

    /// "First 3 of 7 hosts shown (all are in summary.json)".
    static func shownOf(_ s: FleetSummary, _ c: FleetSummary.Control) -> String {
        let total = c.tallies.map { $0?.hostsBlocking ?? 0 }.max() ?? 0
        let shown = examples(c).count
        return shown >= total
            ? "\(plural(total, "host"))" : "\(shown) of at least \(plural(total, "host")) shown (all are in summary.json)"
    }

    static func examples(_ c: FleetSummary.Control) -> [FleetSummary.Example] {
        var seen: Set<String> = []
        return c.tallies.compactMap { $0 }.flatMap(\.examples).filter { seen.insert($0.machineID).inserted }.prefix(3).map { $0 }
    }

    /// `text` cut into prose and code spans (a run of backticks up to the next run as long, as
    /// CommonMark reads them; an unmatched run is prose). Code spans keep their backticks.
    static func segments(_ text: String) -> [(text: Substring, code: Bool)] {
        var out: [(text: Substring, code: Bool)] = []
        var prose = text.startIndex
        var i = text.startIndex
        func run(at j: String.Index) -> String.Index {
            var k = j
            while k < text.endIndex, text[k] == "`" { k = text.index(after: k) }
            return k
        }
        while let open = text[i...].firstIndex(of: "`") {
            let afterOpen = run(at: open)
            let length = text.distance(from: open, to: afterOpen)
            var j = afterOpen
            var close: String.Index?
            while let next = text[j...].firstIndex(of: "`") {
                let end = run(at: next)
                if text.distance(from: next, to: end) == length {
                    close = end
                    break
                }
                j = end
            }
            guard let close else {
                i = afterOpen
                continue
            }
            if prose < open { out.append((text[prose..<open], false)) }
            out.append((text[open..<close], true))
            prose = close
            i = close
        }
        if prose < text.endIndex { out.append((text[prose...], false)) }
        return out
    }

    /// Text for Markdown (CommonMark with GFM tables), written so that it reads back as itself.
    /// Outside code spans `|`, `<` and line breaks are escaped; inside a code span nothing is,
    /// since CommonMark keeps a code span's text literally (a `\|` there would be copied with its
    /// backslash), except `|` in a table cell: GFM splits cells before it reads code spans, and
    /// removes the backslash of `\|` first.
    static func mdEscape(_ text: String, inTable: Bool = false) -> String {
        // Most text has nothing to escape: returned as it is, without a walk over its characters.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "|") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "<") }) else {
            return text
        }
        var out = ""
        for (part, code) in segments(text) {
            for c in part {
                switch c {
                case "\n": out += " "
                case "|" where !code || inTable: out += "\\|"
                case "<" where !code: out += "&lt;"
                default: out.append(c)
                }
            }
        }
        return out
    }

    /// Text for HTML with its code spans as `<code>` (their backticks dropped).
    static func hc(_ text: String) -> String {
        guard text.contains("`") else { return h(text) }
        return segments(text).map { part, code in
            code ? "<code>\(h(String(part.drop { $0 == "`" }.reversed().drop { $0 == "`" }.reversed())))</code>" : h(String(part))
        }.joined()
    }

    // MARK: - HTML

    /// Text for HTML: the same escaping as the XML reports.
    static func h(_ text: String) -> String { JUnitReport.escape(text) }

    static func cssClass(_ s: Status) -> String {
        switch s {
        case .pass: "s-pass"
        case .fail: "s-fail"
        case .error: "s-error"
        case .notChecked: "s-not-checked"
        case .notApplicable: "s-not-applicable"
        case .waived: "s-waived"
        case .manual: "s-manual"
        }
    }

    static let css = """
        :root{--pass:#2e7d32;--fail:#c62828;--error:#e65100;--nc:#f9a825;--na:#cfd8dc;--waived:#1565c0;--manual:#78909c}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1b1b1b;max-width:1280px;margin:24px auto;padding:0 24px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:36px}h3{font-size:15px;margin:20px 0 6px}
        .meta{color:#555;margin:0 0 16px}
        .unverified{border:3px solid var(--fail);color:var(--fail);padding:8px 12px;margin:0 0 16px}
        .verdict{border:2px solid var(--fail);background:#fdecea;border-radius:6px;padding:12px 16px}
        .verdict.ok{border-color:var(--pass);background:#e8f5e9}
        .verdict .headline{font-size:18px;font-weight:600;margin:0 0 8px}
        .verdict ul{margin:4px 0 0;padding-left:20px}.verdict li ul{color:#333;font-size:13px}
        table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d0d0;padding:3px 7px;text-align:left;vertical-align:top}
        th{background:#f3f3f3}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        code{font:12px ui-monospace,"SF Mono",Menlo,Consolas,monospace}
        .tag{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px;font-weight:600}
        .s-pass{background:var(--pass);color:#fff}.s-fail{background:var(--fail);color:#fff}.s-error{background:var(--error);color:#fff}
        .s-not-checked{background:var(--nc);color:#222}.s-not-applicable{background:var(--na);color:#444}.s-waived{background:var(--waived);color:#fff}.s-manual{background:var(--manual);color:#fff}
        .conformant{background:var(--pass);color:#fff}.nonconformant{background:var(--fail);color:#fff}.incomplete{background:var(--nc);color:#222}
        .stale{background:#6a1b9a;color:#fff}
        .sev-critical{background:#7f0000;color:#fff}.sev-high{background:#c62828;color:#fff}.sev-medium{background:#ef6c00;color:#fff}.sev-low{background:#78909c;color:#fff}
        .verdict .names{color:#333}
        .bars td{border:none;padding:2px 8px 2px 0}
        .bar{display:flex;width:360px;height:16px;border:1px solid #999;background:#fff}
        .bar span{display:block;height:100%}
        .legend span.tag{margin-right:6px}
        .matrix{font-size:11px}
        .matrix th.area{text-align:center;font-size:11px}
        .matrix th.c{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:10px;padding:4px 1px;white-space:nowrap;height:70px;vertical-align:bottom}
        .matrix td.x{width:16px;min-width:16px;padding:0;text-align:center;font-size:10px;line-height:16px}
        .matrix td.x.adv{opacity:.45}
        .matrix td.host{white-space:nowrap;max-width:220px;overflow:hidden;text-overflow:ellipsis}
        .control{border-left:4px solid var(--fail);padding:2px 0 2px 12px;margin:14px 0}
        .control p{margin:4px 0}.control ul{margin:4px 0;padding-left:20px}
        .ev{font-size:12px;color:#333}
        .manual-item td:last-child{color:#555;font-style:italic}
        .print-only{display:none}
        footer{margin-top:36px;color:#555;font-size:12px}
        @page{size:A4 landscape;margin:12mm}
        @media print{
          *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
          body{max-width:none;margin:0;padding:0;font-size:9px;line-height:1.3}
          h1{font-size:16px}h2{font-size:13px;margin:14px 0 4px}h3{font-size:10px;margin:4px 0 2px}
          h1,h2,h3{break-after:avoid}tr,.control,.verdict{break-inside:avoid}thead{display:table-header-group}
          table{margin:4px 0}th,td{padding:1px 4px}code{font-size:8.5px}.tag{font-size:8px;padding:0 3px}
          .verdict{padding:6px 10px}.verdict .headline{font-size:12px}.verdict li ul{font-size:8.5px}
          .controls,.screen-only{display:none}.print-only{display:block}
          .matrix td.x{width:11px;min-width:11px;line-height:11px;font-size:8px}
          .matrix th.c{font-size:8px;height:56px}
        }
        """

    public static func html(_ s: FleetSummary, source: Source = Source()) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out +=
            "<title>Warden evidence bundle \(s.createdAt): \(plural(s.hosts.count, "host"))</title>\n<style>\n\(css)\n</style>\n</head>\n<body>\n"
        if let unverified = source.unverified { out += "<p class=\"unverified\"><strong>\(h(unverified))</strong></p>\n" }
        out += "<h1>Evidence for Commitment II.7 / Appendix 4: \(plural(s.hosts.count, "host"))</h1>\n"
        out +=
            "<p class=\"meta\">\(h(provenance(s, source))) Profiles: "
        out += s.profiles.map { "\(h($0.id)) \(h($0.version)) (\(h($0.title)))" }.joined(separator: "; ")
        out += ". Conformance is recomputed from the facts inside each host's signed findings, not taken from the host's own verdict.</p>\n"

        // Verdict.
        out += "<section class=\"verdict\(s.completeAndConformant ? " ok" : "")\">\n<p class=\"headline\">\(h(headline(s)))"
        out += s.completeAndConformant ? " Every inventory host is present, fresh, verified and conformant." : ""
        out += "</p>\n"
        let issues = problems(s)
        if !issues.isEmpty {
            out += "<ul>\n"
            for p in issues {
                out += "<li>\(h(p.title))"
                if p.inline, !p.items.isEmpty { out += ": <span class=\"names\">\(h(p.items.joined(separator: ", ")))</span>" }
                if !p.inline { out += "<ul>" + p.items.map { "<li>\(h($0))</li>" }.joined() + "</ul>" }
                out += "</li>\n"
            }
            out += "</ul>\n"
        }
        out += "</section>\n"

        // Hosts.
        out += "<h2>Hosts</h2>\n<table>\n<thead><tr><th>Host</th><th>Machine id</th><th>Role</th><th>Audited</th><th>Finished</th>"
        out += s.profiles.map { "<th>\(h($0.id.uppercased()))</th>" }.joined() + "</tr></thead>\n"
        for host in byName(s) {
            out +=
                "<tr><td>\(h(host.name))</td><td><code>\(host.machineID)</code></td><td>\(h(host.role ?? "–"))</td><td>\(h(host.auditedProfile))</td>"
            out += "<td>\(host.finishedAt)\(host.stale ? " <span class=\"tag stale\">stale</span>" : "")</td>"
            out +=
                host.results.map { "<td><span class=\"tag \($0.verdict.rawValue)\">\($0.verdict.rawValue)</span></td>" }.joined()
                + "</tr>\n"
        }
        if s.hosts.isEmpty { out += "<tr><td colspan=\"\(5 + s.profiles.count)\">No host in this bundle.</td></tr>\n" }
        out += "</table>\n"

        // Pass rates.
        out += "<h2>Pass rate by area</h2>\n<p>Pass rate = pass ÷ every result except not applicable, over all hosts. "
        out +=
            "<span class=\"legend\">"
            + [Status.pass, .waived, .fail, .error, .notChecked, .notApplicable].map {
                "<span class=\"tag \(cssClass($0))\">\(label($0))</span>"
            }.joined() + "</span></p>\n"
        for p in s.profiles.indices {
            out += "<h3>\(h(s.profiles[p].id.uppercased()))</h3>\n<table class=\"bars\">\n"
            for area in Area.allCases {
                let counts = areaCounts(s, profile: p, area: area)
                let total = counts.values.reduce(0, +)
                let r = passRate(counts)
                out +=
                    "<tr><td>\(area.title)</td><td><div class=\"bar\" role=\"img\" aria-label=\"\(area.title): \(percent(r.pass, r.decided)) pass\">"
                for status in [Status.pass, .waived, .fail, .error, .notChecked, .notApplicable] where counts[status, default: 0] > 0 {
                    let width = Double(counts[status, default: 0]) * 100 / Double(max(total, 1))
                    out +=
                        "<span class=\"\(cssClass(status))\" style=\"width:\(formatted(width))%\" title=\"\(label(status)): \(counts[status, default: 0])\"></span>"
                }
                out +=
                    "</div></td><td class=\"num\"><b>\(percent(r.pass, r.decided))</b></td><td class=\"num\">\(r.pass) of \(r.decided)</td></tr>\n"
            }
            out += "</table>\n"
        }

        // Matrices.
        for p in s.profiles.indices {
            let profile = s.profiles[p]
            let hosts = matrixHosts(s, profile: p)
            let columns = Area.allCases.map { area in (area, s.controls.filter { $0.area == area && $0.tallies[p] != nil }) }.filter {
                !$0.1.isEmpty
            }
            out += "<h2>Host × control matrix, \(h(profile.id.uppercased()))</h2>\n<p class=\"legend\">"
            out += order.map { "<span class=\"tag \(cssClass($0))\">\(symbol($0)) \(label($0))</span>" }.joined()
            out += " Faded cells are advisory controls, which do not decide conformance. Hosts that do not conform come first.</p>\n"
            out += "<table class=\"matrix\">\n<thead><tr><th rowspan=\"2\">Host</th>"
            out += columns.map { "<th class=\"area\" colspan=\"\($0.1.count)\">\($0.0.prefix)</th>" }.joined()
            out += "<th rowspan=\"2\">Verdict</th></tr>\n<tr>"
            out += columns.flatMap(\.1).map { "<th class=\"c\" title=\"\(h($0.title))\">\($0.id)</th>" }.joined() + "</tr></thead>\n"
            // What every row repeats, worked out once per column.
            let cells = columns.flatMap(\.1).map { c in (id: c.id, adv: profile.advisory.contains(c.id) ? " adv" : "") }
            for host in hosts {
                let name = h(host.name)
                out += "<tr><td class=\"host\" title=\"\(name) (\(host.machineID))\">\(name)</td>"
                for c in cells {
                    let status = host.results[p].notPassed[c.id] ?? .pass
                    out +=
                        "<td class=\"x \(cssClass(status))\(c.adv)\" title=\"\(name) · \(c.id) · \(label(status))\">\(symbol(status))</td>"
                }
                out += "<td><span class=\"tag \(host.results[p].verdict.rawValue)\">\(host.results[p].verdict.rawValue)</span>"
                out += host.stale ? " <span class=\"tag stale\">stale</span></td></tr>\n" : "</td></tr>\n"
            }
            out += "</table>\n"
            if s.hosts.count > hosts.count {
                out += "<p>\(s.hosts.count - hosts.count) more hosts (all conformant) are listed in summary.json.</p>\n"
            }
        }

        // Failing controls.
        out += "<h2>Controls that keep hosts from conforming</h2>\n"
        let failing = failingControls(s)
        if failing.isEmpty { out += "<p>No control keeps any host from conforming.</p>\n" }
        if !failing.isEmpty {
            out +=
                "<table>\n<thead><tr><th>Control</th><th>Severity</th>"
                + s.profiles.map { "<th>Hosts kept from \(h($0.id.uppercased()))</th>" }.joined() + "</tr></thead>\n"
            for c in failing {
                out +=
                    "<tr><td>\(c.id) \(hc(c.title))</td><td><span class=\"tag sev-\(c.severity.rawValue)\">\(c.severity.rawValue)</span></td>"
                out += c.tallies.map { "<td class=\"num\">\(h(blockingCounts($0)))</td>" }.joined() + "</tr>\n"
            }
            out +=
                "</table>\n<p class=\"screen-only\">Each control in turn, with its remediation and the first hosts it concerns (all hosts are in summary.json):</p>\n"
            out +=
                "<p class=\"print-only\">Each control's remediation and the evidence from its first hosts follow in the HTML report on screen, and every host's results are in summary.json; they are not printed.</p>\n"
        }
        if !failing.isEmpty { out += "<div class=\"controls\">\n" }
        for c in failing {
            out +=
                "<div class=\"control\">\n<h3>\(c.id) \(hc(c.title)) <span class=\"tag sev-\(c.severity.rawValue)\">\(c.severity.rawValue)</span></h3>\n"
            out +=
                "<p>\(h(keeps(s, c))) References: \(h((c.references.cop + c.references.appendix4).joined(separator: ", "))).</p>\n"
            out += "<p><b>Remediation:</b> \(hc(c.remediation))</p>\n<p>\(h(shownOf(s, c))):</p>\n<ul>\n"
            for e in examples(c) {
                out +=
                    "<li>\(h(e.name)) (<code>\(e.machineID)</code>) <span class=\"tag \(cssClass(e.status))\">\(label(e.status))</span> \(h(e.summary))"
                if !e.evidence.isEmpty {
                    out += "<ul class=\"ev\">" + e.evidence.map { "<li>\(h(evidenceLine($0)))</li>" }.joined() + "</ul>"
                }
                out += "</li>\n"
            }
            out += "</ul>\n</div>\n"
        }
        if !failing.isEmpty { out += "</div>\n" }

        // The Code of Practice.
        if !source.coverage.isEmpty {
            out += "<h2>RAND coverage</h2>\n"
            for c in source.coverage {
                let (text, missing) = randStatement(c)
                out += "<p>\(h(text))</p>\n"
                if !missing.isEmpty {
                    out += "<p>Not covered at \(h(c.profile.id.uppercased())) (\(missing.count)):</p>\n<ul>\n"
                    for m in missing { out += "<li>\(h(m))</li>\n" }
                    out += "</ul>\n"
                }
            }
        }

        let mapping = s.codeOfPracticeMapping
        out += "<h2>Commitment II.7 (third draft) and Appendix 4 (final Code)</h2>\n"
        out +=
            "<p>Controls map onto items through their references (<code>Profiles/controls/*.yaml</code>). \(h(mappingRule)) "
        out += "In the final Code (10 July 2025) Commitment II.7 became Commitment 6, whose Measure 6.2 points to Appendix 4.</p>\n"
        out += "<table>\n<thead><tr><th>Item</th><th>What the Code asks</th><th>Controls</th><th>Fleet</th></tr></thead>\n"
        for m in mapping.thirdDraft {
            var head = "Measure \(m.measure.id) \(m.measure.title)"
            if !m.controls.isEmpty { head += " — cited by \(m.controls.count) controls" }
            if let note = measureNote(s, m.measure.id, source) { head += ". " + note }
            out += "<tr><th colspan=\"4\">\(h(head))</th></tr>\n"
            for item in m.items {
                let counterpart = m.measure.items.first { $0.id == item.id }?.appendix4
                out += itemRow(s, item, label: item.id + (counterpart.map { " → \($0)" } ?? ""))
            }
        }
        out +=
            "</table>\n<h3>Appendix 4</h3>\n<table>\n<thead><tr><th>Item</th><th>What the Code asks</th><th>Controls</th><th>Fleet</th></tr></thead>\n"
        for m in mapping.appendix4 {
            out += "<tr><th colspan=\"4\">\(m.measure.id) \(h(m.measure.title))</th></tr>\n"
            for item in m.items { out += itemRow(s, item, label: item.id) }
        }
        out += "</table>\n"

        if !s.rejected.isEmpty || !s.superseded.isEmpty {
            out += "<h2>Inputs left out</h2>\n<table>\n<thead><tr><th>Input</th><th>Why</th></tr></thead>\n"
            for r in s.rejected {
                out += "<tr><td><code>\(h(r.input))</code></td><td>rejected (\(r.kind.rawValue)): \(h(r.reason))</td></tr>\n"
            }
            for x in s.superseded {
                out +=
                    "<tr><td><code>\(h(x.input))</code></td><td>superseded by a newer envelope of <code>\(x.machineID)</code> (this one finished \(h(x.finishedAt)))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out +=
            "<footer>Check this bundle with <code>warden verify BUNDLE --trust KEYS</code>: it recomputes every figure above from the signed findings.</footer>\n</body>\n</html>\n"
        return out
    }

    static func itemRow(_ s: FleetSummary, _ item: MappedItem, label: String) -> String {
        let cells = judged(s, item).map { profiles, j -> String in
            let tag: String =
                switch j.verdict {
                case .met: "s-pass"
                case .notMet: "s-fail"
                case .undetermined: "s-error"
                case .manual, .notJudged: "s-manual"
                }
            return "\(h(profiles)) <span class=\"tag \(tag)\">\(j.verdict.rawValue)</span> \(h(j.detail))"
        }
        let manual = item.judgements.allSatisfy { $0.verdict == .manual || $0.verdict == .notJudged }
        return
            "<tr\(manual ? " class=\"manual-item\"" : "")><td>\(h(label))</td><td>\(h(item.text))</td><td>\(h(item.controls.joined(separator: ", ")))</td><td>\(cells.joined(separator: "<br>"))</td></tr>\n"
    }

    /// A percentage with at most two decimals and no locale ("12.5").
    static func formatted(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100
        let rest = hundredths % 100
        return rest == 0 ? "\(whole)" : rest % 10 == 0 ? "\(whole).\(rest / 10)" : "\(whole).\(rest < 10 ? "0" : "")\(rest)"
    }
}
