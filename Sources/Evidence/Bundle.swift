public import OpenSSLSigning
public import WardenCore
public import WardenFormats

/// The names and formats of an evidence bundle (docs/FORMATS.md).
public enum BundleLayout {
    public static let schema = "warden.bundle/v1"
    public static let manifest = "manifest.json"
    public static let manifestEnvelope = "manifest.dsse.json"
    public static let manifestPayloadType = "application/vnd.warden.manifest+json"
    public static let summary = "summary.json"
    public static let inventory = "inventory.yaml"
    /// The most a host envelope, the manifest or the summary may weigh.
    public static let fileLimit = 256 << 20

    public static func findings(_ machineID: String) -> String { "findings/\(machineID).dsse.json" }
    public static func key(_ keyID: String) -> String { "keys/\(keyID).pem" }
}

/// The documents rendered from the summary and shipped in the bundle (the reports), each by a
/// pure function. Injected, so that the bundler and the verifier render exactly the same bytes;
/// they render on every core, beside summary.json.
public typealias BundleDocuments = [(path: String, render: @Sendable (FleetSummary) -> [UInt8])]

/// One entry of the manifest's `files[]`.
public struct BundleFile: Sendable, Hashable {
    public var path: String
    public var sha256: String
    public var size: Int

    public init(path: String, sha256: String, size: Int) {
        self.path = path
        self.sha256 = sha256
        self.size = size
    }

    public init(path: String, bytes: [UInt8]) throws(WardenError) {
        self.init(path: path, sha256: try Digester.libcrypto.sha256Hex(bytes), size: bytes.count)
    }

    public var json: JSON { ["path": .string(path), "sha256": .string(sha256), "size": .int(size)] }
}

/// `manifest.json`: everything about the bundle that is not a file of its own.
///
/// ```json
/// {"schema": "warden.bundle/v1", "id": "<SHA-256 of created_at and files[]>", "created_at": "…",
///  "max_age": "7d", "generator": {"name": "warden", "version": "…"}, "signed_by": "<bundler keyid>",
///  "inventory": "inventory.yaml" | null, "profiles": [{"id", "version", "sha256"}],
///  "files": [{"path", "sha256", "size"}], "hosts": [{"name", "machine_id", "keyid", "profile",
///  "finished_at", "stale", "conformant": {"sl3": bool, "sl4": bool}, "file"}]}
/// ```
public enum BundleManifest {
    /// The manifest's bytes; `id` is `id(summary:files:)`. `size`: the size expected, reserved at
    /// once (as `FleetSummary.document(size:)`); without it, an estimate of 512 bytes a file and a
    /// host (about 400 in 2026-12).
    public static func document(
        summary: FleetSummary, files: [BundleFile], id: String, generatorVersion: String, signedBy: String, size: Int? = nil
    ) -> [UInt8] {
        json(summary: summary, files: files, id: id, generatorVersion: generatorVersion, signedBy: signedBy)
            .prettySerialized(capacity: size ?? 65_536 + (files.count + summary.hosts.count) * 512)
    }

    /// The manifest's `id`: the SHA-256 of its `created_at` and `files[]`.
    public static func id(summary: FleetSummary, files: [BundleFile]) throws(WardenError) -> String {
        try Digester.libcrypto.sha256Hex(
            JSON.object(["created_at": .string(summary.createdAt.description), "files": fileList(files)]).serialized())
    }

    static func fileList(_ files: [BundleFile]) -> JSON {
        .array(files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }.map(\.json))
    }

    public static func json(summary: FleetSummary, files: [BundleFile], id: String, generatorVersion: String, signedBy: String) -> JSON {
        let fileList = fileList(files)
        return [
            "schema": .string(BundleLayout.schema),
            "id": .string(id),
            "created_at": .string(summary.createdAt.description),
            "max_age": .string(Durations.text(summary.maxAge)),
            "generator": ["name": "warden", "version": .string(generatorVersion)],
            "signed_by": .string(signedBy),
            "inventory": summary.inventory == nil ? .null : .string(BundleLayout.inventory),
            "profiles": .array(
                summary.profiles.map { ["id": .string($0.id), "version": .string($0.version), "sha256": .string($0.sha256)] }),
            "files": fileList,
            "hosts": summary.manifestHosts,
        ]
    }
}

