internal import Evidence
internal import WardenCore

/// The texts a bundle's evidence is mapped onto: the measures of Commitment II.7 in the third
/// draft of the EU GPAI Code of Practice (11 March 2025) and Appendix 4 of the final Code
/// (10 July 2025, Commitment 6). Which controls show an item is not written here: it comes from
/// each control's `references` (`cop`, `appendix4`) in `Profiles/controls/*.yaml`. An item no
/// control cites is organisational, shown as `manual`: it needs an attestation, not a host.
public enum CodeOfPractice {
    public struct Item: Sendable {
        /// `II.7.3(4)` or `A4.2(3)`.
        public var id: String
        public var text: String
        /// For a third-draft item, the Appendix 4 item it became, when there is one.
        public var appendix4: String?
        /// When the evidence is conformance to a whole profile (II.7.8: SL4), its id.
        public var profile: String?
        /// For an organisational item (what no host shows, even where host controls support it):
        /// the attestation a reviewer collects. Its verdict is `manual`.
        public var attestation: String?
    }

    public struct Measure: Sendable {
        public var id: String
        public var title: String
        public var items: [Item]
    }

    static let edrAttestation =
        "the inventory of EDR and IDS coverage across every network and device, and its alert routing (a host shows only its own agent and log forwarding)"
    static let securityTeamAttestation =
        "the security team's charter, on-call roster and incident-handling records (hosts only forward the logs it reads)"

    public static let thirdDraft: [Measure] = [
        Measure(
            id: "II.7.1", title: "General cybersecurity best practices",
            items: [
                Item(id: "II.7.1(1)", text: "strong identity and access management practices", appendix4: "A4.1(1)"),
                Item(id: "II.7.1(2)", text: "strong protections against social engineering", appendix4: "A4.1(2)"),
                Item(id: "II.7.1(3)", text: "protection of wireless networks", appendix4: "A4.1(1)"),
                Item(id: "II.7.1(4)", text: "policies for untrusted removable media", appendix4: "A4.1(3)"),
                Item(id: "II.7.1(5)", text: "protection of premises from physical intrusion", appendix4: "A4.2(6)"),
                Item(id: "II.7.1(6)", text: "regular software updates and patch management", appendix4: "A4.1(4)"),
            ]),
        Measure(
            id: "II.7.2", title: "Security assurance",
            items: [
                Item(id: "II.7.2(1)", text: "regular security reviews by an independent external party", appendix4: "A4.5(1)"),
                Item(id: "II.7.2(2)", text: "frequent red-teaming", appendix4: "A4.5(2)"),
                Item(id: "II.7.2(3)", text: "secure channels for third parties to report security issues", appendix4: "A4.5(5)"),
                Item(id: "II.7.2(4)", text: "competitive bug bounty programs", appendix4: "A4.5(3)"),
                Item(
                    id: "II.7.2(5)", text: "EDR and/or IDS tools on all company devices and network components", appendix4: "A4.5(6)",
                    attestation: edrAttestation),
                Item(
                    id: "II.7.2(6)", text: "a security team that monitors EDR alerts and handles incidents", appendix4: "A4.5(7)",
                    attestation: securityTeamAttestation),
            ]),
        Measure(
            id: "II.7.3", title: "Protection of unreleased model weights and associated assets",
            items: [
                Item(
                    id: "II.7.3(1)", text: "a secure internal registry of all devices and locations where model weights are stored",
                    appendix4: "A4.2(1)"),
                Item(
                    id: "II.7.3(2)",
                    text:
                        "access control and monitoring of access on all devices storing weights, with alerts on copying to unmanaged devices",
                    appendix4: "A4.2(2)"),
                Item(id: "II.7.3(3)", text: "storage on dedicated devices", appendix4: nil),
                Item(
                    id: "II.7.3(4)",
                    text: "weights always encrypted in storage and transport, at least 256-bit security, keys held on a TPM",
                    appendix4: "A4.2(3)"),
                Item(id: "II.7.3(5)", text: "weights only decrypted for legitimate use to non-persistent memory", appendix4: "A4.2(4)"),
                Item(
                    id: "II.7.3(6)",
                    text: "confidential computing with hardware-based, attested trusted execution environments, if feasible",
                    appendix4: "A4.2(5)"),
                Item(
                    id: "II.7.3(7)", text: "physical access to data centres restricted to required personnel, with regular inspections",
                    appendix4: "A4.2(6)"),
            ]),
        Measure(
            id: "II.7.4", title: "Interfaces and access control to unreleased model weights",
            items: [
                Item(
                    id: "II.7.4(1)",
                    text:
                        "only required software and persons authorised, enforced with multi-factor authentication, audited at least every six months",
                    appendix4: "A4.3(1)"),
                Item(id: "II.7.4(2)", text: "security-team review of every software interface accessing weights", appendix4: "A4.3(2)"),
                Item(id: "II.7.4(3)", text: "hardened interfaces, e.g. output rate limiting", appendix4: "A4.3(3)"),
            ]),
        Measure(
            id: "II.7.5", title: "Insider threats",
            items: [
                Item(id: "II.7.5(1)", text: "background checks on employees and contractors with access", appendix4: "A4.4(1)"),
                Item(id: "II.7.5(2)", text: "training on recognising and reporting insider threats", appendix4: "A4.4(2)"),
                Item(id: "II.7.5(3)", text: "sandboxes around GPAISRs", appendix4: "A4.4(3)"),
            ]),
        Measure(
            id: "II.7.6", title: "Regime of applicability",
            items: [
                Item(
                    id: "II.7.6(1)", text: "the measures apply along the whole model lifecycle, until secure deletion or release",
                    appendix4: nil),
                Item(id: "II.7.6(2)", text: "security measures prioritised by the systemic risk of the model", appendix4: nil),
            ]),
        Measure(
            id: "II.7.7", title: "Limited disclosure",
            items: [
                Item(
                    id: "II.7.7",
                    text: "public copies of the Framework and Model Report disclose the security mitigations, with redactions as necessary",
                    appendix4: nil)
            ]),
        Measure(
            id: "II.7.8", title: "Higher security goals",
            items: [
                Item(
                    id: "II.7.8", text: "mitigations in line with at least RAND SL4 where OC4-level threats are reasonably foreseen",
                    appendix4: nil, profile: "sl4")
            ]),
    ]

