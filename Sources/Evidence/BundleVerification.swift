internal import OpenSSLSigning
public import WardenCore
public import WardenFormats

/// One reason a bundle is not acceptable: the file inside the bundle (or the reviewer's own input)
/// at fault, the field when there is one, and why.
public struct BundleFailure: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var field: String?
    public var reason: String

    public init(_ file: String, _ field: String?, _ reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String { field.map { "\(file): \($0): \(reason)" } ?? "\(file): \(reason)" }
}

/// The outcome of checking a bundle. Never thrown: a tampered or expired bundle is a result.
public struct BundleVerification: Sendable {
    public var failures: [BundleFailure] = []
    /// What was not checked, and why (no inventory to bind keys to, another generator's reports).
    public var notes: [String] = []
    /// The summary recomputed from the verified envelopes, when every host envelope verified.
    public var summary: FleetSummary?
    /// The manifest's `id`, recomputed and matched, when the summary is.
    public var id: String?
    /// Every host's verified findings, in file order, when the verifier keeps them and the
    /// summary was recomputed (for reports that show each host's evidence, such as OSCAL).
    public var findings: [ParsedFindings] = []
    /// The keyid of the trusted key that signed the manifest.
    public var signer: String?
    public var createdAt: Timestamp?
    public var validUntil: Timestamp?

    public var isValid: Bool { failures.isEmpty }
}

/// The verification rules of docs/FORMATS.md, applied to a bundle directory: files, digests, the
/// manifest's signature and signer, every host envelope and its binding, the recomputed
/// `hosts[]`, `summary.json` and reports, and the validity period at `now`.
public struct BundleVerifier {
    public var trusted: TrustedKeys
    public var now: Timestamp
    /// A shorter validity than the bundle's own `max_age`, in seconds.
    public var maxAge: Int64?
    /// The reviewer's inventory; takes precedence over the bundle's for key bindings.
    public var inventory: Inventory?
    /// The bytes it was read from: a bundle carrying the same file is not parsed again.
    public var inventoryBytes: [UInt8]?
    public var profiles: [ResolvedProfile]
    public var generatorVersion: String
    public var documents: BundleDocuments
    public var clockSkew: Int64 = 300
    /// Keep every verified host's findings in the result (memory grows with the fleet).
    public var keepsFindings = false

    public init(
        trusted: TrustedKeys, now: Timestamp, maxAge: Int64?, inventory: Inventory?, profiles: [ResolvedProfile],
        generatorVersion: String, documents: BundleDocuments
    ) {
        self.trusted = trusted
        self.now = now
        self.maxAge = maxAge
        self.inventory = inventory
        self.profiles = profiles
        self.generatorVersion = generatorVersion
        self.documents = documents
    }

    /// Whether `path` is a directory that looks like a bundle (it holds either manifest file).
    public static func isBundle(_ path: String) -> Bool {
        BundleFiles.kind(path) == .directory
            && [BundleLayout.manifest, BundleLayout.manifestEnvelope].contains { BundleFiles.kind(path + "/" + $0) != nil }
    }

    /// Throws only when `dir` is not there (`.missing`) or is not a bundle at all (`.malformed`).
    public func verify(_ dir: String) throws(WardenError) -> BundleVerification {
        guard let kind = BundleFiles.kind(dir) else { throw WardenError(.missing, file: dir, "No such file or directory") }
        guard kind == .directory, BundleVerifier.isBundle(dir) else {
            throw WardenError(.malformed, file: dir, "not a bundle: a bundle is a directory holding manifest.json and manifest.dsse.json")
        }
        var check = Check(verifier: self, dir: dir)
        check.run()
        return check.result
    }
}

/// One run of the rules over one bundle, collecting failures as it goes.
private struct Check {
    let verifier: BundleVerifier
    let dir: String
    var result = BundleVerification()
    var onDisk: Set<String> = []
    var listed: [String: BundleFile] = [:]
    /// Listed files whose size and digest match the manifest.
    var intact: Set<String> = []
    /// The keyid manifest.dsse.json names, trusted or not: its key belongs in `keys/` either way.
    var namedSigner: String?

    init(verifier: BundleVerifier, dir: String) {
        self.verifier = verifier
        self.dir = dir
    }

