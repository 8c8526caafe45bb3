public import WardenCore
internal import WardenFormats

/// Local accounts as glibc's files backend and pam_unix see them (ACC-009):
///
/// - `/etc/passwd`: `name:password:uid:gid:gecos:home:shell`. Every account with UID 0 is listed
///   (the check decides which are allowed). A password field that is empty means no password at
///   all: pam_unix consults /etc/shadow only when the field is `x`.
/// - `/etc/shadow`: `name:password:…` (9 fields, or the old 2-field form glibc still accepts).
///   An empty password field is a login without a password; `!…` and `*` are locked.
/// Blank lines and `#` comments are skipped, as glibc skips them. A line glibc would not parse
/// (wrong field count, a UID that is not a number) and NIS compat entries (`+`/`-`, whose
/// accounts come from elsewhere) are problems with file:line, so the control is `error`, never a
/// silent `pass`. A missing or unreadable /etc/shadow is a problem too.
///
/// `logins` (ACC-007) are the accounts a person may log in with (`LoginPolicy`, which ACC-003's
/// `weight_readers` shares): a UID from `UID_MIN` to `UID_MAX` of /etc/login.defs (shadow's
/// getdef: the last value wins; 1000 and 60000 without one), and a shell that gives a session
/// (an empty field is /bin/sh; `nologin`, `false` and `true` do not). Each carries its account expiry, /etc/shadow's field 8 as a date (pam_unix
/// refuses the account from that day on; an empty field never expires). A locked password (`!`)
/// does not take an account out: with `UsePAM yes`, sshd and pam_unix still let it in with a
/// key.
public struct AccountsProbe: Probe {
    public init() {}
    public let name = "accounts"
    public let summary = "local accounts: UID 0 accounts in /etc/passwd, empty password fields in /etc/passwd and /etc/shadow"
    public let reads = ["/etc/passwd", "/etc/shadow", "/etc/login.defs"]
    public var facts: [String: FactType] {
        [
            "accounts": .object([
                "source": .string, "files": .strings, "users": .int,
                "uid0_accounts": .list(.object(["source": .string, "user": .string, "uid": .int])),
                "empty_passwords": .list(.object(["source": .string, "user": .string, "file": .string])),
                "problems": .list(.object(["source": .string, "error": .string])),
                "logins": .list(
                    .object([
                        "name": .string, "uid": .int, "shell": .string, "source": .string, "expires": .optional(.string),
                        "password_locked": .bool,
                    ])),
                "uid_range": .object(["min": .int, "max": .int, "source": .string]),
                "password_hashes": .list(
                    .object(["name": .string, "source": .string, "scheme": .string, "algorithm": .string, "locked": .bool])),
                "encrypt_method": .sourced(.string), "encrypt_method_pam": .sourced(.string),
            ])
        ]
    }

    static let passwdFile = "/etc/passwd"
    static let shadowFile = "/etc/shadow"
    static let loginDefsFile = "/etc/login.defs"
    /// Shells that end a login at once instead of giving a session.
    static let noSessionShells: Set<String> = ["nologin", "false", "true"]

