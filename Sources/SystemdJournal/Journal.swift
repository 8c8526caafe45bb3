internal import CSystemd
internal import Glibc

/// A negative errno from libsystemd, with the call that returned it.
public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// A read-only journal opened on a directory (`<root>/var/log/journal`). Owns the `sd_journal`
/// handle, which is not thread-safe: use one `Journal` from one task at a time.
public final class Journal {
    private let handle: OpaquePointer

    /// Opens every journal file under `directory` (including its machine-id subdirectories).
    public init(directory: String) throws(JournalError) {
        var j: OpaquePointer?
        let r = sd_journal_open_directory(&j, directory, 0)
        guard r >= 0, let j else { throw JournalError(call: "sd_journal_open_directory(\(directory))", errno: -r) }
        handle = j
    }

    deinit { sd_journal_close(handle) }

    /// Counts entries, optionally only those of one boot (`_BOOT_ID`, 32 hex digits), stopping at `limit`.
    public func countEntries(bootID: String? = nil, limit: Int = 1) throws(JournalError) -> Int {
        sd_journal_flush_matches(handle)
        if let bootID {
            let match = "_BOOT_ID=" + bootID.filter { $0 != "-" }
            let r = match.withCString { sd_journal_add_match(handle, $0, 0) }
            guard r >= 0 else { throw JournalError(call: "sd_journal_add_match", errno: -r) }
        }
        var r = sd_journal_seek_head(handle)
        guard r >= 0 else { throw JournalError(call: "sd_journal_seek_head", errno: -r) }
        var count = 0
        while count < limit {
            r = sd_journal_next(handle)
            guard r >= 0 else { throw JournalError(call: "sd_journal_next", errno: -r) }
            if r == 0 { break }
            count += 1
        }
        return count
    }
}