    mutating func fail(_ file: String, _ field: String?, _ reason: String) {
        result.failures.append(BundleFailure(file, field, reason))
    }

    mutating func read(_ path: String) -> [UInt8]? {
        do {
            return try BundleFiles.read(dir + "/" + path, limit: BundleLayout.fileLimit)
        } catch {
            fail(path, nil, error.message)
            return nil
        }
    }

    /// Takes a listed file's read (made on any core) in: its failures and whether it is intact.
    mutating func take(_ read: ListedRead) -> [UInt8]? {
        result.failures += read.failures
        if read.intact { intact.insert(read.path) }
        return read.bytes
    }

    mutating func run() {
        // The files: regular files only, no links, nothing nested absurdly deep.
        for entry in BundleFiles.walk(dir) {
            switch entry.kind {
            case .file: onDisk.insert(entry.path)
            case .symlink: fail(entry.path, nil, "a symbolic link: a bundle holds regular files only")
            case .directory, .other: fail(entry.path, nil, "not a regular file")
            }
        }

        // The manifest and its signature.
        guard onDisk.contains(BundleLayout.manifest), let manifestBytes = read(BundleLayout.manifest) else {
            if !onDisk.contains(BundleLayout.manifest) { fail(BundleLayout.manifest, nil, "missing: the bundle has no manifest") }
            return
        }
        if !onDisk.contains(BundleLayout.manifestEnvelope) {
            fail(BundleLayout.manifestEnvelope, nil, "missing: the manifest is not signed")
        } else if let bytes = read(BundleLayout.manifestEnvelope) {
            checkManifestSignature(bytes, manifest: manifestBytes)
        }
        let manifest: JSON
        do {
            manifest = try JSON.parse(manifestBytes)
        } catch {
            fail(BundleLayout.manifest, nil, "not JSON: \(error)")
            return
        }
        guard let header = parseHeader(manifest) else { return }
        result.createdAt = header.createdAt
        checkValidity(createdAt: header.createdAt, maxAge: header.maxAge)
        guard let files = parseFiles(manifest) else { return }
        for file in files { listed[file.path] = file }

        // Nothing added, nothing missing.
        let expected = Set(listed.keys).union([BundleLayout.manifest, BundleLayout.manifestEnvelope])
        for path in onDisk.subtracting(expected).sorted() {
            fail(path, nil, "not listed in manifest.json: a file was added to the bundle")
        }
        for path in Set(listed.keys).subtracting(onDisk).sorted() where BundleFiles.kind(dir + "/" + path) == nil {
            fail(path, nil, "listed in manifest.json but missing from the bundle")
        }

        // Everything but the host envelopes (whose bytes are streamed below), read on every core
        // (a fleet's bundle lists a key file per host) and taken in path order.
        var small: [String: [UInt8]] = [:]
        let smallFiles = listed.keys.sorted().filter { !$0.hasPrefix("findings/") && onDisk.contains($0) }.compactMap { listed[$0] }
        for read in Parallel.map(smallFiles.count, { [dir] i in ListedRead(dir: dir, entry: smallFiles[i]) }) {
            if let bytes = take(read) { small[read.path] = bytes }
        }

        // The inventory: the bundle's own (what its summary was computed against), and the one
        // key bindings are judged by (the reviewer's, when given).
        var bundleInventory: Inventory?
        if let bytes = small[BundleLayout.inventory], let reviewer = verifier.inventory, bytes == verifier.inventoryBytes {
            bundleInventory = reviewer
            bundleInventory?.file = BundleLayout.inventory
        } else if let bytes = small[BundleLayout.inventory] {
            do throws(WardenError) {
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw WardenError(.malformed, file: BundleLayout.inventory, "not UTF-8 text")
                }
                bundleInventory = try Inventory.parse(text, file: BundleLayout.inventory, digester: .libcrypto)
            } catch {
                fail(BundleLayout.inventory, error.field, error.line.map { "line \($0): \(error.message)" } ?? error.message)
            }
        }
        let binding = verifier.inventory ?? bundleInventory
        if binding == nil {
            result.notes.append("no inventory in the bundle and none given (--inventory): host-to-key bindings were not checked")
        }
        if let signer = result.signer {
            for inv in [bundleInventory, verifier.inventory].compactMap({ $0 }) {
                if let host = inv.hosts.first(where: { $0.keyID == signer }) {
                    fail(
                        BundleLayout.manifestEnvelope, "signatures[0].keyid",
                        "signed by \(signer), the key \(inv.file) binds to host \(host.name): the key that signs a bundle must vouch for no host (separation of duties)"
                    )
                }
            }
        }

