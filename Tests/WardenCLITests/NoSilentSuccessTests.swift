import Evidence
import Glibc
import HostFacts
import LocalFiles
import Testing
import WardenCore
import WardenTestSupport

/// An audit that exits 0 without auditing is worse than none: a timer, a fleet job or CI reads 0
/// as "conformant". These tests break the environment around Warden (no /proc, unwritable or
/// full disks, signals, a second run) and check that it either does its job or says why not with
/// an exit code that is not 0, leaving the previous files as they were.
@Suite struct NoSilentSuccessTests {
    // MARK: - Arguments without /proc

    /// Runs `warden ARGUMENTS` in a private mount namespace whose /proc is an empty tmpfs (as in a
    /// minimal chroot or container), where Swift's `CommandLine.arguments` finds nothing.
    func wardenWithoutProc(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        run(
            "/usr/bin/unshare",
            [
                "-m", "/bin/sh", "-c", "mount -t tmpfs none /proc && test ! -e /proc/self && exec \"$@\"", "sh",
                Package.wardenBinary,
            ] + arguments)
    }

    @Test func auditVerifyAndBundleDoTheSameWithoutProc() throws {
        let fleet = try Fleet(count: 3)
        let signed = try SignedAudit()
        let cases: [[String]] = [
            [
                "audit", "--profile", "sl4", "--root", Package.fixtureRoot("host-conformant"), "--no-sign", "--format", "json", "--now",
                auditNow,
            ],
            ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign", "--now", auditNow],
            ["verify", signed.envelope, "--trust", signed.trust, "--now", reviewNow],
            ["verify", fleet.bundle, "--trust", fleet.trust, "--now", Fleet.later],
        ]
        for arguments in cases {
            let with = warden(arguments)
            let without = wardenWithoutProc(arguments)
            #expect(!with.stdout.hasPrefix("OVERVIEW:"), "\(arguments): \(with.stdout.prefix(200))")
            #expect(without.status == with.status, "\(arguments): \(without.stderr)")
            #expect(without.stdout == with.stdout, "\(arguments)")
        }
        // The audit's exit code is its verdict, not help's 0.
        #expect(wardenWithoutProc(cases[1]).status == 1)
        // A bundle made without /proc is the same bundle.
        let out = fleet.tree.path + "/bundle-without-proc"
        let made = wardenWithoutProc([
            "bundle", fleet.dir + "/findings", "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem",
            "--now", Fleet.now, "--output", out, "--inventory", fleet.dir + "/inventory.yaml",
        ])
        #expect(made.status == fleet.made.status, "\(made.stderr)")
        #expect(made.stdout == fleet.made.stdout.replacingFirst(fleet.bundle, with: out))
        #expect(try LocalFile.read(out + "/manifest.json") == LocalFile.read(fleet.bundle + "/manifest.json"))
        // Help is still help.
        let help = wardenWithoutProc(["--help"])
        #expect(help.status == 0 && help.stdout.hasPrefix("OVERVIEW:"))
        let bare = wardenWithoutProc(["audit", "--no-such-flag"])
        #expect(bare.status == 64, "\(bare.stderr)")
    }

    // MARK: - What cannot be written

    @Test func anUnwritableStateDirectoryOrOutputFailsNamingThePathAndChangesNothing() throws {
        let tree = TempTree()
        let state = tree.path + "/state"
        let first = warden(["audit", "--state-dir", state, "--format", "json"])
        try #require([0, 1, 2].contains(first.status), "\(first.stderr)")
        let before = try Snapshot(state)

        // --output in a directory that does not exist: nothing at all is written.
        let missingDir = tree.path + "/no/such/dir/out.dsse.json"
        let r1 = warden(["audit", "--state-dir", state, "--output", missingDir, "--metrics", tree.path + "/m.prom"])
        #expect(r1.status == 74, "\(r1.stderr)")
        #expect(r1.stderr.contains("warden: \(missingDir): error: cannot write: No such file or directory"), "\(r1.stderr)")
        #expect(try Snapshot(state) == before)
        #expect(access(tree.path + "/m.prom", F_OK) != 0)

        // --metrics where a directory is: the same.
        let dirInTheWay = tree.directory("metrics-dir")
        let r2 = warden(["audit", "--state-dir", state, "--metrics", dirInTheWay, "--output", tree.path + "/out.dsse.json"])
        #expect(r2.status == 74, "\(r2.stderr)")
        #expect(r2.stderr.contains(dirInTheWay), "\(r2.stderr)")
        #expect(try Snapshot(state) == before)
        #expect(access(tree.path + "/out.dsse.json", F_OK) != 0)
        #expect(LocalFile.list(tree.path).filter { $0.contains(".tmp-") }.isEmpty)

        // A state directory under a regular file.
        let file = tree.file("a-file", "x")
        let r3 = warden(["audit", "--state-dir", file + "/state"])
        #expect(r3.status == 74, "\(r3.stderr)")
        #expect(r3.stderr.contains("\(file)/state: error: --state-dir: Not a directory"), "\(r3.stderr)")

        // The state directory's findings/ is a file: the lock is taken, then writing fails.
        let odd = tree.path + "/odd"
        tree.file("odd/findings", "not a directory")
        let r4 = warden(["audit", "--state-dir", odd])
        #expect(r4.status == 74, "\(r4.stderr)")
        #expect(r4.stderr.contains("\(odd)/findings"), "\(r4.stderr)")
        #expect(access(odd + "/history", F_OK) != 0)
    }

