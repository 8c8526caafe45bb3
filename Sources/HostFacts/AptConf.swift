/// APT's configuration as apt 2.6 (Debian 12) reads it for `apt-config` and the periodic job
/// (apt-pkg/init.cc `pkgInitConfig`, contrib/configuration.cc `ReadConfigFile`,
/// contrib/fileutl.cc `GetListOfFilesInDir`): the files of /etc/apt/apt.conf.d in name order,
/// then /etc/apt/apt.conf, a later value replacing an earlier one; names compare without case.
/// Only the forms Debian and its packages write are read: `A::B "v";`, blocks `A { B "v"; };`,
/// list items inside blocks, `//`, `#` and `/* */` comments. Anything else (`#include`,
/// `#clear`, an unterminated string, a name without a value) is a problem naming file and line, so the caller
/// can say the configuration is unknown instead of guessing.
package struct AptConf {
    package struct Value: Sendable {
        package var value: String
        package var source: String
    }

    /// Lower-cased full name (`apt::periodic::enable`) → the last value set.
    package var values: [String: Value] = [:]
    package var files: [String] = []
    package var problems: [String] = []

    static let partsDirectory = "/etc/apt/apt.conf.d"
    static let mainFile = "/etc/apt/apt.conf"

    package static func read(_ root: HostRoot) -> AptConf {
        var conf = AptConf()
        do {
            for name in try root.list(partsDirectory).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
            where readsPart(name) {
                let path = joinPath(partsDirectory, name)
                guard (try? root.info(path))?.kind == .regular else { continue }
                conf.read(root, path)
            }
        } catch {
            if !error.isNotFound { conf.problems.append(error.description) }
        }
        if root.exists(mainFile) { conf.read(root, mainFile) }
        return conf
    }

    /// `GetListOfFilesInDir(dir, "conf", sort, AllowNoExt)`: hidden files skipped; a name with an
    /// extension must end in `.conf`; only letters, digits, `_`, `-`, `:` and `.`; not ending
    /// in a dot.
    static func readsPart(_ name: String) -> Bool {
        guard let first = name.utf8.first, first != UInt8(ascii: "."), name.utf8.last != UInt8(ascii: ".") else { return false }
        if let dot = name.lastIndex(of: "."), name[name.index(after: dot)...] != "conf" { return false }
        return name.utf8.allSatisfy { c in
            (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
        }
    }

    package subscript(_ name: String) -> Value? { values[name.lowercased()] }

    private enum Token: Equatable {
        case word(String)
        case string(String)
        case open, close, semicolon
    }

    private mutating func read(_ root: HostRoot, _ path: String) {
        let text: String
        do { text = try root.readText(path) } catch {
            problems.append(error.description)
            return
        }
        files.append(path)
        var tokens: [(Token, Int)] = []
        var inBlockComment = false
        for (index, raw) in lines(text).enumerated() {
            let number = index + 1
            let line = Array(raw.utf8)
            var i = 0
            while i < line.count {
                let c = line[i]
                if inBlockComment {
                    if c == UInt8(ascii: "*"), i + 1 < line.count, line[i + 1] == UInt8(ascii: "/") {
                        inBlockComment = false
                        i += 2
                    } else {
                        i += 1
                    }
                    continue
                }
                switch c {
                case 0x20, 0x09, 0x0D: i += 1
                case UInt8(ascii: "/") where i + 1 < line.count && line[i + 1] == UInt8(ascii: "/"): i = line.count
                case UInt8(ascii: "/") where i + 1 < line.count && line[i + 1] == UInt8(ascii: "*"):
                    inBlockComment = true
                    i += 2
                case UInt8(ascii: "#"):
                    let rest = String(decoding: line[i...], as: UTF8.self)
                    if rest.hasPrefix("#include") || rest.hasPrefix("#clear") {
                        problems.append("\(path):\(number): \(rest.prefix(8) == "#include" ? "#include" : "#clear") is not read by Warden")
                        return
                    }
                    i = line.count
                case UInt8(ascii: "{"):
                    tokens.append((.open, number))
                    i += 1
                case UInt8(ascii: "}"):
                    tokens.append((.close, number))
                    i += 1
                case UInt8(ascii: ";"):
                    tokens.append((.semicolon, number))
                    i += 1
                case UInt8(ascii: "\""):
                    guard let end = line[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else {
                        problems.append("\(path):\(number): a string is not closed on its line")
                        return
                    }
                    tokens.append((.string(String(decoding: line[(i + 1)..<end], as: UTF8.self)), number))
                    i = end + 1
                default:
                    var j = i
                    while j < line.count,
                        ![0x20, 0x09, 0x0D, UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ";"), UInt8(ascii: "\"")]
                            .contains(line[j])
                    {
                        j += 1
                    }
                    tokens.append((.word(String(decoding: line[i..<j], as: UTF8.self)), number))
                    i = j
                }
            }
        }
        if inBlockComment {
            problems.append("\(path): a /* comment is not closed")
            return
        }
        var scope: [String] = []
        var t = 0
        func fail(_ line: Int, _ what: String) { problems.append("\(path):\(line): \(what)") }
        while t < tokens.count {
            let (token, line) = tokens[t]
            switch token {
            case .word(let name):
                guard t + 1 < tokens.count else { return fail(line, "'\(name)' has no value") }
                switch tokens[t + 1].0 {
                case .open:
                    scope.append(name)
                    t += 2
                case .string(let v), .word(let v):
                    guard t + 2 < tokens.count, tokens[t + 2].0 == .semicolon else { return fail(line, "'\(name)' is not followed by ';'") }
                    let full = (scope + [name]).joined(separator: "::")
                    values[full.lowercased()] = Value(value: v, source: "\(path):\(line)")
                    t += 3
                default: return fail(line, "'\(name)' has no value")
                }
            case .string:
                // A list item (`Unattended-Upgrade::Origins-Pattern { "origin=Debian"; };`).
                guard !scope.isEmpty, t + 1 < tokens.count, tokens[t + 1].0 == .semicolon else {
                    return fail(line, "a value without a name")
                }
                t += 2
            case .close:
                guard !scope.isEmpty else { return fail(line, "'}' without a block") }
                scope.removeLast()
                t += 1
                if t < tokens.count, tokens[t].0 == .semicolon { t += 1 }
            case .semicolon: t += 1
            case .open: return fail(line, "'{' without a name")
            }
        }
        // A block still open at the end of the file is closed there: apt 2.6 reads such a file
        // without a complaint (PatchOracleTests, "unclosed-block").
    }
}
