import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A small catalog and profiles, written inline, to test decoding errors precisely.
struct ProfileFixture {
    static let controls = """
        controls:
          - id: ACC-011
            title: SSH limits
            area: access
            severity: medium
            rationale: fewer guesses
            references: {nist: [AC-7]}
            parameters:
              max_tries: {type: int, description: largest MaxAuthTries}
              strict: {type: bool, description: also require more}
            check:
              all:
                - fact: sshd.settings.maxauthtries
                  lte: {param: max_tries}
                - fact: sshd.settings.strict
                  eq: "yes"
                  when: strict
            remediation: set MaxAuthTries
          - id: ENC-001
            title: Weights encrypted
            area: encryption
            severity: critical
            rationale: theft of disks
            references: {cop: [II.7.3]}
            check:
              every: storage.locations
              expect: {fact: .encrypted, eq: true}
              if_empty: error
              empty_reason: no weight locations registered or found
            remediation: use LUKS
        """

    static let knownFacts: Set<String> = ["sshd", "storage", "site"]

    static func catalog(_ text: String = controls) throws(WardenError) -> Catalog {
        try Catalog.load(files: [(path: "controls/test.yaml", text: text)], knownFacts: knownFacts, digester: .libcrypto)
    }

    static func resolve(_ name: String, _ files: [String: String], catalog: Catalog? = nil) throws(WardenError) -> ResolvedProfile {
        let c: Catalog
        if let catalog { c = catalog } else { c = try ProfileFixture.catalog() }
        return try ProfileLoader.resolve(name, catalog: c, digester: .libcrypto) {
            (n: String, _: String?) throws(WardenError) -> (path: String, text: String) in
            guard let text = files[n] else { throw WardenError(.missing, "no profile '\(n)'") }
            return ("\(n).yaml", text)
        }
    }
}

@Suite struct ProfileTests {
    let base = """
        id: base
        title: Base
        version: "1"
        controls:
          ACC-011:
            parameters: {max_tries: 4, strict: false}
          ENC-001: {}
        """

    @Test func extendsOverridesParametersAndKeepsTheRest() throws {
        let child = """
            id: child
            extends: base
            title: Child
            version: "2"
            controls:
              ACC-011:
                parameters: {strict: true}
                advisory: true
            """
        let p = try ProfileFixture.resolve("child", ["base": base, "child": child])
        #expect(p.chain == ["child", "base"])
        #expect(p.controls.map(\.definition.id) == ["ACC-011", "ENC-001"])
        let acc = p.controls[0]
        #expect(acc.parameters["max_tries"] == 4)
        #expect(acc.parameters["strict"] == true)
        #expect(acc.advisory)
        #expect(p.sha256.count == 64)
        #expect(p.sha256 != (try ProfileFixture.resolve("base", ["base": base])).sha256)
    }

    /// Each malformed input must fail with the file, the line and the field at fault.
    @Test(arguments: [
        // (profile text, expected line, expected fragment)
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols:\n  ACC-999: {}\n", 5, "unknown control 'ACC-999'"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols:\n  ACC-011:\n    parameters: {max_tries: four, strict: false}\n", 6, "must be int"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols:\n  ACC-011:\n    parameters: {max_trys: 4}\n", 6, "did you mean 'max_tries'"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols:\n  ACC-011: {}\n", 5, "does not set parameter"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrol:\n  ENC-001: {}\n", 4, "unknown key 'control' (did you mean 'controls'?)"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols: [\n", 5, "invalid YAML"),
        ("id: p\ntitle: T\nversion: \"1\"\ncontrols:\n  ENC-001: {advisory: maybe}\n", 5, "expected true or false"),
        ("id: P!\ntitle: T\nversion: \"1\"\ncontrols: {}\n", 1, "profile id"),
    ])
    func malformedProfile(text: String, line: Int, fragment: String) {
        let error = #expect(throws: WardenError.self) { try ProfileFixture.resolve("p", ["p": text]) }
        #expect(error?.code == .malformed)
        #expect(error?.file == "p.yaml")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func cyclicExtendsIsAnError() {
        let a = "id: a\nextends: b\ntitle: A\nversion: \"1\"\ncontrols: {}\n"
        let b = "id: b\nextends: a\ntitle: B\nversion: \"1\"\ncontrols: {}\n"
        let error = #expect(throws: WardenError.self) { try ProfileFixture.resolve("a", ["a": a, "b": b]) }
        #expect(error?.description.contains("cyclic 'extends': a → b → a") == true, "\(String(describing: error))")
        #expect(error?.file == "b.yaml")
        #expect(error?.line == 2)
    }

    @Test func missingParentIsNamedAtTheExtendsLine() {
        let a = "id: a\nextends: nowhere\ntitle: A\nversion: \"1\"\ncontrols: {}\n"
        let error = #expect(throws: WardenError.self) { try ProfileFixture.resolve("a", ["a": a]) }
        #expect(error?.line == 2)
        #expect(error?.description.contains("cannot find the profile 'nowhere'") == true)
    }

    @Test(arguments: [
        ("fact: sshd.settings.maxauthtries", "fact: shd.settings.maxauthtries", "unknown fact 'shd' (did you mean 'sshd'?)"),
        ("lte: {param: max_tries}", "lte: {param: max_trie}", "unknown parameter 'max_trie'"),
        ("lte: {param: max_tries}", "lte: five", "'lte' needs an integer"),
        ("lte: {param: max_tries}", "lte: 4\n          gte: 1", "only one comparison"),
        ("lte: {param: max_tries}", "lt3: 4", "unknown key 'lt3'"),
        ("when: strict", "when: max_tries", "'when' needs a bool parameter"),
        ("if_empty: error", "if_empty: maybe", "if_empty must be"),
        ("fact: .encrypted", "fact: .encrypted, nope: 1", "unknown key 'nope'"),
    ])
    func malformedControl(original: String, replacement: String, fragment: String) {
        let text = ProfileFixture.controls.replacingFirst(original, with: replacement)
        let error = #expect(throws: WardenError.self) { try ProfileFixture.catalog(text) }
        #expect(error?.code == .malformed)
        #expect(error?.file == "controls/test.yaml")
        #expect(error?.line != nil)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test func relativePathOutsideAQuantifierIsAnError() {
        let text = ProfileFixture.controls.replacingFirst("fact: sshd.settings.maxauthtries", with: "fact: .maxauthtries")
        let error = #expect(throws: WardenError.self) { try ProfileFixture.catalog(text) }
        #expect(error?.description.contains("relative to a list item") == true)
    }

    @Test func duplicateControlIsAnError() {
        let dup =
            ProfileFixture.controls + "\n" + ProfileFixture.controls.split(separator: "\n").dropFirst(1).prefix(19).joined(separator: "\n")
        let error = #expect(throws: WardenError.self) { try ProfileFixture.catalog(dup) }
        #expect(error?.description.contains("already defined") == true, "\(String(describing: error))")
    }
}
