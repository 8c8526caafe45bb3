import Glibc
import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// A host with a weights tree: /srv/weights with shards three levels down, a config and a
/// tokenizer directory; accounts weights (990), alice (1001), bob (1002), group readers (991).
final class WeightsHost {
    let tree = TempTree()
    var path: String { tree.path }
    var weights: String { tree.path + "/srv/weights" }

    init(files: UInt32 = 0o640, directories: UInt32 = 0o750, owner: String = "990:991") {
        tree.file(
            "etc/passwd",
            """
            root:x:0:0:root:/root:/bin/bash
            weights:x:990:990::/srv/weights:/usr/sbin/nologin
            alice:x:1001:1001::/home/alice:/bin/bash
            bob:x:1002:1002::/home/bob:/bin/bash

            """)
        tree.file("etc/group", "root:x:0:\nweights:x:990:\nreaders:x:991:alice\nalice:x:1001:\nbob:x:1002:\n")
        tree.bytes("srv/weights/shards/a/b/model-00001-of-00002.safetensors", WeightFiles.safetensors())
        tree.bytes("srv/weights/shards/a/b/model-00002-of-00002.safetensors", WeightFiles.safetensors())
        tree.file("srv/weights/config.json", "{}\n")
        tree.file("srv/weights/tokenizer/tokenizer.json", "{}\n")
        set(files: files, directories: directories)
        chown(owner, "srv/weights")
    }

    /// Modes for every file and directory of the tree (directories last, so they stay as set).
    func set(files: UInt32, directories: UInt32, under relative: String = "srv/weights") {
        let p = tree.path + "/" + relative
        run("/usr/bin/find", [p, "-type", "f", "-exec", "chmod", String(files, radix: 8), "{}", "+"])
        run("/usr/bin/find", [p, "-type", "d", "-exec", "chmod", String(directories, radix: 8), "{}", "+"])
    }

    func chown(_ owner: String, _ relative: String) {
        run("/bin/chown", ["-R", owner, tree.path + "/" + relative])
    }

    func chmod(_ relative: String, _ mode: UInt32) {
        #expect(Glibc.chmod(tree.path + "/" + relative, mode_t(mode)) == 0)
    }

    func setfacl(_ arguments: String...) {
        let r = run("/usr/bin/setfacl", arguments.dropLast() + [tree.path + "/" + arguments.last!])
        #expect(r.status == 0, "setfacl: \(r.stderr)")
    }

    static let site = "weights:\n  paths: [/srv/weights]\n"

    func audit(profile: String = "sl3", site: String = WeightsHost.site, probe: WeightsTreeProbe = WeightsTreeProbe()) throws -> (
        facts: FactSet, findings: [Finding]
    ) {
        try WardenTestSupport.audit(root: tree.path, profile: profile, site: site, probes: [probe])
    }

    func location(_ facts: FactSet, _ fact: String = "weights_tree", index: Int = 0) -> JSON? {
        guard case .value(let v)? = facts[fact] else { return nil }
        return v["locations"]?.arrayValue?[index]
    }

    /// The fact `name` the probe collects with `site`, checked against the type the probe
    /// declares (`probeFact`, with a site file: the weight locations come from it).
    func fact(_ name: String, site: String = WeightsHost.site, probe: WeightsTreeProbe = WeightsTreeProbe()) throws -> JSON {
        try probeFact(name, of: probe, root: tree.path, site: site)
    }

    /// The first location of the fact `name`.
    func location(_ name: String = "weights_tree", site: String = WeightsHost.site, probe: WeightsTreeProbe = WeightsTreeProbe())
        throws -> JSON
    {
        try #require(try fact(name, site: site, probe: probe)["locations"]?.arrayValue?.first)
    }
}

@Suite struct WeightsTreeTests {
    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    static let ownerSite = WeightsHost.site + "  owner: weights\n  group: readers\n"

