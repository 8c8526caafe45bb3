public import WardenCore
internal import WardenFormats

/// Package and image signature enforcement (INT-010): the apt sources that apt would fetch
/// without checking signatures (`trusted=yes` and the `allow-*` options, one-line and deb822
/// forms), the apt.conf options that switch the checks off for every source, and the signature
/// policy of containers/image (podman, skopeo, buildah, CRI-O) where a container runtime is
/// installed. How each is read: docs/DAEMON-SEMANTICS.md, "Package and image signatures".
public struct PackageSigningProbe: Probe {
    public init() {}
    public let name = "package_signing"
    public let summary =
        "apt sources (sources.list, sources.list.d/*.list and *.sources) and apt.conf options that disable signature checks; /etc/containers/policy.json where a container runtime is installed"
    public let reads = [
        "/etc/apt/sources.list", "/etc/apt/sources.list.d/", "/etc/apt/apt.conf.d/", "/etc/apt/apt.conf", "/var/lib/dpkg/status",
        "/etc/containers/policy.json",
    ]

    public var facts: [String: FactType] {
        [
            "package_signing": .object([
                "apt_sources": .list(
                    .object([
                        "entry": .string, "type": .string, "uri": .string, "suite": .string, "unauthenticated": .sourced(.bool),
                        "options": .strings,
                    ])),
                "apt_options": .list(.object(["name": .string, "value": .sourced(.bool)])),
                "containers": .object([
                    "runtimes": .strings, "policy": .string,
                    "scopes": .list(.object(["scope": .string, "requirements": .strings, "enforcing": .sourced(.bool)])),
                ]),
            ])
        ]
    }

    static let mainList = "/etc/apt/sources.list"
    static let partsDirectory = "/etc/apt/sources.list.d"
    static let policyPath = "/etc/containers/policy.json"

