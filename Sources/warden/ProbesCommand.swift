import ArgumentParser
import HostFacts

struct Probes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "List the probes: what each reads and which facts it produces.",
        subcommands: [List.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List every probe.")

        func run() throws {
            var out = ""
            for p in ProbeRegistry.all {
                out += "\(p.name): \(p.summary)\n  facts: \(p.produces.joined(separator: ", "))\n"
                for r in p.reads { out += "  reads: \(r)\n" }
            }
            for (name, text) in ProbeRegistry.builtInFacts.sorted(by: { $0.key < $1.key }) {
                out += "(built in): \(text)\n  facts: \(name)\n"
            }
            writeStdout(out)
        }
    }
}