    /// A login.defs number as shadow's getdef reads it (strtol with base 0: decimal, 0x hex, 0 octal).
    static func getdefNumber(_ text: Substring) -> UInt32? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return UInt32(text.dropFirst(2), radix: 16) }
        if text.count > 1 && text.hasPrefix("0") { return UInt32(text.dropFirst(), radix: 8) }
        return UInt32(text)
    }

    struct State {
        var users = 0
        var uid0: [JSON] = []
        var empty: [JSON] = []
        var problems: [JSON] = []
        /// Accounts with a UID in the login range and a session shell, by name.
        var logins: [(name: String, uid: UInt32, shell: String, source: String)] = []
        /// Field 8 (days since 1970-01-01) and the password field's lock, by name, from /etc/shadow.
        var expiry: [String: (days: Int64?, locked: Bool, source: String)] = [:]
        /// The hash scheme of every shadow entry that holds a hash (`password_hashes`).
        var hashes: [JSON] = []
        var policy = LoginPolicy()

        mutating func problem(_ source: String, _ message: String) {
            problems.append(["source": .string(source), "error": .string(message)])
        }
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        let passwd: String
        do {
            passwd = try root.readText(AccountsProbe.passwdFile)
        } catch {
            return ["accounts": .unavailable(.error("cannot read \(AccountsProbe.passwdFile): \(error.message)"))]
        }
        var state = State()
        state.policy = LoginPolicy(root: root)
        AccountsProbe.parsePasswd(passwd, state: &state)
        var hashes: JSON
        do {
            AccountsProbe.parseShadow(try root.readText(AccountsProbe.shadowFile), state: &state)
            hashes = .array(state.hashes)
        } catch {
            state.problem(
                AccountsProbe.shadowFile, "cannot read \(AccountsProbe.shadowFile): \(error.message); empty passwords cannot be ruled out")
            hashes = ["error": .string("cannot read \(AccountsProbe.shadowFile): \(error.message)")]
        }
        return [
            "accounts": .value([
                "source": .string(AccountsProbe.passwdFile),
                "files": [.string(AccountsProbe.passwdFile), .string(AccountsProbe.shadowFile)],
                "users": .int(state.users),
                "uid0_accounts": .array(state.uid0),
                "empty_passwords": .array(state.empty),
                "problems": .array(state.problems),
                "logins": .array(
                    state.logins.map { login in
                        let shadow = state.expiry[login.name]
                        return [
                            "name": .string(login.name), "uid": .int(Int64(login.uid)), "shell": .string(login.shell),
                            "source": .string(shadow?.source ?? login.source),
                            "expires": shadow?.days.map { .string(String(Timestamp(seconds: $0 * 86400).description.prefix(10))) } ?? .null,
                            "password_locked": .bool(shadow?.locked ?? false),
                        ]
                    }),
                "uid_range": state.policy.json,
                "password_hashes": hashes,
                "encrypt_method": AccountsProbe.encryptMethod(root),
                "encrypt_method_pam": AccountsProbe.encryptMethodForPAM(root),
            ])
        ]
    }

    /// The non-blank, non-comment lines of a colon-separated database with their numbers.
    static func records(_ text: String) -> [(number: Int, line: Substring)] {
        var out: [(Int, Substring)] = []
        for (i, raw) in lines(text).enumerated() {
            let line = raw.last == "\r" ? raw.dropLast() : raw
            let start = line.trimmed
            if start.isEmpty || start.first == "#" { continue }
            out.append((i + 1, line))
        }
        return out
    }

    static func parsePasswd(_ text: String, state: inout State) {
        let (entries, problems) = passwdEntries(text)
        for p in problems { state.problem(p.source, p.message) }
        for entry in entries {
            state.users += 1
            if state.policy.isLogin(entry) {
                state.logins.append((entry.name, entry.uid, entry.shell, entry.source))
            }
            if entry.uid == 0 {
                state.uid0.append(["source": .string(entry.source), "user": .string(entry.name), "uid": 0])
            }
            if entry.passwordEmpty {
                state.empty.append(["source": .string(entry.source), "user": .string(entry.name), "file": .string(passwdFile)])
            }
        }
    }

    /// The entries of /etc/passwd that glibc parses, in file order, and the lines it would not
    /// parse (or whose accounts come from NIS) with file:line.
    static func passwdEntries(_ text: String) -> (entries: [PasswdEntry], problems: [(source: String, message: String)]) {
        var entries: [PasswdEntry] = []
        var problems: [(String, String)] = []
        for (number, line) in records(text) {
            let here = "\(passwdFile):\(number)"
            if line.first == "+" || line.first == "-" {
                problems.append((here, "NIS compat entry '\(line)': its accounts come from NIS and cannot be checked here"))
                continue
            }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 7 else {
                problems.append((here, "malformed passwd entry: \(fields.count) fields, expected 7"))
                continue
            }
            let user = String(fields[0])
            guard !user.isEmpty else {
                problems.append((here, "malformed passwd entry: empty user name"))
                continue
            }
            guard let uid = numericID(fields[2]) else {
                problems.append((here, "malformed passwd entry for \(user): UID '\(fields[2])' is not a number"))
                continue
            }
            guard let gid = numericID(fields[3]) else {
                problems.append((here, "malformed passwd entry for \(user): GID '\(fields[3])' is not a number"))
                continue
            }
            entries.append(
                PasswdEntry(
                    name: user, uid: uid, gid: gid, home: String(fields[5]), shell: fields[6].isEmpty ? "/bin/sh" : String(fields[6]),
                    passwordEmpty: fields[1].isEmpty, source: here))
        }
        return (entries, problems)
    }

    static func parseShadow(_ text: String, state: inout State) {
        for (number, line) in records(text) {
            let here = "\(shadowFile):\(number)"
            if line.first == "+" || line.first == "-" {
                state.problem(here, "NIS compat entry: its accounts come from NIS and cannot be checked here")
                continue
            }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            // Never echo a shadow line: it holds password hashes.
            guard fields.count == 9 || fields.count == 2 else {
                state.problem(here, "malformed shadow entry: \(fields.count) fields, expected 9")
                continue
            }
            let user = String(fields[0])
            guard !user.isEmpty else {
                state.problem(here, "malformed shadow entry: empty user name")
                continue
            }
            if let bad = fields.dropFirst(2).prefix(6).first(where: { !$0.isEmpty && Int64($0) == nil }) {
                state.problem(here, "malformed shadow entry for \(user): '\(bad)' is not a number")
                continue
            }
            if fields[1].isEmpty {
                state.empty.append(["source": .string(here), "user": .string(user), "file": .string(shadowFile)])
            }
            if let (scheme, algorithm) = AccountsProbe.hashScheme(fields[1]) {
                state.hashes.append([
                    "name": .string(user), "source": .string(here), "scheme": .string(scheme), "algorithm": .string(algorithm),
                    "locked": .bool(fields[1].hasPrefix("!")),
                ])
            }
            // glibc reads an empty or negative field 8 as "never" (-1).
            let expires = fields.count == 9 ? Int64(fields[7]).flatMap { $0 >= 0 ? $0 : nil } : nil
            state.expiry[user] = (expires, fields[1].hasPrefix("!"), here)
        }
    }

    /// The scheme of a shadow password field as libxcrypt tells hashes apart (its prefix, `DES`
    /// for the 13-character traditional form, `BSDi` for `_` extended DES) and the algorithm's
    /// name; nil when the field holds no hash: empty, or only a lock (`!`, `!!`, `*`, `!*`,
    /// `*LK*`: after the leading `!`s, nothing or something starting with `*`, which no hash
    /// does). A leading `!` before a hash only locks it: `usermod -U` brings the hash back, so it
    /// is judged.
    static func hashScheme(_ field: Substring) -> (scheme: String, algorithm: String)? {
        let hash = field.drop { $0 == "!" }
        guard let first = hash.first, first != "*" else { return nil }
        if first == "$" {
            let id = hash.dropFirst().prefix { $0 != "$" }
            let names = [
                "y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt", "6": "sha512crypt", "5": "sha256crypt", "2a": "bcrypt",
                "2b": "bcrypt", "2x": "bcrypt", "2y": "bcrypt", "1": "md5crypt", "sha1": "sha1crypt", "md5": "sunmd5", "3": "nthash",
            ]
            // A `$` hash names its scheme up to the second `$` (sunmd5 writes `$md5,rounds=…$`).
            let name = id.prefix { $0 != "," }
            return ("$\(name)$", names[String(name)] ?? "unrecognised")
        }
        let crypt64 = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "/") }
        if hash.count == 13 && hash.allSatisfy(crypt64) { return ("DES", "descrypt") }
        if first == "_" && hash.count == 20 && hash.dropFirst().allSatisfy(crypt64) { return ("BSDi", "bsdicrypt") }
        return ("unrecognised", "unrecognised")
    }

    /// The hash `chpasswd`, `newusers` and pam_unix (without a hash option of its own) use for
    /// new passwords: ENCRYPT_METHOD of /etc/login.defs as shadow-utils' getdef reads it (the
    /// last definition wins; the value runs from the first character that is not a blank or `"`
    /// to the next `"` or the end of the line, trailing blanks removed, so an inline `#` comment
    /// is part of the value). Without one, shadow-utils 4.13 falls back to MD5 when
    /// MD5_CRYPT_ENAB is `yes`, else DES. The value is kept as written: shadow compares it with
    /// exact, case-sensitive names and takes anything else as DES.
    static func encryptMethod(_ root: HostRoot) -> JSON {
        let text: String
        do { text = try root.readText(loginDefsFile) } catch {
            if !error.isNotFound { return ["error": .string("cannot read \(loginDefsFile): \(error.message)")] }
            return ["value": "DES", "source": .string("default (shadow-utils: no \(loginDefsFile))")]
        }
        var method: (value: String, source: String)?
        var md5 = false
        for (number, line) in lines(text).enumerated() {
            guard let (name, value) = getdef(line) else { continue }
            if name == "ENCRYPT_METHOD" { method = (value, "\(loginDefsFile):\(number + 1)") }
            if name == "MD5_CRYPT_ENAB" { md5 = value.lowercased() == "yes" }
        }
        if let method { return ["value": .string(method.value), "source": .string(method.source)] }
        return [
            "value": .string(md5 ? "MD5" : "DES"),
            "source": .string("default (shadow-utils: no ENCRYPT_METHOD in \(loginDefsFile), MD5_CRYPT_ENAB \(md5 ? "yes" : "not yes"))"),
        ]
    }

    /// ENCRYPT_METHOD as pam_unix (Linux-PAM 1.5.2) reads it when its own line names no hash:
    /// `pam_modutil_search_key` takes the *first* line whose key matches without case, after
    /// cutting each line at `#`, with blanks or `=` between key and value; `_set_ctrl` then takes
    /// the first of its hash names the value starts with (without case). The name is given as
    /// shadow spells it (`blowfish` is BCRYPT); without a value it knows, pam_unix hashes with
    /// bigcrypt, which is DES.
    static func encryptMethodForPAM(_ root: HostRoot) -> JSON {
        let text: String
        do { text = try root.readText(loginDefsFile) } catch {
            if !error.isNotFound { return ["error": .string("cannot read \(loginDefsFile): \(error.message)")] }
            return ["value": "DES", "source": .string("default (pam_unix: no \(loginDefsFile))")]
        }
        let names: [(token: String, name: String)] = [
            ("md5", "MD5"), ("bigcrypt", "DES"), ("sha256", "SHA256"), ("sha512", "SHA512"), ("blowfish", "BCRYPT"),
            ("gost_yescrypt", "GOST_YESCRYPT"), ("yescrypt", "YESCRYPT"),
        ]
        for (number, raw) in lines(text).enumerated() {
            let line = raw.prefix { $0 != "#" }.drop { $0 == " " || $0 == "\t" || $0 == "\r" }
            let key = line.prefix { $0 != " " && $0 != "\t" && $0 != "=" }
            guard !key.isEmpty, key.lowercased() == "encrypt_method" else { continue }
            let value = line.dropFirst(key.count).drop { $0 == " " || $0 == "\t" || $0 == "=" }.lowercased()
            let source = "\(loginDefsFile):\(number + 1)"
            guard let match = names.first(where: { value.hasPrefix($0.token) }) else {
                return ["value": "DES", "source": .string("\(source) (a value pam_unix does not know: it uses bigcrypt)")]
            }
            return ["value": .string(match.name), "source": .string(source)]
        }
        return ["value": "DES", "source": .string("default (pam_unix: no ENCRYPT_METHOD in \(loginDefsFile), bigcrypt)")]
    }

    /// One login.defs line as getdef.c's `def_load` splits it; nil for a comment, a blank line
    /// or a name without a value.
    static func getdef(_ raw: Substring) -> (name: Substring, value: String)? {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}" }
        var line = raw
        while let last = line.last, blank(last) { line = line.dropLast() }
        let start = line.drop { $0 == " " || $0 == "\t" }
        guard let first = start.first, first != "#" else { return nil }
        let name = start.prefix { $0 != " " && $0 != "\t" }
        let rest = start.dropFirst(name.count)
        guard !rest.isEmpty else { return nil }
        let value = rest.dropFirst().drop { $0 == " " || $0 == "\"" || $0 == "\t" }.prefix { $0 != "\"" }
        return (name, String(value))
    }

    /// A UID or GID: decimal digits only, within 32 bits ("00" is 0, as strtoul reads it).
    static func numericID(_ field: Substring) -> UInt32? {
        guard !field.isEmpty, field.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(field)
    }
}

