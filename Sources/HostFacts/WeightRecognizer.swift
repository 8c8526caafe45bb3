/// A file format that stores model weights, recognised by content, never by name.
public enum WeightFormat: String, Sendable, Hashable, CaseIterable {
    /// 8-byte little-endian header length N, then N bytes of JSON starting with `{`.
    case safetensors
    /// llama.cpp: magic `GGUF`, then a version.
    case gguf
    /// `torch.save` since PyTorch 1.6: a zip archive with a `<name>/data.pkl` entry.
    case pytorchZip = "pytorch-zip"
    /// `torch.save(_use_new_zipfile_serialization=False)`: a pickle that starts with PyTorch's
    /// magic number.
    case pytorchLegacy = "pytorch-legacy"
    /// `numpy.save`: magic `\x93NUMPY`, version, header length, a Python dict literal.
    case numpy
    /// HDF5 (Keras `.h5`): the superblock signature at 0 or at a user-block offset (512, 1024…).
    case hdf5
    /// ONNX: a protobuf `ModelProto` that starts with `ir_version` and reaches its `graph` field
    /// through known fields only.
    case onnx
}

/// Random access to the bytes of one file. Reads may be refused (nil) when they would exceed
/// the source's bound; the recogniser treats that as "not this format".
package protocol ByteSource {
    var size: Int64 { get }
    func bytes(at offset: Int64, count: Int) -> [UInt8]?
}

/// Bytes held in memory (tests, and any caller that already has the whole file).
package struct MemorySource: ByteSource {
    package let data: [UInt8]
    package init(_ data: [UInt8]) { self.data = data }
    package var size: Int64 { Int64(data.count) }
    package func bytes(at offset: Int64, count: Int) -> [UInt8]? {
        guard offset >= 0, offset <= size else { return nil }
        let start = Int(offset)
        return Array(data[start..<min(data.count, start + count)])
    }
}

