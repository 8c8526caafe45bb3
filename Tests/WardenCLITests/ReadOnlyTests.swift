import Glibc
import Testing
import WardenCore
import WardenTestSupport

/// Warden is read-only on the audited host (docs/ARCHITECTURE.md): a full audit of a fixture root leaves
/// every entry exactly as it was: bytes, type, mode, owner, size, modification and change times,
/// link targets, and the access times of files and directories.
///
/// Access times: the fixture's are set two days back first, so that under `relatime` (the usual
/// mount option, and this machine's) any ordinary read or directory listing would move them; a
/// control read at the end shows that it does here. Warden opens what it reads with O_NOATIME.
/// Symlinks are compared without their access time: the kernel updates it on every readlink(2),
/// which has no O_NOATIME, and resolving links inside the root needs readlink.
@Suite struct ReadOnlyTests {
    struct Entry: Hashable, CustomStringConvertible {
        var path: String
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        /// Nil for symlinks (see the suite's note).
        var atime: Int64?
        /// SHA-256 of a regular file's bytes, or a symlink's target.
        var content: String?

        var description: String {
            "\(path) mode \(String(mode, radix: 8)) \(uid):\(gid) size \(size) m\(mtime) c\(ctime) a\(atime.map(String.init) ?? "-") \(content ?? "")"
        }
    }

    static func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

    /// Every entry under `root` (the root included), read without touching access times.
    static func snapshot(_ root: String) throws -> [String: Entry] {
        var entries: [String: Entry] = [:]
        var pending = [""]
        while let relative = pending.popLast() {
            let path = root + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { throw SnapshotError(path: path, errno: errno) }
            let kind = st.st_mode & S_IFMT
            var entry = Entry(
                path: relative.isEmpty ? "/" : relative, mode: UInt32(st.st_mode), uid: st.st_uid, gid: st.st_gid,
                size: Int64(st.st_size), mtime: nanoseconds(st.st_mtim), ctime: nanoseconds(st.st_ctim),
                atime: kind == S_IFLNK ? nil : nanoseconds(st.st_atim))
            switch kind {
            case S_IFREG:
                entry.content = sha256Hex(try readWithoutAccessTime(path))
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(path, &buffer, Int(PATH_MAX))
                entry.content = String(decoding: buffer[0..<max(n, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            case S_IFDIR:
                for name in try listWithoutAccessTime(path) { pending.append(relative + "/" + name) }
            default:
                break
            }
            entries[entry.path] = entry
        }
        return entries
    }

    struct SnapshotError: Error {
        var path: String
        var errno: Int32
    }

    static let noAccessTime: Int32 = 0o1000000  // O_NOATIME

    static func readWithoutAccessTime(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | noAccessTime)
        guard fd >= 0 else { throw SnapshotError(path: path, errno: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    static func listWithoutAccessTime(_ path: String) throws -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | noAccessTime)
        guard fd >= 0, let dir = fdopendir(fd) else { throw SnapshotError(path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Sets every entry's access time two days back (symlinks included), so that a read would show.
    static func ageAccessTimes(_ root: String, _ entries: [String: Entry]) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for path in entries.keys {
            // The atime two days back; UTIME_OMIT ((1 << 30) - 2) keeps the mtime.
            let times = [timespec(tv_sec: now.tv_sec - 2 * 86400, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)]
            utimensat(AT_FDCWD, root + (path == "/" ? "" : path), times, AT_SYMLINK_NOFOLLOW)
        }
    }

    @Test(arguments: ["host-conformant", "host-debian-default", "weights-lvm-on-luks"])
    func aFullAuditChangesNothingInTheRoot(fixture: String) throws {
        let tree = TempTree(prefix: "warden-readonly")
        tree.directory("root")
        run("/bin/cp", ["-a", Package.fixtureRoot(fixture) + "/.", tree.path + "/root"])
        // Things git cannot store: a FIFO, a setuid file, a file no one may read, a symlink out.
        tree.directory("root/run")
        mkfifo(tree.path + "/root/run/initctl-fifo", 0o600)
        tree.file("root/usr/bin/su-like", "#!/bin/sh\n", mode: 0o4755)
        tree.file("root/etc/unreadable", "secret\n", mode: 0)
        tree.symlink("root/etc/escape", to: "../../../../../../etc/shadow")
        let root = tree.path + "/root"
        ReadOnlyTests.ageAccessTimes(root, try ReadOnlyTests.snapshot(root))
        let before = try ReadOnlyTests.snapshot(root)

        var arguments = [
            "audit", "--root", root, "--no-sign", "--format", "json", "--now", "2026-11-29T12:00:00Z",
            "--output", tree.path + "/findings.json", "--state-dir", tree.path + "/state",
        ]
        let site = Package.fixtures + "/" + fixture + "/site.yaml"
        if access(site, R_OK) == 0 { arguments += ["--site", site] }
        let r = run(Package.wardenBinary, arguments, timeout: 120)
        #expect(!r.timedOut)
        #expect([0, 1, 2].contains(r.status), "\(r.stderr)")
        #expect(r.stdout.contains("\"schema\": \"warden.findings/v1\""))

        let after = try ReadOnlyTests.snapshot(root)
        #expect(after.count == before.count)
        for (path, entry) in before.sorted(by: { $0.key < $1.key }) {
            #expect(after[path] == entry, "changed by the audit: before \(entry), after \(after[path].map(\.description) ?? "gone")")
        }
        for path in after.keys where before[path] == nil { Issue.record("created by the audit: \(path)") }

        // Control: an ordinary read does move an access time here, so the comparison above could fail.
        let probe = root + "/etc/unreadable"
        let fd = open(probe, O_RDONLY)
        var byte: UInt8 = 0
        _ = read(fd, &byte, 1)
        close(fd)
        #expect(
            try ReadOnlyTests.snapshot(root)["/etc/unreadable"]?.atime != before["/etc/unreadable"]?.atime,
            "access times do not change on reads on this filesystem (noatime?): the atime comparison proves nothing here")
    }
}
