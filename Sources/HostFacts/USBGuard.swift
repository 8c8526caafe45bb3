internal import WardenCore
internal import WardenFormats

/// One rule of a USBGuard policy, as usbguard-daemon 1.1.2 (Debian 12) parses it
/// (docs/DAEMON-SEMANTICS.md, "USBGuard"): the target and, per attribute, the set operator and
/// values. Only what a check needs is kept; the rule's text travels in the fact.
package struct USBGuardRule: Sendable, Equatable {
    /// How a multi-valued attribute compares the device's values with the rule's
    /// (usbguard-rules.conf(5)); a single value, or a set without an operator, is `equals`.
    package enum SetOperator: String, Sendable, CaseIterable {
        // Longest first where one name is a prefix of another, as the grammar tries them.
        case allOf = "all-of"
        case oneOf = "one-of"
        case noneOf = "none-of"
        case equalsOrdered = "equals-ordered"
        case equals
        case matchAll = "match-all"
    }

    package struct Values: Sendable, Equatable {
        package var op: SetOperator
        package var values: [String]
    }

    /// `allow`, `block`, `reject`, or `match`/`device` (which the daemon parses and never applies
    /// as an authorisation).
    package var target: String
    /// By attribute name (`id`, `name`, `hash`, `parent-hash`, `serial`, `via-port`,
    /// `with-interface`, `with-connect-type`, `label`, and `if` for the conditions). String values
    /// are kept as written between the quotes.
    package var attributes: [String: Values] = [:]

    /// The attributes that name one device or where it sits, so that a rule with one of them
    /// allows only what the operator approved: `id` with a vendor and a product (no `*`), and
    /// non-empty `hash`, `parent-hash`, `serial` or `via-port`; never through `none-of`, which
    /// matches everything else. `name`, `with-connect-type`, `label` and conditions name no device.
    package var identifiedBy: [String] {
        ["id", "hash", "parent-hash", "serial", "via-port"].filter { name in
            guard let a = attributes[name], a.op != .noneOf, !a.values.isEmpty else { return false }
            if name == "id" { return a.values.allSatisfy { !$0.contains("*") } }
            return a.values.allSatisfy { !$0.isEmpty }
        }
    }

    /// Whether some device with an HID interface (class 03: keyboards, mice, the interface a
    /// malicious cable uses to type) matches the rule's interface condition: no `with-interface`
    /// at all; `equals`, `equals-ordered` or `match-all` over a set holding a class-03 interface;
    /// `one-of` or `all-of` over any set (a composite device adds a keyboard to the interfaces
    /// named); `none-of` over a set without `03:*:*`.
    package var matchesHID: Bool {
        guard let w = attributes["with-interface"] else { return true }
        switch w.op {
        case .equals, .equalsOrdered, .matchAll: return w.values.contains { $0.hasPrefix("03:") }
        case .oneOf, .allOf: return true
        case .noneOf: return !w.values.contains("03:*:*")
        }
    }

    /// An `allow` rule that lets in HID devices without naming them (docs/DAEMON-SEMANTICS.md).
    package var allowsUnidentifiedHID: Bool { target == "allow" && identifiedBy.isEmpty && matchesHID }
}

/// Why usbguard-daemon 1.1.2 would refuse a rule: the 1-based column and the reason.
package struct USBGuardRuleError: Error, Sendable, Equatable {
    package var column: Int
    package var message: String
}

/// A condition argument Warden does not check (`localtime(…)`, `allowed-matches(…)`): the daemon
/// refuses some of them, so a rule that has one cannot be judged.
package struct USBGuardUncheckedCondition: Error, Sendable, Equatable {
    package var column: Int
    package var condition: String
}

extension USBGuardRule {
    static let targets = ["allow", "block", "reject", "match", "device"]
    /// In the order the grammar tries them.
    static let attributeNames = [
        "id", "name", "hash", "parent-hash", "serial", "via-port", "with-interface", "with-connect-type", "if", "label",
    ]
    static let conditions: Set<String> = ["localtime", "allowed-matches", "rule-applied", "rule-evaluated", "random", "true", "false"]

    /// Parses one line of a rule file: nil for an empty line or a comment. A line the daemon
    /// refuses throws `USBGuardRuleError`; one with a condition Warden cannot check throws
    /// `USBGuardUncheckedCondition`.
    package static func parse(_ line: Substring) throws -> USBGuardRule? {
        var p = Parser(bytes: Array(line.utf8))
        return try p.line()
    }

