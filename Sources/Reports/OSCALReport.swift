public import Evidence
internal import OpenSSLSigning
public import WardenCore
public import WardenFormats

/// An OSCAL 1.2.1 `assessment-results` document for one bundle or one findings envelope
/// (docs/FORMATS.md, "OSCAL"): one result; an observation for each host and control with its
/// status under each profile and the evidence; per profile, a finding for each control and for
/// each item of the Code; the profiles'
/// controls as the reviewed controls; the assessment plan as a back-matter resource naming the
/// profiles and their digests. Every UUID is a version 5 UUID derived from the input's id, so the
/// same verified input gives the same bytes.
public enum OSCALReport {
    public static let oscalVersion = "1.2.1"
    /// The namespace of Warden's property names.
    static let ns = "urn:warden:oscal"

    public struct Input: Sendable {
        /// The bundle's manifest id, or the envelope file's SHA-256.
        public var id: String
        /// `bundle` or `envelope`.
        public var kind: String
        /// The keyid that signed the bundle's manifest or the envelope.
        public var signer: String?
        /// Set when the input was read with `--unverified`: the reason, said in the metadata.
        public var unverified: String?
        /// The hosts' findings (their facts are evaluated here, as the summary's were).
        public var findings: [ParsedFindings]
        /// The profiles the summary was computed against, in its order.
        public var profiles: [ResolvedProfile]
        public var generatorVersion: String

        public init(
            id: String, kind: String, signer: String?, unverified: String?, findings: [ParsedFindings], profiles: [ResolvedProfile],
            generatorVersion: String
        ) {
            self.id = id
            self.kind = kind
            self.signer = signer
            self.unverified = unverified
            self.findings = findings
            self.profiles = profiles
            self.generatorVersion = generatorVersion
        }
    }

