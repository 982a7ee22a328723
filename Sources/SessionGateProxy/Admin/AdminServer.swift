import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SessionGateCore
import Synchronization

/// The admin listener (`server.admin_listen`): `/livez`, `/readyz` (the store answers),
/// `/metrics` (Prometheus text) and `/.well-known/jwks.json` (EdDSA public key; empty for HS256).
/// Kept apart from the client listener so probes and scrapes never compete with traffic rules.
public final class AdminServer: Service, Sendable {
    let runtimes: RuntimeSource
    let events: ProxyEvents
    let group: any EventLoopGroup
    private let listener = Mutex<(any Channel)?>(nil)
    let startup: StoreStartup?
    let isServing: (@Sendable () -> Bool)?

    /// With `startup`, `/readyz` answers 503 until the store has started; with `isServing`, also
    /// until the client listener is bound (so "ready" means a request would be answered).
    public init(
        runtimes: RuntimeSource, events: ProxyEvents, group: any EventLoopGroup, startup: StoreStartup? = nil,
        isServing: (@Sendable () -> Bool)? = nil
    ) {
        self.runtimes = runtimes
        self.events = events
        self.group = group
        self.startup = startup
        self.isServing = isServing
    }

    @discardableResult
    public func start() async throws -> Int {
        if let channel = listener.withLock({ $0 }) { return channel.localAddress?.port ?? 0 }
        let address = runtimes.current.config.server.adminListen
        let runtimes = self.runtimes
        let events = self.events
        let startup = self.startup
        let isServing = self.isServing
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHandler(runtimes: runtimes, events: events, startup: startup, isServing: isServing))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
        listener.withLock { $0 = channel }
        return channel.localAddress?.port ?? 0
    }

    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await stop()
    }

    /// Closes the listener.
    public func stop() async {
        if let channel = listener.withLock({ $0 }) { try? await channel.close() }
    }
}

final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let runtimes: RuntimeSource
    let events: ProxyEvents
    let startup: StoreStartup?
    let isServing: (@Sendable () -> Bool)?
    private var head: HTTPRequestHead?

    init(runtimes: RuntimeSource, events: ProxyEvents, startup: StoreStartup?, isServing: (@Sendable () -> Bool)?) {
        self.runtimes = runtimes
        self.events = events
        self.startup = startup
        self.isServing = isServing
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            route(head, context: context)
        }
    }

    private func route(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        guard head.method == .GET || head.method == .HEAD else {
            return respond(.methodNotAllowed, "text/plain", "method not allowed\n", head: head, context: context)
        }
        let runtime = runtimes.current
        switch path {
        case "/livez":
            respond(.ok, "text/plain", "ok\n", head: head, context: context)
        case "/readyz":
            if let startup, !startup.isStarted {
                return respond(.serviceUnavailable, "text/plain", "starting: the store has not started\n", head: head, context: context)
            }
            if let isServing, !isServing() {
                return respond(.serviceUnavailable, "text/plain", "starting: the listener is not open yet\n", head: head, context: context)
            }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            StoreCall.run(on: context.eventLoop, timeout: runtime.config.store.timeout) { () async throws(StoreError) -> Bool in
                try await runtime.store.checkHealth()
                return true
            } completion: { result in
                let (handler, context) = loopBound.value
                switch result {
                case .success: handler.respond(.ok, "text/plain", "ready\n", head: head, context: context)
                case .failure(let error):
                    handler.respond(
                        .serviceUnavailable, "text/plain", "store unreachable: \(error.code.rawValue)\n", head: head, context: context)
                }
            }
        case "/metrics":
            respond(.ok, "text/plain; version=0.0.4", events.render(), head: head, context: context)
        case "/.well-known/jwks.json":
            respond(.ok, "application/json", JSONSerializer.string(runtime.signer.jwks), head: head, context: context)
        default:
            respond(.notFound, "text/plain", "not found\n", head: head, context: context)
        }
    }

    func respond(_ status: HTTPResponseStatus, _ type: String, _ body: String, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
