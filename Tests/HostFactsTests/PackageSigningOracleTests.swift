import Glibc
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// Differential tests of PackageSigningProbe against apt 2.6 itself in the Debian 12 root
/// (docs/DAEMON-SEMANTICS.md, "Package and image signatures"):
///
/// - **Which sources apt reads**: `apt-get indextargets --no-release-info` names, for every index
///   it would fetch, the entry it comes from (`Sourcesentry: FILE:LINE`), its URI and suite; on
///   generated sources.list and sources.list.d trees Warden must find the same entries, and where
///   apt refuses the list Warden must report an error (never a list apt would not use).
/// - **Booleans**: `apt-config shell … NAME/b` reads a value with apt's `FindB`, the function the
///   apt.conf options and the `trusted` and `allow-*` source options go through; on every value
///   below it must agree with `PackageSigningProbe.aptBool`.
@Suite struct PackageSigningOracleTests {
    static let sourceCases: [(name: String, files: [String: String])] = [
        ("one-line", ["sources.list": "deb http://a.example/d bookworm main\ndeb-src http://a.example/d bookworm main\n"]),
        ("options", ["sources.list.d/v.list": "deb [arch=amd64 trusted=yes] http://a.example/d stable main # vendor\n"]),
        ("spaced-options", ["sources.list.d/v.list": "deb [ trusted=yes  allow-weak=yes ] http://a.example/d stable main\n"]),
        ("comments", ["sources.list": "# deb http://b.example/d x main\n\n   \ndeb http://a.example/d bookworm main\n"]),
        (
            "deb822",
            [
                "sources.list.d/d.sources":
                    "Types: deb deb-src\nURIs: http://a.example/d\nSuites: bookworm bookworm-updates\nComponents: main\nTrusted: yes\n\nTypes: deb\nURIs: http://b.example/d\nSuites: s\nComponents: main\n"
            ]
        ),
        (
            "deb822-disabled",
            [
                "sources.list.d/d.sources":
                    "Enabled: no\nTypes: deb\nURIs: http://a.example/d\nSuites: s\nComponents: main\n\nTypes: deb\nURIs: http://b.example/d\nSuites: s\nComponents: main\nEnabled: yes\n"
            ]
        ),
        (
            "deb822-case-and-comments",
            ["sources.list.d/d.sources": "# header\ntypes: deb\n# inside\nuris: http://a.example/d\nsuites: s\ncomponents: main\n"]
        ),
        (
            "names-apt-skips",
            [
                "sources.list.d/x.list.save": "deb http://a.example/d s main\n",
                "sources.list.d/.hidden.list": "deb http://a.example/d t main\n",
                "sources.list.d/ok.list": "deb http://b.example/d s main\n", "sources.list.d/a:b.list": "deb http://c.example/d s main\n",
                "sources.list.d/has space.list": "deb http://d.example/d s main\n",
                "sources.list.d/noext": "deb http://e.example/d s main\n",
            ]
        ),
        (
            "cdrom-and-quotes",
            [
                "sources.list":
                    "deb cdrom:[Debian GNU/Linux 12.0.0 _Bookworm_ - Official amd64 DVD Binary-1 20230610-10:23]/ bookworm main\ndeb \"http://a.example/d\" s main\n"
            ]
        ),
        ("unknown-type", ["sources.list": "rpm http://a.example/d s main\n"]),
        ("unterminated-options", ["sources.list": "deb [trusted=yes http://a.example/d s main\n"]),
        ("option-without-value", ["sources.list": "deb [trusted=] http://a.example/d s main\n"]),
        ("no-component", ["sources.list": "deb http://a.example/d s\n"]),
        ("flat", ["sources.list": "deb [trusted=yes] file:/srv/repo ./\n"]),
        ("flat-with-component", ["sources.list": "deb file:/srv/repo ./ main\n"]),
        ("deb822-no-components", ["sources.list.d/d.sources": "Types: deb\nURIs: http://a.example/d\nSuites: s\n"]),
        ("deb822-flat", ["sources.list.d/d.sources": "Types: deb\nURIs: file:/srv/repo\nSuites: ./\nTrusted: yes\n"]),
        ("no-suite", ["sources.list": "deb http://a.example/d\n"]),
        ("deb822-no-suites", ["sources.list.d/d.sources": "Types: deb\nURIs: http://a.example/d\nComponents: main\n"]),
    ]

