import NIOCore
import NIOPosix
import SessionGateCore

/// A minimal HTTP/1.1 client for the admin listener's sessions API (loopback, one request per
/// connection, `Connection: close`): enough for the CLI, with no dependency on libcurl.
struct AdminAPIClient {
    struct Response {
        var status: Int
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let host: String
    let port: Int
    /// The bearer token (never printed).
    let token: String
    /// The most bytes of answer read before giving up (listings of thousands of sessions fit).
    static let maxResponseBytes = 16 * 1024 * 1024

    func send(method: String, target: String) async throws -> Response {
        let request =
            "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nAuthorization: Bearer \(token)\r\n"
            + "Accept: application/json\r\nUser-Agent: sessiongate-cli\r\nConnection: close\r\n\r\n"
        let collected = NIOLoopBoundBox.makeEmptyBox(valueType: ByteBuffer.self, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        let loop = collected.eventLoop
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(Collector(box: collected))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw Failure(description: "cannot reach the admin listener at \(host):\(port) (\(error)); is `sessiongate serve` running?")
        }
        try await channel.writeAndFlush(ByteBuffer(string: request))
        try await channel.closeFuture.get()
        let bytes = try await loop.submit { collected.value.map { Array($0.readableBytesView) } ?? [] }.get()
        return try Self.parse(bytes)
    }

    /// Status and body of a complete `Connection: close` answer (Content-Length or to the end).
    static func parse(_ bytes: [UInt8]) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.firstRange(of: separator) else { throw Failure(description: "the admin listener sent no complete answer") }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let fields = statusLine.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]) else {
            throw Failure(description: "the admin listener sent a malformed status line")
        }
        return Response(status: status, body: String(decoding: bytes[end.upperBound...], as: UTF8.self))
    }

    /// Collects every byte until the server closes.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let box: NIOLoopBoundBox<ByteBuffer?>

        init(box: NIOLoopBoundBox<ByteBuffer?>) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            if box.value == nil { box.value = incoming } else { box.value!.writeBuffer(&incoming) }
            if box.value!.readableBytes > AdminAPIClient.maxResponseBytes { context.close(promise: nil) }
        }
    }
}
