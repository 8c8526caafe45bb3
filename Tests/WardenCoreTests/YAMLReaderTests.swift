import Glibc
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport
import Yams

/// Warden reads YAML itself; libyaml (through Yams) is the reference. For every YAML file in the
/// repository and for a corpus of the constructs configuration uses, both must give the same tree:
/// the same kinds, scalar texts, scalar styles (plain or not) and positions. Input libyaml refuses,
/// Warden refuses too; what Warden refuses on purpose (anchors, tags, several documents...) it
/// refuses with where.
@Suite struct YAMLReaderTests {
    /// A canonical rendering of a tree: one line per node, with its position (empty scalars,
    /// which have no text to point at, without).
    static func render(_ node: YAMLNode, into out: inout [String], depth: Int = 0) {
        let pad = String(repeating: " ", count: depth * 2)
        switch node.value {
        case .scalar(let text, let plain):
            let at = text.isEmpty && plain ? "" : " @\(node.line):\(node.column)"
            out.append("\(pad)\(plain ? "plain" : "styled") \(text.debugDescription)\(at)")
        case .sequence(let items):
            out.append("\(pad)sequence @\(node.line):\(node.column)")
            for item in items { render(item, into: &out, depth: depth + 1) }
        case .mapping(let pairs):
            out.append("\(pad)mapping @\(node.line):\(node.column)")
            for (k, v) in pairs {
                render(k, into: &out, depth: depth + 1)
                render(v, into: &out, depth: depth + 2)
            }
        }
    }

    static func render(_ node: Yams.Node, into out: inout [String], depth: Int = 0) {
        let pad = String(repeating: " ", count: depth * 2)
        let mark = node.mark.map { " @\($0.line):\($0.column)" } ?? " @?"
        switch node {
        case .scalar(let s):
            let plain = s.style == .plain || s.style == .any
            out.append("\(pad)\(plain ? "plain" : "styled") \(s.string.debugDescription)\(s.string.isEmpty && plain ? "" : mark)")
        case .sequence(let items):
            out.append("\(pad)sequence\(mark)")
            for item in items { render(item, into: &out, depth: depth + 1) }
        case .mapping(let pairs):
            out.append("\(pad)mapping\(mark)")
            for (k, v) in pairs {
                render(k, into: &out, depth: depth + 1)
                render(v, into: &out, depth: depth + 2)
            }
        case .alias:
            out.append("\(pad)alias")
        }
    }

    /// Both readers' results: the rendered tree (empty for an empty document), or nil for an error.
    static func both(_ text: String) -> (ours: [String]?, libyaml: [String]?, error: String?) {
        let r = bothWithReason(text)
        return (r.ours, r.libyaml, r.error)
    }

    static func bothWithReason(_ text: String) -> (ours: [String]?, libyaml: [String]?, error: String?, libyamlError: String?) {
        var ours: [String]?
        var theirs: [String]?
        var error: String?
        var libyamlError: String?
        do {
            var lines: [String] = []
            if let root = try YAML.parse(text) { render(root, into: &lines) }
            ours = lines
        } catch let e {
            error = e.description
        }
        do {
            var lines: [String] = []
            if let root = try Yams.compose(yaml: text, .basic) { render(root, into: &lines) }
            theirs = lines
        } catch let e {
            libyamlError = "\(e)"
        }
        return (ours, theirs, error, libyamlError)
    }