    public static func document(_ s: FleetSummary, _ input: Input) throws(WardenError) -> [UInt8] {
        let ids = try UUIDs(root: "urn:warden:\(input.kind):\(input.id)")
        let facts = Dictionary(input.findings.map { ($0.machineID ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        let hosts = s.hosts.sorted { $0.machineID < $1.machineID }

        // One observation per host and control, with the control's status under each profile
        // (the evidence is the same facts; it is listed once per distinct line).
        var observations: [JSON] = []
        var observed: [String: [(reference: JSON, statuses: [String: Status])]] = [:]
        for host in hosts {
            guard let parsed = facts[host.machineID] else { continue }
            var perControl: [String: [(profile: String, finding: Finding)]] = [:]
            var order: [String] = []
            for profile in input.profiles {
                for f in Evaluator.evaluate(profile, facts: parsed.facts, now: s.createdAt) {
                    if perControl[f.control] == nil { order.append(f.control) }
                    perControl[f.control, default: []].append((profile.id, f))
                }
            }
            for control in order {
                let uuid = try ids.make("observation/\(host.machineID)/\(control)")
                let statuses = Dictionary(
                    (perControl[control] ?? []).map { ($0.profile, $0.finding.status) }, uniquingKeysWith: { a, _ in a })
                observed[control, default: []].append((["observation-uuid": .string(uuid)], statuses))
                observations.append(try observation(perControl[control] ?? [], host: host, uuid: uuid, ids: ids, maxAge: s.maxAge))
            }
        }

        var findings: [JSON] = []
        var selections: [JSON] = []
        let mapping = s.codeOfPracticeMapping
        let items = mapping.thirdDraft.flatMap(\.items) + mapping.appendix4.flatMap(\.items)
        for (p, profile) in input.profiles.enumerated() {
            let sl = profile.id.uppercased()
            for c in s.controls {
                guard let tally = c.tallies[p] else { continue }
                findings.append(
                    try controlFinding(
                        c, tally: tally, summary: s, profile: profile.id, related: (observed[c.id] ?? []).map(\.reference), ids: ids))
            }
            for item in items where item.judgements[p].verdict != .notJudged {
                // What keeps the item from being met; a met item's evidence is its controls' findings.
                let related = item.controls.flatMap { control in
                    (observed[control] ?? []).filter { $0.statuses[profile.id].map { $0.blocksConformance || $0 == .waived } ?? false }
                        .map(\.reference)
                }
                findings.append(try itemFinding(item, judgement: item.judgements[p], profile: profile.id, related: related, ids: ids))
            }
            selections.append(
                [
                    "description": .string("The controls of Warden's profile \(profile.id) (\(line(profile.title)), \(sl)), as evaluated."),
                    "props": .array([prop("profile", profile.id), prop("profile-sha256", profile.sha256)]),
                    "include-controls": .array(profile.controls.map { ["control-id": .string($0.definition.id)] }),
                ])
        }

        let finished = hosts.map(\.finishedAt)
        let planUUID = try ids.make("assessment-plan")
        var result: JSONObject = [
            "uuid": .string(try ids.make("result")),
            "title": .string(input.kind == "bundle" ? "Evidence bundle \(input.id)" : "Signed findings \(input.id)"),
            "description": .string(resultDescription(s, input)),
            "start": .string((finished.min() ?? s.createdAt).description),
            "end": .string(max(finished.max() ?? s.createdAt, s.createdAt).description),
            "props": .array(
                [prop("hosts", String(s.hosts.count))]
                    + s.profiles.indices.map { prop("conformant-\(s.profiles[$0].id)", String(s.conformantCount($0))) }),
            "reviewed-controls": ["control-selections": .array(selections)],
        ]
        let inventory = try inventoryItems(s, ids: ids)
        if !inventory.isEmpty { result["local-definitions"] = ["inventory-items": .array(inventory)] }
        if !observations.isEmpty { result["observations"] = .array(observations) }
        if !findings.isEmpty { result["findings"] = .array(findings) }

        var metadataProps = [prop("\(input.kind)-id", input.id), prop("generator", "warden \(input.generatorVersion)")]
        if let signer = input.signer { metadataProps.append(prop("signer", signer)) }
        if input.unverified != nil { metadataProps.append(prop("unverified", "true")) }
        var metadata: JSONObject = [
            "title": .string(
                "Warden assessment results: \(BundleReport.plural(s.hosts.count, "host")) against \(s.profiles.map { $0.id.uppercased() }.joined(separator: " and "))"
            ),
            "last-modified": .string(s.createdAt.description),
            "version": .string(input.id),
            "oscal-version": .string(oscalVersion),
            "props": .array(metadataProps),
        ]
        if let unverified = input.unverified {
            metadata["remarks"] = .string("UNVERIFIED: \(unverified). Nothing in this document is verified evidence.")
        }
        let plan: JSON = [
            "uuid": .string(planUUID),
            "title": "Warden's assessment plan: the profiles the facts were evaluated against",
            "description": .string(
                "Each host's signed facts evaluated against the profiles \(input.profiles.map(\.id).joined(separator: " and ")) by warden \(input.generatorVersion). The digests are the profiles' as recorded in findings and bundles."
            ),
            "props": .array(input.profiles.map { prop("profile", "\($0.id) \($0.version)") }),
            "rlinks": .array(
                input.profiles.map { p in
                    [
                        "href": .string("urn:warden:profile:\(p.id):\(p.version)"),
                        "hashes": [["algorithm": "SHA-256", "value": .string(p.sha256)]],
                    ]
                }),
        ]
        let document: JSON = [
            "assessment-results": [
                "uuid": .string(try ids.make("assessment-results")),
                "metadata": .object(metadata),
                "import-ap": ["href": .string("#\(planUUID)")],
                "results": [.object(result)],
                "back-matter": ["resources": [plan]],
            ]
        ]
        return document.prettySerialized(capacity: 65_536 + observations.count * 1_024)
    }

    // MARK: - Parts

    /// One host's control under every profile that has it: a status per profile (the prop's
    /// class names the profile), the evidence lines once each.
    static func observation(
        _ results: [(profile: String, finding: Finding)], host: FleetSummary.Host, uuid: String, ids: UUIDs, maxAge: Int64
    ) throws(WardenError) -> JSON {
        guard let last = results.last?.finding else { return [:] }
        var props = [prop("control", last.control)]
        for (profile, f) in results {
            props.append(prop("status", f.status.rawValue, class: profile))
            if f.advisory { props.append(prop("advisory", "true", class: profile)) }
            if let waiver = f.waiver { props.append(prop("waiver", waiver.waiver.reason, class: profile)) }
        }
        let statuses = results.map { "\($0.profile.uppercased()) \($0.finding.status.rawValue)" }
        let sameStatus = Set(results.map(\.finding.status)).count == 1
        let summaries = results.map(\.finding.summary)
        let description =
            Set(summaries).count == 1
            ? last.summary : results.map { "\($0.profile.uppercased()): \($0.finding.summary)" }.joined(separator: "; ")
        var o: JSONObject = [
            "uuid": .string(uuid),
            "title": .string(
                "\(last.control) on \(line(host.name)): \(sameStatus ? last.status.rawValue : statuses.joined(separator: ", "))"),
            "description": .string(line(description.isEmpty ? last.title : description)),
            "props": .array(props),
            "methods": ["TEST"],
            "subjects": [
                [
                    "subject-uuid": .string(try ids.make("host/\(host.machineID)")), "type": "inventory-item",
                    "title": .string(line(host.name)),
                ]
            ],
            "collected": .string(host.finishedAt.description),
            "expires": .string(Timestamp(seconds: host.finishedAt.seconds + maxAge).description),
        ]
        var lines: [String] = []
        for (_, f) in results {
            for e in f.evidence {
                let text = line(BundleReport.evidenceLine(e))
                if !lines.contains(text) { lines.append(text) }
            }
        }
        if !lines.isEmpty { o["relevant-evidence"] = .array(lines.map { ["description": .string($0)] }) }
        return .object(o)
    }

    static func controlFinding(
        _ c: FleetSummary.Control, tally: FleetSummary.Tally, summary s: FleetSummary, profile: String, related: [JSON], ids: UUIDs
    ) throws(WardenError) -> JSON {
        let counts = Status.allCases.compactMap { status in
            tally.counts[status].flatMap { $0 > 0 ? "\(status.rawValue) on \(BundleReport.plural($0, "host"))" : nil }
        }
        let (missing, stale) = s.hostsWithoutEvidence
        let undecided = [Status.error, .notChecked, .manual].contains { (tally.counts[$0] ?? 0) > 0 } || missing + stale > 0
        let failed = (tally.counts[.fail] ?? 0) + (tally.counts[.waived] ?? 0) > 0
        let satisfied = !failed && !undecided && (tally.counts[.pass] ?? 0) > 0
        var detail = counts.isEmpty ? "no hosts" : counts.joined(separator: "; ")
        if missing > 0 { detail += "; \(BundleReport.plural(missing, "inventory host")) without findings" }
        if stale > 0 { detail += "; \(stale) with stale findings" }
        var props = [prop("control", c.id), prop("profile", profile), prop("severity", c.severity.rawValue)]
        if tally.advisory { props.append(prop("advisory", "true")) }
        var f: JSONObject = [
            "uuid": .string(try ids.make("finding/\(profile)/control/\(c.id)")),
            "title": .string("\(c.id) against \(profile.uppercased()): \(line(c.title))"),
            "description": .string(line("\(c.title): \(detail)\(tally.advisory ? " (advisory: does not decide conformance)" : "")")),
            "props": .array(props),
            "target": [
                "type": "objective-id", "target-id": .string(c.id),
                "status": ["state": satisfied ? "satisfied" : "not-satisfied", "reason": satisfied ? "pass" : failed ? "fail" : "other"],
            ],
        ]
        if !related.isEmpty { f["related-observations"] = .array(related) }
        return .object(f)
    }

    static func itemFinding(_ item: MappedItem, judgement: ItemJudgement, profile: String, related: [JSON], ids: UUIDs) throws(WardenError)
        -> JSON
    {
        let met = judgement.verdict == .met
        var props = [prop("code-item", item.id), prop("profile", profile), prop("verdict", judgement.verdict.rawValue)]
        if !item.controls.isEmpty { props.append(prop("controls", item.controls.joined(separator: " "))) }
        if let attestation = item.attestation { props.append(prop("attestation", line(attestation))) }
        var target: JSONObject = [
            "type": "objective-id", "target-id": .string(token(item.id)),
            "status": [
                "state": met ? "satisfied" : "not-satisfied", "reason": met ? "pass" : judgement.verdict == .notMet ? "fail" : "other",
            ],
        ]
        if judgement.verdict == .manual || judgement.verdict == .undetermined {
            target["remarks"] = .string(
                "\(judgement.verdict.rawValue): not shown satisfied by the hosts' evidence; \(line(judgement.detail))")
        }
        var f: JSONObject = [
            "uuid": .string(try ids.make("finding/\(profile)/item/\(item.id)")),
            "title": .string("Code of Practice \(item.id) against \(profile.uppercased()): \(judgement.verdict.rawValue)"),
            "description": .string(line("\(item.text). \(judgement.detail)")),
            "props": .array(props),
            "target": .object(target),
        ]
        if !related.isEmpty { f["related-observations"] = .array(related) }
        return .object(f)
    }

    /// Every host with findings, and the inventory's hosts without them.
    static func inventoryItems(_ s: FleetSummary, ids: UUIDs) throws(WardenError) -> [JSON] {
        var items: [JSON] = []
        for host in s.hosts.sorted(by: { $0.machineID < $1.machineID }) {
            var props = [
                prop("machine-id", host.machineID), prop("hostname", host.hostname), prop("key-id", host.keyID),
                prop("audited-profile", host.auditedProfile), prop("finished-at", host.finishedAt.description),
            ]
            if let role = host.role { props.append(prop("role", role)) }
            if host.stale { props.append(prop("stale", "true")) }
            items.append([
                "uuid": .string(try ids.make("host/\(host.machineID)")),
                "description": .string(line("\(host.name): host \(host.hostname), machine id \(host.machineID)")),
                "props": .array(props),
            ])
        }
        for host in s.inventory == nil ? [] : s.missing.sorted(by: { $0.machineID < $1.machineID }) {
            items.append([
                "uuid": .string(try ids.make("host/\(host.machineID)")),
                "description": .string(
                    line("\(host.name): in the inventory, without findings in this \(s.hosts.isEmpty ? "input" : "bundle")")),
                "props": .array([prop("machine-id", host.machineID), prop("evidence", "missing")]),
            ])
        }
        return items
    }

    static func resultDescription(_ s: FleetSummary, _ input: Input) -> String {
        var parts = [
            input.kind == "bundle"
                ? "The verified host findings of evidence bundle \(input.id), each host's signed facts evaluated against \(s.profiles.map(\.id).joined(separator: " and "))."
                : "One host's signed findings (SHA-256 \(input.id)), its facts evaluated against \(s.profiles.map(\.id).joined(separator: " and ")); not an evidence bundle."
        ]
        for (p, profile) in s.profiles.enumerated() {
            parts.append("\(s.conformantCount(p)) of \(BundleReport.plural(s.hosts.count, "host")) conform to \(profile.id.uppercased()).")
        }
        if s.inventory != nil, !s.missing.isEmpty {
            parts.append("\(BundleReport.plural(s.missing.count, "inventory host")) without findings.")
        }
        if !s.stale.isEmpty { parts.append("\(BundleReport.plural(s.stale.count, "host")) with stale findings.") }
        if !s.rejected.isEmpty { parts.append("\(BundleReport.plural(s.rejected.count, "input")) rejected by the bundler.") }
        return parts.joined(separator: " ")
    }

    // MARK: - Values

    static func prop(_ name: String, _ value: String, class: String? = nil) -> JSON {
        var p: JSONObject = ["name": .string(name), "ns": .string(ns), "value": .string(line(value))]
        if let `class` { p["class"] = .string(`class`) }
        return .object(p)
    }

    /// One line with no leading or trailing white space and never empty, as OSCAL's string and
    /// markup-line types require.
    static func line(_ text: String) -> String {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        return words.isEmpty ? "none" : words.joined(separator: " ")
    }

    /// An OSCAL token (an XML NCName) for an identifier such as `A4.2(4)`: `A4.2-4`.
    static func token(_ id: String) -> String {
        var out = ""
        var dash = false
        for c in id.unicodeScalars {
            if ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "." || c == "_" {
                out.unicodeScalars.append(c)
                dash = false
            } else if !dash, !out.isEmpty {
                out += "-"
                dash = true
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        guard let first = out.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) else {
            return "item-" + out
        }
        return out
    }

    /// Version 5 (name-based, SHA-1) UUIDs under one namespace derived from the input's id
    /// (RFC 9562 §5.5).
    struct UUIDs {
        /// RFC 9562's namespace for URLs and URNs.
        static let urlNamespace: [UInt8] = [
            0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ]
        let namespace: [UInt8]

        init(root: String) throws(WardenError) {
            namespace = try UUIDs.v5(UUIDs.urlNamespace, root)
        }

        func make(_ name: String) throws(WardenError) -> String {
            UUIDs.text(try UUIDs.v5(namespace, name))
        }

        static func v5(_ namespace: [UInt8], _ name: String) throws(WardenError) -> [UInt8] {
            var bytes: [UInt8]
            do throws(OpenSSLError) {
                bytes = Array(try OpenSSLDigest.sha1(namespace + Array(name.utf8)).prefix(16))
            } catch {
                throw WardenError(.io, "computing a SHA-1 through libcrypto: \(error.message)")
            }
            bytes[6] = bytes[6] & 0x0F | 0x50
            bytes[8] = bytes[8] & 0x3F | 0x80
            return bytes
        }

        /// The 8-4-4-4-12 form of RFC 9562.
        static func text(_ bytes: [UInt8]) -> String {
            [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { Hex.lowercase(bytes[$0]) }.joined(separator: "-")
        }
    }
}