    /// End to end on purpose: the site file's owner and group reach the check through the
    /// collector's site fact, which no canned row exercises.
    @Test func closedTreePassesSL3WithSiteOwnerAndGroup() throws {
        let findings = try WeightsHost().audit(site: Self.ownerSite).findings
        #expect(findings["ACC-001"].status == .pass, "\(findings["ACC-001"].summary)")
        #expect(findings["ACC-002"].status == .pass, "\(findings["ACC-002"].summary)")
    }

    // MARK: - Probe tests: weights_tree

    @Test func aClosedTreeIsTwoClasses() throws {
        let loc = try WeightsHost().location()
        #expect(loc["path"] == "/srv/weights")
        #expect(loc["kind"] == "directory")
        #expect(loc["files"] == 4)
        #expect(loc["directories"] == 5)
        #expect(loc["file_mode_union"] == "0640")
        #expect(loc["directory_mode_union"] == "0750")
        #expect(loc["owners"] == ["weights"])
        #expect(loc["groups"] == ["readers"])
        #expect(loc["errors"] == [])
        let classes = loc["classes"]?.arrayValue ?? []
        #expect(
            classes.map { $0["name"] } == [
                "/srv/weights: 5 directories 0750 weights:readers", "/srv/weights: 4 files 0640 weights:readers",
            ])
        #expect(classes.map { $0["kind"] } == ["directory", "file"])
        // Each value names the paths it was seen on.
        let directories = "/srv/weights, /srv/weights/tokenizer, /srv/weights/shards, /srv/weights/shards/a, /srv/weights/shards/a/b"
        #expect(classes.first?["mode"] == Self.sourced("0750", directories))
        #expect(classes.first?["owner"] == Self.sourced("weights", directories))
        #expect(classes.first?["group"] == Self.sourced("readers", directories))
        #expect(classes.first?["uid"] == 990)
        #expect(classes.first?["gid"] == 991)
    }

    @Test func aWorldReadableFileDeepInsideIsAClassOfItsOwn() throws {
        let host = WeightsHost()
        host.tree.bytes("srv/weights/shards/a/b/c/d/leak.bin", WeightFiles.safetensors(), mode: 0o644)
        host.set(files: 0o640, directories: 0o750, under: "srv/weights/shards/a/b/c")
        host.chmod("srv/weights/shards/a/b/c/d/leak.bin", 0o644)
        host.chown("990:991", "srv/weights")
        let loc = try host.location()
        let leak = loc["classes"]?.arrayValue?.first { $0["mode"]?["value"] == "0644" }
        #expect(leak?["name"] == "/srv/weights: 1 file 0644 weights:readers")
        #expect(leak?["mode"] == Self.sourced("0644", "/srv/weights/shards/a/b/c/d/leak.bin"))
        #expect(loc["file_mode_union"] == "0644")
        #expect(loc["files"] == 5)
    }

    @Test func aGroupWritableDirectoryIsAClassOfItsOwn() throws {
        let host = WeightsHost()
        host.chmod("srv/weights/tokenizer", 0o770)
        let loc = try host.location()
        let open = loc["classes"]?.arrayValue?.first { $0["mode"]?["value"] == "0770" }
        #expect(open?["kind"] == "directory")
        #expect(open?["mode"] == Self.sourced("0770", "/srv/weights/tokenizer"))
        #expect(loc["directory_mode_union"] == "0770")
    }

    @Test func aClassNamesTheCountAndTheFirstTwentyPaths() throws {
        let host = WeightsHost()
        for i in 0..<30 { host.tree.file("srv/weights/many/f\(i)", "x", mode: 0o604) }
        host.set(files: 0o604, directories: 0o750, under: "srv/weights/many")
        host.chown("990:991", "srv/weights")
        let many = try host.location()["classes"]?.arrayValue?.first { $0["mode"]?["value"] == "0604" }
        #expect(many?["name"] == "/srv/weights: 30 files 0604 weights:readers")
        #expect(many?["count"] == 30)
        #expect(many?["examples"]?.arrayValue?.count == 20)
        let source = try #require(many?["mode"]?["source"]?.stringValue)
        #expect(source.split(separator: ",").count == 21)  // 20 paths and the count
        #expect(source.hasSuffix("… (first 20 of 30)"))
    }

    @Test func readOnlyFilesAndASetgidDirectory() throws {
        let host = WeightsHost()
        host.set(files: 0o440, directories: 0o750)
        #expect(try host.location()["file_mode_union"] == "0440")
        host.chmod("srv/weights/shards", 0o2750)
        let loc = try host.location()
        #expect(loc["directory_mode_union"] == "2750")
        let setgid = loc["classes"]?.arrayValue?.first { $0["mode"]?["value"] == "2750" }
        #expect(setgid?["mode"] == Self.sourced("2750", "/srv/weights/shards"))
    }

    @Test func ownersAndGroupsByName() throws {
        let host = WeightsHost()
        host.chown("1002:991", "srv/weights/config.json")
        host.chown("990:1001", "srv/weights/tokenizer")
        let loc = try host.location()
        let classes = loc["classes"]?.arrayValue ?? []
        let bob = classes.first { $0["owner"]?["value"] == "bob" }
        #expect(bob?["owner"] == Self.sourced("bob", "/srv/weights/config.json"))
        #expect(bob?["uid"] == 1002)
        let alice = classes.filter { $0["group"]?["value"] == "alice" }
        #expect(
            Set(alice.compactMap { $0["group"]?["source"]?.stringValue }) == [
                "/srv/weights/tokenizer", "/srv/weights/tokenizer/tokenizer.json",
            ])
        #expect(loc["owners"]?.arrayValue.map(Set.init) == ["bob", "weights"])
        #expect(loc["groups"]?.arrayValue.map(Set.init) == ["alice", "readers"])
    }

    @Test func symlinksInsideTheTreeAreCountedNotFollowed() throws {
        let host = WeightsHost()
        host.tree.file("etc/secret", "x", mode: 0o666)
        host.tree.symlink("srv/weights/escape", to: "/etc")
        host.tree.symlink("srv/weights/tokenizer/secret", to: "../../../etc/secret")
        host.set(files: 0o640, directories: 0o750)
        let loc = try host.location()
        #expect(loc["symlinks"]?["count"] == 2)
        #expect(loc["symlinks"]?["followed"] == false)
        #expect(loc["symlinks"]?["first"]?.arrayValue.map(Set.init) == ["/srv/weights/escape", "/srv/weights/tokenizer/secret"])
        #expect(loc["files"] == 4)
        #expect(loc["file_mode_union"] == "0640")
    }

    @Test func aLocationThatIsASingleFile() throws {
        let host = WeightsHost()
        host.chmod("srv/weights/config.json", 0o644)
        let loc = try host.location(site: "weights:\n  paths: [/srv/weights/config.json]\n")
        #expect(loc["kind"] == "file")
        #expect(loc["path"] == "/srv/weights/config.json")
        #expect(loc["files"] == 1)
        #expect(loc["directories"] == 0)
        #expect(loc["classes"]?.arrayValue?.map { $0["mode"] } == [Self.sourced("0644", "/srv/weights/config.json")])
    }

    @Test func aWeightsPathThatDoesNotExistIsAStatedError() throws {
        let host = WeightsHost()
        let site = "weights:\n  paths: [/srv/weights, /srv/nowhere]\n"
        for name in ["weights_tree", "weights_acl"] {
            let locations = try host.fact(name, site: site)["locations"]?.arrayValue ?? []
            #expect(locations.map { $0["path"] } == ["/srv/weights", "/srv/nowhere"], "\(name)")
            #expect(locations.last == ["path": "/srv/nowhere", "error": "does not exist (No such file or directory)"], "\(name)")
        }
    }

    @Test func noWeightsAtAllIsNoLocation() throws {
        let registered = try WeightsHost().fact("weights_tree", site: "weights:\n  paths: []\n")
        #expect(registered["locations"] == [])
        #expect(registered["origin"] == "site")
        let empty = TempTree()
        let discovered = try probeFact("weights_tree", of: WeightsTreeProbe(), root: empty.path)
        #expect(discovered["locations"] == [])
        #expect(try probeFact("weights_acl", of: WeightsTreeProbe(), root: empty.path)["locations"] == [])
    }

    @Test func pastTheClassLimitEntriesAreMerged() throws {
        let host = WeightsHost()
        // One class: the start directory takes it; everything else is merged.
        let probe = WeightsTreeProbe(budget: .weightsTree, maxClasses: 1)
        let classes = try host.location(probe: probe)["classes"]?.arrayValue ?? []
        #expect(
            classes.map { $0["name"] } == [
                "/srv/weights: 5 directories 0750 weights:readers",
                "/srv/weights: 4 more files past the limit of 1 distinct classes, modes combined",
            ])
        #expect(classes.last?["merged"] == true)
        #expect(classes.last?["owner"]?["value"] == "weights")

        host.tree.bytes("srv/weights/shards/a/b/extra.bin", WeightFiles.safetensors(), mode: 0o644)
        host.chmod("srv/weights/shards/a/b/extra.bin", 0o644)
        host.chown("1002:991", "srv/weights/shards/a/b/extra.bin")
        let loc = try host.location(probe: probe)
        let merged = loc["classes"]?.arrayValue?.last
        // The modes are combined (the widest bits of any), the owners no longer one.
        #expect(merged?["mode"]?["value"] == "0644")
        #expect(merged?["owner"]?["value"] == "(several)")
        #expect(merged?["examples"]?.arrayValue?.contains("/srv/weights/shards/a/b/extra.bin") == true)
        #expect(loc["file_mode_union"] == "0644")
    }

    @Test func anExhaustedWalkBudgetIsAStatedError() throws {
        let host = WeightsHost()
        let probe = WeightsTreeProbe(budget: WalkBudget(maxEntries: 3, maxSeconds: 600))
        let tree = try host.fact("weights_tree", site: "weights:\n  paths: [/srv/weights, /etc]\n", probe: probe)
        let locations = tree["locations"]?.arrayValue ?? []
        #expect(
            locations.first?["errors"]
                == [["path": "/srv/weights", "error": "the walk stopped at the 3-entry budget after 3 entries, in /srv/weights"]])
        #expect(
            locations.last
                == [
                    "path": "/etc",
                    "error": "not walked: the walk of an earlier location stopped at the 3-entry budget after 3 entries, in /srv/weights",
                ])
        #expect(tree["entries_walked"] == 3)
    }

    @Test func aBindMountLoopIsAStatedErrorNotAHang() throws {
        let host = WeightsHost()
        let loop = host.tree.directory("srv/weights/loop", mode: 0o750)
        let mounted = run("/bin/mount", ["--bind", host.weights, loop])
        try #require(mounted.status == 0, "this test bind-mounts a directory (needs root): \(mounted.stderr)")
        defer { withExtendedLifetime(host) { _ = run("/bin/umount", [loop]) } }  // unmount before the tree is removed
        let errors = try host.location()["errors"]?.arrayValue ?? []
        #expect(
            errors.contains {
                $0["path"] == "/srv/weights/loop"
                    && $0["error"] == "the same directory as an ancestor (a bind mount loop): not walked again"
            }, "\(errors)")
    }

    // MARK: - Probe tests: weights_acl

    @Test func aNamedUserInAnAccessACL() throws {
        let host = WeightsHost()
        let shard = "/srv/weights/shards/a/b/model-00001-of-00002.safetensors"
        host.setfacl("-m", "u:1001:r", String(shard.dropFirst()))
        let acl = try host.location("weights_acl")
        #expect(acl["acl_paths"] == ["count": 1, "first": [.string(shard)]])
        #expect(
            acl["named_entries"]
                == [
                    [
                        "acl": "access", "count": 1, "examples": [.string(shard)], "id": 1001,
                        "name": "/srv/weights: user alice (uid 1001) r-- in the access ACL of 1 path", "permissions": "r--",
                        "principal": Self.sourced("alice", shard), "qualified": Self.sourced("user:alice", shard), "type": "user",
                    ]
                ])
        #expect(acl["errors"] == [])
    }

    @Test func aDefaultACLOnADirectory() throws {
        let host = WeightsHost()
        host.setfacl("-d", "-m", "g:991:rx", "srv/weights/shards")
        let entry = try #require(try host.location("weights_acl")["named_entries"]?.arrayValue?.first)
        #expect(entry["acl"] == "default")
        #expect(entry["type"] == "group")
        #expect(entry["permissions"] == "r-x")
        #expect(entry["principal"] == Self.sourced("readers", "/srv/weights/shards"))
        #expect(entry["qualified"] == Self.sourced("group:readers", "/srv/weights/shards"))
    }

    @Test func anACLWithoutNamedEntries() throws {
        let host = WeightsHost()
        host.setfacl("-m", "m::r", "srv/weights/config.json")  // a mask only: no one added
        let acl = try host.location("weights_acl")
        #expect(acl["named_entries"] == [])
        #expect(acl["acl_paths"] == ["count": 1, "first": ["/srv/weights/config.json"]])
    }

    /// The kernel refuses to store a malformed ACL, so a reader that returns one stands in for an
    /// exotic filesystem that would.
    struct PresentedACL: ExtendedAttributeReader {
        let file: String
        let value: AttributeValue
        var unavailableReason: String? { nil }

        func read(directory: Int32, name: UnsafePointer<CChar>, attribute: String) -> AttributeValue {
            if String(cString: name) == file && attribute == "system.posix_acl_access" { return value }
            return ProcAttributeReader().read(directory: directory, name: name, attribute: attribute)
        }
    }

    @Test func aMalformedOrUnreadableACLIsAStatedErrorWithPathAndOffset() throws {
        let host = WeightsHost()
        let bad = PosixACL(entries: [.init(tag: .userObject, permissions: 6, id: .max)]).encoded + [0x40, 0, 4, 0, 0, 0, 0, 0]
        let probe = WeightsTreeProbe(budget: .weightsTree, attributes: PresentedACL(file: "config.json", value: .value(bad)))
        #expect(
            try host.location("weights_acl", probe: probe)["errors"]
                == [["path": "/srv/weights/config.json", "error": "system.posix_acl_access: malformed at byte 12: unknown tag 0x40"]])
        let unreadable = WeightsTreeProbe(
            budget: .weightsTree, attributes: PresentedACL(file: "config.json", value: .failed("Input/output error")))
        #expect(
            try host.location("weights_acl", probe: unreadable)["errors"]
                == [["path": "/srv/weights/config.json", "error": "system.posix_acl_access: Input/output error"]])
    }

    // MARK: - Control tests: tables of canned facts

    /// A class of entries as the probe reports it.
    static func entries(
        _ kind: String, _ mode: String, count: Int = 1, owner: String = "weights", group: String = "readers", at path: String
    )
        -> JSON
    {
        let what = kind == "directory" ? (count == 1 ? "directory" : "directories") : (count == 1 ? "file" : "files")
        return [
            "name": .string("/srv/weights: \(count) \(what) \(mode) \(owner):\(group)"), "kind": .string(kind), "count": .int(Int64(count)),
            "examples": [.string(path)], "mode": sourced(.string(mode), path), "owner": sourced(.string(owner), path),
            "group": sourced(.string(group), path),
        ]
    }

    /// The WeightsHost tree as the probe reports it; `classes` and `errors` replace its own.
    static func location(path: String = "/srv/weights", classes: [JSON]? = nil, errors: [JSON] = []) -> JSON {
        [
            "path": .string(path), "kind": "directory",
            "classes": .array(
                classes ?? [
                    entries("directory", "0750", count: 5, at: "/srv/weights"),
                    entries("file", "0640", count: 4, at: "/srv/weights/config.json"),
                ]), "errors": .array(errors),
        ]
    }

    static let nowhere: JSON = ["path": "/srv/nowhere", "error": "does not exist (No such file or directory)"]

    /// A row: what changed, the weights_tree locations, the site's weights section, the
    /// statuses at sl3 and sl4, and text the summary must contain at both (empty: not checked).
    typealias Row = (name: String, locations: [JSON], site: JSON, sl3: Status, sl4: Status, says: String)

    static let ownerAndGroup: JSON = ["owner": "weights", "group": "readers"]

    static let acc001Table: [Row] = [
        ("files 0640, directories 0750", [location()], ownerAndGroup, .pass, .fail, ""),
        (
            "files 0440, directories 0750", [location(classes: [entries("file", "0440", count: 4, at: "/srv/weights/config.json")])], [:],
            .pass, .pass, ""
        ),
        (
            "a world-readable file deep inside",
            [
                location(classes: [
                    entries("file", "0640", count: 4, at: "/srv/weights/config.json"),
                    entries("file", "0644", at: "/srv/weights/shards/a/b/c/d/leak.bin"),
                ])
            ],
            [:], .fail, .fail, "/srv/weights: 1 file 0644 weights:readers: file permission bits is 0644"
        ),
        (
            "a group-writable directory", [location(classes: [entries("directory", "0770", at: "/srv/weights/tokenizer")])], [:], .fail,
            .fail,
            "/srv/weights: 1 directory 0770 weights:readers: directory permission bits is 0770"
        ),
        (
            "30 files 0604", [location(classes: [entries("file", "0604", count: 30, at: "/srv/weights/many/f0")])], [:], .fail, .fail,
            "30 files 0604 weights:readers"
        ),
        // setgid on a directory widens no access: SL3 accepts it, SL4's 0750 does not.
        ("a setgid directory", [location(classes: [entries("directory", "2750", at: "/srv/weights/shards")])], [:], .pass, .fail, ""),
        (
            "a file owned by bob", [location(classes: [entries("file", "0640", owner: "bob", at: "/srv/weights/config.json")])],
            ownerAndGroup,
            .fail, .fail, "owner is bob, expected = weights"
        ),
        (
            "a directory of group alice", [location(classes: [entries("directory", "0750", group: "alice", at: "/srv/weights/tokenizer")])],
            ownerAndGroup, .fail, .fail, "group is alice, expected = readers"
        ),
        // Without an owner or group in the site file, ownership is not judged.
        (
            "a file owned by bob, no owner in the site file",
            [location(classes: [entries("file", "0440", owner: "bob", group: "alice", at: "/srv/weights/config.json")])], [:], .pass, .pass,
            ""
        ),
        (
            "merged past the class limit, owners several",
            [location(classes: [entries("file", "0440", count: 5, owner: "(several)", at: "/srv/weights/config.json")])],
            ["owner": "weights"],
            .fail, .fail, "owner is (several), expected = weights"
        ),
        (
            "a single file 0644",
            [location(path: "/srv/weights/config.json", classes: [entries("file", "0644", at: "/srv/weights/config.json")])], [:], .fail,
            .fail,
            "file permission bits is 0644"
        ),
        (
            "a weights path that does not exist", [location(classes: [entries("file", "0440", at: "/srv/weights/config.json")]), nowhere],
            [:], .error, .error,
            "/srv/nowhere: does not exist (No such file or directory)"
        ),
        ("no weights at all", [], [:], .error, .error, "no weight locations registered or found"),
        (
            "a location with no class at all", [location(classes: [])], [:], .error, .error, "nothing was seen under this location"
        ),
        (
            "the walk stopped at its budget",
            [
                location(
                    classes: [entries("file", "0440", at: "/srv/weights/config.json")],
                    errors: [["path": "/srv/weights", "error": "the walk stopped at the 3-entry budget after 3 entries, in /srv/weights"]])
            ],
            [:], .error, .error, "/srv/weights: the walk stopped at the 3-entry budget after 3 entries, in /srv/weights"
        ),
        (
            "a bind mount loop",
            [
                location(
                    classes: [entries("file", "0440", at: "/srv/weights/config.json")],
                    errors: [
                        ["path": "/srv/weights/loop", "error": "the same directory as an ancestor (a bind mount loop): not walked again"]
                    ])
            ],
            [:], .error, .error, "/srv/weights/loop: the same directory as an ancestor (a bind mount loop): not walked again"
        ),
    ]

    /// weights_acl with these named entries (and errors) in its one location.
    static func acl(_ named: [JSON], errors: [JSON] = []) -> [JSON] {
        [
            [
                "path": "/srv/weights", "named_entries": .array(named), "errors": .array(errors), "acl_paths": ["count": 1, "first": []],
                "checked": 9,
            ]
        ]
    }

    static func named(_ type: String, _ name: String, acl: String = "access", at path: String) -> JSON {
        [
            "acl": .string(acl), "type": .string(type), "permissions": "r--", "count": 1, "examples": [.string(path)],
            "name": .string("/srv/weights: \(type) \(name) r-- in the \(acl) ACL of 1 path"), "principal": sourced(.string(name), path),
            "qualified": sourced(.string("\(type):\(name)"), path),
        ]
    }

    static let alice = named("user", "alice", at: "/srv/weights/config.json")

    static let acc002Table: [Row] = [
        ("no named entries", acl([]), [:], .pass, .pass, ""),
        (
            "user alice, nobody allowed", acl([alice]), [:], .fail, .fail,
            "/srv/weights: user alice r-- in the access ACL of 1 path: ACL principal is alice"
        ),
        ("user alice, alice allowed", acl([alice]), ["allowed_principals": ["alice"]], .pass, .pass, ""),
        ("user alice, user:alice allowed", acl([alice]), ["allowed_principals": ["user:alice"]], .pass, .pass, ""),
        ("user alice, group:alice allowed", acl([alice]), ["allowed_principals": ["group:alice"]], .fail, .fail, ""),
        ("user alice, bob allowed", acl([alice]), ["allowed_principals": ["bob"]], .fail, .fail, ""),
        (
            "a default ACL for group readers", acl([named("group", "readers", acl: "default", at: "/srv/weights/shards")]), [:], .fail,
            .fail,
            "ACL principal (type:name) is group:readers"
        ),
        (
            "a default ACL for group readers, readers allowed", acl([named("group", "readers", acl: "default", at: "/srv/weights/shards")]),
            ["allowed_principals": ["readers"]], .pass, .pass, ""
        ),
        (
            "a malformed ACL",
            acl(
                [],
                errors: [["path": "/srv/weights/config.json", "error": "system.posix_acl_access: malformed at byte 12: unknown tag 0x40"]]),
            [:], .error, .error, "/srv/weights/config.json: system.posix_acl_access: malformed at byte 12: unknown tag 0x40"
        ),
        (
            "an unreadable ACL",
            acl([], errors: [["path": "/srv/weights/config.json", "error": "system.posix_acl_access: Input/output error"]]),
            [:], .error, .error, "/srv/weights/config.json: system.posix_acl_access: Input/output error"
        ),
        (
            "a weights path that does not exist", acl([]) + [nowhere], [:], .error, .error,
            "/srv/nowhere: does not exist (No such file or directory)"
        ),
        ("no weights at all", [], [:], .error, .error, "no weight locations registered or found"),
    ]

    func evaluate(_ control: String, fact: String, _ row: Row) throws {
        let value: JSON = ["locations": .array(row.locations), "origin": "site", "source": "weights.paths (site file)"]
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let finding = try cannedFinding(control, profile: profile, facts: [fact: value, "site": ["weights": row.site]])
            #expect(finding.status == expected, "\(profile) \(row.name): \(finding.summary)")
            #expect(row.says.isEmpty || finding.summary.contains(row.says), "\(profile) \(row.name): \(finding.summary)")
        }
    }

    @Test(arguments: WeightsTreeTests.acc001Table.indices)
    func acc001OverATableOfFacts(_ row: Int) throws { try evaluate("ACC-001", fact: "weights_tree", Self.acc001Table[row]) }

    @Test(arguments: WeightsTreeTests.acc002Table.indices)
    func acc002OverATableOfFacts(_ row: Int) throws { try evaluate("ACC-002", fact: "weights_acl", Self.acc002Table[row]) }

    /// The evidence of a failing class names the paths the probe listed and its mode.
    @Test func acc001EvidenceIsTheClassesSource() throws {
        let source = "/srv/weights/many/f0, /srv/weights/many/f1, … (first 20 of 30)"
        var cls = Self.entries("file", "0604", count: 30, at: "/srv/weights/many/f0").objectValue!
        cls["mode"] = Self.sourced("0604", source)
        let value: JSON = ["locations": [Self.location(classes: [.object(cls)])], "origin": "site", "source": "weights.paths (site file)"]
        let f = try cannedFinding("ACC-001", profile: "sl3", facts: ["weights_tree": value])
        #expect(
            f.evidence.contains { $0.source == source && $0.observed == "0604" && $0.expected == "file permission bits at most 7750" },
            "\(f.evidence)")
    }

    @Test(arguments: [
        ([UInt8](), "malformed at byte 0: 0 bytes, shorter than the 4-byte header"),
        ([3, 0, 0, 0], "malformed at byte 0: version 3, expected 2"),
        ([2, 0, 0, 0, 1, 0, 6, 0, 0xFF, 0xFF], "malformed at byte 4: 6 bytes left over after the last whole 8-byte entry"),
        (
            [2, 0, 0, 0, 1, 0, 6, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x20, 0],
            "malformed at byte 12: 2 bytes left over after the last whole 8-byte entry"
        ),
        (
            [2, 0, 0, 0, 1, 0, 6, 0, 0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 9, 0, 1, 0, 0, 0],
            "malformed at byte 14: permission bits 0x9 outside rwx"
        ),
    ])
    func aclDecodingErrorsSayWhere(bytes: [UInt8], message: String) {
        #expect(throws: PosixACL.DecodingError.self) { try PosixACL.decode(bytes) }
        do { _ = try PosixACL.decode(bytes) } catch { #expect(error.description == message) }
    }

    @Test func aclDecodesWhatSetfaclWrites() throws {
        let host = WeightsHost()
        host.setfacl("-m", "u:1001:rw,g:991:r", "srv/weights/config.json")
        let root = try HostRoot(host.path)
        let bytes = try #require(try root.xattr("/srv/weights/config.json", name: "system.posix_acl_access"))
        let acl = try PosixACL.decode(bytes)
        #expect(acl.encoded == bytes)
        #expect(
            acl.entries.filter(\.isNamed) == [.init(tag: .user, permissions: 6, id: 1001), .init(tag: .group, permissions: 4, id: 991)])
    }

    /// The walk's reader (getxattrat through the C shim, on a kernel that has it) and the
    /// lgetxattr on /proc/self/fd that older kernels get read the same bytes, and the same absence.
    @Test func bothAttributeCallsReadTheSame() throws {
        let host = WeightsHost()
        host.setfacl("-m", "u:1001:rw,g:991:r", "srv/weights/config.json")
        let root = try HostRoot(host.path)
        let viaProc = try #require(try root.xattr("/srv/weights/config.json", name: "system.posix_acl_access"))
        let directory = open(root.path + "/srv/weights", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(directory >= 0)
        defer { close(directory) }
        let reader = ProcAttributeReader()
        #expect(reader.unavailableReason == nil)
        guard case .value(let bytes) = reader.read(directory: directory, name: "config.json", attribute: "system.posix_acl_access") else {
            Issue.record("no ACL read relative to the directory")
            return
        }
        #expect(bytes == viaProc)
        #expect(try root.xattr("/srv/weights/config.json", name: "user.warden-absent") == nil)
        guard case .absent = reader.read(directory: directory, name: "config.json", attribute: "user.warden-absent") else {
            Issue.record("an absent attribute was not read as absent")
            return
        }
    }
}
