import NIOCore
import NIOHTTP1

/// Receives what one upstream connection produces while it serves a request.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponsePart(_ part: ResponsePart)
    func upstreamFailed(_ error: any Error)
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The current read from the upstream socket is done: a good moment to flush the client.
    func upstreamReadComplete()
}

/// The only handler of an upstream connection's pipeline. It decodes the responses it reads
/// (`HTTP1ResponseDecoder`, driven here: no `ByteToMessageHandler` in front), forwards their parts
/// to the client connection that currently owns it, and holds `read()` while that client cannot
/// take more bytes (backpressure from a slow client reaches the upstream socket).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The client handler the current response goes to. A strong reference (a weak one would
    /// put every retain of the client handler on the runtime's slow path): whoever ends the
    /// exchange clears it — the pool on release, `UpstreamConnection.discard`, the tunnel, and
    /// this handler when the connection fails or closes.
    var delegate: (any UpstreamDelegate)?
    private var readsPaused = false
    private var pendingRead = false
    private(set) var context: ChannelHandlerContext?
    /// Set when the connection closed or failed; a pooled connection in this state is dropped.
    private(set) var isBroken = false
    /// True between the response head and end (the connection cannot be reused mid-message).
    private(set) var inResponse = false
    var onClose: (() -> Void)?
    /// The response decoder; it also decides whether the connection may be reused (strict reuse).
    let decoder: HTTP1ResponseDecoder
    /// Bytes read and not decoded yet (an incomplete head, or the tunnel's first bytes after a 101).
    private let pending = PendingBytes()

    init(decoder: HTTP1ResponseDecoder = HTTP1ResponseDecoder()) { self.decoder = decoder }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// A request head is going out: its response is the next one the decoder expects.
    func expectResponse(toHEAD isHEAD: Bool) {
        decoder.expectResponse(toHEAD: isHEAD)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Leaves the pipeline (for a tunnel) on the next loop tick, after the read being handled, and
    /// hands the bytes read past the 101 to the handler behind.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = loopBound.value
            if let rest = handler.pending.takeAll() { context.fireChannelRead(NIOAny(rest)) }
            context.leavePipeline(removalToken: removalToken)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending.read(unwrapInboundIn(data)) { buffer in
            do {
                while let part = try decoder.next(from: &buffer) { receive(part, context: context) }
            } catch {
                buffer.moveReaderIndex(to: buffer.writerIndex)  // nothing after an error is read
                failed(error, context: context)
            }
        }
        if decoder.droppedExcess { context.close(promise: nil) }
    }

    private func receive(_ part: ResponsePart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head) where head.status.code >= 100 && head.status.code < 200 && head.status != .switchingProtocols:
            break
        case .head: inResponse = true
        case .body: break
        case .end: inResponse = false
        }
        if let delegate {
            delegate.upstreamResponsePart(part)
        } else {
            // A response nobody asked for (or after the client left): never reuse this connection.
            isBroken = true
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body delimited by the close ends with it.
        if let end = decoder.endAtClose() { receive(end, context: context) }
        isBroken = true
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(ChannelError.eof)
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed(error, context: context)
    }

    /// A malformed response or a connection error: whoever waits is told, the connection closes.
    private func failed(_ error: any Error, context: ChannelHandlerContext) {
        isBroken = true
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(error)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            pendingRead = true
        } else {
            context.read()
        }
    }

    /// Stops or resumes reading from the upstream socket.
    func setReadsPaused(_ paused: Bool) {
        guard paused != readsPaused else { return }
        readsPaused = paused
        if !paused, pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func markBroken() { isBroken = true }
}
