import ArgumentParser
import Logging
import NIOPosix
import ServiceLifecycle
import SessionGateCore
import SessionGateProxy

/// `sessiongate demo`: the proxy on the memory store in front of the built-in demo app, on
/// 127.0.0.1:8080 (admin on 127.0.0.1:9090), with fresh random keys each run.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the proxy in front of a tiny demo app (memory store).")

    @Option(name: .long, help: "Port for the proxy.")
    var port: Int = 8080

    @Option(name: .long, help: "Port for the admin listener.")
    var adminPort: Int = 9090

    @Option(name: .long, help: "A PEM certificate (chain) to serve the demo over HTTPS (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "The PEM private key of --tls-cert.")
    var tlsKey: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        let logger = LogSetup.bootstrap(format: .text, level: .notice)
        let group = MultiThreadedEventLoopGroup.singleton
        let random = SystemRandomBytes()
        let secret = Array(Base64URL.encode(random.bytes(32)).utf8)
        // The sessions API token, shared with the demo app for "Your devices" (fresh each run).
        let adminToken = Base64URL.encode(random.bytes(32))
        let app = try await DemoApp.start(
            group: group, hmacSecret: secret,
            sessionsAPI: AdminAPIClient(host: "127.0.0.1", port: adminPort, token: adminToken))
        let tls = tlsCert.flatMap { cert in tlsKey.map { ProxyConfig.ListenerTLSFiles(certificatePath: cert, keyPath: $0) } }
        let config = DemoConfig.make(
            port: port, adminPort: adminPort, upstreamPort: app.localAddress?.port ?? 0, secret: secret,
            adminToken: adminToken, random: random, tls: tls)
        if let tls, case .failure(let errors) = Result(catching: { try ListenerTLS.validate(tls) }) {
            throw ValidationError("\(errors)")
        }
        let scheme = tls == nil ? "http" : "https"
        let parts = try await ProxyApp(config: config, logger: logger).build(group: group)
        try await parts.admin.start()
        await parts.startup.wait()  // the memory store: at once
        try await parts.proxy.start()
        CommandOutput.terminal.line(
            """
            SessionGate demo is running.
              open      \(scheme)://127.0.0.1:\(port)/   (sign in with any name; "admin" gets the admin role)
              admin     http://127.0.0.1:\(adminPort)/readyz  /metrics  /.well-known/jwks.json  (/sessions: token-only)
              app       the demo app listens on 127.0.0.1:\(app.localAddress?.port ?? 0) behind the proxy
            \(tls == nil
            ? "The demo serves plain HTTP on loopback, so its cookie is not `Secure`; `serve` defaults to\n`__Host-session; Secure; HttpOnly; SameSite=Lax`."
            : "Over HTTPS the demo's cookie is `Secure`.") Press Ctrl-C to stop.
            """)
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: parts.services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await serviceGroup.run()
        try? await app.close()
    }
}

/// The demo's configuration, built in code (no file to write or keys to manage).
enum DemoConfig {
    static func make(
        port: Int, adminPort: Int, upstreamPort: Int, secret: [UInt8], adminToken: String? = nil, random: some RandomBytes,
        tls: ProxyConfig.ListenerTLSFiles? = nil
    ) -> ProxyConfig {
        var server = ProxyConfig.Server()
        server.tls = tls
        server.listen = .init(host: "127.0.0.1", port: port)
        server.adminListen = .init(host: "127.0.0.1", port: adminPort)
        server.drainTimeout = .seconds(2)
        var upstream = ProxyConfig.Upstream()
        upstream.url = .init(host: "127.0.0.1", port: upstreamPort)
        var cookie = ProxyConfig.Cookie()
        cookie.name = "sessiongate_demo"
        cookie.secure = tls != nil
        cookie.keys = [Secret(random.bytes(32))]
        var signing = ProxyConfig.Signing()
        signing.secret = Secret(secret)
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .session
        routes.loginURL = "/login"
        routes.rules = [
            RouteRule(index: 0, pattern: try! PathGlob("/login"), methods: ["GET", "POST"], access: .public),
            RouteRule(index: 1, pattern: try! PathGlob("/favicon.ico"), access: .public),
        ]
        var config = ProxyConfig(
            server: server, upstream: upstream, cookie: cookie, session: .init(), store: .init(), signing: signing,
            log: .init(), inject: [.init(header: "X-User-Id", field: "user_id")], routes: routes)
        config.admin.token = adminToken.map { Secret($0) }
        return config
    }
}