    /// A recursive-descent reading of usbguard 1.1.2's PEG grammar (`RuleParser/Grammar.hpp`): each
    /// rule is tried at a position and, when it does not match, the position goes back; a quoted
    /// string, once opened, must close (`if_must`), and the actions' checks (an attribute given
    /// twice, `*:1234`, `03:*:01`, an unknown condition or escape) refuse the whole line.
    struct Parser {
        let bytes: [UInt8]
        var pos = 0

        func fail(_ message: String, at: Int? = nil) -> USBGuardRuleError {
            USBGuardRuleError(column: (at ?? pos) + 1, message: message)
        }

        var atEnd: Bool { pos == bytes.count }

        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        func isHex(_ b: UInt8) -> Bool {
            (0x30...0x39).contains(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b)
        }

        mutating func blanks() -> Int {
            let start = pos
            while pos < bytes.count, isBlank(bytes[pos]) { pos += 1 }
            return pos - start
        }

        mutating func literal(_ s: String) -> Bool {
            let u = Array(s.utf8)
            guard bytes.count - pos >= u.count, Array(bytes[pos..<pos + u.count]) == u else { return false }
            pos += u.count
            return true
        }

        /// `blank* '#' …` to the end of the line.
        mutating func comment() -> Bool {
            let start = pos
            _ = blanks()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "#") else {
                pos = start
                return false
            }
            pos = bytes.count
            return true
        }

        mutating func line() throws -> USBGuardRule? {
            if bytes.isEmpty || comment() { return nil }
            // 1.1.2 takes no blanks before a rule (a comment may have them) and none after it.
            guard let target = USBGuardRule.targets.first(where: { literal($0) }) else { throw fail("parse error: no rule target") }
            var rule = USBGuardRule(target: target)
            var save = pos
            if blanks() > 0, let id = try deviceID() {
                rule.attributes["id"] = Values(op: .equals, values: [id])
            } else {
                pos = save
            }
            save = pos
            if blanks() > 0, try attribute(into: &rule) {
                while true {
                    save = pos
                    if blanks() > 0, try attribute(into: &rule) { continue }
                    pos = save
                    break
                }
            } else {
                pos = save
            }
            _ = comment()
            guard atEnd else { throw fail("parse error") }
            return rule
        }

        /// `hex4 | *` `:` `hex4 | *`; `*:hhhh` is refused.
        mutating func deviceID() throws -> String? {
            let start = pos
            func part() -> String? {
                if literal("*") { return "*" }
                guard bytes.count - pos >= 4, bytes[pos..<pos + 4].allSatisfy(isHex) else { return nil }
                pos += 4
                return String(decoding: bytes[pos - 4..<pos], as: UTF8.self)
            }
            guard let vendor = part(), literal(":"), let product = part() else {
                pos = start
                return nil
            }
            if vendor == "*" && product != "*" { throw fail("Invalid USB device id format", at: start) }
            return vendor + ":" + product
        }

        /// `hex2 : (hex2 | *) : (hex2 | *)`; `hh:*:hh` is refused.
        mutating func interface() throws -> String? {
            let start = pos
            func part(_ star: Bool) -> Bool {
                if star && literal("*") { return true }
                guard bytes.count - pos >= 2, bytes[pos..<pos + 2].allSatisfy(isHex) else { return false }
                pos += 2
                return true
            }
            guard part(false), literal(":"), part(true), literal(":"), part(true) else {
                pos = start
                return nil
            }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            if text.dropFirst(3).hasPrefix("*") && !text.hasSuffix("*") { throw fail("Invalid type_string", at: start) }
            return text
        }

