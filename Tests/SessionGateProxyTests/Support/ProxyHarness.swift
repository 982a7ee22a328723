import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SessionGateCore
import SessionGateProxy
import SessionGateStores
import Synchronization
import Testing

/// A real proxy (client listener + admin listener on port 0) in front of a real `TestUpstream`,
/// with a manual clock so expiry tests fast-forward instead of sleeping.
final class ProxyHarness: Sendable {
    static let group = MultiThreadedEventLoopGroup.singleton
    /// One event loop: every client shares one upstream pool (desync tests need that).
    static let oneLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let secret = Array("an-obviously-fake-test-secret-of-32+bytes".utf8)

    let upstream: TestUpstream
    let proxy: ProxyServer
    let admin: AdminServer
    let runtimes: RuntimeSource
    let clock: ManualClock
    let store: any SessionStore
    let port: Int
    let adminPort: Int
    let config: ProxyConfig
    /// Set when the listener serves TLS: `client()` speaks TLS with it.
    let clientTLS: NIOSSLContext?

    static func defaultConfig(upstreamPort: Int) -> ProxyConfig {
        var server = ProxyConfig.Server()
        server.listen = .init(host: "127.0.0.1", port: 0)
        server.adminListen = .init(host: "127.0.0.1", port: 0)
        server.maxHeaderBytes = 8192
        server.maxBodyBytes = 1 << 20
        var upstream = ProxyConfig.Upstream()
        upstream.url = .init(host: "127.0.0.1", port: upstreamPort)
        upstream.connectTimeout = .seconds(1)
        upstream.responseTimeout = .seconds(2)
        var cookie = ProxyConfig.Cookie()
        cookie.name = "__Host-session"
        cookie.keys = [Secret(SystemRandomBytes().bytes(32))]
        var signing = ProxyConfig.Signing()
        signing.secret = Secret(secret)
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .session
        routes.loginURL = "/login"
        routes.rules = [
            RouteRule(index: 0, pattern: try! PathGlob("/login"), access: .public),
            RouteRule(index: 1, pattern: try! PathGlob("/public/**"), access: .public),
            RouteRule(index: 2, pattern: try! PathGlob("/admin/**"), access: .session, require: ["role": ["admin"]]),
            RouteRule(index: 3, pattern: try! PathGlob("/api/**"), access: .session, unauthenticated: .unauthorized),
            RouteRule(index: 4, pattern: try! PathGlob("/blocked/**"), access: .deny),
        ]
        var session = ProxyConfig.Session()
        session.touchInterval = 60
        var store = ProxyConfig.Store()
        store.timeout = .milliseconds(500)
        return ProxyConfig(
            server: server, upstream: upstream, cookie: cookie, session: session, store: store,
            signing: signing, log: .init(), inject: [.init(header: "X-User-Id", field: "user_id")], routes: routes)
    }

    init(
        proxyGroup: any EventLoopGroup = ProxyHarness.group,
        configure: (inout ProxyConfig) -> Void = { _ in },
        makeStore: (SessionPolicy) -> any SessionStore = { MemorySessionStore(policy: $0, random: SystemRandomBytes()) },
        tls: (listener: ListenerTLS, client: NIOSSLContext)? = nil
    ) async throws {
        let upstream = try await TestUpstream(group: Self.group)
        var config = Self.defaultConfig(upstreamPort: upstream.port)
        configure(&config)
        let policy = SessionPolicy(
            idleTimeout: config.session.idleTimeout, absoluteTimeout: config.session.absoluteTimeout,
            userKey: config.session.userKey)
        let store = makeStore(policy)
        let clock = ManualClock(1_800_000_000)
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["SESSIONGATE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let runtime = try ProxyRuntime(config: config, store: store, clock: clock, logger: logger)
        let runtimes = RuntimeSource(runtime)
        let events = ProxyEvents()
        self.proxy = ProxyServer(runtimes: runtimes, events: events, group: proxyGroup, tls: tls?.listener)
        self.clientTLS = tls?.client
        self.admin = AdminServer(runtimes: runtimes, events: events, group: Self.group)
        self.port = try await proxy.start()
        self.adminPort = try await admin.start()
        self.upstream = upstream
        self.runtimes = runtimes
        self.clock = clock
        self.store = store
        self.config = config
    }

    func shutdown() async {
        await proxy.drain()
        try? await upstream.stop()
    }

    func client() async throws -> RawClient { try await RawClient.connect(port: port, group: Self.group, tls: clientTLS) }

    /// Sends one request on a fresh connection and returns the response.
    func request(
        _ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: String? = nil,
        cookie: String? = nil
    ) async throws -> RawResponse {
        let client = try await client()
        defer { Task { await client.close() } }
        try await client.send(Self.requestText(method, target, headers: headers, body: body, cookie: cookie))
        return try await client.response()
    }

    static func requestText(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: String? = nil, cookie: String? = nil
    ) -> String {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: app.test\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let cookie { text += "Cookie: \(cookie)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n"
        if let body { text += body }
        return text
    }

    /// The `name=value` pair to send back for a response's session Set-Cookie (nil if none).
    static func sessionCookie(from response: RawResponse) -> String? {
        for value in response.headers("set-cookie") where value.hasPrefix("__Host-session=") {
            let pair = value.split(separator: ";").first.map(String.init) ?? ""
            return pair == "__Host-session=" ? nil : pair
        }
        return nil
    }

    /// Logs in as `user` (via a public route whose upstream answer sets the session).
    func login(_ user: String, role: String = "user") async throws -> String {
        let response = try await request(
            "POST", "/login", headers: [("X-Test-Set", #"{"user_id":"\#(user)","role":"\#(role)"}"#)], body: "")
        guard let cookie = Self.sessionCookie(from: response) else { throw HarnessError.noCookie(response.status) }
        return cookie
    }
}

enum HarnessError: Error { case noCookie(Int) }

/// Polls `condition` until it holds, for up to a minute (a loaded machine is slow, never wrong);
/// records an issue if it never does.
func waitFor(_ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while !(try await condition()) {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 60 s")
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
