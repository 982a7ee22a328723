import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SessionGateCore
import Synchronization

/// The client-facing listener as a `Service`: binds `server.listen`, serves until graceful
/// shutdown, then stops accepting, lets in-flight requests finish within `drain_timeout`, and
/// closes what is left.
public final class ProxyServer: Service, Sendable {
    public let runtimes: RuntimeSource
    public let events: ProxyEvents
    let group: any EventLoopGroup
    let tracker = ConnectionTracker()
    let pools: UpstreamPools
    private let listener = Mutex<(any Channel)?>(nil)
    private let startup: StoreStartup?
    /// With a value the listener serves HTTPS only (`[server] tls_cert`); SIGHUP swaps its context.
    public let tls: ListenerTLS?

    /// With `startup`, `run()` binds the listener only once the store has started.
    public init(
        runtimes: RuntimeSource, events: ProxyEvents, group: any EventLoopGroup, startup: StoreStartup? = nil,
        tls: ListenerTLS? = nil
    ) {
        self.startup = startup
        self.tls = tls
        self.runtimes = runtimes
        self.events = events
        self.group = group
        self.pools = UpstreamPools(group: group, upstream: runtimes.current.config.upstream, events: events)
        events.prepareStoreSeries(for: runtimes.current.config.store.backend)
    }

    /// The bound port, or nil while the listener is not (yet) bound.
    public var localPort: Int? { listener.withLock { $0?.localAddress?.port } }

    /// Binds the listener (idempotent) and returns the bound port (useful with port 0).
    @discardableResult
    public func start() async throws -> Int {
        if let channel = listener.withLock({ $0 }) { return channel.localAddress?.port ?? 0 }
        let config = runtimes.current.config.server
        let runtimes = self.runtimes
        let events = self.events
        let tracker = self.tracker
        let pools = self.pools
        let tls = self.tls
        // The decoder's limits sit well above ours, so the client handler can answer 414/431
        // itself with the exact bounds; heads beyond these make the decoder fail (431 too).
        let limits = RequestHeadParser.Limits(
            maxHeadBytes: max(config.maxHeaderBytes * 2, 16384), maxTargetBytes: max(config.maxHeaderBytes * 2, 16384),
            maxHeaderCount: 1000)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    tracker.add(channel)
                    let runtimeConfig = runtimes.current.config.server
                    let timeouts = ConnectionTimeouts(
                        idle: TimeAmount(runtimeConfig.idleTimeout), header: TimeAmount(runtimeConfig.headerTimeout),
                        body: TimeAmount(runtimeConfig.bodyTimeout))
                    let handler = ClientHandler(
                        runtimes: runtimes, pool: pools.pool(for: channel.eventLoop), events: events, timeouts: timeouts,
                        limits: limits)
                    let ops = channel.pipeline.syncOperations
                    // TLS in front of everything: the handlers behind it see plain HTTP/1.1. The
                    // context is read per connection, so a reload applies to new connections only.
                    if let tls { try ops.addHandler(NIOSSLServerHandler(context: tls.context)) }
                    // One handler: the client handler decodes requests itself, queues pipelined
                    // ones and writes responses as bytes (`HTTPWire`), so no decoder, pipelining
                    // helper, encoder or header validator handles every message on the way.
                    try ops.addHandler(handler)
                }
            }
            .bind(host: config.listen.host, port: config.listen.port)
            .get()
        listener.withLock { $0 = channel }
        var metadata: Logger.Metadata = ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"]
        if let tls { metadata["tls_certificate_serial"] = "\(tls.serial)" }
        runtimes.current.logger.info(tls == nil ? "listening" : "listening (https)", metadata: metadata)
        return channel.localAddress?.port ?? 0
    }

    public func run() async throws {
        if let startup {
            // Shutdown before the store started: nothing to drain.
            guard (try? await cancelWhenGracefulShutdown({ await startup.wait() })) != nil else { return }
        }
        try await start()
        try? await gracefulShutdown()
        await drain()
    }

    /// Stops accepting, asks connections to finish, waits up to `drain_timeout`, closes the rest.
    public func drain() async {
        let logger = runtimes.current.logger
        let timeout = runtimes.current.config.server.drainTimeout
        if let channel = listener.withLock({ $0 }) {
            try? await channel.close()
        }
        tracker.quiesceAll()
        let deadline = ContinuousClock.now + timeout
        while tracker.count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if tracker.count > 0 {
            logger.warning("drain timeout: closing remaining connections", metadata: ["count": "\(tracker.count)"])
            tracker.closeAll()
        }
        await pools.closeAll()
        logger.info("drained")
    }
}
