import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Warden on the real Debian 12 root after a hardening script written from the controls' own
/// remediation texts (issue 14 (b)): Tests/Roots/harden-debian12.sh runs inside a discarded
/// overlay of the base (`Scripts/in-root --outside`, then `--direct` into that overlay), and the
/// result is audited at SL3 and SL4 with Tests/Roots/hardened-site.yaml. Every control the script
/// addresses (the ids on its `# --- ` block lines) must pass at both levels, so a remediation that
/// does not work on Debian 12 fails here; the controls that do not pass are listed below, each
/// with its status and why. The daemons' own checks (sshd -t, visudo -c, rsyslogd -N1, augenrules
/// --check, grub-script-check, aide --config-check) must accept what the script wrote, and the
/// cached base must be untouched afterwards. docs/HARDENED-ROOT.md states the same statuses.
@Suite struct HardenedRootTests {
    static let script = Package.root + "/Tests/Roots/harden-debian12.sh"
    static let site = Package.root + "/Tests/Roots/hardened-site.yaml"
    static let doc = Package.root + "/docs/HARDENED-ROOT.md"
    /// What the site brings besides the script: its log server's CA certificate (LOG-006).
    static let layer = RealRoots.layer("hardened")
    /// AIDE's database over /etc only: a full aideinit of the root takes over a minute.
    static let aideLimit = "^/etc/"

    /// A control that does not pass on the hardened root, the statuses Warden may give it there
    /// (per profile) and why.
    struct NotPassing: Sendable {
        var control: String
        var sl3: Set<String>
        var sl4: Set<String>
        var why: String
        init(_ control: String, _ sl3: Set<String>, _ sl4: Set<String>, _ why: String) {
            self.control = control
            self.sl3 = sl3
            self.sl4 = sl4
            self.why = why
        }
    }

