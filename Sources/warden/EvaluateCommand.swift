import ArgumentParser
import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import Reports
import WardenCore
import WardenFormats
import WardenProfiles

/// Loads the catalog and resolves a profile (shared by the commands that evaluate): from the
/// built-in set, or the set `--profiles` (else `WARDEN_PROFILES`) names, which is then said on
/// standard error as well as recorded in the findings.
func loadProfile(_ name: String, set: String?) throws(WardenError) -> (catalog: Catalog, profile: ResolvedProfile) {
    let store = try ProfileStore.selected(set)
    if store.directory != nil { printError("warden: profiles from \(store.name), not the built-in set") }
    let (catalog, profiles) = try store.load([name], facts: ProbeRegistry.factTypes)
    return (catalog, profiles[0])
}

/// An audit's profile, loaded while the host is read (`Collector.collect`'s `alongside`).
///
/// Only a built-in profile id waits for the host to be read: decoding the embedded YAML is about
/// a fifth of a small audit's time (docs/PERFORMANCE.md), and the built-in set always loads (the
/// tests load it), so only an unknown id can fail, and that is checked here, before the host is
/// read. Anything else (a profile file, another set, an unknown id) is loaded at once, and `init`
/// throws its mistakes before a read of the host that may take minutes.
final class ProfileLoad: @unchecked Sendable {
    // `@unchecked`: `loaded` is written once, by `load()` inside `concurrentPerform`, and read
    // only after it has returned.
    private var loaded: Result<(catalog: Catalog, profile: ResolvedProfile), WardenError>?
    private let name: String
    private let set: String?

    init(_ name: String, set: String?) throws(WardenError) {
        self.name = name
        self.set = set
        let builtIn = (try? ProfileStore.selected(set))?.directory == nil && ProfileStore.builtIn.profileIDs.contains(name)
        if !builtIn { _ = try result() }
    }

    /// Loads the profile, unless `init` already has.
    func load() {
        if loaded == nil { loaded = Result { () throws(WardenError) in try loadProfile(name, set: set) } }
    }

    /// The catalog and the resolved profile (loading them now if nothing has yet).
    func result() throws(WardenError) -> (catalog: Catalog, profile: ResolvedProfile) {
        load()
        return try loaded!.get()
    }
}

/// `--profiles`, for the commands that evaluate.
let profileSetHelp = ArgumentHelp(
    "Another profile set: a directory of controls/*.yaml and profile files (default: the set built into warden, or WARDEN_PROFILES).",
    valueName: "dir")

/// Prints a findings document on standard output in the chosen format. `reveal` maps canary
/// digests back to their paths in text printed to a terminal, and nowhere else: a file or a pipe
/// gets the digests, as the signed findings have them.
func emit(_ doc: FindingsDocument, as format: Audit.Format, json: [UInt8]? = nil, reveal: CanaryRedaction? = nil) {
    if format == .text, isatty(1) == 1 {
        let text = TextReport.render(doc, color: true)
        writeStdout(reveal?.reveal(text) ?? text)
    } else {
        writeStdout(rendered(doc, as: format, json: json))
    }
}

/// A findings document in `format` as a file or a pipe gets it (text without colour, canaries as
/// their digests).
func rendered(_ doc: FindingsDocument, as format: Audit.Format, json: [UInt8]? = nil) -> [UInt8] {
    switch format {
    case .json: json ?? doc.json.prettySerialized()
    case .text: Array(TextReport.render(doc, color: false).utf8)
    case .junit: Array(JUnitReport.render(doc).utf8)
    case .sarif: SARIFReport.render(doc).prettySerialized()
    }
}

/// Opens `--root`: a missing directory is exit 66, anything else 74.
func openRoot(_ path: String) throws(WardenError) -> HostRoot {
    do {
        return try HostRoot(path)
    } catch {
        throw WardenError(error.isNotFound ? .missing : .io, file: path, field: "--root", error.message)
    }
}

/// Reads `--site` when given.
func loadSite(_ path: String?) throws(WardenError) -> Site? {
    guard let path else { return nil }
    return try Site.parse(try LocalFile.readText(path), file: path, digester: .libcrypto)
}

