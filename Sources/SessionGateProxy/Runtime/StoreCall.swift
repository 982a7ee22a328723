import NIOCore
import SessionGateCore
import Synchronization

/// Runs async store work from a channel handler and delivers the result back on the handler's
/// event loop, failing with `StoreError.timeout` when the work, once started, takes longer than
/// `[store] timeout`, so a hung store never hangs a request.
enum StoreCall {
    /// Where a measured call records its round trip (`sessiongate_store_duration_seconds`,
    /// `sessiongate_store_errors_total`).
    struct Observation {
        let events: ProxyEvents
        let backend: ProxyConfig.Backend
        let operation: ProxyEvents.StoreOperation
    }

    static func run<T: Sendable>(
        on loop: any EventLoop, timeout: Duration, observe observation: Observation? = nil,
        _ body: @escaping @Sendable () async throws(StoreError) -> T,
        completion: @escaping (Result<T, StoreError>) -> Void
    ) {
        let promise = loop.makePromise(of: T.self)
        let call = Bound()
        promise.completeWithTask {
            // The bound starts when the store work starts, not when the call was made: a Task
            // waiting for a free thread on a busy machine is the proxy being slow, not the store
            // (a busy proxy answers late; it must not lose a login to a 503).
            call.started.withLock { $0 = NIODeadline.now() }
            let scheduled = loop.scheduleTask(in: TimeAmount(timeout)) {
                promise.fail(StoreError(.timeout, "no answer within the store timeout"))
            }
            call.timer.withLock { $0 = scheduled }
            return try await body()
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            call.timer.withLock { $0?.cancel() }
            if let observation {
                let failed = if case .failure = result { true } else { false }
                observation.events.storeCallFinished(
                    backend: observation.backend, operation: observation.operation,
                    duration: .nanoseconds((NIODeadline.now() - call.started.withLock { $0 }).nanoseconds), failed: failed)
            }
            switch result {
            case .success(let value): completion(.success(value))
            case .failure(let error as StoreError): completion(.failure(error))
            case .failure(let error): completion(.failure(StoreError(.unavailable, "\(type(of: error))")))
            }
        }
    }

    /// When the store work started and its timeout task (set from the Task, read on the loop).
    private final class Bound: Sendable {
        let started = Mutex(NIODeadline.now())
        let timer = Mutex<Scheduled<Void>?>(nil)
    }
}
