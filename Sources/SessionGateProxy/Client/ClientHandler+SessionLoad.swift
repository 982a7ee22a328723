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
        if loadThroughCallback(ticket, exchange: exchange, startedAt: startedAt, context: context) { return }
        machine.sessionLoadStarted(bounded: false)
        let observation = StoreCall.Observation(events: events, backend: backend, operation: .load)
        StoreCall.run(on: context.eventLoop, timeout: runtime.config.store.timeout, observe: observation) {
            () async throws(StoreError) -> StoredSession? in
            try await SessionFlow.load(ticket: ticket, runtime: runtime, now: now)
        } completion: { result in
            guard self.exchange === exchange, self.machine.sessionLoadFinished() == .continueWithSession else { return }
            self.sessionLoadCompleted(result, exchange: exchange)
            self.applyPolicies()
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

    /// Starts the store's callback load; the machine's store timer bounds it by `[store] timeout`.
    private func loadThroughCallback(
        _ ticket: SessionTicket, exchange: Exchange, startedAt: NIODeadline, context: ChannelHandlerContext
    ) -> Bool {
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, exchange), eventLoop: loop)
        exchange.loadStartedAt = startedAt
        machine.sessionLoadStarted(bounded: true)
        let started = exchange.runtime.store.load(ticket, now: exchange.now) { result in
            if loop.inEventLoop {
                bound.value.0.sessionLoadFinished(result, exchange: bound.value.1)
            } else {
                loop.execute { bound.value.0.sessionLoadFinished(result, exchange: bound.value.1) }
            }
        }
        if !started, case .loadingSession = machine.state {
            // Not started (no completion will come): back to routing, and the Task load instead.
            _ = machine.sessionLoadFinished()
            exchange.loadStartedAt = nil
        }
        return started
    }

    /// The callback load answered (ignored when its deadline passed first).
    func sessionLoadFinished(_ result: Result<StoredSession?, StoreError>, exchange: Exchange) {
        guard self.exchange === exchange, machine.sessionLoadFinished() == .continueWithSession else { return }
        loadEnded(result, exchange: exchange)
        applyPolicies()
    }

    /// `[store] timeout` passed before the callback load answered: handled as its failure.
    func sessionLoadTimedOut(_ exchange: Exchange) {
        loadEnded(.failure(StoreError(.timeout, "no answer within the store timeout")), exchange: exchange)
    }

    private func loadEnded(_ result: Result<StoredSession?, StoreError>, exchange: Exchange) {
        let failed = if case .failure = result { true } else { false }
        if let startedAt = exchange.loadStartedAt {
            exchange.loadStartedAt = nil
            events.storeCallFinished(
                backend: exchange.runtime.config.store.backend, operation: .load,
                duration: .nanoseconds((NIODeadline.now() - startedAt).nanoseconds), failed: failed)
        }
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
