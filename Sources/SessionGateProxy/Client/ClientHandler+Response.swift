import Logging
import NIOCore
import NIOHTTP1
import SessionGateCore

extension ClientHandler: UpstreamDelegate {
    func upstreamResponsePart(_ part: ResponsePart) {
        guard let exchange, let context else { return }
        switch part {
        case .head(let head):
            guard machine.responseHead() == .inspectResponseHead else {
                // A second, unsolicited response: this connection can never be reused.
                exchange.upstream?.handler.markBroken()
                return
            }
            let headAt = NIODeadline.now()
            exchange.upstreamHeadAt = headAt
            if let sentAt = exchange.upstreamStartedAt { events.upstreamResponded(after: .nanoseconds((headAt - sentAt).nanoseconds)) }
            if head.status == .switchingProtocols {
                guard let token = exchange.upgradeToken,
                    UpgradePolicy.acceptsSwitch(
                        token: token, responseUpgrade: head.headers.values("upgrade"),
                        responseAccept: head.headers.values("sec-websocket-accept"),
                        requestKey: exchange.head.headers.first("sec-websocket-key"))
                else {
                    // A switch nobody asked for, to another protocol, or with a wrong accept key:
                    // never a tunnel (the bytes after it would bypass every route rule).
                    exchange.runtime.logger.warning("upstream answered 101 that does not match the upgrade asked for")
                    failExchange(exchange, with: .badGateway)
                    return applyPolicies()
                }
                startTunnel(exchange, head: head, context: context)
                return applyPolicies()
            }
            receiveResponseHead(head, exchange: exchange)
        case .body(let buffer):
            switch machine.responseBody() {
            case .bufferResponsePart: exchange.pendingResponseParts.append(part)
            case .forwardResponsePart:
                writeResponseBody(buffer, exchange: exchange, context: context)
                clientNeedsFlush = true
            default: break
            }
        case .end:
            // Trailers are dropped: one could carry X-Session-Set or Set-Cookie past the filters.
            endResponse(exchange, context: context)
        }
        applyPolicies()
    }

    /// Performs what the machine says about the response's end.
    private func endResponse(_ exchange: Exchange, context: ChannelHandlerContext) {
        switch machine.responseEnd() {
        case .joinTunnel:
            // The 101 message is complete: from here on both sides speak raw bytes.
            guard let upstream = exchange.upstream else { return }
            self.exchange = nil
            Tunnel.join(client: context.channel, upstream: upstream.channel, upstreamHandler: upstream.handler)
        case .bufferResponsePart:
            exchange.pendingResponseParts.append(.end)
        case .finishResponse(let release, let close):
            finishResponse(exchange, releaseUpstream: release, close: close, context: context)
        case .finishResponseEarly:
            finishResponseEarly(exchange, context: context)
        default:
            break
        }
    }

    func upstreamFailed(_ error: any Error) {
        guard let exchange else { return }
        let upstream = exchange.upstream
        exchange.upstream = nil
        switch machine.upstreamFailed() {
        case .markUpstreamBroken:
            // The response is complete and held while directives apply; the connection closing
            // afterwards (even after sending stray bytes) changes nothing for this client.
            upstream?.handler.markBroken()
        case .fail(let failure):
            exchange.runtime.logger.warning("upstream failed before responding", metadata: ["error": "\(error)"])
            fail(exchange, failure)
        case let action:
            perform(action)
        }
        applyPolicies()
    }

    func upstreamReadComplete() {
        // One flush (one syscall) per upstream read, not one per body part.
        if clientNeedsFlush, let context {
            clientNeedsFlush = false
            context.flush()
        }
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        guard exchange != nil else { return }
        machine.upstreamWritabilityChanged(isWritable)
        applyPolicies()
    }