/// The redaction of the site's canaries under the state directory's canary key (made on first
/// need, `--state-dir` honoured), or nil when the site lists none: every audit with canaries,
/// live or offline, signed or not, uses the host's one key, so a canary always has the same
/// digest on a host. `locked`: whether the state directory's lock was taken to make the key.
func canaryRedaction(_ site: Site?, stateDir: String?, lockTimeout: Int) throws(WardenError) -> (
    redaction: CanaryRedaction, locked: Bool
)? {
    guard let site, !site.canary.isEmpty else { return nil }
    let state = try StateDirectory.path(stateDir)
    let (key, locked) = try StateDirectory.canaryKey(in: state, lockTimeout: lockTimeout)
    return (try CanaryRedaction(canaries: site.canary, key: key), locked)
}

/// Reads a root (the same collection an audit does, canaries redacted) for commands that
/// evaluate facts directly.
func collectFindings(root: String, site: String?, profiles: String?, stateDir: String?) throws -> ParsedFindings {
    let siteFile = try loadSite(site)
    let hostRoot = try openRoot(root)
    let now = try currentTime(nil)
    let canaries = try canaryRedaction(siteFile, stateDir: stateDir, lockTimeout: 60)
    let facts = Collector.collect(root: hostRoot, site: siteFile, redaction: canaries?.redaction)
    let host: JSON = {
        if case .value(let h)? = facts["host"] { return h }
        return .null
    }()
    // Evaluated against sl3 only to have a findings document to start from; gap re-evaluates.
    let doc = FindingsDocument(
        host: host, root: hostRoot.path, profile: try loadProfile("sl3", set: profiles).profile, toolVersion: Warden.version,
        startedAt: now, finishedAt: now, findings: [], facts: facts)
    return try ParsedFindings(json: doc.json, file: root)
}

/// Re-evaluates the facts inside findings against a profile, as an audit with that profile would.
func reevaluate(_ input: ParsedFindings, profile: ResolvedProfile, now: Timestamp) -> FindingsDocument {
    let findings = Evaluator.evaluate(profile, facts: input.facts, now: now)
    return FindingsDocument(
        host: input.host, root: input.root, profile: profile, toolVersion: Warden.version,
        startedAt: input.startedAt, finishedAt: input.finishedAt, findings: findings, facts: input.facts)
}

/// text or json: the outputs of the commands that read findings and have no JUnit or SARIF form
/// (a gap, a comparison or a history is not a test run or a list of code-scanning results).
enum ReadFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
    static var allValueStrings: [String] { allCases.map(\.rawValue) }
    var defaultValueDescription: String { rawValue }
}

/// A JSON output, with `unverified` when the input was read with `--unverified` (also said on
/// standard error, since JSON members have no order a reader sees first).
func writeJSON(_ value: JSON, unverified banner: String?) {
    var value = value
    if let banner {
        printError("warden: \(banner)")
        if case .object(var o) = value {
            o["unverified"] = .string(banner)
            value = .object(o)
        }
    }
    writeStdout(value.prettySerialized())
}

/// A text output, opened by the UNVERIFIED line when there is one.
func writeText(_ text: String, unverified banner: String?) {
    writeStdout(banner.map { $0 + "\n\n" + text } ?? text)
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Re-evaluate the facts inside a findings document against a profile, without touching the host.",
        discussion: """
            The findings are verified first (--trust, or this host's own key; see 'warden verify'). Exit codes \
            as for audit: 0 conformant, 1 a verdict control fails, 2 incomplete; 64 input that nothing \
            verifies (without --unverified), 65 malformed input or a failed verification, 66 missing.
            """
    )

    @Argument(help: "A signed findings envelope (or, with --unverified, a findings document).")
    var findings: String

    @Option(help: "A built-in profile id or a profile file.")
    var profile: String

    @Option(help: profileSetHelp)
    var profiles: String?

    @Option(help: "What to print: text, json, junit or sarif (text or json with --unverified).")
    var format: Audit.Format = .text

    @Option(
        help:
            "Evaluate waivers, and judge the findings' freshness, as of this RFC 3339 time (default: waivers as of when the findings were made, freshness now)."
    )
    var now: String?

    @Option(help: "Reject findings finished longer ago than this (e.g. 7d, 36h), as 'warden verify --max-age' does.")
    var maxAge: String?

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try exiting {
            if trust.unverified && (format == .junit || format == .sarif) {
                throw WardenError(.usage, field: "--format", "with --unverified the output is text or json, which say UNVERIFIED")
            }
            let input = try FindingsInput.load(findings, trust: trust, now: try currentTime(now), maxAge: try maxAge.map(parseMaxAge))
            let resolved = try loadProfile(profile, set: profiles).profile
            let at = try now.map { try currentTime($0) } ?? input.findings.finishedAt
            let doc = reevaluate(input.findings, profile: resolved, now: at)
            let banner = unverifiedBanner(input.unverifiedReason.map { [$0] } ?? [])
            switch format {
            case .json: writeJSON(doc.json, unverified: banner)
            case .text: writeText(TextReport.render(doc, color: isatty(1) == 1), unverified: banner)
            case .junit, .sarif: emit(doc, as: format)
            }
            return doc.summary.verdict.exitCode
        }
    }
}

