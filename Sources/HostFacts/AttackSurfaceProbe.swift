public import WardenCore
internal import WardenFormats

/// What a host offers an intruder beyond its purpose (HRD-013, RAND SL4 "limiting the attack
/// surface" and "reduced communication capabilities"): compilers, debuggers and tracers in dpkg's
/// database, sound cards and cameras the kernel has, and services that mount removable media.
public struct AttackSurfaceProbe: Probe {
    public init() {}
    public let name = "attack_surface"
    public let summary = "compilers, debuggers and tracers dpkg has installed; sound cards, cameras; udisks2 and autofs"
    public let reads = [
        AttackSurfaceProbe.dpkgStatus, "/sys/class/sound/*", "/sys/class/video4linux/*",
        SystemdUnits.enablingLinks("{autofs,udisks2}.service"),
        "{/etc,/run}/systemd/system/udisks2.service", "/usr/lib/systemd/system/udisks2.service", "/lib/systemd/system/udisks2.service",
    ]
    public var facts: [String: FactType] {
        [
            "attack_surface": .object([
                "packages": .list(.object(["package": .string, "status": .string, "version": .string, "source": .string])),
                "package_count": .int,
                "sound_cards": .list(.object(["path": .string])),
                "cameras": .list(.object(["path": .string])),
                "automount": .list(.object(["unit": .string, "source": .string, "how": .string])),
            ])
        ]
    }

    static let dpkgStatus = "/var/lib/dpkg/status"

    /// The package families reported: a package is an item when its name is one of these or
    /// starts with one followed by `-` (`gcc-12`, `clang-14`, `linux-perf-6.1`). HRD-013's
    /// `forbidden_packages` picks exact names among them.
    public static let families = [
        "gcc", "g++", "cpp", "clang", "llvm", "lldb", "gdb", "gdbserver", "strace", "ltrace", "linux-perf", "bpftrace",
        "bpfcc-tools", "systemtap", "valgrind", "tcc", "rustc", "golang", "gfortran", "build-essential",
    ]

    public func collect(_ context: ProbeContext) -> [String: Fact] {
        var fact: JSONObject = [:]
        switch AttackSurfaceProbe.packageStates(context.root) {
        case .success(let states):
            fact["package_count"] = .int(states.count)
            fact["packages"] = .array(
                states.filter { AttackSurfaceProbe.isReported($0.package) }.map {
                    [
                        "package": .string($0.package), "status": .string($0.status), "version": .string($0.version),
                        "source": .string(AttackSurfaceProbe.dpkgStatus),
                    ]
                })
        case .failure(let e):
            fact["packages"] = ["error": .string(e.reason), "source": .string(AttackSurfaceProbe.dpkgStatus)]
        }
        fact["sound_cards"] = AttackSurfaceProbe.devices(context, "/sys/class/sound") { $0.hasPrefix("card") }
        fact["cameras"] = AttackSurfaceProbe.devices(context, "/sys/class/video4linux") { _ in true }
        let automount = AttackSurfaceProbe.automount(context.root, units: context.units)
        fact["automount"] = context.units.known(.array(automount), found: !automount.isEmpty, links: "{autofs,udisks2}.service")
        return ["attack_surface": .value(.object(fact))]
    }

    static func isReported(_ package: String) -> Bool {
        families.contains { package == $0 || package.hasPrefix($0 + "-") }
    }

    /// The entries of a sysfs class directory that `keep` selects; the /sys rule decides what a
    /// missing directory means (absent: the kernel has none).
    static func devices(_ context: ProbeContext, _ dir: String, keep: (String) -> Bool) -> JSON {
        switch context.sysfs(dir) {
        case .present:
            do {
                let names = try context.root.list(dir).filter { !$0.hasPrefix(".") && keep($0) }.sorted()
                return .array(names.map { ["path": .string(dir + "/" + $0)] })
            } catch {
                return ["error": .string(error.description), "source": .string(dir)]
            }
        case .absent: return []
        case let other: return other.stated(dir)
        }
    }

    /// Services that mount removable media. autofs runs when enabled. udisks2 needs no enabling:
    /// its D-Bus service file starts it for any client that asks (SystemdService=udisks2.service),
    /// so it can run wherever its unit is installed and not masked.
    static func automount(_ root: HostRoot, units: SystemdUnits) -> [JSON] {
        var out: [JSON] = []
        if let link = units.foundLink("autofs.service") {
            out.append(["unit": "autofs.service", "source": .string(link), "how": "enabled"])
        }
        let udisks = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"].map { $0 + "/udisks2.service" }
        if !units.isMasked("udisks2.service"), let file = udisks.first(where: { root.exists($0) }) {
            let how = units.foundLink("udisks2.service").map { "enabled (\($0))" } ?? "started on demand over D-Bus"
            out.append(["unit": "udisks2.service", "source": .string(file), "how": .string(how)])
        }
        return out
    }

    /// One package as dpkg's database records it.
    public struct PackageState: Sendable, Hashable {
        public var package: String
        /// The third word of `Status:` (`installed`, `half-configured`, `config-files`, …).
        public var status: String
        public var version: String
    }

    /// Why dpkg's database could not be read: the path (and line) and the reason.
    public struct DatabaseError: Error {
        public var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Every package whose files are on disk, from /var/lib/dpkg/status read as dpkg reads it
    /// (`Deb822`, shared with PatchProbe): `Status: WANT FLAG STATUS`. Packages whose status is
    /// `not-installed` or `config-files` have no files left and are not listed; every other
    /// status (`installed`, `unpacked`, `half-configured`, `half-installed`, `triggers-awaited`,
    /// `triggers-pending`) has some, whatever is wanted (`deinstall` is still installed until
    /// dpkg removes it). A database dpkg would refuse is an error naming its line.
    public static func packageStates(_ root: HostRoot) -> Result<[PackageState], DatabaseError> {
        let stanzas: [Deb822.Stanza]
        do {
            stanzas = try Deb822.stanzas(try root.read(dpkgStatus, limit: 64 << 20), keeping: ["Package", "Status", "Version"])
        } catch let e as HostError {
            return .failure(DatabaseError(e.description))
        } catch let e as Deb822.Malformed {
            return .failure(DatabaseError("\(dpkgStatus):\(e.line): \(e.reason)"))
        } catch {
            return .failure(DatabaseError("\(dpkgStatus): \(error)"))
        }
        var out: [PackageState] = []
        for s in stanzas {
            guard let package = s.fields["Package"] else {
                return .failure(DatabaseError("\(dpkgStatus):\(s.line): Package: missing"))
            }
            guard let status = s.fields["Status"]?.words.last.map(String.init), status != "not-installed", status != "config-files"
            else { continue }
            out.append(PackageState(package: package, status: status, version: s.fields["Version"] ?? ""))
        }
        return .success(out)
    }
}
