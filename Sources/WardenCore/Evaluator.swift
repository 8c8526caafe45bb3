public import WardenFormats

/// One observation behind a result: where it was read, what was there, what the profile wanted.
public struct Observation: Sendable, Hashable {
    public var source: String
    public var observed: JSON
    public var expected: String
    /// Whether the observation met the expectation (nil for notes such as "12 more items").
    public var ok: Bool?
    /// What the observation is about when it is one item of a list (a weight path, a listener).
    public var subject: String?

    public init(source: String, observed: JSON, expected: String, ok: Bool? = nil, subject: String? = nil) {
        self.source = source
        self.observed = observed
        self.expected = expected
        self.ok = ok
        self.subject = subject
    }

    public var json: JSON {
        var o: JSONObject = ["source": .string(source), "observed": observed, "expected": .string(expected)]
        if let ok { o["ok"] = .bool(ok) }
        if let subject { o["subject"] = .string(subject) }
        return .object(o)
    }
}

/// A waiver as it stood against one result.
public struct AppliedWaiver: Sendable, Hashable {
    public var waiver: Site.Waiver
    /// False when the waiver had expired (it is reported, and no longer changes the status).
    public var applied: Bool
    public var expired: Bool
    /// The status the control had on its own.
    public var statusWithoutWaiver: Status

    var json: JSON {
        var o = waiver.json.objectValue ?? [:]
        o["applied"] = .bool(applied)
        o["expired"] = .bool(expired)
        o["status_without_waiver"] = .string(statusWithoutWaiver.rawValue)
        return .object(o)
    }
}

/// The result of one control.
public struct Finding: Sendable {
    public var control: String
    public var title: String
    public var area: Area
    public var severity: Severity
    public var status: Status
    public var advisory: Bool
    public var summary: String
    public var evidence: [Observation]
    public var references: References
    public var remediation: String
    public var waiver: AppliedWaiver?

    /// Whether this result keeps the host from conforming (`Verdict.blocks`).
    public var blocksConformance: Bool { Verdict.blocks(status, advisory: advisory) }
}

/// `evaluate(profile, facts, now) -> [Finding]`: pure, total, deterministic. Non-compliance is a
/// value; nothing here throws.
public enum Evaluator {
    /// At most this many items of a list are shown as evidence (the count of the rest is given).
    static let maxItemEvidence = 20

    public static func evaluate(_ profile: ResolvedProfile, facts: FactSet, now: Timestamp) -> [Finding] {
        let host = Host(facts: facts, now: now)
        return profile.controls.map { host.evaluate($0) }
    }

