import NIOCore
import SessionGateCore

/// Runs async store work from a channel handler and delivers the result back on the handler's
/// event loop, failing with `StoreError.timeout` after `[store] timeout` so a hung store never
/// hangs a request.
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
        let started = NIODeadline.now()
        let promise = loop.makePromise(of: T.self)
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(StoreError(.timeout, "no answer within the store timeout"))
        }
        promise.completeWithTask {
            do {
                return try await body()
            } catch {
                throw error
            }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            timer.cancel()
            if let observation {
                let failed = if case .failure = result { true } else { false }
                observation.events.storeCallFinished(
                    backend: observation.backend, operation: observation.operation,
                    duration: .nanoseconds((NIODeadline.now() - started).nanoseconds), failed: failed)
            }
            switch result {
            case .success(let value): completion(.success(value))
            case .failure(let error as StoreError): completion(.failure(error))
            case .failure(let error): completion(.failure(StoreError(.unavailable, "\(type(of: error))")))
            }
        }
    }
}
