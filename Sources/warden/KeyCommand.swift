import ArgumentParser
import Glibc
import WardenCore
import WardenFormats

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Inspect signing keys.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the keyid and public key of a signing key (the host key by default), for the inventory and --trust."
        )

        @Option(help: "A PEM private key file, a TPM TSS2 PEM, or handle:0x8100000N (tpm2 provider). Default: the host key.")
        var key: String?

        @Option(help: "The state directory holding the host key (default /var/lib/warden as root, else ~/.local/state/warden).")
        var stateDir: String?

        func run() throws {
            try exiting {
                let reference: String
                if let key {
                    reference = key
                } else {
                    reference = try StateDirectory.path(stateDir) + "/" + StateDirectory.hostKeyName
                    guard access(reference, F_OK) == 0 else {
                        throw WardenError(
                            .missing, file: reference, "no host key yet: the first 'warden audit' of this host creates it (or pass --key)")
                    }
                }
                let loaded = try loadKey(reference)
                writeStdout(describe(loaded, reference: reference))
                return 0
            }
        }
    }
}
