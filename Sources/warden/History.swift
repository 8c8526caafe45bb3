import Glibc
import HostFacts
import WardenCore

/// The host's own past audits: every signed envelope of a live audit, kept in
/// `<state>/history/` under its finish time, the oldest removed beyond `keep`. Offline audits
/// are about other roots and never enter it.
enum History {
    static let directory = "history"
    static let defaultKeep = 30

    /// Stores `envelope` and rotates; returns the path written.
    static func record(_ envelope: [UInt8], finishedAt: Timestamp, state: String, keep: Int) throws(WardenError) -> String {
        let dir = state + "/" + directory
        try StateDirectory.create(dir)
        // Names sort by time: 20261129T083814Z.dsse.json (a second run in the same second gets -2, -3…).
        let stamp = String(finishedAt.description.filter { $0 != "-" && $0 != ":" })
        var path = "\(dir)/\(stamp).dsse.json"
        var n = 2
        while access(path, F_OK) == 0 {
            path = "\(dir)/\(stamp)-\(n).dsse.json"
            n += 1
        }
        try LocalFile.write(envelope, to: path, mode: 0o600)
        let entries = files(state)
        for old in entries.dropLast(max(keep, 1)) where unlink(old) != 0 && errno != ENOENT {
            throw WardenError(.io, file: old, "cannot remove an old history entry: \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// The history files, oldest first.
    static func files(_ state: String) -> [String] {
        let dir = state + "/" + directory
        return LocalFile.list(dir).filter { $0.hasSuffix(".dsse.json") }.sorted().map { "\(dir)/\($0)" }
    }
}
