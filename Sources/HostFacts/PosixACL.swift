/// A POSIX ACL as the kernel stores it in the `system.posix_acl_access` and
/// `system.posix_acl_default` extended attributes: a little-endian u32 version (2), then 8-byte
/// entries of u16 tag, u16 permission bits (r=4, w=2, x=1) and u32 uid or gid.
package struct PosixACL: Sendable, Hashable {
    package enum Tag: UInt16, Sendable, Hashable {
        case userObject = 0x01
        case user = 0x02
        case groupObject = 0x04
        case group = 0x08
        case mask = 0x10
        case other = 0x20
    }

    package struct Entry: Sendable, Hashable {
        package var tag: Tag
        package var permissions: UInt16
        /// The uid (`user`) or gid (`group`); undefined (0xffffffff) for the other tags.
        package var id: UInt32

        package init(tag: Tag, permissions: UInt16, id: UInt32) {
            self.tag = tag
            self.permissions = permissions
            self.id = id
        }

        /// Named users and groups: the entries that give access beyond owner, group and other.
        package var isNamed: Bool { tag == .user || tag == .group }
    }

    package static let version: UInt32 = 2
    package var entries: [Entry]

    package init(entries: [Entry]) { self.entries = entries }

    /// A structural error, with the byte offset where decoding stopped.
    package struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        package var offset: Int
        package var message: String
        package var description: String { "malformed at byte \(offset): \(message)" }
    }

    package static func decode(_ bytes: [UInt8]) throws(DecodingError) -> PosixACL {
        guard let v = bytes.uint32LE(at: 0) else {
            throw DecodingError(offset: 0, message: "\(bytes.count) bytes, shorter than the 4-byte header")
        }
        guard v == version else { throw DecodingError(offset: 0, message: "version \(v), expected \(version)") }
        let trailing = (bytes.count - 4) % 8
        guard trailing == 0 else {
            throw DecodingError(offset: bytes.count - trailing, message: "\(trailing) bytes left over after the last whole 8-byte entry")
        }
        var entries: [Entry] = []
        var offset = 4
        while offset < bytes.count {
            guard let rawTag = bytes.uint16LE(at: offset), let perm = bytes.uint16LE(at: offset + 2),
                let id = bytes.uint32LE(at: offset + 4)
            else {
                throw DecodingError(offset: offset, message: "truncated entry")
            }
            guard let tag = Tag(rawValue: rawTag) else {
                throw DecodingError(offset: offset, message: "unknown tag 0x\(String(rawTag, radix: 16))")
            }
            guard perm & ~7 == 0 else {
                throw DecodingError(offset: offset + 2, message: "permission bits 0x\(String(perm, radix: 16)) outside rwx")
            }
            entries.append(Entry(tag: tag, permissions: perm, id: id))
            offset += 8
        }
        return PosixACL(entries: entries)
    }

    /// The bytes the kernel would store for these entries (for tests and fixtures).
    package var encoded: [UInt8] {
        var out: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        append(PosixACL.version)
        for e in entries {
            append(e.tag.rawValue)
            append(e.permissions)
            append(e.id)
        }
        return out
    }
}

/// `rwx` notation for permission bits (`r-x`).
func permissionString(_ bits: UInt16) -> String {
    (bits & 4 != 0 ? "r" : "-") + (bits & 2 != 0 ? "w" : "-") + (bits & 1 != 0 ? "x" : "-")
}