    static let corpus: [String] = [
        "a: 1\nb: [x, y]\nc: {d: e}\n",
        "- a\n- b\n-\n  - c\n",
        "key:\n- a\n- b\nk2: v\n",
        "a:\n  b:\n    c: d\n  e: f\ng: h\n",
        "- a: 1\n  b: 2\n- c: 3\n",
        "- - a\n  - b\n- c\n",
        "-   spaced\n-  x\n",
        "k: |\n  line1\n  line2\n\n  line4\n",
        "k: >\n  folded\n  text\n\n  para\n    more\n  back\n",
        "k: |-\n  x\n\n",
        "k: |+\n  x\n\n\nl: 1\n",
        "k: >-\n  a\n  b\n",
        "k: |2\n    indented\n  x\n",
        "k: |\n   x\n  \n   y\n",
        "k: |\n  a\n\n",
        "- |\n  a\n- >\n  b\n- |-\n  c\n",
        "k: >\n\n  after empty\n",
        "k: 'it''s'\n",
        "k: \"esc \\t \\u00e9 \\x41 \\\\ \\\" \\/ \\N \\_ \\0\"\n",
        "k: \"multi\n  line\n\n  para\"\n",
        "k: \"x\\\n  y\"\n",
        "k: 'x\n\n  y'\n",
        "k: \"trailing   \n  lead\"\n",
        "k: plain\n  continued\n\n  para\n",
        "- plain\n  item\n- next\n",
        "k: a # comment\n# full line\nl: b # another\n",
        "url: http://x:80/a#frag\n",
        "- {a: 1, b: [2, 3], c: }\n",
        "[a, b, ]\n",
        "{a: [1, {b: c}], 'q': \"d\"}\n",
        "a: [1,\n  2,\n  3]\n",
        "a: {x: 1,\n  y: 2}\n",
        "a: [one two, three\n  four]\n",
        "a: [x:y, 'z']\n",
        "a: [\"q\", 'r', [], {}]\n",
        "{a, b: c}\n",
        "---\na: 1\n...\n",
        "--- text\n",
        "--- |\n  block\n",
        "--- [a, b]\n",
        "---\n# nothing\n",
        "\"quoted key\": v\n'single': w\n\"k\" : spaced\n",
        "key with spaces: v\n",
        "a: -1\nb: 0o7\nc: ~\nd: -\n",
        "a: é ü\nb: ✓ 日本\n",
        "\u{FEFF}a: 1\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1\rb: 2\r",
        "# only a comment\n",
        "",
        "   \n\n",
        "a:\n",
        "a:    \n  # c\nb: 1\n",
        "a: b\n\n\nc: d\n",
        "[a, [b, [c]]]\n",
        "a: \"\"\nb: ''\n",
        "just a scalar\n",
        "multi\nline\nscalar\n",
        "  indented: root\n  second: key\n",
        "a:\n    - deep\n    - list\nb: 1\n",
        "a:\n  - b: 1\n    c: 2\n  - d\n",
        "a: -x\nb: ?y\nc: :z\n",
        "k: v:w\n",
        "k: 'a: b'\n",
        "k: [a, b]   # trailing comment\n",
        "- # comment after dash\n  value\n",
        "k: # comment\n  value\n",
        "a: |\n  x\n  y\nb: >\n  z\n",
        "k: \"\\u263A \\U0001F600\"\n",
        "k:\ttabbed value\n",
        "a: 1\n...\n# after end\n",
        "k: >\n  a\n\n\n  b\n",
        "k: >\n  a\n   more\n  b\n",
        "k: |\n\n\n  late\n",
        "- a\n-\n- b\n",
        "a: [\n  b,\n  c\n]\n",
        "k: x #not a comment#\n",
        "k: a#b\n",
        "controls:\n  ACC-001: {parameters: {allowed: [root, 'user:mlsvc']}}\n  ACC-002:\n    advisory: true\n",
        // Refused by both.
        "a: x: y\n",
        "a: [b\n",
        "a: {b: c\n",
        "a: 'b\n",
        "a: \"b\n",
        "\ta: b\n",
        "a: \"\\q\"\n",
        "a:\n  b: 1\n c: 2\n",
        "a: 1\n  b: 2\n",
        "- a\nb: c\n",
        "a: b\n- c\n",
        "[a, , b]\n",
        "k: \"\\x4\"\n",
        "a: 1\u{7}\n",
        "a: |0\n  x\n",
        "a: ]\n",
        // A tab where a block scalar's indentation is still being read (found by the mutation test).
        "a: >-\n     \t x\n",
        "a: |\n  x\n \ty\n",
        "a: |\n\t\n  x\n",
    ]

