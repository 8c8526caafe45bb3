internal import Glibc

/// What Warden needs to know of the machine it runs on itself (not of the host it audits).
public enum LocalSystem {
    /// Whether Dispatch's worker threads may be used. libdispatch on Linux watches its thread
    /// pool by reading /proc/<tid>/stat once a second, and traps (SIGILL, "workq: registered
    /// worker exited prematurely") when it cannot open it while work is queued. In a minimal
    /// chroot or container without /proc, Warden therefore does its work on the calling thread:
    /// slower, with the same results.
    public static let dispatchWorkers: Bool = access("/proc/self/stat", R_OK) == 0
}
