import NIOCore
import NIOPosix
import SessionGateCore

/// One keep-alive connection to the upstream, owned by at most one client request at a time.
final class UpstreamConnection {
    let channel: any Channel
    let handler: UpstreamHandler

    init(channel: any Channel, handler: UpstreamHandler) {
        self.channel = channel
        self.handler = handler
    }

    var isReusable: Bool { channel.isActive && !handler.isBroken && !handler.inResponse && handler.decoder.allowsReuse }

    /// Whether the request being written goes out chunked (set by `writeHead`).
    private var requestIsChunked = false

    // The request side, as the client handler uses it (written, not flushed, until `flush()`).
    // The bytes go straight to the socket: no encoder sits in the pipeline.

    /// Writes the head built by `ForwardedRequest.head`; its response is the next one expected.
    func writeHead(_ head: ForwardedRequest.Head) {
        requestIsChunked = head.isChunked
        handler.expectResponse(toHEAD: head.isHEAD)
        write(head.bytes)
    }

    /// Writes a piece of the request body: as it is, or as one chunk when the head said chunked.
    func writeBody(_ buffer: ByteBuffer) {
        guard buffer.readableBytes > 0 else { return }
        guard requestIsChunked else { return write(buffer) }
        HTTPWire.writeChunk(buffer, allocator: channel.allocator) { write($0) }
    }

    /// Ends the request body: the last chunk when chunked (the client's trailers are never
    /// forwarded), nothing otherwise.
    func writeEnd() {
        guard requestIsChunked else { return }
        requestIsChunked = false
        write(HTTPWire.lastChunk(allocator: channel.allocator))
    }

    func flush() {
        guard let context = handler.context else { return channel.flush() }
        context.flush()
    }

    /// From the handler's place in the pipeline (it is the only handler, and the client handler
    /// runs on the same loop): the bytes go straight to the socket's side of the pipeline, without
    /// entering at its tail and passing the handler.
    private func write(_ buffer: ByteBuffer) {
        guard let context = handler.context else { return channel.write(buffer, promise: nil) }
        context.write(NIOAny(buffer), promise: nil)
    }

    /// Drops the connection for good: it never returns to the pool.
    func discard() {
        handler.delegate = nil
        handler.markBroken()
        channel.close(promise: nil)
    }
}

/// The upstream connections of one event loop. Client connections use the pool of their own
/// loop, so proxying never hops threads; every method must be called on `eventLoop`.
final class UpstreamPool {
    let eventLoop: any EventLoop
    private let target: UpstreamURL
    private let connectTimeout: TimeAmount
    private let maxIdle: Int
    private let events: ProxyEvents
    private var idle: [UpstreamConnection] = []
    private var closed = false
    /// The buffers the client connections of this loop write their heads into, reused (one pair
    /// per loop, not per connection: an idle keep-alive connection holds none).
    var requestHeadBuffer = ReusedBuffer()
    var responseHeadBuffer = ReusedBuffer()
    /// Where the tokens of this loop's requests are signed.
    let tokenScratch = TokenScratch()

    init(eventLoop: any EventLoop, upstream: ProxyConfig.Upstream, events: ProxyEvents) {
        self.eventLoop = eventLoop
        self.events = events
        self.target = upstream.url
        self.connectTimeout = TimeAmount.nanoseconds(
            Int64(upstream.connectTimeout.components.seconds) * 1_000_000_000
                + upstream.connectTimeout.components.attoseconds / 1_000_000_000)
        self.maxIdle = upstream.maxIdleConnections
    }

    var idleCount: Int { idle.count }

    /// A live idle connection, or a new one (failing after `connect_timeout`).
    /// `completion` runs on `eventLoop`.
    func acquire(_ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        eventLoop.assertInEventLoop()
        while let connection = idle.popLast() {
            if connection.isReusable { return completion(.success(connection)) }
            connection.channel.close(promise: nil)
        }
        connect(completion)
    }

    /// Returns a connection after its response ended; broken or surplus ones are closed.
    func release(_ connection: UpstreamConnection) {
        eventLoop.assertInEventLoop()
        connection.handler.delegate = nil
        connection.handler.setReadsPaused(false)
        guard !closed, connection.isReusable, idle.count < maxIdle else {
            connection.channel.close(promise: nil)
            return
        }
        idle.append(connection)
    }

    /// Closes every idle connection and stops pooling (shutdown).
    func close() {
        eventLoop.assertInEventLoop()
        closed = true
        for connection in idle { connection.channel.close(promise: nil) }
        idle.removeAll()
    }

    private func connect(_ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        let loop = eventLoop
        let boundHandler = NIOLoopBound(UpstreamHandler(), eventLoop: loop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                loop.makeCompletedFuture {
                    // Requests go out as bytes (`UpstreamConnection.writeHead`); responses are read
                    // by our own codec in the handler, which `writeHead` tells which answer a HEAD.
                    try channel.pipeline.syncOperations.addHandler(boundHandler.value)
                }
            }
            .connect(host: target.host, port: target.port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let handler = boundHandler.value
                    self.events.upstreamConnectionOpened()
                    handler.onClose = { [weak self] in
                        self?.idle.removeAll { $0.channel === channel }
                    }
                    // The close future also fires for tunnelled connections, whose handler is gone.
                    let events = self.events
                    channel.closeFuture.assumeIsolated().whenComplete { _ in
                        events.upstreamConnectionClosed()
                    }
                    completion(.success(UpstreamConnection(channel: channel, handler: handler)))
                case .failure(let error):
                    self.events.upstreamConnectFailed()
                    completion(.failure(error))
                }
            }
    }
}