struct Gap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gap",
        abstract: "What a host lacks to reach a profile, from the facts in its findings.",
        discussion: """
            Findings are verified first (--trust, or this host's own key); --root audits a root instead, \
            and a site file's canaries are then redacted with the state directory's canary key. Exit 0 \
            when the host already conforms to the target, 1 when something is missing, 2 when undecided; \
            64 input that nothing verifies (without --unverified), 65 malformed or failed verification.
            """
    )

    @Argument(help: "Signed findings (or, with --unverified, a findings document); or give --root to audit a root first.")
    var findings: String?

    @Option(help: "Audit this root (/ for this host) instead of reading findings.")
    var root: String?

    @Option(help: "The site file, with --root.")
    var site: String?

    @Option(help: "The target profile (a built-in id or a file).")
    var to: String = "sl4"

    @Option(help: profileSetHelp)
    var profiles: String?

    @Option(help: "What to print: text or json.")
    var format: ReadFormat = .text

    @Option(help: "Reject findings finished longer ago than this (e.g. 7d, 36h), as 'warden verify --max-age' does.")
    var maxAge: String?

    @OptionGroup var trust: TrustOptions

    func run() throws {
        try exiting {
            let input: VerifiedFindings
            switch (findings, root) {
            case (let path?, nil):
                input = try FindingsInput.load(path, trust: trust, now: try currentTime(nil), maxAge: try maxAge.map(parseMaxAge))
            case (nil, let root?):
                input = VerifiedFindings(
                    findings: try collectFindings(root: root, site: site, profiles: profiles, stateDir: trust.stateDir), keyID: nil)
            case (nil, nil):
                throw WardenError(.usage, field: "--root", "give a findings file or --root")
            default:
                throw WardenError(.usage, field: "--root", "give either a findings file or --root, not both")
            }
            let target = try loadProfile(to, set: profiles).profile
            let doc = reevaluate(input.findings, profile: target, now: input.findings.finishedAt)
            let missing = GapAnalysis.missing(doc.findings)
            let banner = unverifiedBanner(input.unverifiedReason.map { [$0] } ?? [])
            switch format {
            case .json:
                writeJSON(
                    JSON.object([
                        "host": input.findings.host, "from": .string(input.findings.profileID), "to": .string(target.id),
                        "conformant": .bool(missing.isEmpty), "missing": .array(missing.map(\.json)),
                    ]), unverified: banner)
            case .text:
                var out = "\(input.findings.hostname): to reach \(target.id) \(target.version)"
                out += missing.isEmpty ? " — nothing is missing.\n" : " — \(missing.count) controls to satisfy:\n"
                var area: Area?
                for f in missing {
                    if f.area != area {
                        out += "\n\(f.area.title)\n"
                        area = f.area
                    }
                    out +=
                        "  \(f.status.rawValue.uppercased()) \(f.control) [\(f.severity.rawValue)] \(f.title)\n      \(f.summary)\n      fix: \(f.remediation)\n"
                }
                writeText(out, unverified: banner)
            }
            return doc.summary.verdict.exitCode
        }
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two findings: the same host over time (drift) or two hosts.",
        discussion: """
            Both findings are verified first (--trust, or this host's own key). What is compared is what \
            'warden evaluate' concludes from each one's facts (against its own profile, or --profile); \
            results as signed that this evaluation changes are listed apart. Exit 1 when B regressed \
            against A (a control that was healthy in A is not in B), else 0; 64 input that nothing \
            verifies (without --unverified), 65 malformed or failed verification.
            """
    )

    @Argument(help: "The earlier run (or the reference host).")
    var a: String

    @Argument(help: "The later run (or the other host).")
    var b: String

    @Option(help: "Evaluate both against this profile (default: each against the built-in profile it was audited with).")
    var profile: String?

    @Option(help: profileSetHelp)
    var profiles: String?

    @Option(help: "What to print: text or json.")
    var format: ReadFormat = .text

    @Option(help: "Reject findings finished longer ago than this (e.g. 7d, 36h), as 'warden verify --max-age' does.")
    var maxAge: String?

    @OptionGroup var trust: TrustOptions

    /// One side: as signed, and as evaluated now.
    struct Side {
        var signed: ParsedFindings
        var evaluated: ParsedFindings
        /// The signed results that the evaluation changes, when both used the same profile.
        var changed: Comparison?
    }

    func side(_ input: ParsedFindings, file: String) throws(WardenError) -> Side {
        let resolved = try loadProfile(profile ?? input.profileID, set: profiles).profile
        let evaluated = try ParsedFindings(json: reevaluate(input, profile: resolved, now: input.finishedAt).json, file: file)
        return Side(signed: input, evaluated: evaluated, changed: resolved.id == input.profileID ? Comparison(input, evaluated) : nil)
    }

    func run() throws {
        try exiting {
            let now = try currentTime(nil)
            let age = try maxAge.map(parseMaxAge)
            let inputs = try FindingsInput.load([a, b], trust: trust, now: now, maxAge: age)
            let first = try side(inputs[0].findings, file: a)
            let second = try side(inputs[1].findings, file: b)
            let comparison = Comparison(first.evaluated, second.evaluated)
            let sameHost = first.signed.machineID != nil && first.signed.machineID == second.signed.machineID
            let banner = unverifiedBanner(inputs.compactMap(\.unverifiedReason))
            switch format {
            case .json:
                var o = comparison.json.objectValue ?? [:]
                o["kind"] = .string(sameHost ? "drift" : "hosts")
                for (key, s) in [("a", first), ("b", second)] {
                    o[key] = [
                        "host": s.signed.host, "profile": .string(s.signed.profileID), "evaluated_against": .string(s.evaluated.profileID),
                        "finished_at": .string(s.signed.finishedAt.description),
                        "changed_from_signed": s.changed.map { .array($0.all.map(\.json)) } ?? .null,
                    ]
                }
                writeJSON(.object(o), unverified: banner)
            case .text:
                var out =
                    sameHost
                    ? "Drift on \(first.signed.hostname): \(first.signed.finishedAt) → \(second.signed.finishedAt)\n"
                    : "\(first.signed.hostname) (A) compared with \(second.signed.hostname) (B)\n"
                if first.evaluated.profileID != second.evaluated.profileID {
                    out += "Note: A is evaluated against \(first.evaluated.profileID), B against \(second.evaluated.profileID).\n"
                }
                for (title, changes) in [
                    ("Regressed", comparison.regressions), ("Improved", comparison.improvements), ("Changed", comparison.other),
                ] where !changes.isEmpty {
                    out += "\n\(title) (\(changes.count))\n"
                    for c in changes { out += describe(c) }
                }
                if comparison.regressions.isEmpty && comparison.improvements.isEmpty && comparison.other.isEmpty {
                    out += "No differences.\n"
                }
                for (name, s) in [("A", first), ("B", second)] {
                    guard let changed = s.changed else {
                        out +=
                            "\n\(name) was signed against \(s.signed.profileID): its signed results are not compared with \(s.evaluated.profileID).\n"
                        continue
                    }
                    guard !changed.all.isEmpty else { continue }
                    out += "\n\(name): signed results that evaluating its facts now changes (\(changed.all.count))\n"
                    for c in changed.all { out += describe(c) }
                }
                writeText(out, unverified: banner)
            }
            return comparison.regressions.isEmpty ? 0 : 1
        }
    }

    func describe(_ c: Comparison.Change) -> String {
        "  \(c.control) \(c.title): \(c.before?.rawValue ?? "absent") → \(c.after?.rawValue ?? "absent")\n      \(c.summary)\n"
    }
}
