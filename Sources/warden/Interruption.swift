import Glibc
import Synchronization
import WardenCore

/// What happens when Warden is asked to stop: SIGINT (Ctrl-C), SIGTERM (`systemctl stop`, a
/// timer's unit stopped) or SIGHUP (a closed terminal).
///
/// A signal handler only writes the signal's number into a pipe; a thread of its own reads it
/// and decides, so that nothing but `write` runs in the handler. Outside a `critical` section the
/// process ends at once: every file Warden writes is written inside one (as a temporary file
/// renamed into place), so there is nothing half-written to clean up. A signal that arrives
/// inside a critical section waits for it to finish, so that a run's files (the latest envelope,
/// its history entry, `--output`, `--metrics`) are all written or none is. A command that has
/// cleaning up of its own to do (`bundle` removes its staging directory) asks to `cooperate` and
/// polls `requested` instead. A second signal ends the process at once, except inside a critical
/// section.
///
/// The process then ends *by the signal* (the default action, re-raised), as a program that
/// catches a signal should: a shell reports 128 + the signal's number (130 for SIGINT, 143 for
/// SIGTERM) and systemd sees a unit that stopped when told to.
enum Interruption {
    private struct State {
        var criticalDepth = 0
        var requested: Int32?
        var cooperative = false
        /// What the run has done so far, for the message ("reading the host").
        var stage = "starting"
        /// What an interruption at this point leaves behind.
        var leaves = "nothing was written"
    }

    /// The state, in a class instance: Swift 6.3.1 at -O miscompiles a `static let` holding a
    /// `Mutex` made from a non-zero value (its storage stays zero-filled: `requested` read as
    /// `Optional(0)` and every run ended "interrupted by signal 0"); an instance's stored `Mutex`
    /// is initialised correctly. Tests/WardenCLITests/ReleaseBuildTests.swift runs the release build.
    private final class Box: Sendable { let state = Mutex(State()) }
    private static let box = Box()
    /// The pipe's write end, for the handler (a C function pointer cannot capture it).
    nonisolated(unsafe) private static var pipeWriteEnd: Int32 = -1
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handlers and starts the thread that acts on them. First thing in `main`.
    static func install() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        pipeWriteEnd = ends[1]
        let readEnd = ends[0]
        guard startThread({ watch(readEnd) }) else { return }
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(Interruption.pipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
    }

    /// Says what the run is doing, and what stopping it now would leave behind.
    static func stage(_ stage: String, leaves: String = "nothing was written") {
        box.state.withLock {
            $0.stage = stage
            $0.leaves = leaves
        }
    }

    /// Runs `body` to its end even if a signal arrives meanwhile; the process then ends after it.
    static func critical<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        box.state.withLock { $0.criticalDepth += 1 }
        let outcome = Result(catching: body)
        let pending = box.state.withLock { s -> (Int32, String)? in
            s.criticalDepth -= 1
            guard s.criticalDepth == 0, !s.cooperative, let signal = s.requested else { return nil }
            return (signal, s.stage)
        }
        if let (signal, stage) = pending {
            let what = (try? outcome.get()) == nil ? "it failed" : "it finished"
            end(signal, " while \(stage); the writing under way was allowed to finish and \(what)")
        }
        return try outcome.get()
    }

    /// From now on a signal only sets `requested`: the command stops at its next check, cleans
    /// up and calls `end`.
    static func cooperate() {
        box.state.withLock { $0.cooperative = true }
    }

    /// The signal that asked a cooperating command to stop, if one did.
    static var requested: Int32? { box.state.withLock { $0.requested } }

    /// Ends the process by `signal`, after saying why on standard error ("warden: interrupted by
    /// SIGTERM" and `detail`).
    static func end(_ signal: Int32, _ detail: String) -> Never {
        printError("warden: interrupted by \(name(signal))\(detail)")
        Glibc.signal(signal, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    private static func watch(_ readEnd: Int32) {
        while true {
            var byte: UInt8 = 0
            let n = read(readEnd, &byte, 1)
            if n < 0, errno == EINTR { continue }
            guard n == 1 else { return }
            let signal = Int32(byte)
            let act = box.state.withLock { s -> (Bool, String, String) in
                let second = s.requested != nil
                if s.requested == nil { s.requested = signal }
                // Inside a critical section the section's end acts; a cooperating command acts at
                // its next check, unless this is the second signal.
                let now = s.criticalDepth == 0 && (!s.cooperative || second)
                return (now, s.stage, s.leaves)
            }
            if act.0 { end(signal, " while \(act.1); \(act.2)") }
        }
    }

    #if DEBUG
        /// Test-only (debug builds): `WARDEN_TEST_INTERRUPT=NAME` sends this process SIGTERM at the
        /// checkpoint of that name (`WARDEN_TEST_INTERRUPT=NAME:INT` for SIGINT), so that tests stop
        /// a run at a known point instead of racing a timer. Outside a critical section and without
        /// cooperation the caller then waits for the end.
        static func checkpoint(_ name: String) {
            guard let value = getenv("WARDEN_TEST_INTERRUPT").map({ String(cString: $0) }) else { return }
            let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.first == name else { return }
            kill(getpid(), parts.count > 1 && parts[1] == "INT" ? SIGINT : SIGTERM)
            let waits = box.state.withLock { $0.criticalDepth == 0 && !$0.cooperative }
            if waits { while true { pause() } }
            // Let the watcher record the request before the caller's next check.
            while requested == nil { usleep(1000) }
        }
    #else
        @inline(__always) static func checkpoint(_ name: String) {}
    #endif
}

/// Starts `body` on a detached thread of its own; false when no thread could be made.
func startThread(_ body: @escaping () -> Void) -> Bool {
    final class Start {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let context = Unmanaged.passRetained(Start(body)).toOpaque()
    let made = pthread_create(
        &thread, nil,
        { context in
            guard let context else { return nil }
            Unmanaged<Start>.fromOpaque(context).takeRetainedValue().body()
            return nil
        }, context)
    guard made == 0 else {
        Unmanaged<Start>.fromOpaque(context).release()
        return false
    }
    pthread_detach(thread)
    return true
}
