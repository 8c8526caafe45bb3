public import WardenCore
public import WardenFormats

/// What a bundle says about a fleet (`summary.json`, docs/FORMATS.md): every bundled host's
/// conformance to each profile (SL3, SL4), recomputed from the facts inside its signed findings;
/// per-control tallies with a few examples; the inventory hosts that are missing or stale; the
/// inputs that were rejected or superseded.
///
/// It is built by streaming: `FleetSummaryBuilder.add` takes one host's findings at a time and
/// keeps only a compact record (the statuses that are not `pass`), so that thousands of hosts fit
/// in bounded memory. The same builder, fed the same envelopes, inventory, `created_at` and
/// `max_age`, gives the same bytes: that is how a verifier checks `summary.json` and `hosts[]`.
public struct FleetSummary: Sendable {
    public static let schema = "warden.bundle-summary/v1"

    /// A profile the fleet is measured against.
    public struct Profile: Sendable {
        public var id: String
        public var title: String
        public var version: String
        public var sha256: String
        /// Its controls, in the profile's order.
        public var controlIDs: [String]
        public var advisory: Set<String>

        public init(_ p: ResolvedProfile) {
            id = p.id
            title = p.title
            version = p.version
            sha256 = p.sha256
            controlIDs = p.controls.map(\.definition.id)
            advisory = Set(p.controls.filter(\.advisory).map(\.definition.id))
        }
    }

    /// One bundled host.
    public struct Host: Sendable {
        public var machineID: String
        /// The inventory's name for the host, else its hostname.
        public var name: String
        public var hostname: String
        public var role: String?
        public var keyID: String
        /// The envelope's path inside the bundle.
        public var file: String
        /// The profile the host was audited with (its own verdict is not used).
        public var auditedProfile: String
        public var finishedAt: Timestamp
        public var stale: Bool
        /// One per profile, in `FleetSummary.profiles` order.
        public var results: [ProfileVerdict]
    }

    /// A host's verdict against one profile and the statuses other than `pass`.
    public struct ProfileVerdict: Sendable {
        public var verdict: Verdict
        public var notPassed: [String: Status]

        public var conformant: Bool { verdict == .conformant }
    }

    /// One control across the fleet.
    public struct Control: Sendable {
        public var id: String
        public var title: String
        public var area: Area
        public var severity: Severity
        public var remediation: String
        public var references: References
        /// One per profile; nil where the profile does not select the control.
        public var tallies: [Tally?]
    }

    public struct Tally: Sendable {
        public var advisory: Bool
        public var counts: [Status: Int] = [:]
        /// The first hosts (by machine id) where the control decided against conformance.
        public var examples: [Example] = []

        /// Keeps `example` when it is among the first `limit` by machine id.
        mutating func keep(_ example: Example, limit: Int) {
            let at = examples.firstIndex { $0.machineID > example.machineID } ?? examples.endIndex
            guard at < limit else { return }
            examples.insert(example, at: at)
            if examples.count > limit { examples.removeLast() }
        }

        public var hostsBlocking: Int { counts.reduce(0) { $0 + (Verdict.blocks($1.key, advisory: advisory) ? $1.value : 0) } }
    }

    public struct Example: Sendable {
        public var machineID: String
        public var name: String
        public var status: Status
        public var summary: String
        public var evidence: [Observation]
    }

    public var createdAt: Timestamp
    public var maxAge: Int64
    public var inventory: Inventory?
    public var profiles: [Profile]
    /// By area, then id.
    public var controls: [Control]
    /// By machine id.
    public var hosts: [Host]
    /// Inventory hosts with no accepted findings, in inventory order.
    public var missing: [Inventory.Host]
    public var rejected: [Rejection]
    public var superseded: [Superseded]

    public var stale: [Host] { hosts.filter(\.stale) }

    public func conformantCount(_ profile: Int) -> Int { hosts.count(where: { $0.results[profile].conformant }) }

    public func rejected(_ kind: Rejection.Kind) -> [Rejection] { rejected.filter { $0.kind == kind } }

