import Glibc
import HostFacts
import LocalFiles
import WardenCore
import WardenFormats

/// The host's own past audits: every signed envelope of a live audit, kept in
/// `<state>/history/` under its finish time, the oldest removed beyond `keep`. Offline audits
/// are about other roots and never enter it. Written and rotated only under the state
/// directory's lock (`StateLock`).
enum History {
    static let directory = "history"
    static let defaultKeep = 30

    /// Where the envelope of a run that finished at `finishedAt` goes: 20261129T083814Z.dsse.json,
    /// names sorting by time (a second run in the same second gets -2, -3…).
    static func nextPath(finishedAt: Timestamp, state: String) throws(WardenError) -> String {
        let dir = state + "/" + directory
        try StateDirectory.create(dir)
        let stamp = String(finishedAt.description.filter { $0 != "-" && $0 != ":" })
        var path = "\(dir)/\(stamp).dsse.json"
        var n = 2
        while access(path, F_OK) == 0 {
            path = "\(dir)/\(stamp)-\(n).dsse.json"
            n += 1
        }
        return path
    }

    /// Removes the oldest entries beyond `keep` (at least one is kept).
    static func rotate(state: String, keep: Int) throws(WardenError) {
        for old in files(state).dropLast(max(keep, 1)) where unlink(old) != 0 && errno != ENOENT {
            throw WardenError(.io, file: old, "cannot remove an old history entry: \(String(cString: strerror(errno)))")
        }
    }

    /// The history files, oldest first: by time, then by the number a second run in the same
    /// second adds (`…Z-2` is newer than `…Z`, though it sorts before it as text).
    static func files(_ state: String) -> [String] {
        let dir = state + "/" + directory
        return LocalFile.list(dir).filter { $0.hasSuffix(".dsse.json") }.sorted { order($0) < order($1) }.map { "\(dir)/\($0)" }
    }

    /// (time stamp, run within that second) of a history file name.
    static func order(_ name: String) -> (String, Int) {
        let stem = name.dropLast(".dsse.json".count)
        guard let dash = stem.lastIndex(of: "-"), let n = Int(stem[stem.index(after: dash)...]) else { return (String(stem), 1) }
        return (String(stem[..<dash]), n)
    }
}

/// Several files written together: each first as a temporary file beside its target, then all
/// put in place once every one has been written, so that a failure (a full disk, a directory
/// that cannot be written) leaves every target as it was and no temporary file behind.
struct FileCommit {
    private var staged: [(temporary: String, path: String)] = []

    mutating func add(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644) throws(WardenError) {
        do throws(WardenError) {
            // A rename cannot replace a directory: found now, not after other files were put in place.
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
                throw WardenError(.io, file: path, "cannot write: it is a directory; nothing was written")
            }
            staged.append((try LocalFile.writeTemporary(bytes, for: path, mode: mode), path))
        } catch {
            discard()
            throw error
        }
    }

    /// Puts every file in place, in the order added.
    mutating func commit() throws(WardenError) {
        defer { staged = [] }
        for (k, file) in staged.enumerated() {
            do {
                try LocalFile.rename(file.temporary, to: file.path)
            } catch {
                for rest in staged[(k + 1)...] { unlink(rest.temporary) }
                throw error
            }
        }
    }

    /// Removes what was staged.
    mutating func discard() {
        for file in staged { unlink(file.temporary) }
        staged = []
    }

    var paths: [String] { staged.map(\.path) }
}
