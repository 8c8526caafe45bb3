import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The `swap` and `hibernation` facts of fixtures and small trees, and ENC-005 (swap) and ENC-006
/// (hibernation) over tables of canned facts.
@Suite struct SwapHibernationTests {
    // MARK: - Probe tests: swap

    func swap(_ root: String) throws -> JSON { try probeFact("swap", of: SwapProbe(), root: root) }

    @Test func zram() throws {
        let fact = try swap(Package.fixtureRoot("swap-zram"))
        #expect(fact["runtime"] == true)
        let entry = try #require(fact["entries"]?[0])
        #expect(entry["path"] == "/dev/zram0")
        #expect(entry["zram"] == true)
        #expect(entry["disk_backed"] == false)
        #expect(entry["source"] == "/proc/swaps:2")
        #expect(fact["all_memory_or_encrypted"] == ["value": true, "source": "/proc/swaps"])
    }

    @Test func aPlainPartition() throws {
        let fact = try swap(Package.fixtureRoot("swap-plain-partition"))
        let entry = try #require(fact["entries"]?[0])
        #expect(entry["path"] == "/dev/sda2")
        #expect(entry["zram"] == false)
        #expect(entry["encrypted"] == ["value": false, "source": "/proc/swaps:2"])
        #expect(entry["devices"] == ["sda2"])
        #expect(fact["all_memory_or_encrypted"] == ["value": false, "source": "/proc/swaps"])
    }

    @Test func dmCryptWithARandomKey() throws {
        let entry = try #require(try swap(Package.fixtureRoot("swap-dm-crypt-random-key"))["entries"]?[0])
        #expect(entry["encrypted"] == ["value": true, "source": "/proc/swaps:2"])
        #expect(entry["random_key"] == ["value": true, "source": "/etc/crypttab:1"])
        #expect(entry["devices"] == ["dm-0", "sda2"])
    }

    @Test func dmCryptWithAStoredKey() throws {
        let tree = TempTree()
        tree.copy(fixture: "swap-dm-crypt-random-key")
        tree.file("etc/crypttab", "cryptswap PARTUUID=5c0ffee0-02 none luks,discard\n")
        tree.file("sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-cryptswap\n")
        let entry = try #require(try swap(tree.path)["entries"]?[0])
        #expect(entry["path"] == "/dev/dm-0")
        #expect(entry["encrypted"]?["value"] == true)
        #expect(entry["random_key"] == ["value": false, "source": "/etc/crypttab:1"])
    }

    @Test func noSwap() throws {
        let fact = try swap(Package.fixtureRoot("weights-lvm-on-luks"))
        #expect(fact["entries"] == [])
        #expect(fact["all_memory_or_encrypted"]?["value"] == true)
    }

