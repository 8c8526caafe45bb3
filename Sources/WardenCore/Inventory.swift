public import WardenFormats

/// The registry of hosts that store weights (`inventory.yaml`, docs/FORMATS.md; the "secure internal
/// registry of all devices and locations where model parameters are stored" of Appendix 4.2(1)).
///
/// ```yaml
/// hosts:
///   - name: weights-store-01
///     machine_id: 8a3c0f1d2b4e4f6a9c7d5e3b1a2c4d6e
///     keyid: 5f0c…(64 hex digits: SHA-256 of the host key's SubjectPublicKeyInfo)
///     role: storage
/// ```
///
/// Every key is required; unknown keys, duplicate names or machine ids are errors with
/// file:line:column.
public struct Inventory: Sendable {
    public struct Host: Sendable, Hashable {
        public var name: String
        public var machineID: String
        public var keyID: String
        public var role: Site.Role
        public var line: Int?

        public init(name: String, machineID: String, keyID: String, role: Site.Role, line: Int? = nil) {
            self.name = name
            self.machineID = machineID
            self.keyID = keyID
            self.role = role
            self.line = line
        }
    }

    /// In file order.
    public private(set) var hosts: [Host] = []
    /// SHA-256 of the file's bytes.
    public var sha256: String
    public var file: String
    private var byMachineID: [String: Int] = [:]

    public init(hosts: [Host], sha256: String = "", file: String = "inventory.yaml") {
        self.sha256 = sha256
        self.file = file
        for host in hosts { append(host) }
    }

    private mutating func append(_ host: Host) {
        byMachineID[host.machineID] = hosts.count
        hosts.append(host)
    }

    public subscript(machineID machineID: String) -> Host? {
        byMachineID[machineID].map { hosts[$0] }
    }

    /// Whether any host is bound to this key.
    public func bindsKey(_ keyID: String) -> Bool { hosts.contains { $0.keyID == keyID } }

    public static func parse(_ text: String, file: String, digester: Digester) throws(WardenError) -> Inventory {
        var inventory = Inventory(hosts: [], sha256: try digester.sha256Hex(Array(text.utf8)), file: file)
        let root = try YNode.parse(text, file: file)
        let f = try root.fields(allowed: ["hosts"], required: ["hosts"])
        var names: Set<String> = []
        for item in try f.required("hosts").list() {
            let h = try item.fields(allowed: ["name", "machine_id", "keyid", "role"], required: ["name", "machine_id", "keyid", "role"])
            let name = try h.required("name").nonEmptyString()
            guard names.insert(name).inserted else { throw try h.required("name").error("duplicate host name '\(name)'") }
            let machineNode = try h.required("machine_id")
            let machineID = try machineNode.string()
            guard isHex(machineID, count: 32) else {
                throw machineNode.error("a machine id is 32 lower-case hex digits (the content of /etc/machine-id), found '\(machineID)'")
            }
            guard inventory[machineID: machineID] == nil else { throw machineNode.error("duplicate machine id '\(machineID)'") }
            let keyNode = try h.required("keyid")
            let keyID = try keyNode.string()
            guard isHex(keyID, count: 64) else {
                throw keyNode.error("a keyid is 64 lower-case hex digits (as 'warden key show' prints it), found '\(keyID)'")
            }
            let roleNode = try h.required("role")
            let roleText = try roleNode.string()
            guard let role = Site.Role(rawValue: roleText) else {
                throw roleNode.error("unknown role '\(roleText)' (expected \(Site.Role.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            inventory.append(Host(name: name, machineID: machineID, keyID: keyID, role: role, line: item.line))
        }
        return inventory
    }

    /// Whether `text` is exactly `count` lower-case hex digits.
    public static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