/// Recognises weight files from their first bytes and, for zip archives and ONNX, a few small
/// reads further in (the zip central directory, protobuf field headers). Pure: every byte comes
/// from the `ByteSource`, which bounds what may be read.
package enum WeightRecognizer {
    /// Bytes read from the start of every candidate.
    package static let headSize = 4096
    /// The most any further read takes (zip tail, central directory, protobuf field header).
    static let probeSize = 4096
    /// safetensors refuses headers larger than this (100 MB, as the reference implementation).
    static let maxSafetensorsHeader: UInt64 = 100_000_000

    package static func recognize(_ source: some ByteSource) -> WeightFormat? {
        guard source.size > 0, let head = source.bytes(at: 0, count: headSize), !head.isEmpty else { return nil }
        if isSafetensors(head, source) { return .safetensors }
        if isGGUF(head) { return .gguf }
        if isNumpy(head, size: source.size) { return .numpy }
        if isHDF5(head) { return .hdf5 }
        if isPyTorchLegacy(head) { return .pytorchLegacy }
        if head.starts(with: zipLocalHeader), isPyTorchZip(head, source) { return .pytorchZip }
        if isONNX(head, source) { return .onnx }
        return nil
    }

    // MARK: - safetensors

    static func isSafetensors(_ head: [UInt8], _ source: some ByteSource) -> Bool {
        guard head.count >= 10, let n = head.uint64LE(at: 0) else { return false }
        guard n >= 2, n <= maxSafetensorsHeader, n <= UInt64(source.size - 8), head[8] == UInt8(ascii: "{") else { return false }
        // After `{`: optional white space, then a key or the closing brace.
        let end = min(head.count, 8 + Int(n))
        var i = 9
        while i < end, isJSONSpace(head[i]) { i += 1 }
        guard i < end, head[i] == UInt8(ascii: "\"") || head[i] == UInt8(ascii: "}") else { return false }
        // The header ends with `}`, or with the spaces that pad it to an 8-byte boundary.
        guard let last = source.bytes(at: Int64(7 + n), count: 1)?.first else { return false }
        return last == UInt8(ascii: "}") || last == UInt8(ascii: " ")
    }

    static func isJSONSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    // MARK: - GGUF

    static func isGGUF(_ head: [UInt8]) -> Bool {
        guard head.count >= 24, head.starts(with: Array("GGUF".utf8)), let le = head.uint32LE(at: 4) else { return false }
        // Big-endian GGUF files exist (s390x); their version reads byte-swapped.
        let bigEndian = !(1...3).contains(le)
        let version = bigEndian ? le.byteSwapped : le
        guard (1...3).contains(version) else { return false }
        if version == 1 { return true }
        guard var tensors = head.uint64LE(at: 8), var kvs = head.uint64LE(at: 16) else { return false }
        if bigEndian {
            tensors = tensors.byteSwapped
            kvs = kvs.byteSwapped
        }
        return tensors < 1 << 24 && kvs < 1 << 24
    }

    // MARK: - NumPy

    static func isNumpy(_ head: [UInt8], size: Int64) -> Bool {
        guard head.count >= 12, head.starts(with: [0x93] + Array("NUMPY".utf8)) else { return false }
        let major = head[6]
        let minor = head[7]
        guard (1...3).contains(major), minor == 0 else { return false }
        let length: UInt32
        let start: Int
        if major == 1 {
            length = UInt32(head[8]) | UInt32(head[9]) << 8
            start = 10
        } else {
            guard let l = head.uint32LE(at: 8) else { return false }
            length = l
            start = 12
        }
        return length > 0 && Int64(start) + Int64(length) <= size && head.count > start && head[start] == UInt8(ascii: "{")
    }

    // MARK: - HDF5

    static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The superblock is at 0 or after a user block of 512, 1024, 2048… bytes; within the head
    /// that is 0, 512, 1024 and 2048. The superblock version (byte 8) is 0 to 3.
    static func isHDF5(_ head: [UInt8]) -> Bool {
        for offset in [0, 512, 1024, 2048] where head.count >= offset + 9 {
            if Array(head[offset..<offset + 8]) == hdf5Signature && head[offset + 8] <= 3 { return true }
        }
        return false
    }

    // MARK: - PyTorch

    /// `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as pickle's LONG1 writes it.
    static let torchMagic: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// The legacy format pickles the magic number first: PROTO n (2–5), an optional FRAME, LONG1.
    static func isPyTorchLegacy(_ head: [UInt8]) -> Bool {
        guard head.count >= 2 + torchMagic.count, head[0] == 0x80, (2...5).contains(head[1]) else { return false }
        var i = 2
        if head[i] == 0x95 { i += 9 }  // FRAME with an 8-byte length (protocol 4 and later)
        return head.count >= i + torchMagic.count && Array(head[i..<i + torchMagic.count]) == torchMagic
    }

    static let zipLocalHeader: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    static func isTorchRecord(_ name: [UInt8]) -> Bool {
        let suffix = Array("/data.pkl".utf8)
        return name.count > suffix.count && name.suffix(suffix.count).elementsEqual(suffix)
    }

    /// torch.save writes `<name>/data.pkl` first, so the first local header usually settles it;
    /// otherwise the central directory (found from the end-of-central-directory record at the
    /// tail, zip64 included) is searched within its first few KiB.
    static func isPyTorchZip(_ head: [UInt8], _ source: some ByteSource) -> Bool {
        if let nameLength = head.uint16LE(at: 26), head.count >= 30 + Int(nameLength) {
            if isTorchRecord(Array(head[30..<30 + Int(nameLength)])) { return true }
        }
        guard let (offset, size) = centralDirectory(source), size > 0 else { return false }
        guard let cd = source.bytes(at: offset, count: Int(min(size, UInt64(probeSize)))) else { return false }
        var i = 0
        while i + 46 <= cd.count, cd.uint32LE(at: i) == 0x0201_4B50 {
            guard let n = cd.uint16LE(at: i + 28), let extra = cd.uint16LE(at: i + 30), let comment = cd.uint16LE(at: i + 32) else {
                return false
            }
            let nameEnd = i + 46 + Int(n)
            guard nameEnd <= cd.count else { return false }
            if isTorchRecord(Array(cd[(i + 46)..<nameEnd])) { return true }
            i = nameEnd + Int(extra) + Int(comment)
        }
        return false
    }

    /// The offset and size of the zip central directory, from the end-of-central-directory record
    /// in the last few KiB (PyTorch writes no archive comment), following zip64 when needed.
    static func centralDirectory(_ source: some ByteSource) -> (offset: Int64, size: UInt64)? {
        let tailCount = Int(min(source.size, Int64(probeSize)))
        let tailStart = source.size - Int64(tailCount)
        guard tailCount >= 22, let tail = source.bytes(at: tailStart, count: tailCount) else { return nil }
        var eocd = tail.count - 22
        while eocd >= 0, tail.uint32LE(at: eocd) != 0x0605_4B50 { eocd -= 1 }
        guard eocd >= 0, let size32 = tail.uint32LE(at: eocd + 12), let offset32 = tail.uint32LE(at: eocd + 16) else { return nil }
        if size32 != 0xFFFF_FFFF && offset32 != 0xFFFF_FFFF {
            return Int64(offset32) + Int64(size32) <= source.size ? (Int64(offset32), UInt64(size32)) : nil
        }
        // zip64: a locator 20 bytes before the record points at the zip64 end record.
        let locator = eocd - 20
        guard locator >= 0, tail.uint32LE(at: locator) == 0x0706_4B50, let recordOffset = tail.uint64LE(at: locator + 8),
            recordOffset < UInt64(source.size), let record = source.bytes(at: Int64(recordOffset), count: 56),
            record.uint32LE(at: 0) == 0x0606_4B50, let size = record.uint64LE(at: 40), let offset = record.uint64LE(at: 48),
            offset < UInt64(source.size), size <= UInt64(source.size) - offset
        else { return nil }
        return (Int64(offset), size)
    }

    // MARK: - ONNX

    /// `ModelProto` fields and their protobuf wire types (0 varint, 2 length-delimited), from
    /// onnx.proto: ir_version 1, producer_name 2, producer_version 3, domain 4, model_version 5,
    /// doc_string 6, graph 7, opset_import 8, metadata_props 14, training_info 20, functions 25,
    /// configuration 26.
    static let modelProtoFields: [UInt64: UInt64] = [1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2]
    /// IR versions defined so far go up to 11; allow room for a few more.
    static let maxIRVersion: UInt64 = 32
    static let maxFieldsBeforeGraph = 16

    /// A serialized ModelProto starts with field 1 (`ir_version`, a varint 1…32), as protobuf
    /// writers emit fields in number order. From there every field must be a known ModelProto
    /// field with its wire type, in increasing order, until field 7 (`graph`) whose length fits in
    /// the file. Length-delimited fields are skipped by their length, reading only field headers.
    static func isONNX(_ head: [UInt8], _ source: some ByteSource) -> Bool {
        guard head.first == 0x08 else { return false }
        var offset: Int64 = 0
        var previousField: UInt64 = 0
        for _ in 0..<maxFieldsBeforeGraph {
            guard offset < source.size, let bytes = window(head, source, at: offset) else { return false }
            var reader = VarintReader(bytes: bytes)
            guard let key = reader.next() else { return false }
            let field = key >> 3
            let wire = key & 7
            guard field > previousField, modelProtoFields[field] == wire else { return false }
            previousField = field
            guard let value = reader.next() else { return false }
            let headerEnd = offset + Int64(reader.position)
            if field == 1 && !(1...maxIRVersion).contains(value) { return false }
            if wire == 0 {
                offset = headerEnd
                continue
            }
            guard value <= UInt64(source.size - headerEnd) else { return false }
            if field == 7 { return value > 0 }
            offset = headerEnd + Int64(value)
        }
        return false
    }

    /// Up to 20 bytes at `offset` (a protobuf key and a varint), from the head when it has them.
    static func window(_ head: [UInt8], _ source: some ByteSource, at offset: Int64) -> [UInt8]? {
        if offset + 20 <= Int64(head.count) { return Array(head[Int(offset)..<Int(offset) + 20]) }
        return source.bytes(at: offset, count: 20)
    }

    struct VarintReader {
        let bytes: [UInt8]
        var position = 0

        mutating func next() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < bytes.count, shift < 64 {
                let b = bytes[position]
                position += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
    }
}

extension Array where Element == UInt8 {
    func uint16LE(at i: Int) -> UInt16? {
        guard i >= 0, i + 2 <= count else { return nil }
        return UInt16(self[i]) | UInt16(self[i + 1]) << 8
    }

    func uint32LE(at i: Int) -> UInt32? {
        guard i >= 0, i + 4 <= count else { return nil }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[i + $1]) << (8 * UInt32($1)) }
    }

    func uint64LE(at i: Int) -> UInt64? {
        guard i >= 0, i + 8 <= count else { return nil }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[i + $1]) << (8 * UInt64($1)) }
    }
}