    /// One host's facts, with the site and waivers they carry read once for all its controls.
    package struct Host {
        let facts: FactSet
        let site: JSON
        let waivers: [Site.Waiver]
        let now: Timestamp

        package init(facts: FactSet, now: Timestamp) {
            self.facts = facts
            if case .value(let s)? = facts["site"] { site = s } else { site = .null }
            waivers = Evaluator.siteWaivers(site)
            self.now = now
        }

        /// What one control comes to on this host: the one walk of its check, with evidence and
        /// messages (`detail`) or the status alone (what a fleet summary tallies for every host).
        struct Judgement {
            /// With the waiver applied.
            var status: Status
            /// Nil for a manual control.
            var outcome: NodeEvaluation?
            var waiver: AppliedWaiver?
        }

        func judge(_ selected: SelectedControl, detail: Bool) -> Judgement {
            let def = selected.definition
            guard let check = def.check else { return Judgement(status: .manual) }
            let ctx = Context(facts: facts, site: site, parameters: selected.parameters, detail: detail, now: now)
            // Whether the control applies at all is decided first; the check runs only then.
            let outcome: NodeEvaluation
            switch def.appliesIf.map({ ctx.evaluate($0, item: nil) }) {
            case nil:
                outcome = ctx.evaluate(check, item: nil)
            case let applies? where applies.status == .pass:
                outcome = ctx.evaluate(check, item: nil)
            case let applies? where applies.status == .error || applies.status == .notChecked:
                outcome = applies
            case let applies?:
                guard detail else {
                    outcome = NodeEvaluation(status: .notApplicable)
                    break
                }
                let why = applies.evidence.first { $0.ok == false }.map {
                    "\($0.expected): observed \(Context.render($0.observed)) at \($0.source)"
                }
                outcome = NodeEvaluation(
                    status: .notApplicable, evidence: applies.evidence,
                    reasons: ["does not apply: " + (why ?? (applies.failures + applies.reasons).joined(separator: "; "))])
            }
            guard outcome.status.blocksConformance, let w = waivers.first(where: { $0.control == def.id }) else {
                return Judgement(status: outcome.status, outcome: outcome)
            }
            let expired = now > w.expires
            return Judgement(
                status: expired ? outcome.status : .waived, outcome: outcome,
                waiver: AppliedWaiver(waiver: w, applied: !expired, expired: expired, statusWithoutWaiver: outcome.status))
        }

        /// The status alone, as `evaluate` decides it (no evidence, no summary, no finding built).
        func status(_ selected: SelectedControl) -> Status {
            judge(selected, detail: false).status
        }

        package func evaluate(_ selected: SelectedControl) -> Finding {
            let def = selected.definition
            let judged = judge(selected, detail: true)
            var finding = Finding(
                control: def.id, title: def.title, area: def.area, severity: def.severity,
                status: judged.status, advisory: selected.advisory,
                summary: "organisational control: needs an attestation", evidence: [],
                references: def.references, remediation: def.remediation, waiver: judged.waiver)
            if let outcome = judged.outcome {
                finding.evidence = outcome.evidence
                finding.summary = summarize(outcome)
            }
            if let w = judged.waiver {
                if w.applied {
                    finding.summary =
                        "waived until \(w.waiver.expiresText) by \(w.waiver.approvedBy) (\(w.waiver.reason)); on its own: \(w.statusWithoutWaiver.rawValue): \(finding.summary)"
                } else {
                    finding.summary += " (a waiver expired on \(w.waiver.expiresText) and no longer applies)"
                }
            }
            return finding
        }
    }

    static func siteWaivers(_ site: JSON) -> [Site.Waiver] {
        guard let list = site["waivers"]?.arrayValue else { return [] }
        return list.compactMap { w in
            guard let c = w["control"]?.stringValue, let r = w["reason"]?.stringValue, let a = w["approved_by"]?.stringValue,
                let e = w["expires"]?.stringValue, let t = Timestamp(rfc3339: e, dateMeansEndOfDay: true)
            else { return nil }
            return Site.Waiver(control: c, reason: r, approvedBy: a, expires: t, expiresText: e, line: nil)
        }
    }

    static func summarize(_ o: NodeEvaluation) -> String {
        func join(_ all: [String]) -> String {
            var seen: Set<String> = []
            let items = all.filter { seen.insert($0).inserted }
            let shown = items.prefix(3).joined(separator: "; ")
            return items.count > 3 ? "\(shown); and \(items.count - 3) more" : shown
        }
        switch o.status {
        case .pass:
            return o.passes.count <= 3 && !o.passes.isEmpty ? join(o.passes) : "all \(max(o.passes.count, 1)) checks passed"
        case .fail: return join(o.failures)
        default: return o.reasons.isEmpty ? o.status.rawValue : join(o.reasons)
        }
    }
}

/// Several profiles evaluated against the same facts (a bundle's SL3 and SL4 columns): a control
/// that two profiles select with the same definition and parameters is evaluated once, as its
/// result can only be the same.
public struct EvaluationPlan: Sendable {
    public let profiles: [ResolvedProfile]
    /// For each profile's control, the index of the profile and control first evaluated for it.
    private let source: [[(profile: Int, control: Int)]]

    public init(_ profiles: [ResolvedProfile]) {
        self.profiles = profiles
        var source: [[(profile: Int, control: Int)]] = []
        for (p, profile) in profiles.enumerated() {
            source.append(
                profile.controls.enumerated().map { c, selected in
                    for q in 0..<p {
                        if let d = profiles[q].controls.firstIndex(where: {
                            $0.definition.id == selected.definition.id && $0.definition == selected.definition
                                && $0.parameters == selected.parameters
                        }) {
                            return (q, d)
                        }
                    }
                    return (p, c)
                })
        }
        self.source = source
    }

