import HostFacts
import OpenSSLSigning
import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// INT-004: the TPM event log replayed against the TPM's SHA-256 PCRs; advisory at SL3, a verdict
/// at SL4. The logs are built here byte by byte after the TCG PC Client Platform Firmware Profile
/// (crypto-agile format), and `tpm2_eventlog` (tpm2-tools 5.4, Debian 12) replays the same bytes
/// as the oracle (docs/DAEMON-SEMANTICS.md, "TPM event log").
@Suite struct MeasuredBootTests {
    static let tool = "/usr/bin/tpm2_eventlog"
    static let logPath = "sys/kernel/security/tpm0/binary_bios_measurements"
    static let pcrDir = "sys/class/tpm/tpm0/pcr-sha256/"

    /// A crypto-agile log: the Spec ID event naming SHA-1 and SHA-256, then events with both
    /// digests of their data (as firmware measures most events).
    struct LogBuilder {
        var bytes: [UInt8] = []

        static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

        init() {
            let spec: [UInt8] =
                Array("Spec ID Event03".utf8) + [0] + LogBuilder.u32(0) + [0, 2, 0, 2] + LogBuilder.u32(2) + LogBuilder.u16(0x0004)
                + LogBuilder.u16(20) + LogBuilder.u16(0x000B) + LogBuilder.u16(32) + [0]
            bytes = LogBuilder.u32(0) + LogBuilder.u32(3) + [UInt8](repeating: 0, count: 20) + LogBuilder.u32(UInt32(spec.count)) + spec
        }

        mutating func event(pcr: UInt32, type: UInt32, data: [UInt8], sha256: [UInt8]? = nil) throws {
            let s1 = try OpenSSLDigest.sha1(data)
            let s256 = try sha256 ?? OpenSSLDigest.sha256(data)
            bytes += LogBuilder.u32(pcr) + LogBuilder.u32(type) + LogBuilder.u32(2)
            bytes += LogBuilder.u16(0x0004) + s1 + LogBuilder.u16(0x000B) + s256
            bytes += LogBuilder.u32(UInt32(data.count)) + data
        }

        /// A boot as UEFI firmware records it: a POST code, the separators of PCRs 0-7, the EFI
        /// actions, the boot loader's command in PCR 8.
        static func boot() throws -> LogBuilder {
            var b = LogBuilder()
            try b.event(pcr: 0, type: 0x1, data: Array("POST CODE".utf8))
            try b.event(pcr: 7, type: 0x8000_0007, data: Array("Exit Boot Services Invocation".utf8))
            for pcr in UInt32(0)...7 { try b.event(pcr: pcr, type: 0x4, data: [0, 0, 0, 0]) }
            try b.event(pcr: 4, type: 0x5, data: Array("Calling EFI Application from Boot Option".utf8))
            try b.event(pcr: 8, type: 0xD, data: Array("grub_cmd: linux /vmlinuz-6.1.0-28-amd64 root=/dev/vda1".utf8))
            return b
        }
    }

    /// The SHA-256 PCRs tpm2_eventlog prints after replaying `file` (its `pcrs: sha256:` map).
    static func toolPCRs(_ file: String) throws -> [Int: String] {
        let r = run(tool, [file])
        try #require(r.status == 0, "tpm2_eventlog: \(r.stderr)")
        var out: [Int: String] = [:]
        var inBank = false
        for line in r.stdout.split(separator: "\n") {
            let text = MeasuredBootTests.trim(line)
            if line.hasPrefix("  ") && text.hasSuffix(":") && !text.contains(" ") { inBank = text == "sha256:" }
            guard inBank, line.hasPrefix("    "), let colon = text.firstIndex(of: ":") else { continue }
            let index = Int(MeasuredBootTests.trim(text[..<colon]))
            let value = MeasuredBootTests.trim(text[text.index(after: colon)...])
            if let index, value.hasPrefix("0x") { out[index] = String(value.dropFirst(2)) }
        }
        return out
    }