    /// Every control that does not pass after hardening. Each is runtime state or hardware an
    /// offline root does not have, or (INT-008) needs the network and is waived; none is `fail`.
    static let notPassing: [NotPassing] = [
        NotPassing(
            "ACC-012", ["not_checked"], ["not_checked"],
            "AppArmor's state (enabled, profiles loaded and enforcing) is runtime state (/sys/kernel/security/apparmor): offline Warden only fails a profile configured in complain mode, and none is; the script enables apparmor.service and empties force-complain/"
        ),
        NotPassing(
            "ENC-001", ["not_checked"], ["not_checked"],
            "the storage under the weights is resolved through the mount table and /sys/dev/block (runtime); the script makes no LUKS volume: a header on a plain file is seen by no probe offline, and a chroot has no block device to put the weights on"
        ),
        NotPassing(
            "ENC-002", ["not_checked"], ["not_checked"],
            "the LUKS header is found through the weights' mount and device stack (runtime), as ENC-001"),
        NotPassing("ENC-003", ["not_checked"], ["not_checked"], "the LUKS keyslots are read from that header (runtime), as ENC-001"),
        NotPassing(
            "ENC-004", ["not_checked"], ["not_checked"],
            "needs the LUKS device (runtime, as ENC-001) and a TPM to enrol with a PIN (systemd-cryptenroll) or a clevis sss binding, which a chroot has not"
        ),
        NotPassing(
            "ENC-007", ["not_checked"], ["not_checked"],
            "whether a weight path is on a network filesystem comes from the mount table (runtime); /srv/weights is local, which only a live host shows"
        ),
        NotPassing(
            "EXF-002", ["error", "not_checked"], ["error", "not_checked"],
            "the IOMMU and Thunderbolt security levels are /sys (runtime); the script blocks firewire-core and puts intel_iommu=on iommu=force on the command line. not_checked is right; Warden says error: `devices.thunderbolt_domains is object, not a list` (the offline not_checked value is read as a malformed list: known disagreement, issue 14)"
        ),
        NotPassing(
            "EXF-003", ["not_checked"], ["not_checked"],
            "wireless interfaces and rfkill devices are /sys (runtime); the script blocks bluetooth and btusb"),
        NotPassing("EXF-007", ["not_checked"], ["not_checked"], "listening sockets are runtime state (/proc/net); the site allows tcp/22"),
        NotPassing(
            "HRD-008", ["not_checked"], ["not_checked"],
            "mount options are runtime state (/proc/self/mountinfo); the script writes the fstab line with hidepid=invisible,gid=proc and gives systemd-logind that group"
        ),
        NotPassing(
            "HRD-009", ["not_checked"], ["not_checked"],
            "mount table (runtime), as HRD-008; the script mounts /tmp, /var/tmp and /dev/shm as tmpfs with nosuid,nodev,noexec in /etc/fstab"
        ),
        NotPassing(
            "INT-001", ["not_checked"], ["not_checked"], "Secure Boot is firmware state (/sys/firmware/efi): nothing a root can hold"),
        NotPassing(
            "INT-002", ["not_checked"], ["not_checked"],
            "the lockdown mode is runtime state (/sys/kernel/security/lockdown); the script puts lockdown=confidentiality on the command line"
        ),
        NotPassing(
            "HRD-011", ["not_checked"], ["not_checked"],
            "the command line switches no mitigation off; the CPU's vulnerabilities are what the running kernel reports in /sys/devices/system/cpu/vulnerabilities (runtime)"
        ),
        NotPassing(
            "HRD-013", ["not_checked"], ["not_checked"],
            "no forbidden package and no automounter on this root; sound cards and cameras are what the running kernel has in /sys/class (runtime)"
        ),
        NotPassing(
            "INT-008", ["waived"], ["waived"],
            "waived in hardened-site.yaml: the root is hardened offline, so unattended-upgrades cannot be installed nor a bookworm-security list fetched (on its own: fail, unattended-upgrades not installed; the lists would be error and the running kernel not_checked)"
        ),
        NotPassing(
            "INT-004", ["not_checked"], ["not_checked"],
            "the TPM event log and the PCRs are the running kernel's (securityfs, /sys/class/tpm), which a chroot does not have"),
        NotPassing(
            "ENC-010", ["not_checked"], ["not_checked"],
            "the mounts and their device stacks are runtime state (mount table, /sys/dev/block), as ENC-001; moving filesystems onto LUKS needs a real disk and a reboot, which a chroot has not"
        ),
        NotPassing(
            "INT-005", ["manual"], ["manual"],
            "no EDR agent can be installed in the offline root (no network; no Debian IDS package in the cached root): the site declares a network IDS (services.network_ids) for a reviewer"
        ),
        NotPassing(
            "ENC-009", ["not_checked"], ["not_checked"],
            "whether the host runs as a CPU TEE guest, and whether its CPU could, is runtime state (/proc/cpuinfo, /dev, configfs); the remediation moves the weights into a SEV-SNP or TDX guest, which a chroot cannot be"
        ),
        NotPassing(
            "HRD-014", ["not_checked"], ["not_checked"],
            "advisory; how / and /usr are mounted is runtime state (mount table, /sys/dev/block); the root has no /usr filesystem of its own, and a verity root needs an image-based reinstallation"
        ),
        NotPassing(
            "INT-007", ["pass"], ["waived"],
            "SL3's denylist passes; SL4's allowlist is waived in hardened-site.yaml: fapolicyd is not in Debian 12, and enforcing IMA appraisal on unsigned files would not boot (on its own: fail, neither fapolicyd nor ima_appraise=enforce)"
        ),
    ]

