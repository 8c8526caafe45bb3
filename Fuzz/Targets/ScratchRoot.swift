internal import Evidence
internal import Glibc
internal import HostFacts
internal import Synchronization
internal import WardenCore

/// A small host tree in a temporary directory, made once per process, in which a fuzz target
/// writes its input as one configuration file and runs the real probe through `HostRoot`: the
/// parsers of sshd_config and sudoers follow includes, so they are fuzzed with the file system
/// they read (and every include the fuzzer invents must stay inside this root).
final class ScratchRoot: @unchecked Sendable {
    let path: String
    let root: HostRoot

    /// `files`: paths inside the root and their contents (mode 0644, sudoers files 0440).
    init(files: [String: String]) {
        path = makeScratchDirectory("warden-fuzz-root")
        for (file, content) in files { ScratchRoot.write(path + file, Array(content.utf8)) }
        do { root = try HostRoot(path) } catch { fatalError("cannot open the scratch root: \(error)") }
    }

    /// Replaces one file's bytes and returns a context for running probes, with `site`.
    func context(writing bytes: [UInt8], to file: String, site: Site? = nil) -> ProbeContext {
        ScratchRoot.write(path + file, bytes)
        return ProbeContext(root: root, site: site, weights: WeightLocations(origin: .site, paths: [], note: "fuzzing"))
    }

    private static func write(_ full: String, _ bytes: [UInt8]) {
        var dir = ""
        for part in full.split(separator: "/").dropLast() {
            dir += "/" + part
            mkdir(dir, 0o755)
        }
        let mode: mode_t = full.contains("/sudoers") ? 0o440 : 0o644
        // A new file, not the old one truncated: ext4 writes a truncated file back to the disk
        // as it is closed, and waiting for that made the file targets mostly idle.
        unlink(full)
        let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { fatalError("cannot write \(full): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { fatalError("cannot write \(full): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
}

/// The scratch directories this process made, removed when it exits.
private let scratchDirectories = Mutex<[String]>([])

/// A new empty directory under $TMPDIR, removed when the process exits (Scripts/fuzz points
/// $TMPDIR into .build-fuzz and empties it after each target, after a crash too).
func makeScratchDirectory(_ prefix: String) -> String {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("cannot create a scratch directory in \(base): \(String(cString: strerror(errno)))")
    }
    let path = String(cString: made)
    scratchDirectories.withLock { paths in
        if paths.isEmpty {
            atexit { for path in scratchDirectories.withLock({ $0 }) { BundleFiles.removeTree(path) } }
        }
        paths.append(path)
    }
    return path
}