    static func trim(_ s: some StringProtocol) -> String {
        String(s.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    func fact(_ tree: TempTree) throws -> JSON { try probeFact("measured_boot", of: MeasuredBootProbe(), root: tree.path) }

    func findings(_ tree: TempTree) throws -> [String: Finding] {
        try findingsBySL("INT-004", root: tree.path, probes: [MeasuredBootProbe()])
    }

    /// The tree with `log` and the TPM's PCRs as the kernel prints them (upper-case hex).
    func host(_ log: LogBuilder, pcrs: [Int: String]) -> TempTree {
        let tree = TempTree()
        tree.bytes(MeasuredBootTests.logPath, log.bytes)
        tree.directory(MeasuredBootTests.pcrDir)
        for (pcr, value) in pcrs { tree.file(MeasuredBootTests.pcrDir + "\(pcr)", value.uppercased() + "\n") }
        return tree
    }

    @Test func aLogThatReplaysToTheTPMsPCRsPassesAsTpm2EventlogReplaysIt() throws {
        let log = try LogBuilder.boot()
        let probe = host(log, pcrs: [:])
        let tool = try MeasuredBootTests.toolPCRs(probe.path + "/" + MeasuredBootTests.logPath)
        #expect(tool.keys.sorted() == Array(0...8), "\(tool)")
        let tree = host(log, pcrs: tool)
        let v = try fact(tree)
        let pcrs = try #require(v["pcrs"]?.arrayValue)
        #expect(pcrs.compactMap { $0["pcr"]?.intValue } == Array(0...8))
        for item in pcrs {
            let pcr = try #require(item["pcr"]?.intValue)
            #expect(item["replayed"]?.stringValue == tool[Int(pcr)], "PCR \(pcr)")
            #expect(item["matches"] == true)
        }
        #expect(pcrs.first { $0["pcr"] == 4 }?["events"] == 2)
        #expect(v["events"] == 12)
        #expect(v["banks"] == ["sha1", "sha256"])
        let f = try findings(tree)
        #expect(f["sl4"]?.status == .pass && f["sl4"]?.advisory == false, "\(f["sl4"]?.summary ?? "")")
        #expect(f["sl3"]?.status == .pass && f["sl3"]?.advisory == true, "\(f["sl3"]?.summary ?? "")")
    }

    /// One event's SHA-256 digest changed after the TPM was extended: the replay of its PCR no
    /// longer gives the TPM's value. tpm2_eventlog replays the tampered bytes to the same value
    /// Warden does, and INT-004 fails naming the PCR with both values.
    @Test func aTamperedLogFailsNamingThePCRAndBothValues() throws {
        let clean = try LogBuilder.boot()
        let cleanTree = host(clean, pcrs: [:])
        let held = try MeasuredBootTests.toolPCRs(cleanTree.path + "/" + MeasuredBootTests.logPath)
        var tampered = LogBuilder()
        try tampered.event(pcr: 0, type: 0x1, data: Array("POST CODE".utf8))
        try tampered.event(pcr: 7, type: 0x8000_0007, data: Array("Exit Boot Services Invocation".utf8))
        for pcr in UInt32(0)...7 { try tampered.event(pcr: pcr, type: 0x4, data: [0, 0, 0, 0]) }
        try tampered.event(
            pcr: 4, type: 0x5, data: Array("Calling EFI Application from Boot Option".utf8),
            sha256: try OpenSSLDigest.sha256(Array("a boot loader nobody reviewed".utf8)))
        try tampered.event(pcr: 8, type: 0xD, data: Array("grub_cmd: linux /vmlinuz-6.1.0-28-amd64 root=/dev/vda1".utf8))
        let tree = host(tampered, pcrs: held)
        let tool = try MeasuredBootTests.toolPCRs(tree.path + "/" + MeasuredBootTests.logPath)
        let v = try fact(tree)
        let items = try #require(v["pcrs"]?.arrayValue)
        for item in items {
            let pcr = Int(try #require(item["pcr"]?.intValue))
            #expect(item["replayed"]?.stringValue == tool[pcr], "PCR \(pcr)")
            #expect(item["matches"]?.boolValue == (pcr != 4), "PCR \(pcr)")
        }
        let replayed4 = try #require(tool[4])
        let held4 = try #require(held[4])
        #expect(replayed4 != held4)
        let f = try findings(tree)
        for profile in ["sl3", "sl4"] {
            let finding = try #require(f[profile])
            #expect(finding.status == .fail && finding.advisory == (profile == "sl3"), "\(profile): \(finding.summary)")
            #expect(finding.summary.contains("PCR 4: replayed \(replayed4), the TPM holds \(held4)"), "\(finding.summary)")
            #expect(finding.evidence.filter { $0.ok == false }.map(\.source) == ["/sys/class/tpm/tpm0/pcr-sha256/4"], "\(finding.evidence)")
        }
    }

    /// EV_NO_ACTION events extend nothing, and the StartupLocality one starts PCR 0 at the
    /// locality (the TCG profile, section 10.4.5.3). tpm2-tools 5.4 extends them (fixed in 5.5:
    /// tpm2-tools issue 3224) and knows no StartupLocality (5.5, pull request 3242), so here
    /// Warden is checked against the specification's rule computed directly.
    @Test func startupLocalitySetsPCR0AndNoActionEventsExtendNothing() throws {
        var log = LogBuilder()
        let locality = Array("StartupLocality".utf8) + [0, 3]
        log.bytes += LogBuilder.u32(0) + LogBuilder.u32(3) + LogBuilder.u32(2) + LogBuilder.u16(0x0004)
        log.bytes += [UInt8](repeating: 0, count: 20) + LogBuilder.u16(0x000B) + [UInt8](repeating: 0, count: 32)
        log.bytes += LogBuilder.u32(UInt32(locality.count)) + locality
        try log.event(pcr: 0, type: 0x1, data: Array("POST CODE".utf8))
        var pcr0 = [UInt8](repeating: 0, count: 31) + [3]
        pcr0 = try OpenSSLDigest.sha256(pcr0 + OpenSSLDigest.sha256(Array("POST CODE".utf8)))
        let expected = pcr0.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let tree = host(log, pcrs: [0: expected])
        let v = try fact(tree)
        #expect(v["pcrs"]?.arrayValue?.map { [$0["pcr"], $0["replayed"], $0["matches"]] } == [[0, .string(expected), true]])
        let tool = try MeasuredBootTests.toolPCRs(tree.path + "/" + MeasuredBootTests.logPath)
        #expect(tool[0] != expected, "tpm2-tools now follows the specification: DAEMON-SEMANTICS.md's exception can go")
    }

    /// The committed fixtures (`Tests/Tools/tpm-eventlog.py`): host-conformant's log replays to
    /// its PCRs, as tpm2_eventlog replays it; tpm-pcr7-does-not-replay holds zeros in PCR 7.
    @Test func theFixtures() throws {
        let good = Package.fixtureRoot("host-conformant")
        let tool = try MeasuredBootTests.toolPCRs(good + "/" + MeasuredBootTests.logPath)
        let v = try probeFact("measured_boot", of: MeasuredBootProbe(), root: good)
        #expect(v["pcrs"]?.arrayValue?.compactMap { $0["replayed"]?.stringValue } == tool.sorted { $0.key < $1.key }.map(\.value))
        for (profile, f) in try findingsBySL("INT-004", root: good, probes: [MeasuredBootProbe()]) {
            #expect(f.status == .pass, "\(profile): \(f.summary)")
        }
        let bad = Package.fixtureRoot("tpm-pcr7-does-not-replay")
        for (profile, f) in try findingsBySL("INT-004", root: bad, probes: [MeasuredBootProbe()]) {
            #expect(f.status == .fail, "\(profile): \(f.summary)")
            #expect(f.evidence.filter { $0.ok == false }.map(\.source) == ["/sys/class/tpm/tpm0/pcr-sha256/7"], "\(f.evidence)")
            #expect(
                f.summary.contains("PCR 7: replayed \(tool[7] ?? "?"), the TPM holds \(String(repeating: "0", count: 64))"), "\(f.summary)")
        }
    }

    /// Why the probe states no fact for a tree (nil when it states one).
    func unavailable(_ tree: TempTree) throws -> Unavailable? {
        guard case .unavailable(let u)? = try audit(root: tree.path, probes: [MeasuredBootProbe()]).facts["measured_boot"] else {
            return nil
        }
        return u
    }

    @Test func withoutTheLogOrThePCRsItIsNotChecked() throws {
        let none = TempTree()
        none.directory("etc")
        #expect(
            try unavailable(none)
                == .notChecked(
                    "no TPM event log at /sys/kernel/security/tpm0/binary_bios_measurements (an offline root without it), so there is nothing to replay"
                ))
        let logOnly = TempTree()
        logOnly.bytes(MeasuredBootTests.logPath, try LogBuilder.boot().bytes)
        #expect(
            try unavailable(logOnly)
                == .notChecked(
                    "/sys/class/tpm/tpm0/pcr-sha256 is absent (a kernel before 5.12 does not show the PCRs), so the replay has nothing to compare with"
                ))
    }