    @Test(arguments: corpus)
    func sameTreeAsLibyaml(_ text: String) {
        let (ours, theirs, error) = Self.both(text)
        if theirs == nil {
            #expect(ours == nil, "libyaml refuses \(text.debugDescription); Warden read \(ours ?? [])")
        } else {
            #expect(
                ours == theirs,
                "\(text.debugDescription): Warden \(error ?? "")\n\((ours ?? []).joined(separator: "\n"))\nlibyaml\n\((theirs ?? []).joined(separator: "\n"))"
            )
        }
    }

    /// Every YAML file in the repository: profiles, controls, fixtures' site files and inventories.
    @Test func everyYAMLFileOfTheRepository() throws {
        let found = run("/usr/bin/find", [Package.root + "/Profiles", Package.root + "/Tests", "-name", "*.yaml", "-type", "f"])
        let files = found.stdout.split(separator: "\n").map(String.init).sorted()
        #expect(files.count >= 15)
        for file in files {
            let text = try LocalTestFile.read(file)
            let (ours, theirs, error) = Self.both(text)
            if theirs == nil {
                #expect(ours == nil, "\(file): libyaml refuses it; Warden read it")
            } else {
                #expect(ours == theirs, "\(file): \(error ?? "different trees")")
            }
        }
    }

    @Test(
        arguments: [
            ("a: &x 1\nb: *x\n", 1, 4, "anchors"),
            ("b: *x\n", 1, 4, "aliases"),
            ("a: !!str 1\n", 1, 4, "tags"),
            ("? a\n: b\n", 1, 1, "complex mapping keys"),
            ("[a, b]: c\n", 1, 1, "complex mapping keys"),
            ("%YAML 1.1\n---\na: 1\n", 1, 1, "directives"),
            ("a: 1\n---\nb: 2\n", 2, 1, "more than one YAML document"),
            ("a: [b: c]\n", 1, 6, "inside a flow list"),
            ("k: - a\n", 1, 4, "cannot start on the line of its key"),
            ("a: 1\n\tb: 2\n", 2, 1, "tabs are not allowed in indentation"),
            ("-\tx\n", 1, 2, "a tab after '-'"),
            ("a: \"x\"y\n", 1, 7, "unexpected content after the value"),
            (String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "\n", 1, 64, "nested more than 64 levels"),
        ] as [(String, Int, Int, String)])
    func refusedWithWhere(_ text: String, _ line: Int, _ column: Int, _ fragment: String) {
        do {
            let root = try YAML.parse(text)
            Issue.record("\(text.debugDescription) was read: \(String(describing: root))")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.problem.contains(fragment), "\(error)")
        }
    }

    /// Hostile input ends in a tree or an error, quickly: no recursion without bound, no quadratic
    /// scans over long lines.
    @Test func hostileInputIsBounded() {
        var deep = ""
        for i in 0..<200 { deep += String(repeating: " ", count: i) + "- \n" }
        #expect(throws: YAMLSyntaxError.self) { try YAML.parse(deep + String(repeating: " ", count: 200) + "x\n") }
        let long = "k: " + String(repeating: "a", count: 1 << 20) + "\n"
        guard case .mapping(let pairs)? = (try? YAML.parse(long))?.value, case .scalar(let text, _) = pairs[0].value.value else {
            Issue.record("a long scalar was not read")
            return
        }
        #expect(text.utf8.count == 1 << 20)
    }
}

