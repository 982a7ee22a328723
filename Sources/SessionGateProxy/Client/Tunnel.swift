import NIOCore
import NIOHTTP1

/// After a `101 Switching Protocols`, both connections stop speaking HTTP: their HTTP handlers
/// are removed and a pair of glue handlers copies bytes each way, with backpressure.
enum Tunnel {
    static func join(client: any Channel, upstream: any Channel, upstreamHandler: UpstreamHandler) {
        client.eventLoop.assertInEventLoop()
        upstreamHandler.delegate = nil
        upstreamHandler.markBroken()  // never back to the pool
        let (clientGlue, upstreamGlue) = GlueHandler.matchedPair()
        do {
            let clientOps = client.pipeline.syncOperations
            let upstreamOps = upstream.pipeline.syncOperations
            try clientOps.addHandler(clientGlue)
            try upstreamOps.addHandler(upstreamGlue)
            // Decoders go last among the removals so any bytes they buffered are forwarded to glue.
            try clientOps.removeHandler(context: clientOps.context(handlerType: ClientHandler.self)).whenFailure { _ in }
            try clientOps.removeHandler(context: clientOps.context(handlerType: HTTPServerPipelineHandler.self)).whenFailure { _ in }
            try clientOps.removeHandler(context: clientOps.context(handlerType: ClientTimeoutHandler.self)).whenFailure { _ in }
            try clientOps.removeHandler(context: clientOps.context(handlerType: HTTPResponseEncoder.self)).whenFailure { _ in }
            try clientOps.removeHandler(context: clientOps.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)).whenFailure { _ in }
            try upstreamOps.removeHandler(context: upstreamOps.context(handlerType: UpstreamHandler.self)).whenFailure { _ in }
            try upstreamOps.removeHandler(context: upstreamOps.context(handlerType: NIOHTTPRequestHeadersValidator.self)).whenFailure { _ in }
            try upstreamOps.removeHandler(context: upstreamOps.context(handlerType: HTTPRequestEncoder.self)).whenFailure { _ in }
            try upstreamOps.removeHandler(context: upstreamOps.context(handlerType: ByteToMessageHandler<HTTPResponseDecoder>.self)).whenFailure { _ in }
        } catch {
            client.close(promise: nil)
            upstream.close(promise: nil)
        }
    }
}

/// One side of a byte tunnel between two channels on the same event loop (after NIO's
/// connect-proxy example): reads from one side are written to the other, and a side that cannot
/// write stops the other side's reads.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    private var partnerWritable: Bool { partner?.context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        partner?.context?.write(NIOAny(buffer), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.partnerBecameWritable() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            partner?.context?.close(mode: .output, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func partnerBecameWritable() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
