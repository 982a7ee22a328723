import Logging
import NIOCore
import NIOHTTP1
import SessionGateCore

/// The request side of an exchange: checking and routing the head, authorizing, forwarding to
/// the upstream, and the proxy's own answers.
extension ClientHandler {
    func begin(_ head: RequestHead, context: ChannelHandlerContext) {
        let runtime = runtimes.current
        // `runtime.config` read in place each time: a local copy of the whole struct retains
        // and releases every reference in it on each request.
        let receivedAt = NIODeadline.now()
        events.requestStarted()
        if head.targetRange.count > runtime.config.server.maxHeaderBytes {
            return answerEarly(LocalResponse(status: .uriTooLong, error: "request target too long"), head: head, receivedAt: receivedAt)
        }
        if head.method == .CONNECT || head.method == .TRACE {
            var refused = LocalResponse(status: .methodNotAllowed, error: "method not allowed")
            refused.headers.add(name: "Allow", value: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
            return answerEarly(refused, head: head, receivedAt: receivedAt)
        }
        let hosts = head.headers.count("host")
        if hosts > 1 || (hosts == 0 && (head.version.major > 1 || head.version.minor >= 1)) {
            // RFC 9112 §3.2: exactly one Host on HTTP/1.1; two could be routed two ways.
            return answerEarly(LocalResponse(status: .badRequest, error: "missing or repeated Host"), head: head, receivedAt: receivedAt)
        }
        var headBytes = head.targetRange.count + 16
        for field in head.headers.ranges { headBytes += field.name.count + field.value.count + 4 }
        if headBytes > runtime.config.server.maxHeaderBytes {
            return answerEarly(.headersTooLarge, head: head, receivedAt: receivedAt)
        }
        let target: NormalizedTarget
        switch PathNormalizer.normalize(target: head.uri, maxLength: runtime.config.server.maxHeaderBytes, host: head.headers.first("host"))
        {
        case .success(let normalized): target = normalized
        case .failure(let rejection):
            let status = HTTPResponseStatus(statusCode: rejection.status)
            return answerEarly(
                LocalResponse(status: status, error: status == .uriTooLong ? "request target too long" : "bad request path"), head: head,
                receivedAt: receivedAt)
        }
        if runtime.config.server.maxBodyBytes > 0, let length = head.headers.first("content-length").flatMap(Int.init),
            length > runtime.config.server.maxBodyBytes
        {
            return answerEarly(.payloadTooLarge, head: head, receivedAt: receivedAt)
        }

        let match = runtime.routes.match(method: head.method.rawValue, path: target.path)
        let exchange = Exchange(
            head: head, runtime: runtime, target: target, match: match, now: runtime.clock.now(), startedAt: receivedAt)
        self.exchange = exchange
        if exchange.upgradeToken == nil, head.headers.contains("upgrade") {
            // Proxied as a plain request, then closed: the request decoder stops parsing after
            // a request that asks for an upgrade, so nothing more can be read on this connection.
            machine.endKeepAlive()
        }
        if match.access == .deny {
            return answer(.forbidden, exchange: exchange)
        }
        let stateChanging = head.method == .POST || head.method == .PUT || head.method == .PATCH || head.method == .DELETE
        if match.access == .session, stateChanging,
            case .refuse(let reason) = runtime.crossOrigin.check(
                method: head.method.rawValue, access: match.access, secFetchSite: head.headers.first("sec-fetch-site"),
                origin: head.headers.first("origin"), host: head.headers.first("host"))
        {
            runtime.logger.info(
                "cross-origin request refused", metadata: ["reason": "\(reason.rawValue)", "request_id": "\(exchange.requestID)"])
            return answer(.forbidden, exchange: exchange)
        }

        // `Cookie` separates pairs with ";" (RFC 6265 §5.4), never ",": no list splitting.
        let presented = head.headers.cookieValues(named: runtime.config.cookie.name)
        guard presented.count > 0 else {
            return authorize(exchange)
        }
        exchange.presentedCookie = true
        // The connection's usual case, read in place: the one session cookie it opened last.
        if presented.count == 1, let range = presented.first,
            let ticket = head.headers.withBytes({
                openedCookie.ticket(ifHolding: UnsafeRawBufferPointer(rebasing: $0[range]), runtime: runtime)
            })
        {
            return loadSession(ticket, exchange: exchange, context: context)
        }
        var cookieValues: [Substring] = []
        head.headers.forEachValue("cookie") { header in
            CookieHeader.appendValues(named: runtime.config.cookie.name, in: header, to: &cookieValues)
        }
        guard let ticket = openedCookie.ticket(for: cookieValues, runtime: runtime) else {
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
            now: exchange.now, upgradeToken: exchange.upgradeToken, requestID: exchange.requestID,
            into: pool.requestHeadBuffer.take(capacity: 0, allocator: context?.channel.allocator ?? ByteBufferAllocator()),
            tokenScratch: pool.tokenScratch)
        machine.upstreamRequested()
        pool.acquire { result in
            guard self.exchange === exchange else {
                if case .success(let connection) = result { self.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                runtime.logger.warning("upstream connect failed", metadata: ["error": "\(error)"])
                self.answer(.badGateway, exchange: exchange)
            case .success(let connection):
                switch self.machine.upstreamConnected() {
                case .startForwarding(let sendContinue):
                    self.startForwarding(exchange, head: upstreamHead, on: connection, sendContinue: sendContinue)
                default:
                    self.pool.release(connection)
                }
            }
            self.applyPolicies()
        }
    }

    private func unauthenticatedResponse(_ exchange: Exchange) -> LocalResponse {
        let routes = exchange.runtime.config.routes
        let rule = exchange.match.rule
        let loginURL = rule?.loginURL ?? routes.loginURL
        let mode = rule?.unauthenticated ?? .auto
        let wantsHTML = exchange.head.headers.values("accept").contains { $0.lowercased().contains("text/html") }
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

    private func startForwarding(
        _ exchange: Exchange, head: ForwardedRequest.Head, on connection: UpstreamConnection, sendContinue: Bool
    ) {
        guard let context else { return pool.release(connection) }
        exchange.upstream = connection
        exchange.upstreamStartedAt = .now()
        connection.handler.delegate = self
        machine.upstreamWritabilityChanged(connection.channel.isWritable)
        connection.writeHead(head)
        pool.requestHeadBuffer.keep(head.bytes)
        exchange.pendingRequestParts.drain { writeUpstream($0, to: connection) }
        connection.flush()
        if sendContinue {
            var interim = context.channel.allocator.buffer(capacity: 32)
            HTTPWire.writeStatusLine(exchange.head.version, .continue, into: &interim)
            HTTPWire.endHead(into: &interim)
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        }
    }

    private func writeUpstream(_ part: RequestPart, to connection: UpstreamConnection) {
        switch part {
        case .head: break
        case .body(let buffer): connection.writeBody(buffer)
        case .end: connection.writeEnd()  // trailers dropped
        }
    }

    /// Performs what the machine said about a request body part or end.
    func relay(_ part: RequestPart, action: ClientConnectionStateMachine.Action, exchange: Exchange) {
        switch action {
        case .bufferRequestPart:
            exchange.pendingRequestParts.append(part)
        case .forwardRequestPart(let flush):
            guard let upstream = exchange.upstream else { return }
            writeUpstream(part, to: upstream)
            if flush {
                upstreamNeedsFlush = false
                upstream.flush()
            } else {
                upstreamNeedsFlush = true
            }
        case .finishDrained(let close):
            guard self.exchange === exchange else { return }
            if close {
                exchangeEndsConnection()
                context?.close(promise: nil)
            } else {
                exchangeFinished()
            }
        default:
            perform(action)
        }
    }

    /// The proxy answers an exchange that failed after it began (the upstream connection, if
    /// any, is discarded).
    func fail(_ exchange: Exchange, _ failure: ClientConnectionStateMachine.Failure) {
        let requestEnded = machine.request?.bodyEnded ?? true
        dropUpstream(exchange)
        switch failure {
        case .bodyTooLarge:
            answer(.payloadTooLarge, exchange: exchange, forceClose: true)
        case .bodyTimeout:
            answer(LocalResponse(status: .requestTimeout, error: "request body timeout"), exchange: exchange, forceClose: true)
        case .responseTimeout:
            answer(.gatewayTimeout, exchange: exchange, forceClose: !requestEnded)
        case .upstreamFailed:
            answer(.badGateway, exchange: exchange, forceClose: !requestEnded)
        }
    }

    /// Lets go of the exchange's upstream connection for good (it never returns to the pool).
    func dropUpstream(_ exchange: Exchange) {
        guard let upstream = exchange.upstream else { return }
        exchange.upstream = nil
        machine.upstreamDetached()
        upstream.discard()
    }

    // MARK: local answers

    /// Answers a request that never became an exchange (bad target, oversized head); closes.
    private func answerEarly(_ response: LocalResponse, head: RequestHead, receivedAt: NIODeadline) {
        events.requestEnded()
        events.requestAnswered(
            rule: .rejected, method: ProxyEvents.MethodLabel(head.method), status: Int(response.status.code),
            duration: .nanoseconds((NIODeadline.now() - receivedAt).nanoseconds))
        _ = machine.answerLocally(forceClose: true)
        exchangeEndsConnection()
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
        dropUpstream(exchange)
        exchange.pendingRequestParts.removeAll()
        exchange.pendingResponseParts.removeAll()
        guard case .writeLocalAnswer(let close, let finished) = machine.answerLocally(forceClose: forceClose) else {
            return closeConnection()
        }
        exchange.status = Int(response.status.code)
        exchange.responseBytes = response.body.utf8.count
        recordEnd(of: exchange)
        var response = response
        response.headers.add(name: "X-Request-Id", value: exchange.requestID)
        writeLocal(response, version: exchange.head.version, close: close, isHead: exchange.head.method == .HEAD, context: context)
        logAccess(exchange)
        if close {
            exchangeEndsConnection()
        } else if finished {
            exchangeFinished()
        }
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

    /// A local answer in one buffer: head, `Content-Length`, and the body (none for HEAD).
    func writeLocal(
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