/// Reads a test input file as text.
enum LocalTestFile {
    static func read(_ path: String) throws -> String {
        guard let f = fopen(path, "rb") else { throw POSIXFailure(path: path) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct POSIXFailure: Error {
    var path: String
}

/// Mutations of the repository's YAML files (a fixed-seed generator, so every run checks the
/// same inputs): wherever libyaml reads a mutant, Warden must read the same tree or refuse one of
/// the constructs it refuses on purpose; wherever libyaml refuses one, Warden must refuse it too.
@Suite struct YAMLMutationTests {
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let refusedOnPurpose = [
        "anchors", "aliases", "tags", "complex mapping keys", "directives", "more than one YAML document",
        "inside a flow list", "tab", "reserved", "cannot start", "cannot be inside", "nested more than",
        "starts on the line after '---'", "after the end of the document", "key is missing", "on the line of its key",
        // libyaml takes `key:` followed by `|` at the key's own indentation; YAML does not.
        "indented more than its key",
    ]

    /// The lines of a mutant around where the two trees first differ (or its first lines).
    static func excerpt(_ text: String, _ ours: [String], _ theirs: [String]) -> String {
        let first = Array(zip(ours, theirs)).firstIndex { $0.0 != $0.1 } ?? min(ours.count, theirs.count)
        let at =
            (first < ours.count ? ours[first] : first < theirs.count ? theirs[first] : "").split(separator: "@").last
            .flatMap { Int($0.split(separator: ":").first ?? "") } ?? 1
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let range = max(0, at - 4)..<min(lines.count, at + 2)
        return range.map { "\($0 + 1)| \(lines[$0].debugDescription)" }.joined(separator: "\n")
            + "\n  Warden:  \(first < ours.count ? ours[first] : "-")\n  libyaml: \(first < theirs.count ? theirs[first] : "-")"
    }

    @Test func mutantsReadAsLibyamlReadsThem() throws {
        let found = run("/usr/bin/find", [Package.root + "/Profiles", Package.root + "/Tests/Fixtures", "-name", "*.yaml", "-type", "f"])
        let files = found.stdout.split(separator: "\n").map(String.init).sorted()
        let pieces: [[UInt8]] = [
            " ", "\n", ":", ": ", "- ", "-", "#", " #", "'", "\"", "[", "]", "{", "}", ",", "|", ">", "\t", "\\", "  ", "|-\n", "? ",
            "...\n", "---\n", "x",
        ].map { Array($0.utf8) }
        var rng = Generator(state: 0x5741_5244_454E)
        var checked = 0
        var divergent: [String] = []
        for file in files {
            let original = Array(try LocalTestFile.read(file).utf8)
            guard !original.isEmpty else { continue }
            for _ in 0..<600 {
                var bytes = original
                for _ in 0..<(1 + rng.next(3)) {
                    let at = rng.next(bytes.count + 1)
                    switch rng.next(3) {
                    case 0: if at < bytes.count { bytes.remove(at: at) }
                    case 1: bytes.insert(contentsOf: pieces[rng.next(pieces.count)], at: at)
                    default:
                        // Re-indent a line: add or remove leading spaces.
                        let start = bytes[..<min(at, bytes.count)].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
                        if rng.next(2) == 0 {
                            bytes.insert(contentsOf: [0x20, 0x20], at: start)
                        } else if start < bytes.count, bytes[start] == 0x20 {
                            bytes.remove(at: start)
                        }
                    }
                }
                let text = String(decoding: bytes, as: UTF8.self)
                let (ours, theirs, error, libyamlError) = YAMLReaderTests.bothWithReason(text)
                checked += 1
                // Duplicate keys are Yams' own check, not libyaml's; Warden refuses them when it
                // reads the mapping (YNode), with the key's position.
                if libyamlError?.contains("duplicated key") == true { continue }
                if let theirs {
                    if ours != theirs && !(ours == nil && Self.refusedOnPurpose.contains { error?.contains($0) == true }) {
                        let line = error.flatMap { Int($0.split(separator: ":").first ?? "") }
                        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                        let excerpt = line.map { l in
                            (max(0, l - 4)..<min(lines.count, l + 2)).map { "\($0 + 1)| \(lines[$0].debugDescription)" }.joined(
                                separator: "\n")
                        }
                        divergent.append("\(excerpt ?? Self.excerpt(text, ours ?? [], theirs))\nWarden: \(error ?? "a different tree")")
                    }
                } else if ours != nil {
                    let line =
                        libyamlError.flatMap { e in e.split(separator: "\n").first.flatMap { Int($0.split(separator: ":").first ?? "") } }
                        ?? 1
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    let excerpt = (max(0, line - 4)..<min(lines.count, line + 2)).map { "\($0 + 1)| \(lines[$0].debugDescription)" }.joined(
                        separator: "\n")
                    divergent.append(
                        "\(excerpt)\nlibyaml refuses it (\(libyamlError?.split(separator: "\n").first ?? "")); Warden reads it")
                }
            }
        }
        #expect(checked > 2000)
        #expect(
            divergent.isEmpty,
            "\(divergent.count) of \(checked) mutants read differently:\n\(divergent.prefix(12).joined(separator: "\n\n"))")
    }
}
