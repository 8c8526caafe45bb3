internal import Dispatch
internal import LocalFiles
internal import Synchronization
public import WardenCore
internal import WardenFormats

/// Runs the probes against a root and gathers their facts, the site and the read log into a
/// `FactSet` (`warden.facts/v1`).
public enum Collector {
    /// `alongside` is the caller's own work, run among the probes (an audit loads its profile
    /// there while the host is read). `redaction` replaces the site's canaries in everything
    /// collected, before the facts leave here: the probes work with the clear paths, and what is
    /// evaluated, signed and shown is only ever the redacted set (docs/ARCHITECTURE.md).
    public static func collect(
        root: HostRoot, site: Site?, probes: [any Probe] = ProbeRegistry.all, redaction: CanaryRedaction? = nil,
        alongside: @Sendable () -> Void = {}
    ) -> FactSet {
        let context = ProbeContext(root: root, site: site)
        var facts = FactSet(mode: root.mode)
        // Without a site file the defaults stand (no waivers, no owners), and `present` says so.
        var siteJSON = (site ?? Site()).json.objectValue ?? [:]
        siteJSON["present"] = .bool(site != nil)
        siteJSON["source"] = .string(site.map { $0.file } ?? "no site file (defaults)")
        facts["site"] = .value(.object(siteJSON))
        // Probes do not depend on each other: run them on every core. Each writes only its own
        // slot; the facts are merged in registry order, so the result does not depend on timing.
        // The first two tasks settle the weight locations and the storage resolver, which the
        // probes near the end of the registry wait for, while the others run.
        let results = Mutex<[[String: Fact]]>(Array(repeating: [:], count: probes.count))
        @Sendable func run(_ task: Int) {
            switch task {
            case 0: _ = context.weights
            case 1: _ = context.storage
            case 2: alongside()
            default:
                let i = task - 3
                let collected = probes[i].collect(context)
                results.withLock { $0[i] = collected }
            }
        }
        if LocalSystem.dispatchWorkers {
            DispatchQueue.concurrentPerform(iterations: probes.count + 3, execute: run)
        } else {
            for task in 0..<probes.count + 3 { run(task) }  // no /proc: one thread (LocalSystem.dispatchWorkers)
        }
        facts["weights"] = .value(context.weights.json)
        for collected in results.withLock({ $0 }) {
            for (name, fact) in collected { facts[name] = fact }
        }
        facts.files = root.log.snapshot
        return redaction?.redact(facts) ?? facts
    }
}

/// Every probe Warden has, in the order they run.
public enum ProbeRegistry {
    public static let all: [any Probe] = [
        HostIdentityProbe(),
        SSHDConfigProbe(),
        SysctlProbe(),
        KernelCmdlineProbe(),
        AuditRulesProbe(),
        AuditdProbe(),
        JournaldProbe(),
        CoredumpProbe(),
        ModprobeProbe(),
        DevicesProbe(),
        SecureBootProbe(),
        LockdownProbe(),
        AIDEProbe(),
        BootloaderProbe(),
        SudoersProbe(),
        SessionRecordingProbe(),
        AccountsProbe(),
        MACProbe(),
        TimeSyncProbe(),
        LogForwardingProbe(),
        ListenersProbe(),
        StrayWeightsProbe(),
        WeightsTreeProbe(),
        WeightReadersProbe(),
        StorageProbe(),
        LUKSProbe(),
        SwapProbe(),
        HibernationProbe(),
        MountsProbe(),
        CrashDumpProbe(),
        PatchProbe(),
        CPUMitigationsProbe(),
        LoginBannerProbe(),
        AttackSurfaceProbe(),
        FilesystemsProbe(),
        PackageSigningProbe(),
        RemoteExecProbe(),
        NetworkPolicyProbe(),
        ServiceSandboxProbe(),
        EDRProbe(),
        DedicatedDeviceProbe(),
        MeasuredBootProbe(),
        ConfidentialComputingProbe(),
        ImmutableRootProbe(),
        ExecutionControlProbe(),
    ]

    /// Facts that exist without a probe: the site file and the weight locations.
    public static let builtInFacts: [String: String] = [
        "site": "the site file as parsed (its defaults, with present: false, without one)",
        "weights": "the weight locations: the site's registry, or what discovery found",
    ]

    /// Every fact name a check may use.
    public static var factNames: Set<String> {
        Set(all.flatMap(\.produces)).union(builtInFacts.keys)
    }
}
