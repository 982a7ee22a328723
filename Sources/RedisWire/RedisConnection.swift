import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One TCP connection to one Redis server, authenticated and on the configured database.
/// Any number of tasks may send on it at once; commands are pipelined and answered in order.
public final class RedisConnection: Sendable {
    /// `host:port` of the server.
    public let address: String
    /// 3 after a successful `HELLO 3`, else 2.
    public let protocolVersion: Int
    private let channel: any Channel
    /// The channel's handler, for commands sent from its own event loop.
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let commandTimeout: TimeAmount?

    private init(
        channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, address: String, protocolVersion: Int,
        commandTimeout: TimeAmount?
    ) {
        self.channel = channel
        self.handler = handler
        self.address = address
        self.protocolVersion = protocolVersion
        self.commandTimeout = commandTimeout
    }

    /// Connects to `host:port` (defaults: the configuration's) and runs the handshake:
    /// `HELLO 3 [AUTH user pass]` (or `AUTH` on servers without `HELLO`), then `SELECT`.
    public static func connect(
        configuration: RedisConfiguration, host: String? = nil, port: Int? = nil,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        logger: Logger = Logger(label: "RedisWire")
    ) async throws(RedisError) -> RedisConnection {
        let host = host ?? configuration.host
        let port = port ?? configuration.port
        let address = "\(host):\(port)"
        let limits = configuration.decoderLimits
        if configuration.usesTLS, configuration.tls == nil {
            throw RedisError(.configuration, "rediss:// needs TLS settings; refusing to connect to \(address) in plain text")
        }
        let tls = configuration.tls.map { ($0, RedisTLSVerificationNotes(), eventLoop.makePromise(of: Void.self)) }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout.timeAmount)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handlers = channel.pipeline.syncOperations
                    if let (settings, notes, handshake) = tls {
                        try handlers.addHandler(try settings.makeHandler(host: host, notes: notes))
                        try handlers.addHandler(RedisTLSHandshakeWaiter(promise: handshake, notes: notes))
                    }
                    try handlers.addHandler(RedisChannelHandler(limits: limits, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            tls?.2.fail(error)
            throw RedisError(.connectionFailed, "cannot connect to \(address): \(Self.describe(error))")
        }
        if let (settings, notes, handshake) = tls {
            // A plain-text server reads the ClientHello as an unfinished inline command and waits.
            let timeout = configuration.connectTimeout.timeAmount
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                handshake.fail(RedisTLSFailure.HandshakeTimeout(milliseconds: timeout.nanoseconds / 1_000_000))
            }
            defer { timer.cancel() }
            do {
                try await handshake.futureResult.get()
            } catch {
                try? await channel.close()
                let detail = RedisTLSFailure.describe(
                    error, problem: notes.recorded, expectedName: settings.expectedName(for: host))
                throw RedisError(.connectionFailed, "TLS handshake with \(address) failed: \(detail)")
            }
        }
        let timeout = configuration.commandTimeout?.timeAmount
        do {
            let handler = try await Self.handler(of: channel)
            var connection = RedisConnection(
                channel: channel, handler: handler, address: address, protocolVersion: 2, commandTimeout: timeout)
            let version = try await connection.handshake(configuration)
            if version == 3 {
                connection = RedisConnection(
                    channel: channel, handler: handler, address: address, protocolVersion: 3, commandTimeout: timeout)
            }
            return connection
        } catch {
            try? await channel.close()
            // A reply of the wrong shape stays a protocol error; everything else is a failed connection.
            let code: RedisError.Code = error.code == .protocolError ? .protocolError : .connectionFailed
            // A TLS-only server hangs up on the plain-text HELLO without a word.
            let hint = tls == nil && error.code == .connectionClosed ? " (a TLS-only server? use rediss://)" : ""
            let message = tls?.1.errorAfterHandshake ?? error.message
            throw RedisError(code, "handshake with \(address) failed: \(message)\(hint)")
        }
    }

    /// The connection's `RedisChannelHandler` (gone if the channel already closed).
    private static func handler(of channel: any Channel) async throws(RedisError) -> NIOLoopBound<RedisChannelHandler> {
        do {
            return try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            throw RedisError(.connectionClosed, "connection closed")
        }
    }

    /// Whether the connection is still open (it never reopens; the pool makes a new one).
    public var isActive: Bool { channel.isActive }

    /// The event loop the connection's I/O (and every completion) runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Completes when the connection has closed, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Sends one command; `completion` runs once on the connection's event loop, with an error
    /// reply as `.failure(.server …)`. No Task: what the data plane uses to load sessions.
    public func send(_ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void) {
        var encoded = channel.allocator.buffer(capacity: RESPCommandEncoder.encodedLength(arguments))
        RESPCommandEncoder.encode(arguments, into: &encoded)
        // Straight to the handler: from its loop (the data plane's session loads) at once, from
        // elsewhere after one hop onto it.
        guard channel.eventLoop.inEventLoop else {
            let (handler, timeout, encoded) = (self.handler, commandTimeout, encoded)
            return channel.eventLoop.execute { handler.value.send(encoded, timeout: timeout, completion: completion) }
        }
        handler.value.send(encoded, timeout: commandTimeout, completion: completion)
    }

    /// Sends one command. An error reply throws `RedisError` with code `.server`.
    public func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue {
        try await pipeline([arguments])[0].get()
    }

    /// Sends `commands` in one write and returns their replies in order. Error replies come back
    /// as `.failure(.server …)` in their slot; a failed connection throws instead.
    public func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        var encoded = channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { RESPCommandEncoder.encode(command, into: &encoded) }
        let promises = commands.map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        // A write that never reaches the handler (channel already closed) must still fail the
        // replies; completing a promise twice is a no-op in NIO, so the handler may fail them too.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            let failure = RedisError(.connectionClosed, "connection to \(self.address) is closed")
            for promise in promises { promise.fail(failure) }
        }
        channel.writeAndFlush(RedisRequest(encoded: encoded, promises: promises, timeout: commandTimeout), promise: written)
        var results: [Result<RESPValue, RedisError>] = []
        results.reserveCapacity(promises.count)
        var transportError: RedisError?
        for promise in promises {
            do {
                let value = try await promise.futureResult.get()
                if case .error(let message) = value {
                    results.append(.failure(RedisError(.server, message)))
                } else {
                    results.append(.success(value))
                }
            } catch let error as RedisError {
                transportError = transportError ?? error
            } catch {
                transportError = transportError ?? RedisError(.connectionClosed, Self.describe(error))
            }
        }
        if let transportError { throw transportError }
        return results
    }

    /// Closes the connection; queued commands fail with `.connectionClosed`.
    public func close() async {
        try? await channel.close()
    }

    // MARK: - Handshake

    private func handshake(_ configuration: RedisConfiguration) async throws(RedisError) -> Int {
        var version = 2
        var authenticated = false
        if configuration.preferRESP3 {
            var hello: [RESPArgument] = ["HELLO", "3"]
            if let password = configuration.password?.revealed {
                hello += ["AUTH", RESPArgument(configuration.username ?? "default"), RESPArgument(password)]
            }
            do {
                version = try Self.negotiatedVersion(try await send(hello))
                authenticated = true
            } catch let error where error.code == .server {
                // Redis < 6 lacks HELLO ("ERR unknown command"); NOPROTO: no RESP3. Anything else
                // (WRONGPASS, NOAUTH) is an authentication failure and final.
                // Without a password, NOAUTH means "authenticate first": go on in RESP2 and let
                // commands report NOAUTH themselves.
                let prefix = error.serverErrorPrefix
                let fallsBack =
                    prefix == "NOPROTO" || error.message.lowercased().contains("unknown command")
                    || (prefix == "NOAUTH" && configuration.password == nil)
                guard fallsBack else { throw error }
            }
        }
        if !authenticated, let password = configuration.password?.revealed {
            var auth: [RESPArgument] = ["AUTH"]
            if let username = configuration.username { auth.append(RESPArgument(username)) }
            auth.append(RESPArgument(password))
            try Self.expectOK(try await send(auth), "AUTH")
        }
        if configuration.database != 0 {
            try Self.expectOK(try await send(["SELECT", RESPArgument(configuration.database)]), "SELECT")
        }
        return version
    }

    /// The protocol a `HELLO 3` reply confirms: a map (or, from a server that kept RESP2, a flat
    /// array of pairs) whose `proto` is 2 or 3. Anything else is a `.protocolError`: a server
    /// that answers `HELLO` with another shape is not one this client understands.
    static func negotiatedVersion(_ reply: RESPValue) throws(RedisError) -> Int {
        let pairs: [RESPValue]
        switch reply {
        case .map, .array: pairs = reply.array ?? []
        default: throw RedisError(.protocolError, "HELLO reply is \(reply), not a map")
        }
        guard pairs.count.isMultiple(of: 2) else { throw RedisError(.protocolError, "HELLO reply has an odd number of fields") }
        for index in stride(from: 0, to: pairs.count, by: 2) where pairs[index].string == "proto" {
            guard case .integer(let proto) = pairs[index + 1], proto == 2 || proto == 3 else {
                throw RedisError(.protocolError, "HELLO reply has proto \(pairs[index + 1])")
            }
            return Int(proto)
        }
        throw RedisError(.protocolError, "HELLO reply has no proto field")
    }

    /// `AUTH` and `SELECT` answer `+OK`.
    static func expectOK(_ reply: RESPValue, _ command: String) throws(RedisError) {
        guard case .simpleString("OK") = reply else {
            throw RedisError(.protocolError, "\(command) reply is \(reply), not OK")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? RedisError { return error.message }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return "connect timed out"
            case .ioOnClosedChannel, .alreadyClosed, .outputClosed: return "connection closed"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            return "host name did not resolve"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"  // NIO's own errors; commands and passwords never reach here
    }
}
