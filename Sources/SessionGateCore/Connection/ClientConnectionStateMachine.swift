/// The state of one client connection, as one value: every state the data plane can be in, the
/// events that move it, and what the connection handler must do about each. Pure: no channel, no
/// clock, no I/O. The handler (`ClientHandler`) feeds it events — request parts, session loads,
/// upstream parts, writability, timer expiries — performs the action it returns, and then applies
/// `readPolicy` and `timers`, which the machine derives from its state (so no flag can disagree
/// with the state it belongs to).
///
/// The machine speaks in request/response events, not HTTP/1 bytes: a TLS listener sits in front
/// of it unchanged, and an HTTP/2 stream would feed it the same events (see
/// `docs/design/data-plane.md`).
public struct ClientConnectionStateMachine: Sendable, Equatable {
    /// What the machine knows of the current request.
    public struct Request: Sendable, Equatable {
        /// The connection stays open after this exchange.
        public var keepAlive: Bool
        /// The head announced a body (`Content-Length` other than 0, or `Transfer-Encoding`).
        public let announcesBody: Bool
        /// `Expect: 100-continue`.
        public let expectsContinue: Bool
        /// The request's end was read.
        public var bodyEnded = false
        /// An upstream connection belongs to this exchange.
        public var upstreamAttached = false

        public init(keepAlive: Bool, announcesBody: Bool, expectsContinue: Bool) {
            self.keepAlive = keepAlive
            self.announcesBody = announcesBody
            self.expectsContinue = expectsContinue
        }
    }

    public enum State: Sendable, Equatable {
        /// Between requests (`idle_timeout` runs).
        case idle
        /// Bytes of a request head arrived (`header_timeout` runs).
        case readingHead
        /// A head is in: the handler checks it, matches the route and looks for a session cookie.
        case routing(Request)
        /// The session loads; `bounded`: the proxy bounds the call by `[store] timeout` itself.
        case loadingSession(Request, bounded: Bool)
        /// Waiting for an upstream connection from the pool.
        case connectingUpstream(Request)
        /// The upstream has the head; the body streams to it; waiting for the response head
        /// (`response_timeout` runs once the whole request is with the upstream).
        case forwarding(Request)
        /// The response's directives are being written to the store before its head may leave;
        /// the response's body is held (`responseEnded`: all of it arrived).
        case applyingDirectives(Request, responseEnded: Bool)
        /// The response head went out; its body streams to the client.
        case streamingResponse(Request)
        /// Answered (by the proxy, or by an upstream that did not wait for the body); the rest of
        /// the request body is read and dropped. `linger`: close after a short grace even if it
        /// never ends.
        case answeredDraining(Request, linger: Bool)
        /// `101 Switching Protocols` went out: the connection becomes a byte tunnel.
        case tunnelling
        /// Closing; nothing more is read or answered.
        case closing
    }

