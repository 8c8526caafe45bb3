internal import Glibc
public import HostFacts
public import OpenSSLSigning
internal import Synchronization
public import WardenCore
public import WardenFormats
public import WardenProfiles

/// Paths of the source tree, for tests.
public enum Package {
    /// The package root (the directory holding Package.swift).
    public static let root: String = {
        var dir = #filePath
        for _ in 0..<3 { dir = String(dir[..<dir.lastIndex(of: "/")!]) }
        return dir
    }()

    public static var profiles: String { root + "/Profiles" }
    public static var fixtures: String { root + "/Tests/Fixtures" }

    /// `Tests/Fixtures/<name>/root`.
    public static func fixtureRoot(_ name: String) -> String { fixtures + "/" + name + "/root" }

    /// The debug build of the CLI (built by `swift build`, which `swift test` runs first).
    public static var wardenBinary: String { root + "/.build/debug/warden" }
}

/// The repository's catalog and profiles (`Profiles/`, which the built-in set embedded in the
/// binary must equal: `EmbeddedProfilesTests`).
public enum BuiltIn {
    public static let store = ProfileStore(directory: Package.profiles)

    public static func catalog() throws -> Catalog {
        try store.catalog(facts: ProbeRegistry.factTypes)
    }

    public static func profile(_ id: String) throws -> ResolvedProfile {
        try store.resolve(id, catalog: try catalog())
    }
}

/// A fixed time for reproducible evaluations: 2026-11-29T12:00:00Z.
public let testNow = Timestamp(rfc3339: "2026-11-29T12:00:00Z")!

/// Audits `root` with the given profile and optional site text, all in process; with a canary
/// key, the site's canaries are redacted as the CLI redacts them.
public func audit(
    root: String, profile: String = "sl3", site: String? = nil, probes: [any Probe] = ProbeRegistry.all, canaryKey: HMACKey? = nil
) throws -> (facts: FactSet, findings: [Finding]) {
    let hostRoot = try HostRoot(root)
    let siteFile = try site.map { try Site.parse($0, file: "site.yaml", digester: .libcrypto) }
    let redaction = try canaryKey.map { try CanaryRedaction(canaries: siteFile?.canary ?? [], key: $0) }
    let facts = Collector.collect(root: hostRoot, site: siteFile, probes: probes, redaction: redaction)
    let findings = Evaluator.evaluate(try BuiltIn.profile(profile), facts: facts, now: testNow)
    return (facts, findings)
}

/// A test's own failure with a message (for `throw` where `#require` does not fit).
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The fact `name` that `probe` collects from `root`, checked against the type the probe
/// declares for it (the probe-to-control contract); `site` is the text of a site file, for the
/// probes that look only where the site says (the weight paths, the EDR units, ...).
public func probeFact(_ name: String, of probe: any Probe, root: String, site: String? = nil) throws -> JSON {
    let facts = try audit(root: root, site: site, probes: [probe]).facts
    guard case .value(let value)? = facts[name] else { throw TestFailure("no \(name) fact: \(facts)") }
    guard let type = probe.facts[name] else { throw TestFailure("\(name) is not declared by its probe") }
    let mismatches = FactContract.mismatches(value, type, path: name)
    guard mismatches.isEmpty else { throw TestFailure("\(name) does not match its declared type: \(mismatches)") }
    return value
}

/// The finding of `control` at `profile` over canned facts alone (no host, no probe), each fact
/// first checked against the type its probe declares, so a canned value cannot drift from what
/// the probe really produces; `unavailable` are facts a probe could not collect at all.
public func cannedFinding(
    _ control: String, profile: String, facts: [String: JSON], unavailable: [String: Unavailable] = [:], mode: AuditMode = .offline,
    now: Timestamp = testNow, parameters: JSONObject = [:]
) throws -> Finding {
    if let both = facts.keys.first(where: { unavailable[$0] != nil }) {
        throw TestFailure("\(control) at \(profile): the canned \(both) is given both as a value and as unavailable")
    }
    let all = facts.mapValues { Fact.value($0) }.merging(unavailable.mapValues { .unavailable($0) }) { value, _ in value }
    return try cannedFinding(control, profile: profile, facts: all, mode: mode, now: now, parameters: parameters)
}

