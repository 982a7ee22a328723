import NIOCore
import NIOPosix

// A 1:1 TCP relay: each client connection gets its own upstream connection; bytes are forwarded as
// they arrive, flushed once per read burst. No HTTP parsing: the ceiling of a SwiftNIO proxy here.
// The project's calibration relay (see README.md next to Package.swift), with one change: an
// optional third argument sets the number of event loops, for `bench.py --threads N`.
final class Glue: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var partner: Glue?
    var context: ChannelHandlerContext?
    var pending: [ByteBuffer] = []
    var needsFlush = false
    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        if let p = partner, let pc = p.context { pc.write(wrapOutboundOut(buf), promise: nil); p.needsFlush = true }
        else { pending.append(buf) }
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        if let p = partner, p.needsFlush, let pc = p.context { p.needsFlush = false; pc.flush() }
    }
    func channelInactive(context: ChannelHandlerContext) { partner?.context?.close(promise: nil) }
    func attach(_ other: Glue) {
        partner = other
        guard let oc = other.context else { return }
        for b in pending { oc.write(wrapOutboundOut(b), promise: nil) }
        if !pending.isEmpty { oc.flush() }
        pending.removeAll()
    }
}

let args = CommandLine.arguments
let listenPort = Int(args[1])!, upstreamPort = Int(args[2])!
let threads = args.count > 3 ? Int(args[3])! : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        let clientGlue = Glue()
        return client.pipeline.addHandler(clientGlue).flatMap {
            ClientBootstrap(group: client.eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { up in
                    let upGlue = Glue()
                    return up.pipeline.addHandler(upGlue).map {
                        upGlue.partner = clientGlue
                        clientGlue.attach(upGlue)
                    }
                }
                .connect(host: "127.0.0.1", port: upstreamPort).map { _ in () }
        }
    }
    .bind(host: "127.0.0.1", port: listenPort).wait()
try server.closeFuture.wait()
