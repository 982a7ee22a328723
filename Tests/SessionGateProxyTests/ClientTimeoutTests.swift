import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore
import SessionGateStores
import Testing

@testable import SessionGateProxy

/// Every connection timeout of the real client pipeline (request decoder,
/// `ClientHandler` with its state machine), observed on an `EmbeddedEventLoop` whose clock only
/// moves when the test says so: no sleeps, no wall-clock bounds, the same result on an idle or a
/// saturated machine. The upstream is an `EmbeddedChannel` on the same loop, pooled as idle, so
/// the test writes its response parts itself.
@Suite struct ClientTimeoutTests {
    private static let idle = TimeAmount.seconds(60)
    private static let header = TimeAmount.seconds(10)
    private static let body = TimeAmount.seconds(20)
    private static let response = TimeAmount.seconds(30)

    /// A client connection and the upstream connection waiting in its pool.
    private final class Connection {
        let loop: EmbeddedEventLoop
        let pool: UpstreamPool
        var client: EmbeddedChannel
        var upstream: EmbeddedChannel
        weak var handler: ClientHandler?

        init(loop: EmbeddedEventLoop, pool: UpstreamPool) throws {
            self.loop = loop
            self.pool = pool
            self.client = EmbeddedChannel(loop: loop)
            self.upstream = EmbeddedChannel(loop: loop)
            try poolUpstream()
        }

        /// A fresh upstream connection, idle in the pool (one per exchange: the pool only reuses
        /// a connection whose response framing it saw, which these part-level channels skip).
        func poolUpstream() throws {
            let handler = UpstreamHandler()
            upstream = EmbeddedChannel(handler: handler, loop: loop)
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
            pool.release(UpstreamConnection(channel: upstream, handler: handler))
        }

        func send(_ text: String) throws { try client.writeInbound(client.allocator.buffer(string: text)) }

        /// What the proxy wrote to the client so far.
        func received() throws -> String {
            var text = ""
            while let buffer = try client.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        /// Whether the upstream got a request head (and drops what it got).
        func upstreamGotRequest() throws -> Bool {
            var got = false
            while let bytes = try upstream.readOutbound(as: ByteBuffer.self) {
                if String(buffer: bytes).contains(" HTTP/1.1\r\n") { got = true }
            }
            return got
        }

        /// The upstream answers with bytes; without `end`, the declared length is one byte more
        /// than the body sent, so the response stays open.
        func respond(status: HTTPResponseStatus = .ok, body: String? = nil, end: Bool = true) throws {
            let body = body ?? ""
            let length = body.utf8.count + (end ? 0 : 1)
            let text = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Length: \(length)\r\n\r\n\(body)"
            try upstream.writeInbound(upstream.allocator.buffer(string: text))
        }
    }

    private func connect(bodyTimeout: TimeAmount = body) throws -> Connection {
        var config = ProxyHarness.defaultConfig(upstreamPort: 1)
        config.routes.defaultAccess = .public
        config.upstream.responseTimeout = .seconds(30)
        config.server.maxBodyBytes = 0
        let policy = SessionPolicy(idleTimeout: 3600, absoluteTimeout: 7200, userKey: "user_id")
        let runtime = try ProxyRuntime(
            config: config, store: MemorySessionStore(policy: policy, random: SystemRandomBytes()), logger: Logger(label: "test"))
        let loop = EmbeddedEventLoop()
        let events = ProxyEvents()
        let pool = UpstreamPool(eventLoop: loop, upstream: config.upstream, events: events)
        let connection = try Connection(loop: loop, pool: pool)

        let handler = ClientHandler(
            runtimes: RuntimeSource(runtime), pool: pool, events: events,
            timeouts: ConnectionTimeouts(idle: Self.idle, header: Self.header, body: bodyTimeout),
            limits: .init(maxHeadBytes: 16384, maxTargetBytes: 16384, maxHeaderCount: 100))
        let client = connection.client
        try client.pipeline.syncOperations.addHandler(handler)
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        connection.handler = handler
        return connection
    }

    /// An upstream connection holds its client handler strongly while an exchange runs; every way
    /// an exchange ends lets go of it, so a closed client connection frees its handler (answered,
    /// or closed by the client mid-exchange, which also discards the upstream connection).
    @Test(arguments: [true, false])
    func aClosedClientConnectionFreesItsHandler(answered: Bool) throws {
        let connection = try connect()
        try connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try connection.upstreamGotRequest())
        if answered {
            try connection.respond(body: "ok")
            #expect(try connection.received().hasPrefix("HTTP/1.1 200 "))
        }
        _ = try? connection.client.finish()
        connection.loop.run()
        #expect(connection.handler == nil, "the client handler outlived its connection")
        if !answered { #expect(!connection.upstream.isActive, "a mid-exchange upstream connection must be discarded") }
    }

