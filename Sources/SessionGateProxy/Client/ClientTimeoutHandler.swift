import NIOCore

/// Sits first in a client pipeline and closes connections that idle between requests
/// (`idle_timeout`) or dribble a request head (`header_timeout`, the slowloris defence).
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
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(idleTimeout: TimeAmount, headerTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm(idleTimeout, reason: .idle) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(idleTimeout, reason: .idle)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .waitingForRequest {
            phase = .readingHead
            arm(headerTimeout, reason: .head)
        }
        context.fireChannelRead(data)
    }

    /// A complete request head was decoded: no timeout while the exchange runs.
    func requestHeadReceived() {
        phase = .busy
        timer?.cancel()
        timer = nil
    }

    /// The response ended and the connection stays open for the next request.
    func exchangeFinished() {
        phase = .waitingForRequest
        arm(idleTimeout, reason: .idle)
    }

    private enum Reason { case idle, head }

    private func arm(_ delay: TimeAmount, reason: Reason) {
        timer?.cancel()
        guard let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.fire(reason)
        }
    }

    private func fire(_ reason: Reason) {
        guard let context else { return }
        timer = nil
        if reason == .head, phase == .readingHead {
            var buffer = context.channel.allocator.buffer(capacity: 96)
            buffer.writeString("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            let channel = context.channel
            context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
        } else if reason == .idle, phase == .waitingForRequest {
            context.close(promise: nil)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
