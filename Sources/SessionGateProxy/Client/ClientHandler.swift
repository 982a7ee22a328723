import Logging
import NIOCore
import NIOHTTP1
import SessionGateCore

/// Serves one client connection. Its state is one value, `machine`
/// (`ClientConnectionStateMachine`, pure): this handler feeds it every event — request parts,
/// session loads, upstream parts, writability, timer expiries — and performs the action it
/// returns, then applies the read pauses and timers the machine derives from its state
/// (`applyPolicies`). What the handler keeps besides is data, not state: the current exchange's
/// request (`exchange`), parts of pipelined requests waiting their turn, and write batching.
///
/// Exchanges run one at a time: parts of pipelined requests that arrive before the current
/// response ended wait in `pipelined`, with reads paused, and are replayed in order when it ends
/// (no `HTTPServerPipelineHandler` in front: one handler less for every message of every request).
final class ClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    /// Bytes: the handler decodes requests itself (`HTTP1RequestDecoder`, no
    /// `ByteToMessageHandler` in front).
    typealias InboundIn = ByteBuffer
    /// Nothing is written through this handler from behind it; it writes responses as bytes
    /// (`HTTPWire`, no response encoder in the pipeline) and intercepts `read()`.
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let runtimes: RuntimeSource
    let pool: UpstreamPool
    let events: ProxyEvents
    let timeouts: ConnectionTimeouts
    var machine = ClientConnectionStateMachine()
    private let decoder: HTTP1RequestDecoder
    /// Bytes read and not decoded yet (an incomplete head, or what follows an upgrade request).
    private let pendingBytes = PendingBytes()
    /// The data of the current exchange (its request, session, upstream connection, timings).
    var exchange: Exchange?
    /// The session cookie this connection sent last, opened (`OpenedCookie`: a memo, not state).
    var openedCookie = OpenedCookie()
    /// Parts of requests that arrived while the current exchange's request had already ended.
    private var pipelined: [RequestPart] = []
    private var replayScheduled = false
    var context: ChannelHandlerContext?
    var peer: String?
    private var timers: ConnectionTimers?
    /// What `applyPolicies` last applied.
    private var readsPaused = false
    private var pendingRead = false
    private var appliedTimers = ClientConnectionStateMachine.Timers()
    /// Writes are batched: flushed once per read from the other side.
    var clientNeedsFlush = false
    var upstreamNeedsFlush = false

    /// `limits` bound what the decoder parses at all (the handler answers 414/431 itself within
    /// them, from the configuration).
    init(
        runtimes: RuntimeSource, pool: UpstreamPool, events: ProxyEvents, timeouts: ConnectionTimeouts,
        limits: RequestHeadParser.Limits
    ) {
        decoder = HTTP1RequestDecoder(limits: limits)
        self.runtimes = runtimes
        self.pool = pool
        self.events = events
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peer = context.channel.remoteAddress?.ipAddress
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timers = ConnectionTimers(eventLoop: context.eventLoop) { loopBound.value.timerExpired($0) }
        if context.channel.isActive { applyPolicies() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timers?.stop()
        timers = nil
        self.context = nil
    }

    /// Leaves the pipeline (for a tunnel) on the next loop tick, after the read being handled, and
    /// hands the bytes read after the upgrade request to the handler behind.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            if let rest = handler.pendingBytes.takeAll() { context.fireChannelRead(NIOAny(rest)) }
            context.leavePipeline(removalToken: removalToken)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        applyPolicies()
        context.fireChannelActive()
    }

    // MARK: inbound

    /// Bytes of a head arrived (before there is a whole head).
    func bytesReceived() {
        if case .idle = machine.state {
            machine.bytesReceived()
            applyPolicies()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pendingBytes.read(unwrapInboundIn(data)) { buffer in
            do {
                while true {
                    if decoder.isReadingHead, buffer.readableBytes > 0 { bytesReceived() }
                    guard let part = try decoder.next(from: &buffer) else { break }
                    receive(part, context: context)
                }
            } catch {
                buffer.moveReaderIndex(to: buffer.writerIndex)  // nothing after an error is read
                requestDecodingFailed(error, context: context)
            }
        }
        applyPolicies()
    }

    private func receive(_ part: RequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            let request = ClientConnectionStateMachine.Request(
                keepAlive: head.isKeepAlive, announcesBody: head.announcesBody,
                expectsContinue: head.headers.first("expect", is: "100-continue"))
            switch machine.requestHead(request) {
            case .route: begin(head, context: context)
            case .queuePipelined: pipelined.append(part)
            default: break
            }
        case .body(let buffer):
            let action = machine.requestBody()
            if action == .queuePipelined { return pipelined.append(part) }
            guard let exchange else { return }
            exchange.requestBodyBytes += buffer.readableBytes
            let limit = exchange.runtime.config.server.maxBodyBytes
            if limit > 0, exchange.requestBodyBytes > limit {
                return perform(machine.bodyLimitExceeded())
            }
            relay(part, action: action, exchange: exchange)
        case .end:
            let action = machine.requestEnd()
            if action == .queuePipelined { return pipelined.append(part) }
            guard let exchange else { return }
            relay(part, action: action, exchange: exchange)
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
        machine.clientClosed()
        pipelined.removeAll()
        if let exchange {
            recordEnd(of: exchange)
            exchange.upstream?.discard()
            exchange.upstream = nil
            self.exchange = nil
        }
        timers?.stop()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        runtimes.current.logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// The request decoder refused the bytes (it drops every byte after).
    private func requestDecodingFailed(_ error: any Error, context: ChannelHandlerContext) {
        runtimes.current.logger.debug("client connection error", metadata: ["error": "\(error)"])
        guard let parserError = error as? HTTPParserError else { return context.close(promise: nil) }
        if parserError == .closedConnection, exchange != nil {
            // Bytes after a request that said `Connection: close`: that request is still served,
            // then the connection closes; what came after it is dropped, never answered.
            return
        }
        // Malformed or ambiguous framing: answer once (if nothing went upstream yet) and close.
        switch machine.requestMalformed() {
        case .rejectAndClose:
            pipelined.removeAll()
            let response =
                parserError == .headerOverflow
                ? LocalResponse.headersTooLarge : LocalResponse(status: .badRequest, error: "malformed request")
            if let exchange {
                exchange.status = Int(response.status.code)
                recordEnd(of: exchange)
                self.exchange = nil
            } else {
                // No head was parsed: answered before routing, never in flight.
                events.requestAnswered(rule: .rejected, method: .other, status: Int(response.status.code), duration: .zero)
            }
            writeLocal(response, version: .http1_1, close: true, context: context)
        case let action:
            perform(action)
        }
        applyPolicies()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        machine.clientWritabilityChanged(context.channel.isWritable)
        applyPolicies()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            pipelined.removeAll()
            perform(machine.quiesce())
            applyPolicies()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: performing the machine's actions

    /// Performs an action that needs no part of the request or response in hand.
    func perform(_ action: ClientConnectionStateMachine.Action) {
        switch action {
        case .close:
            closeConnection()
        case .fail(let failure):
            guard let exchange else { return closeConnection() }
            fail(exchange, failure)
        case .writeHeadTimeoutAndClose:
            guard let context else { return }
            var buffer = context.channel.allocator.buffer(capacity: 96)
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
        case .none, .ignore, .route, .queuePipelined, .bufferRequestPart, .forwardRequestPart, .dropRequestPart,
            .finishDrained, .writeLocalAnswer, .startForwarding, .releaseUpstream, .continueWithSession,
            .inspectResponseHead, .markUpstreamBroken, .bufferResponsePart, .forwardResponsePart, .finishResponse,
            .finishResponseEarly, .joinTunnel, .rejectAndClose:
            break  // performed where the event came in (they need the part or the connection in hand)
        }
    }

    /// Closes the client connection; the exchange's upstream connection is never reused.
    func closeConnection() {
        pipelined.removeAll()
        if let upstream = exchange?.upstream {
            exchange?.upstream = nil
            upstream.discard()
        }
        context?.close(promise: nil)
    }

    /// The exchange ended with the connection kept: the next request may start.
    func exchangeFinished() {
        exchange = nil
        if !pipelined.isEmpty { scheduleReplay() }
    }

    /// The exchange ended and the connection closes: requests queued behind it never start
    /// (nothing of theirs may reach the upstream).
    func exchangeEndsConnection() {
        exchange = nil
        pipelined.removeAll()
    }

    // MARK: pipelining

    /// Replays waiting parts on the next loop tick, after the code that ended the exchange.
    private func scheduleReplay() {
        guard !replayScheduled, let context else { return }
        replayScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { loopBound.value.replayPipelined() }
    }

    private func replayPipelined() {
        replayScheduled = false
        guard let context, !pipelined.isEmpty else { return }
        if case .closing = machine.state { return pipelined.removeAll() }
        machine.pipelinedQueue(waiting: false)
        while !pipelined.isEmpty, machine.request?.bodyEnded != true {
            if case .closing = machine.state { break }
            receive(pipelined.removeFirst(), context: context)
        }
        if case .closing = machine.state { pipelined.removeAll() }
        machine.pipelinedQueue(waiting: !pipelined.isEmpty)
        applyPolicies()
    }

    // MARK: policies (read pauses and timers, derived by the machine)

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// Applies what the machine derives from its state: whether each side is read, and which
    /// timers run. Called after every event.
    func applyPolicies() {
        let paused = machine.clientReadsPaused
        if paused != readsPaused {
            readsPaused = paused
            if !paused, pendingRead, let context {
                pendingRead = false
                context.read()
            }
        }
        exchange?.upstream?.handler.setReadsPaused(machine.upstreamReadsPaused)
        let wanted = machine.timers
        if wanted != appliedTimers {
            timers?.apply(wanted, previous: appliedTimers, timeouts: timeouts, exchangeRuntime: exchange?.runtime)
            appliedTimers = wanted
        }
    }

    private func timerExpired(_ kind: ConnectionTimers.Kind) {
        switch kind {
        case .connection:
            switch appliedTimers.connection {
            case .idle: perform(machine.idleTimedOut())
            case .header: perform(machine.headerTimedOut())
            case .none: break
            }
        case .body:
            let action = machine.bodyTimedOut()
            if action != .none, let exchange {
                exchange.runtime.logger.info("request body timed out", metadata: ["request_id": "\(exchange.requestID)"])
            }
            perform(action)
        case .stall:
            perform(machine.stallTimedOut())
        case .exchange:
            switch appliedTimers.exchange {
            case .store:
                if machine.storeTimedOut() == .continueWithSession, let exchange {
                    sessionLoadTimedOut(exchange)
                }
            case .response: perform(machine.responseTimedOut())
            case .linger: perform(machine.lingerTimedOut())
            case .none: break
            }
        }
        appliedTimers = ClientConnectionStateMachine.Timers.expired(kind, from: appliedTimers)
        applyPolicies()
    }
}

extension ClientConnectionStateMachine.Timers {
    /// `timers` after `kind` fired: that deadline is gone (a timer that still applies restarts).
    static func expired(_ kind: ConnectionTimers.Kind, from timers: Self) -> Self {
        var timers = timers
        switch kind {
        case .connection: timers.connection = nil
        case .body: timers.body = nil
        case .stall: timers.stall = nil
        case .exchange: timers.exchange = nil
        }
        return timers
    }
}
