/// User and group names of the audited root, from its own `/etc/passwd` and `/etc/group`
/// (never the machine running Warden, which may differ for an offline root). An id without a
/// name is shown as the number, as `ls -l` does.
struct AccountNames: Sendable {
    static let passwd = "/etc/passwd"
    static let group = "/etc/group"

    private(set) var users: [UInt32: String] = [:]
    private(set) var groups: [UInt32: String] = [:]
    /// Files that could not be read (their ids then show as numbers).
    private(set) var problems: [String] = []

    init(root: HostRoot) {
        users = read(root, AccountNames.passwd)
        groups = read(root, AccountNames.group)
    }

    func user(_ uid: UInt32) -> String { users[uid] ?? String(uid) }
    func group(_ gid: UInt32) -> String { groups[gid] ?? String(gid) }

    /// `name:password:id:…` lines; the first line for an id wins, as getpwuid(3) returns it.
    private mutating func read(_ root: HostRoot, _ file: String) -> [UInt32: String] {
        let text: String
        do { text = try root.readText(file) } catch {
            problems.append(error.description)
            return [:]
        }
        var names: [UInt32: String] = [:]
        for (_, line) in configLines(text) {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, let id = UInt32(fields[2]), names[id] == nil else { continue }
            names[id] = String(fields[0])
        }
        return names
    }
}