/// `cannedFinding` over facts as the collector states them, values and unavailable alike (for
/// tables whose rows hold either). `mode` is the audit's (a live host also has runtime state),
/// `now` the evaluation time, and `parameters` override the control's as the profile sets them.
public func cannedFinding(
    _ control: String, profile: String, facts: [String: Fact], mode: AuditMode = .offline, now: Timestamp = testNow,
    parameters: JSONObject = [:]
) throws -> Finding {
    for case (let name, .value(let value)) in facts {
        guard let type = ProbeRegistry.factTypes[name] else { throw TestFailure("no probe declares \(name)") }
        let mismatches = FactContract.mismatches(value, type, path: name)
        guard mismatches.isEmpty else {
            throw TestFailure("\(control) at \(profile): the canned \(name) does not match its declared type: \(mismatches)")
        }
    }
    var p = try BuiltIn.profile(profile)
    p.controls = p.controls.filter { $0.definition.id == control }
    guard p.controls.count == 1 else { throw TestFailure("\(profile) does not select \(control)") }
    for (name, value) in parameters {
        // A misspelt name would otherwise test the profile's own value and pass unnoticed.
        guard p.controls[0].parameters[name] != nil else { throw TestFailure("\(control) has no parameter \(name)") }
        p.controls[0].parameters[name] = value
    }
    return Evaluator.evaluate(p, facts: FactSet(mode: mode, facts: facts), now: now)[control]
}

/// The finding of `control` under sl3 and under sl4, with only `probes` run on `root`.
public func findingsBySL(_ control: String, root: String, probes: [any Probe]) throws -> [String: Finding] {
    var out: [String: Finding] = [:]
    for profile in ["sl3", "sl4"] { out[profile] = try audit(root: root, profile: profile, probes: probes).findings[control] }
    return out
}

extension Array where Element == Finding {
    /// The finding for a control id (crashes the test when absent, which is a test failure).
    public subscript(control: String) -> Finding {
        guard let f = first(where: { $0.control == control }) else { fatalError("no finding for \(control)") }
        return f
    }
}

/// A temporary directory tree built by a test, removed when the value is released.
public final class TempTree: @unchecked Sendable {
    public let path: String

    /// A new directory `prefix-XXXXXX` in `directory`.
    public init(prefix: String = "warden-test", in directory: String = "/tmp") {
        var template = Array("\(directory)/\(prefix)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: p!)
    }

    deinit { _ = run("/bin/rm", ["-rf", path]) }

    /// Writes a file (creating parent directories) and returns its host path.
    @discardableResult
    public func file(_ relative: String, _ content: String = "", mode: UInt32 = 0o644) -> String {
        bytes(relative, Array(content.utf8), mode: mode)
    }

    @discardableResult
    public func bytes(_ relative: String, _ content: [UInt8], mode: UInt32 = 0o644) -> String {
        let full = path + "/" + relative
        makeParents(relative)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode_t(mode))
        precondition(fd >= 0, "cannot create \(full)")
        content.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(full, mode_t(mode))
        return full
    }

    /// Creates a directory (and its parents) and sets its mode.
    @discardableResult
    public func directory(_ relative: String, mode: UInt32 = 0o755) -> String {
        let full = relative.isEmpty ? path : path + "/" + relative
        var current = ""
        for part in full.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
        chmod(full, mode_t(mode))
        return full
    }

    /// Creates the missing parent directories of `relative`, leaving existing ones as they are.
    private func makeParents(_ relative: String) {
        var current = path
        for part in relative.split(separator: "/").dropLast() {
            current += "/" + part
            mkdir(current, 0o755)
        }
    }

    public func symlink(_ relative: String, to target: String) {
        makeParents(relative)
        Glibc.symlink(target, path + "/" + relative)
    }

    /// Copies a fixture tree into this one (so tests can change modes and owners git cannot store).
    public func copy(fixture name: String) {
        _ = run("/bin/cp", ["-a", Package.fixtureRoot(name) + "/.", path])
    }
}

private let spawnLock = Mutex<Void>(())