/// The inputs named on the command line: files, directories (every `*.json` below them) and
/// glob patterns the shell did not expand.
public enum BundleInputs {
    public static func expand(_ arguments: [String]) throws(WardenError) -> [String] {
        var out: [String] = []
        for argument in arguments {
            switch BundleFiles.kind(argument) {
            case .directory?:
                let found = BundleFiles.walk(argument).filter { $0.kind == .file && $0.path.hasSuffix(".json") }
                guard !found.isEmpty else {
                    throw WardenError(.missing, file: argument, field: "FINDINGS", "no *.json files in this directory")
                }
                out += found.map { argument + "/" + $0.path }
            case .some:
                out.append(argument)
            case nil:
                guard argument.contains(where: { "*?[".contains($0) }), let matches = BundleFiles.glob(argument) else {
                    throw WardenError(.missing, file: argument, field: "FINDINGS", "No such file or directory")
                }
                out += matches
            }
        }
        return out
    }
}

/// Writes an evidence bundle: verifies every input, keeps the newest accepted envelope per host
/// byte for byte, re-evaluates each host against the profiles, and signs the manifest.
public struct Bundler {
    public var trusted: TrustedKeys
    public var key: PrivateKey
    public var inventory: Inventory?
    /// The inventory file's bytes, copied into the bundle as they are.
    public var inventoryBytes: [UInt8]?
    public var profiles: [ResolvedProfile]
    public var createdAt: Timestamp
    public var maxAge: Int64
    public var generatorVersion: String
    public var documents: BundleDocuments
    /// Asked at each stage (`verifying`, before each window of inputs; `summarising`; `placing`,
    /// before the finished bundle is renamed into place): true stops the run there with an
    /// `interrupted` error saying where, after removing what was staged. The CLI answers from
    /// its signal handling, and its test hooks stop a run at these names.
    public var stopRequested: @Sendable (_ stage: String) -> Bool = { _ in false }

    public init(
        trusted: TrustedKeys, key: PrivateKey, inventory: Inventory?, inventoryBytes: [UInt8]?, profiles: [ResolvedProfile],
        createdAt: Timestamp, maxAge: Int64, generatorVersion: String, documents: BundleDocuments
    ) {
        self.trusted = trusted
        self.key = key
        self.inventory = inventory
        self.inventoryBytes = inventoryBytes
        self.profiles = profiles
        self.createdAt = createdAt
        self.maxAge = maxAge
        self.generatorVersion = generatorVersion
        self.documents = documents
    }

    /// Writes the bundle into `output` (which must not exist, or be an empty directory) through a
    /// staging directory renamed into place, so that a failed run leaves no half bundle.
    /// Throws only when no truthful bundle can be written; hosts that fail are in the summary.
    public func write(inputs: [String], to output: String) throws(WardenError) -> FleetSummary {
        if inventory?.bindsKey(key.keyID) == true {
            throw WardenError(
                .malformed, file: inventory?.file, field: "--key",
                "the bundler's key \(key.keyID) is bound to a host in the inventory: a bundle is signed by a key that vouches for no host (separation of duties)"
            )
        }
        let existing = BundleFiles.kind(output)
        if let existing {
            guard existing == .directory, BundleFiles.list(output).isEmpty else {
                throw WardenError(
                    .usage, file: output, field: "--output",
                    "already exists and is not an empty directory; a bundle is written into a new directory")
            }
        }
        let staging = output + ".tmp-\(BundleFiles.processID)"
        BundleFiles.removeTree(staging)
        do {
            let summary = try writeContents(inputs: inputs, into: staging)
            try stopIfRequested("placing", "with the bundle complete, before renaming it into place")
            if existing != nil { try BundleFiles.removeEmptyDirectory(output) }
            try BundleFiles.rename(staging, output)
            return summary
        } catch {
            BundleFiles.removeTree(staging)
            throw error
        }
    }

