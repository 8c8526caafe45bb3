import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@testable import HostFacts

/// Differential test of the key reader (`SSHPublicKey`) against OpenSSH 9.2p1's `ssh-keygen -l`
/// in the Debian 12 root (docs/DAEMON-SEMANTICS.md, "Key and hash strength"): keys of every type
/// and of RSA sizes around the threshold are generated there, and the size and type ssh-keygen
/// prints must be what Warden reads from the same .pub lines.
@Suite struct StrongKeysOracleTests {
    static let cases: [(name: String, options: String)] = [
        ("rsa1024", "-t rsa -b 1024"), ("rsa2048", "-t rsa -b 2048"), ("rsa3071", "-t rsa -b 3071"),
        ("rsa3072", "-t rsa -b 3072"), ("rsa4096", "-t rsa -b 4096"), ("dsa", "-t dsa"), ("ecdsa256", "-t ecdsa -b 256"),
        ("ecdsa384", "-t ecdsa -b 384"), ("ecdsa521", "-t ecdsa -b 521"), ("ed25519", "-t ed25519"),
    ]

    /// ssh-keygen's name of each algorithm in `-l` output.
    static let keygenNames = ["rsa": "RSA", "dsa": "DSA", "ecdsa": "ECDSA", "ed25519": "ED25519"]

    @Test func keyTypesAndRSASizesAgreeWithSSHKeygen() throws {
        let root = try RealRoots.debian12()
        let script = Self.cases.map { c in
            "ssh-keygen -q \(c.options) -N '' -C 'comment of \(c.name)' -f /tmp/\(c.name) </dev/null && "
                + "printf '%s\\t%s\\t%s\\n' \(c.name) \"$(ssh-keygen -l -f /tmp/\(c.name).pub)\" \"$(cat /tmp/\(c.name).pub)\""
        }.joined(separator: " && ")
        let r = RealRoots.inRoot(root, ["/bin/sh", "-c", script], timeout: 300)
        try #require(r.status == 0, "ssh-keygen in the root: \(r.stderr)")
        var seen: Set<String> = []
        for line in r.stdout.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 3, "unexpected output line: \(line)")
            let name = String(fields[0])
            // "BITS SHA256:… COMMENT (TYPE)"
            let fingerprint = fields[1].split(separator: " ")
            let bits = Int(fingerprint.first ?? "")
            let type = fingerprint.last.map { String($0.dropFirst().dropLast()) }
            let key = try SSHPublicKey.parse(fields[2]).get()
            #expect(Self.keygenNames[key.algorithm] == type, "\(name): Warden \(key.algorithm), ssh-keygen \(type ?? "?")")
            #expect(key.comment == "comment of \(name)")
            if key.algorithm == "rsa" {
                #expect(key.rsaBits == bits, "\(name): Warden \(key.rsaBits ?? -1) bits, ssh-keygen \(bits ?? -1)")
            } else {
                #expect(key.rsaBits == nil)
            }
            seen.insert(name)
        }
        #expect(seen == Set(Self.cases.map(\.name)))
    }
}