    /// The findings per profile, in the order of `profiles`.
    public func evaluate(facts: FactSet, now: Timestamp) -> [[Finding]] {
        let host = Evaluator.Host(facts: facts, now: now)
        var out: [[Finding]] = []
        for (p, profile) in profiles.enumerated() {
            out.append(
                profile.controls.enumerated().map { c, selected in
                    let (q, d) = source[p][c]
                    guard q != p else { return host.evaluate(selected) }
                    var finding = out[q][d]
                    finding.advisory = selected.advisory
                    return finding
                })
        }
        return out
    }

    /// The statuses alone per profile, aligned with each profile's controls (what a fleet
    /// summary tallies for every host).
    public func statuses(facts: FactSet, now: Timestamp) -> [[Status]] {
        statuses(Evaluator.Host(facts: facts, now: now))
    }

    package func statuses(_ host: Evaluator.Host) -> [[Status]] {
        var out: [[Status]] = []
        out.reserveCapacity(profiles.count)
        for (p, profile) in profiles.enumerated() {
            out.append(
                profile.controls.indices.map { c in
                    let (q, d) = source[p][c]
                    return q == p ? host.status(profile.controls[c]) : out[q][d]
                })
        }
        return out
    }
}

/// What evaluating one check node gave.
struct NodeEvaluation {
    var status: Status
    var evidence: [Observation] = []
    /// Why the node is error, not_checked or not_applicable.
    var reasons: [String] = []
    /// Messages for failed comparisons.
    var failures: [String] = []
    /// Messages for passed comparisons.
    var passes: [String] = []

    /// The outcome of a node whose parts combined to `status` (`Tally`): their evidence and
    /// messages, and the reasons that explain that status.
    static func combine(_ parts: [NodeEvaluation], status: Status) -> NodeEvaluation {
        var out = NodeEvaluation(status: status)
        for p in parts {
            out.evidence += p.evidence
            out.failures += p.failures
            out.passes += p.passes
            // Only the reasons that explain the combined status.
            if p.status == status || (status == .notApplicable) { out.reasons += p.reasons }
        }
        return out
    }
}

/// How the parts of `all` and `any` (and the items of `every`, `none` and `some`) combine, one
/// part at a time: `all` fails with a failed part, `any` passes with a passed one; otherwise an
/// error, then a part not checked, decides; then a part left to a reviewer (`manual`), which
/// stands between a pass and a fail; a node whose parts are all not applicable (or that has
/// none) is not applicable.
struct Tally {
    let any: Bool
    var sawApplicable = false, sawPass = false, sawFail = false, sawError = false, sawNotChecked = false, sawManual = false

    init(any: Bool) { self.any = any }

    /// Counts a part; true once the status can no longer change.
    mutating func add(_ s: Status) -> Bool {
        if s != .notApplicable { sawApplicable = true }
        switch s {
        case .pass: sawPass = true
        case .fail: sawFail = true
        case .error: sawError = true
        case .notChecked: sawNotChecked = true
        case .manual: sawManual = true
        default: break
        }
        return any ? sawPass : sawFail
    }

    var status: Status {
        guard sawApplicable else { return .notApplicable }
        if any { return sawPass ? .pass : sawError ? .error : sawNotChecked ? .notChecked : sawManual ? .manual : .fail }
        return sawFail ? .fail : sawError ? .error : sawNotChecked ? .notChecked : sawManual ? .manual : .pass
    }
}

/// The one interpreter of the check language. With `detail` it builds every node's evidence and
/// messages; without, it works out the same statuses alone (the same walk, the same decisions)
/// and stops at the first part that decides a node (a failed part of `all`, `every` or `none`,
/// a passed part of `any` or `some`), as a fleet tallies every host.
private struct Context {
    let facts: FactSet
    let site: JSON
    let parameters: JSONObject
    /// Whether evidence and messages are made, or only statuses.
    let detail: Bool
    /// The evaluation time, which `at_most_days_ahead` and `at_most_days_old` compare with.
    let now: Timestamp

    /// A message, made only when evidence is.
    func note(_ message: @autoclosure () -> String) -> [String] {
        detail ? [message()] : []
    }

