import ArgumentParser
import WardenCore
import WardenFormats

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "The trend of this host's past audits, per control (from the envelopes in the state directory).",
        discussion: """
            Each envelope is verified first, against the state directory's host key (or --trust, for \
            audits signed with --key). Exit 0, 64 an envelope nothing verifies (without --unverified), \
            65 one that fails verification.
            """
    )

    @Option(help: "Show every run of one control, with its summary.")
    var control: String?

    @Option(help: "How many of the latest runs to show.")
    var last: Int = 10

    @Option(help: "What to print: text or json.")
    var format: ReadFormat = .text

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try exiting {
            guard last > 0 else { throw WardenError(.usage, field: "--last", "must be at least 1") }
            let state = try StateDirectory.path(trust.stateDir)
            let now = try currentTime(nil)
            let inputs = try FindingsInput.load(Array(History.files(state).suffix(last)), trust: trust, now: now)
            let runs = inputs.map(\.findings)
            let banner = unverifiedBanner(inputs.compactMap(\.unverifiedReason))
            guard !runs.isEmpty else {
                writeStdout("no audits in \(state)/\(History.directory) yet (live audits record their signed findings there)\n")
                return 0
            }
            var controls: [String: String] = [:]
            for run in runs { for r in run.results { controls[r.control] = r.title } }
            let ids = control.map { [$0] } ?? controls.keys.sorted()
            if let control, controls[control] == nil {
                throw WardenError(.usage, field: "--control", "no audit in the history has \(control)")
            }
            func status(_ run: ParsedFindings, _ id: String) -> ParsedFindings.ControlResult? { run.results.first { $0.control == id } }
            switch format {
            case .json:
                let list: [JSON] = runs.map { run in
                    [
                        "finished_at": .string(run.finishedAt.description), "profile": .string(run.profileID),
                        "conformant": .bool(run.conformant),
                        "statuses": .object(
                            Dictionary(
                                uniqueKeysWithValues: ids.compactMap { id in status(run, id).map { (id, JSON.string($0.status.rawValue)) } }
                            )),
                    ]
                }
                writeJSON(JSON.object(["runs": .array(list)]), unverified: banner)
            case .text:
                var out = "\(runs.count) audits of \(runs.last!.hostname), \(runs.first!.finishedAt) → \(runs.last!.finishedAt)\n"
                out += "verdict: " + runs.map { $0.conformant ? "✓" : "✗" }.joined(separator: " ") + "\n\n"
                if let control {
                    for run in runs {
                        let r = status(run, control)
                        out += "\(run.finishedAt) \(run.profileID) \(r?.status.rawValue ?? "absent"): \(r?.summary ?? "")\n"
                    }
                } else {
                    let mark: [Status: String] = [
                        .pass: "·", .fail: "F", .error: "E", .notChecked: "?", .notApplicable: "-", .waived: "W", .manual: "M",
                    ]
                    for id in ids {
                        let trend = runs.map { run in status(run, id).map { mark[$0.status] ?? "?" } ?? " " }.joined()
                        let changed = Set(runs.compactMap { status($0, id)?.status }).count > 1 ? "  (changed)" : ""
                        out += "\(id) \(trend)  \(controls[id] ?? "")\(changed)\n"
                    }
                    out += "\n· pass  F fail  E error  ? not_checked  - not_applicable  W waived  M manual\n"
                }
                writeText(out, unverified: banner)
            }
            return 0
        }
    }
}
