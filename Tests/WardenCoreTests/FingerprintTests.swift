import Testing
import WardenCore

/// The fingerprint that tells a compiled catalog its YAML is unchanged must change with any edit.
@Suite struct FingerprintTests {
    @Test func everyOneByteEditChangesIt() {
        let text = "controls:\n  - id: ACC-001\n    title: Weights are readable only by their owners\n"
        let original = Fingerprint.of([("access.yaml", text)])
        #expect(original.utf8.count == 32)
        #expect(Fingerprint.of([("access.yaml", text)]) == original)
        var bytes = Array(text.utf8)
        for i in bytes.indices {
            let saved = bytes[i]
            bytes[i] = saved == 0x20 ? 0x21 : 0x20
            #expect(Fingerprint.of([("access.yaml", String(decoding: bytes, as: UTF8.self))]) != original, "byte \(i)")
            bytes[i] = saved
        }
        // Removing or adding a byte, renaming, and moving text across the name boundary.
        #expect(Fingerprint.of([("access.yaml", String(text.dropLast()))]) != original)
        #expect(Fingerprint.of([("access.yaml", text + "\n")]) != original)
        #expect(Fingerprint.of([("encryption.yaml", text)]) != original)
        #expect(Fingerprint.of([("ab", "c")]) != Fingerprint.of([("a", "bc")]))
        #expect(Fingerprint.of([("a", ""), ("b", "")]) != Fingerprint.of([("b", ""), ("a", "")]))
    }
}