    /// The status of `control` on `host` under profile `profile`, or nil when the profile does not select it.
    public func status(_ host: Host, profile: Int, control: String) -> Status? {
        guard profiles[profile].controlIDs.contains(control) else { return nil }
        return host.results[profile].notPassed[control] ?? .pass
    }

    /// Every inventory host present, fresh, verified and conformant to the first profile, with
    /// nothing rejected. Without an inventory, coverage cannot be established, so never.
    public var completeAndConformant: Bool {
        inventory != nil && missing.isEmpty && rejected.isEmpty && !hosts.contains { $0.stale || !$0.results[0].conformant }
    }

    // MARK: - Documents

    public var json: JSON {
        var counts: JSONObject = [
            "bundled": .int(hosts.count), "stale": .int(stale.count), "missing": .int(missing.count),
            "rejected": .int(rejected.count), "superseded": .int(superseded.count),
            "unknown": .int(rejected(.unknown).count), "wrong_key": .int(rejected(.wrongKey).count),
            "inventory": inventory.map { .int($0.hosts.count) } ?? .null,
        ]
        counts["conformant"] = .object(
            Dictionary(uniqueKeysWithValues: profiles.indices.map { (profiles[$0].id, JSON.int(conformantCount($0))) }))
        return [
            "schema": .string(FleetSummary.schema),
            "created_at": .string(createdAt.description),
            "max_age": .string(Durations.text(maxAge)),
            "inventory": inventory.map { ["sha256": .string($0.sha256), "hosts": .int($0.hosts.count)] } ?? .null,
            "profiles": .array(profiles.map(\.json)),
            "counts": .object(counts),
            "complete_and_conformant": .bool(completeAndConformant),
            "controls": .array(
                controls.map { c in
                    var results: JSONObject = [:]
                    for (i, t) in c.tallies.enumerated() { if let t { results[profiles[i].id] = t.json } }
                    return [
                        "id": .string(c.id), "title": .string(c.title), "area": .string(c.area.rawValue),
                        "severity": .string(c.severity.rawValue),
                        "remediation": .string(c.remediation),
                        "references": [
                            "cop": .array(c.references.cop.map { .string($0) }),
                            "appendix4": .array(c.references.appendix4.map { .string($0) }),
                        ],
                        "results": .object(results),
                    ]
                }),
            "hosts": .array(
                hosts.map { h in
                    var results: JSONObject = [:]
                    for (i, r) in h.results.enumerated() {
                        results[profiles[i].id] = [
                            "verdict": .string(r.verdict.rawValue), "conformant": .bool(r.conformant),
                            "not_passed": .object(r.notPassed.mapValues { .string($0.rawValue) }),
                        ]
                    }
                    return [
                        "machine_id": .string(h.machineID), "name": .string(h.name), "hostname": .string(h.hostname),
                        "role": h.role.map { .string($0) } ?? .null, "keyid": .string(h.keyID), "file": .string(h.file),
                        "profile": .string(h.auditedProfile), "finished_at": .string(h.finishedAt.description), "stale": .bool(h.stale),
                        "results": .object(results),
                    ]
                }),
            "missing": .array(
                missing.map {
                    [
                        "name": .string($0.name), "machine_id": .string($0.machineID), "keyid": .string($0.keyID),
                        "role": .string($0.role.rawValue),
                    ]
                }),
            "stale": .array(
                stale.map {
                    ["name": .string($0.name), "machine_id": .string($0.machineID), "finished_at": .string($0.finishedAt.description)]
                }),
            "rejected": .array(rejected.map(\.json)),
            "superseded": .array(superseded.map(\.json)),
        ]
    }

    /// summary.json's bytes. `size`: the size expected (a verifier knows it: the stored file's),
    /// reserved at once, since a buffer that outgrows its reservation is copied into one twice
    /// its size (for 10,000 hosts, 41 MB beside the 20 MB it outgrew); without it, an estimate
    /// of 3 KB a host (2.5 KB with the 66 controls of 2026-12).
    public func document(size: Int? = nil) -> [UInt8] { json.prettySerialized(capacity: size ?? 65_536 + hosts.count * 3_072) }

