import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Fetches the certificate chain a Postgres server presents, without trusting it: TCP, the
/// protocol's `SSLRequest`, then a TLS handshake that records the chain and aborts. BoringSSL
/// reports every chain failure as `CERTIFICATE_VERIFY_FAILED`; the chain tells an expired
/// certificate from an unknown CA. Nothing is sent after the handshake (no password).
enum PostgresPeerCertificates {
    /// The validity of each certificate the server sent, leaf first.
    struct Validity: Sendable, Equatable {
        var notBefore: Int
        var notAfter: Int
    }

    static func fetch(host: String, port: Int, timeout: Duration) async throws -> [Validity] {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        let context = try NIOSSLContext(configuration: tls)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: [Validity].self)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.init(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let serverName = host.isIPAddress ? nil : host
                    try channel.pipeline.syncOperations.addHandler(
                        SSLRequestHandler(context: context, serverName: serverName, promise: promise))
                }
            }
            .connect(host: host, port: port)
            .get()
        channel.eventLoop.scheduleTask(in: .init(timeout)) { promise.fail(ChannelError.connectTimeout(.init(timeout))) }
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    /// Sends `SSLRequest`; on `S` puts a TLS handler in its place whose verification callback
    /// records the chain and fails the handshake.
    private final class SSLRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let context: NIOSSLContext
        let serverName: String?
        let promise: EventLoopPromise<[Validity]>

        init(context: NIOSSLContext, serverName: String?, promise: EventLoopPromise<[Validity]>) {
            self.context = context
            self.serverName = serverName
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            // Length 8, code 80877103.
            let request = context.channel.allocator.buffer(bytes: [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
            context.writeAndFlush(NIOAny(request), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            guard buffer.readableBytes == 1, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == UInt8(ascii: "S") else {
                promise.fail(ChannelError.inappropriateOperationForState)
                context.close(promise: nil)
                return
            }
            let promise = self.promise
            do {
                let tls = try NIOSSLClientHandler(context: self.context, serverHostname: serverName) { certificates, verdict in
                    promise.succeed(certificates.map { Validity(notBefore: Int($0.notValidBefore), notAfter: Int($0.notValidAfter)) })
                    verdict.succeed(NIOSSLVerificationResult.failed)
                }
                try context.pipeline.syncOperations.addHandler(tls, position: .after(self))
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
            } catch {
                promise.fail(error)
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}

extension String {
    fileprivate var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
