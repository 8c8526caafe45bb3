internal import Dispatch
internal import LocalFiles

/// Work spread over every core, with the results kept in input order, so that what is built
/// from them (bundles, summaries, failure lists) has the same bytes however the work was scheduled.
enum Parallel {
    /// How many items are handed out between two collections of their results: enough that the
    /// cores seldom wait for each other at the end of a window, few enough that the results
    /// (an envelope's compact record each; its bytes and findings are gone once it is checked)
    /// stay small in memory.
    static let window = 256

    /// `body(i)` for every `i` in `0..<count`, run concurrently (on this thread alone without
    /// /proc: `LocalSystem.dispatchWorkers`); the results in index order.
    static func map<R: Sendable>(_ count: Int, _ body: @Sendable (Int) -> R) -> [R] {
        guard count > 1, LocalSystem.dispatchWorkers else { return (0..<count).map(body) }
        let slots = Slots<R>(count)
        DispatchQueue.concurrentPerform(iterations: count) { i in slots.put(i, body(i)) }
        return slots.take()
    }

    /// The ranges of `0..<count` in windows of `window`.
    static func windows(_ count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: window).map { $0..<min($0 + window, count) }
    }
}

/// One result slot per iteration of `concurrentPerform`.
///
/// `@unchecked Sendable` is safe here: slot `i` is written only by iteration `i`, no slot is read
/// while iterations run, and `take()` is called after `concurrentPerform` has returned, which
/// happens after every iteration has finished.
private final class Slots<R>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<R?>

    init(_ count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }

    func put(_ i: Int, _ value: R) { buffer[i] = value }

    func take() -> [R] { buffer.compactMap { $0 } }

    deinit {
        buffer.deinitialize()
        buffer.deallocate()
    }
}