        // Every host envelope: digest, signature, statement, file name, binding; then its
        // facts are re-evaluated into the recomputed summary, one host at a time.
        var builder = FleetSummaryBuilder(
            profiles: verifier.profiles, inventory: bundleInventory, createdAt: header.createdAt, maxAge: header.maxAge)
        var policy = FindingsPolicy(trusted: verifier.trusted, now: header.createdAt)
        policy.omitsUnusedParts = true
        let hostCheck = HostEnvelopeCheck(
            dir: dir, policy: policy, binding: binding,
            manifestSigner: result.signer, evaluator: builder, keepsFindings: verifier.keepsFindings)
        var hostsFailed = false
        var keyIDs: Set<String> = namedSigner.map { [$0] } ?? []
        var kept: [ParsedFindings] = []
        let hostPaths = listed.keys.sorted().filter { $0.hasPrefix("findings/") }
        for window in Parallel.windows(hostPaths.count) {
            // Checked on every core; the outcomes are taken in path order, as one core would.
            let entries = hostPaths[window].map { onDisk.contains($0) ? listed[$0] : nil }
            let outcomes = Parallel.map(window.count) { k in entries[k].map { hostCheck.run($0, examples: false) } }
            for (k, outcome) in outcomes.enumerated() {
                guard let outcome else {
                    hostsFailed = true
                    continue
                }
                result.failures += outcome.failures
                guard outcome.read else {
                    hostsFailed = true
                    continue
                }
                if outcome.intact { intact.insert(hostPaths[window.lowerBound + k]) }
                if outcome.failures.isEmpty, let record = outcome.record {
                    builder.add(record)
                    keyIDs.insert(record.keyID)
                    if let findings = outcome.findings { kept.append(findings) }
                }
                if !outcome.failures.isEmpty { hostsFailed = true }
            }
        }
        if onDisk.contains(where: { $0.hasPrefix("findings/") && listed[$0] == nil }) { hostsFailed = true }
        // The few hosts the summary shows as examples are checked again, with their evidence
        // (the records kept for every host hold statuses only).
        if !hostsFailed {
            for machineID in builder.hostsNeedingExamples().sorted() {
                guard let entry = listed[BundleLayout.findings(machineID)] else { continue }
                let outcome = hostCheck.run(entry, examples: true)
                result.failures += outcome.failures
                if let record = outcome.record, outcome.failures.isEmpty { builder.addExamples(record) } else { hostsFailed = true }
            }
        }

        checkKeys(small: small, expected: keyIDs, complete: !hostsFailed)

