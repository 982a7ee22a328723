import NIOCore
import SessionGateCore

/// Loading the session of a request, by the cheapest way the store offers: in place (memory),
/// through a callback on the store client's event loop (Redis, no Task), or as a Task (the rest).
extension ClientHandler {
    func loadSession(_ ticket: SessionTicket, exchange: Exchange, context: ChannelHandlerContext) {
        let runtime = exchange.runtime
        let now = exchange.now
        let backend = runtime.config.store.backend
        let startedAt = NIODeadline.now()
        switch runtime.store.loadWithoutSuspending(ticket, now: now) {
        case .unavailable: break
        case .found(let session):
            return sessionLoadedInPlace(session, exchange: exchange, backend: backend, startedAt: startedAt)
        case .missing:
            return sessionLoadedInPlace(nil, exchange: exchange, backend: backend, startedAt: startedAt)
        }
        updateReadPause()
        if loadThroughCallback(ticket, exchange: exchange, startedAt: startedAt, context: context) { return }
        let observation = StoreCall.Observation(events: events, backend: backend, operation: .load)
        StoreCall.run(on: context.eventLoop, timeout: runtime.config.store.timeout, observe: observation) {
            () async throws(StoreError) -> StoredSession? in
            try await SessionFlow.load(ticket: ticket, runtime: runtime, now: now)
        } completion: { result in
            guard self.exchange === exchange, !self.closed else { return }
            self.sessionLoadCompleted(result, exchange: exchange)
        }
    }

    private func sessionLoadedInPlace(
        _ session: StoredSession?, exchange: Exchange, backend: ProxyConfig.Backend, startedAt: NIODeadline
    ) {
        events.storeCallFinished(
            backend: backend, operation: .load, duration: .nanoseconds((NIODeadline.now() - startedAt).nanoseconds), failed: false)
        sessionLoaded(session == nil ? .miss : .hit, session: session, exchange: exchange)
        authorize(exchange)
    }

    /// Starts the store's callback load; the exchange's timer bounds it by `[store] timeout`.
    private func loadThroughCallback(
        _ ticket: SessionTicket, exchange: Exchange, startedAt: NIODeadline, context: ChannelHandlerContext
    ) -> Bool {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, exchange), eventLoop: loop)
        exchange.loadStartedAt = startedAt
        responseTimer?.set(startedAt + TimeAmount(exchange.runtime.config.store.timeout))
        let started = exchange.runtime.store.load(ticket, now: exchange.now) { result in
            if loop.inEventLoop {
                bound.value.0.sessionLoadFinished(result, exchange: bound.value.1)
            } else {
                loop.execute { bound.value.0.sessionLoadFinished(result, exchange: bound.value.1) }
            }
        }
        if !started, exchange.loadStartedAt != nil {
            exchange.loadStartedAt = nil
            responseTimer?.set(nil)
        }
        return started
    }

    /// The callback load answered, or its deadline passed (whichever came first counts).
    func sessionLoadFinished(_ result: Result<StoredSession?, StoreError>, exchange: Exchange) {
        guard self.exchange === exchange, !closed, let startedAt = exchange.loadStartedAt else { return }
        exchange.loadStartedAt = nil
        responseTimer?.set(nil)
        let failed = if case .failure = result { true } else { false }
        events.storeCallFinished(
            backend: exchange.runtime.config.store.backend, operation: .load,
            duration: .nanoseconds((NIODeadline.now() - startedAt).nanoseconds), failed: failed)
        sessionLoadCompleted(result, exchange: exchange)
    }

    private func sessionLoadCompleted(_ result: Result<StoredSession?, StoreError>, exchange: Exchange) {
        switch result {
        case .success(let session):
            sessionLoaded(session == nil ? .miss : .hit, session: session, exchange: exchange)
            authorize(exchange)
        case .failure(let error):
            sessionLoaded(.storeError, session: nil, exchange: exchange)
            exchange.runtime.logger.warning("session load failed", metadata: ["error": "\(error)"])
            if exchange.match.access == .public {
                authorize(exchange)  // public routes keep serving, as anonymous
            } else {
                answer(.storeUnavailable, exchange: exchange)
            }
        }
    }
}
