import NIOCore

/// Sits first in a client pipeline and closes connections that idle between requests
/// (`idle_timeout`), dribble a request head (`header_timeout`, the slowloris defence), or stop
/// reading a response for `idle_timeout` (a slow-read client would otherwise hold its upstream
/// connection for ever: backpressure stops the upstream reads, nothing else ends the exchange).
/// The client handler tells it when a head arrived and when the response ended.
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
    private var phase = Phase.waitingForRequest
    /// The client's socket and our write queue are full: it is not reading what we send.
    private var stalled = false
    private var timer: DeadlineTimer?
    private var context: ChannelHandlerContext?

    init(idleTimeout: TimeAmount, headerTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
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
        }
        context.fireChannelRead(data)
    }

    /// A complete request head was decoded: no timeout while the exchange runs, unless the
    /// client stops reading.
    func requestHeadReceived() {
        phase = .busy
        timer?.set(stalled ? .now() + idleTimeout : nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        stalled = !context.channel.isWritable
        if phase == .busy {
            // Every time the client drains the queue below the low-water mark, the clock restarts.
            timer?.set(stalled ? .now() + idleTimeout : nil)
        }
        context.fireChannelWritabilityChanged()
    }

    /// The response ended and the connection stays open for the next request.
    func exchangeFinished() {
        phase = .waitingForRequest
        timer?.set(in: idleTimeout)
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
            if stalled { context.close(promise: nil) }
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