    /// What the handler does about an event.
    public enum Action: Sendable, Equatable {
        case none
        /// Check and route the request head just received.
        case route
        /// A part of a pipelined request: keep it, in order, until this exchange ends.
        case queuePipelined
        /// Keep the request part until the upstream connection is there.
        case bufferRequestPart
        /// Write the request part to the upstream (`flush`: it ended the request).
        case forwardRequestPart(flush: Bool)
        /// Drop the request part (answered, tunnelling or closing).
        case dropRequestPart
        /// The request ended after an answer: the exchange is over (`close`: and the connection).
        case finishDrained(close: Bool)
        /// Write the local answer; `close`: then close the connection; `finished`: the exchange is
        /// over and the connection waits for the next request.
        case writeLocalAnswer(close: Bool, finished: Bool)
        /// Write the head and the buffered request parts upstream (`sendContinue`: and answer
        /// `100 Continue` to the client).
        case startForwarding(sendContinue: Bool)
        /// The upstream connection came for an exchange that is gone: back to the pool.
        case releaseUpstream
        /// A session load's answer: go on with it (authorize or answer).
        case continueWithSession
        /// An answer for a call that no longer matters (the exchange moved on): drop it.
        case ignore
        /// Look at the response head (101, directives, or send it).
        case inspectResponseHead
        /// A response head the exchange did not ask for: the upstream connection is never reused.
        case markUpstreamBroken
        /// Keep the response part until the directives are applied.
        case bufferResponsePart
        /// Write the response body part to the client.
        case forwardResponsePart
        /// The response ended: write its end. `releaseUpstream`: the connection goes back to the
        /// pool (else it is discarded); `close`: close the client connection after the write.
        case finishResponse(releaseUpstream: Bool, close: Bool)
        /// The response ended before the request body: write its end, discard the upstream, keep
        /// reading and dropping the body until it ends or the linger time passes.
        case finishResponseEarly
        /// The 101 response is complete: join both connections as a byte tunnel.
        case joinTunnel
        /// Answer with this error (the upstream connection, if any, is discarded).
        case fail(Failure)
        /// Write `408` for a request head that did not arrive in time, then close.
        case writeHeadTimeoutAndClose
        /// Answer a request that never became an exchange (malformed or oversized head), then close.
        case rejectAndClose
        /// Close the client connection (and discard the upstream connection, if any).
        case close
    }

    /// Why the proxy answers an exchange itself after it began.
    public enum Failure: Sendable, Equatable {
        /// The upstream did not answer within `response_timeout` (504).
        case responseTimeout
        /// The request body stalled for `body_timeout` (408).
        case bodyTimeout
        /// The request body passed `max_body_bytes` (413).
        case bodyTooLarge
        /// The upstream failed before its response head (502).
        case upstreamFailed
    }

    /// Which timers run now; each value names a deadline, and a changed value restarts it.
    public struct Timers: Sendable, Equatable {
        public enum Connection: Sendable, Equatable {
            case idle
            case header
        }
        public enum Exchange: Sendable, Equatable {
            case store
            case response
            case linger
        }
        /// `idle_timeout` between requests, `header_timeout` while a head arrives.
        public var connection: Connection?
        /// `body_timeout`, restarted (the number changes) by every body part and every resume.
        public var body: UInt32?
        /// The slow reader's `idle_timeout`, restarted by every drain of the client's queue.
        public var stall: UInt32?
        /// `[store] timeout`, `response_timeout` or the linger after an early answer.
        public var exchange: Exchange?

        public init() {}
    }

    public private(set) var state: State = .idle
    /// Graceful drain: no keep-alive after the current exchange.
    public private(set) var quiescing = false
    /// Parts of a pipelined request wait in the handler (reads stay paused until they replay).
    public private(set) var hasPipelined = false
    public private(set) var clientWritable = true
    public private(set) var upstreamWritable = true
    private var bodyEpoch: UInt32 = 0
    private var stallEpoch: UInt32 = 0

    public init() {}

    // MARK: derived policies

    /// The current exchange's request, when one runs.
    public var request: Request? {
        switch state {
        case .routing(let request), .loadingSession(let request, _), .connectingUpstream(let request),
            .forwarding(let request), .applyingDirectives(let request, _), .streamingResponse(let request),
            .answeredDraining(let request, _):
            request
        case .idle, .readingHead, .tunnelling, .closing: nil
        }
    }

    /// An exchange runs and no byte of its response reached the client yet.
    public var canAnswer: Bool {
        switch state {
        case .routing, .loadingSession, .connectingUpstream, .forwarding, .applyingDirectives: true
        case .idle, .readingHead, .streamingResponse, .answeredDraining, .tunnelling, .closing: false
        }
    }

    /// Whether the client's socket is read now (backpressure, buffering, pipelining).
    public var clientReadsPaused: Bool {
        if hasPipelined { return true }
        switch state {
        case .idle, .readingHead, .answeredDraining, .tunnelling: return false
        case .routing(let request), .loadingSession(let request, _), .connectingUpstream(let request),
            .applyingDirectives(let request, _):
            // Request parts are buffered until the upstream takes them: only the head's own.
            return !request.bodyEnded
        case .forwarding, .streamingResponse: return !upstreamWritable
        case .closing: return true
        }
    }