    func evaluate(_ check: Check, item: Item?) -> NodeEvaluation {
        if let when = check.meta.when, parameters[when]?.boolValue != true {
            return NodeEvaluation(status: .notApplicable, reasons: note("not required by this profile"))
        }
        switch check {
        case .all(let children, _), .any(let children, _):
            let any: Bool
            if case .any = check { any = true } else { any = false }
            var tally = Tally(any: any)
            var parts: [NodeEvaluation] = []
            for child in children {
                let part = evaluate(child, item: item)
                let decided = tally.add(part.status)
                if detail { parts.append(part) } else if decided { break }
            }
            guard detail else { return NodeEvaluation(status: tally.status) }
            var o = NodeEvaluation.combine(parts, status: tally.status)
            guard any else { return o }
            if o.status == .pass { o.failures = [] }
            // Alternatives read as alternatives: each failed observation keeps what it was
            // checked against (two alternatives over one item otherwise read as the same line
            // twice) and says what else would do.
            let alternatives = parts.map { $0.evidence.first?.expected }
            if alternatives.compactMap({ $0 }).count > 1 {
                o.evidence = parts.indices.flatMap { i in
                    let others = alternatives.indices.compactMap { $0 == i ? nil : alternatives[$0] }
                    return parts[i].evidence.map { e in
                        var e = e
                        if e.ok == false { e.expected += " (or: " + others.joined(separator: ", or ") + ")" }
                        return e
                    }
                }
                if o.status == .fail, o.failures.count > 1 {
                    o.failures = ["none of the alternatives holds: " + o.failures.joined(separator: "; ")]
                }
            }
            // An alternative that was not needed did not fail: its lines are shown, not judged.
            if o.status == .pass {
                o.evidence = o.evidence.map { e in
                    var e = e
                    if e.ok == false { e.ok = nil }
                    return e
                }
            }
            return o
        case .leaf(let path, let op, let operand, let meta):
            return leaf(path, op, operand, meta, item: item)
        case .quantified(let q, let path, let filter, let expect, let ifEmpty, let meta):
            return quantified(q, path, filter, expect, ifEmpty, meta, item: item)
        case .manual(let reason, let sitePath, let meta):
            return manual(reason, sitePath, meta, item: item)
        }
    }

    /// A `manual` node: what the site declares is left to a reviewer, with the reason saying
    /// what to check and the site's value shown.
    func manual(_ reason: String, _ sitePath: String, _ meta: CheckMeta, item: Item?) -> NodeEvaluation {
        guard let value = site.value(at: sitePath.split(separator: ".").map(String.init)) else {
            return NodeEvaluation(status: .notApplicable, reasons: note("the site file does not set \(sitePath)"))
        }
        guard detail else { return NodeEvaluation(status: .manual) }
        let label = item.map(\.label).flatMap { $0.isEmpty ? nil : $0 }
        let shown = "\(sitePath) is \(Context.render(value))"
        return NodeEvaluation(
            status: .manual,
            evidence: [
                Observation(
                    source: site["source"]?.stringValue ?? "site", observed: value, expected: meta.describe ?? reason, subject: label)
            ],
            reasons: ["\(label.map { "\($0): " } ?? "")\(reason) (\(shown))"])
    }

    /// A list item in scope, with the label used for it in messages.
    struct Item {
        var value: JSON
        var label: String
        /// An item of a list that could not be read: every fact relative to it is unknown
        /// (`decidedWithoutItems`).
        var unknown = false

        static let unknown = Item(value: .null, label: "", unknown: true)
    }

    /// How a quantifier over a list that could not be read (unavailable, or empty where an empty
    /// list means "unknown") comes out when its expectation decides every item alike, whatever
    /// the item holds: `every` when the expectation passes for an unknown item (an alternative
    /// outside the item satisfies it), `none` and `some` when it fails for one. Nil when the
    /// items would matter. Three-valued logic, as in `any` and `all`: an unknown part never masks
    /// a part that decides on its own.
    func decidedWithoutItems(_ q: Quantifier, _ expect: Check) -> (expectation: NodeEvaluation, status: Status)? {
        let expectation = evaluate(expect, item: .unknown)
        let status: Status?
        switch q {
        case .every: status = expectation.status == .pass ? .pass : nil
        case .none: status = expectation.status == .fail ? .pass : nil
        case .some: status = expectation.status == .fail ? .fail : nil
        }
        return status.map { (expectation, $0) }
    }

