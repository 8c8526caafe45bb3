import ArgumentParser
import HostFacts
import Reports
import WardenCore
import WardenFormats
import WardenProfiles

struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List, show and lint profiles.",
        discussion:
            "The built-in profiles and control catalog are part of the warden binary; --profiles (or WARDEN_PROFILES) names another set.",
        subcommands: [List.self, Show.self, Lint.self, Coverage.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the profiles of the set (the built-in ones by default).")

        @Option(help: profileSetHelp)
        var profiles: String?

        func run() throws {
            try exiting {
                let store = try ProfileStore.selected(profiles)
                let catalog = try store.catalog(facts: ProbeRegistry.factTypes)
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
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a resolved profile: every control with its parameters.")

        @Argument(help: "A built-in profile id or a profile file.")
        var profile: String

        @Option(help: profileSetHelp)
        var profiles: String?

        func run() throws {
            try exiting {
                let (_, p) = try loadProfile(profile, set: profiles)
                var out =
                    "\(p.id) \(p.version): \(p.title)\nextends: \(p.chain.dropFirst().joined(separator: " → ").isEmpty ? "-" : p.chain.dropFirst().joined(separator: " → "))\nsha256: \(p.sha256)\n\n"
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
        static let configuration = CommandConfiguration(
            commandName: "lint",
            abstract: "Check a profile (and the control catalog) for errors; exit 65 with file:line:column when malformed.")

        @Argument(help: "A profile file or built-in id.")
        var profile: String

        @Option(help: profileSetHelp)
        var profiles: String?

        func run() throws {
            try exiting {
                let (_, p) = try loadProfile(profile, set: profiles)
                writeStdout("\(profile): ok (\(p.id) \(p.version), \(p.controls.count) controls)\n")
                return 0
            }
        }
    }

    struct Coverage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "coverage",
            abstract: "Which of RAND's host measures a profile's controls implement, support or stand in for.",
            discussion: """
                For each measure of RAND's Securing AI Model Weights (RR-A2849-1) up to the profile's level that concerns \
                one host: the controls that implement, support or proxy it; organisational (with what a reviewer should \
                ask the provider to attest); or not covered. Counts come first. The aliases R-n are Warden's.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, json, md
            // The raw values as they are (ArgumentParser's defaults describe each through reflection).
            static var allValueStrings: [String] { allCases.map(\.rawValue) }
            var defaultValueDescription: String { rawValue }
        }

        @Option(help: "A built-in profile id (sl3, sl4) or a path to a profile file.")
        var profile: String = "sl3"

        @Option(help: "Output format.")
        var format: Format = .text

        @Option(help: profileSetHelp)
        var profiles: String?

        func run() throws {
            try exiting {
                let (catalog, p) = try loadProfile(profile, set: profiles)
                guard let rand = catalog.rand else {
                    throw WardenError(.missing, field: "--profiles", "the profile set has no RAND catalogue (references/rand.yaml)")
                }
                let coverage = try RANDCoverage(profile: p, catalogue: rand)
                switch format {
                case .text: writeStdout(RANDCoverageReport.text(coverage))
                case .md: writeStdout(RANDCoverageReport.markdown(coverage))
                case .json: writeStdout(coverage.json.prettySerialized())
                }
                return 0
            }
        }
    }
}
