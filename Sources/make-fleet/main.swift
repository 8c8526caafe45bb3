// make-fleet: writes N signed findings envelopes, their keys and an inventory, to measure and
// demonstrate `warden bundle` and `warden verify` on a fleet (Scripts/make-fleet runs it).
//
//     make-fleet --output DIR --count N TEMPLATE.json... [--missing-every K] [--wrong-key] [--unknown] [--save-keys]
//
// Each TEMPLATE is a findings document from a real audit (`warden audit --no-sign --output`).
// Host i takes template i mod T and becomes its own host: a machine id derived from i, hostname
// weights-NNNNN (in the findings' host and in the host fact), and its own Ed25519 key, which signs
// the statement exactly as `warden audit` does. Facts, results and times are the template's.
// Writes DIR/findings/host-NNNNN.dsse.json, DIR/trust.pem (every host key and the bundler's public
// key), DIR/inventory.yaml, and DIR/bundler.pem (mode 0600, the key that signs bundles).
// --missing-every K leaves every K-th inventory host without findings; --wrong-key signs host 1
// with host 0's key; --unknown adds a host that is not in the inventory; --save-keys also writes each
// host's private key to DIR/host-keys/host-NNNNN.pem (mode 0600), for tests that forge or re-sign.
import Evidence
import Glibc
import OpenSSLSigning
import WardenCore
import WardenFormats

func fail(_ message: String, code: Int32 = 64) -> Never {
    let line = "make-fleet: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(code)
}

/// `i` with five digits (00042).
func padded(_ i: Int) -> String {
    let digits = String(i)
    return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
}

var output: String?
var count = 0
var missingEvery = 0
var wrongKey = false
var unknown = false
var saveKeys = false
var templates: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--output": output = arguments.popFirst()
    case "--count": count = arguments.popFirst().flatMap { Int($0) } ?? 0
    case "--missing-every": missingEvery = arguments.popFirst().flatMap { Int($0) } ?? 0
    case "--wrong-key": wrongKey = true
    case "--unknown": unknown = true
    case "--save-keys": saveKeys = true
    default: templates.append(argument)
    }
}
guard let output, count > 0, !templates.isEmpty else {
    fail("usage: make-fleet --output DIR --count N TEMPLATE.json... [--missing-every K] [--wrong-key] [--unknown] [--save-keys]")
}

do {
    let documents = try templates.map { path throws -> JSON in try JSON.parse(try BundleFiles.read(path, limit: 64 << 20)) }
    try BundleFiles.makeDirectory(output)
    try BundleFiles.makeDirectory(output + "/findings")
    let bundler = try PrivateKey.generate(.ed25519)
    try bundler.writePEM(toNewFile: output + "/bundler.pem")
    if saveKeys { try BundleFiles.makeDirectory(output + "/host-keys") }
    var trust = bundler.publicKey.pem
    var inventory = "hosts:\n"
    var keys: [PrivateKey] = []
    let roles = ["storage", "training", "inference"]
    for i in 0..<(count + (unknown ? 1 : 0)) {
        let name = "weights-" + padded(i)
        let machineID = String(try OpenSSLDigest.sha256Hex(Array("warden-fleet-host-\(i)".utf8)).prefix(32))
        let key = try PrivateKey.generate(.ed25519)
        keys.append(key)
        if saveKeys { try key.writePEM(toNewFile: output + "/host-keys/host-\(padded(i)).pem") }
        trust += key.publicKey.pem
        let inInventory = i < count
        if inInventory {
            inventory += "  - name: \(name)\n    machine_id: \(machineID)\n    keyid: \(key.keyID)\n    role: \(roles[i % roles.count])\n"
        }
        if inInventory, missingEvery > 0, i % missingEvery == missingEvery - 1 { continue }
        guard case .object(var findings) = documents[i % documents.count] else {
            fail("\(templates[i % templates.count]): not a findings object")
        }
        guard case .object(var host)? = findings["host"] else { fail("\(templates[i % templates.count]): no host object") }
        host["hostname"] = .string(name)
        host["machine_id"] = .string(machineID)
        findings["host"] = .object(host)
        if case .object(var facts)? = findings["facts"], case .object(var all)? = facts["facts"], case .object(var fact)? = all["host"] {
            fact["value"] = .object(host)
            all["host"] = .object(fact)
            facts["facts"] = .object(all)
            findings["facts"] = .object(facts)
        }
        let signer = wrongKey && i == 1 ? keys[0] : key
        let envelope = try FindingsStatement.envelope(findings: .object(findings), key: signer)
        try BundleFiles.create(output + "/findings/host-\(padded(i)).dsse.json", envelope.encoded())
    }
    try BundleFiles.create(output + "/trust.pem", Array(trust.utf8))
    try BundleFiles.create(output + "/inventory.yaml", Array(inventory.utf8))
} catch {
    fail("\(error)", code: 74)
}