    @Test func aRootThatCannotBeReadIsRefusedNotAuditedControlByControl() throws {
        let tree = TempTree()
        tree.copy(fixture: "sshd-hardened")
        chmod(tree.path, 0o700)
        // As an unprivileged user, whom the root's mode shuts out.
        let r = run(
            "/usr/bin/setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", Package.wardenBinary,
                "audit", "--root", tree.path, "--no-sign",
            ])
        #expect(r.status == 74, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(tree.path): error: --root: ") && r.stderr.contains("Permission denied"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let missing = warden(["audit", "--root", tree.path + "/nowhere", "--no-sign"])
        #expect(missing.status == 66, "\(missing.stderr)")
        let notADirectory = warden(["audit", "--root", tree.path + "/etc/hostname", "--no-sign"])
        #expect(notADirectory.status == 74 || notADirectory.status == 66, "\(notADirectory.stderr)")
        #expect(notADirectory.stderr.contains("--root"))
    }

    // MARK: - A full disk

    @Test func aFullDiskFailsClearlyAndLeavesThePreviousFilesIntact() throws {
        let disk = try SmallDisk(size: "4m")
        defer { disk.unmount() }
        let state = disk.path + "/state"
        let first = warden(["audit", "--state-dir", state, "--metrics", disk.path + "/warden.prom"])
        try #require([0, 1, 2].contains(first.status), "\(first.stderr)")
        let before = try Snapshot(state)
        let metrics = try LocalFile.read(disk.path + "/warden.prom")
        disk.fill()

        let r = warden(["audit", "--state-dir", state, "--metrics", disk.path + "/warden.prom"])
        #expect(r.status == 74, "\(r.stderr)")
        #expect(r.stderr.contains("cannot write: No space left on device; the previous file, if any, is unchanged"), "\(r.stderr)")
        #expect(try Snapshot(state) == before)
        #expect(try LocalFile.read(disk.path + "/warden.prom") == metrics)

        // The host key of a new state directory cannot be written: no key file, not half a key.
        let fresh = disk.path + "/fresh"
        let k = warden(["audit", "--state-dir", fresh])
        #expect(k.status == 74, "\(k.stderr)")
        #expect(k.stderr.contains("\(fresh)/host-key.pem"), "\(k.stderr)")
        #expect(access(fresh + "/host-key.pem", F_OK) != 0)

        // Room again: the next audit succeeds and adds its entry.
        disk.unfill()
        let again = warden(["audit", "--state-dir", state])
        #expect([0, 1, 2].contains(again.status), "\(again.stderr)")
        #expect(historyCount(state) == before.history.count + 1)
    }

    @Test func aBundleOnAFullDiskLeavesNoDirectory() throws {
        let fleet = try Fleet(count: 4)
        let disk = try SmallDisk(size: "8m")
        defer { disk.unmount() }
        let earlier = disk.path + "/earlier"
        _ = run("/bin/cp", ["-a", fleet.bundle, earlier])
        let earlierFiles = try Snapshot(earlier)
        disk.fill()
        let out = disk.path + "/bundle"
        let r = warden([
            "bundle", fleet.dir + "/findings", "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem",
            "--now", Fleet.now, "--output", out, "--inventory", fleet.dir + "/inventory.yaml",
        ])
        #expect(r.status == 74, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(LocalFile.list(disk.path).sorted() == ["earlier", "fill"])
        #expect(try Snapshot(earlier) == earlierFiles)
    }

    // MARK: - Signals

    @Test(arguments: ["audit.reading", "audit.signing", "audit.reading:INT"])
    func anAuditStoppedBeforeWritingLeavesEverythingAsItWas(point: String) throws {
        let tree = TempTree()
        let state = tree.path + "/state"
        let first = warden(["audit", "--state-dir", state, "--metrics", tree.path + "/warden.prom"])
        try #require([0, 1, 2].contains(first.status), "\(first.stderr)")
        let before = try Snapshot(state)
        let metrics = try LocalFile.read(tree.path + "/warden.prom")

        let r = warden(
            ["audit", "--state-dir", state, "--metrics", tree.path + "/warden.prom", "--output", tree.path + "/out.dsse.json"],
            environment: ["WARDEN_TEST_INTERRUPT": point])
        let int = point.hasSuffix(":INT")
        #expect(r.status == (int ? 130 : 143), "\(r.stderr)")
        let stage = point.hasPrefix("audit.reading") ? "reading the host" : "signing"
        #expect(
            r.stderr.contains("warden: interrupted by \(int ? "SIGINT" : "SIGTERM") while \(stage); nothing was written"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(try Snapshot(state) == before)
        #expect(try LocalFile.read(tree.path + "/warden.prom") == metrics)
        #expect(access(tree.path + "/out.dsse.json", F_OK) != 0)
        #expect(LocalFile.list(tree.path).filter { $0.contains(".tmp-") }.isEmpty)
    }

    @Test func aSignalWhileWritingLetsTheWholeRunBeWrittenThenStops() throws {
        let tree = TempTree()
        let state = tree.path + "/state"
        let first = warden(["audit", "--state-dir", state])
        try #require([0, 1, 2].contains(first.status), "\(first.stderr)")
        let before = try Snapshot(state)
        let r = warden(
            ["audit", "--state-dir", state, "--metrics", tree.path + "/warden.prom", "--output", tree.path + "/out.dsse.json"],
            environment: ["WARDEN_TEST_INTERRUPT": "audit.writing"])
        #expect(r.status == 143, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "interrupted by SIGTERM while writing the findings; the writing under way was allowed to finish and it finished"),
            "\(r.stderr)")
        let after = try Snapshot(state)
        #expect(after.history.count == before.history.count + 1)
        // The latest envelope, the new history entry and --output are the same complete envelope.
        let latest = try #require(after.files["findings/latest.dsse.json"])
        #expect(latest != before.files["findings/latest.dsse.json"])
        #expect(after.files[try #require(after.history.last)] == latest)
        #expect(try LocalFile.read(tree.path + "/out.dsse.json") == latest)
        #expect(try Envelope.decode(latest, file: "latest").signatures.count == 1)
        #expect(try LocalFile.readText(tree.path + "/warden.prom").contains("warden_last_run_timestamp_seconds"))
        #expect(after.files.keys.filter { $0.contains(".tmp-") }.isEmpty)
    }

    @Test(arguments: [
        ("bundle.verifying", "after verifying 0 of 4 inputs"),
        ("bundle.summarising", "after verifying all 4 inputs, before the summary and the reports were written"),
        ("bundle.placing", "with the bundle complete, before renaming it into place"),
    ])
    func anInterruptedBundleLeavesNothingThatCouldPassForABundle(point: String, said: String) throws {
        let fleet = try Fleet(count: 4)
        let out = fleet.tree.path + "/interrupted"
        let r = warden(
            [
                "bundle", fleet.dir + "/findings", "--trust", fleet.trust, "--key", fleet.dir + "/bundler.pem",
                "--now", Fleet.now, "--output", out, "--inventory", fleet.dir + "/inventory.yaml",
            ],
            environment: ["WARDEN_TEST_INTERRUPT": point])
        #expect(r.status == 143, "\(r.stderr)")
        #expect(
            r.stderr.contains(
                "warden: interrupted by SIGTERM: the bundle stopped \(said); nothing was written to \(out) (its staging directory was removed)"
            ), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(!LocalFile.list(fleet.tree.path).contains { $0.hasPrefix("interrupted") }, "\(LocalFile.list(fleet.tree.path))")
        #expect(fleet.verify(out).status == 66)
    }

    // MARK: - Two runs at once

    @Test func aSecondRunWaitsForTheLockThenRefusesWith75() throws {
        let tree = TempTree()
        let state = tree.path + "/state"
        let first = warden(["audit", "--state-dir", state])
        try #require([0, 1, 2].contains(first.status), "\(first.stderr)")
        let before = try Snapshot(state)
        let holder = try LockHolder(state + "/lock")
        let refused = warden(["audit", "--state-dir", state, "--lock-timeout", "1"])
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(
            refused.stderr.contains("waiting up to 1 s for another Warden run (pid \(getpid())) that holds \(state)/lock"),
            "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "\(state)/lock: error: --lock-timeout: another Warden run (pid \(getpid())) has held the state directory's lock for more than 1 s; nothing was done"
            ), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty)
        #expect(try Snapshot(state) == before)
        // Released within the wait: the run goes on. (A thread of its own: the tests' task pool
        // may be busy with blocking runs for longer than the wait.)
        holder.release(after: 0.5)
        let waited = warden(["audit", "--state-dir", state, "--lock-timeout", "30"])
        #expect([0, 1, 2].contains(waited.status), "\(waited.stderr)")
        #expect(historyCount(state) == before.history.count + 1)
    }

    @Test func concurrentAuditsKeepTheStateDirectoryWhole() async throws {
        let tree = TempTree()
        let state = tree.path + "/state"
        let keep = 5
        // Six audits, three at a time, as a timer and operators would start them.
        let statuses = await withTaskGroup(of: (Int32, String).self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let r = warden([
                        "audit", "--state-dir", state, "--keep-history", String(keep), "--format", "json", "--lock-timeout", "120",
                    ])
                    return (r.status, r.stderr)
                }
            }
            var all: [(Int32, String)] = []
            for await r in group { all.append(r) }
            return all
        }
        for (status, stderr) in statuses { #expect([0, 1, 2].contains(status), "\(stderr)") }
        // One host key, made once; the history rotated to `keep`; every entry a complete envelope
        // signed by that key; the latest envelope is the newest entry.
        let snapshot = try Snapshot(state)
        #expect(statuses.filter { $0.1.contains("created host key") }.count == 1)
        #expect(snapshot.history.count == keep)
        let shown = warden(["key", "show", "--state-dir", state])
        try #require(shown.status == 0, "\(shown.stderr)")
        let trust = tree.file("trust.pem", shown.stdout)
        for entry in snapshot.history {
            let v = warden(["verify", state + "/" + entry, "--trust", trust])
            #expect(v.status == 0, "\(entry): \(v.stdout)")
        }
        #expect(snapshot.files["findings/latest.dsse.json"] == snapshot.files[try #require(snapshot.history.last)])
        #expect(snapshot.files.keys.filter { $0.contains(".tmp-") }.isEmpty)
    }
}