    /// Whether the upstream's socket is read now: not while the client cannot take more, and
    /// not while the response's head waits for its directives.
    public var upstreamReadsPaused: Bool {
        if case .applyingDirectives = state { return true }
        return !clientWritable
    }

    public var timers: Timers {
        var timers = Timers()
        switch state {
        case .idle: timers.connection = .idle
        case .readingHead: timers.connection = .header
        case .loadingSession(_, bounded: true): timers.exchange = .store
        case .forwarding(let request) where request.bodyEnded: timers.exchange = .response
        case .answeredDraining(_, linger: true): timers.exchange = .linger
        default: break
        }
        if let request, request.announcesBody, !request.bodyEnded, !clientReadsPaused { timers.body = bodyEpoch }
        if !clientWritable, request != nil { timers.stall = stallEpoch }
        return timers
    }

    // MARK: client events

    /// Bytes arrived from the client (before decoding).
    public mutating func bytesReceived() {
        if case .idle = state { state = .readingHead }
    }

    /// A request head was decoded.
    public mutating func requestHead(_ request: Request) -> Action {
        if hasPipelined || self.request?.bodyEnded == true { return queue() }
        switch state {
        case .idle, .readingHead:
            var request = request
            if quiescing { request.keepAlive = false }
            state = .routing(request)
            bodyEpoch &+= 1
            return .route
        case .tunnelling, .closing:
            return .dropRequestPart
        default:
            return queue()
        }
    }

    /// A piece of the request body was decoded.
    public mutating func requestBody() -> Action {
        if hasPipelined || self.request?.bodyEnded == true { return queue() }
        bodyEpoch &+= 1
        return relay(end: false)
    }

    /// The request's end was decoded.
    public mutating func requestEnd() -> Action {
        if hasPipelined || self.request?.bodyEnded == true { return queue() }
        guard var request else { return .dropRequestPart }
        request.bodyEnded = true
        replaceRequest(request)
        return relay(end: true)
    }

    /// Whether parts of pipelined requests wait in the handler: false while it replays them
    /// (they come back through the events above), true again if some are left.
    public mutating func pipelinedQueue(waiting: Bool) { hasPipelined = waiting }

    /// The connection closes after this exchange (an upgrade that is not tunnelled).
    public mutating func endKeepAlive() {
        guard var request else { return }
        request.keepAlive = false
        replaceRequest(request)
    }

    /// The request body passed `max_body_bytes`.
    public mutating func bodyLimitExceeded() -> Action {
        switch state {
        case .routing, .loadingSession, .connectingUpstream, .forwarding: return .fail(.bodyTooLarge)
        default: return close()
        }
    }

    /// The request could not be parsed (the decoder's error).
    public mutating func requestMalformed() -> Action {
        switch state {
        case .idle, .readingHead, .routing, .loadingSession, .connectingUpstream:
            // Nothing went upstream yet: answer once, and close.
            state = .closing
            hasPipelined = false
            return .rejectAndClose
        case .closing: return .none
        default: return close()
        }
    }

    /// The client can take more bytes, or cannot.
    public mutating func clientWritabilityChanged(_ writable: Bool) {
        if !writable { stallEpoch &+= 1 }
        clientWritable = writable
    }

    /// Graceful drain: finish the current exchange without keep-alive, or close when idle.
    public mutating func quiesce() -> Action {
        quiescing = true
        hasPipelined = false
        guard var request else {
            if case .tunnelling = state { return .none }
            return close()
        }
        request.keepAlive = false
        replaceRequest(request)
        return .none
    }

    /// The client connection closed.
    public mutating func clientClosed() {
        state = .closing
        hasPipelined = false
    }

    // MARK: routing and the session

