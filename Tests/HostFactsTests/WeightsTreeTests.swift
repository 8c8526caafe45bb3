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
}

@Suite struct WeightsTreeTests {
    // MARK: ACC-001

    @Test func closedTreePassesSL3WithSiteOwnerAndGroup() throws {
        let host = WeightsHost()
        let site = WeightsHost.site + "  owner: weights\n  group: readers\n"
        let (facts, findings) = try host.audit(site: site)
        #expect(findings["ACC-001"].status == .pass, "\(findings["ACC-001"].summary)")
        let loc = try #require(host.location(facts))
        #expect(loc["files"] == 4)
        #expect(loc["directories"] == 5)
        #expect(loc["file_mode_union"] == "0640")
        #expect(loc["directory_mode_union"] == "0750")
        #expect(loc["owners"] == ["weights"])
        #expect(loc["groups"] == ["readers"])
        let names = loc["classes"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["/srv/weights: 5 directories 0750 weights:readers", "/srv/weights: 4 files 0640 weights:readers"])
    }

    @Test func worldReadableFileDeepInsideFailsAndIsNamed() throws {
        let host = WeightsHost()
        host.tree.bytes("srv/weights/shards/a/b/c/d/leak.bin", WeightFiles.safetensors(), mode: 0o644)
        host.set(files: 0o640, directories: 0o750, under: "srv/weights/shards/a/b/c")
        host.chmod("srv/weights/shards/a/b/c/d/leak.bin", 0o644)
        host.chown("990:991", "srv/weights")
        let f = try host.audit().findings["ACC-001"]
        #expect(f.status == .fail)
        #expect(
            f.evidence.contains {
                $0.source == "/srv/weights/shards/a/b/c/d/leak.bin" && $0.observed == "0644"
                    && $0.expected == "file permission bits at most 7750"
            })
        #expect(f.summary.contains("/srv/weights: 1 file 0644 weights:readers: file permission bits is 0644"), "\(f.summary)")
    }

    @Test func groupWritableDirectoryFails() throws {
        let host = WeightsHost()
        host.chmod("srv/weights/tokenizer", 0o770)
        let f = try host.audit().findings["ACC-001"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/srv/weights/tokenizer" && $0.observed == "0770" })
    }

    @Test func evidenceShowsTheCountAndTheFirstTwentyOffenders() throws {
        let host = WeightsHost()
        for i in 0..<30 { host.tree.file("srv/weights/many/f\(i)", "x", mode: 0o604) }
        host.set(files: 0o604, directories: 0o750, under: "srv/weights/many")
        host.chown("990:991", "srv/weights")
        let f = try host.audit().findings["ACC-001"]
        #expect(f.status == .fail)
        let e = try #require(f.evidence.first { $0.observed == "0604" })
        #expect(e.source.split(separator: ",").count == 21)  // 20 paths and the count
        #expect(e.source.hasSuffix("… (first 20 of 30)"))
        #expect(f.summary.contains("30 files 0604 weights:readers"))
    }

    @Test func sl4NeedsReadOnlyFilesAndClosedDirectories() throws {
        let host = WeightsHost()
        let sl4 = try host.audit(profile: "sl4").findings["ACC-001"]
        #expect(sl4.status == .fail)
        #expect(sl4.evidence.contains { $0.observed == "0640" && $0.expected == "file permission bits at most 0440" })
        #expect(sl4.summary.contains("4 files 0640"))

        host.set(files: 0o440, directories: 0o750)
        #expect(try host.audit(profile: "sl4").findings["ACC-001"].status == .pass)

        // setgid on a directory widens no access: SL3 accepts it, SL4's 0750 does not.
        host.chmod("srv/weights/shards", 0o2750)
        #expect(try host.audit(profile: "sl3").findings["ACC-001"].status == .pass)
        let setgid = try host.audit(profile: "sl4").findings["ACC-001"]
        #expect(setgid.status == .fail)
        #expect(setgid.evidence.contains { $0.source == "/srv/weights/shards" && $0.observed == "2750" })
    }

    @Test func ownerAndGroupOtherThanTheSiteSaysFail() throws {
        let host = WeightsHost()
        host.chown("1002:991", "srv/weights/config.json")
        host.chown("990:1001", "srv/weights/tokenizer")
        let site = WeightsHost.site + "  owner: weights\n  group: readers\n"
        let f = try host.audit(site: site).findings["ACC-001"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/srv/weights/config.json" && $0.observed == "bob" && $0.expected == "owner = weights" })
        #expect(
            f.evidence.contains {
                $0.source.contains("/srv/weights/tokenizer") && $0.observed == "alice" && $0.expected == "group = readers"
            })
        // Without an owner or group in the site file, ownership is not judged.
        #expect(try host.audit().findings["ACC-001"].status == .pass)
    }

    @Test func symlinksInsideTheTreeAreNotFollowed() throws {
        let host = WeightsHost()
        host.tree.file("etc/secret", "x", mode: 0o666)
        host.tree.symlink("srv/weights/escape", to: "/etc")
        host.tree.symlink("srv/weights/tokenizer/secret", to: "../../../etc/secret")
        host.set(files: 0o640, directories: 0o750)
        let (facts, findings) = try host.audit()
        #expect(findings["ACC-001"].status == .pass, "\(findings["ACC-001"].summary)")
        let loc = try #require(host.location(facts))
        #expect(loc["symlinks"]?["count"] == 2)
        #expect(loc["symlinks"]?["followed"] == false)
        #expect(loc["files"] == 4)
    }

    @Test func aLocationThatIsASingleFileIsChecked() throws {
        let host = WeightsHost()
        host.chmod("srv/weights/config.json", 0o644)
        let site = "weights:\n  paths: [/srv/weights/config.json]\n"
        let (facts, findings) = try host.audit(site: site)
        #expect(findings["ACC-001"].status == .fail)
        #expect(host.location(facts)?["kind"] == "file")
        host.chmod("srv/weights/config.json", 0o640)
        #expect(try host.audit(site: site).findings["ACC-001"].status == .pass)
    }

    @Test func aWeightsPathThatDoesNotExistIsAnError() throws {
        let host = WeightsHost()
        let site = "weights:\n  paths: [/srv/weights, /srv/nowhere]\n"
        let (facts, findings) = try host.audit(site: site)
        for id in ["ACC-001", "ACC-002"] {
            #expect(findings[id].status == .error)
            #expect(findings[id].summary == "/srv/nowhere: does not exist (No such file or directory)", "\(findings[id].summary)")
        }
        #expect(host.location(facts, index: 1) == ["path": "/srv/nowhere", "error": "does not exist (No such file or directory)"])
    }

    @Test func noWeightsAtAllIsAnError() throws {
        let host = WeightsHost()
        let registered = try host.audit(site: "weights:\n  paths: []\n").findings
        let empty = TempTree()
        let discovered = try WardenTestSupport.audit(root: empty.path, probes: [WeightsTreeProbe()]).findings
        for findings in [registered, discovered] {
            for id in ["ACC-001", "ACC-002"] {
                #expect(findings[id].status == .error)
                #expect(findings[id].summary == "no weight locations registered or found")
            }
        }
    }

    @Test func pastTheClassLimitEntriesAreMergedWithoutChangingTheVerdict() throws {
        let host = WeightsHost()
        // One class: the start directory takes it; everything else is merged.
        let probe = WeightsTreeProbe(budget: .weightsTree, maxClasses: 1)
        let site = WeightsHost.site + "  owner: weights\n"
        let (facts, findings) = try host.audit(site: site, probe: probe)
        #expect(findings["ACC-001"].status == .pass, "\(findings["ACC-001"].summary)")
        // The directories share the start directory's class; the files are merged into one.
        let classes = try #require(host.location(facts)?["classes"]?.arrayValue)
        #expect(
            classes.map { $0["name"] } == [
                "/srv/weights: 5 directories 0750 weights:readers",
                "/srv/weights: 4 more files past the limit of 1 distinct classes, modes combined",
            ])
        #expect(classes.last?["merged"] == true)

        host.tree.bytes("srv/weights/shards/a/b/extra.bin", WeightFiles.safetensors(), mode: 0o644)
        host.chmod("srv/weights/shards/a/b/extra.bin", 0o644)
        host.chown("1002:991", "srv/weights/shards/a/b/extra.bin")
        let (facts2, findings2) = try host.audit(site: site, probe: probe)
        let f = findings2["ACC-001"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.observed == "0644" && $0.source.contains("extra.bin") })
        #expect(f.evidence.contains { $0.observed == "(several)" && $0.expected == "owner = weights" })
        #expect(host.location(facts2)?["file_mode_union"] == "0644")
    }

    @Test func anExhaustedWalkBudgetIsAnError() throws {
        let host = WeightsHost()
        let probe = WeightsTreeProbe(budget: WalkBudget(maxEntries: 3, maxSeconds: 600))
        let site = "weights:\n  paths: [/srv/weights, /etc]\n"
        let (facts, findings) = try host.audit(site: site, probe: probe)
        #expect(findings["ACC-001"].status == .error)
        #expect(
            findings["ACC-001"].summary.contains("the walk stopped at the 3-entry budget after 3 entries, in /srv/weights"),
            "\(findings["ACC-001"].summary)")
        #expect(
            host.location(facts, index: 1)?["error"]
                == "not walked: the walk of an earlier location stopped at the 3-entry budget after 3 entries, in /srv/weights")
    }

    @Test func aBindMountLoopIsAnErrorNotAHang() throws {
        let host = WeightsHost()
        let loop = host.tree.directory("srv/weights/loop", mode: 0o750)
        let mounted = run("/bin/mount", ["--bind", host.weights, loop])
        try #require(mounted.status == 0, "this test bind-mounts a directory (needs root): \(mounted.stderr)")
        defer { withExtendedLifetime(host) { _ = run("/bin/umount", [loop]) } }  // unmount before the tree is removed
        let f = try host.audit().findings["ACC-001"]
        #expect(f.status == .error)
        #expect(
            f.summary.contains("/srv/weights/loop: the same directory as an ancestor (a bind mount loop): not walked again"), "\(f.summary)"
        )
    }

    // MARK: ACC-002

    @Test func namedUserOutsideTheAllowedPrincipalsFails() throws {
        let host = WeightsHost()
        host.setfacl("-m", "u:1001:r", "srv/weights/shards/a/b/model-00001-of-00002.safetensors")
        let (facts, findings) = try host.audit()
        let f = findings["ACC-002"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/srv/weights/shards/a/b/model-00001-of-00002.safetensors" && $0.observed == "alice" })
        #expect(f.summary.contains("/srv/weights: user alice (uid 1001) r-- in the access ACL of 1 path"), "\(f.summary)")
        let acl = try #require(host.location(facts, "weights_acl"))
        #expect(acl["acl_paths"]?["count"] == 1)
        #expect(acl["named_entries"]?.arrayValue?.first?["qualified"]?["value"] == "user:alice")
    }

    @Test(arguments: [("[alice]", Status.pass), ("[\"user:alice\"]", .pass), ("[\"group:alice\"]", .fail), ("[bob]", .fail)])
    func allowedPrincipalsDecide(allowed: String, status: Status) throws {
        let host = WeightsHost()
        host.setfacl("-m", "u:1001:r", "srv/weights/config.json")
        let site = WeightsHost.site + "  allowed_principals: \(allowed)\n"
        let f = try host.audit(site: site).findings["ACC-002"]
        #expect(f.status == status, "\(f.summary)")
    }

    @Test func defaultACLOnADirectoryIsChecked() throws {
        let host = WeightsHost()
        host.setfacl("-d", "-m", "g:991:rx", "srv/weights/shards")
        let (facts, findings) = try host.audit()
        let f = findings["ACC-002"]
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/srv/weights/shards" && $0.observed == "readers" })
        let entry = try #require(host.location(facts, "weights_acl")?["named_entries"]?.arrayValue?.first)
        #expect(entry["acl"] == "default")
        #expect(entry["type"] == "group")
        #expect(entry["permissions"] == "r-x")
        let allowed = WeightsHost.site + "  allowed_principals: [readers]\n"
        #expect(try host.audit(site: allowed).findings["ACC-002"].status == .pass)
    }

    @Test func anACLWithoutNamedEntriesPasses() throws {
        let host = WeightsHost()
        host.setfacl("-m", "m::r", "srv/weights/config.json")  // a mask only: no one added
        let (facts, findings) = try host.audit()
        #expect(findings["ACC-002"].status == .pass, "\(findings["ACC-002"].summary)")
        #expect(host.location(facts, "weights_acl")?["named_entries"] == [])
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

    @Test func aMalformedACLIsAnErrorWithPathAndOffset() throws {
        let host = WeightsHost()
        let bad = PosixACL(entries: [.init(tag: .userObject, permissions: 6, id: .max)]).encoded + [0x40, 0, 4, 0, 0, 0, 0, 0]
        let probe = WeightsTreeProbe(budget: .weightsTree, attributes: PresentedACL(file: "config.json", value: .value(bad)))
        let f = try host.audit(probe: probe).findings["ACC-002"]
        #expect(f.status == .error)
        #expect(f.summary == "/srv/weights/config.json: system.posix_acl_access: malformed at byte 12: unknown tag 0x40", "\(f.summary)")

        let unreadable = WeightsTreeProbe(
            budget: .weightsTree, attributes: PresentedACL(file: "config.json", value: .failed("Input/output error")))
        #expect(
            try host.audit(probe: unreadable).findings["ACC-002"].summary
                == "/srv/weights/config.json: system.posix_acl_access: Input/output error")
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
