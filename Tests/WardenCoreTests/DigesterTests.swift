import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats

/// The core's SHA-256 is the one it is given: libcrypto's for every caller. Its known values,
/// and that a failing digest stops what needed it.
@Suite struct DigesterTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func nistVectors(input: String, digest: String) throws {
        #expect(try Digester.libcrypto.sha256Hex(Array(input.utf8)) == digest)
        #expect(try Digester.libcrypto.sha256(Array(input.utf8)).count == 32)
    }

    @Test func millionAs() throws {
        #expect(
            try Digester.libcrypto.sha256Hex([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// An empty catalog's digest is the digest of no files.
    @Test func emptyCatalogDigestIsThatOfNoFiles() throws {
        #expect(Catalog().digest == (try Catalog.digest(files: [], digester: .libcrypto)))
    }

    @Test func aFailingDigestIsAnError() {
        let failing = Digester { (_: [UInt8]) throws(WardenError) -> [UInt8] in throw WardenError(.io, "no digest today") }
        let site = #expect(throws: WardenError.self) { try Site.parse("containers: true\n", file: "site.yaml", digester: failing) }
        #expect(site?.message == "no digest today")
        #expect(throws: WardenError.self) { try Inventory.parse("hosts: []\n", file: "inventory.yaml", digester: failing) }
        #expect(throws: WardenError.self) {
            try Catalog.load(files: [("c.yaml", ProfileFixture.controls)], knownFacts: ProfileFixture.knownFacts, digester: failing)
        }
    }
}