    public static let appendix4: [Measure] = [
        Measure(
            id: "A4.1", title: "General security mitigations",
            items: [
                Item(
                    id: "A4.1(1)",
                    text:
                        "multi-factor authentication, strong passwords, 802.1x, zero trust; wireless at the standard of wired; guest networks separated"
                ),
                Item(id: "A4.1(2)", text: "email filtering"),
                Item(id: "A4.1(3)", text: "policies on the use of removable media"),
                Item(id: "A4.1(4)", text: "regular software updates and patch management"),
            ]),
        Measure(
            id: "A4.2", title: "Protection of unreleased model parameters",
            items: [
                Item(id: "A4.2(1)", text: "a secure internal registry of all devices and locations where model parameters are stored"),
                Item(
                    id: "A4.2(2)", text: "access management on all devices storing parameters, with alerts on copying to unmanaged devices"),
                Item(
                    id: "A4.2(3)",
                    text: "always encrypted in transport and storage, at least 256-bit security, keys stored securely on a TPM"),
                Item(id: "A4.2(4)", text: "only decrypted for legitimate use to non-persistent memory"),
                Item(id: "A4.2(5)", text: "confidential computing with hardware-based, attested trusted execution environments"),
                Item(id: "A4.2(6)", text: "physical access restricted, with inspections"),
            ]),
        Measure(
            id: "A4.3", title: "Hardening interface-access",
            items: [
                Item(
                    id: "A4.3(1)",
                    text:
                        "only required software and persons authorised, with multi-factor authentication, checked at least every six months"
                ),
                Item(id: "A4.3(2)", text: "security review of interface code"),
                Item(id: "A4.3(3)", text: "hardened interfaces, e.g. output rate limiting"),
                Item(id: "A4.3(4)", text: "few people with non-hardened interface access to parameters"),
            ]),
        Measure(
            id: "A4.4", title: "Insider threats",
            items: [
                Item(id: "A4.4(1)", text: "background checks"),
                Item(id: "A4.4(2)", text: "training"),
                Item(id: "A4.4(3)", text: "sandboxes around models (virtual machines, code execution isolation)"),
                Item(id: "A4.4(4)", text: "checking training data for tampering"),
            ]),
        Measure(
            id: "A4.5", title: "Security assurance",
            items: [
                Item(id: "A4.5(1)", text: "external reviews"),
                Item(id: "A4.5(2)", text: "red-teaming"),
                Item(id: "A4.5(3)", text: "bug bounty"),
                Item(id: "A4.5(4)", text: "periodic personnel integrity testing"),
                Item(id: "A4.5(5)", text: "reporting channels"),
                Item(id: "A4.5(6)", text: "EDR and/or IDS tools on all networks and devices", attestation: edrAttestation),
                Item(id: "A4.5(7)", text: "a security team for incident handling", attestation: securityTeamAttestation),
            ]),
    ]
}