        /// `"…"` with `\\`, `\"` and `\xHH` escapes; a `"` that opens must close on the line.
        mutating func string() throws -> String? {
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { return nil }
            let start = pos
            pos += 1
            while true {
                guard pos < bytes.count, bytes[pos] != 0x0D, bytes[pos] != 0x0A else { throw fail("parse error: unterminated string") }
                let b = bytes[pos]
                if b == UInt8(ascii: "\"") {
                    pos += 1
                    return String(decoding: bytes[start + 1..<pos - 1], as: UTF8.self)
                }
                if b == UInt8(ascii: "\\") {
                    let at = pos
                    pos += 1
                    guard pos < bytes.count else { throw fail("parse error: escape at the end of the line") }
                    let e = bytes[pos]
                    if e == UInt8(ascii: "x") {
                        guard bytes.count - pos >= 3, isHex(bytes[pos + 1]), isHex(bytes[pos + 2]) else {
                            throw fail("parse error: \\x needs two hexadecimal digits")
                        }
                        pos += 3
                        continue
                    }
                    // The grammar takes more (\n, \t, \0, octal…); the daemon's action then refuses them.
                    guard e == UInt8(ascii: "\\") || e == UInt8(ascii: "\"") else { throw fail("Unknown escape sequence", at: at) }
                    pos += 1
                    continue
                }
                pos += 1
            }
        }

        /// `[!]name[(argument)]`: the name is one the daemon knows; an argument is checked
        /// where it is simple, and a condition whose argument Warden does not check is reported.
        mutating func condition() throws -> String? {
            let start = pos
            _ = literal("!")
            let nameStart = pos
            func identifier(_ b: UInt8, first: Bool) -> Bool {
                (0x61...0x7A).contains(b) || (0x41...0x5A).contains(b) || b == UInt8(ascii: "-") || (!first && (0x30...0x39).contains(b))
            }
            guard pos < bytes.count, identifier(bytes[pos], first: true) else {
                pos = start
                return nil
            }
            while pos < bytes.count, identifier(bytes[pos], first: false) { pos += 1 }
            let name = String(decoding: bytes[nameStart..<pos], as: UTF8.self)
            var argument: String?
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "(") {
                let open = pos
                pos += 1
                while true {
                    guard pos < bytes.count, bytes[pos] != 0x0D, bytes[pos] != 0x0A else {
                        throw fail("parse error: unterminated condition argument")
                    }
                    if bytes[pos] == UInt8(ascii: ")") { break }
                    if bytes[pos] == UInt8(ascii: "\\") { pos += 1 }
                    pos += 1
                }
                argument = String(decoding: bytes[open + 1..<pos], as: UTF8.self)
                pos += 1
            }
            guard USBGuardRule.conditions.contains(name) else { throw fail("Unknown rule condition", at: nameStart) }
            switch (name, argument) {
            case ("true", _), ("false", _): break
            case (_, nil) where name == "random" || name.hasPrefix("rule-"): break
            case ("random", let a?) where Double(a) != nil: break
            case (_, let a?) where name.hasPrefix("rule-") && USBGuardRule.isDuration(a): break
            case (_, let a?) where name.hasPrefix("rule-") || name == "random" || a.isEmpty:
                throw fail("Invalid condition string. Invalid parameter.", at: nameStart)
            case (_, nil):
                throw fail("\(name) needs an argument", at: nameStart)
            default:
                throw USBGuardUncheckedCondition(column: nameStart + 1, condition: "\(name)(\(argument ?? ""))")
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }

        /// One value of the kind the attribute takes.
        mutating func value(_ name: String) throws -> String? {
            switch name {
            case "id": return try deviceID()
            case "with-interface": return try interface()
            case "if": return try condition()
            default: return try string()
            }
        }

        /// `[operator blank+] { blank* value (blank+ value)* blank* }`, or one value.
        mutating func values(_ name: String) throws -> Values? {
            let start = pos
            var op = SetOperator.equals
            if let o = SetOperator.allCases.first(where: { literal($0.rawValue) }) {
                if blanks() > 0 { op = o } else { pos = start }
            }
            if literal("{") {
                _ = blanks()
                guard let first = try value(name) else {
                    pos = start
                    return try single(name)
                }
                var list = [first]
                while true {
                    let save = pos
                    if blanks() > 0, let v = try value(name) {
                        list.append(v)
                        continue
                    }
                    pos = save
                    break
                }
                _ = blanks()
                guard literal("}") else {
                    pos = start
                    return try single(name)
                }
                return Values(op: list.count == 1 && op == .equals ? .equals : op, values: list)
            }
            pos = start
            return try single(name)
        }

        mutating func single(_ name: String) throws -> Values? {
            try value(name).map { Values(op: .equals, values: [$0]) }
        }

