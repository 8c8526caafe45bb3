import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// ENC-005 (swap) and ENC-006 (hibernation).
@Suite struct SwapHibernationTests {
    func swap(_ root: String, profile: String = "sl3") throws -> (FactSet, Finding) {
        let r = try audit(root: root, profile: profile, site: nil, probes: [SwapProbe()])
        return (r.facts, r.findings["ENC-005"])
    }

    @Test func zramPassesSL3AndSL4() throws {
        let (facts, f) = try swap(Package.fixtureRoot("swap-zram"))
        #expect(f.status == .pass)
        let entry = try #require(try factValue(facts, "swap")["entries"]?.arrayValue?.first)
        #expect(entry["zram"] == true)
        #expect(entry["source"] == "/proc/swaps:2")
        #expect(try swap(Package.fixtureRoot("swap-zram"), profile: "sl4").1.status == .pass)
    }

    @Test func plainPartitionFails() throws {
        let (facts, f) = try swap(Package.fixtureRoot("swap-plain-partition"))
        #expect(f.status == .fail)
        #expect(f.summary.contains("/dev/sda2: swap on encrypted storage is false"))
        #expect(f.evidence.contains { $0.source == "/proc/swaps:2" && $0.observed == false })
        #expect(try factValue(facts, "swap")["all_memory_or_encrypted"]?["value"] == false)
    }

    @Test func dmCryptWithARandomKeyPassesSL4() throws {
        let (facts, f) = try swap(Package.fixtureRoot("swap-dm-crypt-random-key"))
        #expect(f.status == .pass)
        let entry = try #require(try factValue(facts, "swap")["entries"]?.arrayValue?.first)
        #expect(entry["random_key"]?["source"] == "/etc/crypttab:1")
        #expect(entry["devices"] == ["dm-0", "sda2"])
        let sl4 = try swap(Package.fixtureRoot("swap-dm-crypt-random-key"), profile: "sl4").1
        #expect(sl4.status == .pass)
    }

    @Test func dmCryptWithAStoredKeyPassesSL3NotSL4() throws {
        let tree = TempTree()
        tree.copy(fixture: "swap-dm-crypt-random-key")
        tree.file("etc/crypttab", "cryptswap PARTUUID=5c0ffee0-02 none luks,discard\n")
        tree.file("sys/devices/virtual/block/dm-0/dm/uuid", "CRYPT-LUKS2-0123456789abcdef0123456789abcdef-cryptswap\n")
        #expect(try swap(tree.path).1.status == .pass)
        let sl4 = try swap(tree.path, profile: "sl4").1
        #expect(sl4.status == .fail)
        #expect(sl4.summary.contains("/dev/dm-0: dm-crypt swap with a random key is false"))
    }

    @Test func noSwapPasses() throws {
        let f = try swap(Package.fixtureRoot("weights-lvm-on-luks")).1
        #expect(f.status == .pass)
        #expect(f.summary == "no swap is active or configured")
    }

