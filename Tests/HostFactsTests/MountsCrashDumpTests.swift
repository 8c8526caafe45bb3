import HostFacts
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// The `mounts`, `crash_dump` and `cmdline` facts of small trees, and HRD-006 (crash dumps),
/// HRD-008 (hidepid, debugfs) and HRD-009 (temporary areas) over tables of canned facts.
@Suite struct MountsCrashDumpTests {
    // MARK: - Probe tests

    func mounts(_ tree: TempTree) throws -> JSON { try probeFact("mounts", of: MountsProbe(), root: tree.path) }
    func crashDump(_ tree: TempTree) throws -> JSON { try probeFact("crash_dump", of: CrashDumpProbe(), root: tree.path) }
    func cmdline(_ tree: TempTree) throws -> JSON { try probeFact("cmdline", of: KernelCmdlineProbe(), root: tree.path) }

    func mountinfo(_ tree: TempTree, _ lines: [String]) {
        tree.file("proc/self/mountinfo", lines.enumerated().map { "\($0.offset + 20) 1 \($0.element)" }.joined(separator: "\n") + "\n")
        tree.directory("sys/kernel")
    }

    let proc = "0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,hidepid=invisible"
    let root = "0:30 / / rw,relatime shared:1 - tmpfs rootfs rw"
    func tmpfs(_ path: String, _ options: String) -> String { "0:4\(path.count) / \(path) rw,\(options) shared:5 - tmpfs tmpfs rw" }

    @Test func temporaryAreasOnTmpfsWithTheirOptions() throws {
        let tree = TempTree()
        for p in ["tmp", "var/tmp", "dev/shm"] { tree.directory(p) }
        mountinfo(tree, [root, proc, tmpfs("/tmp", "nosuid,nodev"), tmpfs("/var/tmp", "nosuid,nodev"), tmpfs("/dev/shm", "nosuid,nodev")])
        let areas = try #require(try mounts(tree)["tmp_areas"]?.arrayValue)
        #expect(areas.map { $0["path"] } == ["/tmp", "/var/tmp", "/dev/shm"])
        #expect(areas.first?["source"] == "/proc/self/mountinfo:3 (/tmp, tmpfs)")
        #expect(areas.map { $0["memory_or_encrypted"] } == [true, true, true])
        #expect(areas.map { $0["nosuid"] } == [true, true, true])
        #expect(areas.map { $0["nodev"] } == [true, true, true])
        #expect(areas.map { $0["noexec"] } == [false, false, false])
        mountinfo(
            tree,
            [
                root, proc, tmpfs("/tmp", "nosuid,nodev,noexec"), tmpfs("/var/tmp", "nosuid,nodev,noexec"),
                tmpfs("/dev/shm", "nosuid,noexec"),
            ])
        let again = try #require(try mounts(tree)["tmp_areas"]?.arrayValue)
        #expect(again.map { $0["noexec"] } == [true, true, true])
        #expect(again.map { $0["nodev"] } == [true, true, false])
    }

    @Test func aTemporaryAreaOnAnUnresolvableDiskIsNotCheckedOffline() throws {
        let tree = TempTree()
        for p in ["tmp", "var/tmp", "dev/shm"] { tree.directory(p) }
        mountinfo(
            tree,
            ["8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw", proc, tmpfs("/tmp", "nosuid,nodev"), tmpfs("/dev/shm", "nosuid,nodev")])
        let areas = try #require(try mounts(tree)["tmp_areas"]?.arrayValue)
        // /var/tmp lies on /dev/sda1, whose /sys entry the offline root lacks.
        #expect(areas[1]["path"] == "/var/tmp")
        #expect(areas[1]["not_checked"]?.stringValue?.contains("does not exist (offline root)") == true, "\(areas[1])")
        #expect(areas[1]["nodev"] == nil)
        #expect(areas[0]["memory_or_encrypted"] == true)
    }