    /// The options of one source that let apt use it without a valid signature (apt 2.6,
    /// apt-pkg/deb/debmetaindex.cc): `trusted` makes apt trust it with no signature at all, the
    /// `allow-*` ones accept an unsigned, weakly signed or downgraded Release file.
    static let sourceOptions = ["trusted", "allow-insecure", "allow-weak", "allow-downgrade-to-insecure"]
    /// Their deb822 field names (apt-pkg/sourcelist.cc, `ParseStanza`'s mapping).
    static let stanzaFields = [
        "trusted": "trusted", "allow-insecure": "allow-insecure", "allow-weak": "allow-weak",
        "allow-downgrade-to-insecure": "allow-downgrade-to-insecure",
    ]
    /// The same for every source, from apt.conf (each read with `FindB(name, false)`).
    static let confOptions = [
        "APT::Get::AllowUnauthenticated", "Acquire::AllowInsecureRepositories", "Acquire::AllowDowngradeToInsecureRepositories",
        "Acquire::AllowWeakRepositories",
    ]
    /// Packages that pull and run container images. The containers/image ones read policy.json;
    /// Docker and containerd do not read it and have no file-based signature policy.
    static let runtimes = ["podman", "skopeo", "buildah", "cri-o", "docker.io", "docker-ce", "containerd", "containerd.io"]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        let root = context.root
        var fact: JSONObject = [:]
        fact["apt_sources"] = Self.sources(root)
        fact["apt_options"] = Self.options(root)
        fact["containers"] = Self.containers(root)
        return ["package_signing": .value(.object(fact))]
    }

    // MARK: - apt sources

    /// apt's `StringToBool` (apt-pkg/contrib/strutl.cc): 0 or 1 in any strtol base, or one of the
    /// words, without case; anything else is the default.
    package static func aptBool(_ text: String, default value: Bool) -> Bool {
        let t = text.lowercased()
        if t == "0" || t == "00" || t == "0x0" { return false }
        if t == "1" || t == "01" || t == "0x1" { return true }
        if ["no", "false", "without", "off", "disable"].contains(t) { return false }
        if ["yes", "true", "with", "on", "enable"].contains(t) { return true }
        return value
    }

    /// `pkgSourceList::ReadMainList`: sources.list, then the parts directory's `.list` and
    /// `.sources` files in name order (`GetListOfFilesInDir` with those two extensions).
    static func sourceFiles(_ root: HostRoot) -> (files: [String], problems: [JSON]) {
        var files: [String] = []
        var problems: [JSON] = []
        if (try? root.info(mainList))?.kind == .regular { files.append(mainList) }
        do {
            for name in try root.list(partsDirectory).sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                guard readsPart(name) else { continue }
                let path = joinPath(partsDirectory, name)
                guard (try? root.info(path))?.kind == .regular else { continue }
                files.append(path)
            }
        } catch {
            if !error.isNotFound { problems.append(["error": .string(error.description), "source": .string(partsDirectory)]) }
        }
        return (files, problems)
    }

    /// `GetListOfFilesInDir(dir, {"list", "sources"}, true)`: hidden files skipped; the name
    /// must end in `.list` or `.sources` and hold only letters, digits, `_`, `-`, `:` and `.`.
    static func readsPart(_ name: String) -> Bool {
        guard name.first != ".", name.hasSuffix(".list") || name.hasSuffix(".sources") else { return false }
        return name.utf8.allSatisfy { c in
            (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
        }
    }

    static func sources(_ root: HostRoot) -> JSON {
        var (files, items) = sourceFiles(root)
        for path in files {
            let text: String
            do { text = try root.readText(path) } catch {
                items.append(["error": .string(error.description), "source": .string(path)])
                continue
            }
            do {
                items += path.hasSuffix(".sources") ? try stanzaEntries(text, path: path) : try oneLineEntries(text, path: path)
            } catch {
                // apt refuses the whole source list over one bad entry, so nothing in the file is known.
                items.append(["error": .string(error.reason), "source": .string(path)])
            }
        }
        return .array(items)
    }

    struct Malformed: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func entry(type: String, uri: String, suite: String, options: [(String, String)], source: String) -> JSON {
        let opened = options.filter { sourceOptions.contains($0.0) && aptBool($0.1, default: false) }
        return [
            "entry": .string("\(type) \(uri) \(suite)"), "type": .string(type), "uri": .string(uri), "suite": .string(suite),
            "unauthenticated": ["value": .bool(!opened.isEmpty), "source": .string(source)],
            "options": .array(opened.map { .string("\($0.0)=\($0.1)") }),
        ]
    }

    /// `pkgSourceList::ParseFileOldStyle` and `Type::ParseLine`: `#` starts a comment anywhere;
    /// `TYPE [ key=value … ] URI SUITE [COMPONENT…]`.
    static func oneLineEntries(_ text: String, path: String) throws(Malformed) -> [JSON] {
        var out: [JSON] = []
        for (index, raw) in lines(text).enumerated() {
            let number = index + 1
            let place = "\(path):\(number)"
            var line = raw
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            line = line.trimmed
            if line.isEmpty { continue }
            let typeEnd = line.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "\u{0B}" }) ?? line.endIndex
            let type = String(line[..<typeEnd])
            guard typeEnd != line.endIndex else { throw Malformed("\(place): malformed line (type)") }
            guard type == "deb" || type == "deb-src" else { throw Malformed("\(place): type '\(type)' is not known") }
            var rest = line[typeEnd...].trimmed
            var options: [(String, String)] = []
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { throw Malformed("\(place): [option] not terminated") }
                guard let optionWords = quoteWords(rest[rest.index(after: rest.startIndex)..<close]) else {
                    throw Malformed("\(place): [option] unparseable")
                }
                for word in optionWords {
                    guard word.count >= 3 else { throw Malformed("\(place): [option] too short") }
                    guard let eq = word.firstIndex(of: "=") else { throw Malformed("\(place): [option] not assignment") }
                    let key = String(word[..<eq])
                    let value = String(word[word.index(after: eq)...])
                    guard !key.isEmpty else { throw Malformed("\(place): [option] no key") }
                    guard !value.isEmpty else { throw Malformed("\(place): [option] no value") }
                    options.removeAll { $0.0 == key }
                    options.append((key, value))
                }
                rest = rest[rest.index(after: close)...].trimmed
            }
            guard let words = quoteWords(rest) else { throw Malformed("\(place): malformed entry (URI parse)") }
            guard let uri = words.first else { throw Malformed("\(place): malformed entry (URI)") }
            guard words.count >= 2 else { throw Malformed("\(place): malformed entry (dist)") }
            // A suite that is a path (`./`) takes no component; any other needs one.
            if words[1].hasSuffix("/") {
                guard words.count == 2 else { throw Malformed("\(place): malformed entry (absolute dist)") }
            } else {
                guard words.count >= 3 else { throw Malformed("\(place): malformed entry (component)") }
            }
            out.append(entry(type: type, uri: String(uri), suite: String(words[1]), options: options, source: place))
        }
        return out
    }

    /// apt's `ParseQuoteWord`: words split on blanks, except inside `"…"` and `[…]`
    /// (`cdrom:[Debian GNU/Linux 12 …]/`); the double quotes are then dropped. Nil for a quote or
    /// bracket left open, which apt refuses.
    static func quoteWords(_ text: Substring) -> [String]? {
        var out: [String] = []
        var word = ""
        var inWord = false
        var closing: Character?
        for c in text {
            if let end = closing {
                if c == end { closing = nil }
                if c != "\"" { word.append(c) }
                continue
            }
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" {
                if inWord { out.append(word) }
                word = ""
                inWord = false
                continue
            }
            inWord = true
            if c == "\"" {
                closing = "\""
            } else {
                if c == "[" { closing = "]" }
                word.append(c)
            }
        }
        guard closing == nil else { return nil }
        if inWord { out.append(word) }
        return out
    }

    /// `pkgSourceList::ParseFileDeb822` (a `pkgTagFile` with comment lines) and `ParseStanza`:
    /// field names without case; a stanza with `Enabled: no` is skipped; Types, URIs and Suites
    /// are required; one entry per type, URI and suite.
    static func stanzaEntries(_ text: String, path: String) throws(Malformed) -> [JSON] {
        var stanzas: [(line: Int, fields: [String: (value: String, line: Int)])] = []
        var current: (line: Int, fields: [String: (value: String, line: Int)])?
        var last: String?
        for (index, raw) in lines(text).enumerated() {
            let number = index + 1
            if raw.first == "#" { continue }
            if raw.trimmed.isEmpty {
                if let c = current { stanzas.append(c) }
                current = nil
                last = nil
                continue
            }
            if raw.first == " " || raw.first == "\t" {
                guard let name = last, current != nil else {
                    throw Malformed("\(path):\(number): a continuation line with no field before it")
                }
                let more = String(raw.trimmed)
                if more != "." { current!.fields[name]!.value += " " + more }
                continue
            }
            guard let colon = raw.firstIndex(of: ":") else {
                throw Malformed("\(path):\(number): a field name must be followed by a colon")
            }
            let name = raw[..<colon].lowercased()
            if current == nil { current = (number, [:]) }
            current!.fields[name] = (String(raw[raw.index(after: colon)...].trimmed), number)
            last = name
        }
        if let c = current { stanzas.append(c) }
        var out: [JSON] = []
        for stanza in stanzas {
            if let enabled = stanza.fields["enabled"], !aptBool(enabled.value, default: true) { continue }
            func field(_ name: String) throws(Malformed) -> [Substring] {
                guard let f = stanza.fields[name.lowercased()], !f.value.words.isEmpty else {
                    throw Malformed("\(path):\(stanza.line): malformed stanza (\(name) missing)")
                }
                return f.value.words
            }
            let types = try field("Types")
            let uris = try field("URIs")
            let suites = try field("Suites")
            let components = stanza.fields["components"].map { $0.value.words } ?? []
            for s in suites where s.hasSuffix("/") != components.isEmpty {
                throw Malformed(
                    "\(path):\(stanza.line): malformed stanza (\(components.isEmpty ? "Components missing" : "absolute Suite with Components"))"
                )
            }
            for t in types where t != "deb" && t != "deb-src" { throw Malformed("\(path):\(stanza.line): type '\(t)' is not known") }
            var options: [(String, String)] = []
            var line = stanza.line
            for (field, key) in stanzaFields.sorted(by: { $0.key < $1.key }) {
                guard let f = stanza.fields[field] else { continue }
                options.append((key, f.value))
                if aptBool(f.value, default: false) { line = f.line }
            }
            for t in types {
                for u in uris {
                    for s in suites {
                        out.append(entry(type: String(t), uri: String(u), suite: String(s), options: options, source: "\(path):\(line)"))
                    }
                }
            }
        }
        return out
    }

    // MARK: - apt.conf

    static func options(_ root: HostRoot) -> JSON {
        let conf = AptConf.read(root)
        if !conf.problems.isEmpty { return ["error": .string(conf.problems.prefix(3).joined(separator: "; "))] }
        return .array(
            confOptions.map { name in
                guard let v = conf[name], !v.value.isEmpty else {
                    return ["name": .string(name), "value": ["value": false, "source": .string("\(name) (unset: false)")]]
                }
                return ["name": .string(name), "value": ["value": .bool(aptBool(v.value, default: false)), "source": .string(v.source)]]
            })
    }

    // MARK: - Containers

    /// containers-policy.json(5) of containers/image 5.24 (Debian 12's podman 4.3 and skopeo
    /// 1.9): `default` and each `transports.T.SCOPE` is a list of requirements that must all
    /// hold, so a list with `reject`, `signedBy` or `sigstoreSigned` admits no unsigned image and
    /// one with only `insecureAcceptAnything` (or none) admits anything.
    static func containers(_ root: HostRoot) -> JSON {
        var installed: [String] = []
        switch PatchProbe.installed(root) {
        case .success(let packages): installed = runtimes.filter { packages[$0] != nil }
        case .failure(let why):
            if root.exists(PatchProbe.statusPath) { return ["error": .string(why.reason)] }
        }
        var out: JSONObject = ["runtimes": .array(installed.map { .string($0) })]
        let text: String
        do { text = try root.readText(policyPath) } catch {
            guard error.isNotFound else { return ["error": .string(error.description)] }
            out["scopes"] =
                installed.isEmpty
                ? [
                    "not_applicable": .string(
                        "no container runtime installed (none of \(runtimes.joined(separator: ", ")) in dpkg's status) and no \(policyPath)"
                    )
                ]
                : .array([])
            return .object(out)
        }
        out["policy"] = .string(policyPath)
        let policy: JSON
        let keyLines: [[String]: Int]
        do { (policy, keyLines) = try JSON.parseWithKeyLines(text) } catch {
            out["scopes"] = ["error": .string("\(policyPath): \(error.description)")]
            return .object(out)
        }
        var scopes: [JSON] = []
        guard let top = policy.objectValue, let defaultList = top["default"] else {
            out["scopes"] = ["error": .string("\(policyPath): default: missing (containers/image refuses the policy)")]
            return .object(out)
        }
        /// Where the policy sets the member at `path`.
        func lineOf(_ path: [String]) -> String { keyLines[path].map { "\(policyPath):\($0)" } ?? policyPath }
        func scope(_ name: String, _ list: JSON, source: String) -> JSON {
            guard let items = list.arrayValue else { return ["error": .string("\(source): \(name) is not a list of requirements")] }
            var types: [String] = []
            for item in items {
                guard let t = item["type"]?.stringValue else {
                    return ["error": .string("\(source): \(name): a requirement without a type")]
                }
                guard ["reject", "signedBy", "sigstoreSigned", "insecureAcceptAnything"].contains(t) else {
                    return ["error": .string("\(source): \(name): unknown requirement type '\(t)'")]
                }
                types.append(t)
            }
            let enforcing = types.contains { $0 != "insecureAcceptAnything" }
            return [
                "scope": .string(name), "requirements": .array(types.map { .string($0) }),
                "enforcing": ["value": .bool(enforcing), "source": .string(source)],
            ]
        }
        scopes.append(scope("default", defaultList, source: lineOf(["default"])))
        if let transports = top["transports"] {
            guard let byTransport = transports.objectValue else {
                out["scopes"] = ["error": .string("\(policyPath): transports is not an object")]
                return .object(out)
            }
            for (transport, value) in byTransport {
                guard let byScope = value.objectValue else {
                    scopes.append(["error": .string("\(policyPath): transports.\(transport) is not an object")])
                    continue
                }
                for (name, list) in byScope {
                    let label = "transports.\(transport).\"\(name)\""
                    scopes.append(scope(label, list, source: lineOf(["transports", transport, name])))
                }
            }
        }
        out["scopes"] = .array(scopes)
        return .object(out)
    }
}