    /// The handler answers the request itself. The connection stays open only when the request
    /// is complete (or announced no body) and keep-alive holds.
    public mutating func answerLocally(forceClose: Bool = false) -> Action {
        guard var request, canAnswer else { return close() }
        let close = forceClose || !request.keepAlive || (!request.bodyEnded && request.announcesBody)
        request.upstreamAttached = false
        if close {
            state = .closing
            hasPipelined = false
            return .writeLocalAnswer(close: true, finished: true)
        }
        if request.bodyEnded {
            state = .idle
            return .writeLocalAnswer(close: false, finished: true)
        }
        state = .answeredDraining(request, linger: false)
        return .writeLocalAnswer(close: false, finished: false)
    }

    /// A store call for the session started; `bounded`: the proxy times it (callback loads).
    public mutating func sessionLoadStarted(bounded: Bool) {
        guard case .routing(let request) = state else { return }
        state = .loadingSession(request, bounded: bounded)
    }

    /// The store answered (or failed). `.continueWithSession` unless the load already timed out.
    public mutating func sessionLoadFinished() -> Action {
        guard case .loadingSession(let request, _) = state else { return .ignore }
        state = .routing(request)
        return .continueWithSession
    }

    /// The route allows the request: an upstream connection is wanted.
    public mutating func upstreamRequested() {
        guard case .routing(let request) = state else { return }
        state = .connectingUpstream(request)
    }

    /// The pool handed over a connection.
    public mutating func upstreamConnected() -> Action {
        guard case .connectingUpstream(var request) = state else { return .releaseUpstream }
        request.upstreamAttached = true
        state = .forwarding(request)
        return .startForwarding(sendContinue: request.expectsContinue && !request.bodyEnded)
    }

    // MARK: upstream events

    /// A response head arrived from the upstream.
    public mutating func responseHead() -> Action {
        guard case .forwarding = state else { return .markUpstreamBroken }
        return .inspectResponseHead
    }

    /// The response's directives go to the store before its head may leave.
    public mutating func applyingDirectives() {
        guard case .forwarding(let request) = state else { return }
        state = .applyingDirectives(request, responseEnded: false)
    }

    /// The directives were applied: `.continueWithSession` sends the head, unless it is too late.
    public mutating func directivesApplied() -> Action {
        guard case .applyingDirectives = state else { return .ignore }
        return .continueWithSession
    }

    /// The response head went out; `closeAfter`: its framing ends with the connection (a
    /// close-delimited body for an HTTP/1.0 client).
    public mutating func responseHeadSent(closeAfter: Bool) {
        guard var request else { return }
        if closeAfter { request.keepAlive = false }
        state = .streamingResponse(request)
    }

    /// `101 Switching Protocols` (checked against the upgrade asked for) went out.
    public mutating func switchedProtocols() {
        guard case .forwarding = state else { return }
        state = .tunnelling
    }

    /// A piece of the response body arrived.
    public mutating func responseBody() -> Action {
        switch state {
        case .applyingDirectives(_, let responseEnded): return responseEnded ? .ignore : .bufferResponsePart
        case .streamingResponse: return .forwardResponsePart
        default: return .ignore
        }
    }

    /// The response ended.
    public mutating func responseEnd() -> Action {
        switch state {
        case .tunnelling:
            return .joinTunnel
        case .applyingDirectives(let request, false):
            state = .applyingDirectives(request, responseEnded: true)
            return .bufferResponsePart
        case .streamingResponse(var request):
            guard request.upstreamAttached else { return finishResponse(request, release: false) }
            request.upstreamAttached = false
            guard request.bodyEnded else {
                // The upstream answered before reading the whole request: its connection's framing
                // is unknown, and the client's connection ends after this exchange.
                request.keepAlive = false
                state = .answeredDraining(request, linger: true)
                return .finishResponseEarly
            }
            return finishResponse(request, release: true)
        default:
            return .ignore
        }
    }

