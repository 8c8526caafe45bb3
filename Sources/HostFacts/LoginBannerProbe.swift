public import WardenCore
internal import WardenFormats

/// The banner sshd shows before authentication (LOG-011): the effective global `Banner`, read
/// with `SSHDConfigProbe`'s parser (first value wins, Include, defaults), the file it names, and
/// the words of that file, for the check that it announces monitoring. sshd sends the file only
/// when it is 1 byte to 1 MiB (OpenSSH 9.2, auth2.c `auth2_read_banner`).
public struct LoginBannerProbe: Probe {
    public init() {}
    public let name = "login_banner"
    public let summary = "the SSH pre-login banner: sshd's effective Banner and the words of the file it names"
    public let reads = ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*.conf (and any Include)", "the file Banner names"]
    public var facts: [String: FactType] {
        [
            "login_banner": .object([
                "banner": .sourced(.string), "path": .string, "source": .string, "shown": .bool, "size": .int,
                "first_line": .string, "words": .list(.object(["word": .string, "source": .string])),
            ])
        ]
    }

    /// The largest banner sshd sends.
    static let maxSize = 1 << 20

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let probe = SSHDConfigProbe()
        do {
            if try SSHDConfigProbe.serverSigns(root, units: context.units).isEmpty {
                return ["login_banner": .value(["not_applicable": "no OpenSSH server: no sshd binary, configuration or unit"])]
            }
        } catch {
            return ["login_banner": .unavailable(.error(error.description))]
        }
        var state = SSHDConfigProbe.State()
        state.version = PackageDatabase.installedVersion(root, packages: ["openssh-server"]).map {
            PackageDatabase.upstreamNumbers($0.version)
        }
        do {
            try probe.parse(file: SSHDConfigProbe.mainFile, root: root, state: &state, inMatch: nil, depth: 0)
        } catch {
            return ["login_banner": .unavailable(.error("cannot read the sshd configuration: \(error)"))]
        }
        if let refusal = state.refusal ?? SSHDConfigProbe.unsatisfiableMethods(state.global) {
            return ["login_banner": .unavailable(.error("sshd would refuse this configuration: \(refusal)"))]
        }
        let setting = state.global["banner"] ?? SSHDConfigProbe.Setting(value: "none", source: "default (OpenSSH)")
        var value = setting.value.stringValue ?? "none"
        // Banner takes one argument: more is "extra arguments at end of line", and sshd will not
        // start. The stored value has lost its quotes, so the line is split again as sshd does.
        if let raw = LoginBannerProbe.rawValue(root, source: setting.source) {
            guard let arguments = LoginBannerProbe.arguments(raw), arguments.count == 1 else {
                return [
                    "login_banner": .unavailable(
                        .error(
                            "sshd would refuse this configuration: \(setting.source), Banner, \(raw) (extra arguments or invalid quotes)"))
                ]
            }
            value = arguments[0]
        }
        // sshd takes `none` in any case (`option_clear_or_none`): stated as sshd -T prints it.
        let stated = value.lowercased() == "none" ? "none" : value
        var fact: JSONObject = ["banner": ["value": .string(stated), "source": .string(setting.source)]]
        guard let path = LoginBannerProbe.resolve(value) else {
            if value.lowercased() != "none" {
                fact["path"] = .string(value)
                fact["shown"] = false
                fact["source"] = .string(setting.source)
            }
            return ["login_banner": .value(.object(fact))]
        }
        fact["path"] = .string(path)
        fact["source"] = .string(path)
        guard root.exists(path) else {
            fact["shown"] = false
            return ["login_banner": .value(.object(fact))]
        }
        let bytes: [UInt8]
        do {
            let info = try root.info(path)
            fact["size"] = .int(Int(info.size))
            guard info.kind == .regular, info.size > 0, info.size <= Int64(LoginBannerProbe.maxSize) else {
                fact["shown"] = false
                return ["login_banner": .value(.object(fact))]
            }
            bytes = try root.read(path, limit: LoginBannerProbe.maxSize)
        } catch {
            return ["login_banner": .unavailable(.error(error.description))]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        fact["shown"] = true
        fact["first_line"] = .string(String((lines(text).first { !$0.trimmed.isEmpty } ?? "").trimmed))
        fact["words"] = .array(LoginBannerProbe.words(bytes).map { ["word": .string($0), "source": .string(path)] })
        return ["login_banner": .value(.object(fact))]
    }

    /// The file sshd opens for a `Banner` value (servconf.c `derelativise_path`): `none` in any
    /// case is no banner; `~/` is root's home (sshd reads its configuration as root); a relative
    /// path is taken from `/`, sshd's working directory. nil for none, and for `~user`, which
    /// would need that user's home.
    static func resolve(_ value: String) -> String? {
        if value.lowercased() == "none" { return nil }
        if value == "~" { return "/root" }
        if value.hasPrefix("~/") { return "/root" + value.dropFirst(1) }
        if value.hasPrefix("~") { return nil }
        return value.hasPrefix("/") ? value : "/" + value
    }

    /// The distinct words of the banner in the order they first appear: runs of ASCII letters,
    /// lower-cased, so that "MONITORED," is the word `monitored`.
    static func words(_ bytes: [UInt8]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        var current: [UInt8] = []
        func flush() {
            if !current.isEmpty {
                let w = String(decoding: current, as: UTF8.self)
                if seen.insert(w).inserted { out.append(w) }
                current.removeAll(keepingCapacity: true)
            }
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): current.append(b)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(b + 32)
            default: flush()
            }
        }
        flush()
        return out
    }

    /// The text after the keyword on the line `source` (`file:line`) names, or nil for a default.
    static func rawValue(_ root: HostRoot, source: String) -> String? {
        guard let colon = source.lastIndex(of: ":"), let number = Int(source[source.index(after: colon)...]), number > 0,
            let text = try? root.readText(String(source[..<colon]))
        else { return nil }
        let all = lines(text)
        guard number <= all.count else { return nil }
        return SSHDConfigProbe.split(all[number - 1].trimmed)?.1
    }

    /// A configuration line's arguments as OpenSSH 9.2's `argv_split` makes them (misc.c):
    /// separated by blanks outside quotes, `"` or `'` quoting, a backslash escaping a quote, a
    /// backslash or (outside quotes) a space, and `#` at the start of an argument ending the line.
    /// nil for an unterminated quote, which sshd refuses.
    static func arguments(_ raw: String) -> [String]? {
        let s = Array(raw.utf8)
        var out: [String] = []
        var i = 0
        while i < s.count {
            if s[i] == 0x20 || s[i] == 0x09 {
                i += 1
                continue
            }
            if s[i] == UInt8(ascii: "#") { break }
            var arg: [UInt8] = []
            var quote: UInt8 = 0
            while i < s.count {
                let c = s[i]
                if c == UInt8(ascii: "\\"), i + 1 < s.count,
                    [UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "\\")].contains(s[i + 1]) || (quote == 0 && s[i + 1] == 0x20)
                {
                    i += 1
                    arg.append(s[i])
                } else if quote == 0 && (c == 0x20 || c == 0x09) {
                    break
                } else if quote == 0 && (c == UInt8(ascii: "\"") || c == UInt8(ascii: "'")) {
                    quote = c
                } else if quote != 0 && c == quote {
                    quote = 0
                } else {
                    arg.append(c)
                }
                i += 1
            }
            if quote != 0 { return nil }
            out.append(String(decoding: arg, as: UTF8.self))
        }
        return out
    }
}
