internal import HostFacts
internal import OpenSSLSigning
internal import WardenCore
internal import WardenFormats
internal import WardenProfiles

/// Fuzz targets for the documents Warden reads from people and other machines: profiles and
/// control catalogs, site files, findings.
enum DocumentTargets {
    static let store = ProfileStore.builtIn

    static let catalog: Catalog = {
        do { return try store.catalog(facts: ProbeRegistry.factTypes) } catch { fatalError("the built-in catalog does not load: \(error)") }
    }()

    static let sl3: ResolvedProfile = {
        do { return try store.resolve("sl3", catalog: catalog) } catch { fatalError("sl3 does not resolve: \(error)") }
    }()

    static let now = Timestamp(rfc3339: "2026-11-29T12:00:00Z")!

    /// The input as a control file, and as a profile over the built-in catalog (which may extend
    /// the built-in profiles, or itself).
    static func profileYAML(_ bytes: [UInt8]) {
        let input = text(bytes)
        _ = try? Catalog.load(files: [("fuzz/controls.yaml", input)], facts: ProbeRegistry.factTypes, digester: .libcrypto)
        let resolved = try? ProfileLoader.resolve("fuzz.yaml", catalog: catalog, digester: .libcrypto) {
            (name: String, _: String?) throws(WardenError) -> (path: String, text: String) in
            if name == "fuzz.yaml" { return ("fuzz.yaml", input) }
            guard ["sl3", "sl4"].contains(name), let file = try store.profileFile(name) else {
                throw WardenError(.missing, "no profile '\(name)'")
            }
            return file
        }
        if let resolved {
            _ = resolved.sha256
            _ = Evaluator.evaluate(resolved, facts: FactSet(mode: .offline), now: now)
        }
    }

    static func siteYAML(_ bytes: [UInt8]) {
        guard let site = try? Site.parse(text(bytes), file: "site.yaml", digester: .libcrypto) else { return }
        _ = site.json.serialized()
    }

    /// JSON must round-trip (parse ∘ serialise is the identity on what parses); a findings
    /// document that reads must re-evaluate.
    static func findingsJSON(_ bytes: [UInt8]) throws(InvariantViolation) {
        // A value left unbuilt is checked as strictly as a built one: the same inputs are refused
        // (not always with the same message: a built object finds a repeated key only at its end).
        let unbuilt =
            (try? JSON.parse(
                bytes, omitting: [["predicate", "results"], ["predicate", "facts", "files"], ["results"], ["facts", "files"]])) != nil
        guard let json = try? JSON.parse(bytes) else {
            try require(!unbuilt, "a document refused when built must be refused with parts left unbuilt")
            return
        }
        try require(unbuilt, "a document accepted when built must be accepted with parts left unbuilt")
        let compact = json.serialized()
        try require((try? JSON.parse(compact)) == json, "serialised JSON must parse back to the same value")
        try require((try? JSON.parse(json.prettySerialized())) == json, "pretty JSON must parse back to the same value")
        guard let findings = try? ParsedFindings(json: json, file: "findings.json") else { return }
        _ = findings.conformant
        let results = Evaluator.evaluate(sl3, facts: findings.facts, now: now)
        _ = Comparison(findings, findings).json.serialized()
        _ = results.count
    }
}
