import SessionGateCore
import Synchronization

/// Runs `operation`, failing with `StoreError(.timeout)` when it takes longer than `timeout`
/// (`[store] timeout`), so a dead or hung database answers callers quickly.
///
/// The operation runs in its own task, so the caller is released at the deadline even when the
/// database client does not react to cancellation mid-query; it is cancelled all the same.
func withStoreDeadline<Result: Sendable>(
    _ timeout: Duration, _ what: String, _ operation: @escaping @Sendable () async throws(StoreError) -> Result
) async throws(StoreError) -> Result {
    let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Swift.Result<Result, StoreError>, Never>) in
        let gate = FirstOutcome(continuation)
        let work = Task {
            do throws(StoreError) {
                gate.finish(.success(try await operation()))
            } catch {
                gate.finish(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            gate.finish(.failure(StoreError(.timeout, "\(what) took longer than \(timeout)")))
        }
        gate.onFinish {
            work.cancel()
            timer.cancel()
        }
    }
    return try outcome.get()
}

/// Resumes a continuation with whichever outcome arrives first.
private final class FirstOutcome<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Never>?
        var cleanup: (@Sendable () -> Void)?
        var finished = false
    }

    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        state = Mutex(State(continuation: continuation))
    }

    func finish(_ value: Value) {
        let (continuation, cleanup) = state.withLock { state in
            guard !state.finished else { return (CheckedContinuation<Value, Never>?.none, (@Sendable () -> Void)?.none) }
            state.finished = true
            defer { state.continuation = nil; state.cleanup = nil }
            return (state.continuation, state.cleanup)
        }
        continuation?.resume(returning: value)
        cleanup?()
    }

    /// Runs `cleanup` once an outcome is in (at once if it already is).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            if state.finished { return true }
            state.cleanup = cleanup
            return false
        }
        if runNow { cleanup() }
    }
}
