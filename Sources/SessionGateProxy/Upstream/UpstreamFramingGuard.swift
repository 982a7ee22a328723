import NIOCore
import SessionGateCore

/// First in every upstream pipeline, before the response decoder: follows each response's
/// framing on the raw bytes (`ResponseFramer`) and closes the connection when the upstream sends
/// anything beyond a response — extra bytes after a body, a body on a HEAD / 204 / 304 answer, a
/// partial or unsolicited response on an idle pooled connection. Only the bytes of the expected
/// response reach the decoder, so nothing beyond it can become another client's response.
final class UpstreamFramingGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var framer = ResponseFramer()
    /// Called once when the connection must not be reused (before it closes).
    var onUnreusable: (() -> Void)?

    /// Whether the connection may go back to the pool: the last response ended exactly where
    /// its bytes did, and nothing about it forbids reuse.
    var allowsReuse: Bool { framer.isReusable && framer.isIdle }

    /// A request head went out: its response is the next thing the upstream may send.
    func expectResponse(toHEAD isHEAD: Bool) {
        framer.expectResponse(toHEAD: isHEAD)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let verdict = buffer.withUnsafeReadableBytes { framer.consume($0) }
        switch verdict {
        case .ok:
            context.fireChannelRead(data)
        case .malformed:
            // The decoder decides what the client sees (usually an error); the connection ends.
            onUnreusable?()
            context.fireChannelRead(data)
        case .excess(let offset):
            onUnreusable?()
            if offset > 0, let prefix = buffer.getSlice(at: buffer.readerIndex, length: offset) {
                context.fireChannelRead(wrapInboundOut(prefix))
            }
            context.close(promise: nil)
        }
    }
}