/// How an item of the Code stands under one profile (docs/FORMATS.md, "The Code of Practice
/// mapping"): met only when, on every inventory host, every verdict control citing it passed or
/// did not apply, and one passed somewhere; any fail (or waiver) is not met; an error, a control
/// not checked, or a host without fresh findings leaves it undetermined.
enum ItemVerdict: String {
    case met
    case notMet = "not met"
    case undetermined
    case manual
    /// Judged under another profile only (II.7.8 against SL4).
    case notJudged = "not judged"
}

struct ItemJudgement {
    var verdict: ItemVerdict
    /// Why, naming controls and host counts by status.
    var detail: String
}

/// One row of the mapping: an item, every control citing it, and its verdict per profile.
struct MappedItem {
    var id: String
    var text: String
    var controls: [String]
    var attestation: String?
    /// Per profile, in the summary's order.
    var judgements: [ItemJudgement]
}

extension FleetSummary {
    /// The controls whose references cite an Appendix 4 item.
    func controls(citingAppendix4 item: String) -> [String] {
        controls.filter { $0.references.appendix4.contains(item) }.map(\.id)
    }

    /// The controls whose references cite a third-draft measure.
    func controls(citingMeasure measure: String) -> [String] {
        controls.filter { $0.references.cop.contains(measure) }.map(\.id)
    }

    /// Hosts the inventory lists without fresh findings here: no evidence from them.
    var hostsWithoutEvidence: (missing: Int, stale: Int) { (inventory == nil ? 0 : missing.count, stale.count) }