    @Test func swapFileJudgedByItsFilesystem() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("swapfile", "")
        tree.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swapfile                               file\t2097148\t0\t-2\n")
        #expect(try swap(tree.path).1.status == .pass)
        #expect(try swap(tree.path, profile: "sl4").1.status == .fail)
    }

    @Test func missingSysEntryOfflineIsNotChecked() throws {
        let tree = TempTree()
        tree.copy(fixture: "swap-plain-partition")
        _ = run("/bin/rm", ["-rf", tree.path + "/sys"])
        let f = try swap(tree.path).1
        #expect(f.status == .notChecked)
        #expect(f.summary == "/dev/sda2: /sys/class/block/sda2 does not exist (offline root)")
    }

    @Test(arguments: [
        // fstab line, crypttab, expected status at SL3, SL4
        (
            "/dev/mapper/cryptswap none swap sw 0 0", "cryptswap /dev/sda2 /dev/urandom swap,cipher=aes-xts-plain64,size=512", Status.pass,
            Status.pass
        ),
        ("/dev/mapper/cryptswap none swap sw 0 0", "cryptswap /dev/sda2 none luks", .pass, .fail),
        ("/dev/sda2 none swap sw 0 0", "", .fail, .fail),
        ("/dev/zram0 none swap defaults,pri=100 0 0", "", .pass, .pass),
        ("UUID=0a1b2c3d-0000-4000-8000-000000000002 none swap sw 0 0", "", .notChecked, .notChecked),
        ("/dev/mapper/vg0-swap none swap sw 0 0", "", .notChecked, .notChecked),
        // A swap file on / (a raw partition here) is as plain as its filesystem.
        ("/swapfile none swap sw 0 0", "", .fail, .fail),
        ("/swap/file none swap sw 0 0\n/dev/mapper/data_crypt /swap ext4 defaults 0 2", "data_crypt /dev/sdb1 none luks", .pass, .fail),
    ])
    func offlineFromFstabAndCrypttab(fstab: String, crypttab: String, sl3: Status, sl4: Status) throws {
        let tree = TempTree()
        tree.file("etc/fstab", "# static file system information\n/dev/sda1 / ext4 errors=remount-ro 0 1\n\(fstab)\n")
        if !crypttab.isEmpty { tree.file("etc/crypttab", crypttab + "\n") }
        let f = try swap(tree.path).1
        #expect(f.status == sl3, "\(f.summary)")
        #expect(try swap(tree.path, profile: "sl4").1.status == sl4)
        if sl3 != .notChecked { #expect(f.evidence.contains { $0.source.hasPrefix("/etc/fstab:3") }) }
    }

    @Test func offlineWithoutFstabIsNotChecked() throws {
        let tree = TempTree()
        tree.directory("etc")
        let f = try swap(tree.path).1
        #expect(f.status == .notChecked)
        #expect(f.summary.contains("neither /proc/swaps nor /etc/fstab exists"))
    }

    // MARK: Hibernation

    func hibernation(_ build: (TempTree) -> Void, cmdline: String? = "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n") throws -> (
        JSON, Finding
    ) {
        let tree = TempTree()
        tree.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n")
        if let cmdline { tree.file("proc/cmdline", cmdline) }
        build(tree)
        let r = try audit(root: tree.path, site: nil, probes: [SwapProbe(), HibernationProbe()])
        return (try factValue(r.facts, "hibernation"), r.findings["ENC-006"])
    }

    static let disallowAll = "[Sleep]\nAllowHibernation=no\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n"

    @Test func defaultsAllowHibernation() throws {
        let (fact, f) = try hibernation { _ in }
        #expect(f.status == .fail)
        #expect(f.summary.contains("hibernate: possible is true"))
        #expect(f.evidence.contains { $0.source == "default (systemd)" })
        #expect(fact["possible"] == true)
    }

    @Test func dropInDisallowsEverything() throws {
        let (_, f) = try hibernation { $0.file("etc/systemd/sleep.conf.d/90-no-hibernate.conf", Self.disallowAll) }
        #expect(f.status == .pass, "\(f.summary)")
        #expect(f.evidence.contains { $0.source == "/etc/systemd/sleep.conf.d/90-no-hibernate.conf:2" })
    }

    @Test func disallowingHibernateAloneAlsoDisablesTheDerivedDefaults() throws {
        // AllowHybridSleep and AllowSuspendThenHibernate default to AllowSuspend && AllowHibernation.
        let (fact, f) = try hibernation { $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation=no\n") }
        #expect(f.status == .pass, "\(f.summary)")
        let hybrid = try #require(fact["operations"]?.arrayValue?.first { $0["name"] == "hybrid-sleep" })
        #expect(hybrid["allowed"]?["source"]?.stringValue?.contains("/etc/systemd/sleep.conf:2") == true)
        // An explicit AllowHybridSleep=yes brings hybrid sleep back.
        let (_, g) = try hibernation { $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation=no\nAllowHybridSleep=yes\n") }
        #expect(g.status == .fail)
        #expect(g.summary.contains("hybrid-sleep: possible is true"))
    }

    @Test func quotedValueIsIgnoredAndReported() throws {
        let (fact, f) = try hibernation {
            $0.file("etc/systemd/sleep.conf", "[Sleep]\nAllowHibernation='no'\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n")
        }
        #expect(f.status == .fail)
        #expect(f.summary.contains("hibernate: possible is true"))
        #expect(
            fact["ignored"] == [
                "/etc/systemd/sleep.conf:2: AllowHibernation='no' is not a boolean (values are not unquoted); systemd ignores it"
            ])
    }

    @Test func otherSectionsDoNotCount() throws {
        let (_, f) = try hibernation {
            $0.file("etc/systemd/sleep.conf", "[Login]\nAllowHibernation=no\nAllowHybridSleep=no\nAllowSuspendThenHibernate=no\n")
        }
        #expect(f.status == .fail)
    }

    @Test func laterDropInWinsAndEarlierDirectoryMasksSameName() throws {
        // 90 in /etc disallows; a later-named 95 in /usr/lib allows again: the later one wins.
        let (_, f) = try hibernation {
            $0.file("etc/systemd/sleep.conf.d/90-no.conf", Self.disallowAll)
            $0.file("usr/lib/systemd/sleep.conf.d/95-vendor.conf", "[Sleep]\nAllowHibernation=yes\n")
        }
        #expect(f.status == .fail)
        #expect(f.evidence.contains { $0.source == "/usr/lib/systemd/sleep.conf.d/95-vendor.conf:2" })
        // The same name in /etc masks the vendor file altogether (here linked to /dev/null).
        let (fact, g) = try hibernation {
            $0.file("etc/systemd/sleep.conf.d/90-no.conf", Self.disallowAll)
            $0.file("usr/lib/systemd/sleep.conf.d/95-vendor.conf", "[Sleep]\nAllowHibernation=yes\n")
            $0.symlink("etc/systemd/sleep.conf.d/95-vendor.conf", to: "/dev/null")
        }
        #expect(g.status == .pass, "\(g.summary)")
        #expect(
            fact["files"]?.arrayValue?.contains { $0["path"] == "/etc/systemd/sleep.conf.d/95-vendor.conf" && $0["masked"] == true } == true
        )
    }

    @Test func maskedTargetsMakeHibernationImpossible() throws {
        let (_, partly) = try hibernation { $0.symlink("etc/systemd/system/hibernate.target", to: "/dev/null") }
        #expect(partly.status == .fail)
        #expect(partly.summary.contains("hybrid-sleep: possible is true"))
        let (_, f) = try hibernation {
            for t in ["hibernate", "hybrid-sleep", "suspend-then-hibernate"] {
                $0.symlink("etc/systemd/system/\(t).target", to: "/dev/null")
            }
        }
        #expect(f.status == .pass)
        #expect(f.evidence.contains { $0.source == "/etc/systemd/system/hibernate.target → /dev/null" })
        let (_, s) = try hibernation { $0.symlink("etc/systemd/system/sleep.target", to: "/dev/null") }
        #expect(s.status == .pass)
    }

    @Test func resumeOnTheCommandLineFailsUnlessSwapIsEncrypted() throws {
        let disallow: (TempTree) -> Void = { $0.file("etc/systemd/sleep.conf", Self.disallowAll) }
        let (_, f) = try hibernation(
            { t in
                disallow(t)
                t.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 8388604 0 -2\n")
                t.directory("sys/class/block/sda2")
            }, cmdline: "root=/dev/sda1 resume=UUID=0a1b2c3d ro\n")
        #expect(f.status == .fail)
        #expect(f.summary.contains("/proc/cmdline: resume= (resume from a hibernation image) is true"))
        // With no swap at all (hence none unencrypted), resume= points at nothing that can leak.
        let (_, g) = try hibernation(disallow, cmdline: "root=/dev/sda1 resume=UUID=0a1b2c3d ro\n")
        #expect(g.status == .pass)
        let (_, h) = try hibernation(disallow, cmdline: "root=/dev/sda1 resume=UUID=0a1b2c3d noresume\n")
        #expect(h.status == .pass)
    }

    /// Debian's initramfs resumes from initramfs-tools' RESUME with no resume= on the command
    /// line; unset, it picks the largest swap device; only RESUME=none or noresume stops it.
    @Test func initramfsToolsResumeCountsWithoutResumeOnTheCommandLine() throws {
        let unencryptedSwap: (TempTree) -> Void = { t in
            t.file("etc/systemd/sleep.conf", Self.disallowAll)
            t.file("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/sda2 partition 8388604 0 -2\n")
            t.directory("sys/class/block/sda2")
        }
        let (fact, f) = try hibernation { t in
            unencryptedSwap(t)
            t.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n")
        }
        #expect(f.status == .fail, "\(f.summary)")
        #expect(f.summary.contains("initramfs-tools RESUME (/etc/initramfs-tools/conf.d/resume:1)"), "\(f.summary)")
        #expect(fact["resume"]?.arrayValue?.last?["value"] == "UUID=0a1b2c3d")
        // Unset, with the hook installed: the largest swap device, chosen at update-initramfs.
        let (auto, g) = try hibernation { t in
            unencryptedSwap(t)
            t.file("usr/share/initramfs-tools/hooks/resume", "#!/bin/sh\n")
        }
        #expect(g.status == .fail, "\(g.summary)")
        #expect(auto["resume"]?.arrayValue?.last?["meaning"]?.stringValue?.contains("largest swap device") == true)
        // A later conf.d file wins; quotes are the shell's.
        let (_, h) = try hibernation { t in
            unencryptedSwap(t)
            t.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n")
            t.file("etc/initramfs-tools/conf.d/zz-off", "RESUME=\"none\"\n")
        }
        #expect(h.status == .pass, "\(h.summary)")
        let (_, i) = try hibernation(
            { t in
                unencryptedSwap(t)
                t.file("etc/initramfs-tools/conf.d/resume", "RESUME=UUID=0a1b2c3d\n")
            }, cmdline: "root=/dev/sda1 ro noresume\n")
        #expect(i.status == .pass, "\(i.summary)")
        // Without initramfs-tools, nothing but the command line counts.
        let (none, j) = try hibernation(unencryptedSwap)
        #expect(j.status == .pass, "\(j.summary)")
        #expect(none["resume"]?.arrayValue?.count == 1)
    }

    @Test func offlineResumeFromGrubDefaults() throws {
        let (fact, f) = try hibernation(
            { t in
                t.file("etc/systemd/sleep.conf", Self.disallowAll)
                t.file("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"resume=/dev/sda2\"\n")
                _ = run("/bin/rm", ["-f", t.path + "/proc/swaps"])
                t.file("etc/fstab", "/dev/sda2 none swap sw 0 0\n")
            }, cmdline: nil)
        #expect(f.status == .fail)
        #expect(fact["resume"]?.arrayValue?.first?["source"] == "/etc/default/grub")
        let (_, g) = try hibernation({ $0.file("etc/systemd/sleep.conf", Self.disallowAll) }, cmdline: nil)
        #expect(g.status == .notChecked)
        #expect(g.summary.contains("no /proc/cmdline"), "\(g.summary)")
    }
}
