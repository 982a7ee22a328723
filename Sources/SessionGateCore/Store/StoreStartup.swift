import Synchronization

/// Says when a store's background services have started — connections warmed, schema migrated,
/// or the first attempt failed (the store is then down, which the data plane handles: 503 on
/// session routes, public routes served). The client listener opens only after it, and `/readyz`
/// answers 503 until then, so the first requests never meet a store that has not started.
public final class StoreStartup: Sendable {
    private struct State {
        var started = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init(started: Bool = false) {
        state.withLock { $0.started = started }
    }

    public var isStarted: Bool { state.withLock { $0.started } }

    /// Marks the store started (idempotent) and wakes every waiter.
    public func markStarted() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.started = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the store has started.
    public func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.started { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
