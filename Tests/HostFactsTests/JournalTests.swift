import HostFacts
import SystemdJournal
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

@Suite struct JournalTests {
    static let bootID = "0123456789abcdef0123456789abcdef"
    static let otherBoot = "fedcba9876543210fedcba9876543210"

    /// Builds a real journal file with systemd-journal-remote from journal export format.
    func makeJournal(in tree: TempTree, machineID: String = "3d1219c7c4c5404aaa1f6d2a48adfda4") throws -> String {
        func entry(_ n: Int, boot: String) -> String {
            "__REALTIME_TIMESTAMP=\(1_795_900_000_000_000 + n)\n__MONOTONIC_TIMESTAMP=\(1000 + n)\n_BOOT_ID=\(boot)\n_MACHINE_ID=\(machineID)\nMESSAGE=entry \(n)\nPRIORITY=6\n\n"
        }
        let export = tree.file(
            "export.txt", entry(1, boot: JournalTests.otherBoot) + entry(2, boot: JournalTests.bootID) + entry(3, boot: JournalTests.bootID)
        )
        let dir = tree.directory("var/log/journal/\(machineID)")
        let r = run("/lib/systemd/systemd-journal-remote", ["--output=\(dir)/remote.journal", export])
        try #require(r.status == 0, "systemd-journal-remote: \(r.stderr)")
        return tree.path + "/var/log/journal"
    }

    @Test func countsEntriesOfOneBoot() throws {
        let tree = TempTree()
        let dir = try makeJournal(in: tree)
        let journal = try Journal(directory: dir)
        #expect(try journal.countEntries(limit: 10) == 3)
        #expect(try journal.countEntries(bootID: JournalTests.bootID, limit: 10) == 2)
        #expect(try journal.countEntries(bootID: "00000000-0000-0000-0000-000000000000", limit: 10) == 0)
        // boot_id as /proc prints it (with dashes) matches too.
        #expect(try journal.countEntries(bootID: "01234567-89ab-cdef-0123-456789abcdef", limit: 10) == 2)
    }

    @Test func missingDirectoryIsAnError() {
        #expect(throws: JournalError.self) { try Journal(directory: "/nonexistent/journal") }
    }

    func log007(_ tree: TempTree, profile: String = "sl3") throws -> Finding {
        try audit(root: tree.path, profile: profile, probes: [JournaldProbe()]).findings["LOG-007"]
    }

    @Test func storageAutoDependsOnTheJournalDirectory() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
        #expect(try log007(tree).status == .fail)
        tree.directory("var/log/journal")
        // Offline, the current boot's entries are not looked for: persistent storage decides.
        #expect(try log007(tree).status == .pass)
    }

    @Test func quotedStorageIsInvalidAndIgnored() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage='persistent'\n")
        let f = try log007(tree)
        #expect(f.status == .fail)
        let facts = try audit(root: tree.path, probes: [JournaldProbe()]).facts
        guard case .value(let v)? = facts["journald"] else {
            Issue.record("no fact")
            return
        }
        #expect(v["ignored"] == ["/etc/systemd/journald.conf:2: invalid Storage='persistent' (systemd ignores it)"])
        #expect(v["storage"]?["source"] == "default (systemd)")
    }

    @Test func dropInOverridesMainAndEtcMasksUsrLib() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
        tree.file("usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=volatile\n")
        tree.file("etc/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=persistent\n")
        #expect(try log007(tree).status == .pass)
        // Only [Journal] counts.
        tree.file("etc/systemd/journald.conf.d/90-other.conf", "[Upload]\nStorage=none\n")
        #expect(try log007(tree).status == .pass)
        tree.file("run/systemd/journald.conf.d/99-late.conf", "[Journal]\nStorage=none\n")
        #expect(try log007(tree).status == .fail)
    }

    @Test func sl4NeedsSealAndAKey() throws {
        let tree = TempTree()
        tree.file("etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=persistent\nSeal=yes\n")
        #expect(try log007(tree, profile: "sl4").status == .fail)
        tree.file("var/log/journal/3d1219c7c4c5404aaa1f6d2a48adfda4/fss", "key")
        #expect(try log007(tree, profile: "sl4").status == .pass)
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=persistent\nSeal=no\n")
        #expect(try log007(tree, profile: "sl4").status == .fail)
        #expect(try log007(tree, profile: "sl3").status == .pass)
    }
}