    private func writeContents(inputs: [String], into dir: String) throws(WardenError) -> FleetSummary {
        try BundleFiles.makeDirectory(dir)
        try BundleFiles.makeDirectory(dir + "/findings")
        try BundleFiles.makeDirectory(dir + "/keys")
        var files: [BundleFile] = []
        func put(_ path: String, _ bytes: [UInt8]) throws(WardenError) {
            try BundleFiles.create(dir + "/" + path, bytes)
            files.append(try BundleFile(path: path, bytes: bytes))
        }

        // Pass 1, spread over the cores a window at a time: verify every input, evaluate its
        // facts, and stage its bytes as verified; then, in input order, keep the newest accepted
        // envelope per host.
        var builder = FleetSummaryBuilder(profiles: profiles, inventory: inventory, createdAt: createdAt, maxAge: maxAge)
        var policy = FindingsPolicy(trusted: trusted, now: createdAt)
        policy.omitsUnusedParts = true
        let check = InputCheck(policy: policy, inventory: inventory, bundlerKeyID: key.keyID, evaluator: builder, bundle: dir)
        var rejected: [Rejection] = []
        var superseded: [Superseded] = []
        var newest: [String: InputCheck.Candidate] = [:]
        var keysWritten: Set<String> = []
        for window in Parallel.windows(inputs.count) {
            try stopIfRequested("verifying", "after verifying \(window.lowerBound) of \(inputs.count) inputs")
            let outcomes = Parallel.map(window.count) { k in check.run(inputs[window.lowerBound + k], number: window.lowerBound + k) }
            var contested: Set<String> = []
            for outcome in outcomes {
                switch outcome {
                case .failed(let error):
                    throw error
                case .rejected(let r):
                    rejected.append(r)
                case .accepted(let c):
                    keysWritten.insert(c.keyID)
                    guard let current = newest[c.machineID] else {
                        newest[c.machineID] = c
                        continue
                    }
                    let replaces = (c.finishedAt, c.sha256) > (current.finishedAt, current.sha256)
                    let loser = replaces ? current : c
                    superseded.append(
                        Superseded(
                            input: loser.input, machineID: loser.machineID, finishedAt: loser.finishedAt.description, sha256: loser.sha256))
                    BundleFiles.removeTree(loser.staged)
                    if replaces { newest[c.machineID] = c }
                    contested.insert(c.machineID)
                }
            }
            // A host given more than once: the newer envelope takes the host's name if a loser held it.
            for machineID in contested {
                guard var kept = newest[machineID] else { continue }
                let named = dir + "/" + BundleLayout.findings(machineID)
                if kept.staged != named {
                    try BundleFiles.rename(kept.staged, named)
                    kept.staged = named
                    newest[machineID] = kept
                }
            }
        }

        try stopIfRequested("summarising", "after verifying all \(inputs.count) inputs, before the summary and the reports were written")
        // Pass 2, in machine id order: the kept envelopes' records go into the summary.
        var keyIDs: Set<String> = [key.keyID]
        for machineID in newest.keys.sorted() {
            guard let c = newest[machineID] else { continue }
            let path = BundleLayout.findings(machineID)
            files.append(BundleFile(path: path, sha256: c.sha256, size: c.size))
            builder.add(c.record)
            keyIDs.insert(c.keyID)
        }
        // The few hosts whose findings the summary shows as examples are evaluated again, from
        // the verified bytes just staged, so that the records kept for every host stay small.
        for machineID in builder.hostsNeedingExamples().sorted() {
            guard let c = newest[machineID] else { continue }
            let path = BundleLayout.findings(machineID)
            let bytes = try BundleFiles.read(dir + "/" + path, limit: BundleLayout.fileLimit)
            guard try Digester.libcrypto.sha256Hex(bytes) == c.sha256 else {
                throw WardenError(.io, file: dir + "/" + path, "changed while the bundle was being written")
            }
            let findings = try Bundler.findings(of: try Envelope.decode(bytes, file: c.input), file: c.input)
            builder.addExamples(builder.evaluate(findings, keyID: c.keyID, file: path))
        }
        let summary = builder.finish(rejected: rejected, superseded: superseded)

        // summary.json and the reports, rendered on every core.
        let documents = [(path: BundleLayout.summary, render: { @Sendable (s: FleetSummary) in s.document() })] + self.documents
        for (document, rendered) in zip(documents, Parallel.map(documents.count) { documents[$0].render(summary) }) {
            try put(document.path, rendered)
        }
        if let inventoryBytes { try put(BundleLayout.inventory, inventoryBytes) }
        // The hosts' key files were written as their envelopes were accepted; the bundler's is
        // added, and those of superseded envelopes' keys that no kept envelope uses are removed.
        try put(BundleLayout.key(key.keyID), Array(key.publicKey.pem.utf8))
        for keyID in keysWritten.subtracting(keyIDs) { BundleFiles.removeTree(dir + "/" + BundleLayout.key(keyID)) }
        for keyID in keyIDs.sorted() where keyID != key.keyID {
            guard let pem = trusted[keyID]?.pem else { continue }
            files.append(try BundleFile(path: BundleLayout.key(keyID), bytes: Array(pem.utf8)))
        }
        let manifest = BundleManifest.document(
            summary: summary, files: files, id: try BundleManifest.id(summary: summary, files: files),
            generatorVersion: generatorVersion, signedBy: key.keyID)
        try BundleFiles.create(dir + "/" + BundleLayout.manifest, manifest)
        let envelope: Envelope
        do {
            envelope = try Envelope.sign(payload: manifest, payloadType: BundleLayout.manifestPayloadType, with: key)
        } catch {
            throw WardenError(.io, file: error.reference, field: "--key", error.message)
        }
        try BundleFiles.create(dir + "/" + BundleLayout.manifestEnvelope, envelope.encoded())
        return summary
    }