    @Test func hidepidAndDebugfs() throws {
        let tree = TempTree()
        mountinfo(tree, [root, proc])
        let hidden = try mounts(tree)
        #expect(hidden["proc_hidepid"] == ["value": true, "source": "/proc/self/mountinfo:2 (hidepid=invisible)"])
        #expect(hidden["debugfs_mounted"] == ["value": false, "source": "/proc/self/mountinfo (no debugfs mount)"])
        mountinfo(
            tree,
            [
                root, "0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
                "0:7 / /sys/kernel/debug rw,nosuid,nodev,noexec,relatime shared:8 - debugfs debugfs rw",
            ])
        let open = try mounts(tree)
        #expect(open["proc_hidepid"] == ["value": false, "source": "/proc/self/mountinfo:2 (hidepid=unset)"])
        #expect(open["debugfs_mounted"] == ["value": true, "source": "/proc/self/mountinfo:3 (/sys/kernel/debug)"])
        // Without a proc mount, hidepid cannot be known.
        mountinfo(tree, [root])
        #expect(try mounts(tree)["proc_hidepid"]?["error"] == "no proc mount on /proc in the mount table")
    }

    @Test func aCrashKernelOnTheCommandLine() throws {
        let tree = TempTree()
        mountinfo(tree, [root, proc])
        tree.file("proc/cmdline", "root=/dev/sda1 ro quiet\n")
        tree.file("sys/kernel/kexec_crash_loaded", "0\n")
        let idle = try crashDump(tree)
        #expect(idle["crash_kernel_loaded"] == ["value": false, "source": "/sys/kernel/kexec_crash_loaded"])
        #expect(idle["dump_target_encrypted"] == ["value": false, "source": "no kdump configuration (kdump-tools or kdump.conf)"])
        #expect(try cmdline(tree)["parameters"]?["crashkernel"] == nil)
        tree.file("proc/cmdline", "root=/dev/sda1 ro crashkernel=512M\n")
        tree.file("sys/kernel/kexec_crash_loaded", "1\n")
        #expect(try crashDump(tree)["crash_kernel_loaded"] == ["value": true, "source": "/sys/kernel/kexec_crash_loaded"])
        #expect(try cmdline(tree)["parameters"]?["crashkernel"] == "512M")
    }

