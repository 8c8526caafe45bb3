internal import Glibc
internal import WardenCore
public import WardenFormats

/// Real Debian 12 roots for tests (issue 14): the base `Scripts/roots` builds with debootstrap and
/// real packages, cached outside the checkout, and views of it with test files laid over it.
///
/// The base is never written: Warden only reads it, and a test that needs a different root lays a
/// directory of files over it with `Scripts/in-root --layer` (an overlay in a private mount
/// namespace whose writes are discarded; nothing is copied). `verifyBaseUnchanged()` proves it.
public enum RealRoots {
    /// Why a real root could not be had: the test fails with it, it is never skipped.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The environment variable `Scripts/test` sets to the base's path.
    public static let environmentVariable = "WARDEN_TEST_DEBIAN_ROOT"

    public static var rootsScript: String { Package.root + "/Scripts/roots" }
    public static var inRootScript: String { Package.root + "/Scripts/in-root" }
    /// The fixed time of every audit here (`testNow`).
    public static let now = "2026-11-29T12:00:00Z"

    private static let base: Result<String, Failure> = {
        if let path = getenv(environmentVariable).map({ String(cString: $0) }), !path.isEmpty {
            guard isDirectory(path + "/etc") else {
                return .failure(Failure("\(environmentVariable)=\(path) is not a root filesystem (no /etc)"))
            }
            return .success(path)
        }
        // Not set (a bare `swift test`): build or find the base as Scripts/test would. A cold
        // build takes minutes; a cached one answers at once.
        let r = run(rootsScript, [], timeout: 1800)
        let path = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard r.status == 0, !r.timedOut, isDirectory(path + "/etc") else {
            return .failure(
                Failure(
                    "Scripts/roots could not build the Debian 12 root (exit \(r.status)\(r.timedOut ? ", timed out" : "")): \(r.stderr.suffix(2000))"
                ))
        }
        return .success(path)
    }()

    /// The Debian 12 base (`$WARDEN_TEST_DEBIAN_ROOT`, else what `Scripts/roots` prints).
    public static func debian12() throws(Failure) -> String { try base.get() }

    /// Fails unless the cached base is exactly as `Scripts/roots` left it (every entry's type,
    /// mode, owner, size, link target and ctime against the manifest taken when it was built).
    public static func verifyBaseUnchanged() throws(Failure) {
        let r = run(rootsScript, ["--verify", try debian12()], timeout: 300)
        guard r.status == 0 else { throw Failure("Scripts/roots --verify: \(r.stderr)") }
    }

    /// The warden binary of the build these tests belong to: the one beside the running test
    /// bundle (so `swift test --scratch-path DIR` tests DIR's build), else `Package.wardenBinary`.
    public static let wardenBinary: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // …/debug/wardenPackageTests.xctest (a file on Linux)
            let dir = String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
            if access(dir + "/warden", X_OK) == 0 { return dir + "/warden" }
        }
        return Package.wardenBinary
    }()

    /// Runs `command` chrooted into `root` with `layers` laid over it (Scripts/in-root: private
    /// mount and PID namespaces, an overlay whose writes are discarded).
    public static func inRoot(_ root: String, layers: [String] = [], _ command: [String], timeout: Double = 120) -> RunResult {
        run(inRootScript, layers.flatMap { ["--layer", $0] } + [root] + command, timeout: timeout)
    }

    /// `warden audit` of `root` with `layers` laid over it, as JSON at the fixed time, unsigned.
    /// Without layers the base itself is audited (Warden only reads it).
    public static func audit(_ root: String, layers: [String] = [], profile: String, extra: [String] = []) throws -> (
        status: Int32, document: JSON, stderr: String
    ) {
        let arguments =
            [
                "audit", "--root", layers.isEmpty ? root : "@ROOT@", "--profile", profile, "--no-sign",
                "--format", "json", "--now", now,
            ] + extra
        let r =
            layers.isEmpty
            ? run(wardenBinary, arguments, timeout: 300)
            : run(inRootScript, layers.flatMap { ["--layer", $0] } + ["--outside", root, wardenBinary] + arguments, timeout: 300)
        guard !r.timedOut else { throw Failure("warden audit timed out: \(r.stderr)") }
        guard let document = try? JSON.parse(r.stdout) else {
            throw Failure("warden audit (exit \(r.status)) printed no findings document: \(r.stderr.suffix(2000))")
        }
        return (r.status, document, r.stderr)
    }

    /// `Tests/Roots/<name>`: a directory of files to lay over the base.
    public static func layer(_ name: String) -> String { Package.root + "/Tests/Roots/" + name }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}

/// One row of a status table in a markdown document (docs/STOCK-ROOT.md): a control's expected
/// status per profile and why.
public struct ExpectedStatus: Sendable, Equatable {
    public var control: String
    /// Profile id → status (`pass`, `fail`, `error`, …); a profile without the control is absent.
    public var statuses: [String: String]
    public var why: String
}

/// Reads the first markdown table after the heading `heading` whose header names `control`
/// and the profile columns (`SL3`, `SL4`, …) and a `why` column. Cells are trimmed, backticks
/// removed; `—` or `-` means the profile has no such control.
public func statusTable(markdown: String, heading: String) throws -> [ExpectedStatus] {
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(where: { $0.hasPrefix("#") && String($0.drop(while: { $0 == "#" })).trimmingSpaces == heading })
    else {
        throw RealRoots.Failure("no heading \"\(heading)\"")
    }
    func cells(_ line: String) -> [String] {
        var s = line.trimmingSpaces
        if s.hasPrefix("|") { s.removeFirst() }
        if s.hasSuffix("|") { s.removeLast() }
        return s.split(separator: "|", omittingEmptySubsequences: false).map { String($0).replacingAll("`", with: "").trimmingSpaces }
    }
    var i = start + 1
    while i < lines.count, !lines[i].trimmingSpaces.hasPrefix("|") {
        if lines[i].hasPrefix("#") { throw RealRoots.Failure("no table under \"\(heading)\"") }
        i += 1
    }
    guard i + 1 < lines.count else { throw RealRoots.Failure("no table under \"\(heading)\"") }
    let header = cells(lines[i]).map { $0.lowercased() }
    guard let controlColumn = header.firstIndex(of: "control"), let whyColumn = header.firstIndex(of: "why") else {
        throw RealRoots.Failure("the table under \"\(heading)\" has no `control` or `why` column: \(header)")
    }
    let profileColumns = header.enumerated().filter { $0.element.hasPrefix("sl") }
    var rows: [ExpectedStatus] = []
    i += 2  // the header and its |---| line
    while i < lines.count, lines[i].trimmingSpaces.hasPrefix("|") {
        let c = cells(lines[i])
        guard c.count == header.count else {
            throw RealRoots.Failure("line \(i + 1): \(c.count) cells, the header has \(header.count)")
        }
        var statuses: [String: String] = [:]
        for (column, profile) in profileColumns where !["—", "-", ""].contains(c[column]) {
            statuses[profile] = c[column]
        }
        rows.append(ExpectedStatus(control: c[controlColumn], statuses: statuses, why: c[whyColumn]))
        i += 1
    }
    return rows
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }

    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