        /// `name blank+ values`; true when one matched (and was added to `rule`).
        mutating func attribute(into rule: inout USBGuardRule) throws -> Bool {
            for name in USBGuardRule.attributeNames {
                let start = pos
                guard literal(name) else { continue }
                guard blanks() > 0, let v = try values(name) else {
                    pos = start
                    continue
                }
                if name == "label" {
                    rule.attributes[name, default: Values(op: .equals, values: [])].values += v.values
                    return true
                }
                guard rule.attributes[name] == nil else {
                    throw fail(name == "if" ? "conditions already defined" : "\(name) attribute already defined", at: start)
                }
                rule.attributes[name] = v
                return true
            }
            return false
        }
    }

    /// `SS`, `HH:MM` or `HH:MM:SS` (rule-applied and rule-evaluated).
    static func isDuration(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return (1...3).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}

/// usbguard-daemon's configuration and rule files as usbguard-daemon 1.1.2 reads them when
/// Debian 12's usbguard.service starts it (`usbguard-daemon -f -s -c
/// /etc/usbguard/usbguard-daemon.conf`, without `-P`, so file permissions are checked): the
/// settings that decide what a new device gets, whether the daemon would start at all, and the
/// rules (docs/DAEMON-SEMANTICS.md, "USBGuard").
struct USBGuardConfig {
    static let path = "/etc/usbguard/usbguard-daemon.conf"
    /// The names usbguard-daemon 1.1.2 knows; any other name stops it ("Invalid key").
    static let knownKeys: Set<String> = [
        "RuleFile", "RuleFolder", "ImplicitPolicyTarget", "PresentDevicePolicy", "PresentControllerPolicy", "InsertedDevicePolicy",
        "AuthorizedDefault", "RestoreControllerDeviceState", "DeviceManagerBackend", "IPCAllowedUsers", "IPCAllowedGroups",
        "IPCAccessControlFiles", "DeviceRulesWithPort", "AuditBackend", "AuditFilePath", "HidePII",
    ]
    /// The values each enumerated setting may take; any other stops the daemon.
    static let allowedValues: [String: Set<String>] = [
        // An empty target is taken (and authorises nothing); `match` and `device` too.
        "ImplicitPolicyTarget": ["allow", "block", "reject", "match", "device", ""],
        "PresentDevicePolicy": ["allow", "block", "reject", "keep", "apply-policy"],
        "PresentControllerPolicy": ["allow", "block", "reject", "keep", "apply-policy"],
        "InsertedDevicePolicy": ["apply-policy", "block", "reject"],
        "AuthorizedDefault": ["keep", "none", "all", "internal"],
        "DeviceRulesWithPort": ["true", "false"], "RestoreControllerDeviceState": ["true", "false"], "HidePII": ["true", "false"],
        // `udev` is obsolete and falls back to uevent; umockdev needs a test environment.
        "DeviceManagerBackend": ["uevent", "udev"],
        "AuditBackend": ["LinuxAudit", "FileAudit"],
    ]
    /// The daemon's own values for settings the file does not set.
    static let defaults = ["ImplicitPolicyTarget": "block", "PresentDevicePolicy": "apply-policy", "AuthorizedDefault": "none"]

    struct Setting {
        var value: String
        var source: String
    }

    struct Rule {
        var source: String
        var text: String
        var rule: USBGuardRule
    }

    var settings: [String: Setting] = [:]
    /// Where and why usbguard-daemon would refuse to start (the first such place).
    var refusal: (source: String, reason: String)?
    /// Why Warden cannot tell whether it would (a file it cannot read, a condition it does not check).
    var undecided: String?
    var ruleFiles: [String] = []
    var rules: [Rule] = []

    /// The setting as the daemon takes it: the file's last assignment, or its default.
    func effective(_ key: String) -> Setting? {
        settings[key] ?? USBGuardConfig.defaults[key].map { Setting(value: $0, source: "default (usbguard-daemon 1.1.2)") }
    }

    mutating func refuse(_ source: String, _ reason: String) {
        if refusal == nil { refusal = (source, reason) }
    }

    /// The whitespace usbguard's `trim()` removes around a name and a value.
    static func trimmed(_ s: Substring) -> String {
        let blank: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
        let u = Array(s.utf8)
        var start = 0
        var end = u.count
        while start < end, blank.contains(u[start]) { start += 1 }
        while end > start, blank.contains(u[end - 1]) { end -= 1 }
        return String(decoding: u[start..<end], as: UTF8.self)
    }

