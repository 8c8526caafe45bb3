internal import CSystemd
internal import Glibc

/// Sends structured entries to journald with `sd_journal_sendv`. libsystemd drops messages
/// silently when journald is not running, so the socket is checked first and its absence is
/// reported instead of pretending the entry was written.
public enum JournalWriter {
    public static let socketPath = "/run/systemd/journal/socket"

    public enum Delivery: Sendable, Equatable {
        case sent
        /// No journald socket: nothing was written.
        case notRunning
    }

    /// Sends one entry. Field names must be upper-case letters, digits and underscores
    /// (journald's rule); values may be any bytes.
    public static func send(_ fields: [(name: String, value: String)]) throws(JournalError) -> Delivery {
        var st = stat()
        guard stat(socketPath, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else { return .notRunning }
        let entries = fields.map { Array("\($0.name)=\($0.value)".utf8) }
        let buffers = entries.map { bytes -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            b.copyBytes(from: bytes)
            return b
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var vectors = zip(buffers, entries).map { iovec(iov_base: $0.baseAddress, iov_len: $1.count) }
        let r = sd_journal_sendv(&vectors, Int32(vectors.count))
        guard r >= 0 else { throw JournalError(call: "sd_journal_sendv", errno: -r) }
        return .sent
    }
}