        // hosts[], summary.json and the reports, recomputed and compared byte for byte.
        guard !hostsFailed else {
            result.notes.append("hosts[], summary.json and the reports were not recomputed: some host envelopes failed verification")
            return
        }
        guard let summaryBytes = small[BundleLayout.summary] else {
            if listed[BundleLayout.summary] == nil { fail(BundleLayout.manifest, "files", "does not list summary.json") }
            return
        }
        guard let stated = statedLists(summaryBytes) else { return }
        let recomputed = builder.finish(rejected: stated.rejected, superseded: stated.superseded)
        let generator = manifest["generator"]?["version"]?.stringValue ?? ""
        let signedBy = manifest["signed_by"]?.stringValue ?? ""
        let listedFiles = Array(listed.values)
        let manifestID: String
        do {
            manifestID = try BundleManifest.id(summary: recomputed, files: listedFiles)
        } catch {
            fail(BundleLayout.manifest, "id", "cannot be recomputed: \(error.message)")
            return
        }
        // summary.json, manifest.json and the reports, rendered from the recomputed summary on
        // every core, then compared in that order.
        let rerendered = generator == verifier.generatorVersion
        let renders: [@Sendable () -> [UInt8]] =
            [
                // Reserved at the stored documents' sizes, which the recomputed ones match when intact.
                { recomputed.document(size: summaryBytes.count) },
                {
                    BundleManifest.document(
                        summary: recomputed, files: listedFiles, id: manifestID, generatorVersion: generator, signedBy: signedBy,
                        size: manifestBytes.count)
                },
            ] + (rerendered ? verifier.documents.map { document in { @Sendable in document.render(recomputed) } } : [])
        let rendered = Parallel.map(renders.count) { renders[$0]() }
        compare(BundleLayout.summary, stored: summaryBytes, recomputed: rendered[0])
        compare(BundleLayout.manifest, stored: manifestBytes, recomputed: rendered[1])
        if let signer = result.signer, manifest["signed_by"]?.stringValue != signer {
            fail(
                BundleLayout.manifest, "signed_by",
                "says \(manifest["signed_by"]?.compactString ?? "nothing"), but manifest.dsse.json is signed by \(signer)")
        }
        if rerendered {
            for (document, bytes) in zip(verifier.documents, rendered.dropFirst(2)) {
                guard let stored = small[document.path] else {
                    if listed[document.path] == nil { fail(BundleLayout.manifest, "files", "does not list \(document.path)") }
                    continue
                }
                compareBytes(document.path, stored: stored, recomputed: bytes)
            }
        } else {
            result.notes.append(
                "the reports were made by warden \(generator), not \(verifier.generatorVersion): their bytes were checked against the manifest but not re-rendered"
            )
        }
        if let reviewer = verifier.inventory {
            let present = Set(recomputed.hosts.map(\.machineID))
            let stated = Set(recomputed.missing.map(\.machineID))
            for host in reviewer.hosts where !present.contains(host.machineID) && !stated.contains(host.machineID) {
                fail(
                    reviewer.file, "hosts",
                    "\(host.name) (machine id \(host.machineID)) has no findings in the bundle, and the bundle does not list it as missing")
            }
        }
        result.summary = recomputed
        result.id = manifestID
        result.findings = kept
    }

    // MARK: - The manifest

    mutating func checkManifestSignature(_ bytes: [UInt8], manifest: [UInt8]) {
        let file = BundleLayout.manifestEnvelope
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(bytes, file: file)
        } catch {
            fail(file, error.field, error.message)
            return
        }
        guard envelope.signatures.count == 1 else {
            fail(file, "signatures", "expected exactly one signature, found \(envelope.signatures.count)")
            return
        }
        guard envelope.payloadType == BundleLayout.manifestPayloadType else {
            fail(file, "payloadType", "expected '\(BundleLayout.manifestPayloadType)', found '\(envelope.payloadType)'")
            return
        }
        let signature = envelope.signatures[0]
        namedSigner = signature.keyid
        guard let keyID = signature.keyid, let key = verifier.trusted[keyID] else {
            fail(
                file, "signatures[0].keyid",
                "\(signature.keyid ?? "missing"): not a trusted key (\(verifier.trusted.count) trusted from --trust)")
            return
        }
        guard key.isValidSignature(signature.sig, for: DSSE.pae(payloadType: envelope.payloadType, payload: envelope.payload)) else {
            fail(
                file, "signatures[0].sig",
                "does not verify with trusted key \(keyID): the manifest, its envelope or the signature was altered")
            return
        }
        result.signer = keyID
        if envelope.payload != manifest {
            fail(
                BundleLayout.manifest, nil, "differs from the payload signed in manifest.dsse.json: the manifest was altered after signing")
        }
    }

    struct Header {
        var createdAt: Timestamp
        var maxAge: Int64
    }

    mutating func parseHeader(_ manifest: JSON) -> Header? {
        let file = BundleLayout.manifest
        guard manifest["schema"]?.stringValue == BundleLayout.schema else {
            fail(file, "schema", "expected '\(BundleLayout.schema)', found \(manifest["schema"]?.compactString ?? "nothing")")
            return nil
        }
        guard let text = manifest["created_at"]?.stringValue, let createdAt = Timestamp(rfc3339: text) else {
            fail(file, "created_at", "expected an RFC 3339 time, found \(manifest["created_at"]?.compactString ?? "nothing")")
            return nil
        }
        guard let ageText = manifest["max_age"]?.stringValue, let maxAge = Durations.seconds(ageText), maxAge > 0 else {
            fail(file, "max_age", "expected a duration like 7d, found \(manifest["max_age"]?.compactString ?? "nothing")")
            return nil
        }
        return Header(createdAt: createdAt, maxAge: maxAge)
    }

    mutating func parseFiles(_ manifest: JSON) -> [BundleFile]? {
        let file = BundleLayout.manifest
        guard let list = manifest["files"]?.arrayValue else {
            fail(file, "files", "expected a list")
            return nil
        }
        var out: [BundleFile] = []
        var seen: Set<String> = []
        for (i, item) in list.enumerated() {
            guard let path = item["path"]?.stringValue, let sha = item["sha256"]?.stringValue, let size = item["size"]?.intValue, size >= 0
            else {
                fail(file, "files[\(i)]", "expected {path, sha256, size}")
                continue
            }
            if let problem = pathProblem(path) {
                fail(file, "files[\(i)].path", "'\(path)': \(problem)")
                continue
            }
            guard seen.insert(path).inserted else {
                fail(file, "files[\(i)].path", "'\(path)' is listed twice")
                continue
            }
            out.append(BundleFile(path: path, sha256: sha, size: Int(size)))
        }
        return out
    }

    /// Why a manifest path is not acceptable: it must be relative, normalised and inside the bundle.
    func pathProblem(_ path: String) -> String? {
        if path.isEmpty { return "an empty path" }
        if path.hasPrefix("/") { return "an absolute path: paths in a bundle are relative to it" }
        // Components compared as bytes (a manifest lists a file per host and a key per host).
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if parts.contains(where: { $0.elementsEqual("..".utf8) }) { return "leaves the bundle ('..')" }
        if parts.contains(where: { $0.isEmpty || $0.elementsEqual(".".utf8) }) { return "not a normalised path (empty or '.' component)" }
        if path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) {
            return "holds a control character or a backslash"
        }
        if path == BundleLayout.manifest || path == BundleLayout.manifestEnvelope { return "the manifest does not list itself" }
        return nil
    }

    mutating func checkValidity(createdAt: Timestamp, maxAge: Int64) {
        let limit = min(maxAge, verifier.maxAge ?? maxAge)
        let until = Timestamp(seconds: createdAt.seconds + limit)
        result.validUntil = until
        if createdAt.seconds > verifier.now.seconds + verifier.clockSkew {
            fail(BundleLayout.manifest, "created_at", "\(createdAt) is in the future at \(verifier.now)")
        } else if verifier.now > until {
            let which = limit < maxAge ? "--max-age \(Durations.text(limit))" : "its max_age \(Durations.text(maxAge))"
            fail(
                BundleLayout.manifest, "created_at",
                "the bundle expired at \(until) (created \(createdAt), \(which)); checked at \(verifier.now)")
        }
    }

    // MARK: - Host envelopes

    /// `keys/` holds exactly the public keys referenced (the hosts' and the signer's), each named
    /// by its keyid. Trust never comes from these files.
    mutating func checkKeys(small: [String: [UInt8]], expected: Set<String>, complete: Bool) {
        var present: Set<String> = []
        for path in listed.keys.sorted() where path.hasPrefix("keys/") {
            let name = String(path.dropFirst("keys/".count))
            guard name.hasSuffix(".pem"), Inventory.isHex(String(name.dropLast(4)), count: 64) else {
                fail(path, nil, "not a key file name: keys/<keyid>.pem")
                continue
            }
            let keyID = String(name.dropLast(4))
            present.insert(keyID)
            guard let bytes = small[path] else { continue }
            do {
                let key = try PublicKey(pem: bytes, reference: path)
                if key.keyID != keyID { fail(path, nil, "holds the key \(key.keyID), not \(keyID)") }
            } catch {
                fail(path, nil, "not a PEM public key: \(error.message)")
            }
        }
        guard complete else { return }
        for keyID in expected.subtracting(present).sorted() {
            fail(BundleLayout.manifest, "files", "lists no keys/\(keyID).pem, a key that signed the bundle or one of its hosts")
        }
        for keyID in present.subtracting(expected).sorted() {
            fail(BundleLayout.key(keyID), nil, "a key that signed neither the bundle nor any of its hosts")
        }
    }

    // MARK: - Recomputation

    /// The lists only the bundler could know (inputs it rejected or superseded, which are not in
    /// the bundle): taken from `summary.json` as stated, authenticated by the manifest signature.
    mutating func statedLists(_ bytes: [UInt8]) -> (rejected: [Rejection], superseded: [Superseded])? {
        let file = BundleLayout.summary
        do {
            // Only these two lists are read here (the whole file is compared byte for byte later).
            let json = try JSON.parse(bytes, omitting: ["hosts"])
            var rejected: [Rejection] = []
            for (i, item) in (json["rejected"]?.arrayValue ?? []).enumerated() {
                rejected.append(try Rejection(json: item, file: file, field: "rejected[\(i)]"))
            }
            var superseded: [Superseded] = []
            for (i, item) in (json["superseded"]?.arrayValue ?? []).enumerated() {
                superseded.append(try Superseded(json: item, file: file, field: "superseded[\(i)]"))
            }
            return (rejected, superseded)
        } catch let error as JSONParseError {
            fail(file, nil, "not JSON: \(error)")
        } catch let error as WardenError {
            fail(file, error.field, error.message)
        } catch {
            fail(file, nil, "\(error)")
        }
        return nil
    }

    /// Compares a stored JSON document with the recomputed one, naming the first field that differs.
    mutating func compare(_ file: String, stored: [UInt8], recomputed: [UInt8]) {
        guard stored != recomputed else { return }
        guard let old = try? JSON.parse(stored), let new = try? JSON.parse(recomputed) else {
            fail(file, nil, "not JSON: the recomputed document differs")
            return
        }
        if let d = firstDifference(old, new, path: "") {
            fail(
                file, d.path.isEmpty ? nil : d.path,
                "the bundle says \(describe(d.stored)), recomputed from the verified findings: \(describe(d.recomputed))")
        } else {
            fail(file, nil, "the values agree with the recomputed document but the bytes do not (not in canonical form)")
        }
    }

    mutating func compareBytes(_ file: String, stored: [UInt8], recomputed: [UInt8]) {
        guard stored != recomputed else { return }
        let common = zip(stored, recomputed).prefix { $0 == $1 }.count
        let line = stored.prefix(common).count(where: { $0 == 0x0A }) + 1
        fail(file, nil, "differs from the report rendered from the verified findings (first difference at byte \(common), line \(line))")
    }

    func firstDifference(_ a: JSON?, _ b: JSON?, path: String) -> (path: String, stored: JSON?, recomputed: JSON?)? {
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            for key in Set(x.keys).union(y.keys).sorted() {
                if let d = firstDifference(x[key], y[key], path: path.isEmpty ? key : path + "." + key) { return d }
            }
            return nil
        case (.array(let x)?, .array(let y)?):
            for i in 0..<max(x.count, y.count) {
                if let d = firstDifference(x.indices.contains(i) ? x[i] : nil, y.indices.contains(i) ? y[i] : nil, path: "\(path)[\(i)]") {
                    return d
                }
            }
            return nil
        default:
            return a == b ? nil : (path, a, b)
        }
    }

    func describe(_ value: JSON?) -> String {
        guard let value else { return "nothing" }
        if case .string(let s) = value { return "'\(s)'" }
        let text = value.compactString
        return text.count > 160 ? String(text.prefix(157)) + "…" : text
    }
}