    /// Looks at the response head: directives decide what happens to the session before the head
    /// (with its Set-Cookie) may leave.
    private func receiveResponseHead(_ head: ResponseHead, exchange: Exchange) {
        let runtime = exchange.runtime
        let directives: SessionDirectives
        switch SessionDirectives.parse(
            set: head.headers.values("x-session-set"), action: head.headers.values("x-session-action"),
            lifetime: head.headers.values("x-session-lifetime"))
        {
        case .success(let parsed): directives = parsed
        case .failure(let error):
            runtime.logger.error("upstream sent a malformed session directive; nothing applied", metadata: ["reason": "\(error)"])
            events.directiveRejected()
            return failExchange(exchange, with: .badDirective)
        }

        if case .failure(let error) = SessionDataLimit(session: runtime.config.session).applying(
            directives.patches, to: exchange.session?.data)
        {
            // Checked on the session as loaded (the stores merge atomically; a concurrent patch
            // of another request is not counted).
            runtime.logger.error("upstream sent a malformed session directive; nothing applied", metadata: ["reason": "\(error)"])
            events.directiveRejected()
            return failExchange(exchange, with: .badDirective)
        }
        let touchDue = exchange.session.map { exchange.now - $0.times.lastSeenAt >= runtime.config.session.touchInterval } ?? false
        if directives.isEmpty, !touchDue {
            // Nothing for the store: a cookie that led to no session is cleared, others stay.
            let staleCookie = exchange.presentedCookie && exchange.session == nil
            return sendResponseHead(head, exchange: exchange, cookie: staleCookie ? .clear : .keep, flushNow: false)
        }
        machine.applyingDirectives()
        let loaded = exchange.session
        let presented = exchange.presentedCookie
        let now = exchange.now
        let client = ClientInfo(
            ip: ClientAddress.resolve(
                peer: peer, forwardedFor: exchange.head.headers.values("x-forwarded-for"),
                trustedProxies: runtime.config.server.trustedProxies),
            userAgent: exchange.head.headers.first("user-agent"))
        guard let loop = context?.eventLoop else { return }
        let observation = StoreCall.Observation(events: events, backend: runtime.config.store.backend, operation: .write)
        StoreCall.run(on: loop, timeout: runtime.config.store.timeout, observe: observation) {
            () async throws(StoreError) -> SessionOutcome in
            try await SessionFlow.apply(
                directives, to: loaded, presentedCookie: presented, client: client, runtime: runtime, now: now)
        } completion: { result in
            guard self.exchange === exchange, self.machine.directivesApplied() == .continueWithSession else { return }
            defer { self.applyPolicies() }
            switch result {
            case .success(let outcome):
                for directive in outcome.applied { self.events.directiveApplied(directive) }
                self.events.sessionsRevoked(outcome.revokedOthers, cause: .user)
                exchange.session = outcome.session
                self.sendResponseHead(head, exchange: exchange, cookie: outcome.cookie, flushNow: true)
            case .failure(let error):
                runtime.logger.error("session store failed while applying directives", metadata: ["error": "\(error)"])
                self.events.sessionWriteFailed()
                self.failExchange(exchange, with: .storeUnavailable)
            }
        }
    }

    /// Answers instead of the upstream's response (its connection is discarded: the rest of
    /// that response will never be read).
    private func failExchange(_ exchange: Exchange, with response: LocalResponse) {
        answer(response, exchange: exchange, forceClose: !(machine.request?.bodyEnded ?? true))
    }

    /// `flushNow`: called from a store callback, where no upstream read-complete will follow.
    private func sendResponseHead(_ upstreamHead: ResponseHead, exchange: Exchange, cookie: CookieChange, flushNow: Bool) {
        guard let context else { return }
        let runtime = exchange.runtime
        let fields = upstreamHead.headers
        var head = pool.responseHeadBuffer.take(capacity: 256 + fields.bytes.readableBytes, allocator: context.channel.allocator)
        HTTPWire.writeStatusLine(exchange.head.version, upstreamHead.status, into: &head)
        var hasLength = false
        // Each kept field is copied from the upstream's own bytes.
        fields.withBytes { bytes in
            let nominated = runtime.headerPolicy.connectionNominated(fields: fields.ranges, in: bytes)
            for field in fields.ranges {
                let name = field.name
                // `Connection: close` from the upstream: its decoder already forbade reuse.
                if HeaderName.equals(name, "connection", in: bytes) { continue }
                if HeaderName.equals(name, "content-length", in: bytes) { hasLength = true }
                if HeaderName.hasPrefix(name, "x-session-", in: bytes) || HeaderName.equals(name, "transfer-encoding", in: bytes) {
                    continue
                }
                if HeaderPolicy.isHopByHop(UnsafeRawBufferPointer(rebasing: bytes[name]))
                    || (!nominated.isEmpty && HeadFields.isNamed(name, by: nominated, in: bytes))
                {
                    continue
                }
                if HeaderName.equals(name, "set-cookie", in: bytes),
                    SetCookie.setsCookie(named: runtime.config.cookie.name, headerValue: HeadFields.text(field.value, in: bytes))
                {
                    continue
                }
                HTTPWire.writeField(field, of: bytes, into: &head)
            }
        }
        switch cookie {
        case .keep: break
        case .set(let session):
            let value = runtime.setCookie(for: session, now: exchange.now)
            guard CookieKeyRing.fitsBrowserLimit(setCookieHeaderValue: value) else {
                runtime.logger.error("session cookie would exceed the browser's 4096-byte limit; refusing")
                return failExchange(exchange, with: .sessionTooLarge)
            }
            HTTPWire.writeHeader("Set-Cookie", value, into: &head)
        case .clear:
            HTTPWire.writeHeader("Set-Cookie", runtime.clearCookie(), into: &head)
        }
        if runtime.config.server.via { HTTPWire.writeHeader("Via", "1.1 sessiongate", into: &head) }
        HTTPWire.writeHeader("X-Request-Id", exchange.requestID, into: &head)

        var keepAlive = machine.request?.keepAlive ?? false
        var closeDelimited = false
        let bodyless =
            exchange.head.method == .HEAD || upstreamHead.status.code == 204 || upstreamHead.status.code == 304
            || (100..<200).contains(upstreamHead.status.code)
        if !hasLength, !bodyless {
            if exchange.head.version.minor == 0 {
                keepAlive = false  // close-delimited for an HTTP/1.0 client
                closeDelimited = true
            } else {
                HTTPWire.writeHeader("Transfer-Encoding", "chunked", into: &head)
                exchange.responseChunked = true
            }
        }
        if exchange.head.method == .HEAD, !hasLength {
            // Keep the framing honest for HEAD: no body follows.
            HTTPWire.writeHeader("Content-Length", "0", into: &head)
        }
        if !keepAlive {
            HTTPWire.writeHeader("Connection", "close", into: &head)
        } else if exchange.head.version.minor == 0 {
            HTTPWire.writeHeader("Connection", "keep-alive", into: &head)
        }
        HTTPWire.endHead(into: &head)

        machine.responseHeadSent(closeAfter: closeDelimited)
        exchange.status = Int(upstreamHead.status.code)
        context.write(wrapOutboundOut(head), promise: nil)
        pool.responseHeadBuffer.keep(head)
        clientNeedsFlush = true
        let pending = exchange.pendingResponseParts
        exchange.pendingResponseParts.removeAll()
        for part in pending {
            switch part {
            case .head: break
            case .body(let buffer):
                if machine.responseBody() == .forwardResponsePart { writeResponseBody(buffer, exchange: exchange, context: context) }
            case .end: return endResponse(exchange, context: context)
            }
        }
        if flushNow {
            clientNeedsFlush = false
            context.flush()
        }
    }

