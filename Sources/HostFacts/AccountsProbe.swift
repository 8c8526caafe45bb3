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
public struct AccountsProbe: Probe {
    public init() {}
    public let name = "accounts"
    public let summary = "local accounts: UID 0 accounts in /etc/passwd, empty password fields in /etc/passwd and /etc/shadow"
    public let reads = ["/etc/passwd", "/etc/shadow"]
    public var facts: [String: FactType] {
        [
            "accounts": .object([
                "source": .string, "files": .strings, "users": .int,
                "uid0_accounts": .list(.object(["source": .string, "user": .string, "uid": .int])),
                "empty_passwords": .list(.object(["source": .string, "user": .string, "file": .string])),
                "problems": .list(.object(["source": .string, "error": .string])),
            ])
        ]
    }

    static let passwdFile = "/etc/passwd"
    static let shadowFile = "/etc/shadow"

    struct State {
        var users = 0
        var uid0: [JSON] = []
        var empty: [JSON] = []
        var problems: [JSON] = []

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
        AccountsProbe.parsePasswd(passwd, state: &state)
        do {
            AccountsProbe.parseShadow(try root.readText(AccountsProbe.shadowFile), state: &state)
        } catch {
            state.problem(
                AccountsProbe.shadowFile, "cannot read \(AccountsProbe.shadowFile): \(error.message); empty passwords cannot be ruled out")
        }
        return [
            "accounts": .value([
                "source": .string(AccountsProbe.passwdFile),
                "files": [.string(AccountsProbe.passwdFile), .string(AccountsProbe.shadowFile)],
                "users": .int(state.users),
                "uid0_accounts": .array(state.uid0),
                "empty_passwords": .array(state.empty),
                "problems": .array(state.problems),
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
        for (number, line) in records(text) {
            let here = "\(passwdFile):\(number)"
            if line.first == "+" || line.first == "-" {
                state.problem(here, "NIS compat entry '\(line)': its accounts come from NIS and cannot be checked here")
                continue
            }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 7 else {
                state.problem(here, "malformed passwd entry: \(fields.count) fields, expected 7")
                continue
            }
            let user = String(fields[0])
            guard !user.isEmpty else {
                state.problem(here, "malformed passwd entry: empty user name")
                continue
            }
            guard let uid = numericID(fields[2]) else {
                state.problem(here, "malformed passwd entry for \(user): UID '\(fields[2])' is not a number")
                continue
            }
            guard numericID(fields[3]) != nil else {
                state.problem(here, "malformed passwd entry for \(user): GID '\(fields[3])' is not a number")
                continue
            }
            state.users += 1
            if uid == 0 {
                state.uid0.append(["source": .string(here), "user": .string(user), "uid": 0])
            }
            if fields[1].isEmpty {
                state.empty.append(["source": .string(here), "user": .string(user), "file": .string(passwdFile)])
            }
        }
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
        }
    }

    /// A UID or GID: decimal digits only, within 32 bits ("00" is 0, as strtoul reads it).
    static func numericID(_ field: Substring) -> UInt32? {
        guard !field.isEmpty, field.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(field)
    }
}
