public import WardenCore

/// Whether GRUB asks for a password before its menu can be edited: `password_pbkdf2` in
/// grub.cfg or user.cfg, or `GRUB2_PASSWORD=` in user.cfg.
public struct BootloaderProbe: Probe {
    public init() {}
    public let name = "bootloader"
    public let summary = "GRUB configuration: a password_pbkdf2 superuser password"
    static let files = ["/boot/grub/grub.cfg", "/boot/grub/user.cfg", "/boot/grub2/grub.cfg", "/boot/grub2/user.cfg", "/boot/efi/EFI/debian/grub.cfg"]
    public var reads: [String] { BootloaderProbe.files }
    public let produces = ["bootloader"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var read: [String] = []
        for file in BootloaderProbe.files where root.exists(file) {
            let text: String
            do { text = try root.readText(file, limit: 8 << 20) } catch {
                return ["bootloader": .unavailable(.error(error.description))]
            }
            read.append(file)
            for (number, line) in configLines(text) where line.hasPrefix("password_pbkdf2 ") || line.hasPrefix("GRUB2_PASSWORD=") {
                return ["bootloader": .value(["grub_password": ["value": true, "source": .string("\(file):\(number)")], "files": .array(read.map { .string($0) })])]
            }
        }
        if read.isEmpty {
            return ["bootloader": .value(["grub_password": ["error": "no GRUB configuration found (/boot/grub/grub.cfg): is /boot mounted?", "source": "/boot/grub/grub.cfg"], "files": []])]
        }
        return ["bootloader": .value(["grub_password": ["value": false, "source": .string(read.joined(separator: ", "))], "files": .array(read.map { .string($0) })])]
    }
}