    private func stopIfRequested(_ stage: String, _ whereStopped: String) throws(WardenError) {
        if stopRequested(stage) {
            throw WardenError(.interrupted, field: "bundle", "stopped \(whereStopped)")
        }
    }

    /// The findings inside an envelope whose signature has already been checked (or whose bytes
    /// are known to be the checked ones).
    static func findings(of envelope: Envelope, file: String) throws(WardenError) -> ParsedFindings {
        let statement: JSON
        do {
            statement = try JSON.parse(envelope.payload)
        } catch {
            throw WardenError(.malformed, file: file, field: "payload", "not JSON: \(error)")
        }
        guard let predicate = statement["predicate"] else {
            throw WardenError(.malformed, file: file, field: "payload.predicate", "missing")
        }
        return try ParsedFindings(json: predicate, file: file)
    }
}

/// What the bundler does with one input, on any core: read it once, verify it, bind it to its
/// inventory host, evaluate its facts, and stage the bytes exactly as read.
struct InputCheck: Sendable {
    let policy: FindingsPolicy
    let inventory: Inventory?
    let bundlerKeyID: String
    /// The summary builder as made (no host added): only its `evaluate` is used.
    let evaluator: FleetSummaryBuilder
    /// The staging directory: envelopes go into its `findings/`, their keys into `keys/`.
    let bundle: String