    /// The upstream connection failed or closed.
    public mutating func upstreamFailed() -> Action {
        switch state {
        case .applyingDirectives(var request, true):
            // The response is complete and held while directives apply: nothing changes for the
            // client, but the connection never goes back.
            request.upstreamAttached = false
            state = .applyingDirectives(request, responseEnded: true)
            return .markUpstreamBroken
        case .forwarding:
            return .fail(.upstreamFailed)
        case .streamingResponse, .applyingDirectives, .tunnelling:
            // Mid-body: the client cannot be told otherwise; it sees a truncated message.
            return close()
        default:
            return .ignore
        }
    }

    /// The upstream can take more bytes, or cannot.
    public mutating func upstreamWritabilityChanged(_ writable: Bool) { upstreamWritable = writable }

    /// The handler let go of the exchange's upstream connection (dropped or failed).
    public mutating func upstreamDetached() {
        guard var request, request.upstreamAttached else { return }
        request.upstreamAttached = false
        replaceRequest(request)
    }

    // MARK: timers

    /// A timer from `timers` expired.
    public mutating func idleTimedOut() -> Action {
        guard case .idle = state else { return .none }
        return close()
    }

    public mutating func headerTimedOut() -> Action {
        guard case .readingHead = state else { return .none }
        state = .closing
        return .writeHeadTimeoutAndClose
    }

    public mutating func bodyTimedOut() -> Action {
        guard let request, !request.bodyEnded else { return .none }
        switch state {
        case .routing, .loadingSession, .connectingUpstream, .forwarding: return .fail(.bodyTimeout)
        default: return close()
        }
    }

    public mutating func stallTimedOut() -> Action {
        guard request != nil, !clientWritable else { return .none }
        return close()
    }

    public mutating func storeTimedOut() -> Action {
        guard case .loadingSession(let request, bounded: true) = state else { return .none }
        // Handled as the store's failure (public routes go on without a session).
        state = .routing(request)
        return .continueWithSession
    }

    public mutating func responseTimedOut() -> Action {
        guard case .forwarding = state else { return .none }
        return .fail(.responseTimeout)
    }

    public mutating func lingerTimedOut() -> Action {
        guard case .answeredDraining(_, linger: true) = state else { return .none }
        return close()
    }

    // MARK: private

    private mutating func queue() -> Action {
        hasPipelined = true
        return .queuePipelined
    }

    private mutating func close() -> Action {
        state = .closing
        hasPipelined = false
        return .close
    }

    private mutating func replaceRequest(_ request: Request) {
        switch state {
        case .routing: state = .routing(request)
        case .loadingSession(_, let bounded): state = .loadingSession(request, bounded: bounded)
        case .connectingUpstream: state = .connectingUpstream(request)
        case .forwarding: state = .forwarding(request)
        case .applyingDirectives(_, let ended): state = .applyingDirectives(request, responseEnded: ended)
        case .streamingResponse: state = .streamingResponse(request)
        case .answeredDraining(_, let linger): state = .answeredDraining(request, linger: linger)
        case .idle, .readingHead, .tunnelling, .closing: break
        }
    }

    /// Where a request part goes in the current state.
    private mutating func relay(end: Bool) -> Action {
        switch state {
        case .routing, .loadingSession, .connectingUpstream:
            return .bufferRequestPart
        case .applyingDirectives(let request, _):
            return request.upstreamAttached ? .forwardRequestPart(flush: end) : .bufferRequestPart
        case .forwarding, .streamingResponse:
            return .forwardRequestPart(flush: end)
        case .answeredDraining(let request, _):
            guard end else { return .dropRequestPart }
            if request.keepAlive {
                state = .idle
                return .finishDrained(close: false)
            }
            state = .closing
            hasPipelined = false
            return .finishDrained(close: true)
        case .idle, .readingHead, .tunnelling, .closing:
            return .dropRequestPart
        }
    }

    private mutating func finishResponse(_ request: Request, release: Bool) -> Action {
        if request.keepAlive {
            state = .idle
            return .finishResponse(releaseUpstream: release, close: false)
        }
        state = .closing
        hasPipelined = false
        return .finishResponse(releaseUpstream: release, close: true)
    }
}