/// One host envelope of a bundle, checked on any core: its size and digest against the manifest,
/// its name, signature, statement and key binding; and, when all of that holds, its facts
/// evaluated into the host's record for the recomputed summary.
private struct HostEnvelopeCheck: Sendable {
    let dir: String
    let policy: FindingsPolicy
    let binding: Inventory?
    /// The key that signed the manifest, which must sign no host.
    let manifestSigner: String?
    /// The summary builder as made (no host added): only its `evaluate` is used.
    let evaluator: FleetSummaryBuilder
    let keepsFindings: Bool

    struct EnvelopeCheckReport: Sendable {
        /// Whether the file could be read at all.
        var read = true
        /// Whether its size and digest match the manifest.
        var intact = false
        var failures: [BundleFailure] = []
        var record: FleetSummaryBuilder.HostRecord?
        /// Kept only when the verifier keeps findings.
        var findings: ParsedFindings?
    }

    func run(_ entry: BundleFile, examples: Bool) -> EnvelopeCheckReport {
        var outcome = EnvelopeCheckReport()
        let path = entry.path
        func fail(_ field: String?, _ reason: String) { outcome.failures.append(BundleFailure(path, field, reason)) }
        let read = ListedRead(dir: dir, entry: entry)
        outcome.failures = read.failures
        outcome.intact = read.intact
        guard let bytes = read.bytes else {
            outcome.read = false
            return outcome
        }
        guard let (findings, keyID) = check(path, bytes, fail: fail) else { return outcome }
        if outcome.failures.isEmpty {
            outcome.record = evaluator.evaluate(findings, keyID: keyID, file: path, examples: examples)
            if keepsFindings { outcome.findings = findings }
        }
        return outcome
    }

