import NIOCore

/// Sits first in a client pipeline and closes connections that idle between requests
/// (`idle_timeout`), dribble a request head (`header_timeout`, the slowloris defence), or stop
/// reading a response for `idle_timeout` (a slow-read client would otherwise hold its upstream
/// connection for ever: backpressure stops the upstream reads, nothing else ends the exchange),
/// or stop sending a request body they announced (`body_timeout`; counted only while the proxy
/// wants to read). The client handler tells it when a head arrived, when a body is awaited,
/// and when the response ended.
final class ClientTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        case waitingForRequest
        case readingHead
        case busy
    }

    private let idleTimeout: TimeAmount
    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var phase = Phase.waitingForRequest
    /// The client's socket and our write queue are full: it is not reading what we send.
    private var stalled = false
    private var stallDeadline: NIODeadline?
    /// A request body is still to come (and the proxy is reading it).
    private var awaitingBody = false
    private var bodyReadsPaused = false
    private var bodyDeadline: NIODeadline?
    /// Called when a request body stalls for `body_timeout` (the client handler answers 408).
    var onBodyTimeout: (() -> Void)?
    private var timer: DeadlineTimer?
    private var context: ChannelHandlerContext?

    init(idleTimeout: TimeAmount, headerTimeout: TimeAmount, bodyTimeout: TimeAmount = .seconds(60)) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // The timer holds the handler only through its expiry action, dropped by `stop()`.
        timer = DeadlineTimer(eventLoop: context.eventLoop) { loopBound.value.expired() }
        if context.channel.isActive { timer?.set(in: idleTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.stop()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        timer?.set(in: idleTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.stop()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .waitingForRequest {
            phase = .readingHead
            timer?.set(in: headerTimeout)
        } else if phase == .busy, awaitingBody, !bodyReadsPaused {
            bodyDeadline = context.eventLoop.now + bodyTimeout
            setBusyDeadline()
        }
        context.fireChannelRead(data)
    }

    /// A complete request head was decoded: no timeout while the exchange runs, unless the
    /// client stops reading.
    func requestHeadReceived() {
        phase = .busy
        awaitingBody = false
        bodyDeadline = nil
        setBusyDeadline()
    }

    /// The request's body is still to come: `body_timeout` runs while the proxy reads.
    func awaitBody() {
        guard phase == .busy, let context else { return }
        awaitingBody = true
        bodyDeadline = bodyReadsPaused ? nil : context.eventLoop.now + bodyTimeout
        setBusyDeadline()
    }

    /// The request's body ended (or will never be read).
    func bodyEnded() {
        awaitingBody = false
        bodyDeadline = nil
        if phase == .busy { setBusyDeadline() }
    }

    /// The proxy stopped or resumed reading (backpressure, session load): a paused body is not
    /// the client's fault, so its clock stops, and restarts in full on resume.
    func setBodyReadsPaused(_ paused: Bool) {
        guard paused != bodyReadsPaused else { return }
        bodyReadsPaused = paused
        guard phase == .busy, awaitingBody, let context else { return }
        bodyDeadline = paused ? nil : context.eventLoop.now + bodyTimeout
        setBusyDeadline()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalled = !context.channel.isWritable
        if phase == .busy {
            // Every time the client drains the queue below the low-water mark, the clock restarts.
            stallDeadline = stalled ? context.eventLoop.now + idleTimeout : nil
            setBusyDeadline()
        }
        context.fireChannelWritabilityChanged()
    }

    /// The response ended and the connection stays open for the next request.
    func exchangeFinished() {
        phase = .waitingForRequest
        awaitingBody = false
        bodyDeadline = nil
        timer?.set(in: idleTimeout)
    }

    /// While busy, the deadlines are the slow reader's (`idle_timeout` from the last progress
    /// while stalled) and the request body's; the earlier one counts.
    private func setBusyDeadline() {
        if stalled, stallDeadline == nil, let context { stallDeadline = context.eventLoop.now + idleTimeout }
        if !stalled { stallDeadline = nil }
        switch (stallDeadline, bodyDeadline) {
        case (nil, nil): timer?.set(nil)
        case (let deadline?, nil), (nil, let deadline?): timer?.set(deadline)
        case (let stall?, let body?): timer?.set(min(stall, body))
        }
    }

    private func expired() {
        guard let context else { return }
        switch phase {
        case .readingHead:
            var buffer = context.channel.allocator.buffer(capacity: 96)
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        case .waitingForRequest:
            context.close(promise: nil)
        case .busy:
            let now = context.eventLoop.now
            if let stallDeadline, stallDeadline <= now {
                context.close(promise: nil)
            } else if let bodyDeadline, bodyDeadline <= now {
                awaitingBody = false
                self.bodyDeadline = nil
                if let onBodyTimeout { onBodyTimeout() } else { context.close(promise: nil) }
            }
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