/// Every file under a directory with its bytes (but the lock, which only names its last holder),
/// and the history entries oldest first.
struct Snapshot: Equatable {
    var files: [String: [UInt8]] = [:]
    /// By time, then by the run number a second run in the same second adds (`…Z-2`).
    var history: [String] {
        func order(_ name: String) -> (String, Int) {
            let stem = name.dropLast(".dsse.json".count)
            guard let dash = stem.lastIndex(of: "-"), let n = Int(stem[stem.index(after: dash)...]) else { return (String(stem), 1) }
            return (String(stem[..<dash]), n)
        }
        return files.keys.filter { $0.hasPrefix("history/") && $0.hasSuffix(".dsse.json") }.sorted { order($0) < order($1) }
    }

    init(_ directory: String) throws {
        let listing = run("/usr/bin/find", [directory, "-type", "f", "-printf", "%P\n"])
        for name in listing.stdout.split(separator: "\n") where name != "lock" {
            files[String(name)] = try LocalFile.read(directory + "/" + name, limit: 64 << 20)
        }
    }
}

func historyCount(_ state: String) -> Int {
    LocalFile.list(state + "/history").filter { $0.hasSuffix(".dsse.json") }.count
}

/// A small tmpfs mounted for one test, and a file that fills it.
struct SmallDisk {
    let tree = TempTree(prefix: "warden-disk")
    var path: String { tree.path }

    init(size: String) throws {
        let r = run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", tree.path])
        try #require(r.status == 0, "cannot mount a tmpfs (tests run as root): \(r.stderr)")
    }

    /// Fills what is left (dd stops at ENOSPC).
    func fill() {
        _ = run("/bin/dd", ["if=/dev/zero", "of=\(path)/fill", "bs=4096"])
    }

    func unfill() { unlink(path + "/fill") }

    func unmount() { _ = run("/bin/umount", [tree.path]) }
}

/// Holds a state directory's lock from the test process, as another Warden run would.
final class LockHolder: @unchecked Sendable {
    private let fd: Int32

    init(_ path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    func release() { close(fd) }

    /// Releases the lock from a new thread after `seconds`.
    func release(after seconds: Double) {
        final class Box {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(
            Box {
                usleep(UInt32(seconds * 1_000_000))
                self.release()
            }
        ).toOpaque()
        var thread = pthread_t()
        let made = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, box)
        precondition(made == 0)
        pthread_detach(thread)
    }
}
