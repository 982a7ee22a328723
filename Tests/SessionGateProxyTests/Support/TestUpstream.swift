import NIOCore
import NIOHTTP1
import NIOPosix
import SessionGateCore
import Synchronization

/// A real upstream app on 127.0.0.1:0 whose behaviour the test steers with request headers
/// (which pass through the proxy untouched):
/// - `X-Test-Set`, `X-Test-Action`, `X-Test-Lifetime`: echoed back as `X-Session-*` directives
/// - `X-Test-Delay-Ms`: wait before the response head
/// - `X-Test-Chunks` / `X-Test-Chunk-Delay-Ms`: a chunked body of N pieces, spaced out
/// - `X-Test-Bytes`: a body of N zero bytes (with Content-Length) instead of the JSON echo
/// - `X-Test-Raw`: base64 of raw bytes to write instead of a response, then close
/// - `X-Test-Set-Cookie`: an upstream Set-Cookie header
/// Every request head it received is recorded; the body's byte count and checksum are reported.
final class TestUpstream: Sendable {
    struct Seen: Sendable {
        var head: HTTPRequestHead
        var bodyBytes: Int
        var trailers: HTTPHeaders? = nil
    }

    let group: any EventLoopGroup
    let channel: any Channel
    let seen = Mutex<[Seen]>([])
    let connections = Mutex(0)
    var port: Int { channel.localAddress!.port! }

    init(group: any EventLoopGroup) async throws {
        self.group = group
        let recorder = Recorder()
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    recorder.connectionOpened()
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(UpstreamAppHandler(recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        recorder.owner.withLock { $0 = self }
    }

    var requests: [Seen] { seen.withLock { $0 } }
    var lastHead: HTTPRequestHead? { requests.last?.head }

    func stop() async throws { try await channel.close() }

    /// Waits (up to a minute: a loaded machine may be slow, never wrong) until a request for
    /// `uri` has reached the app.
    func waitUntilSeen(_ uri: String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !seen.withLock({ $0.contains { $0.head.uri == uri } }) {
            guard ContinuousClock.now < deadline else { throw TestUpstreamError.notSeen(uri) }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    final class Recorder: Sendable {
        let owner = Mutex<TestUpstream?>(nil)
        func record(_ seen: Seen) { owner.withLock { $0?.seen.withLock { $0.append(seen) } } }
        func connectionOpened() { owner.withLock { $0?.connections.withLock { $0 += 1 } } }
    }
}

final class UpstreamAppHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let recorder: TestUpstream.Recorder
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var checksum: UInt64 = 0

    init(recorder: TestUpstream.Recorder) { self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyBytes = 0
            checksum = 0
            if head.headers.first(name: "x-test-early") != nil {
                // Answer before the body arrives (as an app rejecting an upload would).
                self.head = nil
                recorder.record(.init(head: head, bodyBytes: 0))
                write(head, bodyBytes: 0, checksum: 0, context: context)
            }
        case .body(let buffer):
            guard head != nil else { return }
            bodyBytes += buffer.readableBytes
            if let first = buffer.readableBytesView.first { checksum = checksum &* 31 &+ UInt64(first) }
        case .end(let trailers):
            guard let head else { return }
            self.head = nil
            recorder.record(.init(head: head, bodyBytes: bodyBytes, trailers: trailers))
            respond(head, context: context)
        }
    }

    private func respond(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let delay = head.headers.first(name: "x-test-delay-ms").flatMap(Int64.init) ?? 0
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let bodyBytes = self.bodyBytes
        let checksum = self.checksum
        loop.scheduleTask(in: .milliseconds(delay)) {
            let (handler, context) = bound.value
            handler.write(head, bodyBytes: bodyBytes, checksum: checksum, context: context)
        }
    }

    private func write(_ head: HTTPRequestHead, bodyBytes: Int, checksum: UInt64, context: ChannelHandlerContext) {
        if head.headers.first(name: "upgrade")?.lowercased() == "websocket" {
            return upgradeToEcho(head, context: context)
        }
        if let raw = head.headers.first(name: "x-test-raw"), let bytes = Base64.decode(raw) {
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            // Bypass the HTTP encoder: write raw bytes below it.
            let channel = context.channel
            guard let encoder = try? channel.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else { return }
            encoder.writeAndFlush(NIOAny(IOData.byteBuffer(buffer))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        var headers = HTTPHeaders()
        for value in head.headers["x-test-set"] { headers.add(name: "X-Session-Set", value: value) }
        for value in head.headers["x-test-action"] { headers.add(name: "X-Session-Action", value: value) }
        for value in head.headers["x-test-lifetime"] { headers.add(name: "X-Session-Lifetime", value: value) }
        for value in head.headers["x-test-set-cookie"] { headers.add(name: "Set-Cookie", value: value) }
        headers.add(name: "Content-Type", value: "application/json")
        let echoed: JSONValue = [
            "method": .string(head.method.rawValue), "uri": .string(head.uri),
            "headers": .array(head.headers.map { .array([.string($0.name), .string($0.value)]) }),
            "body_bytes": .int(Int64(bodyBytes)), "checksum": .string(String(checksum)),
        ]
        let chunks = head.headers.first(name: "x-test-chunks").flatMap(Int.init) ?? 0
        if chunks > 0 {
            let gap = head.headers.first(name: "x-test-chunk-delay-ms").flatMap(Int64.init) ?? 0
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.flush()
            writeChunks(remaining: chunks, index: 0, gap: gap, context: context)
            return
        }
        if let count = head.headers.first(name: "x-test-bytes").flatMap(Int.init) {
            headers.add(name: "Content-Length", value: String(count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(repeating: 0, count: count)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let body = JSONSerializer.serialize(echoed)
        headers.add(name: "Content-Length", value: String(body.count))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Answers 101 and then echoes raw bytes (enough to prove the proxy tunnels byte for byte).
    private func upgradeToEcho(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        let key = head.headers.first(name: "sec-websocket-key") ?? ""
        headers.add(
            name: "Sec-WebSocket-Accept", value: head.headers.first(name: "x-test-accept") ?? UpgradePolicy.webSocketAccept(forKey: key))
        headers.add(name: "X-Session-Set", value: "{\"ignored\":true}")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenSuccess {
            let ops = channel.pipeline.syncOperations
            do {
                try ops.addHandler(EchoHandler(), position: .first)
                try? ops.removeHandler(context: ops.context(handlerType: HTTPServerProtocolErrorHandler.self)).whenFailure { _ in }
                try? ops.removeHandler(context: ops.context(handlerType: HTTPServerPipelineHandler.self)).whenFailure { _ in }
                try? ops.removeHandler(context: ops.context(handlerType: UpstreamAppHandler.self)).whenFailure { _ in }
                try? ops.removeHandler(context: ops.context(handlerType: HTTPResponseEncoder.self)).whenFailure { _ in }
                try? ops.removeHandler(context: ops.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)).whenFailure { _ in
                }
            } catch {
                channel.close(promise: nil)
            }
        }
    }

    private func writeChunks(remaining: Int, index: Int, gap: Int64, context: ChannelHandlerContext) {
        guard remaining > 0 else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        context.writeAndFlush(
            wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "chunk-\(index)\n")))), promise: nil)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .milliseconds(gap)) {
            let (handler, context) = bound.value
            handler.writeChunks(remaining: remaining - 1, index: index + 1, gap: gap, context: context)
        }
    }
}

/// Writes back every byte it reads.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

enum TestUpstreamError: Error { case notSeen(String) }
