import Glibc
import HostFacts
import LocalFiles
import OpenSSLSigning
import WardenCore
import WardenFormats

/// Where Warden keeps its own state: the host key, the canary key and the latest signed findings.
enum StateDirectory {
    static let hostKeyName = "host-key.pem"
    static let canaryKeyName = "canary.key"
    static let latestFindings = "findings/latest.dsse.json"

    /// `--state-dir`, else `/var/lib/warden` as root, else `$XDG_STATE_HOME/warden` or
    /// `~/.local/state/warden` (docs/ARCHITECTURE.md).
    static func path(_ override: String?) throws(WardenError) -> String {
        if let override { return override }
        if geteuid() == 0 { return "/var/lib/warden" }
        if let xdg = getenv("XDG_STATE_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") { return xdg + "/warden" }
        guard let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") else {
            throw WardenError(.usage, field: "--state-dir", "cannot locate the state directory: HOME is not set; pass --state-dir DIR")
        }
        return home + "/.local/state/warden"
    }

    /// Creates `path` and any missing parents with mode 0700 (existing directories are left as they are).
    static func create(_ path: String) throws(WardenError) {
        try LocalFile.createDirectories(path, mode: 0o700, field: "--state-dir")
    }

    /// Removes what an earlier run killed outright (SIGKILL, a power cut) left of its temporary
    /// files in `state` (`LocalFile.temporaryName`). Only under the lock, when no other run writes.
    static func removeTemporaryFiles(_ state: String) {
        for dir in [state + "/findings", state + "/" + History.directory] {
            for name in LocalFile.list(dir) where name.contains(".dsse.json.tmp-") { unlink(dir + "/" + name) }
        }
        for name in LocalFile.list(state) where name.hasPrefix(canaryKeyName + ".tmp-") { unlink(state + "/" + name) }
    }

    /// The canary key in `state` (32 random bytes, mode 0600), made on the first audit whose site
    /// file lists canaries, under the state directory's lock, as the host key is. An existing key
    /// is read without the lock: it is only ever linked into place whole. Returns whether this
    /// call took the lock (held until the process ends).
    static func canaryKey(in state: String, lockTimeout: Int) throws(WardenError) -> (key: HMACKey, locked: Bool) {
        let path = state + "/" + canaryKeyName
        var locked = false
        if access(path, F_OK) != 0 {
            try create(state)
            try StateLock.acquire(state, timeout: lockTimeout)
            locked = true
            removeTemporaryFiles(state)
            if access(path, F_OK) != 0 {
                let key = try keyOperation("canary key") { () throws(OpenSSLError) in try HMACKey.generate() }
                try Interruption.critical { () throws(WardenError) in
                    try keyOperation("canary key") { () throws(OpenSSLError) in try key.write(toNewFile: path) }
                }
                printError("warden: created canary key \(path): canary paths appear in the findings only as its digests")
            }
        }
        return (try keyOperation("canary key") { () throws(OpenSSLError) in try HMACKey.load(path) }, locked)
    }

    /// The host key in `state`, created (Ed25519, mode 0600) on first use as sshd creates its host
    /// keys. Returns whether it was created now.
    static func hostKey(in state: String) throws(WardenError) -> (key: PrivateKey, created: Bool) {
        let path = state + "/" + hostKeyName
        var created = false
        if access(path, F_OK) != 0 {
            try create(state)
            let key = try keyOperation("host key") { () throws(OpenSSLError) in try PrivateKey.generate(.ed25519) }
            do {
                try key.writePEM(toNewFile: path)
                created = true
            } catch  where error.kind == .fileExists {
                // Another audit created it first: use theirs.
            } catch {
                throw wardenError(error, field: "host key")
            }
        }
        let key = try keyOperation("host key") { () throws(OpenSSLError) in try PrivateKey.load(path) }
        return (key, created)
    }
}

/// Loads `--key`: a PEM file, a TSS2 PEM or a `handle:` reference.
func loadKey(_ reference: String, field: String = "--key") throws(WardenError) -> PrivateKey {
    try keyOperation(field) { () throws(OpenSSLError) in try PrivateKey.load(reference) }
}

func keyOperation<T>(_ field: String, _ body: () throws(OpenSSLError) -> T) throws(WardenError) -> T {
    do {
        return try body()
    } catch {
        throw wardenError(error, field: field)
    }
}

/// Maps a key or signing failure to an exit code: missing file 66; a key file that cannot be used
/// (unprotected, not a key, unsupported) 65; an existing file in the way of a new key 64;
/// I/O, the TPM and the library itself 74.
func wardenError(_ error: OpenSSLError, field: String) -> WardenError {
    let code: WardenError.Code =
        switch error.kind {
        case .missingFile: .missing
        case .insecurePermissions, .invalidKey: .malformed
        case .fileExists: .usage
        case .io, .providerUnavailable, .library: .io
        }
    return WardenError(code, file: error.reference, field: field, error.message)
}

/// What `keygen` and `key show` print: the keyid, the algorithm, where the key is held, and the
/// public key in PEM (so the output itself is a valid `--trust` file). Never the private key.
func describe(_ key: PrivateKey, reference: String) -> String {
    let held = key.providerName.map { "\($0) provider (\(reference)); the private key never leaves the device" } ?? "file \(reference)"
    return """
        keyid: \(key.keyID)
        algorithm: \(key.algorithm.rawValue)
        held by: \(held)
        \(key.publicKey.pem)
        """
}

/// The state directory's lock: one live audit at a time writes the host key, the latest envelope
/// and the history (the timer's run and an operator's). `flock` on `<state>/lock`, held until the
/// process ends (the kernel releases it even when the process is killed). A second run waits up
/// to `timeout` seconds, then refuses with exit 75 (`busy`).
enum StateLock {
    static let name = "lock"

    static func acquire(_ state: String, timeout: Int) throws(WardenError) {
        let path = state + "/" + name
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw WardenError(
                .io, file: path, field: "--state-dir", "cannot open the state directory's lock: \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + .seconds(max(timeout, 0))
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            guard e == EWOULDBLOCK || e == EINTR else {
                close(fd)
                throw WardenError(.io, file: path, field: "--state-dir", "cannot lock the state directory: \(String(cString: strerror(e)))")
            }
            guard ContinuousClock.now < deadline else {
                close(fd)
                throw WardenError(
                    .busy, file: path, field: "--lock-timeout",
                    "another Warden run\(holder(path)) has held the state directory's lock for more than \(timeout) s; nothing was done: try again later, or wait longer with --lock-timeout"
                )
            }
            if !told {
                printError("warden: waiting up to \(timeout) s for another Warden run\(holder(path)) that holds \(path)")
                told = true
            }
            usleep(50_000)
        }
        // Ours until the process ends: the holder's pid, for a waiting run's message, written
        // over the last one at a fixed width (never truncated: on a full disk that would free
        // the block the next write needs, and a failed write here only costs the message).
        let digits = String(getpid())
        let pid = Array((String(repeating: " ", count: max(0, 10 - digits.count)) + digits + "\n").utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// " (pid N)" from the lock file, when it names one.
    private static func holder(_ path: String) -> String {
        guard let text = try? LocalFile.readText(path, limit: 64),
            let pid = Int32(text.filter(\.isNumber))
        else { return "" }
        return " (pid \(pid))"
    }
}