    /// Nil when the configuration file does not exist (USBGuard is not installed).
    static func read(_ root: HostRoot) throws(HostError) -> USBGuardConfig? {
        let text: String
        var config = USBGuardConfig()
        do { text = try root.readText(path) } catch {
            guard error.isNotFound else { throw error }
            if !root.mayExist(path) { return nil }
            config.refuse(path, "a link to nothing: the daemon cannot open its configuration")
            return config
        }
        config.checkPermissions(root, path)
        for (i, raw) in lines(text).enumerated() {
            // std::getline keeps a "\r"; only an empty line or a "#" in the first column is skipped.
            if raw.isEmpty || raw.first == "#" { continue }
            let source = "\(path):\(i + 1)"
            guard let eq = raw.firstIndex(of: "=") else {
                config.refuse(source, "no '=' on this line (\"Separator not found\")")
                continue
            }
            let key = trimmed(raw[..<eq])
            guard knownKeys.contains(key) else {
                config.refuse(source, "unknown setting '\(key)'")
                continue
            }
            config.settings[key] = Setting(value: trimmed(raw[raw.index(after: eq)...]), source: source)
        }
        for (key, allowed) in allowedValues.sorted(by: { $0.key < $1.key }) {
            if let s = config.settings[key], !allowed.contains(s.value) {
                config.refuse(s.source, "\(key)=\(s.value) is not a value it takes")
            }
        }
        if config.settings["AuditBackend"]?.value == "FileAudit", config.settings["AuditFilePath"] == nil {
            config.refuse(config.settings["AuditBackend"]!.source, "AuditBackend=FileAudit without AuditFilePath")
        }
        if let s = config.settings["IPCAccessControlFiles"], !root.isDirectory(s.value) {
            config.refuse(s.source, "IPCAccessControlFiles=\(s.value) is not a directory")
        }
        if let s = config.settings["RuleFile"], !s.value.isEmpty {
            if root.exists(s.value) {
                config.readRules(root, s.value)
            } else {
                config.refuse(s.source, "RuleFile \(s.value) does not exist")
            }
        }
        if let s = config.settings["RuleFolder"] {
            config.readRuleFolder(root, s)
        }
        return config
    }

    /// Debian's unit runs the daemon without `-P`: a configuration or rule file with any
    /// permission bit outside 0600 (or neither read nor write for its owner) stops it.
    mutating func checkPermissions(_ root: HostRoot, _ file: String) {
        guard let info = try? root.info(file) else { return refuse(file, "cannot be read") }
        guard info.kind == .regular else { return refuse(file, "is not a regular file") }
        if info.mode & 0o177 != 0 || info.mode & 0o600 == 0 {
            refuse(file, "mode \(formatMode(info.mode)): usbguard-daemon requires 0600 (\"Policy may be readable\")")
        }
    }

    /// Every entry of the folder that is a regular file (after links), hidden ones and backups
    /// included, in name order.
    mutating func readRuleFolder(_ root: HostRoot, _ setting: Setting) {
        guard !setting.value.isEmpty else {
            return refuse(setting.source, "RuleFolder is empty (the daemon would read its working directory)")
        }
        let names: [String]
        do { names = try root.list(setting.value) } catch {
            if error.isNotFound { return refuse(setting.source, "RuleFolder \(setting.value) does not exist") }
            undecided = "\(setting.value): \(error)"
            return
        }
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let file = joinPath(setting.value, name)
            guard (try? root.info(file))?.kind == .regular else { continue }
            readRules(root, file)
        }
    }

    mutating func readRules(_ root: HostRoot, _ file: String) {
        ruleFiles.append(file)
        checkPermissions(root, file)
        let text: String
        do { text = try root.readText(file) } catch {
            undecided = undecided ?? "\(error)"
            return
        }
        for (i, raw) in lines(text).enumerated() {
            let source = "\(file):\(i + 1)"
            do {
                guard let rule = try USBGuardRule.parse(raw) else { continue }
                rules.append(Rule(source: source, text: String(raw), rule: rule))
            } catch let e as USBGuardRuleError {
                refuse("\(source):\(e.column)", "\(e.message): `\(raw)`")
            } catch let e as USBGuardUncheckedCondition {
                undecided =
                    undecided
                    ?? "\(source):\(e.column): the condition \(e.condition) (Warden does not check its argument, which usbguard-daemon 1.1.2 may refuse)"
            } catch {
                undecided = undecided ?? "\(source): \(error)"
            }
        }
    }
}
