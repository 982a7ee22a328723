import Synchronization

/// Runs `operation` in a task of its own and returns what it returns — or throws
/// `CancellationError` as soon as the caller is cancelled, leaving the operation behind (it is
/// cancelled too, and finishes whenever it does).
///
/// For calls that may ignore cancellation: postgres-nio can leave a query waiting for a
/// connection forever once its pool has stopped, and a service that awaited it would never
/// return from a cancelled `run()` (seen with a migration in flight at shutdown).
func abandoningOnCancel<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let outcome = AbandonableOutcome<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let work = Task {
                do {
                    outcome.finish(.success(try await operation()))
                } catch {
                    outcome.finish(.failure(error))
                }
            }
            outcome.wait(with: continuation, work: work)
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of the operation's result and the caller's cancellation, delivered once.
private final class AbandonableOutcome<Value: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Value, any Error>, Task<Void, Never>)
        case finished(Result<Value, any Error>)
        case delivered
    }

    private let state = Mutex(State.idle)

    func wait(with continuation: CheckedContinuation<Value, any Error>, work: Task<Void, Never>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            switch state {
            case .idle:
                state = .waiting(continuation, work)
                return nil
            case .finished(let result):
                state = .delivered
                return result
            case .waiting, .delivered:
                return nil
            }
        }
        if let early {
            if case .failure = early { work.cancel() }
            continuation.resume(with: early)
        }
    }

    func finish(_ result: Result<Value, any Error>) {
        let waiting = state.withLock { state -> (CheckedContinuation<Value, any Error>, Task<Void, Never>)? in
            switch state {
            case .idle:
                state = .finished(result)
                return nil
            case .waiting(let continuation, let work):
                state = .delivered
                return (continuation, work)
            case .finished, .delivered:
                return nil
            }
        }
        guard let (continuation, work) = waiting else { return }
        if case .failure = result { work.cancel() }
        continuation.resume(with: result)
    }
}