/// One /etc/passwd entry as glibc parses it.
struct PasswdEntry: Sendable {
    var name: String
    var uid: UInt32
    var gid: UInt32
    var home: String
    /// The login shell; an empty field is /bin/sh, as login(1) and sshd run it.
    var shell: String
    /// No password at all (pam_unix consults /etc/shadow only when the field is `x`).
    var passwordEmpty: Bool
    /// file:line.
    var source: String
}

/// Which accounts a person may log in with: the one definition ACC-007 (`accounts.logins`) and
/// ACC-003 (`weight_readers`) share. A UID from `UID_MIN` to `UID_MAX` of /etc/login.defs
/// (shadow's getdef: the last value wins; 1000 and 60000 without one) and a shell that gives a
/// session (`nologin`, `false` and `true` end the login at once).
struct LoginPolicy: Sendable {
    var uidMin: UInt32 = 1000
    var uidMax: UInt32 = 60000
    var source = "default (shadow: UID_MIN 1000, UID_MAX 60000)"

    init() {}

    /// The range /etc/login.defs sets under `root` (the defaults when there is none).
    init(root: HostRoot) {
        guard let defs = try? root.readText(AccountsProbe.loginDefsFile) else { return }
        source = AccountsProbe.loginDefsFile
        for (_, line) in configLines(defs) {
            let w = line.words
            guard w.count >= 2, let v = AccountsProbe.getdefNumber(w[1]) else { continue }
            if w[0] == "UID_MIN" { uidMin = v }
            if w[0] == "UID_MAX" { uidMax = v }
        }
    }

    func isLogin(_ entry: PasswdEntry) -> Bool {
        let shellName = String(entry.shell.split(separator: "/").last ?? "")
        return entry.uid >= uidMin && entry.uid <= uidMax && !AccountsProbe.noSessionShells.contains(shellName)
    }

    /// `accounts.uid_range`.
    var json: JSON { ["min": .int(Int64(uidMin)), "max": .int(Int64(uidMax)), "source": .string(source)] }
}
