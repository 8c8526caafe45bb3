/// Real, minimal files of each weight format, built byte by byte the way the format's own writer
/// lays them out (safetensors, llama.cpp's gguf, torch.save's zip and legacy pickle,
/// numpy.save, HDF5's superblock, onnx's protobuf ModelProto), and impostors that resemble them.
enum WeightFiles {
    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    /// One F32 tensor `w` of `floats` zeros; the header padded with spaces to 8 bytes, as the
    /// reference writer does.
    static func safetensors(floats: Int = 4) -> [UInt8] {
        var header = Array(#"{"w":{"dtype":"F32","shape":[\#(floats)],"data_offsets":[0,\#(floats * 4)]}}"#.utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        return le(UInt64(header.count)) + header + [UInt8](repeating: 0, count: floats * 4)
    }

    /// GGUF v3 (or v1, or big-endian v3): one metadata string, one F32 tensor, data aligned to 32.
    static func gguf(version: UInt32 = 3, bigEndian: Bool = false) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { bigEndian ? be(v) : le(v) }
        func u64(_ v: UInt64) -> [UInt8] { bigEndian ? be(v) : le(v) }
        func count(_ v: Int) -> [UInt8] { version == 1 ? u32(UInt32(v)) : u64(UInt64(v)) }
        func string(_ s: String) -> [UInt8] { count(s.utf8.count) + Array(s.utf8) }
        var out = Array("GGUF".utf8) + u32(version) + count(1) + count(1)
        out += string("general.architecture") + u32(8) + string("llama")  // type 8: string
        out += string("w") + u32(1) + count(4) + u32(0) + u64(0)  // 1 dim of 4, F32, offset 0
        out += [UInt8](repeating: 0, count: (32 - out.count % 32) % 32)
        return out + [UInt8](repeating: 0, count: 16)
    }

    /// `torch.save`'s layout: `archive/data.pkl` first (or not), `byteorder`, a tensor record,
    /// `version`; stored, with a central directory; zip64 end records when asked.
    static func pytorchZip(dataPklFirst: Bool = true, zip64: Bool = false, prefix: String = "archive") -> [UInt8] {
        let pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E]  // protocol 2: an empty dict
        var entries: [(String, [UInt8])] = [
            ("\(prefix)/byteorder", Array("little".utf8)),
            ("\(prefix)/data/0", [UInt8](repeating: 0, count: 64)),
            ("\(prefix)/version", Array("3\n".utf8)),
        ]
        entries.insert(("\(prefix)/data.pkl", pickle), at: dataPklFirst ? 0 : entries.count)
        return zip(entries, zip64: zip64)
    }

    /// A stored (uncompressed) zip archive.
    static func zip(_ entries: [(String, [UInt8])], zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, data) in entries {
            let offset = UInt32(out.count)
            let crc = crc32(data)
            let common: [UInt8] =
                le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0x21))  // flags, stored, time, date
                + le(crc) + le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(name.utf8.count)) + le(UInt16(0))
            out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + common + Array(name.utf8) + data
            central +=
                le(UInt32(0x0201_4B50)) + le(UInt16(20)) + le(UInt16(20)) + common
                + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0)) + le(offset) + Array(name.utf8)
        }
        let cdOffset = out.count
        out += central
        if zip64 {
            let record = out.count
            out +=
                le(UInt32(0x0606_4B50)) + le(UInt64(44)) + le(UInt16(45)) + le(UInt16(45)) + le(UInt32(0)) + le(UInt32(0))
                + le(UInt64(entries.count)) + le(UInt64(entries.count)) + le(UInt64(central.count)) + le(UInt64(cdOffset))
            out += le(UInt32(0x0706_4B50)) + le(UInt32(0)) + le(UInt64(record)) + le(UInt32(1))
            out +=
                le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0xFFFF)) + le(UInt16(0xFFFF))
                + le(UInt32(0xFFFF_FFFF)) + le(UInt32(0xFFFF_FFFF)) + le(UInt16(0))
        } else {
            out +=
                le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(entries.count)) + le(UInt16(entries.count))
                + le(UInt32(central.count)) + le(UInt32(cdOffset)) + le(UInt16(0))
        }
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// `torch.save(..., _use_new_zipfile_serialization=False)`: pickle protocol 2, the magic
    /// number as LONG1, then the rest of the pickles.
    static func pytorchLegacy() -> [UInt8] {
        [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
            + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]  // protocol version 1001
            + [UInt8](repeating: 0, count: 32)
    }

    /// `numpy.save` of four float32 zeros, format version 1.0 or 2.0: the header dict padded with
    /// spaces and a newline to a multiple of 64 bytes.
    static func numpy(major: UInt8 = 1) -> [UInt8] {
        let prefix = major == 1 ? 10 : 12
        var dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }".utf8)
        dict += [UInt8](repeating: 0x20, count: (64 - (prefix + dict.count + 1) % 64) % 64) + [0x0A]
        let length = major == 1 ? le(UInt16(dict.count)) : le(UInt32(dict.count))
        return [0x93] + Array("NUMPY".utf8) + [major, 0] + length + dict + [UInt8](repeating: 0, count: 16)
    }

    /// An HDF5 superblock (version 0) after a user block of `userBlock` bytes.
    static func hdf5(userBlock: Int = 0) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: userBlock)
        out += [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        out += [0, 0, 0, 0, 0, 8, 8, 0]  // versions, sizes of offsets and lengths
        out += le(UInt16(4)) + le(UInt16(16)) + le(UInt32(0))  // group leaf/internal K, flags
        out += le(UInt64(0)) + le(UInt64.max) + le(UInt64(96 + userBlock)) + le(UInt64.max)  // base, free space, EOF, driver
        return out + [UInt8](repeating: 0, count: 40)  // root group symbol table entry
    }

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }

    static func field(_ number: UInt64, _ bytes: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(UInt64(bytes.count)) + bytes }
    static func field(_ number: UInt64, varint value: UInt64) -> [UInt8] { varint(number << 3) + varint(value) }

    /// An ONNX ModelProto: ir_version 8, producer, a doc string, a graph with one Identity node,
    /// one input and one output, and opset 17.
    static func onnx(docString: Int = 10) -> [UInt8] {
        let node = field(1, Array("x".utf8)) + field(2, Array("y".utf8)) + field(4, Array("Identity".utf8))
        // TypeProto.tensor_type: elem_type FLOAT, shape [4]
        let tensorType = field(1, field(1, varint: 1) + field(2, field(1, field(1, varint: 4))))
        let graph =
            field(1, node) + field(2, Array("g".utf8))
            + field(11, field(1, Array("x".utf8)) + field(2, tensorType))
            + field(12, field(1, Array("y".utf8)) + field(2, tensorType))
        return field(1, varint: 8) + field(2, Array("warden-test".utf8)) + field(3, Array("1.0".utf8))
            + field(6, [UInt8](repeating: 0x61, count: docString)) + field(7, graph) + field(8, field(2, varint: 17))
    }
}
