public import WardenCore
internal import WardenFormats

/// Who can read the weights, and which of them are people (ACC-003). ACC-001 and ACC-002 hold
/// the weight tree to the site's registry: owner `weights.owner`, group `weights.group`, named
/// ACL entries only for `weights.allowed_principals`. So the readers are the accounts those
/// principals stand for, resolved the way glibc's files backend resolves them:
///
/// - the owner: the first /etc/passwd entry of that name (getpwnam);
/// - a group: its GID is that of the first /etc/group entry of the name (getgrnam); its members
///   are the accounts whose primary GID it is (/etc/passwd) and the members listed on every
///   /etc/group line with that GID (initgroups gives a process every such GID);
/// - an allowed principal `user:NAME` or `group:NAME`, or a bare `NAME`, which ACC-002 accepts
///   for a user or a group of that name, so both count.
///
/// Each reader is `human` when it is a login (`LoginPolicy`, the definition ACC-007 uses),
/// `root` for UID 0 (root reads everything whatever the modes; ACC-004, ACC-006, ACC-007 and
/// LOG-009 govern how anyone becomes root), and `service` otherwise. A human is `break_glass`
/// when the site's `weights.break_glass_group` is among its groups. What cannot be resolved (a
/// registered name that is neither user nor group, a member with no account, a line glibc would
/// not parse, NIS compat entries) is an `error` item among `humans`: whether a person reads
/// cannot be ruled out.
public struct WeightReadersProbe: Probe {
    public init() {}
    public let name = "weight_readers"
    public let summary =
        "who can read the weights: the site's weights.owner, weights.group and allowed_principals resolved against /etc/passwd and /etc/group, each a login (a person) or a service account"
    public let reads = ["/etc/passwd", "/etc/group", "/etc/login.defs"]
    public var facts: [String: FactType] {
        let reader = FactType.object([
            "name": .string, "uid": .int, "kind": .string, "via": .strings, "break_glass": .bool, "source": .string,
        ])
        return [
            "weight_readers": .object([
                "source": .string, "environment": .string, "readers": .list(reader), "humans": .list(reader),
                "direct_readers": .int,
                "break_glass": .object([
                    "group": .string, "gid": .int, "members": .strings, "humans": .sourced(.int), "source": .string,
                ]),
            ])
        ]
    }

    static let groupFile = "/etc/group"

    /// One /etc/group entry as glibc parses it.
    struct GroupEntry {
        var name: String
        var gid: UInt32
        var members: [String]
        var source: String
    }

    /// How one account can read, in the words the evidence shows.
    struct Access {
        var via: String
        var source: String
    }

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        guard let site = context.site else {
            return [
                "weight_readers": .unavailable(
                    .error("no site file: who may read the weights (weights.owner, weights.group) is not registered"))
            ]
        }
        let missing = [("weights.owner", site.weightsOwner), ("weights.group", site.weightsGroup)].filter { $0.1 == nil }.map(\.0)
        guard let owner = site.weightsOwner, let group = site.weightsGroup else {
            return [
                "weight_readers": .unavailable(
                    .error(
                        "the site file \(site.file) does not set \(missing.joined(separator: " and ")): who may read the weights is not registered"
                    ))
            ]
        }
        let root = context.root
        let passwdText: String
        let groupText: String
        do {
            passwdText = try root.readText(AccountsProbe.passwdFile)
            groupText = try root.readText(WeightReadersProbe.groupFile)
        } catch {
            return ["weight_readers": .unavailable(.error("cannot read \(error.path): \(error.message)"))]
        }
        let policy = LoginPolicy(root: root)
        let (users, passwdProblems) = AccountsProbe.passwdEntries(passwdText)
        let (groups, groupProblems) = WeightReadersProbe.groupEntries(groupText)
        var unresolved: [JSON] = (passwdProblems + groupProblems).map { p in
            ["name": .string(p.source), "error": .string(p.message), "source": .string(p.source)]
        }
        var reported: Set<[String]> = []
        func problem(_ name: String, _ message: String, _ source: String) {
            // A dangling member is met again for every registered group it is listed in.
            guard reported.insert([name, source]).inserted else { return }
            unresolved.append(["name": .string(name), "error": .string(message), "source": .string(source)])
        }

        var userByName: [String: PasswdEntry] = [:]
        for u in users where userByName[u.name] == nil { userByName[u.name] = u }
        var gidByName: [String: GroupEntry] = [:]
        for g in groups where gidByName[g.name] == nil { gidByName[g.name] = g }

        /// The accounts of a group, each with the line that makes it a member; `because` says why
        /// the group matters ("(weights.group)").
        func members(of group: GroupEntry, _ because: String) -> [(String, Access)] {
            var out: [(String, Access)] = []
            for u in users where u.gid == group.gid {
                out.append((u.name, Access(via: "primary group \(group.name)\(because)", source: u.source)))
            }
            for g in groups where g.gid == group.gid {
                for m in g.members {
                    guard userByName[m] != nil else {
                        problem(m, "\(m) is listed in group \(g.name)\(because) but has no account in /etc/passwd", g.source)
                        continue
                    }
                    out.append((m, Access(via: "member of \(group.name)\(because)", source: g.source)))
                }
            }
            return out
        }

        var access: [String: [Access]] = [:]
        var order: [String] = []
        func add(_ name: String, _ a: Access) {
            if access[name] == nil { order.append(name) }
            access[name, default: []].append(a)
        }

