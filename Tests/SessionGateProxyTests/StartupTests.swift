import Logging
import NIOCore
import ServiceLifecycle
import SessionGateCore
import SessionGateProxy
import SessionGateStores
import Testing

/// The client listener opens only after the store's services have started; until then the
/// admin listener's `/readyz` says 503, so no request meets a store that is not running.
@Suite struct StartupTests {
    @Test func listenerOpensOnlyAfterTheStoreStarted() async throws {
        let upstream = try await TestUpstream(group: ProxyHarness.group)
        defer { Task { try? await upstream.stop() } }
        let config = ProxyHarness.defaultConfig(upstreamPort: upstream.port)
        let policy = SessionPolicy(
            idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout, userKey: config.session.userKey)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let runtime = try ProxyRuntime(
            config: config, store: MemorySessionStore(policy: policy, random: SystemRandomBytes()), clock: ManualClock(1_800_000_000),
            logger: logger)
        let runtimes = RuntimeSource(runtime)
        let events = ProxyEvents()
        let startup = StoreStartup()
        let proxy = ProxyServer(runtimes: runtimes, events: events, group: ProxyHarness.group, startup: startup)
        let admin = AdminServer(
            runtimes: runtimes, events: events, group: ProxyHarness.group, startup: startup, isServing: { proxy.localPort != nil })
        let adminPort = try await admin.start()
        #expect(try await Self.get("/readyz", port: adminPort).status == 503, "ready before the store started")

        let group = ServiceGroup(configuration: .init(services: [.init(service: proxy)], logger: logger))
        let running = Task { try await group.run() }
        // A listener that ignored the gate would be bound by now (it binds in microseconds).
        try await Task.sleep(for: .milliseconds(200))
        #expect(proxy.localPort == nil, "the client listener opened before the store started")

        startup.markStarted()
        let deadline = ContinuousClock.now + .seconds(60)
        while proxy.localPort == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        let port = try #require(proxy.localPort)
        #expect(try await Self.get("/public/x", port: port).status == 200)
        #expect(try await Self.get("/readyz", port: adminPort).status == 200)

        await group.triggerGracefulShutdown()
        try await running.value
        await admin.stop()
    }

    private static func get(_ path: String, port: Int) async throws -> RawResponse {
        let client = try await RawClient.connect(port: port, group: ProxyHarness.group)
        defer { Task { await client.close() } }
        try await client.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
        return try await client.response()
    }
}
