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
    }

    public struct Measure: Sendable {
        public var id: String
        public var title: String
        public var items: [Item]
    }

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
                Item(id: "II.7.2(5)", text: "EDR and/or IDS tools on all company devices and network components", appendix4: "A4.5(6)"),
                Item(id: "II.7.2(6)", text: "a security team that monitors EDR alerts and handles incidents", appendix4: "A4.5(7)"),
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
                Item(id: "A4.5(6)", text: "EDR and/or IDS tools on all networks and devices"),
                Item(id: "A4.5(7)", text: "a security team for incident handling"),
            ]),
    ]
}

/// How the fleet stands on one item of the Code: the controls that show it and how many hosts
/// satisfy all of them, or `manual` when no host can show it.
struct MappedItem {
    var id: String
    var text: String
    var controls: [String]
    /// Hosts that satisfy every control (pass, not applicable, waived, or advisory), per profile.
    var satisfied: [Int]
    /// When the evidence is a whole profile: its index in the summary's profiles.
    var profile: Int?
    var manual: Bool { controls.isEmpty && profile == nil }
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

    /// Which hosts fall short of which controls, per profile, as bits: bit `c` of a host's words
    /// is set when `controls[c]` is counted by the profile (selected, not advisory) and the host's
    /// status for it is not pass, not applicable or waived. Worked out once per mapping, so that
    /// each item is then one AND per host (with 10,000 hosts, looking the statuses up per item
    /// was most of a bundle report's time).
    struct Shortfalls {
        let bit: [String: Int]
        let words: Int
        /// Per profile: `words` words per host, in host order.
        let bits: [[UInt64]]

        init(_ s: FleetSummary) {
            bit = Dictionary(uniqueKeysWithValues: s.controls.enumerated().map { ($1.id, $0) })
            let words = max(1, (s.controls.count + 63) / 64)
            self.words = words
            let bit = self.bit
            bits = s.profiles.indices.map { p in
                // The bits of the controls this profile counts, by id (one lookup per status).
                let counted = bit.filter { s.profiles[p].controlIDs.contains($0.key) && !s.profiles[p].advisory.contains($0.key) }
                var out = [UInt64](repeating: 0, count: s.hosts.count * words)
                for (h, host) in s.hosts.enumerated() {
                    for (id, status) in host.results[p].notPassed where status != .pass && status != .notApplicable && status != .waived {
                        guard let c = counted[id] else { continue }
                        out[h * words + c / 64] |= 1 << UInt64(c % 64)
                    }
                }
                return out
            }
        }

        /// How many hosts satisfy every one of `ids` under each profile (a control the profile
        /// does not count is satisfied everywhere).
        func satisfied(_ ids: [String], hosts: Int) -> [Int] {
            var mask = [UInt64](repeating: 0, count: words)
            for id in ids { if let c = bit[id] { mask[c / 64] |= 1 << UInt64(c % 64) } }
            return bits.map { profileBits in
                var n = 0
                for h in 0..<hosts where (0..<words).allSatisfy({ profileBits[h * words + $0] & mask[$0] == 0 }) { n += 1 }
                return n
            }
        }
    }

    func mapped(_ item: CodeOfPractice.Item, controls ids: [String], _ shortfalls: Shortfalls) -> MappedItem {
        MappedItem(
            id: item.id, text: item.text, controls: ids, satisfied: shortfalls.satisfied(ids, hosts: hosts.count),
            profile: item.profile.flatMap { id in profiles.firstIndex { $0.id == id } })
    }

    /// Both mappings of the Code (one `Shortfalls` for the two).
    var codeOfPracticeMapping:
        (
            thirdDraft: [(measure: CodeOfPractice.Measure, controls: [String], items: [MappedItem])],
            appendix4: [(measure: CodeOfPractice.Measure, items: [MappedItem])]
        )
    {
        let shortfalls = Shortfalls(self)
        return (thirdDraftMapping(shortfalls), appendix4Mapping(shortfalls))
    }

    /// The third draft's items: an item's controls are those citing its Appendix 4 counterpart.
    func thirdDraftMapping(_ shortfalls: Shortfalls) -> [(measure: CodeOfPractice.Measure, controls: [String], items: [MappedItem])] {
        CodeOfPractice.thirdDraft.map { m in
            let citing = controls(citingMeasure: m.id)
            let items = m.items.map { item in
                mapped(item, controls: item.appendix4.map { controls(citingAppendix4: $0) } ?? [], shortfalls)
            }
            return (m, citing, items)
        }
    }

    func appendix4Mapping(_ shortfalls: Shortfalls) -> [(measure: CodeOfPractice.Measure, items: [MappedItem])] {
        CodeOfPractice.appendix4.map { m in (m, m.items.map { mapped($0, controls: controls(citingAppendix4: $0.id), shortfalls) }) }
    }
}