    /// The response ended: its end goes out, the upstream connection back to the pool (or away).
    private func finishResponse(_ exchange: Exchange, releaseUpstream: Bool, close: Bool, context: ChannelHandlerContext) {
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            if releaseUpstream { pool.release(upstream) } else { upstream.discard() }
        }
        clientNeedsFlush = false
        if close {
            exchangeEndsConnection()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(responseEnd(exchange, context: context))).whenComplete { _ in
                channel.close(promise: nil)
            }
        } else {
            exchangeFinished()
            if exchange.responseChunked {
                context.write(wrapOutboundOut(HTTPWire.lastChunk(allocator: context.channel.allocator)), promise: nil)
            }
            context.flush()
        }
        recordEnd(of: exchange)
        logAccess(exchange)
    }

    /// The upstream answered before reading the whole request: its connection's framing is
    /// unknown now, and the client's connection ends after this exchange. The rest of the body is
    /// read and dropped, so the client reads this response instead of a connection reset; the
    /// connection closes when the body ends, or after the linger time.
    private func finishResponseEarly(_ exchange: Exchange, context: ChannelHandlerContext) {
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            upstream.discard()
        }
        clientNeedsFlush = false
        context.writeAndFlush(wrapOutboundOut(responseEnd(exchange, context: context)), promise: nil)
        recordEnd(of: exchange)
        logAccess(exchange)
    }

    // MARK: tunnelling

    private func startTunnel(_ exchange: Exchange, head: ResponseHead, context: ChannelHandlerContext) {
        guard exchange.upstream != nil else { return }
        machine.switchedProtocols()
        var response = context.channel.allocator.buffer(capacity: 256)
        HTTPWire.writeStatusLine(exchange.head.version, .switchingProtocols, into: &response)
        head.headers.withBytes { bytes in
            for field in head.headers.ranges where !HeaderName.hasPrefix(field.name, "x-session-", in: bytes) {
                HTTPWire.writeField(field, of: bytes, into: &response)
            }
        }
        HTTPWire.endHead(into: &response)
        context.writeAndFlush(wrapOutboundOut(response), promise: nil)
        exchange.status = 101
        recordEnd(of: exchange)
    }
}

extension ClientHandler {
    /// A piece of the response body, chunk-framed when the proxy chose chunked framing.
    func writeResponseBody(_ buffer: ByteBuffer, exchange: Exchange, context: ChannelHandlerContext) {
        exchange.responseBytes += buffer.readableBytes
        guard exchange.responseChunked else {
            return context.write(wrapOutboundOut(buffer), promise: nil)
        }
        HTTPWire.writeChunk(buffer, allocator: context.channel.allocator) { context.write(wrapOutboundOut($0), promise: nil) }
    }

    /// What ends the response on the wire: the last chunk (never trailers) when chunked, else
    /// nothing (an empty buffer, written so the flush and its promise stay in order).
    func responseEnd(_ exchange: Exchange, context: ChannelHandlerContext) -> ByteBuffer {
        guard exchange.responseChunked else { return context.channel.allocator.buffer(capacity: 0) }
        return HTTPWire.lastChunk(allocator: context.channel.allocator)
    }
}