    @Test func kdumpsTargetDirectoryIsResolvedToItsStorage() throws {
        let tree = TempTree()
        tree.copy(fixture: "weights-lvm-on-luks")
        tree.file("proc/cmdline", "root=/dev/mapper/vg0-root ro crashkernel=512M\n")
        tree.file("etc/default/kdump-tools", "USE_KDUMP=1\nKDUMP_COREDIR=\"/srv/weights\"\n")
        let weights = try crashDump(tree)
        #expect(
            weights["dump_target_encrypted"] == [
                "value": true, "source": "/etc/default/kdump-tools:2 (/srv/weights: dm-crypt LUKS2 (/dev/sda3))",
            ])
        // The offline root's /sys has no /sys/kernel: whether a crash kernel is loaded now has no answer.
        #expect(weights["crash_kernel_loaded"]?["not_applicable"]?.stringValue != nil, "\(weights)")
        tree.file("etc/default/kdump-tools", "USE_KDUMP=1\nKDUMP_COREDIR=/var/crash\n")
        tree.directory("var/crash")
        // /var/crash is on the root volume, which in this fixture is LVM on LUKS too.
        let root = try crashDump(tree)
        #expect(root["dump_target_encrypted"]?["value"] == true)
        #expect(root["dump_target_encrypted"]?["source"]?.stringValue?.hasPrefix("/etc/default/kdump-tools:2 (/var/crash: ") == true)
    }

    // MARK: - Control tests

    typealias Row = (name: String, facts: [String: JSON], sl3: Status, sl4: Status, failing: Int?)

    func evaluate(_ control: String, _ row: Row) throws -> [String: Finding] {
        var out: [String: Finding] = [:]
        for (profile, expected) in [("sl3", row.sl3), ("sl4", row.sl4)] {
            let f = try cannedFinding(control, profile: profile, facts: row.facts)
            #expect(f.status == expected, "\(control) \(profile) \(row.name): \(f.summary)")
            if let failing = row.failing, expected == .fail {
                #expect(f.evidence.filter { $0.ok == false }.count == failing, "\(control) \(profile) \(row.name): \(f.evidence)")
            }
            out[profile] = f
        }
        return out
    }

    /// The temporary areas, each tmpfs with nosuid, nodev and noexec unless `changes` says
    /// otherwise for it.
    static func temporaryAreas(_ changes: [String: JSONObject] = [:]) -> JSON {
        var areas: [JSON] = []
        for (i, path) in MountsProbe.temporaryAreas.enumerated() {
            var o: JSONObject = [
                "path": .string(path), "source": .string("/proc/self/mountinfo:\(i + 3) (\(path), tmpfs)"), "memory_or_encrypted": true,
                "storage": "memory (tmpfs): not persistent", "nosuid": true, "nodev": true, "noexec": true,
            ]
            for (key, value) in changes[path] ?? [:] { o[key] = value }
            areas.append(.object(o))
        }
        return ["source": "/proc/self/mountinfo", "tmp_areas": .array(areas)]
    }

    static func mountsFact(hidepid: Bool = true, debugfs: Bool = false, areas: JSON = temporaryAreas()) -> JSON {
        var o = areas.objectValue ?? [:]
        o["proc_hidepid"] = ["value": .bool(hidepid), "source": "/proc/self/mountinfo:2 (hidepid=invisible)"]
        o["debugfs_mounted"] = ["value": .bool(debugfs), "source": "/proc/self/mountinfo (no debugfs mount)"]
        return .object(o)
    }

    static let hrd009Table: [Row] = [
        ("nosuid, nodev and noexec everywhere", ["mounts": mountsFact()], .pass, .pass, nil),
        (
            "no noexec: enough at SL3 only",
            [
                "mounts": mountsFact(
                    areas: temporaryAreas(["/tmp": ["noexec": false], "/var/tmp": ["noexec": false], "/dev/shm": ["noexec": false]]))
            ], .pass, .fail, 3
        ),
        ("/dev/shm without nodev", ["mounts": mountsFact(areas: temporaryAreas(["/dev/shm": ["nodev": false]]))], .fail, .fail, 1),
        ("/tmp without nosuid", ["mounts": mountsFact(areas: temporaryAreas(["/tmp": ["nosuid": false]]))], .fail, .fail, 1),
        (
            "/var/tmp on a plain disk",
            ["mounts": mountsFact(areas: temporaryAreas(["/var/tmp": ["memory_or_encrypted": false, "storage": "not encrypted"]]))], .fail,
            .fail, 1
        ),
        (
            "/var/tmp on a disk the offline root cannot resolve",
            [
                "mounts": mountsFact(areas: [
                    "source": "/proc/self/mountinfo",
                    "tmp_areas": [
                        [
                            "path": "/tmp", "source": "/proc/self/mountinfo:3 (/tmp, tmpfs)", "memory_or_encrypted": true, "nosuid": true,
                            "nodev": true, "noexec": true,
                        ],
                        ["path": "/var/tmp", "not_checked": "/sys/dev/block/8:1 does not exist (offline root)"],
                        [
                            "path": "/dev/shm", "source": "/proc/self/mountinfo:4 (/dev/shm, tmpfs)", "memory_or_encrypted": true,
                            "nosuid": true, "nodev": true, "noexec": true,
                        ],
                    ],
                ])
            ], .notChecked, .notChecked, nil
        ),
    ]

    @Test(arguments: MountsCrashDumpTests.hrd009Table.indices)
    func hrd009OverATableOfFacts(_ row: Int) throws {
        let findings = try evaluate("HRD-009", Self.hrd009Table[row])
        switch Self.hrd009Table[row].name {
        case "/dev/shm without nodev":
            #expect(findings["sl4"]?.evidence.contains { $0.ok == false && $0.subject == "/dev/shm" && $0.expected == "nodev" } == true)
        case "/var/tmp on a disk the offline root cannot resolve":
            #expect(findings["sl3"]?.summary.contains("/var/tmp") == true, "\(findings["sl3"]?.summary ?? "")")
        default: break
        }
    }

    static let hrd008Table: [Row] = [
        ("hidepid=invisible, no debugfs", ["mounts": mountsFact()], .pass, .pass, nil),
        ("hidepid unset", ["mounts": mountsFact(hidepid: false)], .fail, .fail, 1),
        ("debugfs mounted", ["mounts": mountsFact(debugfs: true)], .fail, .fail, 1),
        ("both", ["mounts": mountsFact(hidepid: false, debugfs: true)], .fail, .fail, 2),
        (
            "no proc mount",
            [
                "mounts": [
                    "source": "/proc/self/mountinfo",
                    "proc_hidepid": ["error": "no proc mount on /proc in the mount table", "source": "/proc/self/mountinfo"],
                    "debugfs_mounted": ["value": false, "source": "/proc/self/mountinfo (no debugfs mount)"], "tmp_areas": [],
                ]
            ], .error, .error, nil
        ),
    ]

    /// SL3 reports HRD-008 without deciding the verdict (advisory); SL4 decides.
    @Test(arguments: MountsCrashDumpTests.hrd008Table.indices)
    func hrd008OverATableOfFacts(_ row: Int) throws {
        let findings = try evaluate("HRD-008", Self.hrd008Table[row])
        #expect(findings["sl3"]?.advisory == true)
        #expect(findings["sl4"]?.advisory == false)
    }

    static func crashDumpFact(loaded: Bool = false, dumpEncrypted: Bool? = nil) -> JSON {
        [
            "source": "/sys/kernel/kexec_crash_loaded",
            "crash_kernel_loaded": ["value": .bool(loaded), "source": "/sys/kernel/kexec_crash_loaded"],
            "dump_target_encrypted": dumpEncrypted.map {
                ["value": .bool($0), "source": "/etc/default/kdump-tools:2 (/srv/weights: canned)"]
            }
                ?? ["value": false, "source": "no kdump configuration (kdump-tools or kdump.conf)"],
        ]
    }

    static func cmdlineFact(crashkernel: Bool) -> JSON {
        var parameters: JSONObject = ["root": "/dev/sda1", "ro": true]
        if crashkernel { parameters["crashkernel"] = "512M" }
        return [
            "text": crashkernel ? "root=/dev/sda1 ro crashkernel=512M" : "root=/dev/sda1 ro", "source": "/proc/cmdline", "runtime": true,
            "parameters": .object(parameters),
        ]
    }

    static let hrd006Table: [Row] = [
        ("no crash kernel", ["crash_dump": crashDumpFact(), "cmdline": cmdlineFact(crashkernel: false)], .pass, .pass, nil),
        (
            "crashkernel= and a crash kernel loaded, no kdump",
            ["crash_dump": crashDumpFact(loaded: true), "cmdline": cmdlineFact(crashkernel: true)],
            .fail, .fail, nil
        ),
        (
            "crashkernel= reserved, nothing loaded yet", ["crash_dump": crashDumpFact(), "cmdline": cmdlineFact(crashkernel: true)], .fail,
            .fail,
            nil
        ),
        (
            "kdump to encrypted storage: SL3 only",
            ["crash_dump": crashDumpFact(loaded: true, dumpEncrypted: true), "cmdline": cmdlineFact(crashkernel: true)], .pass, .fail, nil
        ),
        (
            "kdump to plain storage",
            ["crash_dump": crashDumpFact(loaded: true, dumpEncrypted: false), "cmdline": cmdlineFact(crashkernel: true)], .fail, .fail, nil
        ),
    ]

    @Test(arguments: MountsCrashDumpTests.hrd006Table.indices)
    func hrd006OverATableOfFacts(_ row: Int) throws {
        let findings = try evaluate("HRD-006", Self.hrd006Table[row])
        if Self.hrd006Table[row].name == "crashkernel= and a crash kernel loaded, no kdump" {
            #expect(findings["sl3"]?.evidence.contains { $0.ok == false && $0.source == "/sys/kernel/kexec_crash_loaded" } == true)
        }
    }
}