        if let u = userByName[owner] {
            add(u.name, Access(via: "owner (weights.owner)", source: u.source))
        } else {
            problem(owner, "the weights' owner \(owner) (weights.owner) has no account in /etc/passwd", AccountsProbe.passwdFile)
        }
        if let g = gidByName[group] {
            for (name, a) in members(of: g, " (weights.group)") { add(name, a) }
        } else {
            problem(group, "the weights' group \(group) (weights.group) is not in /etc/group", WeightReadersProbe.groupFile)
        }
        for principal in site.allowedPrincipals {
            let (kind, name) = WeightReadersProbe.split(principal)
            var found = false
            if kind != "group", let u = userByName[name] {
                found = true
                add(u.name, Access(via: "ACL entry \(principal) (weights.allowed_principals)", source: u.source))
            }
            if kind != "user", let g = gidByName[name] {
                found = true
                for (member, a) in members(of: g, ", ACL entry \(principal) (weights.allowed_principals)") { add(member, a) }
            }
            if !found {
                let what =
                    kind == "user"
                    ? "has no account in /etc/passwd" : kind == "group" ? "is not in /etc/group" : "is neither an account nor a group"
                problem(principal, "the allowed principal \(principal) (weights.allowed_principals) \(what)", "site file \(site.file)")
            }
        }

        // The break-glass group: which accounts have its GID among theirs.
        var breakGlass: JSON
        var inBreakGlass: Set<String> = []
        if let name = site.breakGlassGroup {
            if let g = gidByName[name] {
                var names: [String] = []
                for (member, _) in members(of: g, " (weights.break_glass_group)") {
                    if inBreakGlass.insert(member).inserted { names.append(member) }
                }
                let humans = names.filter { userByName[$0].map(policy.isLogin) == true }
                breakGlass = [
                    "group": .string(g.name), "gid": .int(Int64(g.gid)), "members": .array(names.map { .string($0) }),
                    "humans": [
                        "value": .int(Int64(humans.count)), "source": .string("\(g.source): people \(WeightReadersProbe.list(humans))"),
                    ],
                    "source": .string(g.source),
                ]
            } else {
                breakGlass = [
                    "group": .string(name), "members": [], "source": .string(WeightReadersProbe.groupFile),
                    "humans": ["error": .string("the break-glass group \(name) (weights.break_glass_group) is not in /etc/group")],
                ]
            }
        } else {
            // The count is what a check compares, so that is where the reason goes.
            breakGlass = ["members": [], "humans": ["not_applicable": .string("the site file names no weights.break_glass_group")]]
        }

        var readers: [JSON] = []
        var humans: [JSON] = []
        for name in order {
            guard let u = userByName[name], let ways = access[name], let first = ways.first else { continue }
            let kind = u.uid == 0 ? "root" : policy.isLogin(u) ? "human" : "service"
            let item: JSON = [
                "name": .string(name), "uid": .int(Int64(u.uid)), "kind": .string(kind),
                "via": .array(ways.map { .string($0.via) }), "break_glass": .bool(inBreakGlass.contains(name)),
                "source": .string("\(first.source): \(first.via)"),
            ]
            readers.append(item)
            if kind == "human" { humans.append(item) }
        }
        humans += unresolved

        let environment = site.environment
        let judged = "\(environment.rawValue) (RAND SL3 alternative \(environment.randAlternative))"
        let direct: JSON
        if environment != .isolatedNetwork {
            direct = ["not_applicable": .string("environment \(judged): no person reads the weights directly")]
        } else if !unresolved.isEmpty {
            direct = [
                "error": .string("\(unresolved.count) registered reader(s) could not be resolved, so the people who read cannot be counted")
            ]
        } else {
            direct = .int(Int64(humans.count))
        }
        return [
            "weight_readers": .value([
                "source": .string(site.file.isEmpty ? "site file" : site.file), "environment": .string(judged),
                "readers": .array(readers), "humans": .array(humans), "direct_readers": direct, "break_glass": breakGlass,
            ])
        ]
    }

    /// `user:NAME`, `group:NAME`, or a bare `NAME` (kind nil): the forms ACC-002 accepts.
    static func split(_ principal: String) -> (kind: String?, name: String) {
        for kind in ["user", "group"] where principal.hasPrefix(kind + ":") {
            return (kind, String(principal.dropFirst(kind.count + 1)))
        }
        return (nil, principal)
    }

    /// Names for a message: up to eight, then the count.
    static func list(_ names: [String]) -> String {
        if names.isEmpty { return "none" }
        return names.count <= 8 ? names.joined(separator: ", ") : names.prefix(8).joined(separator: ", ") + ", … (\(names.count))"
    }

    /// The entries of /etc/group glibc parses (`name:password:GID:member,…`), in file order, and
    /// the lines it would not parse, or whose groups come from NIS, with file:line.
    static func groupEntries(_ text: String) -> (entries: [GroupEntry], problems: [(source: String, message: String)]) {
        var entries: [GroupEntry] = []
        var problems: [(String, String)] = []
        for (number, line) in AccountsProbe.records(text) {
            let here = "\(groupFile):\(number)"
            if line.first == "+" || line.first == "-" {
                problems.append((here, "NIS compat entry '\(line)': its groups come from NIS and cannot be checked here"))
                continue
            }
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 4, !fields[0].isEmpty else {
                problems.append((here, "malformed group entry: expected name:password:GID:members"))
                continue
            }
            guard let gid = AccountsProbe.numericID(fields[2]) else {
                problems.append((here, "malformed group entry for \(fields[0]): GID '\(fields[2])' is not a number"))
                continue
            }
            let members = fields[3].split(separator: ",").map { String($0.trimmed) }.filter { !$0.isEmpty }
            entries.append(GroupEntry(name: String(fields[0]), gid: gid, members: members, source: here))
        }
        return (entries, problems)
    }
}