    /// The manifest's `hosts[]`: one entry per bundled host.
    public var manifestHosts: JSON {
        .array(
            hosts.map { h in
                [
                    "name": .string(h.name), "machine_id": .string(h.machineID), "keyid": .string(h.keyID),
                    "profile": .string(h.auditedProfile), "finished_at": .string(h.finishedAt.description), "stale": .bool(h.stale),
                    "conformant": .object(
                        Dictionary(uniqueKeysWithValues: h.results.indices.map { (profiles[$0].id, JSON.bool(h.results[$0].conformant)) })),
                    "file": .string(h.file),
                ]
            })
    }
}

extension FleetSummary.Profile {
    var json: JSON {
        [
            "id": .string(id), "title": .string(title), "version": .string(version), "sha256": .string(sha256),
            "controls": .array(controlIDs.map { .string($0) }), "advisory": .array(advisory.sorted().map { .string($0) }),
        ]
    }
}

extension FleetSummary.Tally {
    var json: JSON {
        [
            "advisory": .bool(advisory),
            "counts": .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, JSON.int($0.value)) })),
            "examples": .array(
                examples.map { e in
                    [
                        "machine_id": .string(e.machineID), "name": .string(e.name), "status": .string(e.status.rawValue),
                        "summary": .string(e.summary), "evidence": .array(e.evidence.map(\.json)),
                    ]
                }),
        ]
    }
}

/// An input that a bundle left out of `findings/`, and why. Listed, never silently dropped.
public struct Rejection: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The file could not be read.
        case unreadable
        /// Not a DSSE envelope, or not a findings document.
        case malformed
        /// The signature or the statement did not verify (untrusted key, altered, future-dated…).
        case unverified
        /// The findings name no machine id, so they cannot be bound to an inventory host.
        case noMachineID = "no_machine_id"
        /// Signed with the bundler's own key: a bundle's signer vouches for no host.
        case bundlerKey = "bundler_key"
        /// A host that is not in the inventory.
        case unknown
        /// Signed by a trusted key other than the one the inventory binds to the host.
        case wrongKey = "wrong_key"
    }

    public var input: String
    public var kind: Kind
    public var reason: String
    public var machineID: String?
    public var hostname: String?
    public var keyID: String?

    public init(input: String, kind: Kind, reason: String, machineID: String? = nil, hostname: String? = nil, keyID: String? = nil) {
        self.input = input
        self.kind = kind
        self.reason = reason
        self.machineID = machineID
        self.hostname = hostname
        self.keyID = keyID
    }

    public var json: JSON {
        [
            "input": .string(input), "kind": .string(kind.rawValue), "reason": .string(reason),
            "machine_id": machineID.map { .string($0) } ?? .null, "hostname": hostname.map { .string($0) } ?? .null,
            "keyid": keyID.map { .string($0) } ?? .null,
        ]
    }

    /// Reads an entry of `summary.json`'s `rejected[]` back.
    public init(json: JSON, file: String, field: String) throws(WardenError) {
        func optional(_ key: String) throws(WardenError) -> String? {
            switch json[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw WardenError(.malformed, file: file, field: "\(field).\(key)", "expected a string or null")
            }
        }
        guard let input = json["input"]?.stringValue, let reason = json["reason"]?.stringValue,
            let kind = json["kind"]?.stringValue.flatMap(Kind.init(rawValue:))
        else { throw WardenError(.malformed, file: file, field: field, "expected {input, kind, reason, machine_id, hostname, keyid}") }
        self.init(
            input: input, kind: kind, reason: reason, machineID: try optional("machine_id"), hostname: try optional("hostname"),
            keyID: try optional("keyid"))
    }
}

/// An older (or identical) envelope of a host that a newer one replaced in the bundle.
public struct Superseded: Sendable, Hashable {
    public var input: String
    public var machineID: String
    public var finishedAt: String
    public var sha256: String

    public init(input: String, machineID: String, finishedAt: String, sha256: String) {
        self.input = input
        self.machineID = machineID
        self.finishedAt = finishedAt
        self.sha256 = sha256
    }

    public var json: JSON {
        ["input": .string(input), "machine_id": .string(machineID), "finished_at": .string(finishedAt), "sha256": .string(sha256)]
    }

