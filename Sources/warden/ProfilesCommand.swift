import ArgumentParser
import HostFacts
import WardenCore

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, show, lint and compile profiles.",
        subcommands: [List.self, Show.self, Lint.self, Compile.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the built-in profiles.")

        func run() throws {
            try exiting {
                let store = try ProfileStore.builtIn()
                let catalog = try store.catalog(knownFacts: ProbeRegistry.factNames)
                for id in store.profileIDs {
                    let p = try store.resolve(id, catalog: catalog)
                    let advisory = p.controls.filter(\.advisory).count
                    writeStdout("\(p.id)\t\(p.version)\t\(p.controls.count) controls (\(advisory) advisory)\t\(p.title)\n")
                }
                return 0
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a resolved profile: every control with its parameters.")

        @Argument(help: "A built-in profile id or a profile file.")
        var profile: String

        func run() throws {
            try exiting {
                let store = try ProfileStore.builtIn()
                let p = try store.resolve(profile, catalog: try store.catalog(knownFacts: ProbeRegistry.factNames))
                var out = "\(p.id) \(p.version): \(p.title)\nextends: \(p.chain.dropFirst().joined(separator: " → ").isEmpty ? "-" : p.chain.dropFirst().joined(separator: " → "))\nsha256: \(p.sha256)\n\n"
                for c in p.controls {
                    let d = c.definition
                    out += "\(d.id) [\(d.severity.rawValue)]\(c.advisory ? " (advisory)" : "") \(d.title)\n"
                    for (k, v) in c.parameters.sorted(by: { $0.key < $1.key }) { out += "    \(k) = \(v.compactString)\n" }
                    if let r = c.rationale { out += "    rationale: \(r)\n" }
                }
                writeStdout(out)
                return 0
            }
        }
    }

    struct Lint: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lint", abstract: "Check a profile (and the control catalog) for errors; exit 65 with file:line:column when malformed.")

        @Argument(help: "A profile file or built-in id.")
        var profile: String

        func run() throws {
            try exiting {
                let store = try ProfileStore.builtIn()
                let p = try store.resolve(profile, catalog: try store.catalog(knownFacts: ProbeRegistry.factNames, compiled: false))
                writeStdout("\(profile): ok (\(p.id) \(p.version), \(p.controls.count) controls)\n")
                return 0
            }
        }
    }

    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compile",
            abstract: "Check the control catalog and the built-in profiles and write them compiled, so that audits start faster.",
            discussion: """
                Audits use the compiled catalog only while it matches the YAML files it was compiled \
                from (their SHA-256) and this Warden's facts, and a compiled profile only while its \
                digest over that catalog and its own files is unchanged; after any edit they read the \
                YAML again until the catalog is compiled anew.
                """
        )

        @Option(help: "Where to write it (default: catalog.compiled.json in the profiles directory).")
        var output: String?

        func run() throws {
            try exiting {
                let store = try ProfileStore.builtIn()
                let path = output ?? store.compiledCatalogPath
                let (catalog, profiles) = try store.compile(knownFacts: ProbeRegistry.factNames, to: path)
                writeStdout("\(path): \(catalog.controls.count) controls and the profiles \(profiles.joined(separator: ", ")) compiled from \(store.directory) (catalog sha256 \(catalog.digest))\n")
                return 0
            }
        }
    }
}
