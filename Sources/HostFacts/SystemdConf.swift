internal import WardenCore

/// A systemd configuration file with its drop-ins, read as systemd reads them (CONTROLS.md §1):
/// the main file, then `*.conf` from `<name>.d/` under /etc/systemd, /run/systemd,
/// /usr/local/lib/systemd and /usr/lib/systemd, sorted by file name across the directories, a
/// same-named file in an earlier directory masking the later ones. Only one section counts
/// (`[Journal]`, `[Coredump]`, `[Sleep]`); the later assignment wins; values are not unquoted;
/// a value systemd would reject is ignored (the earlier or default value stands) and reported.
struct SystemdConf {
    struct Setting {
        var value: String
        var source: String
        var json: JSON { ["value": .string(value), "source": .string(source)] }
    }

    /// The effective value of each key (only keys the file set; defaults are the caller's).
    var settings: [String: Setting] = [:]
    /// Lines systemd would ignore, with file:line and why.
    var ignored: [String] = []
    var files: [String] = []
    /// Files that could not be read (with errno).
    var errors: [String] = []

    /// Reads `/etc/systemd/<name>` and its drop-ins. `valid` says whether systemd accepts a value.
    static func read(root: HostRoot, name: String, section: String, valid: [String: (String) -> Bool]) -> SystemdConf {
        var conf = SystemdConf()
        let dropIns = root.dropInFiles(in: ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"].map { "\($0)/\(name).d" },
                                       problems: &conf.errors)
        let main = "/etc/systemd/\(name)"
        let files = (root.exists(main) && !root.isMasked(main) ? [main] : []) + dropIns
        for file in files {
            let text: String
            do { text = try root.readText(file) } catch {
                conf.errors.append(error.description)
                continue
            }
            conf.files.append(file)
            var inSection = false
            for (number, line) in configLines(text, comments: ["#", ";"]) {
                if line.hasPrefix("[") {
                    inSection = line == "[\(section)]"
                    continue
                }
                guard inSection else { continue }
                let here = "\(file):\(number)"
                guard let eq = line.firstIndex(of: "=") else {
                    conf.ignored.append("\(here): not a `Key=value` line")
                    continue
                }
                let key = String(line[..<eq].trimmed)
                let value = String(line[line.index(after: eq)...].trimmed)
                if let check = valid[key], !check(value) {
                    conf.ignored.append("\(here): invalid \(key)=\(value) (systemd ignores it)")
                    continue
                }
                conf.settings[key] = Setting(value: value, source: here)
            }
        }
        return conf
    }

    /// The value of `key`, or the compiled-in default.
    func value(_ key: String, default value: String) -> Setting {
        settings[key] ?? Setting(value: value, source: "default (systemd)")
    }

    /// systemd's boolean syntax.
    static func parseBool(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "1", "yes", "y", "true", "t", "on": true
        case "0", "no", "n", "false", "f", "off": false
        default: nil
        }
    }

    static func isBool(_ s: String) -> Bool { parseBool(s) != nil }

    /// A size (`0`, `2G`, `512M`, `infinity`) as systemd's parse_size accepts it, in bytes.
    static func parseSize(_ s: String) -> Int64? {
        if s == "infinity" { return Int64.max }
        let units: [Character: Int64] = ["B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60]
        var digits = Substring(s)
        var unit: Int64 = 1
        if let last = digits.last, let u = units[last] { unit = u; digits = digits.dropLast() }
        guard let n = Int64(digits), n >= 0 else { return nil }
        return n.multipliedReportingOverflow(by: unit).overflow ? nil : n * unit
    }
}
