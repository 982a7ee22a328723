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

/// The thin handler at the end of an upstream connection's pipeline. It forwards response parts
/// to the client connection that currently owns it and holds `read()` while that client cannot
/// take more bytes (backpressure from a slow client reaches the upstream socket).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ResponsePart
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
    /// The response decoder in this pipeline (inside its `ByteToMessageHandler`); it also
    /// decides whether the connection may be reused (strict reuse).
    let decoder = HTTP1ResponseDecoder()

    init() {}

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// A request head is going out: its response is the next one the decoder expects.
    func expectResponse(toHEAD isHEAD: Bool) {
        decoder.expectResponse(toHEAD: isHEAD)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
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
        isBroken = true
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(ChannelError.eof)
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
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
