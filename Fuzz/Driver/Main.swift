internal import CLibFuzzer
internal import Glibc
internal import WardenFuzzTargets

/// The libFuzzer driver for every Warden parser (the targets are the library WardenFuzzTargets,
/// which `swift test` replays too). The target is chosen by `WARDEN_FUZZ_TARGET`
/// (`Scripts/fuzz` sets it); libFuzzer's own flags and corpus directories follow on the command
/// line as usual. Built only by `Scripts/fuzz` (Package.swift declares this target when
/// `WARDEN_FUZZ=1`), with `-sanitize=fuzzer,address`.
@main
enum FuzzMain {
    static func main() {
        let name = getenv("WARDEN_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTargets.all.first(where: { $0.name == name }) else {
            // `list` (or anything unknown): one line per target, name then seed globs, for the script.
            let table = FuzzTargets.all.map { ([$0.name] + $0.seeds).joined(separator: " ") + "\n" }.joined()
            let out = name == "list" ? table : "unknown WARDEN_FUZZ_TARGET '\(name)'; the targets and their seeds:\n" + table
            out.utf8CString.withUnsafeBufferPointer { _ = write(name == "list" ? 1 : 2, $0.baseAddress, $0.count - 1) }
            exit(name == "list" ? 0 : 64)
        }
        selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }
}

/// The target of this process, set once in `main` before libFuzzer starts calling back (a C
/// callback cannot capture it; libFuzzer calls it from one thread).
nonisolated(unsafe) var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = selected else { return 0 }
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try target.run(bytes)
    } catch {
        // A crash, so that libFuzzer saves the input as a finding.
        fatalError(error.description)
    }
    return 0
}
