import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SessionGateCore
import SessionGateProxy
import SessionGateStores

/// Wires a validated configuration into running services: the store (and its background
/// services) first, then the admin listener, then the client listener, so shutdown drains the
/// listener first and closes the store last. The client listener opens only once the store's
/// services have started (`StoreStartup`); until then `/readyz` answers 503.
public struct ProxyApp: Sendable {
    public let config: ProxyConfig
    public let logger: Logger

    public init(config: ProxyConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// The parts of a running proxy, exposed for tests and the demo.
    public struct Parts: Sendable {
        public let proxy: ProxyServer
        public let admin: AdminServer
        public let runtimes: RuntimeSource
        public let events: ProxyEvents
        public let services: [any Service]
        public let startup: StoreStartup
    }

    public func build(
        group: any EventLoopGroup, clock: any WallClock = SystemClock(), random: any RandomBytes = SystemRandomBytes()
    ) async throws -> Parts {
        let startup = StoreStartup()
        let (store, storeServices) = try await StoreFactory.make(
            config: config, clock: clock, random: random, group: group, logger: logger, startup: startup)
        let runtime = try ProxyRuntime(config: config, store: store, clock: clock, random: random, logger: logger)
        let runtimes = RuntimeSource(runtime)
        let events = ProxyEvents()
        let tls = try config.server.tls.map { files throws(ListenerTLSError) in try ListenerTLS(files: files) }
        let proxy = ProxyServer(runtimes: runtimes, events: events, group: group, startup: startup, tls: tls)
        let admin = AdminServer(
            runtimes: runtimes, events: events, group: group, startup: startup, isServing: { proxy.localPort != nil })
        return Parts(
            proxy: proxy, admin: admin, runtimes: runtimes, events: events, services: storeServices + [admin, proxy],
            startup: startup)
    }

    /// Runs until SIGTERM or SIGINT, then drains and returns (exit 0). With `configPath`, SIGHUP
    /// reloads that file.
    public func run(configPath: String? = nil) async throws {
        // SESSIONGATE_THREADS pins the event-loop count (benchmarks compare with 1-worker nginx);
        // the default is one loop per core.
        let threads = ProcessInfo.processInfo.environment["SESSIONGATE_THREADS"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
        let group: any EventLoopGroup =
            threads.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) } ?? MultiThreadedEventLoopGroup.singleton
        let parts = try await build(group: group)
        // Probes answer at once (`/readyz` 503 while starting). The client listener opens now if
        // the store needs no service to start (memory, cookie, SQLite), else by its service once
        // the store's services have started.
        try await parts.admin.start()
        if parts.startup.isStarted { try await parts.proxy.start() }
        var services = parts.services
        if let configPath {
            let reload = ReloadService(
                path: configPath, runtimes: parts.runtimes, logger: logger, events: parts.events, tls: parts.proxy.tls)
            services.insert(reload, at: 0)
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await serviceGroup.run()
    }
}

/// Picks the configured backend. The data plane only ever sees `SessionStore`.
enum StoreFactory {
    static func make(
        config: ProxyConfig, clock: any WallClock, random: any RandomBytes, group: any EventLoopGroup, logger: Logger,
        startup: StoreStartup
    ) async throws -> (any SessionStore, [any Service]) {
        let policy = SessionPolicy(
            idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout,
            userKey: config.session.userKey, maxPerUser: config.session.maxPerUser)
        switch config.store.backend {
        case .memory:
            let store = MemorySessionStore(policy: policy, random: random)
            startup.markStarted()
            return (store, [MemoryStoreSweeper(store: store, clock: clock)])
        case .cookie:
            startup.markStarted()
            return (CookieSessionStore(policy: policy, random: random), [])
        case .postgres:
            guard let url = config.store.url else { throw StoreFactoryError(message: "store.url is required for postgres") }
            let store = try PostgresSessionStore(
                url: url.revealed, policy: policy, random: random, timeout: config.store.timeout, logger: logger)
            return (store, [PostgresStoreService(store: store, clock: clock, logger: logger, startup: startup)])
        case .sqlite:
            guard let path = config.store.path else { throw StoreFactoryError(message: "store.path is required for sqlite") }
            let store = try await SQLiteSessionStore.open(
                path: path, policy: policy, random: random, timeout: config.store.timeout, logger: logger)
            startup.markStarted()  // opened (and migrated) above
            return (store, [SQLiteStoreService(store: store, clock: clock, logger: logger)])
        case .redis:
            if let sentinel = config.store.sentinel {
                let store = try RedisSessionStore(
                    sentinel: sentinel, url: config.store.url?.revealed, tls: config.store.tls, policy: policy, random: random,
                    timeout: config.store.timeout, eventLoopGroup: group, logger: logger)
                return (store, [RedisStoreService(store: store, startup: startup)])
            }
            guard let url = config.store.url else { throw StoreFactoryError(message: "store.url is required for redis") }
            let store = try RedisSessionStore(
                url: url.revealed, cluster: config.store.cluster, tls: config.store.tls, policy: policy, random: random,
                timeout: config.store.timeout, eventLoopGroup: group, logger: logger)
            return (store, [RedisStoreService(store: store, startup: startup)])
        }
    }
}

struct StoreFactoryError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