    private func check(_ path: String, _ bytes: [UInt8], fail: (String?, String) -> Void) -> (findings: ParsedFindings, keyID: String)? {
        let name = path.dropFirst("findings/".count)
        guard name.hasSuffix(".dsse.json"), Inventory.isHex(String(name.dropLast(".dsse.json".count)), count: 32) else {
            fail(nil, "not a host envelope name: findings/<machine id>.dsse.json")
            return nil
        }
        let fileMachineID = String(name.dropLast(".dsse.json".count))
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(bytes, file: path)
        } catch {
            fail(error.field, error.message)
            return nil
        }
        let verification = policy.verify(envelope)
        for f in verification.failures { fail(f.field, f.reason) }
        guard verification.isValid, let keyID = verification.keyID, let predicate = verification.findings else { return nil }
        let findings: ParsedFindings
        do {
            findings = try ParsedFindings(json: predicate, file: path)
        } catch {
            fail("payload.predicate.\(error.field ?? "")", error.message)
            return nil
        }
        guard let machineID = findings.machineID, machineID == fileMachineID else {
            fail(
                "payload.predicate.host.machine_id",
                "the envelope is for machine id \(findings.machineID ?? "none"), but the file is named for \(fileMachineID) (envelopes swapped or renamed)"
            )
            return nil
        }
        if keyID == manifestSigner {
            fail("signatures[0].keyid", "signed by \(keyID), the key that signed the manifest: the bundler vouches for no host")
        }
        if let binding {
            if let host = binding[machineID: machineID] {
                if host.keyID != keyID {
                    fail(
                        "signatures[0].keyid", "signed by trusted key \(keyID), but \(binding.file) binds \(host.name) to key \(host.keyID)"
                    )
                }
            } else {
                fail(
                    "payload.predicate.host.machine_id",
                    "machine id \(machineID) (\(findings.hostname)) is not in \(binding.file): its key binding cannot be checked")
            }
        }
        return (findings, keyID)
    }
}