    enum Resolved {
        case value(JSON?, source: String)
        case unavailable(Status, String)
    }

    func resolve(_ path: FactPath, item: Item?) -> Resolved {
        if path.relative {
            guard let item else { return .unavailable(.error, "\(path) used outside a list") }
            if item.unknown { return .unavailable(.notChecked, "the list holding \(path) could not be read") }
            // Evidence names where the item was read (its `source`), else the item itself.
            return .value(item.value.value(at: path.components[...]), source: detail ? item.value["source"]?.stringValue ?? item.label : "")
        }
        let name = path.components[0]
        switch facts[name] {
        case nil:
            return .unavailable(.error, "fact '\(name)' was not collected")
        case .unavailable(let u)?:
            return .unavailable(u.kind == .error ? .error : .notChecked, u.reason)
        case .value(let v)?:
            let source = detail ? v["source"]?.stringValue ?? name : ""
            return .value(v.value(at: path.components.dropFirst()), source: source)
        }
    }

    func operandValue(_ operand: Operand) -> (JSON?, String?) {
        switch operand {
        case .literal(let v): return (v, nil)
        case .param(let name): return (parameters[name], nil)
        case .site(let path, let fallback):
            if let v = site.value(at: path.split(separator: ".").map(String.init)) { return (v, nil) }
            if let fallback { return (fallback, nil) }
            return (nil, "the site file does not set \(path)")
        }
    }

    func leaf(_ path: FactPath, _ op: Operator, _ operand: Operand, _ meta: CheckMeta, item: Item?) -> NodeEvaluation {
        let (expectedValue, skip) = operandValue(operand)
        guard let expectedValue else { return NodeEvaluation(status: .notApplicable, reasons: note(skip ?? "no value to compare with")) }
        // Only a relative path reads the item: an absolute fact checked for each item is the
        // fact's own, and naming the item beside it would tell the reader the item holds it.
        let owner = path.relative ? item : nil
        var observed: JSON?
        var source: String
        switch resolve(path, item: item) {
        case .unavailable(let status, let reason):
            return NodeEvaluation(status: status, reasons: note(owner.map { "\($0.label): \(reason)" } ?? reason))
        case .value(let v, let s):
            observed = v
            source = s
        }
        // A "sourced value" ({value, source}) carries the file and line it came from; an object
        // with `error`, `not_checked` or `not_applicable` says why there is no value.
        if case .object(let o)? = observed {
            if let v = o["value"], let s = o["source"]?.stringValue {
                observed = v
                source = s
            } else {
                for (key, status) in [("error", Status.error), ("not_checked", .notChecked), ("not_applicable", .notApplicable)] {
                    if let reason = o[key]?.stringValue {
                        return NodeEvaluation(
                            status: status, reasons: note("\(owner.map { "\($0.label): " } ?? "")\(meta.describe ?? path.label): \(reason)")
                        )
                    }
                }
            }
        }
        guard detail else {
            guard op == .exists || observed != nil else {
                return NodeEvaluation(status: meta.ifAbsent ?? .error)
            }
            switch Context.compare(op, observed, expectedValue, now: now) {
            case .some(true): return NodeEvaluation(status: .pass)
            case .some(false): return NodeEvaluation(status: .fail)
            case .none: return NodeEvaluation(status: .error)
            }
        }
        let label = meta.describe ?? path.label
        let subject = owner.map { "\($0.label): " } ?? ""
        let expectedText: String
        // Plain statements, not check-language fragments ("not possible", "no account with UID 0").
        switch (op, expectedValue) {
        case (.eq, .bool(true)), (.exists, .bool(true)): expectedText = label
        case (.eq, .bool(false)), (.exists, .bool(false)): expectedText = "not \(label)"
        case (.empty, .bool(true)): expectedText = "no \(label)"
        case (.empty, .bool(false)): expectedText = "\(label): at least one"
        case (.atMostDaysAhead, _), (.atMostDaysOld, _): expectedText = "\(label) \(expectation(op, expectedValue))"
        default: expectedText = "\(label) \(op.phrase) \(Context.render(expectedValue))"
        }
        let subjectLabel = owner.map(\.label).flatMap { $0 == source ? nil : $0 }
        guard op == .exists || observed != nil else {
            guard let status = meta.ifAbsent, status != .error else {
                return NodeEvaluation(status: .error, reasons: ["\(subject)no value at \(path)\(whyAbsent(path, item: item))"])
            }
            let message = "\(subject)\(label) is not set"
            let evidence = Observation(source: source, observed: .null, expected: expectedText, ok: status == .pass, subject: subjectLabel)
            return NodeEvaluation(
                status: status, evidence: [evidence], reasons: status == .notApplicable ? [message] : [],
                failures: status == .fail ? [message + ", expected \(expectation(op, expectedValue))"] : [],
                passes: status == .pass ? [message] : [])
        }
        let result = Context.compare(op, observed, expectedValue, now: now)
        let shown = observed ?? .null
        var evidence = Observation(source: source, observed: shown, expected: expectedText, ok: result, subject: subjectLabel)
        switch result {
        case .some(true):
            return NodeEvaluation(status: .pass, evidence: [evidence], passes: ["\(subject)\(label) is \(Context.render(shown))"])
        case .some(false):
            return NodeEvaluation(
                status: .fail, evidence: [evidence],
                failures: ["\(subject)\(label) is \(Context.render(shown)), expected \(expectation(op, expectedValue))"])
        case .none:
            evidence.ok = false
            return NodeEvaluation(
                status: .error, evidence: [evidence],
                reasons: ["\(subject)cannot compare \(label) (\(shown.typeName)) with '\(op.rawValue)' \(Context.render(expectedValue))"])
        }
    }

