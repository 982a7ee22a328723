import Logging
import NIOCore
import NIOHTTP1
import SessionGateCore

/// Serves one client connection: decides each request (path, route, session), forwards it to a
/// pooled upstream connection on the same event loop, applies the response's directives, and
/// streams bodies both ways with backpressure. Exchanges run one at a time: parts of pipelined
/// requests that arrive before the current response ended wait in `pipelined`, with reads
/// paused, and are replayed in order when it ends (no `HTTPServerPipelineHandler` in front: one
/// handler less for every message of every request).
final class ClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    /// Nothing is written through this handler from behind it; it writes responses as bytes
    /// (`HTTPWire`, no response encoder in the pipeline) and intercepts `read()`.
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let runtimes: RuntimeSource
    let pool: UpstreamPool
    let timeouts: ClientTimeoutHandler
    let events: ProxyEvents
    var exchange: Exchange? {
        didSet { if exchange == nil, !pipelined.isEmpty { scheduleReplay() } }
    }
    /// Parts of requests that arrived while the current exchange's request had already ended.
    private var pipelined: [HTTPServerRequestPart] = []
    private var replayScheduled = false
    /// Graceful drain asked this connection to finish: no keep-alive after the current exchange.
    private var quiescing = false
    var context: ChannelHandlerContext?
    var peer: String?
    private var readsPaused = false
    private var pendingRead = false
    var closed = false
    /// Writes are batched: flushed once per read from the other side.
    var clientNeedsFlush = false
    var upstreamNeedsFlush = false
    /// The current exchange's deadline: `[store] timeout` while its session loads, then
    /// `response_timeout` once the request is with the upstream (one timer per connection).
    var responseTimer: DeadlineTimer?

    init(runtimes: RuntimeSource, pool: UpstreamPool, timeouts: ClientTimeoutHandler, events: ProxyEvents) {
        self.runtimes = runtimes
        self.pool = pool
        self.timeouts = timeouts
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress?.ipAddress
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // The timer holds the handler only through its expiry action, dropped by `stop()`.
        responseTimer = DeadlineTimer(eventLoop: context.eventLoop) {
            let handler = loopBound.value
            guard let exchange = handler.exchange else { return }
            if exchange.loadStartedAt != nil {
                handler.sessionLoadFinished(.failure(StoreError(.timeout, "no answer within the store timeout")), exchange: exchange)
            } else {
                handler.responseTimedOut(exchange)
            }
        }
        timeouts.onBodyTimeout = { loopBound.value.bodyTimedOut() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeouts.onBodyTimeout = nil
        responseTimer?.stop()
        self.context = nil
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !pipelined.isEmpty || exchange?.requestEnded == true {
            pipelined.append(part)
            setReadsPaused(true)
            return
        }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            timeouts.requestHeadReceived()
            begin(head, context: context)
            if let exchange, !exchange.requestEnded, exchange.requestHasBody { timeouts.awaitBody() }
        case .body(let buffer):
            guard let exchange else { return }
            exchange.requestBodyBytes += buffer.readableBytes
            let limit = exchange.runtime.config.server.maxBodyBytes
            if limit > 0, exchange.requestBodyBytes > limit {
                return abortForBodyLimit(exchange)
            }
            relayRequestPart(part, exchange: exchange)
        case .end:
            timeouts.bodyEnded()
            guard let exchange else { return }
            exchange.requestEnded = true
            relayRequestPart(part, exchange: exchange)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            exchange?.upstream?.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        if let exchange {
            recordEnd(of: exchange)
            responseTimer?.stop()
            if let upstream = exchange.upstream {
                upstream.handler.delegate = nil
                upstream.handler.markBroken()
                upstream.channel.close(promise: nil)
            }
            self.exchange = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtimes.current.logger.debug("client connection error", metadata: ["error": "\(error)"])
        if let parserError = error as? HTTPParserError, parserError == .closedConnection, exchange != nil {
            // Bytes after a request that said `Connection: close`: that request is still served,
            // then the connection closes; what came after it is dropped, never answered.
            return
        }
        if let parserError = error as? HTTPParserError {
            // Malformed or ambiguous framing: answer once (if nothing is in flight) and close.
            if exchange == nil || exchange?.phase == .preparing {
                let response =
                    parserError == .headerOverflow
                    ? LocalResponse.headersTooLarge : LocalResponse(status: .badRequest, error: "malformed request")
                if let exchange {
                    exchange.status = Int(response.status.code)
                    recordEnd(of: exchange)
                } else {
                    // No head was parsed: answered before routing, never in flight.
                    events.requestAnswered(rule: .rejected, method: .other, status: Int(response.status.code), duration: .zero)
                }
                exchange = nil
                writeLocal(response, version: .http1_1, close: true, context: context)
            } else {
                context.close(promise: nil)
            }
            return
        }
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.upstream?.handler.setReadsPaused(!context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            quiescing = true
            pipelined.removeAll()
            if let exchange {
                exchange.keepAlive = false  // closes once this response has gone out
            } else {
                context.close(promise: nil)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: pipelining

    /// Replays waiting parts on the next loop tick, after the code that ended the exchange.
    private func scheduleReplay() {
        guard !replayScheduled, let context else { return }
        replayScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { loopBound.value.replayPipelined() }
    }

    /// The connection closes after the current exchange: requests queued behind it are never
    /// started (nothing of theirs may reach the upstream).
    func dropPipelined() {
        pipelined.removeAll()
    }

    private func replayPipelined() {
        replayScheduled = false
        guard let context, !closed else { return }
        while !pipelined.isEmpty, exchange?.requestEnded != true, !closed {
            handle(pipelined.removeFirst(), context: context)
        }
        updateReadPause()
    }

    // MARK: outbound (read backpressure)

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func setReadsPaused(_ paused: Bool) {
        let paused = paused || !pipelined.isEmpty
        guard paused != readsPaused else { return }
        readsPaused = paused
        timeouts.setBodyReadsPaused(paused)
        if !paused, pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func updateReadPause() {
        guard let exchange else { return setReadsPaused(false) }
        switch exchange.phase {
        case .preparing, .applying:
            setReadsPaused(!exchange.requestEnded)
        case .forwarding, .streaming:
            setReadsPaused(!(exchange.upstream?.channel.isWritable ?? true))
        case .answered, .tunnelling:
            setReadsPaused(false)
        }
    }

    // MARK: request

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let runtime = runtimes.current
        let config = runtime.config
        let receivedAt = NIODeadline.now()
        events.requestStarted()
        if head.uri.utf8.count > config.server.maxHeaderBytes {
            return answerEarly(LocalResponse(status: .uriTooLong, error: "request target too long"), head: head, receivedAt: receivedAt)
        }
        if !Self.hasUnambiguousTransferEncoding(head) {
            return answerEarly(LocalResponse(status: .badRequest, error: "malformed request"), head: head, receivedAt: receivedAt)
        }
        if head.method == .CONNECT || head.method == .TRACE {
            var refused = LocalResponse(status: .methodNotAllowed, error: "method not allowed")
            refused.headers.add(name: "Allow", value: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
            return answerEarly(refused, head: head, receivedAt: receivedAt)
        }
        let hosts = head.headers["host"].count
        if hosts > 1 || (hosts == 0 && (head.version.major > 1 || head.version.minor >= 1)) {
            // RFC 9112 §3.2: exactly one Host on HTTP/1.1; two could be routed two ways.
            return answerEarly(LocalResponse(status: .badRequest, error: "missing or repeated Host"), head: head, receivedAt: receivedAt)
        }
        var headBytes = head.uri.utf8.count + 16
        for (name, value) in head.headers { headBytes += name.utf8.count + value.utf8.count + 4 }
        if headBytes > config.server.maxHeaderBytes {
            return answerEarly(.headersTooLarge, head: head, receivedAt: receivedAt)
        }
        let target: NormalizedTarget
        switch PathNormalizer.normalize(target: head.uri, maxLength: config.server.maxHeaderBytes, host: head.headers.first(name: "host")) {
        case .success(let normalized): target = normalized
        case .failure(let rejection):
            let status = HTTPResponseStatus(statusCode: rejection.status)
            return answerEarly(
                LocalResponse(status: status, error: status == .uriTooLong ? "request target too long" : "bad request path"), head: head,
                receivedAt: receivedAt)
        }
        if config.server.maxBodyBytes > 0, let length = head.headers.first(name: "content-length").flatMap(Int.init),
            length > config.server.maxBodyBytes
        {
            return answerEarly(.payloadTooLarge, head: head, receivedAt: receivedAt)
        }

        let match = runtime.routes.match(method: head.method.rawValue, path: target.path)
        let exchange = Exchange(
            head: head, runtime: runtime, target: target, match: match, now: runtime.clock.now(), startedAt: receivedAt)
        self.exchange = exchange
        if quiescing { exchange.keepAlive = false }
        if exchange.upgradeToken == nil, head.headers.contains(name: "upgrade") {
            // Proxied as a plain request, then closed: NIO's request decoder stops parsing after
            // a request that asks for an upgrade, so nothing more can be read on this connection.
            exchange.keepAlive = false
        }
        if match.access == .deny {
            return answer(.forbidden, exchange: exchange)
        }
        let stateChanging = head.method == .POST || head.method == .PUT || head.method == .PATCH || head.method == .DELETE
        if match.access == .session, stateChanging,
            case .refuse(let reason) = runtime.crossOrigin.check(
                method: head.method.rawValue, access: match.access, secFetchSite: head.headers.first(name: "sec-fetch-site"),
                origin: head.headers.first(name: "origin"), host: head.headers.first(name: "host"))
        {
            runtime.logger.info(
                "cross-origin request refused", metadata: ["reason": "\(reason.rawValue)", "request_id": "\(exchange.requestID)"])
            return answer(.forbidden, exchange: exchange)
        }

        var cookieValues: [Substring] = []
        // `Cookie` separates pairs with ";" (RFC 6265 §5.4), never ",": no list splitting.
        for header in head.headers["cookie"] {
            cookieValues += CookieHeader.values(named: config.cookie.name, in: header).map { Substring($0) }
        }
        guard !cookieValues.isEmpty else {
            return authorize(exchange)
        }
        exchange.presentedCookie = true
        guard let ticket = SessionFlow.openTicket(cookieValues: cookieValues, runtime: runtime) else {
            sessionLoaded(.invalidCookie, session: nil, exchange: exchange)
            return authorize(exchange)
        }
        loadSession(ticket, exchange: exchange, context: context)
    }

    func sessionLoaded(_ result: ProxyEvents.LoadResult, session: StoredSession?, exchange: Exchange) {
        exchange.session = session
        exchange.sessionOutcome = result.label
        events.sessionLoaded(result)
    }

    /// Enforces the route against the (possibly absent) session, then forwards.
    func authorize(_ exchange: Exchange) {
        let runtime = exchange.runtime
        if exchange.match.access == .session {
            guard let session = exchange.session else {
                return answer(unauthenticatedResponse(exchange), exchange: exchange)
            }
            if let rule = exchange.match.rule, !rule.isSatisfied(by: session.data) {
                return answer(.forbidden, exchange: exchange)
            }
        }
        let upstreamHead = ForwardedRequest.head(
            for: exchange.head, target: exchange.target, session: exchange.session, runtime: runtime, peer: peer,
            now: exchange.now, upgradeToken: exchange.upgradeToken, requestID: exchange.requestID)
        pool.acquire { result in
            guard self.exchange === exchange, !self.closed else {
                if case .success(let connection) = result { self.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                runtime.logger.warning("upstream connect failed", metadata: ["error": "\(error)"])
                self.answer(.badGateway, exchange: exchange)
            case .success(let connection):
                self.startForwarding(exchange, head: upstreamHead, on: connection)
            }
        }
    }

    private func unauthenticatedResponse(_ exchange: Exchange) -> LocalResponse {
        let routes = exchange.runtime.config.routes
        let rule = exchange.match.rule
        let loginURL = rule?.loginURL ?? routes.loginURL
        let mode = rule?.unauthenticated ?? .auto
        let wantsHTML = exchange.head.headers[canonicalForm: "accept"].contains { $0.lowercased().contains("text/html") }
        let redirect = mode == .redirect || (mode == .auto && wantsHTML)
        let clear: [(String, String)] = exchange.presentedCookie ? [("Set-Cookie", exchange.runtime.clearCookie())] : []
        guard redirect, let loginURL else {
            var response = LocalResponse.unauthenticated
            for (name, value) in clear { response.headers.add(name: name, value: value) }
            return response
        }
        let location = LoginRedirect.location(loginURL: loginURL, next: exchange.target.path, query: exchange.target.query)
        return .redirect(to: location, extraHeaders: clear)
    }

    private func startForwarding(_ exchange: Exchange, head: HTTPRequestHead, on connection: UpstreamConnection) {
        guard let context else { return pool.release(connection) }
        exchange.upstream = connection
        exchange.upstreamStartedAt = .now()
        connection.handler.delegate = self
        connection.handler.setReadsPaused(!context.channel.isWritable)
        exchange.phase = .forwarding
        connection.writeHead(head)
        for part in exchange.pendingRequestParts {
            writeUpstream(part, to: connection)
        }
        exchange.pendingRequestParts.removeAll()
        connection.flush()
        if exchange.expectsContinue, !exchange.requestEnded {
            var interim = context.channel.allocator.buffer(capacity: 32)
            HTTPWire.writeStatusLine(exchange.head.version, .continue, into: &interim)
            HTTPWire.endHead(into: &interim)
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        }
        if exchange.requestEnded { armResponseTimer(exchange) }
        updateReadPause()
    }

    /// `response_timeout` counts from the moment the whole request is with the upstream.
    private func armResponseTimer(_ exchange: Exchange) {
        guard !exchange.responseTimerArmed else { return }
        exchange.responseTimerArmed = true
        responseTimer?.set(in: TimeAmount(exchange.runtime.config.upstream.responseTimeout))
    }

    private func writeUpstream(_ part: HTTPServerRequestPart, to connection: UpstreamConnection) {
        switch part {
        case .head: break
        case .body(let buffer): connection.writeBody(buffer)
        case .end: connection.writeEnd()  // trailers dropped
        }
    }

    private func relayRequestPart(_ part: HTTPServerRequestPart, exchange: Exchange) {
        switch exchange.phase {
        case .preparing,
            .applying where exchange.upstream == nil:
            exchange.pendingRequestParts.append(part)
            updateReadPause()
        case .forwarding, .applying, .streaming:
            guard let upstream = exchange.upstream else { return }
            writeUpstream(part, to: upstream)
            if case .end = part {
                upstreamNeedsFlush = false
                upstream.flush()
            } else {
                upstreamNeedsFlush = true
            }
            if case .end = part, exchange.phase == .forwarding { armResponseTimer(exchange) }
            updateReadPause()
        case .answered:
            if exchange.requestEnded { finishAnswered(exchange) }
        case .tunnelling:
            break
        }
    }

    private func abortForBodyLimit(_ exchange: Exchange) {
        if exchange.phase == .preparing || exchange.phase == .forwarding {
            dropUpstream(exchange)
            answer(.payloadTooLarge, exchange: exchange, forceClose: true)
        } else {
            context?.close(promise: nil)
        }
    }

    /// No request body byte for `body_timeout` while the proxy was reading: 408 if nothing was
    /// answered yet, and the connection closes either way.
    private func bodyTimedOut() {
        guard let exchange, !exchange.requestEnded else { return }
        exchange.runtime.logger.info("request body timed out", metadata: ["request_id": "\(exchange.requestID)"])
        switch exchange.phase {
        case .preparing, .forwarding:
            dropUpstream(exchange)
            answer(LocalResponse(status: .requestTimeout, error: "request body timeout"), exchange: exchange, forceClose: true)
        case .applying, .streaming, .answered, .tunnelling:
            context?.close(promise: nil)
        }
    }

    private func responseTimedOut(_ exchange: Exchange) {
        guard self.exchange === exchange, exchange.phase == .forwarding else { return }
        dropUpstream(exchange)
        answer(.gatewayTimeout, exchange: exchange, forceClose: !exchange.requestEnded)
    }

    private func dropUpstream(_ exchange: Exchange) {
        responseTimer?.set(nil)
        guard let upstream = exchange.upstream else { return }
        exchange.upstream = nil
        upstream.handler.delegate = nil
        upstream.handler.markBroken()
        upstream.channel.close(promise: nil)
    }

    // MARK: local answers

    /// Answers a request that never became an exchange (bad target, oversized head); closes.
    private func answerEarly(_ response: LocalResponse, head: HTTPRequestHead, receivedAt: NIODeadline) {
        events.requestEnded()
        events.requestAnswered(
            rule: .rejected, method: ProxyEvents.MethodLabel(head.method), status: Int(response.status.code),
            duration: .nanoseconds((NIODeadline.now() - receivedAt).nanoseconds))
        guard let context else { return }
        writeLocal(response, version: head.version, close: true, isHead: head.method == .HEAD, context: context)
    }

    /// Ends the exchange's request in the metrics, once: counted as answered when a status went
    /// out, otherwise (the client left first) only no longer in flight.
    func recordEnd(of exchange: Exchange) {
        guard !exchange.recorded else { return }
        exchange.recorded = true
        events.requestEnded()
        guard exchange.status > 0 else { return }
        events.requestAnswered(
            rule: ProxyEvents.RuleLabel(exchange.match.rule), method: ProxyEvents.MethodLabel(exchange.head.method),
            status: exchange.status, duration: .nanoseconds((NIODeadline.now() - exchange.startedAt).nanoseconds))
    }

    /// Answers an exchange locally. The connection stays open only if the request body is done.
    func answer(_ response: LocalResponse, exchange: Exchange, forceClose: Bool = false) {
        guard let context else { return }
        responseTimer?.set(nil)
        exchange.phase = .answered
        exchange.pendingRequestParts.removeAll()
        let close = forceClose || !exchange.keepAlive || (!exchange.requestEnded && exchange.requestHasBody)
        exchange.keepAlive = !close
        exchange.status = Int(response.status.code)
        exchange.responseBytes = response.body.utf8.count
        recordEnd(of: exchange)
        var response = response
        response.headers.add(name: "X-Request-Id", value: exchange.requestID)
        writeLocal(response, version: exchange.head.version, close: close, isHead: exchange.head.method == .HEAD, context: context)
        logAccess(exchange)
        if close {
            dropPipelined()
            self.exchange = nil
        } else if exchange.requestEnded {
            finishAnswered(exchange)
        }
        updateReadPause()
    }

    /// A request body's framing must be unambiguous: any `Transfer-Encoding` must end in
    /// `chunked`, and HTTP/1.0 has none (RFC 9112 §6.1). NIO's parser accepts an empty
    /// `Transfer-Encoding:` (found by the FuzzHTTPHead target); a proxy in front of us might
    /// frame such a request differently, so it is refused.
    static func hasUnambiguousTransferEncoding(_ head: HTTPRequestHead) -> Bool {
        let codings = head.headers["transfer-encoding"]
        guard !codings.isEmpty else { return true }
        guard head.version.major == 1, head.version.minor >= 1 else { return false }
        let last = codings.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false).last ?? ""
        return last.trimmingSpaces.lowercased() == "chunked"
    }

    /// One structured line per request; never a cookie, token, key or session data.
    func logAccess(_ exchange: Exchange) {
        let runtime = exchange.runtime
        guard runtime.config.log.access, runtime.logger.logLevel <= .info else { return }
        let now = NIODeadline.now()
        var metadata: Logger.Metadata = [
            "request_id": .string(exchange.requestID), "method": .string(exchange.head.method.rawValue),
            "path": .string(exchange.target.path), "rule": .string(exchange.match.rule.map { "route[\($0.index)]" } ?? "default"),
            "status": .stringConvertible(exchange.status), "bytes": .stringConvertible(exchange.responseBytes),
            "request_bytes": .stringConvertible(exchange.requestBodyBytes),
            "duration_ms": .string(Self.milliseconds(now - exchange.startedAt)), "session": .string(exchange.sessionOutcome),
        ]
        if let peer { metadata["client"] = .string(peer) }
        if let start = exchange.upstreamStartedAt, let head = exchange.upstreamHeadAt {
            metadata["upstream_ms"] = .string(Self.milliseconds(head - start))
        }
        runtime.logger.info("access", metadata: metadata)
    }

    static func milliseconds(_ amount: TimeAmount) -> String {
        let micros = amount.nanoseconds / 1000
        return "\(micros / 1000).\(String(format3: Int(micros % 1000)))"
    }

    private func finishAnswered(_ exchange: Exchange) {
        guard self.exchange === exchange else { return }
        if !exchange.keepAlive { dropPipelined() }
        self.exchange = nil
        if !exchange.keepAlive {
            context?.close(promise: nil)
            return
        }
        timeouts.exchangeFinished()
        updateReadPause()
    }

    /// A local answer in one buffer: head, `Content-Length`, and the body (none for HEAD).
    private func writeLocal(
        _ response: LocalResponse, version: HTTPVersion, close: Bool, isHead: Bool = false, context: ChannelHandlerContext
    ) {
        var buffer = context.channel.allocator.buffer(capacity: 256 + response.body.utf8.count)
        HTTPWire.writeStatusLine(version, response.status, into: &buffer)
        for (name, value) in response.headers { HTTPWire.writeHeader(name, value, into: &buffer) }
        HTTPWire.writeHeader("Content-Length", String(response.body.utf8.count), into: &buffer)
        if close {
            HTTPWire.writeHeader("Connection", "close", into: &buffer)
        } else if version.minor == 0 {
            HTTPWire.writeHeader("Connection", "keep-alive", into: &buffer)
        }
        HTTPWire.endHead(into: &buffer)
        if !isHead { buffer.writeString(response.body) }
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }
}
