public import WardenCore
internal import WardenFormats

/// UEFI Secure Boot state from the `SecureBoot` EFI variable (docs/DAEMON-SEMANTICS.md): 4 attribute
/// bytes, then one data byte, 1 = enabled. No /sys/firmware/efi on a live host means BIOS boot.
public struct SecureBootProbe: Probe {
    public init() {}
    public let name = "secure-boot"
    public let summary = "the SecureBoot EFI variable in efivarfs"
    static let variable = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0f1f4c7b5c8"
    public var reads: [String] { [SecureBootProbe.variable] }
    public var facts: [String: FactType] {
        ["secure_boot": .object(["enabled": .sourced(.bool), "uefi": .bool])]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let path = SecureBootProbe.variable
        switch context.sysfs("/sys/firmware/efi") {
        case .present: break
        case .absent:
            return [
                "secure_boot": .value([
                    "enabled": ["value": false, "source": "/sys/firmware/efi (absent: the host booted through BIOS)"], "uefi": false,
                ])
            ]
        case let other:
            return ["secure_boot": .value(["enabled": other.stated("/sys/firmware/efi")])]
        }
        switch context.sysfs(path) {
        case .present: break
        case .absent:
            return [
                "secure_boot": .value([
                    "enabled": ["value": false, "source": .string("\(path) (absent: Secure Boot is not supported or not set up)")],
                    "uefi": true,
                ])
            ]
        case let other:
            return ["secure_boot": .value(["enabled": other.stated(path), "uefi": true])]
        }
        do {
            let bytes = try root.read(path, limit: 64)
            guard bytes.count == 5 else {
                return [
                    "secure_boot": .value([
                        "enabled": [
                            "error": .string("\(path): expected 5 bytes (4 attribute bytes and the value), found \(bytes.count)"),
                            "source": .string(path),
                        ]
                    ])
                ]
            }
            return ["secure_boot": .value(["enabled": ["value": .bool(bytes[4] == 1), "source": .string(path)], "uefi": true])]
        } catch {
            return ["secure_boot": .value(["enabled": ["error": .string(error.description), "source": .string(path)]])]
        }
    }
}