    /// An accepted envelope: where it came from, what it hashes to, where its verified bytes
    /// are staged, and its host's evaluated record.
    struct Candidate: Sendable {
        var input: String
        var sha256: String
        var size: Int
        var machineID: String
        var finishedAt: Timestamp
        var keyID: String
        var staged: String
        var record: FleetSummaryBuilder.HostRecord
    }

    enum Admission: Sendable {
        case accepted(Candidate)
        case rejected(Rejection)
        /// The staged copy could not be written: no truthful bundle can be.
        case failed(WardenError)
    }

    func run(_ input: String, number: Int) -> Admission {
        let bytes: [UInt8]
        let envelope: Envelope
        do {
            bytes = try BundleFiles.read(input, limit: BundleLayout.fileLimit)
        } catch {
            return .rejected(Rejection(input: input, kind: .unreadable, reason: error.message))
        }
        do {
            envelope = try Envelope.decode(bytes, file: input)
        } catch {
            return .rejected(Rejection(input: input, kind: .malformed, reason: error.description))
        }
        let verification = policy.verify(envelope)
        let keyID = envelope.signatures.first?.keyid
        guard verification.isValid, let findings = verification.findings, let signer = verification.keyID else {
            return .rejected(
                Rejection(
                    input: input, kind: .unverified, reason: verification.failures.map(\.description).joined(separator: "; "), keyID: keyID)
            )
        }
        let hostname = findings["host"]?["hostname"]?.stringValue
        guard let machineID = findings["host"]?["machine_id"]?.stringValue, Inventory.isHex(machineID, count: 32) else {
            return .rejected(
                Rejection(
                    input: input, kind: .noMachineID,
                    reason:
                        "payload.predicate.host.machine_id: the findings name no machine id of 32 hex digits, so they cannot be bound to a host",
                    hostname: hostname, keyID: signer))
        }
        let parsed: ParsedFindings
        do {
            parsed = try ParsedFindings(json: findings, file: input)
        } catch {
            return .rejected(
                Rejection(
                    input: input, kind: .malformed, reason: "payload.predicate.\(error.field ?? "facts"): \(error.message)",
                    machineID: machineID, hostname: hostname, keyID: signer))
        }
        if signer == bundlerKeyID {
            return .rejected(
                Rejection(
                    input: input, kind: .bundlerKey,
                    reason: "signed with the bundler's own key \(signer): the key that signs the bundle vouches for no host",
                    machineID: machineID, hostname: hostname, keyID: signer))
        }
        if let inventory {
            guard let host = inventory[machineID: machineID] else {
                return .rejected(
                    Rejection(
                        input: input, kind: .unknown,
                        reason: "machine id \(machineID) (hostname \(hostname ?? "unknown")) is not in the inventory \(inventory.file)",
                        machineID: machineID, hostname: hostname, keyID: signer))
            }
            guard host.keyID == signer else {
                return .rejected(
                    Rejection(
                        input: input, kind: .wrongKey,
                        reason: "signed by trusted key \(signer), but the inventory binds \(host.name) to key \(host.keyID)",
                        machineID: machineID, hostname: hostname, keyID: signer))
            }
        }
        // Staged under the host's own name, or aside when another envelope of the same host holds
        // it (the bundler keeps the newer); the signer's key file beside it, once.
        var staged = bundle + "/" + BundleLayout.findings(machineID)
        let sha256: String
        do {
            sha256 = try Digester.libcrypto.sha256Hex(bytes)
            if try !BundleFiles.createIfAbsent(staged, bytes) {
                staged = bundle + "/findings/.input-\(number).dsse.json"
                try BundleFiles.create(staged, bytes)
            }
            if let pem = policy.trusted[signer]?.pem {
                _ = try BundleFiles.createIfAbsent(bundle + "/" + BundleLayout.key(signer), Array(pem.utf8))
            }
        } catch {
            return .failed(error)
        }
        let record = evaluator.evaluate(parsed, keyID: signer, file: BundleLayout.findings(machineID), examples: false)
        return .accepted(
            Candidate(
                input: input, sha256: sha256, size: bytes.count, machineID: machineID,
                finishedAt: parsed.finishedAt, keyID: signer, staged: staged, record: record))
    }
}

