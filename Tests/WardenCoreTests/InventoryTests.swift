import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats

@Suite struct InventoryTests {
    static let keyA = String(repeating: "a1", count: 32)
    static let keyB = String(repeating: "b2", count: 32)

    @Test func parsesHostsInOrder() throws {
        let text = """
            hosts:
              - name: weights-store-01
                machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e
                keyid: \(InventoryTests.keyA)
                role: storage
              - {name: trainer-02, machine_id: 0123456789abcdef0123456789abcdef, keyid: \(InventoryTests.keyB), role: training}
            """
        let inventory = try Inventory.parse(text, file: "inventory.yaml", digester: .libcrypto)
        #expect(inventory.hosts.map(\.name) == ["weights-store-01", "trainer-02"])
        #expect(inventory[machineID: "0123456789abcdef0123456789abcdef"]?.role == .training)
        #expect(inventory[machineID: "ffffffffffffffffffffffffffffffff"] == nil)
        #expect(inventory.bindsKey(InventoryTests.keyA) && !inventory.bindsKey(String(repeating: "c3", count: 32)))
        #expect(inventory.sha256 == (try Digester.libcrypto.sha256Hex(Array(text.utf8))))
    }

    /// The plain nulls of YAML 1.1 are not names; everything else that is written is, numbers,
    /// booleans and quoted nulls included.
    @Test func onlyAPlainNullIsNoName() throws {
        func host(_ name: String) -> String {
            "hosts:\n  - {name: \(name), machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(InventoryTests.keyA), role: storage}\n"
        }
        for null in ["~", "null", "Null", "NULL", ""] {
            let error = #expect(throws: WardenError.self) { try Inventory.parse(host(null), file: "i.yaml", digester: .libcrypto) }
            #expect(
                error?.description.contains("hosts[0].name: expected a string, found null") == true, "\(null): \(String(describing: error))"
            )
        }
        for name in ["'null'", "\"~\"", "nul", "nulls", "NuLL", "0", "0x1F", "-7", "yes", "off", "1_000", "8a3c"] {
            let expected = name.hasPrefix("'") || name.hasPrefix("\"") ? String(name.dropFirst().dropLast()) : name
            #expect(try Inventory.parse(host(name), file: "i.yaml", digester: .libcrypto).hosts.first?.name == expected)
        }
    }

    @Test(arguments: [
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(keyA), role: storage, rack: 4}\n",
            "inventory.yaml:2:149: error: hosts[0].rack: unknown key 'rack'"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8A3C, keyid: \(keyA), role: storage}\n",
            "inventory.yaml:2:27: error: hosts[0].machine_id: a machine id is 32 lower-case hex digits"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: abc, role: storage}\n",
            "inventory.yaml:2:68: error: hosts[0].keyid: a keyid is 64 lower-case hex digits"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(keyA), role: gpu}\n",
            "error: hosts[0].role: unknown role 'gpu' (expected storage, training, inference, other)"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, role: storage}\n",
            "inventory.yaml:2:5: error: hosts[0]: missing required key 'keyid'"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(keyA), role: storage}\n  - {name: b, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(keyB), role: storage}\n",
            "error: hosts[1].machine_id: duplicate machine id '8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e'"
        ),
        (
            "hosts:\n  - {name: a, machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e, keyid: \(keyA), role: storage}\n  - {name: a, machine_id: 0123456789abcdef0123456789abcdef, keyid: \(keyB), role: storage}\n",
            "error: hosts[1].name: duplicate host name 'a'"
        ),
        ("machines: []\n", "inventory.yaml:1:1: error: machines: unknown key 'machines'"),
    ])
    func errorsSayWhere(_ text: String, _ message: String) {
        #expect(throws: WardenError.self) { try Inventory.parse(text, file: "inventory.yaml", digester: .libcrypto) }
        do {
            _ = try Inventory.parse(text, file: "inventory.yaml", digester: .libcrypto)
        } catch {
            #expect(error.code == .malformed)
            #expect(error.description.contains(message), "\(error.description)")
        }
    }
}
