import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A misbehaving upstream on 127.0.0.1:0 that answers with raw bytes the test scripts: wrong
/// framing, extra bytes, late unsolicited responses. It reads request heads (and bodies with a
/// `Content-Length`) one after the other on each connection and asks `script` what to send.
final class RawUpstream: Sendable {
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [(name: String, value: String)]
        /// The connection's number (0, 1, …) and the request's number on it.
        var connection: Int
        var index: Int

        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }
    }

    enum Action: Sendable {
        case write([UInt8])
        case writeLater(milliseconds: Int64, [UInt8])
        case close
    }

    let channel: any Channel
    let connectionCount = Mutex(0)
    let closed = Mutex<Set<Int>>([])
    let requests = Mutex<[Request]>([])
    /// Every byte read, on all connections, in order.
    let received = Mutex<[UInt8]>([])
    var port: Int { channel.localAddress!.port! }

    init(group: any EventLoopGroup, script: @escaping @Sendable (Request) -> [Action]) async throws {
        let counter = Mutex(0)
        let log = Log()
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = counter.withLock { value in
                    defer { value += 1 }
                    return value
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawUpstreamHandler(connection: number, script: script, log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        log.owner.withLock { $0 = self }
    }

    func stop() async { try? await channel.close() }

    /// Waits (up to a minute) until the proxy has closed connection number `connection`.
    func waitUntilClosed(connection: Int) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while !closed.withLock({ $0.contains(connection) }) {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    final class Log: Sendable {
        let owner = Mutex<RawUpstream?>(nil)
        func record(_ request: Request) { owner.withLock { $0?.requests.withLock { $0.append(request) } } }
        func read(_ bytes: [UInt8]) { owner.withLock { $0?.received.withLock { $0 += bytes } } }
        func opened() { owner.withLock { $0?.connectionCount.withLock { $0 += 1 } } }
        func closed(_ number: Int) { owner.withLock { _ = $0?.closed.withLock { $0.insert(number) } } }
    }
}

private final class RawUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let connection: Int
    let script: @Sendable (RawUpstream.Request) -> [RawUpstream.Action]
    let log: RawUpstream.Log
    private var buffer: [UInt8] = []
    private var index = 0

    init(connection: Int, script: @escaping @Sendable (RawUpstream.Request) -> [RawUpstream.Action], log: RawUpstream.Log) {
        self.connection = connection
        self.script = script
        self.log = log
    }

    func channelActive(context: ChannelHandlerContext) {
        log.opened()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.closed(connection)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(buffer: unwrapInboundIn(data))
        log.read(bytes)
        buffer += bytes
        while let request = takeRequest() {
            log.record(request)
            for action in script(request) { perform(action, context: context) }
        }
    }

    private func perform(_ action: RawUpstream.Action, context: ChannelHandlerContext) {
        switch action {
        case .write(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        case .writeLater(let delay, let bytes):
            let channel = context.channel
            context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
            }
        case .close:
            context.close(promise: nil)
        }
    }

    /// The next complete request (head, and a `Content-Length` body) from the buffer.
    private func takeRequest() -> RawUpstream.Request? {
        let end = Array("\r\n\r\n".utf8)
        guard let headEnd = (0..<max(0, buffer.count - 3)).first(where: { Array(buffer[$0..<$0 + 4]) == end }) else { return nil }
        let text = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst().split(separator: " ").map(String.init)
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        let length = headers.first { $0.name.lowercased() == "content-length" }.flatMap { Int($0.value) } ?? 0
        guard buffer.count >= headEnd + 4 + length else { return nil }
        buffer.removeFirst(headEnd + 4 + length)
        defer { index += 1 }
        return .init(
            method: requestLine.first ?? "", target: requestLine.count > 1 ? requestLine[1] : "", headers: headers,
            connection: connection, index: index)
    }
}
