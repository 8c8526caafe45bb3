internal import HostFacts
internal import WardenCore
internal import WardenFormats

/// One parser under fuzzing: its name (`Scripts/fuzz NAME`, and the directories of its corpus,
/// `Fuzz/Corpus/NAME`, and of its past findings' inputs, `Fuzz/Regressions/NAME`), what it feeds
/// the input to, and where its seed corpus comes from (globs under the package root;
/// `Scripts/fuzz` reads them). `run` throws when an invariant of the parser does not hold; a
/// crash (a trap, a sanitizer report) is a finding too. The libFuzzer driver turns a thrown
/// violation into a crash, so that libFuzzer saves the input; the replay test records it.
package struct FuzzTarget: Sendable {
    package let name: String
    package let summary: String
    package let seeds: [String]
    package let run: @Sendable ([UInt8]) throws(InvariantViolation) -> Void
}

/// Every fuzz target. A parser for a new kind of input gets one entry here and a seed glob; the
/// script and the driver need nothing else.
package enum FuzzTargets {
    package static let all: [FuzzTarget] = [
        FuzzTarget(
            name: "sshd_config", summary: "sshd_config through SSHDConfigProbe (Include, Match) in a scratch root",
            seeds: [
                "Tests/Fixtures/*/root/etc/ssh/sshd_config", "Tests/Fixtures/*/root/etc/ssh/sshd_config.d/*", "Fuzz/Seeds/sshd_config/*",
            ],
            run: ParserTargets.sshdConfig),
        FuzzTarget(
            name: "nftables", summary: "/etc/nftables.conf through NetworkPolicyProbe (includes, tables, chains, rules) in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/nftables.conf", "Tests/Fixtures/*/root/etc/nftables.d/*", "Fuzz/Seeds/nftables/*"],
            run: ParserTargets.nftables),
        FuzzTarget(
            name: "pam_d", summary: "/etc/pam.d/sshd through PAMStack (includes, substacks, controls, the dispatch walk) in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/pam.d/*", "Fuzz/Seeds/pam_d/*"],
            run: ParserTargets.pamD),
        FuzzTarget(
            name: "sysctl", summary: "one sysctl.d file (SysctlProbe.parse)",
            seeds: [
                "Tests/Fixtures/*/root/etc/sysctl.d/*", "Tests/Fixtures/*/root/usr/lib/sysctl.d/*", "Tests/Fixtures/*/root/etc/sysctl.conf",
                "Fuzz/Seeds/sysctl/*",
            ],
            run: ParserTargets.sysctl),
        FuzzTarget(
            name: "audit_rules", summary: "auditctl rules (AuditRulesProbe.parse)",
            seeds: [
                "Tests/Fixtures/*/root/etc/audit/rules.d/*", "Tests/Fixtures/*/root/etc/audit/audit.rules", "Fuzz/Seeds/audit_rules/*",
            ],
            run: ParserTargets.auditRules),
        FuzzTarget(
            name: "auditd_conf", summary: "auditd.conf (AuditdProbe.parseConf)",
            seeds: ["Tests/Fixtures/*/root/etc/audit/auditd.conf", "Fuzz/Seeds/auditd_conf/*"],
            run: ParserTargets.auditdConf),
        FuzzTarget(
            name: "modprobe", summary: "one modprobe.d file (ModprobeProbe.parse)",
            seeds: ["Tests/Fixtures/*/root/etc/modprobe.d/*", "Tests/Fixtures/*/root/usr/lib/modprobe.d/*", "Fuzz/Seeds/modprobe/*"],
            run: ParserTargets.modprobe),
        FuzzTarget(
            name: "usbguard_rules", summary: "USBGuard rule files, line by line (USBGuardRule.parse)",
            seeds: [
                "Tests/Fixtures/*/root/etc/usbguard/rules.conf", "Tests/Fixtures/*/root/etc/usbguard/rules.d/*",
                "Fuzz/Seeds/usbguard_rules/*",
            ],
            run: ParserTargets.usbguardRules),
        FuzzTarget(
            name: "sudoers", summary: "/etc/sudoers through SudoersProbe (includes, Defaults, user specs) in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/sudoers", "Tests/Fixtures/*/root/etc/sudoers.d/*", "Fuzz/Seeds/sudoers/*"],
            run: ParserTargets.sudoers),
        FuzzTarget(
            name: "mountinfo", summary: "/proc/PID/mountinfo (MountTable.parse, mount lookups)",
            seeds: ["Tests/Fixtures/*/root/proc/self/mountinfo", "Tests/Fixtures/*/root/proc/1/mountinfo", "Fuzz/Seeds/mountinfo/*"],
            run: ParserTargets.mountinfo),
        FuzzTarget(
            name: "proc_net_tcp", summary: "/proc/net/tcp, tcp6, udp, udp6 (ListenersProbe.parse)",
            seeds: ["Tests/Fixtures/*/root/proc/net/*", "Tests/Fixtures/*/root/proc/1/net/*", "Fuzz/Seeds/proc_net_tcp/*"],
            run: ParserTargets.procNetTCP),
        FuzzTarget(
            name: "luks", summary: "LUKS1/LUKS2 headers (LUKSHeader.requiredLength, parse, cipher strength)",
            seeds: ["Tests/Fixtures/luks-headers/*.img", "Fuzz/Seeds/luks/*"],
            run: ParserTargets.luks),
        FuzzTarget(
            name: "posix_acl", summary: "system.posix_acl_access xattrs (PosixACL.decode, round trip)",
            seeds: ["Fuzz/Seeds/posix_acl/*"],
            run: ParserTargets.posixACL),
        FuzzTarget(
            name: "weights", summary: "the weight-file recogniser (WeightRecognizer.recognize)",
            seeds: ["Fuzz/Seeds/weights/*"],
            run: ParserTargets.weights),
        FuzzTarget(
            name: "ssh_keys", summary: "authorized_keys and .pub lines (SSHPublicKey.authorizedKeyLine: options, base64, wire format)",
            seeds: ["Tests/Fixtures/*/root/etc/ssh/*.pub", "Tests/Fixtures/*/root/home/*/.ssh/authorized_keys", "Fuzz/Seeds/ssh_keys/*"],
            run: ParserTargets.sshKeys),
        FuzzTarget(
            name: "profile_yaml", summary: "control catalogs and profiles (Catalog.load, ProfileLoader.resolve over the built-in catalog)",
            seeds: ["Profiles/*.yaml", "Profiles/controls/*.yaml", "Tests/Fixtures/profiles-bad/*.yaml", "Fuzz/Seeds/profile_yaml/*"],
            run: DocumentTargets.profileYAML),
        FuzzTarget(
            name: "site_yaml", summary: "site files (Site.parse)",
            seeds: ["Tests/Fixtures/*/site.yaml", "Tests/Fixtures/profiles-bad/site-*.yaml", "Fuzz/Seeds/site_yaml/*"],
            run: DocumentTargets.siteYAML),
        FuzzTarget(
            name: "findings_json", summary: "findings documents (JSON.parse round trip, ParsedFindings, re-evaluation against sl3)",
            seeds: ["Fuzz/Seeds/findings_json/*"],
            run: DocumentTargets.findingsJSON),
        FuzzTarget(
            name: "dsse_envelope", summary: "DSSE envelopes (Envelope.decode, re-encoding, FindingsPolicy.verify)",
            seeds: ["Fuzz/Seeds/dsse_envelope/*"],
            run: EvidenceTargets.dsseEnvelope),
        FuzzTarget(
            name: "intoto_statement", summary: "in-toto statements signed by a trusted key (every content check of FindingsPolicy)",
            seeds: ["Fuzz/Seeds/intoto_statement/*", "Fuzz/Seeds/findings_json/*"],
            run: EvidenceTargets.inTotoStatement),
        FuzzTarget(
            name: "bundle_manifest", summary: "bundle manifests signed by a trusted key (BundleVerifier on a bundle of just the manifest)",
            seeds: ["Fuzz/Seeds/bundle_manifest/*"],
            run: EvidenceTargets.bundleManifest),
        FuzzTarget(
            name: "dpkg_control", summary: "dpkg control files: status, package lists, Release (Deb822.stanzas, DebianVersion order)",
            seeds: ["Tests/Fixtures/*/root/var/lib/dpkg/status", "Tests/Fixtures/*/root/var/lib/apt/lists/*", "Fuzz/Seeds/dpkg_control/*"],
            run: ParserTargets.dpkgControl),
        FuzzTarget(
            name: "apt_conf", summary: "an apt.conf.d file through AptConf in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/apt/apt.conf.d/*", "Fuzz/Seeds/apt_conf/*"],
            run: ParserTargets.aptConf),
        FuzzTarget(
            name: "apt_sources", summary: "a sources.list.d file, one-line and deb822, through PackageSigningProbe in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/apt/sources.list*", "Fuzz/Seeds/apt_sources/*"],
            run: ParserTargets.aptSources),
        FuzzTarget(
            name: "tpm_event_log", summary: "crypto-agile TPM event logs (TPMEventLog: Spec ID event, events, SHA-256 replay)",
            seeds: ["Tests/Fixtures/*/root/sys/kernel/security/tpm0/binary_bios_measurements", "Fuzz/Seeds/tpm_event_log/*"],
            run: HostStateTargets.tpmEventLog),
        FuzzTarget(
            name: "fapolicyd_conf", summary: "fapolicyd.conf through ExecutionControlProbe (permissive) in a scratch root",
            seeds: ["Tests/Fixtures/*/root/etc/fapolicyd/fapolicyd.conf", "Fuzz/Seeds/fapolicyd_conf/*"],
            run: HostStateTargets.fapolicydConf),
        FuzzTarget(
            name: "fapolicyd_rules",
            summary: "a fapolicyd rules.d file through ExecutionControlProbe (default deny of execute) in a scratch root",
            seeds: [
                "Tests/Fixtures/*/root/etc/fapolicyd/rules.d/*", "Tests/Fixtures/*/root/etc/fapolicyd/compiled.rules",
                "Fuzz/Seeds/fapolicyd_rules/*",
            ],
            run: HostStateTargets.fapolicydRules),
        FuzzTarget(
            name: "cpuinfo", summary: "/proc/cpuinfo through ConfidentialComputingProbe and RemoteExecProbe in a scratch root",
            seeds: ["Tests/Fixtures/*/root/proc/cpuinfo", "Fuzz/Seeds/cpuinfo/*"],
            run: HostStateTargets.cpuinfo),
        FuzzTarget(
            name: "unit_file",
            summary: "a unit file and the same bytes as a drop-in, through UnitFile and ServiceSandboxProbe in a scratch root",
            seeds: [
                "Tests/Fixtures/*/root/etc/systemd/system/*.service", "Tests/Fixtures/*/root/lib/systemd/system/*.service",
                "Fuzz/Seeds/unit_file/*",
            ],
            run: HostStateTargets.unitFile),
    ]
}

/// How fuzz targets read their input as text: the way `HostRoot.readText` does (invalid UTF-8
/// replaced, never trusted).
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// What a target checks beyond "does not crash" failed for an input.
package struct InvariantViolation: Error, CustomStringConvertible {
    package let message: String
    package var description: String { "invariant violated: \(message)" }
}

/// Throws when an invariant does not hold.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(InvariantViolation) {
    if !condition { throw InvariantViolation(message: message()) }
}
