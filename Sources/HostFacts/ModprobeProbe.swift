public import WardenCore

/// Whether kernel modules that open exfiltration paths can load, read as modprobe reads its
/// configuration (CONTROLS.md §1): `*.conf` in /etc/modprobe.d, /run/modprobe.d,
/// /usr/local/lib/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d, a same-named file in an
/// earlier directory masking the later ones, files applied in file-name order. A module is
/// *blocked* by `install MODULE /bin/false` (or /bin/true, /usr/bin/…; the first install line
/// wins); `blacklist MODULE` alone only stops automatic loading and is reported as partial.
/// `-` and `_` in module names are the same. Runtime: a loaded module has /sys/module/NAME.
public struct ModprobeProbe: Probe {
    public init() {}
    public let name = "modprobe"
    public let summary = "modprobe.d install/blacklist rules and /sys/module for USB storage, FireWire, Thunderbolt and Bluetooth modules"
    public let reads = ["/etc/modprobe.d/*.conf", "/run/modprobe.d/*.conf", "/usr/local/lib/modprobe.d/*.conf", "/usr/lib/modprobe.d/*.conf",
                        "/lib/modprobe.d/*.conf", "/sys/module/<name>"]
    public let produces = ["modules"]

    static let directories = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d"]
    /// The modules controls ask about, with `_` as the canonical separator.
    public static let modules = ["usb_storage", "uas", "firewire_core", "firewire_ohci", "firewire_sbp2", "thunderbolt", "bluetooth", "btusb"]
    static let blockingCommands: Set<String> = ["/bin/false", "/bin/true", "/usr/bin/false", "/usr/bin/true"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var problems: [String] = []
        let files = root.dropInFiles(in: ModprobeProbe.directories, problems: &problems)
        var rules = Rules()
        for file in files {
            let text: String
            do { text = try root.readText(file) } catch {
                problems.append(error.description)
                continue
            }
            ModprobeProbe.parse(text, file: file, into: &rules, problems: &problems)
        }
        let install = rules.install, blacklist = rules.blacklist
        let runtime = root.isDirectory("/sys/module")
        var modules: JSONObject = [:]
        for module in ModprobeProbe.modules {
            var o: JSONObject = [:]
            if let i = install[module] {
                let blocks = ModprobeProbe.blockingCommands.contains(i.command)
                o["blocked"] = ["value": .bool(blocks), "source": .string("\(i.source) (install \(module) \(i.command))")]
            } else {
                o["blocked"] = ["value": false, "source": .string("no `install \(module) /bin/false` in modprobe.d")]
            }
            o["blacklisted"] = ["value": .bool(blacklist[module] != nil), "source": .string(blacklist[module] ?? "no `blacklist \(module)` in modprobe.d")]
            if runtime {
                o["loaded"] = ["value": .bool(root.exists("/sys/module/\(module)")), "source": .string("/sys/module/\(module)")]
            } else {
                o["loaded"] = ["not_applicable": "offline root: which modules are loaded is known only on a live host", "source": .string("/sys/module/\(module)")]
            }
            if !problems.isEmpty {
                o["blocked"] = ["error": .string("modprobe configuration has lines modprobe rejects: \(problems.prefix(3).joined(separator: "; "))")]
            }
            modules[module] = .object(o)
        }
        return ["modules": .value(.object(["source": "/etc/modprobe.d", "files": .array(files.map { .string($0) }),
                                           "modules": .object(modules), "problems": .array(problems.map { .string($0) })]))]
    }

    /// The `install` and `blacklist` rules read so far: the first one per module wins.
    package struct Rules {
        package var install: [String: (command: String, source: String)] = [:]
        package var blacklist: [String: String] = [:]

        package init() {}
    }

    /// Adds the rules of one modprobe.d file; lines modprobe would reject become problems.
    package static func parse(_ text: String, file: String, into rules: inout Rules, problems: inout [String]) {
        for (number, line) in configLines(text) {
            let w = line.words
            guard let keyword = w.first else { continue }
            let here = "\(file):\(number)"
            switch keyword {
            case "install":
                guard w.count >= 3 else { problems.append("\(here): `install` needs a module and a command"); continue }
                let module = ModprobeProbe.canonical(w[1])
                if rules.install[module] == nil { rules.install[module] = (w[2...].joined(separator: " "), here) }
            case "blacklist":
                guard w.count == 2 else { problems.append("\(here): `blacklist` takes one module"); continue }
                let module = ModprobeProbe.canonical(w[1])
                if rules.blacklist[module] == nil { rules.blacklist[module] = here }
            case "options", "alias", "remove", "softdep", "weakdep":
                continue
            default:
                problems.append("\(here): unknown modprobe command '\(keyword)'")
            }
        }
    }

    static func canonical(_ name: Substring) -> String { String(name.map { $0 == "-" ? "_" : $0 }) }
}
