import ArgumentParser
import OpenSSLSigning
import WardenCore
import WardenFormats

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a signing key (PKCS#8 PEM, mode 0600) and print its keyid and public key.",
        discussion: """
            Never overwrites an existing file (exit 64). For a key held in a TPM, create it with \
            'openssl genpkey -provider tpm2 -algorithm EC -pkeyopt group:P-256' and pass it to --key.
            """
    )

    enum Algorithm: String, ExpressibleByArgument, CaseIterable {
        case ed25519
        case ecdsaP256 = "ecdsa-p256"
    }

    @Option(help: "Where to write the private key.")
    var output: String

    @Option(help: "ed25519 (default) or ecdsa-p256.")
    var algorithm: Algorithm = .ed25519

    func run() throws {
        try exiting {
            let chosen: KeyAlgorithm = algorithm == .ed25519 ? .ed25519 : .ecdsaP256
            let key = try keyOperation("--algorithm") { () throws(OpenSSLError) in try PrivateKey.generate(chosen) }
            try Interruption.critical { () throws(WardenError) in
                try keyOperation("--output") { () throws(OpenSSLError) in try key.writePEM(toNewFile: output) }
            }
            writeStdout(describe(key, reference: output))
            return 0
        }
    }
}
