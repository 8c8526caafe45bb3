import HostFacts
import Testing
import WardenFormats
import WardenTestSupport

/// A named file content; the name alone describes the test case.
struct Sample: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var format: WeightFormat?
    var testDescription: String { name }

    init(_ name: String, _ bytes: [UInt8], _ format: WeightFormat? = nil) {
        self.name = name
        self.bytes = bytes
        self.format = format
    }
}

@Suite struct WeightRecognizerTests {
    typealias W = WeightFiles

    static let weights: [Sample] = [
        Sample("safetensors", W.safetensors(), .safetensors),
        Sample("safetensors with an empty header", W.le(UInt64(8)) + Array("{}      ".utf8), .safetensors),
        Sample("gguf v3", W.gguf(), .gguf),
        Sample("gguf v1", W.gguf(version: 1), .gguf),
        Sample("gguf v3 big-endian", W.gguf(bigEndian: true), .gguf),
        Sample("pytorch zip, data.pkl first", W.pytorchZip(), .pytorchZip),
        Sample("pytorch zip, data.pkl last (central directory)", W.pytorchZip(dataPklFirst: false), .pytorchZip),
        Sample("pytorch zip64, data.pkl last", W.pytorchZip(dataPklFirst: false, zip64: true), .pytorchZip),
        Sample("pytorch zip named after the file", W.pytorchZip(prefix: "resnet50"), .pytorchZip),
        Sample("pytorch legacy pickle", W.pytorchLegacy(), .pytorchLegacy),
        Sample("numpy 1.0", W.numpy(), .numpy),
        Sample("numpy 2.0", W.numpy(major: 2), .numpy),
        Sample("hdf5", W.hdf5(), .hdf5),
        Sample("hdf5 after a 512-byte user block", W.hdf5(userBlock: 512), .hdf5),
        Sample("onnx", W.onnx(), .onnx),
        Sample("onnx with a doc string longer than the head", W.onnx(docString: 10_000), .onnx),
    ]

    static let impostors: [Sample] = [
        Sample("empty", []),
        Sample("text named model.safetensors", Array(String(repeating: "hello, these are notes\n", count: 200).utf8)),
        Sample("safetensors header longer than the file", W.le(UInt64(4096)) + Array(#"{"w":1}"#.utf8)),
        Sample("8-byte length then a JSON list", W.le(UInt64(8)) + Array("[1,2,3] ".utf8)),
        Sample("safetensors header not ending in } or padding", W.le(UInt64(8)) + Array(#"{"a":1,x"#.utf8) + [0, 0]),
        Sample("GGUF magic with version 99", Array("GGUF".utf8) + W.le(UInt32(99)) + [UInt8](repeating: 0, count: 32)),
        Sample(
            "GGUF with an absurd tensor count", Array("GGUF".utf8) + W.le(UInt32(3)) + W.le(UInt64.max) + W.le(UInt64(1)) + [0, 0, 0, 0]),
        Sample("zip without data.pkl", W.zip([("docs/readme.txt", Array("hi".utf8)), ("docs/a.pkl", [0x80, 0x02, 0x2E])])),
        Sample("zip whose data.pkl is at the top level", W.zip([("data.pkl", [0x80, 0x02, 0x2E])])),
        Sample("truncated zip header", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00]),
        Sample("numpy magic with version 9", [0x93] + Array("NUMPY".utf8) + [9, 0, 10, 0] + Array("{}".utf8)),
        Sample("hdf5 signature at offset 100", [UInt8](repeating: 0, count: 100) + W.hdf5()),
        Sample("pickle that is not PyTorch's", [0x80, 0x02, 0x7D, 0x71, 0x00, 0x2E] + [UInt8](repeating: 0, count: 20)),
        Sample(
            "protobuf with an unknown field before the graph",
            W.field(1, varint: 8) + W.field(9, Array("x".utf8)) + W.field(7, [0x0A, 0x00])),
        Sample(
            "protobuf whose graph is longer than the file", W.field(1, varint: 8) + W.varint(7 << 3 | 2) + W.varint(1000) + [0x0A, 0x00]),
        Sample("protobuf with ir_version 0", W.field(1, varint: 0) + W.field(7, [0x0A, 0x00])),
        Sample("0x08 then text", [0x08, 0x08] + Array("hello world, not protobuf\n".utf8)),
    ]

    @Test(arguments: weights)
    func recognisesWeights(_ sample: Sample) {
        #expect(WeightRecognizer.recognize(MemorySource(sample.bytes)) == sample.format)
    }

    @Test(arguments: impostors)
    func rejectsImpostors(_ sample: Sample) {
        #expect(WeightRecognizer.recognize(MemorySource(sample.bytes)) == nil)
    }

    /// The zip central directory is reached through a bounded tail read, not the whole file.
    @Test func zipIsRecognisedFromBoundedReads() {
        final class Counting: ByteSource {
            let inner: MemorySource
            var largest = 0
            var total = 0
            init(_ bytes: [UInt8]) { inner = MemorySource(bytes) }
            var size: Int64 { inner.size }
            func bytes(at offset: Int64, count: Int) -> [UInt8]? {
                largest = max(largest, count)
                total += count
                return inner.bytes(at: offset, count: count)
            }
        }
        // 1 MiB of tensor data between the local headers and the central directory.
        let big = W.zip([("archive/data/0", [UInt8](repeating: 7, count: 1 << 20)), ("archive/data.pkl", [0x80, 0x02, 0x2E])])
        let source = Counting(big)
        #expect(WeightRecognizer.recognize(source) == .pytorchZip)
        #expect(source.largest <= 4096)
        #expect(source.total <= 16 << 10)
    }
}