    @Test func idleConnectionClosesAtIdleTimeoutAndNotBefore() throws {
        let connection = try connect()
        connection.loop.advanceTime(by: Self.idle - .milliseconds(1))
        #expect(connection.client.isActive, "closed before idle_timeout")
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(!connection.client.isActive, "an idle connection outlived idle_timeout")
    }

    @Test func dribbledHeadGets408AtHeaderTimeout() throws {
        let connection = try connect()
        try connection.send("GET /x HT")
        connection.loop.advanceTime(by: Self.header - .milliseconds(1))
        #expect(connection.client.isActive)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(try connection.received().hasPrefix("HTTP/1.1 408 "))
        #expect(!connection.client.isActive)
    }

    /// A busy connection has no idle deadline, however long the exchange; each finished exchange
    /// starts a fresh idle window (the deadline moves with every request).
    @Test func busyConnectionStaysOpenAndIdleWindowRestartsPerRequest() throws {
        let connection = try connect()
        for round in 0..<3 {
            if round > 0 { try connection.poolUpstream() }
            connection.loop.advanceTime(by: .seconds(30))
            try connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try connection.upstreamGotRequest())
            connection.loop.advanceTime(by: .seconds(25))  // under response_timeout, over header_timeout
            #expect(connection.client.isActive, "a busy exchange was cut by a connection timeout")
            try connection.respond(body: "ok")
            #expect(try connection.received().hasPrefix("HTTP/1.1 200 "))
        }
        connection.loop.advanceTime(by: Self.idle - .milliseconds(1))
        #expect(connection.client.isActive)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(!connection.client.isActive)
    }

    /// A client that stops reading a response (writability off) is closed after `idle_timeout`
    /// without progress; one that drains the queue in time restarts the clock.
    @Test func stalledReaderClosesAfterIdleTimeoutWithoutProgress() throws {
        let connection = try connect()
        try connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        try connection.respond(body: "partial", end: false)
        let client = connection.client
        client.isWritable = false
        client.pipeline.fireChannelWritabilityChanged()
        connection.loop.advanceTime(by: Self.idle - .seconds(1))
        client.isWritable = true
        client.pipeline.fireChannelWritabilityChanged()
        client.isWritable = false
        client.pipeline.fireChannelWritabilityChanged()
        connection.loop.advanceTime(by: Self.idle - .seconds(1))
        #expect(client.isActive, "progress did not restart the slow-reader clock")
        connection.loop.advanceTime(by: .seconds(1))
        #expect(!client.isActive, "a stalled reader kept its connection")
        #expect(!connection.upstream.isActive, "the upstream connection of a cut exchange must not be reused")
    }

    @Test func slowUpstreamGets504AtResponseTimeout() throws {
        let connection = try connect()
        try connection.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try connection.upstreamGotRequest())
        connection.loop.advanceTime(by: Self.response - .milliseconds(1))
        #expect(try connection.received().isEmpty)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(try connection.received().hasPrefix("HTTP/1.1 504 "))
        #expect(connection.client.isActive, "a complete request keeps its connection after a 504")
        #expect(!connection.upstream.isActive, "the late upstream connection is dropped")
    }

    /// `response_timeout` counts from the moment the whole request is with the upstream.
    @Test func responseTimeoutStartsWhenTheRequestBodyEnded() throws {
        let connection = try connect(bodyTimeout: .seconds(600))
        try connection.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab")
        connection.loop.advanceTime(by: Self.response + .seconds(5))
        #expect(try connection.received().isEmpty, "response_timeout ran while the body was still coming")
        try connection.send("cd")
        connection.loop.advanceTime(by: Self.response)
        #expect(try connection.received().hasPrefix("HTTP/1.1 504 "))
    }

    @Test func stalledRequestBodyGets408AtBodyTimeout() throws {
        let connection = try connect()
        try connection.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        connection.loop.advanceTime(by: Self.body - .seconds(1))
        try connection.send("de")  // progress restarts the clock
        connection.loop.advanceTime(by: Self.body - .milliseconds(1))
        #expect(try connection.received().isEmpty)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(try connection.received().hasPrefix("HTTP/1.1 408 "))
        #expect(!connection.client.isActive)
    }

    /// An upstream that answers before the request body ended: the client gets the response, the
    /// rest of the body is drained, and the connection closes after the linger time if the body
    /// never ends.
    @Test func earlyAnswerLingersThenCloses() throws {
        let connection = try connect(bodyTimeout: .seconds(600))
        try connection.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
        try connection.respond(body: "early")
        #expect(try connection.received().hasPrefix("HTTP/1.1 200 "))
        try connection.send("more body")
        connection.loop.advanceTime(by: .seconds(5) - .milliseconds(1))
        #expect(connection.client.isActive)
        connection.loop.advanceTime(by: .milliseconds(1))
        #expect(!connection.client.isActive, "an early answer's connection outlived the linger")
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
