internal import WardenCore

/// One line of `/proc/PID/mountinfo` (proc(5)):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
public struct MountEntry: Sendable, Hashable {
    public var mountID: Int
    public var parentID: Int
    /// The device number of the filesystem (`st_dev`); 0 for filesystems without a block device.
    public var major: UInt32
    public var minor: UInt32
    /// The directory of the filesystem that forms the root of this mount (bind mounts).
    public var root: String
    /// Where it is mounted, relative to the process's root, octal escapes decoded.
    public var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    public var options: [String]
    /// Optional fields before the ` - ` separator (`shared:1`, `master:3`).
    public var optionalFields: [String]
    public var fstype: String
    /// The mount source (`/dev/mapper/vg0-root`, `server:/export`, `tmpfs`).
    public var source: String
    /// Per-superblock options (`rw,sec=krb5p,vers=4.2`).
    public var superOptions: [String]
    /// Where the line was read (`/proc/1/mountinfo:12`).
    public var location: String

    /// `MAJ:MIN`.
    public var deviceNumber: String { "\(major):\(minor)" }

    /// Per-mount and per-superblock options together.
    public var allOptions: [String] { options + superOptions }

    /// The value of `key=value` among all options (nil when absent; "" for a bare `key`).
    public func option(_ key: String) -> String? {
        for o in allOptions {
            if o == key { return "" }
            if o.hasPrefix(key + "=") { return String(o.dropFirst(key.count + 1)) }
        }
        return nil
    }
}

/// A malformed mountinfo line: the file and line, and what was wrong.
public struct MountInfoError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: String
    public var message: String
    public var description: String { "\(location): \(message)" }
}

/// The mount table of the audited host, as PID 1 sees it (docs/ARCHITECTURE.md, live and offline).
public struct MountTable: Sendable, Hashable {
    public var entries: [MountEntry]
    /// The file it was read from (`/proc/1/mountinfo` or `/proc/self/mountinfo`).
    public var source: String

    public static let primary = "/proc/1/mountinfo"
    public static let fallback = "/proc/self/mountinfo"

    public init(entries: [MountEntry], source: String) {
        self.entries = entries
        self.source = source
    }

    /// Which mountinfo to read: PID 1's view, else (when `/proc/1` is absent, as in fixtures)
    /// the reading process's own.
    public static func path(in root: HostRoot) -> String {
        root.exists("/proc/1") ? primary : fallback
    }

    /// Parses mountinfo text. Every line must be well formed: a table with a line the parser does
    /// not understand is not trusted at all.
    public static func parse(_ text: String, source: String) throws(MountInfoError) -> MountTable {
        var entries: [MountEntry] = []
        for (index, raw) in lines(text).enumerated() {
            if raw.trimmed.isEmpty { continue }
            let location = "\(source):\(index + 1)"
            func bad(_ message: String) -> MountInfoError { MountInfoError(location: location, message: message) }
            let fields = raw.split(separator: " ", omittingEmptySubsequences: true)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4 else {
                throw bad("expected 6 fields, optional fields, '-', then fstype, source and super options")
            }
            guard let mountID = Int(fields[0]), let parentID = Int(fields[1]) else { throw bad("mount ids are not numbers") }
            let numbers = fields[2].split(separator: ":")
            guard numbers.count == 2, let major = UInt32(numbers[0]), let minor = UInt32(numbers[1]) else {
                throw bad("'\(fields[2])' is not MAJ:MIN")
            }
            entries.append(
                MountEntry(
                    mountID: mountID, parentID: parentID, major: major, minor: minor,
                    root: decodeOctalEscapes(fields[3]), mountPoint: decodeOctalEscapes(fields[4]),
                    options: fields[5].split(separator: ",").map(String.init),
                    optionalFields: fields[6..<dash].map(String.init),
                    fstype: decodeOctalEscapes(fields[dash + 1]), source: decodeOctalEscapes(fields[dash + 2]),
                    superOptions: fields[(dash + 3)...].joined(separator: " ").split(separator: ",").map { decodeOctalEscapes($0) },
                    location: location))
        }
        guard !entries.isEmpty else { throw MountInfoError(location: source, message: "no mounts listed") }
        return MountTable(entries: entries, source: source)
    }

    /// Reads and parses the host's mount table through the root.
    public static func read(from root: HostRoot) throws(MountTableReadError) -> MountTable {
        let file = path(in: root)
        let text: String
        do { text = try root.readText(file) } catch { throw .read(error) }
        do { return try parse(text, source: file) } catch { throw .malformed(error) }
    }

    /// The mount that holds `resolvedPath` (a path already resolved inside the root): the longest
    /// matching mount point, and of several mounts stacked on it the last one listed (the one on
    /// top, which is what a lookup of the path reaches).
    public func mount(containing resolvedPath: String) -> MountEntry? {
        var best: MountEntry?
        for entry in entries where MountTable.isWithin(resolvedPath, entry.mountPoint) {
            if let b = best, b.mountPoint.count > entry.mountPoint.count { continue }
            best = entry
        }
        return best
    }

    /// Whether `path` is `mountPoint` or lies below it.
    static func isWithin(_ path: String, _ mountPoint: String) -> Bool {
        if mountPoint == "/" { return path.hasPrefix("/") }
        let mp = mountPoint.hasSuffix("/") ? String(mountPoint.dropLast()) : mountPoint
        return path == mp || path.hasPrefix(mp + "/")
    }
}

/// Why the mount table could not be had.
public enum MountTableReadError: Error, Sendable, CustomStringConvertible {
    case read(HostError)
    case malformed(MountInfoError)

    public var description: String {
        switch self {
        case .read(let e): "cannot read the mount table: \(e)"
        case .malformed(let e): "malformed mount table: \(e)"
        }
    }
}

/// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134`
/// backslash) in mountinfo and /proc/swaps fields. A backslash not followed by three octal digits
/// is kept as it is.
public func decodeOctalEscapes(_ field: some StringProtocol) -> String {
    let bytes = Array(field.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    func octal(_ b: UInt8) -> UInt8? { (0x30...0x37).contains(b) ? b - 0x30 : nil }
    while i < bytes.count {
        if bytes[i] == 0x5C, i + 3 < bytes.count,
            let a = octal(bytes[i + 1]), let b = octal(bytes[i + 2]), let c = octal(bytes[i + 3]), a <= 3
        {
            out.append(a << 6 | b << 3 | c)
            i += 4
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
