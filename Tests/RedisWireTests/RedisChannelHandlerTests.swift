import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import RedisWire

/// The handler alone on an `EmbeddedChannel`: commands written in one round of the event loop
/// leave in one flush, and the shared reply-deadline timer fails an overdue command (and only
/// then), observed with `advanceTime`, not a clock.
@Suite struct RedisChannelHandlerTests {
    private func channel() throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let handler = RedisChannelHandler(limits: RESPDecoder.Limits(), logger: Logger(label: "test"))
        let channel = EmbeddedChannel(handler: handler, loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return (channel, loop)
    }

    private func send(_ command: String, on channel: EmbeddedChannel, timeout: TimeAmount? = nil) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let request = RedisRequest(encoded: channel.allocator.buffer(string: command), promises: [promise], timeout: timeout)
        channel.writeAndFlush(request, promise: nil)
        return promise.futureResult
    }

    private func written(_ channel: EmbeddedChannel) throws -> [String] {
        var writes: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { writes.append(String(buffer: buffer)) }
        return writes
    }

    @Test func commandsOfOneRoundShareAFlush() throws {
        let (channel, loop) = try channel()
        defer { _ = try? channel.finish() }
        let first = send("*1\r\n$4\r\nPING\r\n", on: channel)
        let second = send("*1\r\n$4\r\nTIME\r\n", on: channel)
        #expect(try written(channel).isEmpty, "flushed before the round ended")
        loop.run()
        #expect(try written(channel) == ["*1\r\n$4\r\nPING\r\n", "*1\r\n$4\r\nTIME\r\n"])
        try channel.writeInbound(channel.allocator.buffer(string: "+PONG\r\n+T\r\n"))
        #expect(try first.wait() == .simpleString("PONG"))
        #expect(try second.wait() == .simpleString("T"))
    }

    @Test func anOverdueReplyFailsTheCommandAndClosesOnlyWhenDue() throws {
        let (channel, loop) = try channel()
        let answered = send("*1\r\n$4\r\nPING\r\n", on: channel, timeout: .seconds(1))
        loop.advanceTime(by: .milliseconds(600))
        try channel.writeInbound(channel.allocator.buffer(string: "+PONG\r\n"))
        #expect(try answered.wait() == .simpleString("PONG"))
        // A later command: the timer armed for the first one must not end it early.
        let late = send("*1\r\n$4\r\nPING\r\n", on: channel, timeout: .seconds(1))
        var result: Result<RESPValue, any Error>?
        late.whenComplete { result = $0 }
        loop.advanceTime(by: .milliseconds(600))  // 1.2 s after the first, 0.6 s after this one
        #expect(result == nil && channel.isActive)
        loop.advanceTime(by: .milliseconds(500))
        guard case .failure(let error as RedisError)? = result else {
            Issue.record("no timeout: \(String(describing: result))")
            return
        }
        #expect(error.code == .timeout)
        #expect(!channel.isActive)
    }

    @Test func withoutADeadlineNothingTimesOut() throws {
        let (channel, loop) = try channel()
        defer { _ = try? channel.finish() }
        let waiting = send("*1\r\n$4\r\nPING\r\n", on: channel)
        var done = false
        waiting.whenComplete { _ in done = true }
        loop.advanceTime(by: .hours(1))
        #expect(!done && channel.isActive)
    }
}
