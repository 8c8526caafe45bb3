import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The probes behind the ENC controls.
let encryptionProbes: [any Probe] = [StorageProbe(), LUKSProbe(), SwapProbe(), HibernationProbe()]
let encryptionControls = ["ENC-001", "ENC-002", "ENC-003", "ENC-004", "ENC-005", "ENC-006", "ENC-007"]

/// A site file registering the given weight paths.
func weightsSite(_ paths: String...) -> String {
    "weights:\n  paths: [\(paths.joined(separator: ", "))]\n"
}

/// Audits a root with the encryption probes only.
func auditEncryption(_ root: String, profile: String = "sl3", site: String? = weightsSite("/srv/weights")) throws -> (
    facts: FactSet, findings: [Finding]
) {
    try audit(root: root, profile: profile, site: site, probes: encryptionProbes)
}

/// The value of a collected fact (a test failure when it is unavailable).
func factValue(_ facts: FactSet, _ name: String) throws -> JSON {
    guard case .value(let v)? = facts[name] else {
        Issue.record("fact \(name) is \(String(describing: facts[name]))")
        throw FactMissing(name: name)
    }
    return v
}

struct FactMissing: Error { var name: String }

/// Runs cryptsetup (installed by Scripts/setup: cryptsetup-bin) and requires it to succeed.
func cryptsetup(_ arguments: [String]) throws {
    let r = run("/usr/sbin/cryptsetup", arguments)
    try #require(r.status == 0, "cryptsetup \(arguments.joined(separator: " ")): \(r.stderr)")
}

/// Formats `path` (a file made 4 MiB long) as a LUKS volume with the passphrase in `keyFile`.
/// Forced KDF costs keep it fast; `extra` chooses type, cipher, key size and KDF.
func luksFormat(_ path: String, keyFile: String, _ extra: [String]) throws {
    unlink(path)
    let r = run("/usr/bin/truncate", ["-s", "4M", path])
    try #require(r.status == 0, "truncate: \(r.stderr)")
    let isLUKS1 = extra.contains("luks1")
    let sizing = isLUKS1 ? [] : ["--luks2-keyslots-size", "1M"]
    try cryptsetup(["luksFormat", "--batch-mode", "--key-file", keyFile] + sizing + kdfCost(extra, luks1: isLUKS1) + extra + [path])
}

/// Forced, cheap KDF costs unless `extra` sets them: 1000 PBKDF2 iterations, or Argon2 with 4
/// passes over 32 MiB (the benchmark would otherwise take seconds and up to 1 GiB).
func kdfCost(_ extra: [String], luks1: Bool) -> [String] {
    let pbkdf2 = extra.contains("pbkdf2") || luks1
    var cost = extra.contains("--pbkdf-force-iterations") ? [] : ["--pbkdf-force-iterations", pbkdf2 ? "1000" : "4"]
    if !pbkdf2 && !extra.contains("--pbkdf-memory") { cost += ["--pbkdf-memory", "32768"] }
    return cost
}

/// A copy of the `weights-lvm-on-luks` fixture whose /dev/sda3 is formatted afresh with
/// `extra`, plus a scratch tree outside the root holding the passphrase file.
final class LUKSHost {
    let tree = TempTree()
    let scratch = TempTree(prefix: "warden-scratch")
    var device: String { tree.path + "/dev/sda3" }
    var keyFile: String { scratch.path + "/passphrase" }

    init(_ extra: [String]) throws {
        tree.copy(fixture: "weights-lvm-on-luks")
        scratch.file("passphrase", "fixture-passphrase-not-secret")
        try luksFormat(device, keyFile: keyFile, extra)
    }

    /// Adds a keyslot with the same passphrase and the given KDF options.
    func addKey(_ extra: [String]) throws {
        try cryptsetup(["luksAddKey", "--batch-mode", "--key-file", keyFile] + kdfCost(extra, luks1: false) + extra + [device, keyFile])
    }

    /// Imports a token (JSON text) into the header.
    func importToken(_ json: String) throws {
        let file = scratch.file("token.json", json)
        try cryptsetup(["token", "import", "--json-file", file, device])
    }
}

/// base64url without padding, for building JOSE headers.
func base64URL(_ text: String) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    let bytes = Array(text.utf8)
    var out = ""
    var i = 0
    while i < bytes.count {
        let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
        let n = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
        for j in 0..<(chunk.count + 1) { out.append(alphabet[Int((n >> (18 - 6 * UInt32(j))) & 63)]) }
        i += 3
    }
    return out
}
