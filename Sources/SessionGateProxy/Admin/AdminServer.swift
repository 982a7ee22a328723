import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SessionGateCore
import Synchronization

/// The admin listener (`server.admin_listen`): `/livez`, `/readyz` (the store answers),
/// `/metrics` (Prometheus text), `/.well-known/jwks.json` (EdDSA public key; empty for HS256) and,
/// with `[admin] token`, the sessions API (`SessionsAPI`, `docs/admin-api.md`).
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
        let runtime = runtimes.current
        switch SessionsAPI.decide(
            method: head.method.rawValue, target: head.uri, authorization: head.headers["authorization"],
            token: runtime.config.admin.token)
        {
        case .notSessionsPath: break
        case .respond(let status, let body):
            logCall(action: "refused", user: nil, status: status, count: nil, runtime: runtime, context: context)
            return respondJSON(status, body, head: head, context: context)
        case .perform(let operation):
            return perform(operation, head: head, runtime: runtime, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return respond(.methodNotAllowed, "text/plain", "method not allowed\n", head: head, context: context)
        }
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

    /// Runs one authorised sessions API call against the store and answers it.
    private func perform(
        _ operation: SessionsAPI.Operation, head: HTTPRequestHead, runtime: ProxyRuntime, context: ChannelHandlerContext
    ) {
        let store = runtime.store
        let now = runtime.clock.now()
        let backend = runtime.config.store.backend.rawValue
        let events = self.events
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        StoreCall.run(on: context.eventLoop, timeout: runtime.config.store.timeout) {
            () async throws(StoreError) -> (status: Int, body: JSONValue, count: Int?) in
            switch operation {
            case .list(let user):
                let sessions = try await store.listSessions(ofUser: user, now: now)
                return (200, SessionsAPI.listBody(user: user, sessions: sessions), sessions.count)
            case .revokeSession(let handle):
                guard try await store.revoke(handle: handle, ofUser: nil, now: now) else {
                    return (404, SessionsAPI.error("no live session has that sid"), 0)
                }
                return (200, SessionsAPI.revokedBody(1), 1)
            case .revokeUser(let user):
                // The cookie store would answer 0 here (it cannot reach other clients): refuse.
                guard store.reach == .serverSide else {
                    throw StoreError(.unsupported, "the cookie store cannot end sessions from elsewhere")
                }
                let count = try await store.revokeUser(user, keeping: nil, now: now)
                return (200, SessionsAPI.revokedBody(count), count)
            case .stats:
                let count = try await store.liveSessionCount(now: now)
                return (200, SessionsAPI.statsBody(backend: backend, liveSessions: count), count)
            }
        } completion: { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success(let answer):
                if operation.action.hasPrefix("revoke"), let count = answer.count { events.sessionsRevoked(count, cause: .adminAPI) }
                handler.logCall(
                    action: operation.action, user: operation.user, status: answer.status, count: answer.count, runtime: runtime,
                    context: context)
                handler.respondJSON(answer.status, answer.body, head: head, context: context)
            case .failure(let error):
                let status = error.code == .unsupported ? 501 : 503
                handler.logCall(
                    action: operation.action, user: operation.user, status: status, count: nil, runtime: runtime, context: context)
                let message = error.code == .unsupported ? error.detail : "the session store is unavailable (\(error.code.rawValue))"
                handler.respondJSON(status, SessionsAPI.error(message), head: head, context: context)
            }
        }
    }

    /// Every sessions API call is logged: caller, action, user, result — never the token.
    private func logCall(
        action: String, user: String?, status: Int, count: Int?, runtime: ProxyRuntime, context: ChannelHandlerContext
    ) {
        var metadata: Logger.Metadata = ["action": "\(action)", "status": "\(status)"]
        if let address = context.channel.remoteAddress?.ipAddress { metadata["client"] = "\(address)" }
        if let user { metadata["user"] = "\(user)" }
        if let count { metadata["count"] = "\(count)" }
        runtime.logger.info("admin sessions API call", metadata: metadata)
    }

    func respondJSON(_ status: Int, _ body: JSONValue, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        if status == 401 { headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"sessiongate-admin\"") }
        respond(
            HTTPResponseStatus(statusCode: status), "application/json", JSONSerializer.string(body) + "\n", head: head,
            context: context, extraHeaders: headers)
    }

    func respond(
        _ status: HTTPResponseStatus, _ type: String, _ body: String, head: HTTPRequestHead, context: ChannelHandlerContext,
        extraHeaders: HTTPHeaders = HTTPHeaders()
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(contentsOf: extraHeaders)
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        // A client that asked for `Connection: close` (the CLI) reads to the end of the connection.
        let ended = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive { ended.whenComplete { _ in context.close(promise: nil) } }
    }
}