    public init(json: JSON, file: String, field: String) throws(WardenError) {
        guard let input = json["input"]?.stringValue, let machineID = json["machine_id"]?.stringValue,
            let finishedAt = json["finished_at"]?.stringValue, let sha256 = json["sha256"]?.stringValue
        else { throw WardenError(.malformed, file: file, field: field, "expected {input, machine_id, finished_at, sha256}") }
        self.init(input: input, machineID: machineID, finishedAt: finishedAt, sha256: sha256)
    }
}

/// Builds a `FleetSummary` one host at a time. The result does not depend on the order in which
/// hosts are added.
public struct FleetSummaryBuilder: Sendable {
    public let profiles: [ResolvedProfile]
    public let inventory: Inventory?
    public let createdAt: Timestamp
    public let maxAge: Int64
    public let examplesPerControl: Int
    let plan: EvaluationPlan
    private var hosts: [FleetSummary.Host] = []
    private var controls: [FleetSummary.Control]
    private var controlIndex: [String: Int] = [:]
    /// For each profile's control, where its tally is in `controls` (looked up once, not per host).
    private let tallySlots: [[Int?]]

    public init(profiles: [ResolvedProfile], inventory: Inventory?, createdAt: Timestamp, maxAge: Int64, examplesPerControl: Int = 3) {
        self.profiles = profiles
        self.inventory = inventory
        self.createdAt = createdAt
        self.maxAge = maxAge
        self.examplesPerControl = examplesPerControl
        plan = EvaluationPlan(profiles)
        var definitions: [String: ControlDefinition] = [:]
        for p in profiles { for c in p.controls { definitions[c.definition.id] = c.definition } }
        let ordered = definitions.values.sorted { ($0.area, $0.id) < ($1.area, $1.id) }
        controls = ordered.map { d in
            FleetSummary.Control(
                id: d.id, title: d.title, area: d.area, severity: d.severity, remediation: d.remediation, references: d.references,
                tallies: profiles.map { p in p.controls.first { $0.definition.id == d.id }.map { FleetSummary.Tally(advisory: $0.advisory) }
                })
        }
        for (i, c) in controls.enumerated() { controlIndex[c.id] = i }
        let index = controlIndex
        tallySlots = profiles.indices.map { p in profiles[p].controls.map { index[$0.definition.id] } }
    }

    public var count: Int { hosts.count }

    /// One host's contribution to the summary, evaluated on its own so that hosts can be
    /// evaluated in parallel and added afterwards (in any order: the summary is the same).
    public struct HostRecord: Sendable {
        struct ControlStatus: Sendable {
            var control: Int
            var status: Status
        }

        /// A finding that keeps the host from conforming, with its evidence.
        struct Shown: Sendable {
            var profile: Int
            var control: Int
            var example: FleetSummary.Example
        }

        var host: FleetSummary.Host
        /// One list per profile: the statuses of the controls the summary tallies.
        var outcomes: [[ControlStatus]]
        /// Apart from the statuses, so that a record without examples (what a bundle keeps for
        /// each of thousands of hosts until it has read them all) holds a few bytes per control.
        var examples: [Shown] = []

        public var machineID: String { host.machineID }
        public var keyID: String { host.keyID }
    }

