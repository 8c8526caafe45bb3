import ArgumentParser
import Evidence
import Glibc
import HostFacts
import OpenSSLSigning
import Reports
import SystemdJournal
import WardenCore
import WardenFormats

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a host (live, or an offline root) against a profile.",
        discussion: """
            Findings are signed by default: a DSSE envelope (in-toto statement, Warden findings \
            predicate). A live audit signs with --key or else with the host key in the state directory \
            (created on first run) and writes the envelope to <state-dir>/findings/latest.dsse.json and \
            to --output. An offline audit (--root other than /) needs --key or --no-sign.

            Canaries (the site file's weights.canary) appear in the findings, and in everything made \
            from them, only as canary: and the HMAC-SHA256 of their path under the canary key in the \
            state directory, which every audit with canaries uses, offline and --no-sign included \
            (created on first need, mode 0600). Only text printed to a terminal shows their paths.

            Exit codes: 0 conformant, 1 a verdict control fails, 2 incomplete (error or not_checked, no \
            failure), 64 usage, 65 malformed profile, site file or key, 66 missing input, 71 the command \
            line could not be read, 74 I/O error (a TPM that cannot be reached included; nothing is left \
            half-written), 75 another run holds the state directory beyond --lock-timeout. Stopped by \
            SIGINT, SIGTERM or SIGHUP, Warden finishes a write under way and ends by that signal.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, junit, sarif
        // The raw values as they are (ArgumentParser's defaults describe each through reflection).
        static var allValueStrings: [String] { allCases.map(\.rawValue) }
        var defaultValueDescription: String { rawValue }
    }

    @Option(help: "The root of the host to audit: / (live) or an offline tree.")
    var root: String = "/"

    @Option(help: "A built-in profile id (sl3, sl4) or a path to a profile file.")
    var profile: String = "sl3"

    @Option(help: profileSetHelp)
    var profiles: String?

    @Option(help: "The site file (weight locations, owners, listeners, waivers).")
    var site: String?

    @Option(help: "What to print on standard output: text, json (the findings document), junit or sarif.")
    var format: Format = .text

    @Option(help: "Also write the signed envelope (with --no-sign: the findings document) to this path.")
    var output: String?

    @Option(help: "Also write a Prometheus textfile (for node_exporter's textfile collector) to this path.")
    var metrics: String?

    @Option(
        name: .customLong("report"),
        help: ArgumentHelp(
            "Also write the findings as FORMAT to PATH: json, junit, sarif or text; repeatable (--report sarif=warden.sarif --report junit=warden.xml).",
            valueName: "format=path"))
    var reports: [String] = []

    /// `--report` parsed: each format with its path (a usage error names the one at fault).
    func reportTargets() throws(WardenError) -> [(format: Format, path: String)] {
        var targets: [(format: Format, path: String)] = []
        for value in reports {
            guard let eq = value.firstIndex(of: "="), let format = Format(rawValue: String(value[..<eq])),
                !value[value.index(after: eq)...].isEmpty
            else {
                throw WardenError(
                    .usage, field: "--report", "expected FORMAT=PATH with FORMAT one of json, junit, sarif, text; found '\(value)'")
            }
            let path = String(value[value.index(after: eq)...])
            guard !targets.contains(where: { $0.path == path }), path != output, path != metrics else {
                throw WardenError(.usage, field: "--report", "\(path) is named twice")
            }
            targets.append((format, path))
        }
        return targets
    }

    @Option(help: "Sign with this key: a PEM private key file (mode 0600), a TPM TSS2 PEM, or handle:0x8100000N (tpm2 provider).")
    var key: String?

    @Flag(help: "Do not sign the findings.")
    var noSign = false

    @Option(help: "How many signed live audits to keep in the state directory's history.")
    var keepHistory: Int = History.defaultKeep

    @Option(
        help:
            "Where the host key, the canary key and the latest envelope live (default /var/lib/warden as root, else ~/.local/state/warden)."
    )
    var stateDir: String?

    @Option(help: ArgumentHelp("Evaluate as of this RFC 3339 time (for reproducible runs).", visibility: .hidden))
    var now: String?

    @Option(help: "How many seconds to wait for another run that holds the state directory before exiting with 75.")
    var lockTimeout: Int = 60

    func run() throws {
        try exiting {
            let clock = ContinuousClock.now
            Interruption.stage("loading the profile and the site file")
            // A bad profile is reported before a bad site or root (ProfileLoad's init).
            let reportTargets = try reportTargets()
            let profileLoad = try ProfileLoad(profile, set: profiles)
            let siteFile = try loadSite(site)
            let hostRoot = try openRoot(root)
            // A command line that cannot sign is refused before the canary key is made.
            try checkSigningOptions(live: hostRoot.mode == .live)
            Interruption.stage("reading the canary key")
            let canaries = try canaryRedaction(siteFile, stateDir: stateDir, lockTimeout: lockTimeout)
            let live = hostRoot.mode == .live
            let started = try currentTime(now)
            Interruption.stage("reading the host")
            Interruption.checkpoint("audit.reading")
            let facts = Collector.collect(root: hostRoot, site: siteFile, redaction: canaries?.redaction, alongside: profileLoad.load)
            let (catalog, resolved) = try profileLoad.result()
            if let siteFile, let site {
                for w in siteFile.waivers where catalog.controls[w.control] == nil {
                    throw WardenError(.malformed, file: site, line: w.line, field: "waivers.control", "unknown control '\(w.control)'")
                }
            }
            // A run that will write into the state directory holds its lock from before the host
            // key is read or made until it ends, so that two runs never interleave there.
            let state: String? = live && !noSign ? try StateDirectory.path(stateDir) : nil
            if let state, canaries?.locked != true {
                Interruption.stage("waiting for the state directory's lock")
                try StateDirectory.create(state)
                try StateLock.acquire(state, timeout: lockTimeout)
            }
            let signer = try signingKey(live: live)
            Interruption.stage("evaluating")
            let findings = Evaluator.evaluate(resolved, facts: facts, now: started)
            let finished = now == nil ? try currentTime(nil) : started
            let host: JSON = {
                if case .value(let h)? = facts["host"] { return h }
                return .null
            }()
            let doc = FindingsDocument(
                host: host, root: hostRoot.path, profile: resolved, toolVersion: Warden.version,
                startedAt: started, finishedAt: finished, findings: findings, facts: facts)
            // The findings document as JSON, to sign, print or write (a text audit without a
            // signature needs none of it); its plain bytes only to print it or to write it unsigned.
            // `.none`, not `nil`: JSON takes a nil literal as `.null`.
            let predicate: JSON? = signer != nil || format == .json || output != nil ? doc.json : .none
            let bytes =
                format == .json || (signer == nil && output != nil) || reportTargets.contains(where: { $0.format == .json })
                ? (predicate ?? doc.json).prettySerialized() : nil
            Interruption.stage("signing")
            Interruption.checkpoint("audit.signing")
            let envelope: [UInt8]? =
                if let signer, let predicate {
                    try keyOperation("signing") { () throws(OpenSSLError) in
                        try FindingsStatement.envelope(findings: predicate, key: signer.key)
                    }.encoded()
                } else { nil }
            // Every file of the run is written first beside its target, then all are put in
            // place together: a failure or a signal leaves the previous files as they were.
            let written = try Interruption.critical { () throws(WardenError) -> [String] in
                Interruption.stage("writing the findings")
                var files = FileCommit()
                if let state, let envelope {
                    try StateDirectory.create(state + "/findings")
                    StateDirectory.removeTemporaryFiles(state)
                    try files.add(envelope, to: state + "/" + StateDirectory.latestFindings)
                    try files.add(envelope, to: try History.nextPath(finishedAt: finished, state: state), mode: 0o600)
                }
                if let output, let content = envelope ?? bytes {
                    try files.add(content, to: output)
                }
                for target in reportTargets {
                    try files.add(rendered(doc, as: target.format, json: bytes), to: target.path)
                }
                if let metrics {
                    let elapsed = ContinuousClock.now - clock
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    try files.add(Array(PrometheusReport.render(doc, durationSeconds: seconds).utf8), to: metrics)
                }
                Interruption.checkpoint("audit.writing")
                let paths = files.paths
                try files.commit()
                if let state { try History.rotate(state: state, keep: keepHistory) }
                return paths
            }
            if let signer {
                let signedFiles = written.filter { $0 != metrics }
                printError(
                    "warden: findings signed with \(signer.key.algorithm.rawValue) key \(signer.key.keyID) (\(signer.source)): \(signedFiles.joined(separator: ", "))"
                )
            }
            logToJournal(doc, envelope: state != nil ? written.first : nil)
            emit(doc, as: format, json: bytes, reveal: canaries?.redaction)
            return doc.summary.verdict.exitCode
        }
    }

    /// The journal entry every audit leaves (docs/ARCHITECTURE.md; `journalctl MESSAGE_ID=…` finds them).
    static let journalMessageID = "3f6c1a2e9b8d4e57a0c4d2b1e8f7a695"

    func logToJournal(_ doc: FindingsDocument, envelope: String?) {
        let s = doc.summary
        var fields: [(name: String, value: String)] = [
            ("MESSAGE_ID", Audit.journalMessageID),
            (
                "MESSAGE",
                "warden audit \(doc.profile.id) of \(doc.root): \(s.verdict.rawValue) (\(s.counts[.fail] ?? 0) fail, \(s.counts[.error] ?? 0) error, \(s.counts[.notChecked] ?? 0) not checked, \(s.counts[.pass] ?? 0) pass)"
            ),
            ("PRIORITY", s.verdict == .conformant ? "6" : "4"),
            ("SYSLOG_IDENTIFIER", "warden"),
            ("WARDEN_PROFILE", doc.profile.id),
            ("WARDEN_VERDICT", s.verdict.rawValue),
            ("WARDEN_MODE", doc.facts.mode.rawValue),
            ("WARDEN_ROOT", doc.root),
            ("WARDEN_ENVELOPE", envelope ?? ""),
        ]
        for status in Status.allCases {
            fields.append(("WARDEN_\(status.rawValue.uppercased())", String(s.counts[status] ?? 0)))
        }
        do {
            if try JournalWriter.send(fields) == .notRunning {
                printError("warden: journald is not running (no \(JournalWriter.socketPath)): no journal entry was written")
            }
        } catch {
            printError("warden: no journal entry was written: \(error)")
        }
    }

    /// The combinations of --key, --no-sign and --output that cannot sign (exit 64).
    func checkSigningOptions(live: Bool) throws(WardenError) {
        if noSign {
            guard key == nil else { throw WardenError(.usage, field: "--no-sign", "--key and --no-sign exclude each other") }
        } else if key != nil {
            guard live || output != nil else {
                throw WardenError(
                    .usage, field: "--output",
                    "an offline audit writes no findings into the state directory: give --output PATH for the signed envelope")
            }
        } else if !live {
            throw WardenError(
                .usage, field: "--key",
                "an offline audit (--root \(root)) is never signed with this host's key: pass --key PATH (the auditor's key) or --no-sign")
        }
    }

    /// The key to sign with, or nil with --no-sign (the host key made here on a live audit's
    /// first run, under the state directory's lock).
    func signingKey(live: Bool) throws(WardenError) -> (key: PrivateKey, source: String)? {
        try checkSigningOptions(live: live)
        if noSign { return nil }
        if let key { return (try loadKey(key), key) }
        let state = try StateDirectory.path(stateDir)
        let (hostKey, created) = try Interruption.critical { () throws(WardenError) in try StateDirectory.hostKey(in: state) }
        let path = state + "/" + StateDirectory.hostKeyName
        if created {
            printError(
                "warden: created host key \(path) (\(hostKey.algorithm.rawValue), keyid \(hostKey.keyID)); 'warden key show' prints its public key for the inventory"
            )
        }
        return (hostKey, "host key \(path)")
    }
}