    /// What a comparison expects, in words: `≤ 4`; a time limit names the evaluation time it
    /// counts from, so the evidence can be checked without knowing when it was evaluated.
    func expectation(_ op: Operator, _ value: JSON) -> String {
        switch op {
        case .atMostDaysAhead: "at most \(Context.render(value)) days after \(now)"
        case .atMostDaysOld: "at most \(Context.render(value)) days before \(now)"
        default: "\(op.phrase) \(Context.render(value))"
        }
    }

    /// When a path has no value because an object on the way records a read `error`, that error.
    func whyAbsent(_ path: FactPath, item: Item?) -> String {
        var node: JSON?
        var components = path.components[...]
        if path.relative {
            node = item?.value
        } else if case .value(let v)? = facts[components.removeFirst()] {
            node = v
        }
        var reason: String?
        while let current = node {
            if let e = current["error"]?.stringValue { reason = e }
            guard let c = components.popFirst() else { break }
            node = current[c]
        }
        return reason.map { ": \($0)" } ?? ""
    }

    /// An observation inside `none`, which forbids what the expectation describes: `met` when
    /// the item does not match, with the expectation turned round (`no X`, or `X` for `not X`)
    /// and without the "(or: …)" an `any` added, since `none` forbids every alternative.
    static func forbidden(_ e: Observation, met: Bool) -> Observation {
        var e = e
        e.ok = met
        let expected = e.expected.firstRange(of: " (or: ").map { String(e.expected[..<$0.lowerBound]) } ?? e.expected
        e.expected = expected.hasPrefix("not ") ? String(expected.dropFirst(4)) : "no " + expected
        return e
    }