    @Test func everyControlTheScriptAddressesPasses() throws {
        let root = try RealRoots.debian12()
        let started = monotonicSeconds()
        let out = TempTree(prefix: "warden-hardened")
        let driver = out.file("driver.sh", Self.driver, mode: 0o755)
        let r = withExtendedLifetime(out) {
            run(
                RealRoots.inRootScript,
                [
                    "--layer", Self.layer, "--outside", root, "/bin/sh", driver, "@ROOT@", out.path, RealRoots.wardenBinary,
                    Self.script, Self.site, RealRoots.inRootScript, RealRoots.now, Self.aideLimit,
                ],
                timeout: 240)
        }
        #expect(
            r.status == 0 && !r.timedOut,
            "the hardening session: exit \(r.status)\(r.timedOut ? " (timed out)" : ""): \(r.stderr.suffix(2000))")
        func read(_ name: String) -> String { run("/bin/cat", [out.path + "/" + name]).stdout }

        let harden = read("harden.status")
        #expect(harden == "0\n", "harden-debian12.sh failed (exit \(harden)): \(read("harden.log").suffix(3000))")

        // The controls the script addresses: the ids on its `# --- ` lines.
        let addressed = Set(read("script.ids").split(whereSeparator: \.isNewline).map(String.init))
        #expect(addressed.count >= 36, "the script names \(addressed.count) controls: \(addressed.sorted())")
        let listed = Dictionary(uniqueKeysWithValues: Self.notPassing.map { ($0.control, $0) })

