import Testing
import WardenCore
import WardenFormats
import WardenTestSupport

/// Every audit leaves one structured journal entry. The test runs a real systemd-journald in a
/// private mount namespace (tmpfs over its sockets and journal directories, so the machine's own
/// are untouched, and without the capabilities that would let it touch the kernel's audit), runs
/// an audit, and reads the entry back with journalctl.
@Suite struct JournalEntryTests {
    @Test func auditWritesOneEntryWithItsVerdictAndCounts() throws {
        let tree = TempTree()
        let script = """
            set -e
            mkdir -p /run/systemd /run/log
            mount -t tmpfs tmpfs /run/systemd
            mount -t tmpfs tmpfs /run/log
            if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
            mkdir -p /run/systemd/journal
            # Without the audit, syslog and module capabilities, journald cannot turn the machine's
            # kernel audit on or off, read its audit stream, read /dev/kmsg or load modules.
            setpriv --bounding-set -audit_control,-audit_write,-audit_read,-syslog,-sys_module \\
              /lib/systemd/systemd-journald >/dev/null 2>&1 &
            journald=$!
            i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
            "$1" audit --root "$2" --no-sign --profile sl3 >/dev/null 2>"$3/stderr" || true
            sleep 0.2
            journalctl --no-pager -o json MESSAGE_ID=\(auditJournalMessageID) > "$3/entries.json" || true
            kill $journald; wait $journald || true
            """
        let r = run(
            "/usr/bin/unshare",
            [
                "--mount", "/bin/sh", "-c", script, "sh", Package.wardenBinary,
                Package.fixtureRoot("sshd-hardened"), tree.path,
            ])
        guard r.status == 0 else {
            // No mount namespaces in this sandbox: say so rather than pass silently.
            Issue.record("cannot run journald in a private mount namespace here: \(r.stderr)")
            return
        }
        let stderr = run("/bin/cat", [tree.path + "/stderr"]).stdout
        #expect(!stderr.contains("journald is not running"), "\(stderr)")
        let lines = run("/bin/cat", [tree.path + "/entries.json"]).stdout.split(separator: "\n")
        try #require(lines.count == 1, "expected one entry, found \(lines.count): \(stderr)")
        let entry = try JSON.parse(String(lines[0]))
        #expect(entry["SYSLOG_IDENTIFIER"] == "warden")
        #expect(entry["WARDEN_PROFILE"] == "sl3")
        #expect(entry["WARDEN_MODE"] == "offline")
        #expect(entry["WARDEN_VERDICT"] == "nonconformant")
        #expect(entry["PRIORITY"] == "4")
        #expect(entry["WARDEN_PASS"]?.stringValue.flatMap { Int($0) }.map { $0 >= 6 } == true)
        #expect(entry["MESSAGE"]?.stringValue?.hasPrefix("warden audit sl3 of ") == true)
    }

    @Test func withoutJournaldTheAuditSaysSo() {
        // This machine runs no journald (no /run/systemd/journal/socket), as in a container.
        guard run("/usr/bin/test", ["-S", "/run/systemd/journal/socket"]).status != 0 else { return }
        let r = run(Package.wardenBinary, ["audit", "--root", Package.fixtureRoot("sshd-hardened"), "--no-sign"])
        #expect(r.stderr.contains("warden: journald is not running (no /run/systemd/journal/socket): no journal entry was written"))
    }
}

/// The MESSAGE_ID of audit entries (Audit.journalMessageID in the CLI).
let auditJournalMessageID = "3f6c1a2e9b8d4e57a0c4d2b1e8f7a695"