    func quantified(
        _ q: Quantifier, _ path: FactPath, _ filter: Check?, _ expect: Check, _ ifEmpty: EmptyRule, _ meta: CheckMeta, item: Item?
    ) -> NodeEvaluation {
        let list: [JSON]
        switch resolve(path, item: item) {
        case .unavailable(let status, let reason):
            if let decided = decidedWithoutItems(q, expect) { return decidedWithout(path, decided, because: reason, meta) }
            return NodeEvaluation(status: status, reasons: note(reason))
        case .value(let v, _):
            guard let v else { return NodeEvaluation(status: .error, reasons: note("no value at \(path)")) }
            // A list the probe could not read says why (`not_checked` offline, `error`).
            if let (status, reason) = Context.stated(v) {
                if let decided = decidedWithoutItems(q, expect) { return decidedWithout(path, decided, because: reason, meta) }
                return NodeEvaluation(status: status, reasons: note("\(meta.describe ?? path.label): \(reason)"))
            }
            guard case .array(let a) = v else {
                return NodeEvaluation(status: .error, reasons: note("\(path) is \(v.typeName), not a list"))
            }
            list = a
        }
        /// One item's outcome, or nil when the filter leaves it out.
        func judge(_ element: JSON, _ i: Int) -> NodeEvaluation? {
            let label = detail ? Context.label(of: element, index: i, prefix: item?.label) : ""
            if let e = element["error"]?.stringValue { return NodeEvaluation(status: .error, reasons: note("\(label): \(e)")) }
            if let e = element["not_checked"]?.stringValue { return NodeEvaluation(status: .notChecked, reasons: note("\(label): \(e)")) }
            let scoped = Item(value: element, label: label)
            if let filter {
                let f = evaluate(filter, item: scoped)
                if f.status == .error || f.status == .notChecked { return f }
                if f.status != .pass { return nil }
            }
            var o = evaluate(expect, item: scoped)
            guard q == .none else { return o }
            switch o.status {
            case .pass:
                o.status = .fail
                guard detail else { break }
                o.evidence = o.evidence.map { $0.ok == true ? Self.forbidden($0, met: false) : $0 }
                o.failures = o.passes.map { "\($0) (not allowed)" }
                if o.failures.isEmpty { o.failures = ["\(label) matches"] }
                o.passes = []
            case .fail:
                // The item is not what `none` forbids: its failed comparisons are no failure,
                // and its evidence says so (an agent installed but not enabled is met, not failed).
                o.status = .pass
                if detail { o.evidence = o.evidence.map { $0.ok == false ? Self.forbidden($0, met: true) : $0 } }
                o.passes = []
                o.failures = []
            default: break
            }
            return o
        }
        var tally = Tally(any: q == .some)
        var judged = 0
        var outcomes: [NodeEvaluation] = []
        for (i, element) in list.enumerated() {
            guard let o = judge(element, i) else { continue }
            judged += 1
            let decided = tally.add(o.status)
            if detail { outcomes.append(o) } else if decided { break }
        }
        if judged == 0 {
            if ifEmpty.status == .error || ifEmpty.status == .notChecked, let decided = decidedWithoutItems(q, expect) {
                return decidedWithout(path, decided, because: ifEmpty.reason, meta)
            }
            guard detail else { return NodeEvaluation(status: ifEmpty.status) }
            return NodeEvaluation(
                status: ifEmpty.status, evidence: [Observation(source: path.description, observed: .array([]), expected: ifEmpty.reason)],
                reasons: ifEmpty.status == .pass ? [] : [ifEmpty.reason],
                failures: ifEmpty.status == .fail ? [ifEmpty.reason] : [],
                passes: ifEmpty.status == .pass ? [ifEmpty.reason] : [])
        }
        guard detail else { return NodeEvaluation(status: tally.status) }
        var combined = NodeEvaluation.combine(outcomes, status: tally.status)
        // As in `any`: once one item meets the expectation, the others' failures are no failure.
        if q == .some && combined.status == .pass { combined.failures = [] }
        // Keep the evidence readable: the items that decided the status first, then the others,
        // at most `maxItemEvidence` items in all, then a count of the rest.
        let ordered = outcomes.filter { $0.status == combined.status } + outcomes.filter { $0.status != combined.status }
        combined.evidence = ordered.prefix(Evaluator.maxItemEvidence).flatMap(\.evidence)
        if ordered.count > Evaluator.maxItemEvidence {
            combined.evidence.append(
                Observation(
                    source: path.description, observed: .string("\(ordered.count - Evaluator.maxItemEvidence) more items"),
                    expected: "(not shown)"))
        }
        if combined.status == .pass && q == .none {
            combined.passes = ["no item of \(meta.describe ?? path.label) (\(list.count)) is disallowed"]
        } else if combined.status == .pass && combined.passes.count > 3 {
            combined.passes = ["all \(outcomes.count) items of \(meta.describe ?? path.label) pass"]
        }
        return combined
    }