/// Reads what a bundle says without judging it: the summary recomputed from its files, for
/// `warden report`. Signatures and digests are not checked here; `BundleVerifier` does that.
public enum BundleReader {
    /// What a bundle says: its summary recomputed from its files, its manifest's `id`, and (when
    /// asked for) every host's findings in the manifest's order.
    public struct Contents: Sendable {
        public var summary: FleetSummary
        public var id: String
        public var findings: [ParsedFindings]
    }

    public static func summary(_ dir: String, profiles: [ResolvedProfile]) throws(WardenError) -> FleetSummary {
        try contents(dir, profiles: profiles, keepingFindings: false).summary
    }

    public static func contents(_ dir: String, profiles: [ResolvedProfile], keepingFindings: Bool) throws(WardenError) -> Contents {
        func json(_ name: String) throws(WardenError) -> JSON {
            let path = dir + "/" + name
            do {
                return try JSON.parse(try BundleFiles.read(path, limit: BundleLayout.fileLimit))
            } catch let error as JSONParseError {
                throw WardenError(.malformed, file: path, line: error.line, column: error.column, "not JSON: \(error.message)")
            } catch let error as WardenError {
                throw error
            } catch {
                throw WardenError(.io, file: path, "\(error)")
            }
        }
        let manifest = try json(BundleLayout.manifest)
        guard let createdAt = manifest["created_at"]?.stringValue.flatMap({ Timestamp(rfc3339: $0) }),
            let maxAge = manifest["max_age"]?.stringValue.flatMap({ Durations.seconds($0) })
        else {
            throw WardenError(.malformed, file: dir + "/" + BundleLayout.manifest, field: "created_at", "expected created_at and max_age")
        }
        var inventory: Inventory?
        if manifest["inventory"]?.stringValue != nil {
            let path = dir + "/" + BundleLayout.inventory
            let bytes = try BundleFiles.read(path, limit: BundleLayout.fileLimit)
            guard let text = String(validating: bytes, as: UTF8.self) else { throw WardenError(.malformed, file: path, "not UTF-8 text") }
            inventory = try Inventory.parse(text, file: path, digester: .libcrypto)
        }
        var builder = FleetSummaryBuilder(profiles: profiles, inventory: inventory, createdAt: createdAt, maxAge: maxAge)
        var kept: [ParsedFindings] = []
        for host in manifest["hosts"]?.arrayValue ?? [] {
            guard let file = host["file"]?.stringValue, file.hasPrefix("findings/"), !file.contains("..") else { continue }
            let path = dir + "/" + file
            let envelope = try Envelope.decode(try BundleFiles.read(path, limit: BundleLayout.fileLimit), file: path)
            let findings = try Bundler.findings(of: envelope, file: path)
            builder.add(findings, keyID: envelope.signatures.first?.keyid ?? "", file: file)
            if keepingFindings { kept.append(findings) }
        }
        let stated = try json(BundleLayout.summary)
        var rejected: [Rejection] = []
        for (i, item) in (stated["rejected"]?.arrayValue ?? []).enumerated() {
            rejected.append(try Rejection(json: item, file: dir + "/" + BundleLayout.summary, field: "rejected[\(i)]"))
        }
        var superseded: [Superseded] = []
        for (i, item) in (stated["superseded"]?.arrayValue ?? []).enumerated() {
            superseded.append(try Superseded(json: item, file: dir + "/" + BundleLayout.summary, field: "superseded[\(i)]"))
        }
        return Contents(
            summary: builder.finish(rejected: rejected, superseded: superseded), id: manifest["id"]?.stringValue ?? "", findings: kept)
    }
}