/// A file the manifest lists, read and checked against its entry (size, then SHA-256) on any core.
private struct ListedRead: Sendable {
    let path: String
    /// Nil when the file could not be read at all.
    var bytes: [UInt8]?
    var failures: [BundleFailure] = []
    /// Whether its size and digest match the manifest.
    var intact = false

    init(dir: String, entry: BundleFile) {
        path = entry.path
        do {
            bytes = try BundleFiles.read(dir + "/" + entry.path, limit: BundleLayout.fileLimit)
        } catch {
            failures.append(BundleFailure(entry.path, nil, error.message))
            return
        }
        guard let bytes else { return }
        if bytes.count != entry.size {
            failures.append(
                BundleFailure(
                    entry.path, nil,
                    "size \(bytes.count) bytes, but manifest.json files[] says \(entry.size) (truncated, extended or replaced)"))
        } else {
            let digest: String
            do {
                digest = try Digester.libcrypto.sha256Hex(bytes)
            } catch {
                failures.append(BundleFailure(entry.path, nil, "its SHA-256 cannot be checked: \(error.message)"))
                return
            }
            if digest != entry.sha256 {
                failures.append(
                    BundleFailure(
                        entry.path, nil, "SHA-256 \(digest) differs from manifest.json files[] (\(entry.sha256)): the file was altered"))
            } else {
                intact = true
            }
        }
    }
}