    func judge(_ item: CodeOfPractice.Item, controls ids: [String], profile p: Int) -> ItemJudgement {
        let sl = profiles[p].id.uppercased()
        if let attestation = item.attestation {
            let support = ids.isEmpty ? "" : "; host controls that support it: \(ids.joined(separator: ", "))"
            return ItemJudgement(verdict: .manual, detail: "organisational: collect \(attestation)\(support)")
        }
        let (missingHosts, staleHosts) = hostsWithoutEvidence
        let gaps = [
            missingHosts > 0 ? "\(BundleReport.plural(missingHosts, "inventory host")) missing" : nil,
            staleHosts > 0 ? "\(staleHosts) stale" : nil,
        ]
        .compactMap { $0 }.joined(separator: ", ")
        if let whole = item.profile {
            guard whole == profiles[p].id else { return ItemJudgement(verdict: .notJudged, detail: "judged against \(whole.uppercased())") }
            let total = inventory?.hosts.count ?? hosts.count
            let failing = hosts.count { $0.results[p].verdict == .nonconformant }
            let incomplete = hosts.count { $0.results[p].verdict == .incomplete }
            if failing > 0 {
                return ItemJudgement(
                    verdict: .notMet, detail: "\(failing) of \(BundleReport.plural(total, "host")) do not conform to \(sl)")
            }
            if incomplete > 0 || !gaps.isEmpty || hosts.isEmpty {
                let parts = [
                    incomplete > 0 ? "\(incomplete) incomplete" : nil, gaps.isEmpty ? nil : gaps, hosts.isEmpty ? "no hosts" : nil,
                ]
                return ItemJudgement(verdict: .undetermined, detail: parts.compactMap { $0 }.joined(separator: ", "))
            }
            return ItemJudgement(verdict: .met, detail: "all hosts (\(total)) conform to \(sl)")
        }
        let byID = Dictionary(uniqueKeysWithValues: controls.map { ($0.id, $0) })
        let verdictControls = ids.compactMap { id in byID[id]?.tallies[p].flatMap { $0.advisory ? nil : (id, $0) } }
        guard !verdictControls.isEmpty else {
            return ItemJudgement(
                verdict: .manual,
                detail: ids.isEmpty
                    ? "no host control shows it: needs an attestation" : "no verdict control of \(sl) cites it: needs an attestation")
        }
        func named(_ status: Status) -> [String] {
            verdictControls.compactMap { id, tally in
                tally.counts[status].flatMap { $0 > 0 ? "\(id) on \(BundleReport.plural($0, "host"))" : nil }
            }
        }
        let fail = named(.fail)
        let waived = named(.waived)
        let error = named(.error)
        let notChecked = named(.notChecked)
        let passes = verdictControls.reduce(0) { $0 + ($1.1.counts[.pass] ?? 0) }
        var parts: [String] = []
        if !fail.isEmpty { parts.append("fail: " + fail.joined(separator: ", ")) }
        if !waived.isEmpty { parts.append("waived: " + waived.joined(separator: ", ")) }
        if !error.isEmpty { parts.append("error: " + error.joined(separator: ", ")) }
        if !notChecked.isEmpty { parts.append("not checked: " + notChecked.joined(separator: ", ")) }
        if !gaps.isEmpty { parts.append(gaps) }
        if !fail.isEmpty || !waived.isEmpty { return ItemJudgement(verdict: .notMet, detail: parts.joined(separator: "; ")) }
        if !parts.isEmpty { return ItemJudgement(verdict: .undetermined, detail: parts.joined(separator: "; ")) }
        if hosts.isEmpty { return ItemJudgement(verdict: .undetermined, detail: "no hosts") }
        if passes == 0 {
            return ItemJudgement(verdict: .undetermined, detail: "no control citing it applies on any host: nothing shows it")
        }
        return ItemJudgement(
            verdict: .met,
            detail:
                "\(verdictControls.map(\.0).joined(separator: ", ")) pass or do not apply on all hosts (\(hosts.count))"
        )
    }

    func mapped(_ item: CodeOfPractice.Item, controls ids: [String]) -> MappedItem {
        MappedItem(
            id: item.id, text: item.text, controls: ids, attestation: item.attestation,
            judgements: profiles.indices.map { judge(item, controls: ids, profile: $0) })
    }

    /// Both mappings of the Code. In the third draft an item's controls are those citing its
    /// Appendix 4 counterpart; controls that cite a measure and none of its items get a row of
    /// their own, so that every control citing a measure is in one of its rows.
    var codeOfPracticeMapping:
        (
            thirdDraft: [(measure: CodeOfPractice.Measure, controls: [String], items: [MappedItem])],
            appendix4: [(measure: CodeOfPractice.Measure, items: [MappedItem])]
        )
    {
        let thirdDraft = CodeOfPractice.thirdDraft.map { m in
            let citing = controls(citingMeasure: m.id)
            var items = m.items.map { item in mapped(item, controls: item.appendix4.map { controls(citingAppendix4: $0) } ?? []) }
            let inRows = Set(items.flatMap(\.controls))
            let others = citing.filter { !inRows.contains($0) }
            if !others.isEmpty {
                items.append(
                    mapped(
                        CodeOfPractice.Item(id: "\(m.id) (other)", text: "controls that cite the measure and none of its items"),
                        controls: others))
            }
            return (m, citing, items)
        }
        let appendix4 = CodeOfPractice.appendix4.map { m in (m, m.items.map { mapped($0, controls: controls(citingAppendix4: $0.id)) }) }
        return (thirdDraft, appendix4)
    }
}