    @Test func aTruncatedLogIsAnErrorNamingTheByte() throws {
        let log = try LogBuilder.boot()
        var cut = LogBuilder()
        cut.bytes = Array(log.bytes.dropLast(10))
        let u = try unavailable(host(cut, pcrs: [:]))
        #expect(u?.kind == .error)
        let reason = u?.reason ?? ""
        #expect(reason.hasPrefix("/sys/kernel/security/tpm0/binary_bios_measurements: "), "\(reason)")
        #expect(reason.contains("event data of") && reason.contains("runs past the end of the log"), "\(reason)")
    }

    @Test func aTPM12LogIsNotChecked() throws {
        var old = LogBuilder()
        old.bytes = LogBuilder.u32(0) + LogBuilder.u32(8) + [UInt8](repeating: 1, count: 20) + LogBuilder.u32(4) + [1, 2, 3, 4]
        #expect(
            try unavailable(host(old, pcrs: [0: String(repeating: "0", count: 64)]))
                == .notChecked(
                    "/sys/kernel/security/tpm0/binary_bios_measurements is not in the crypto-agile format (a TPM 1.2 log): it has no SHA-256 bank"
                ))
    }

    /// The fixture INT-004 fails on states PCR 7's mismatch in the item the summary shows.
    @Test func theFixtureWhosePCR7DoesNotReplay() throws {
        let v = try probeFact("measured_boot", of: MeasuredBootProbe(), root: Package.fixtureRoot("tpm-pcr7-does-not-replay"))
        let items = try #require(v["pcrs"]?.arrayValue)
        #expect(items.filter { $0["matches"] == false }.map { $0["source"] } == ["/sys/class/tpm/tpm0/pcr-sha256/7"])
        let pcr7 = try #require(items.first { $0["pcr"] == 7 })
        #expect(pcr7["read"] == .string(String(repeating: "0", count: 64)))
        #expect(
            pcr7["name"]
                == .string("PCR 7: replayed \(pcr7["replayed"]?.stringValue ?? "?"), the TPM holds \(String(repeating: "0", count: 64))"))
    }

    // MARK: - Control tests: INT-004 over canned facts

    static func pcr(_ index: Int, replayed: String = String(repeating: "ab", count: 32), read: String? = nil) -> JSON {
        let held = read ?? replayed
        return [
            "name": .string("PCR \(index): replayed \(replayed), the TPM holds \(held)"), "pcr": .int(Int64(index)), "events": 2,
            "replayed": .string(replayed), "read": .string(held), "matches": .bool(held == replayed),
            "source": .string("/sys/class/tpm/tpm0/pcr-sha256/\(index)"),
        ]
    }

    /// A log that replays to every PCR the TPM holds; each row changes one thing.
    static func measuredBoot(_ pcrs: [JSON] = (0...8).map { pcr($0) }) -> JSON {
        ["log": "/sys/kernel/security/tpm0/binary_bios_measurements", "events": 12, "banks": ["sha1", "sha256"], "pcrs": .array(pcrs)]
    }

    static let tampered = (0...8).map {
        $0 == 4 ? pcr(4, replayed: String(repeating: "cd", count: 32), read: String(repeating: "ab", count: 32)) : pcr($0)
    }

    /// Rows: case, fact (or why there is none), status at SL3 (advisory) and SL4, the failing
    /// evidence and what the summary names.
    static let int004Table: [(String, JSON?, Unavailable?, Status, [String], String?)] = [
        ("the log replays to every PCR", measuredBoot(), nil, .pass, [], nil),
        (
            "PCR 4's replay differs from the TPM's", measuredBoot(tampered), nil, .fail, ["/sys/class/tpm/tpm0/pcr-sha256/4"],
            "PCR 4: replayed \(String(repeating: "cd", count: 32)), the TPM holds \(String(repeating: "ab", count: 32))"
        ),
        ("a log that extends no PCR", measuredBoot([]), nil, .error, [], "the event log extends no PCR in its SHA-256 bank"),
        (
            "no event log", nil, .notChecked("no TPM event log at /sys/kernel/security/tpm0/binary_bios_measurements"), .notChecked, [],
            "no TPM event log"
        ),
        ("a TPM 1.2 log", nil, .notChecked("not in the crypto-agile format (a TPM 1.2 log)"), .notChecked, [], "crypto-agile"),
        (
            "a truncated log", nil, .error("event data of 57 bytes at byte 400 runs past the end of the log"), .error, [],
            "runs past the end of the log"
        ),
    ]

    @Test(arguments: MeasuredBootTests.int004Table.indices)
    func int004OverATableOfFacts(_ row: Int) throws {
        let (name, value, unavailable, expected, failing, named) = MeasuredBootTests.int004Table[row]
        for profile in ["sl3", "sl4"] {
            let f = try cannedFinding(
                "INT-004", profile: profile, facts: value.map { ["measured_boot": $0] } ?? [:],
                unavailable: unavailable.map { ["measured_boot": $0] } ?? [:])
            #expect(f.status == expected && f.advisory == (profile == "sl3"), "\(name) at \(profile): \(f.summary)")
            #expect(f.evidence.filter { $0.ok == false }.map(\.source) == failing, "\(name) at \(profile): \(f.evidence)")
            if let named { #expect(f.summary.contains(named), "\(name) at \(profile): \(f.summary)") }
        }
    }
}