    @Test func sourcesAreAptsOwn() throws {
        let root = try RealRoots.debian12()
        let layer = TempTree(prefix: "warden-apt-sources")
        for (name, files) in Self.sourceCases {
            layer.directory("cases/\(name)/sources.list.d")
            for (file, text) in files { layer.file("cases/\(name)/\(file)", text) }
        }
        let script = """
            for d in /cases/*; do
              rm -rf /etc/apt/sources.list.d /etc/apt/sources.list
              cp -a "$d/sources.list.d" /etc/apt/sources.list.d
              [ -f "$d/sources.list" ] && cp "$d/sources.list" /etc/apt/sources.list
              echo "=== ${d##*/}"
              apt-get indextargets --no-release-info --format '$(SOURCESENTRY) $(REPO_URI) $(RELEASE)' 2>/dev/null; echo "rc=$?"
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var tool: [String: (rc: Int, entries: Set<String>)] = [:]
        var current = ""
        for line in r.stdout.split(separator: "\n").map(String.init) {
            if line.hasPrefix("=== ") {
                current = String(line.dropFirst(4))
                tool[current] = (-1, [])
            } else if line.hasPrefix("rc=") {
                tool[current]?.rc = Int(line.dropFirst(3)) ?? -1
            } else {
                tool[current]?.entries.insert(Self.key(line))
            }
        }
        for (name, files) in Self.sourceCases {
            let tree = TempTree(prefix: "warden-apt-sources-case")
            tree.directory("etc/apt/sources.list.d")
            for (file, text) in files { tree.file("etc/apt/\(file)", text) }
            let items = PackageSigningProbe.sources(try HostRoot(tree.path)).arrayValue ?? []
            let t = try #require(tool[name], "apt said nothing for \(name)")
            let errors = items.filter { $0["error"] != nil }
            if t.rc != 0 {
                #expect(!errors.isEmpty, "\(name): apt refuses it (exit \(t.rc)); Warden read \(items)")
                continue
            }
            #expect(errors.isEmpty, "\(name): apt accepts it; Warden: \(errors)")
            let warden = Set(
                items.compactMap { item -> String? in
                    guard let source = item["unauthenticated"]?["source"]?.stringValue, let uri = item["uri"]?.stringValue,
                        let suite = item["suite"]?.stringValue
                    else { return nil }
                    return Self.key("\(source) \(uri) \(suite)")
                })
            #expect(warden == t.entries, "\(name): apt reads \(t.entries.sorted()), Warden \(warden.sorted())")
        }
    }

    /// `FILE:LINE URI SUITE` without the URI's final slash; a deb822 entry by its file alone,
    /// since apt names the stanza's first line and Warden the line of the option that opens it.
    static func key(_ line: String) -> String {
        // The URI may hold blanks (`cdrom:[Debian GNU/Linux 12 …]/`): the entry is the first
        // word and the suite the last.
        let words = line.split(separator: " ").map(String.init)
        guard words.count >= 3 else { return line }
        var parts = [words[0], words[1..<(words.count - 1)].joined(separator: " "), words[words.count - 1]]
        if parts[0].contains(".sources:"), let colon = parts[0].lastIndex(of: ":") { parts[0] = String(parts[0][..<colon]) }
        while parts[1].hasSuffix("/") { parts[1].removeLast() }
        // apt writes a URI without `//` after the scheme with them (`cdrom:[…]/`).
        if parts[1].hasPrefix("cdrom://") { parts[1] = "cdrom:" + parts[1].dropFirst(8) }
        return parts.joined(separator: " ")
    }

    static let booleans = [
        "yes", "Yes", "TRUE", "true", "with", "on", "enable", "1", "0x1", "01", "no", "false", "OFF", "without", "disable", "0", "00",
        "2", "-1", "maybe", "y", "t",
    ]

    @Test func booleansAreAptsOwn() throws {
        let root = try RealRoots.debian12()
        let layer = TempTree(prefix: "warden-apt-bool")
        for (i, value) in Self.booleans.enumerated() {
            layer.file("cases/\(i)", "Acquire::AllowInsecureRepositories \"\(value)\";\n")
        }
        let script = """
            i=0
            while [ -f /cases/$i ]; do
              cp /cases/$i /etc/apt/apt.conf.d/99case
              echo "=== $i"
              apt-config shell K Acquire::AllowInsecureRepositories/b
              i=$((i+1))
            done
            """
        let r = withExtendedLifetime(layer) { RealRoots.inRoot(root, layers: [layer.path], ["/bin/sh", "-c", script], timeout: 300) }
        try #require(r.status == 0, "in-root: \(r.stderr)")
        var apt: [Int: String] = [:]
        var current = -1
        for line in r.stdout.split(separator: "\n") {
            if line.hasPrefix("=== ") {
                current = Int(line.dropFirst(4)) ?? -1
            } else if line.hasPrefix("K=") {
                apt[current] = String(line)
            }
        }
        for (i, value) in Self.booleans.enumerated() {
            let tool = try #require(apt[i], "apt-config said nothing for '\(value)'")
            #expect(
                tool == (PackageSigningProbe.aptBool(value, default: false) ? "K='true'" : "K='false'"),
                "'\(value)': apt-config \(tool), Warden \(PackageSigningProbe.aptBool(value, default: false))")
        }
    }
}
