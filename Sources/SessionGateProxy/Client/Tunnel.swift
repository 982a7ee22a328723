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
            // Glue goes in first (buffering), so the bytes the HTTP handlers forward when they
            // leave (read past the upgrade request, or past the 101) are kept.
            try clientOps.addHandler(clientGlue)
            try upstreamOps.addHandler(upstreamGlue)
            var removals: [EventLoopFuture<Void>] = []
            func remove<Handler: ChannelHandler>(_ type: Handler.Type, from ops: ChannelPipeline.SynchronousOperations) {
                if let context = try? ops.context(handlerType: type) { removals.append(ops.removeHandler(context: context)) }
            }
            remove(ClientHandler.self, from: clientOps)
            remove(UpstreamHandler.self, from: upstreamOps)
            let boundGlue = NIOLoopBound((clientGlue, upstreamGlue), eventLoop: client.eventLoop)
            EventLoopFuture.andAllSucceed(removals, on: client.eventLoop).whenComplete { result in
                switch result {
                case .success:
                    boundGlue.value.0.activate()
                    boundGlue.value.1.activate()
                case .failure:
                    client.close(promise: nil)
                    upstream.close(promise: nil)
                }
            }
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
    /// Until both pipelines are free of HTTP handlers, reads are held here.
    private var active = false
    private var held: [ByteBuffer] = []

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
        if active {
            partner?.context?.write(NIOAny(buffer), promise: nil)
        } else {
            held.append(buffer)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if active { partner?.context?.flush() }
    }

    /// Starts copying: delivers what was held, then passes bytes straight through.
    func activate() {
        active = true
        guard let partnerContext = partner?.context else { return }
        for buffer in held { partnerContext.write(NIOAny(buffer), promise: nil) }
        held.removeAll()
        partnerContext.flush()
        if pendingRead {
            pendingRead = false
            context?.read()
        }
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
        if active, partnerWritable {
            context.read()
        } else {
            pendingRead = true
        }
    }
}