    /// The outcome of a quantifier that `decidedWithoutItems`: the expectation's own evidence
    /// (the alternative that decided it), and why the items were not needed.
    func decidedWithout(
        _ path: FactPath, _ decided: (expectation: NodeEvaluation, status: Status), because reason: String, _ meta: CheckMeta
    ) -> NodeEvaluation {
        let status = decided.status
        guard detail else { return NodeEvaluation(status: status) }
        var o = decided.expectation
        let note = "\(meta.describe ?? path.label) could not be read (\(reason)), and is not needed: every item would be judged alike"
        o.status = status
        o.evidence = o.evidence.filter { $0.ok != nil }
        o.reasons = status == .pass ? [] : [note]
        if status == .pass {
            o.passes = o.passes.isEmpty ? [note] : o.passes.map { "\($0) (\(note))" }
        } else {
            o.failures = o.failures.isEmpty ? [note] : o.failures
        }
        return o
    }

    /// The status and reason an object states in place of a value (`{"not_checked": "…"}`,
    /// `error`, `not_applicable`), or nil.
    static func stated(_ value: JSON?) -> (Status, String)? {
        guard case .object(let o)? = value, o["value"] == nil else { return nil }
        for (key, status) in [("error", Status.error), ("not_checked", .notChecked), ("not_applicable", .notApplicable)] {
            if let reason = o[key]?.stringValue { return (status, reason) }
        }
        return nil
    }

    static func label(of element: JSON, index: Int, prefix: String?) -> String {
        for key in ["path", "name", "device", "source"] {
            if let s = element[key]?.stringValue { return s }
        }
        return prefix.map { "\($0)[\(index)]" } ?? "item \(index)"
    }

    static func render(_ v: JSON) -> String {
        switch v {
        case .string(let s): return s
        case .null: return "not set"
        case .array(let a) where a.count <= 8: return "[" + a.map(render).joined(separator: ", ") + "]"
        case .array(let a): return "[" + a.prefix(8).map(render).joined(separator: ", ") + ", … (\(a.count))]"
        default: return v.compactString
        }
    }

    /// True or false, or nil when the two values cannot be compared with `op`.
    static func compare(_ op: Operator, _ observed: JSON?, _ expected: JSON, now: Timestamp) -> Bool? {
        // `null` is a value that is not set (a sysctl no file sets): it satisfies no ordering,
        // mode or containment comparison (absence is never a pass), and is not a type error.
        if observed == .null, ![.exists, .eq, .ne, .in, .notIn].contains(op) {
            return false
        }
        switch op {
        case .exists:
            return (observed != nil) == expected.boolValue
        case .eq: return observed == expected
        case .ne: return observed != expected
        case .in, .notIn:
            guard let set = expected.arrayValue, let observed else { return nil }
            return set.contains(observed) == (op == .in)
        case .gte, .lte, .gt, .lt:
            guard let a = observed?.intValue, let b = expected.intValue else { return nil }
            switch op {
            case .gte: return a >= b
            case .lte: return a <= b
            case .gt: return a > b
            default: return a < b
            }
        case .contains, .notContains:
            let result: Bool
            switch (observed, expected) {
            case (.array(let a)?, _): result = a.contains(expected)
            case (.string(let s)?, .string(let sub)): result = s.contains(sub)
            default: return nil
            }
            return result == (op == .contains)
        case .startsWith:
            guard let o = observed?.stringValue, let prefix = expected.stringValue else { return nil }
            return o.hasPrefix(prefix)
        case .atMostDaysAhead:
            guard let time = observed?.stringValue.flatMap({ Timestamp(rfc3339: $0) }), let days = expected.intValue else { return nil }
            return time.seconds <= now.seconds + days * 86400
        case .atMostDaysOld:
            guard let time = observed?.stringValue.flatMap({ Timestamp(rfc3339: $0) }), let days = expected.intValue else { return nil }
            return time.seconds >= now.seconds - days * 86400
        case .modeAtMost, .modeLacks:
            guard let o = observed?.stringValue.flatMap(parseMode), let e = expected.stringValue.flatMap(parseMode) else { return nil }
            return op == .modeAtMost ? o & ~e == 0 : o & e == 0
        case .empty:
            let isEmpty: Bool
            switch observed {
            case .array(let a)?: isEmpty = a.isEmpty
            case .string(let s)?: isEmpty = s.isEmpty
            case .object(let o)?: isEmpty = o.isEmpty
            default: return nil
            }
            return isEmpty == expected.boolValue
        }
    }
}
