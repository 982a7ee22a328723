import NIOCore
import NIOEmbedded
import Testing

@testable import SessionGateProxy

/// Connection timeouts observed on an `EmbeddedEventLoop` whose clock only moves when the test
/// says so: no sleeps, no wall-clock bounds, the same result on an idle or a saturated machine.
@Suite struct ClientTimeoutTests {
    private static let idle = TimeAmount.seconds(60)
    private static let header = TimeAmount.seconds(10)

    private func connectedChannel() throws -> (EmbeddedChannel, ClientTimeoutHandler) {
        let handler = ClientTimeoutHandler(idleTimeout: Self.idle, headerTimeout: Self.header)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, handler)
    }

    private func send(_ text: String, on channel: EmbeddedChannel) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
        _ = try channel.readInbound(as: ByteBuffer.self)
    }

    @Test func idleConnectionClosesAtIdleTimeoutAndNotBefore() throws {
        let (channel, _) = try connectedChannel()
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .milliseconds(1))
        #expect(channel.isActive, "closed before idle_timeout")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive, "an idle connection outlived idle_timeout")
    }

    @Test func dribbledHeadGets408AtHeaderTimeout() throws {
        let (channel, _) = try connectedChannel()
        try send("GET /x HT", on: channel)
        channel.embeddedEventLoop.advanceTime(by: Self.header - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        let answer = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: answer).hasPrefix("HTTP/1.1 408 "))
        #expect(!channel.isActive)
    }

    /// A busy connection has no idle deadline, however long the exchange; each finished exchange
    /// starts a fresh idle window (the deadline moves with every request).
    @Test func busyConnectionStaysOpenAndIdleWindowRestartsPerRequest() throws {
        let (channel, handler) = try connectedChannel()
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(30))
            try send("GET / HTTP/1.1\r\n\r\n", on: channel)
            handler.requestHeadReceived()
            channel.embeddedEventLoop.advanceTime(by: .seconds(180))
            #expect(channel.isActive, "a busy exchange was cut by a connection timeout")
            handler.exchangeFinished()
        }
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    /// A client that stops reading a response (writability off) is closed after `idle_timeout`
    /// without progress; one that drains the queue in time restarts the clock.
    @Test func stalledReaderClosesAfterIdleTimeoutWithoutProgress() throws {
        let (channel, handler) = try connectedChannel()
        try send("GET / HTTP/1.1\r\n\r\n", on: channel)
        handler.requestHeadReceived()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .seconds(1))
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: Self.idle - .seconds(1))
        #expect(channel.isActive, "progress did not restart the slow-reader clock")
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "a stalled reader kept its connection")
    }

    /// The deadline timer: moving a deadline later re-arms the one pending task when it fires;
    /// an earlier deadline fires on time; a cleared one never fires.
    @Test func deadlineTimerFollowsTheLatestDeadline() {
        let loop = EmbeddedEventLoop()
        var fired = 0
        let timer = DeadlineTimer(eventLoop: loop) { fired += 1 }
        timer.set(in: .seconds(10))
        loop.advanceTime(by: .seconds(5))
        timer.set(in: .seconds(10))  // now due at 15 s
        loop.advanceTime(by: .seconds(9))
        #expect(fired == 0, "fired at the old deadline")
        loop.advanceTime(by: .seconds(1))
        #expect(fired == 1)
        timer.set(in: .seconds(10))
        timer.set(in: .seconds(2))
        loop.advanceTime(by: .seconds(2))
        #expect(fired == 2, "an earlier deadline must fire on time")
        timer.set(in: .seconds(1))
        timer.set(nil)
        loop.advanceTime(by: .seconds(5))
        #expect(fired == 2, "a cleared deadline fired")
        timer.stop()
    }
}