/// Runs a program and returns its exit status and output (stdout, stderr), without a shell.
@discardableResult
public func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) -> (
    status: Int32, stdout: String, stderr: String
) {
    let r = run(program, arguments, environment: environment, timeout: nil)
    return (r.status, r.stdout, r.stderr)
}

/// What a bounded run of a program came to.
public struct RunResult: Sendable {
    /// The exit status, or 128 + the signal that ended it.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The program did not finish within the time bound and was killed (SIGKILL).
    public var timedOut: Bool
    public var seconds: Double
    /// The program's peak resident memory (`ru_maxrss`), in KiB.
    public var maxResidentKiB: Int
}

/// Runs a program without a shell, reading stdout and stderr together as they come, and kills
/// it when it outlives `timeout` seconds: a test about a hang fails instead of stalling CI.
public func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double?) -> RunResult {
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    var env: [String: String] = [:]
    var e = environ
    while let entry = e.pointee {
        let s = String(cString: entry)
        if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        e += 1
    }
    for (k, v) in environment { env[k] = v }
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    var outPipe: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    let started = monotonicSeconds()
    var pid: pid_t = 0
    // Tests run concurrently: the pipes are made close-on-exec, and no other spawn happens while
    // their write ends are open here, so no other child (a daemon such as swtpm above all) can
    // inherit them and keep them open, which would leave the reader below waiting for EOF forever.
    let rc = spawnLock.withLock { _ in
        pipe(&outPipe)
        pipe(&errPipe)
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        // The test runner's threads block signals; a child must start with none blocked, or it
        // could not be stopped with SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        posix_spawnattr_destroy(&attributes)
        posix_spawn_file_actions_destroy(&actions)
        close(outPipe[1])
        close(errPipe[1])
        return rc
    }
    for p in argv + envp { free(p) }
    guard rc == 0 else {
        close(outPipe[0])
        close(errPipe[0])
        return RunResult(
            status: 127, stdout: "", stderr: "cannot run \(program): \(String(cString: strerror(rc)))",
            timedOut: false, seconds: 0, maxResidentKiB: 0)
    }
    var output: [[UInt8]] = [[], []]
    var open = [outPipe[0], errPipe[0]]
    var timedOut = false
    var buffer = [UInt8](repeating: 0, count: 65536)
    while open.contains(where: { $0 >= 0 }) {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        var wait: Int32 = -1
        if let timeout {
            let left = timeout - (monotonicSeconds() - started)
            if left <= 0 {
                kill(pid, SIGKILL)
                timedOut = true
                break
            }
            wait = Int32(min(left, 1) * 1000) + 1
        }
        guard poll(&fds, nfds_t(fds.count), wait) >= 0 || errno == EINTR else { break }
        for (i, p) in fds.enumerated() where p.fd >= 0 && p.revents != 0 {
            let n = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, 65536) }
            if n > 0 {
                output[i].append(contentsOf: buffer[0..<n])
            } else {
                close(p.fd)
                open[i] = -1
            }
        }
    }
    for fd in open where fd >= 0 { close(fd) }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return RunResult(
        status: exit, stdout: String(decoding: output[0], as: UTF8.self), stderr: String(decoding: output[1], as: UTF8.self),
        timedOut: timedOut, seconds: monotonicSeconds() - started, maxResidentKiB: usage.ru_maxrss)
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension String {
    /// The string with the first occurrence of `target` replaced (for corrupting test inputs).
    public func replacingFirst(_ target: String, with replacement: String) -> String {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) {
                return String(self[..<i]) + replacement + String(self[index(i, offsetBy: target.count)...])
            }
            i = index(after: i)
        }
        return self
    }
}

/// A deterministic random number generator (SplitMix64) for generated test cases: the same seed
/// gives the same cases on every run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// SHA-256 through libcrypto, for fixtures and expected values. libcrypto failing stops the
/// test run: it is never a value to compare against.
public func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    do {
        return try Digester.libcrypto.sha256(Array(bytes))
    } catch {
        fatalError("libcrypto SHA-256 failed: \(error)")
    }
}

/// `sha256` in lower-case hex.
public func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
    do {
        return try Digester.libcrypto.sha256Hex(Array(bytes))
    } catch {
        fatalError("libcrypto SHA-256 failed: \(error)")
    }
}