        var statuses: [String: [String: String]] = [:]
        for profile in ["sl3", "sl4"] {
            let status = read("\(profile).status")
            let document = try JSON.parse(read("\(profile).json"))
            // Nothing fails; what is left is runtime state: incomplete (exit 2), not conformant.
            #expect(status == "2\n", "\(profile): exit \(status) \(read("\(profile).stderr").suffix(2000))")
            #expect(
                document["summary"]?["counts"]?["fail"]?.intValue == 0,
                "\(profile): \(document["summary"].map(\.compactString) ?? "no summary")")
            // docs/HARDENED-ROOT.md says so: 45 pass at SL3, 44 at SL4 (INT-007 waived there).
            #expect(
                document["summary"]?["counts"]?["pass"]?.intValue == (profile == "sl3" ? 45 : 44),
                "\(profile): \(document["summary"].map(\.compactString) ?? "no summary")")
            var seen: [String: String] = [:]
            var problems: [String] = []
            for result in document["results"]?.arrayValue ?? [] {
                guard let id = result["control"]?.stringValue, let s = result["status"]?.stringValue else { continue }
                seen[id] = s
                if let row = listed[id] {
                    let allowed = profile == "sl3" ? row.sl3 : row.sl4
                    if !allowed.contains(s) {
                        problems.append(
                            "\(id): Warden says \(s), the table says \(allowed.sorted().joined(separator: " or ")) (\(row.why)); summary: \(result["summary"]?.stringValue ?? "")"
                        )
                    }
                } else if addressed.contains(id) {
                    if s != "pass" {
                        problems.append(
                            "\(id): the script addresses it, Warden says \(s): \(result["summary"]?.stringValue ?? "") \(result["evidence"]?.compactString ?? "")"
                        )
                    }
                } else {
                    problems.append("\(id): \(s), but the script does not address it and the table does not list it")
                }
            }
            for id in addressed.union(listed.keys).sorted() where seen[id] == nil {
                problems.append("\(id): named by the script or the table, but \(profile) has no such control")
            }
            #expect(seen.count >= 45, "\(profile) has \(seen.count) results")
            #expect(problems.isEmpty, "the hardened root at \(profile):\n\(problems.joined(separator: "\n"))")
            statuses[profile] = seen

            // LOG-005 beyond the check: auditd sets its log directory back to 0750 at each start
            // while log_group is a group, so the chmod holds only with log_group = root.
            let logGroup = document["facts"]?["facts"]?["auditd"]?["value"]?["conf"]?["log_group"]?["value"]?.stringValue
            #expect(logGroup == "root", "auditd.conf log_group is \(logGroup ?? "unset")")
        }

        // The daemons accept what the script wrote (each line `NAME: STATUS`, 0 meaning accepted).
        let oracles = read("oracles")
        let lines = oracles.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("oracle ") }
        #expect(lines.count == 6, "oracles:\n\(oracles)")
        for line in lines { #expect(line.hasSuffix(": 0"), "\(line)\n\(oracles)") }
        // INT-009: every GRUB menu entry boots without the password (an unattended reboot works).
        let grub = oracles.split(whereSeparator: \.isNewline).first { $0.hasPrefix("grub entries ") }.map(String.init) ?? ""
        let counts = grub.split(separator: " ").compactMap { Int($0) }
        #expect(counts.count == 2 && counts[0] > 0 && counts[0] == counts[1], "\(grub): menu entries, then those with --unrestricted")

        // docs/HARDENED-ROOT.md says the same (a cell may list alternatives: `error or not_checked`).
        let table = try statusTable(markdown: run("/bin/cat", [Self.doc]).stdout, heading: "Hardened root")
        var differences: [String] = []
        for profile in ["sl3", "sl4"] {
            let actual = statuses[profile] ?? [:]
            for row in table {
                let said = (row.statuses[profile] ?? "").split(separator: " ").filter { $0 != "or" }.map(String.init)
                if let s = actual[row.control], !said.contains(s) {
                    differences.append(
                        "\(row.control) at \(profile): Warden says \(s), the page says \(row.statuses[profile] ?? "nothing")")
                }
            }
            for id in actual.keys.sorted() where !table.contains(where: { $0.control == id }) {
                differences.append("\(id): no row")
            }
        }
        #expect(differences.isEmpty, "docs/HARDENED-ROOT.md:\n\(differences.joined(separator: "\n"))")

        // Everything happened in overlays: the cached base is as Scripts/roots built it.
        try RealRoots.verifyBaseUnchanged()
        let seconds = monotonicSeconds() - started
        #expect(seconds < 90, "the hardened-root test took \(Int(seconds)) s")
    }

    /// Runs outside the root, in in-root's private namespace: $1 is the overlay of the base.
    /// Hardens it (in-root --direct chroots into the overlay with /proc and /dev, its writes
    /// stay), audits it at SL3 and SL4, then asks the daemons' own checks about the result.
    static let driver = #"""
        set -u
        view=$1 out=$2 warden=$3 script=$4 site=$5 inroot=$6 now=$7 aide=$8
        grep '^# --- ' "$script" | grep -o '[A-Z][A-Z][A-Z]-[0-9][0-9][0-9]' | sort -u >"$out/script.ids"
        "$inroot" --direct "$view" env WARDEN_HARDEN_AIDE_LIMIT="$aide" /bin/sh -s <"$script" >"$out/harden.log" 2>&1
        echo $? >"$out/harden.status"
        for p in sl3 sl4; do
          "$warden" audit --root "$view" --profile $p --site "$site" --no-sign --format json --now "$now" --state-dir "$out/state" >"$out/$p.json" 2>"$out/$p.stderr"
          echo $? >"$out/$p.status"
        done
        "$inroot" --direct "$view" /bin/sh -c '
          check() { name=$1; shift; "$@" >/tmp/oracle.out 2>&1; s=$?; echo "oracle $name: $s"; [ $s = 0 ] || cat /tmp/oracle.out; }
          mkdir -p /run/sshd
          check "sshd -t" sshd -t -f /etc/ssh/sshd_config
          check "visudo -c" visudo -c
          check "rsyslogd -N1" sh -c "rsyslogd -N1 >/tmp/rsyslog.out 2>&1; s=\$?; cat /tmp/rsyslog.out; [ \$s = 0 ] && ! grep -q -i error /tmp/rsyslog.out"
          check "augenrules --check" augenrules --check
          check "grub-script-check" grub-script-check /boot/grub/grub.cfg
          check "aide --config-check" aide --config=/etc/aide/aide.conf --config-check
          echo "grub entries $(grep -c "^[[:space:]]*menuentry '"'"'" /boot/grub/grub.cfg) $(grep "^[[:space:]]*menuentry '"'"'" /boot/grub/grub.cfg | grep -c -- --unrestricted)"
        ' >"$out/oracles" 2>&1
        """#
}
