import HostFacts
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Inputs that crashed a parser (issue 8), each minimised, kept so the crash stays fixed. Run the
/// fuzzers with `Scripts/fuzz`; a new crash lands in Fuzz/crashes/TARGET, and belongs here as a
/// test of the behaviour and in Fuzz/Regressions/TARGET as an input (Tests/FuzzTests replays it
/// through its fuzz target).
@Suite struct FuzzRegressionTests {
    /// `capi:` with `)` before `(` made an inverted range and trapped (found reading
    /// LUKSHeader.strength for the luks target).
    @Test(arguments: ["capi:)(", "capi:)xts(aes", "capi:xts(aes", "capi:("])
    func kernelCryptoAPICipherWithoutAClosingParenthesisIsJudgedNotACrash(cipher: String) {
        let s = LUKSHeader.strength(cipher: cipher, keyBytes: 64)
        // Not a family ENC-002 accepts, so the volume fails rather than passing on a guess.
        #expect(s.family.hasPrefix("capi:"))
        #expect(!["aes", "adiantum", "chacha20", "xchacha20"].contains(s.family))
    }

    @Test func kernelCryptoAPIFormStillParses() {
        let s = LUKSHeader.strength(cipher: "capi:xts(aes)-plain64", keyBytes: 64)
        #expect(s.family == "aes" && s.mode == "xts-plain64" && s.securityBits == 256)
    }

    /// Thirteen `1099511627775w` terms overflowed Int64 while summing (sshd_config target).
    /// sshd itself refuses a total above INT_MAX (it will not start); so does Warden.
    @Test func clientAliveIntervalBeyondWhatSSHDAcceptsIsNotANumberNotACrash() throws {
        let tree = TempTree()
        let huge = String(repeating: "1099511627775w", count: 13)
        tree.file("etc/ssh/sshd_config", "ClientAliveInterval \(huge)\nClientAliveCountMax 2\nMaxAuthTries 3\n")
        let result = try audit(root: tree.path, probes: [SSHDConfigProbe()])
        guard case .unavailable(let u)? = result.facts["sshd"] else {
            Issue.record("sshd refuses this; so must Warden")
            return
        }
        #expect(
            u.reason.hasPrefix(
                "sshd would refuse this configuration: /etc/ssh/sshd_config:1, ClientAliveInterval, \(huge) (invalid time value)"))
        #expect(result.findings["ACC-011"].status == .error)
    }

    @Test(
        arguments: [
            ("2147483647", Int64(2_147_483_647)), ("2147483648", nil), ("68w", 41_126_400), ("3550w", 2_147_040_000), ("3551w", nil),
            ("1h30m", 5400),
        ] as [(String, Int64?)])
    func sshdTimesAreLimitedLikeSSHD(text: String, seconds: Int64?) throws {
        let tree = TempTree()
        tree.file("etc/ssh/sshd_config", "ClientAliveInterval \(text)\n")
        let result = try audit(root: tree.path, probes: [SSHDConfigProbe()])
        switch (result.facts["sshd"], seconds) {
        case (.value(let sshd)?, let seconds?):
            #expect(sshd["settings"]?["clientaliveinterval"]?["value"] == .int(seconds))
        case (.unavailable(let u)?, nil):
            #expect(u.reason.contains("invalid time value"))
        default:
            Issue.record("\(text): \(String(describing: result.facts["sshd"]))")
        }
    }

    /// `min_size: 9999999999999999G` multiplied past Int64 and trapped (site_yaml target): a
    /// malformed site file must be exit 65 with the field, never a crash.
    @Test(arguments: ["9999999999999999G", "9007199254740992KiB", "9223372036854775807M"])
    func aSiteSizeTooLargeIsAnErrorNamingTheField(size: String) {
        let text = "weights:\n  min_size: \(size)\n"
        let error = #expect(throws: WardenError.self) { try Site.parse(text, file: "site.yaml", digester: .libcrypto) }
        #expect(error?.description.contains("site.yaml:2:13") == true, "\(String(describing: error))")
        #expect(error?.description.contains("larger than") == true)
    }

    @Test func theLargestSiteSizeThatFitsIsAccepted() throws {
        let site = try Site.parse("weights:\n  min_size: 8589934591G\n", file: "site.yaml", digester: .libcrypto)
        #expect(site.minSize == 8_589_934_591 << 30)
    }

    /// `@include /etc/sudoers<NUL>A` named a file that was not on the include stack but read as
    /// /etc/sudoers (the kernel ends a path at its NUL), so ten such lines evaded the loop check
    /// and re-read the main file up to the 1,000-file limit on every audit (found by the replay
    /// of the sudoers corpus: 0.2-1.4 s an input). sudo reads the path as a C string: it is
    /// /etc/sudoers, an include loop, and Warden now names it so.
    @Test(.timeLimit(.minutes(1)))
    func anIncludePathEndsAtItsNULByteSoIncludingTheMainFileBehindOneIsALoop() throws {
        let tree = TempTree()
        tree.file("usr/bin/sudo", "", mode: 0o755)
        let includes = (0..<10).map { "@include /etc/sudoers\0\(Character(Unicode.Scalar(65 + $0)!))\n" }.joined()
        tree.file("etc/sudoers", "Defaults use_pty\n" + includes + "root ALL=(ALL:ALL) ALL\n", mode: 0o440)
        let result = try audit(root: tree.path, probes: [SudoersProbe()])
        guard case .value(let sudoers)? = result.facts["sudoers"] else {
            Issue.record("no sudoers fact")
            return
        }
        #expect(sudoers["files"] == ["/etc/sudoers"])
        let problems = sudoers["problems"]?.arrayValue ?? []
        #expect(problems.count == 10, "\(problems)")
        for (line, problem) in problems.enumerated() {
            #expect(problem["source"]?.stringValue == "/etc/sudoers:\(line + 2)")
            #expect(problem["error"]?.stringValue?.hasPrefix("include loop: /etc/sudoers includes itself") == true, "\(problem)")
        }
        #expect(result.findings["ACC-008"].status != .pass)
    }
}