    /// Re-evaluates one host's facts against every profile (waivers judged at `createdAt`).
    /// `findings.machineID` must be set. Reads only what the builder was made with. Without
    /// `examples`, the record is small (statuses only): the examples can be supplied afterwards
    /// for the few hosts that `hostsNeedingExamples()` names.
    public func evaluate(_ findings: ParsedFindings, keyID: String, file: String, examples: Bool = true) -> HostRecord {
        let machineID = findings.machineID ?? ""
        let registered = inventory?[machineID: machineID]
        let name = registered?.name ?? findings.hostname
        var results: [FleetSummary.ProfileVerdict] = []
        var outcomes: [[HostRecord.ControlStatus]] = []
        var shown: [HostRecord.Shown] = []
        // Statuses for every control; evidence and summaries only for the examples.
        let evaluator = Evaluator.Host(facts: findings.facts, now: createdAt)
        for (p, statuses) in plan.statuses(evaluator).enumerated() {
            let selected = profiles[p].controls
            var notPassed: [String: Status] = [:]
            var tallied: [HostRecord.ControlStatus] = []
            tallied.reserveCapacity(statuses.count)
            var verdict = Verdict.conformant
            for (i, status) in statuses.enumerated() {
                if status != .pass { notPassed[selected[i].definition.id] = status }
                verdict = verdict.adding(status, advisory: selected[i].advisory)
                guard let c = tallySlots[p][i] else { continue }
                if examples, Verdict.blocks(status, advisory: selected[i].advisory) {
                    let detailed = evaluator.evaluate(selected[i])
                    let failing = detailed.evidence.filter { $0.ok == false }
                    let example = FleetSummary.Example(
                        machineID: machineID, name: name, status: detailed.status, summary: detailed.summary,
                        evidence: Array((failing.isEmpty ? detailed.evidence : failing).prefix(3)))
                    shown.append(HostRecord.Shown(profile: p, control: c, example: example))
                }
                tallied.append(HostRecord.ControlStatus(control: c, status: status))
            }
            results.append(FleetSummary.ProfileVerdict(verdict: verdict, notPassed: notPassed))
            outcomes.append(tallied)
        }
        let host = FleetSummary.Host(
            machineID: machineID, name: name, hostname: findings.hostname, role: registered?.role.rawValue, keyID: keyID, file: file,
            auditedProfile: findings.profileID, finishedAt: findings.finishedAt,
            stale: createdAt.seconds - findings.finishedAt.seconds > maxAge, results: results)
        return HostRecord(host: host, outcomes: outcomes, examples: shown)
    }

    /// Re-evaluates one host's facts against every profile and keeps the compact record.
    public mutating func add(_ findings: ParsedFindings, keyID: String, file: String) {
        add(evaluate(findings, keyID: keyID, file: file))
    }

    /// Keeps a host's record: its statuses other than `pass`, the tallies, and the first few
    /// examples per control (by machine id).
    public mutating func add(_ record: HostRecord) {
        for (p, tallied) in record.outcomes.enumerated() {
            for outcome in tallied {
                // Mutated in place (optional chaining), so that no tally is copied per host.
                controls[outcome.control].tallies[p]?.counts[outcome.status, default: 0] += 1
            }
        }
        addExamples(record)
        hosts.append(record.host)
    }

    /// The hosts whose examples the summary shows: per profile and control, the first
    /// `examplesPerControl` hosts (by machine id) where the control keeps the host from conforming.
    public func hostsNeedingExamples() -> Set<String> {
        // One pass over the hosts in machine id order, filling each (profile, control) list.
        var wanted: [[String: Int]] = profiles.indices.map { p in
            Dictionary(
                uniqueKeysWithValues: controls.compactMap { c in
                    c.tallies[p].flatMap { !$0.advisory && $0.hostsBlocking > 0 ? (c.id, examplesPerControl) : nil }
                })
        }
        var needed: Set<String> = []
        for host in hosts.sorted(by: { $0.machineID < $1.machineID }) {
            for p in profiles.indices {
                for (control, status) in host.results[p].notPassed where status.blocksConformance {
                    guard let left = wanted[p][control], left > 0 else { continue }
                    wanted[p][control] = left - 1
                    needed.insert(host.machineID)
                }
            }
        }
        return needed
    }

    /// Takes only the examples of a record whose host was already added without them.
    public mutating func addExamples(_ record: HostRecord) {
        for shown in record.examples {
            controls[shown.control].tallies[shown.profile]?.keep(shown.example, limit: examplesPerControl)
        }
    }

    public func finish(rejected: [Rejection], superseded: [Superseded]) -> FleetSummary {
        let sorted = hosts.sorted { $0.machineID < $1.machineID }
        let present = Set(sorted.map(\.machineID))
        return FleetSummary(
            createdAt: createdAt, maxAge: maxAge, inventory: inventory, profiles: profiles.map(FleetSummary.Profile.init),
            controls: controls, hosts: sorted, missing: inventory?.hosts.filter { !present.contains($0.machineID) } ?? [],
            rejected: rejected, superseded: superseded)
    }
}
