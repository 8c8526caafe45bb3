public import WardenCore
internal import WardenFormats

/// Whether GRUB asks for a password before its menu can be edited: `password_pbkdf2` in
/// grub.cfg, or in a user.cfg (`GRUB2_PASSWORD=` too) that the grub.cfg beside it reads. Fedora's
/// `01_users` makes grub.cfg source user.cfg; Debian's /etc/grub.d has no such script, so there
/// a password in user.cfg protects nothing.
public struct BootloaderProbe: Probe {
    public init() {}
    public let name = "bootloader"
    public let summary = "GRUB configuration: a password_pbkdf2 superuser password"
    static let files = [
        "/boot/grub/grub.cfg", "/boot/grub/user.cfg", "/boot/grub2/grub.cfg", "/boot/grub2/user.cfg", "/boot/efi/EFI/debian/grub.cfg",
    ]
    public var reads: [String] { BootloaderProbe.files }
    public var facts: [String: FactType] {
        ["bootloader": .object(["grub_password": .sourced(.bool), "files": .strings])]
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var read: [String] = []
        for file in BootloaderProbe.files where root.exists(file) {
            let text: String
            do { text = try root.readText(file, limit: 8 << 20) } catch {
                return ["bootloader": .unavailable(.error(error.description))]
            }
            read.append(file)
            if file.hasSuffix("/user.cfg") {
                let main = String(file.dropLast("user.cfg".count)) + "grub.cfg"
                guard let grub = try? root.readText(main, limit: 8 << 20), grub.contains("user.cfg") else { continue }
            }
            for (number, line) in configLines(text) where line.hasPrefix("password_pbkdf2 ") || line.hasPrefix("GRUB2_PASSWORD=") {
                return [
                    "bootloader": .value([
                        "grub_password": ["value": true, "source": .string("\(file):\(number)")], "files": .array(read.map { .string($0) }),
                    ])
                ]
            }
        }
        if read.isEmpty {
            return [
                "bootloader": .value([
                    "grub_password": [
                        "error":
                            "no GRUB configuration found (/boot/grub/grub.cfg): GRUB is not installed, update-grub has not run, or /boot is not mounted",
                        "source": "/boot/grub/grub.cfg",
                    ], "files": [],
                ])
            ]
        }
        return [
            "bootloader": .value([
                "grub_password": ["value": false, "source": .string(read.joined(separator: ", "))],
                "files": .array(read.map { .string($0) }),
            ])
        ]
    }
}
