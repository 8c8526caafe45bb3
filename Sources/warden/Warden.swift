import ArgumentParser
import CShim
import Glibc
import WardenCore
import WardenFormats

@main
struct Warden: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "warden",
        abstract:
            "Audits Linux hosts that store unreleased AI model weights with host controls that support a RAND SL3 or SL4 security goal.",
        version: version,
        subcommands: [
            Audit.self, Verify.self, BundleCommand.self, ReportCommand.self, Evaluate.self, Gap.self, Compare.self,
            HistoryCommand.self, Keygen.self, Key.self, Schedule.self, Profiles.self, Probes.self,
        ]
    )

    static func main() {
        Interruption.install()
        guard let arguments = processArguments() else {
            printError(
                "warden: cannot read the command line: the C library passed no argument vector and /proc/self/cmdline is unreadable; nothing was done"
            )
            Glibc.exit(Warden.noArgumentsExitCode)
        }
        main(Array(arguments.dropFirst()))
    }

    /// EX_OSERR: the arguments could not be read (never guessed: no arguments would mean `help`).
    static let noArgumentsExitCode: Int32 = 71

    /// The arguments as the process entry received them. Not `CommandLine.arguments`: on Linux
    /// Swift reads those from /proc/self/cmdline, and a root without /proc (a minimal chroot or
    /// container) would make every command look like a bare `warden`, which prints help and
    /// exits 0. Nil only when neither source has them.
    static func processArguments() -> [String]? {
        if let argv = warden_argv(), warden_argc() > 0 {
            return (0..<Int(warden_argc())).map { argv[$0].map { String(cString: $0) } ?? "" }
        }
        let fallback = CommandLine.arguments
        return fallback.isEmpty ? nil : fallback
    }
}

/// Writes to standard error (library code never prints; commands do).
func printError(_ message: String) {
    var line = message
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}

/// Writes bytes to standard output as they are.
func writeStdout(_ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n <= 0 {
            if errno == EINTR { continue }
            return
        }
        offset += n
    }
}

func writeStdout(_ text: String) { writeStdout(Array(text.utf8)) }

/// Runs a command body, turning a `WardenError` into its message on stderr and its exit code.
func exiting(_ body: () throws -> Int32) throws {
    let code: Int32
    do {
        code = try body()
    } catch let error as WardenError {
        printError("warden: \(error)")
        throw ExitCode(error.code.exitCode)
    }
    if code != 0 { throw ExitCode(code) }
}

/// The current time, or `--now` when a run must be reproducible.
func currentTime(_ override: String?) throws -> Timestamp {
    if let override {
        guard let t = Timestamp(rfc3339: override) else {
            throw WardenError(.usage, field: "--now", "expected an RFC 3339 time like 2026-11-29T08:00:00Z, found '\(override)'")
        }
        return t
    }
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(seconds: Int64(ts.tv_sec))
}
