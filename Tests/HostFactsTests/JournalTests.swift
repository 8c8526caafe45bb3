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

    func journald(_ tree: TempTree) throws -> JSON { try probeFact("journald", of: JournaldProbe(), root: tree.path) }

    static func sourced(_ value: JSON, _ source: String) -> JSON { ["value": value, "source": .string(source)] }

    static let offline: JSON = [
        "not_applicable": "offline root: the current boot's entries are checked only on a live host", "source": "/var/log/journal",
    ]

    // MARK: - Probe tests: the journald fact of each tree

    @Test func storageAutoDependsOnTheJournalDirectory() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n")
        let without = try journald(tree)
        #expect(without["storage"] == JournalTests.sourced("auto", "default (systemd)"))
        #expect(without["journal_directory"] == JournalTests.sourced(false, "/var/log/journal"))
        #expect(without["persistent"] == JournalTests.sourced(false, "default (systemd) (Storage=auto, no /var/log/journal)"))
        tree.directory("var/log/journal")
        let with = try journald(tree)
        #expect(with["persistent"] == JournalTests.sourced(true, "default (systemd) (Storage=auto, /var/log/journal exists)"))
        // Offline, the current boot's entries are not looked for: persistent storage decides.
        #expect(with["entries_this_boot"] == JournalTests.offline)
    }

    @Test func quotedStorageIsInvalidAndIgnored() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage='persistent'\n")
        let v = try journald(tree)
        #expect(v["ignored"] == ["/etc/systemd/journald.conf:2: invalid Storage='persistent' (systemd ignores it)"])
        #expect(v["storage"] == JournalTests.sourced("auto", "default (systemd)"))
        #expect(v["persistent"]?["value"] == false)
    }

    @Test func dropInOverridesMainAndEtcMasksUsrLib() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
        tree.file("usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=volatile\n")
        tree.file("etc/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=persistent\n")
        let etc = JournalTests.sourced("persistent", "/etc/systemd/journald.conf.d/50-vendor.conf:2")
        let masked = try journald(tree)
        #expect(masked["storage"] == etc)
        #expect(masked["files"]?.arrayValue?.contains("/usr/lib/systemd/journald.conf.d/50-vendor.conf") == false)
        #expect(masked["persistent"]?["value"] == true)
        // Only [Journal] counts.
        tree.file("etc/systemd/journald.conf.d/90-other.conf", "[Upload]\nStorage=none\n")
        #expect(try journald(tree)["storage"] == etc)
        tree.file("run/systemd/journald.conf.d/99-late.conf", "[Journal]\nStorage=none\n")
        let late = try journald(tree)
        #expect(late["storage"] == JournalTests.sourced("none", "/run/systemd/journald.conf.d/99-late.conf:2"))
        #expect(late["persistent"]?["value"] == false)
    }

    @Test func sealAndItsKey() throws {
        let tree = TempTree()
        let fss = "/var/log/journal/3d1219c7c4c5404aaa1f6d2a48adfda4/fss"
        tree.file("etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n")
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=persistent\nSeal=yes\n")
        let noKey = try journald(tree)
        #expect(noKey["seal"] == JournalTests.sourced(true, "/etc/systemd/journald.conf:3"))
        #expect(noKey["fss_key"] == JournalTests.sourced(false, fss))
        tree.file(String(fss.dropFirst()), "key")
        #expect(try journald(tree)["fss_key"] == JournalTests.sourced(true, fss))
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=persistent\nSeal=no\n")
        #expect(try journald(tree)["seal"] == JournalTests.sourced(false, "/etc/systemd/journald.conf:3"))
    }

    // MARK: - Control tests: LOG-007 over a table of canned facts

    /// A persistent, sealed journal with its key, offline; each row changes one thing.
    static func canned(
        storage: String = "persistent", directory: Bool = true, seal: Bool = true, fss: Bool = true, entries: JSON = offline
    ) -> JSON {
        let persistent = storage == "persistent" || (storage == "auto" && directory)
        return [
            "source": "/etc/systemd/journald.conf", "files": ["/etc/systemd/journald.conf"], "unread": [], "ignored": [],
            "storage": sourced(.string(storage), "/etc/systemd/journald.conf:2"),
            "seal": sourced(.bool(seal), "/etc/systemd/journald.conf:3"),
            "journal_directory": sourced(.bool(directory), "/var/log/journal"),
            "persistent": sourced(.bool(persistent), "/etc/systemd/journald.conf:2 (Storage=\(storage))"),
            "fss_key": sourced(.bool(fss), "/var/log/journal/3d1219c7c4c5404aaa1f6d2a48adfda4/fss"), "entries_this_boot": entries,
        ]
    }

    static let log007Table: [(String, JSON, Status, Status)] = [
        ("persistent, sealed, with its key", canned(), .pass, .pass),
        ("Storage=auto without /var/log/journal", canned(storage: "auto", directory: false), .fail, .fail),
        ("Storage=auto with /var/log/journal", canned(storage: "auto"), .pass, .pass),
        ("Storage=volatile", canned(storage: "volatile"), .fail, .fail),
        ("Storage=none", canned(storage: "none"), .fail, .fail),
        ("sealed without a key: SL4 needs both", canned(fss: false), .pass, .fail),
        ("not sealed", canned(seal: false), .pass, .fail),
        ("live: entries of this boot", canned(entries: sourced(true, "/var/log/journal (_BOOT_ID=x)")), .pass, .pass),
        ("live: no entries of this boot", canned(entries: sourced(false, "/var/log/journal (_BOOT_ID=x)")), .fail, .fail),
        (
            "live: the journal cannot be read",
            canned(entries: ["error": "cannot read /proc/sys/kernel/random/boot_id", "source": "/proc/sys/kernel/random/boot_id"]),
            .error, .error
        ),
    ]

    @Test(arguments: JournalTests.log007Table.indices)
    func log007OverATableOfFacts(_ row: Int) throws {
        let (name, value, sl3, sl4) = JournalTests.log007Table[row]
        for (profile, expected) in [("sl3", sl3), ("sl4", sl4)] {
            let finding = try cannedFinding("LOG-007", profile: profile, facts: ["journald": value])
            #expect(finding.status == expected, "\(profile) \(name): \(finding.summary)")
        }
    }

    /// End to end, once: a drop-in in /etc that masks the vendor's makes the journal persistent,
    /// through systemd's search path as the probe follows it and LOG-007 reading the result.
    @Test func aDropInMakesTheJournalPersistentEndToEnd() throws {
        let tree = TempTree()
        tree.file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n")
        tree.file("usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=volatile\n")
        tree.file("etc/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=persistent\n")
        let f = try audit(root: tree.path, probes: [JournaldProbe()]).findings["LOG-007"]
        #expect(f.status == .pass, "\(f.summary)")
    }
}
