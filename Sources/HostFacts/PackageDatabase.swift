/// dpkg's database of installed packages (`/var/lib/dpkg/status`), read through `HostRoot`.
enum PackageDatabase {
    struct Installed {
        var package: String
        var version: String
    }

    /// The first of `packages` that dpkg has installed, with its version, or nil.
    static func installedVersion(_ root: HostRoot, packages: Set<String>) -> Installed? {
        guard let text = try? root.readText("/var/lib/dpkg/status", limit: 64 << 20) else { return nil }
        for stanza in text.split(separator: "\n\n") {
            var fields: [Substring: Substring] = [:]
            for line in stanza.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":"), line.first != " " else { continue }
                fields[line[..<colon]] = line[line.index(after: colon)...].trimmed
            }
            guard let package = fields["Package"], packages.contains(String(package)),
                fields["Status"]?.hasSuffix(" installed") == true, let version = fields["Version"]
            else { continue }
            return Installed(package: String(package), version: String(version))
        }
        return nil
    }

    /// The upstream release's leading numbers: "1:9.2p1-2+deb12u3" → [9, 2, 1] (epoch and Debian
    /// revision dropped; letters end a number).
    static func upstreamNumbers(_ version: String) -> [Int] {
        var upstream = Substring(version)
        if let colon = upstream.firstIndex(of: ":") { upstream = upstream[upstream.index(after: colon)...] }
        if let dash = upstream.lastIndex(of: "-") { upstream = upstream[..<dash] }
        return upstream.split(whereSeparator: { !$0.isNumber }).prefix(3).compactMap { Int($0) }
    }
}