    @Test func aSwapFileIsJudgedByItsFilesystem() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("swapfile", "")
        tree.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile                               file\t2097148\t0\t-2\n")
        let entry = try #require(try swap(tree.path)["entries"]?[0])
        #expect(entry["type"] == "file")
        // / is LVM on LUKS in this fixture.
        #expect(entry["encrypted"] == ["value": true, "source": "/proc/swaps:2"])
        #expect(entry["devices"] == ["dm-1", "dm-0", "sda3"])
        // A file on an encrypted filesystem has no key of its own, let alone a random one.
        #expect(entry["random_key"]?["value"] == false)
    }

    @Test func aMissingSysEntryOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "swap-plain-partition")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys"])
        let fact = try swap(tree.path)
        #expect(fact["entries"]?[0]?["not_checked"] == "/sys/class/block/sda2 does not exist (offline root)")
        // Undecidable as a whole, and stated so, with the entry that leaves it open.
        #expect(
            fact["all_memory_or_encrypted"] == [
                "not_checked": "/dev/sda2: /sys/class/block/sda2 does not exist (offline root)", "source": "/proc/swaps",
            ])
    }

    /// Offline, without /proc/swaps: the swap entries of /etc/fstab, matched against /etc/crypttab.
    @Test(arguments: [
        // fstab line, crypttab, what the entry comes to
        ("/dev/mapper/cryptswap none swap sw 0 0", "cryptswap /dev/sda2 /dev/urandom swap,cipher=aes-xts-plain64,size=512", "random key"),
        ("/dev/mapper/cryptswap none swap sw 0 0", "cryptswap /dev/sda2 none luks", "encrypted"),
        ("/dev/sda2 none swap sw 0 0", "", "plain"),
        ("/dev/zram0 none swap defaults,pri=100 0 0", "", "zram"),
        ("UUID=0a1b2c3d-0000-4000-8000-000000000002 none swap sw 0 0", "", "not checked"),
        ("/dev/mapper/vg0-swap none swap sw 0 0", "", "not checked"),
        // A swap file on / (a raw partition here) is as plain as its filesystem.
        ("/swapfile none swap sw 0 0", "", "plain"),
        ("/swap/file none swap sw 0 0\n/dev/mapper/data_crypt /swap ext4 defaults 0 2", "data_crypt /dev/sdb1 none luks", "encrypted"),
    ])
    func offlineFromFstabAndCrypttab(fstab: String, crypttab: String, expected: String) throws {
        let tree = TempTree()
        tree.file("etc/fstab", "# static file system information\n/dev/sda1 / ext4 errors=remount-ro 0 1\n\(fstab)\n")
        if !crypttab.isEmpty { tree.file("etc/crypttab", crypttab + "\n") }
        let fact = try swap(tree.path)
        #expect(fact["runtime"] == false)
        let entry = try #require(fact["entries"]?[0])
        #expect(entry["source"] == "/etc/fstab:3")
        switch expected {
        case "not checked":
            #expect(entry["not_checked"]?.stringValue != nil, "\(entry)")
            #expect(entry["encrypted"] == nil)
            // The whole is undecided too, naming the entry that leaves it open.
            let reason = try #require(entry["not_checked"]?.stringValue)
            #expect(fact["all_memory_or_encrypted"]?["not_checked"]?.stringValue?.hasSuffix(": " + reason) == true, "\(fact)")
        case "zram":
            #expect(entry["zram"] == true)
        default:
            #expect(entry["zram"] == false)
            #expect(entry["encrypted"] == ["value": .bool(expected != "plain"), "source": "/etc/fstab:3"], "\(fstab)")
            #expect(entry["random_key"]?["value"] == .bool(expected == "random key"), "\(fstab)")
        }
    }

    /// One area known to be plain decides the whole: what the others are does not matter.
    @Test func aPlainAreaDecidesBesideOneThatCannotBeResolved() throws {
        let tree = TempTree()
        tree.file(
            "etc/fstab",
            "/dev/sda1 / ext4 errors=remount-ro 0 1\nUUID=0a1b2c3d-0000-4000-8000-000000000002 none swap sw 0 0\n/dev/sda2 none swap sw 0 0\n"
        )
        let fact = try swap(tree.path)
        #expect(fact["entries"]?[0]?["not_checked"] != nil)
        #expect(fact["all_memory_or_encrypted"] == ["value": false, "source": "/etc/fstab"])
    }

    @Test func offlineWithoutFstabIsNotChecked() throws {
        let tree = TempTree()
        tree.directory("etc")
        let fact = try audit(root: tree.path, probes: [SwapProbe()]).facts["swap"]
        #expect(
            fact == .unavailable(.notChecked("neither /proc/swaps nor /etc/fstab exists (offline root)")), "\(String(describing: fact))")
    }

    // MARK: - Probe tests: hibernation

    /// The `hibernation` fact of a small tree with no active swap and `cmdline`, after `build`.
    func hibernation(_ build: (TempTree) -> Void, cmdline: String? = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n") throws -> JSON {
        let tree = TempTree()
        tree.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n")
        if let cmdline { tree.file("proc/cmdline", cmdline) }
        build(tree)
        return try probeFact("hibernation", of: HibernationProbe(), root: tree.path)
    }

    func operation(_ fact: JSON, _ name: String) throws -> JSON {
        try #require(fact["operations"]?.arrayValue?.first { $0["name"] == .string(name) }, "no \(name) in \(fact)")
    }

    static let disallowAll = "[Sleep]\nAllowHibernation=no\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n"

    @Test func systemdsDefaultsAllowHibernation() throws {
        let fact = try hibernation { _ in }
        #expect(fact["files"] == [])
        #expect(fact["settings"] == [:])
        #expect(try operation(fact, "hibernate")["possible"] == ["value": true, "source": "default (systemd)"])
        #expect(fact["operations"]?.arrayValue?.map { $0["possible"]?["value"] } == [true, true, true])
        #expect(fact["possible"] == true)
    }

    @Test func aDropInDisallowsEverything() throws {
        let fact = try hibernation { $0.file("etc/systemd/sleep.conf.d/90-no-hibernate.conf", Self.disallowAll) }
        #expect(fact["files"] == [["path": "/etc/systemd/sleep.conf.d/90-no-hibernate.conf", "masked": false]])
        #expect(
            try operation(fact, "hibernate")["possible"] == ["value": false, "source": "/etc/systemd/sleep.conf.d/90-no-hibernate.conf:2"])
        #expect(fact["operations"]?.arrayValue?.map { $0["possible"]?["value"] } == [false, false, false])
        #expect(fact["possible"] == false)
    }

    @Test func disallowingHibernateAloneAlsoDisablesTheDerivedDefaults() throws {
        // AllowHybridSleep and AllowSuspendThenHibernate default to AllowSuspend && AllowHibernation.
        let fact = try hibernation { $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation=no\n") }
        let hybrid = try operation(fact, "hybrid-sleep")
        #expect(hybrid["allowed"]?["value"] == false)
        #expect(hybrid["allowed"]?["source"]?.stringValue?.contains("/etc/systemd/sleep.conf:2") == true)
        #expect(fact["possible"] == false)
        // An explicit AllowHybridSleep=yes brings hybrid sleep back.
        let back = try hibernation { $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation=no\nAllowHybridSleep=yes\n") }
        #expect(try operation(back, "hybrid-sleep")["possible"] == ["value": true, "source": "/etc/systemd/sleep.conf:3"])
        #expect(try operation(back, "suspend-then-hibernate")["possible"]?["value"] == false)
        #expect(back["possible"] == true)
    }

    @Test func aQuotedValueIsIgnoredAndReported() throws {
        let fact = try hibernation {
            $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation='no'\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n")
        }
        #expect(
            fact["ignored"] == [
                "/etc/systemd/sleep.conf:2: AllowHibernation='no' is not a boolean (values are not unquoted); systemd ignores it"
            ])
        #expect(fact["settings"]?["AllowHibernation"] == nil)
        #expect(try operation(fact, "hibernate")["possible"] == ["value": true, "source": "default (systemd)"])
    }

    @Test func otherSectionsDoNotCount() throws {
        let fact = try hibernation {
            $0.file("etc/systemd/sleep.conf", "[Login]\nAllowHibernation=no\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n")
        }
        #expect(fact["settings"] == [:])
        #expect(fact["possible"] == true)
    }

    @Test func aLaterDropInWinsAndAnEarlierDirectoryMasksTheSameName() throws {
        // 90 in /etc disallows; a later-named 95 in /usr/lib allows again: the later one wins.
        let fact = try hibernation {
            $0.file("etc/systemd/sleep.conf.d/90-no.conf", Self.disallowAll)
            $0.file("usr/lib/systemd/sleep.conf.d/95-vendor.conf", "[Sleep]\nAllowHibernation=yes\n")
        }
        #expect(
            try operation(fact, "hibernate")["possible"] == ["value": true, "source": "/usr/lib/systemd/sleep.conf.d/95-vendor.conf:2"])
        #expect(fact["possible"] == true)
        // The same name in /etc masks the vendor file altogether (here linked to /dev/null).
        let masked = try hibernation {
            $0.file("etc/systemd/sleep.conf.d/90-no.conf", Self.disallowAll)
            $0.file("usr/lib/systemd/sleep.conf.d/95-vendor.conf", "[Sleep]\nAllowHibernation=yes\n")
            $0.symlink("etc/systemd/sleep.conf.d/95-vendor.conf", to: "/dev/null")
        }
        #expect(
            masked["files"] == [
                ["path": "/etc/systemd/sleep.conf.d/90-no.conf", "masked": false],
                ["path": "/etc/systemd/sleep.conf.d/95-vendor.conf", "masked": true],
            ])
        #expect(masked["possible"] == false)
    }

    @Test func maskedTargetsMakeHibernationImpossible() throws {
        let partly = try hibernation { $0.symlink("etc/systemd/system/hibernate.target", to: "/dev/null") }
        #expect(try operation(partly, "hibernate")["target_masked"] == true)
        #expect(try operation(partly, "hybrid-sleep")["possible"]?["value"] == true)
        #expect(partly["possible"] == true)
        let all = try hibernation {
            for t in ["hibernate", "hybrid-sleep", "suspend-then-hibernate"] {
                $0.symlink("etc/systemd/system/\(t).target", to: "/dev/null")
            }
        }
        #expect(
            try operation(all, "hibernate")["possible"] == ["value": false, "source": "/etc/systemd/system/hibernate.target → /dev/null"])
        #expect(all["possible"] == false)
        let sleep = try hibernation { $0.symlink("etc/systemd/system/sleep.target", to: "/dev/null") }
        #expect(sleep["sleep_target_masked"] == true)
        #expect(sleep["possible"] == false)
    }

    @Test func resumeOnTheCommandLine() throws {
        let fact = try hibernation({ _ in }, cmdline: "root=/dev/sda1 resume=UUID=0a1b2c3d ro\n")
        #expect(
            fact["resume"] == [["source": "/proc/cmdline", "value": "UUID=0a1b2c3d", "noresume": false, "configured": true]])
        let off = try hibernation({ _ in }, cmdline: "root=/dev/sda1 resume=UUID=0a1b2c3d noresume\n")
        #expect(off["resume"]?[0]?["noresume"] == true)
        #expect(off["resume"]?[0]?["configured"] == false)
        let none = try hibernation { _ in }
        #expect(none["resume"] == [["source": "/proc/cmdline", "value": nil, "noresume": false, "configured": false]])
    }

    /// Debian's initramfs resumes from initramfs-tools' RESUME with no resume= on the command
    /// line; unset, it picks the largest swap device; only RESUME=none or noresume stops it.
    @Test func initramfsToolsResumeCountsWithoutResumeOnTheCommandLine() throws {
        let set = try hibernation { $0.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n") }
        #expect(set["resume"]?.arrayValue?.count == 2)
        let item = try #require(set["resume"]?.arrayValue?.last)
        #expect(item["source"] == "initramfs-tools RESUME (/etc/initramfs-tools/conf.d/resume:1)")
        #expect(item["value"] == "UUID=0a1b2c3d")
        #expect(item["configured"] == true)
        // Unset, with the hook installed: the largest swap device, chosen at update-initramfs.
        let auto = try #require(
            try hibernation { $0.file("usr/share/initramfs-tools/hooks/resume", "#!/bin/sh\n") }["resume"]?.arrayValue?.last)
        #expect(auto["value"] == .null)
        #expect(auto["meaning"]?.stringValue?.contains("largest swap device") == true)
        #expect(auto["configured"] == true)
        // A later conf.d file wins; quotes are the shell's.
        let later = try #require(
            try hibernation {
                $0.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n")
                $0.file("etc/initramfs-tools/conf.d/zz-off", "RESUME=\"none\"\n")
            }["resume"]?.arrayValue?.last)
        #expect(later["value"] == "none")
        #expect(later["configured"] == false)
        let noresume = try #require(
            try hibernation(
                { $0.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n") }, cmdline: "root=/dev/sda1 ro noresume\n"
            )["resume"]?.arrayValue?.last)
        #expect(noresume["configured"] == false)
        #expect(noresume["meaning"] == "noresume on the command line stops it")
        // Without initramfs-tools, nothing but the command line counts.
        #expect(try hibernation { _ in }["resume"]?.arrayValue?.count == 1)
    }

    @Test func offlineResumeFromGrubDefaults() throws {
        let grub = try hibernation(
            { $0.file("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"resume=/dev/sda2\"\n") }, cmdline: nil
        )
        #expect(grub["resume"]?[0]?["source"] == "/etc/default/grub")
        #expect(grub["resume"]?[0]?["value"] == "/dev/sda2")
        #expect(grub["resume"]?[0]?["configured"] == true)
        let nothing = try hibernation({ _ in }, cmdline: nil)
        #expect(
            nothing["resume"] == [
                [
                    "source": "kernel command line",
                    "not_checked": "no /proc/cmdline, /etc/default/grub, /etc/kernel/cmdline or initramfs-tools in the offline root",
                ]
            ])
    }

    // MARK: - Control tests: ENC-005 over canned swap facts

    /// A swap area as the probe describes it: a partition, zram, or one on dm-crypt.
    static func area(
        _ path: String = "/dev/dm-0", zram: Bool = false, encrypted: Bool = true, randomKey: Bool = true, source: String = "/proc/swaps:2"
    ) -> JSON {
        [
            "path": .string(path), "type": "partition", "source": .string(source), "zram": .bool(zram), "disk_backed": .bool(!zram),
            "encrypted": ["value": .bool(encrypted), "source": .string(source)],
            "random_key": ["value": .bool(randomKey), "source": randomKey ? "/etc/crypttab:1" : "no /etc/crypttab line for this mapping"],
            "encryption": "canned", "devices": zram ? [] : ["dm-0", "sda2"],
        ]
    }

    static func swapFact(_ entries: [JSON], allMemoryOrEncrypted: Bool? = nil) -> JSON {
        var o: JSONObject = ["source": "/proc/swaps", "runtime": true, "entries": .array(entries)]
        let all = allMemoryOrEncrypted ?? entries.allSatisfy { $0["zram"] == true || $0["encrypted"]?["value"] == true }
        o["all_memory_or_encrypted"] = ["value": .bool(all), "source": "/proc/swaps"]
        return .object(o)
    }

    typealias Row = (name: String, facts: [String: JSON], sl3: Status, sl4: Status, summaries: [String: String])

    static let enc005Table: [Row] = [
        ("no swap", ["swap": swapFact([])], .pass, .pass, ["sl3": "no swap is active or configured"]),
        ("zram", ["swap": swapFact([area("/dev/zram0", zram: true, encrypted: false, randomKey: false)])], .pass, .pass, [:]),
        ("dm-crypt with a random key", ["swap": swapFact([area()])], .pass, .pass, [:]),
        (
            "dm-crypt with a stored key", ["swap": swapFact([area(randomKey: false)])], .pass, .fail,
            ["sl4": "/dev/dm-0: dm-crypt swap with a random key is false"]
        ),
        (
            "a plain partition", ["swap": swapFact([area("/dev/sda2", encrypted: false, randomKey: false)])], .fail, .fail,
            ["sl3": "/dev/sda2: swap on encrypted storage is false", "sl4": "/dev/sda2: swap on encrypted storage is false"]
        ),
        (
            "zram beside a plain partition",
            [
                "swap": swapFact([
                    area("/dev/zram0", zram: true, encrypted: false, randomKey: false),
                    area("/dev/sda2", encrypted: false, randomKey: false),
                ])
            ],
            .fail, .fail, [:]
        ),
        (
            "a configured entry offline",
            ["swap": swapFact([area("/dev/sda2", encrypted: false, randomKey: false, source: "/etc/fstab:3")])],
            .fail, .fail, ["sl3": "/dev/sda2: swap on encrypted storage is false"]
        ),
        (
            "an entry whose device cannot be walked offline",
            [
                "swap": [
                    "source": "/proc/swaps", "runtime": true,
                    "entries": [
                        [
                            "path": "/dev/sda2", "type": "partition", "source": "/proc/swaps:2",
                            "not_checked": "/sys/class/block/sda2 does not exist (offline root)",
                        ]
                    ],
                ]
            ], .notChecked, .notChecked, ["sl3": "/dev/sda2: /sys/class/block/sda2 does not exist (offline root)"]
        ),
    ]

    @Test(arguments: SwapHibernationTests.enc005Table.indices)
    func enc005OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-005", Self.enc005Table[row]) }

    @Test func enc005WithoutAnySwapFactIsNotChecked() throws {
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding(
                "ENC-005", profile: profile, facts: [:],
                unavailable: ["swap": .notChecked("neither /proc/swaps nor /etc/fstab exists (offline root)")])
            #expect(f.status == .notChecked, "\(profile): \(f.summary)")
            #expect(f.summary.contains("neither /proc/swaps nor /etc/fstab exists"), "\(f.summary)")
        }
    }

    // MARK: - Control tests: ENC-006 over canned hibernation and swap facts

    /// The hibernation fact: each operation possible or not (by sleep.conf, default or a mask),
    /// and where a resume device is configured.
    static func hibernationFact(possible: [String] = [], resume: [JSON] = [resumeItem()]) -> JSON {
        let operations: [JSON] = ["hibernate", "hybrid-sleep", "suspend-then-hibernate"].map { name in
            let on = possible.contains(name)
            let source: JSON = on ? "default (systemd)" : "/etc/systemd/sleep.conf.d/90-no-hibernate.conf:2"
            return [
                "name": .string(name), "allowed": ["value": .bool(on), "source": source], "target": .string(name + ".target"),
                "target_masked": false, "possible": ["value": .bool(on), "source": source],
            ]
        }
        return [
            "source": "/etc/systemd/sleep.conf", "files": [], "settings": [:], "ignored": [], "operations": .array(operations),
            "sleep_target_masked": false, "possible": .bool(!possible.isEmpty), "resume": .array(resume),
        ]
    }

    static func resumeItem(_ source: String = "/proc/cmdline", value: String? = nil, configured: Bool = false) -> JSON {
        ["source": .string(source), "value": value.map { .string($0) } ?? .null, "noresume": false, "configured": .bool(configured)]
    }

    static let noSwap = swapFact([])
    static let plainSwap = swapFact([area("/dev/sda2", encrypted: false, randomKey: false)])
    static let resumeOnCmdline = resumeItem(value: "UUID=0a1b2c3d", configured: true)

    static let enc006Table: [Row] = [
        ("nothing possible, no resume=", ["hibernation": hibernationFact(), "swap": plainSwap], .pass, .pass, [:]),
        (
            "systemd's defaults",
            ["hibernation": hibernationFact(possible: ["hibernate", "hybrid-sleep", "suspend-then-hibernate"]), "swap": noSwap],
            .fail, .fail, ["sl3": "hibernate: possible is true"]
        ),
        (
            "hybrid sleep alone", ["hibernation": hibernationFact(possible: ["hybrid-sleep"]), "swap": noSwap], .fail, .fail,
            ["sl3": "hybrid-sleep: possible is true"]
        ),
        (
            "resume= with unencrypted swap", ["hibernation": hibernationFact(resume: [resumeOnCmdline]), "swap": plainSwap], .fail, .fail,
            ["sl3": "/proc/cmdline: resume= (resume from a hibernation image) is true"]
        ),
        // With no swap at all (hence none unencrypted), resume= points at nothing that can leak.
        ("resume= without swap", ["hibernation": hibernationFact(resume: [resumeOnCmdline]), "swap": noSwap], .pass, .pass, [:]),
        (
            "initramfs-tools RESUME with unencrypted swap",
            [
                "hibernation": hibernationFact(resume: [
                    resumeItem(),
                    resumeItem("initramfs-tools RESUME (/etc/initramfs-tools/conf.d/resume:1)", value: "UUID=0a1b2c3d", configured: true),
                ]), "swap": plainSwap,
            ], .fail, .fail, ["sl3": "initramfs-tools RESUME (/etc/initramfs-tools/conf.d/resume:1)"]
        ),
        (
            "no kernel command line offline",
            [
                "hibernation": hibernationFact(resume: [
                    [
                        "source": "kernel command line",
                        "not_checked": "no /proc/cmdline, /etc/default/grub, /etc/kernel/cmdline or initramfs-tools in the offline root",
                    ]
                ]), "swap": noSwap,
            ], .notChecked, .notChecked, ["sl3": "no /proc/cmdline"]
        ),
        // A Debian install's swap (UUID= in fstab) resolves only on the running system: with
        // resume= configured, hibernation is undecided, not an error.
        (
            "resume= with swap that cannot be resolved offline",
            [
                "hibernation": hibernationFact(resume: [resumeOnCmdline]),
                "swap": [
                    "source": "/etc/fstab", "runtime": false,
                    "entries": [
                        [
                            "path": "UUID=0a1b2c3d", "type": "configured", "source": "/etc/fstab:3",
                            "not_checked": "UUID=0a1b2c3d needs the running system to resolve",
                        ]
                    ],
                    "all_memory_or_encrypted": [
                        "not_checked": "UUID=0a1b2c3d: UUID=0a1b2c3d needs the running system to resolve", "source": "/etc/fstab",
                    ],
                ],
            ], .notChecked, .notChecked, ["sl3": "UUID=0a1b2c3d needs the running system to resolve"]
        ),
    ]

    @Test(arguments: SwapHibernationTests.enc006Table.indices)
    func enc006OverATableOfFacts(_ row: Int) throws { try evaluate("ENC-006", Self.enc006Table[row]) }

    func evaluate(_ control: String, _ row: Row) throws {
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let f = try cannedFinding(control, profile: profile, facts: row.facts)
            #expect(f.status == expected, "\(control) \(profile) \(row.name): \(f.summary)")
            if let summary = row.summaries[profile] {
                #expect(f.summary.contains(summary), "\(control) \(profile) \(row.name): \(f.summary)")
            }
        }
    }
}
