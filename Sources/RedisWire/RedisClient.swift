import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Anything that runs Redis commands: one connection, a pooled client, or a cluster client.
public protocol RedisExecutor: Sendable {
    /// Sends one command. An error reply throws `RedisError` with code `.server`.
    func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue
    /// Sends commands together (one round trip where they share a server) and returns their
    /// replies in order, error replies as `.failure` in their slot. Transport failures throw.
    func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>]
    /// Sends one command without a Task when a connection is ready: true, and `completion` runs
    /// once on that connection's event loop (error replies as `.failure(.server …)`). False when
    /// the command would have to wait (connecting, cluster routing): use `send`.
    func sendIfReady(_ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void) -> Bool
}

extension RedisExecutor {
    public func sendIfReady(
        _ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) -> Bool { false }
}

extension RedisConnection: RedisExecutor {
    public func sendIfReady(
        _ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) -> Bool {
        guard isActive else { return false }
        send(arguments, completion: completion)
        return true
    }
}

/// A bounded pool of pipelined connections to one Redis server.
///
/// Connections open on demand (up to `poolSize`) and are used round-robin. When the server goes
/// away, the pool reconnects on the next command; while connecting keeps failing, commands fail at
/// once with `.unavailable` until the next attempt is due (exponential backoff between
/// `minReconnectDelay` and `maxReconnectDelay`), so nothing waits on a server that is down.
public final class RedisClient: RedisExecutor, Sendable {
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<PoolState>

    private enum Slot {
        case empty
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
    }

    private struct PoolState {
        var slots: [Slot]
        var next = 0
        var isShutdown = false
        var consecutiveFailures = 0
        var retryAfter: ContinuousClock.Instant?
        var lastError: RedisError?
    }

    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisWire")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(PoolState(slots: Array(repeating: .empty, count: max(1, configuration.poolSize))))
    }

    /// `host:port` of the server.
    public var address: String { "\(configuration.host):\(configuration.port)" }

    public func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue {
        try await connection().send(arguments)
    }

    /// Without a Task when an open connection is there (the data plane's session loads).
    public func sendIfReady(
        _ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) -> Bool {
        guard let connection = readyConnection() else { return false }
        connection.send(arguments, completion: completion)
        return true
    }

    /// An open connection if there is one (no waiting, no connecting): one on the calling
    /// thread's event loop first (its answer then needs no thread hop), else round-robin.
    private func readyConnection() -> RedisConnection? {
        state.withLock { state in
            guard !state.isShutdown else { return nil }
            let count = state.slots.count
            var fallback: (index: Int, connection: RedisConnection)?
            for offset in 0..<count {
                let index = (state.next + offset) % count
                guard case .connected(let connection) = state.slots[index], connection.isActive else { continue }
                if connection.eventLoop.inEventLoop {
                    state.next = index + 1
                    return connection
                }
                if fallback == nil { fallback = (index, connection) }
            }
            guard let fallback else { return nil }
            state.next = fallback.index + 1
            return fallback.connection
        }
    }

    /// All commands go to one connection, in one write (so `ASKING` + command, or `MULTI` … `EXEC`,
    /// stay together).
    public func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await connection().pipeline(commands)
    }

    /// The number of open connections (for tests and metrics).
    public var openConnectionCount: Int {
        state.withLock { state in
            state.slots.reduce(0) { count, slot in
                if case .connected(let connection) = slot, connection.isActive { return count + 1 }
                return count
            }
        }
    }

    /// Closes every connection; later commands fail with `.shutdown`.
    public func close() async {
        let (connections, tasks) = state.withLock { state -> ([RedisConnection], [Task<RedisConnection, any Error>]) in
            state.isShutdown = true
            var connections: [RedisConnection] = []
            var tasks: [Task<RedisConnection, any Error>] = []
            for slot in state.slots {
                switch slot {
                case .connected(let connection): connections.append(connection)
                case .connecting(let task): tasks.append(task)
                case .empty: break
                }
            }
            state.slots = state.slots.map { _ in .empty }
            return (connections, tasks)
        }
        for task in tasks {
            task.cancel()
            if let connection = try? await task.value { await connection.close() }
        }
        for connection in connections { await connection.close() }
    }

    // MARK: - Acquiring a connection

    private func connection() async throws(RedisError) -> RedisConnection {
        let acquisition = state.withLock { state -> Acquisition<RedisConnection> in
            guard !state.isShutdown else { return .fail(RedisError(.shutdown, "redis client is shut down")) }
            let count = state.slots.count
            var connectingTask: Task<RedisConnection, any Error>?
            var emptySlot: Int?
            var chosen: RedisConnection?
            for offset in 0..<count {
                let index = (state.next + offset) % count
                switch state.slots[index] {
                case .connected(let connection) where connection.isActive:
                    if chosen == nil {
                        chosen = connection
                        state.next = index + 1
                    }
                case .connected, .empty:
                    state.slots[index] = .empty
                    if emptySlot == nil { emptySlot = index }
                case .connecting(let task):
                    if connectingTask == nil { connectingTask = task }
                }
            }
            let mayConnect = state.retryAfter.map { ContinuousClock.now >= $0 } ?? true
            if let chosen {
                // Grow towards poolSize in the background while serving from what is open.
                if let emptySlot, mayConnect, connectingTask == nil {
                    state.slots[emptySlot] = .connecting(startConnecting(slot: emptySlot))
                }
                return .ready(chosen)
            }
            if let connectingTask { return .wait(connectingTask) }
            guard mayConnect, let emptySlot else {
                let reason = state.lastError?.message ?? "not connected"
                return .fail(RedisError(.unavailable, "redis at \(address) is unreachable (\(reason)); reconnecting"))
            }
            let task = startConnecting(slot: emptySlot)
            state.slots[emptySlot] = .connecting(task)
            return .wait(task)
        }
        return try await acquisition.value(cancelled: RedisError(.connectionFailed, "connect to \(address) was cancelled"))
    }

    /// Called with the lock held; the task reports back through `connected`/`connectFailed`.
    private func startConnecting(slot: Int) -> Task<RedisConnection, any Error> {
        let configuration = configuration
        let eventLoop = eventLoopGroup.any()
        let logger = logger
        return Task {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoop: eventLoop, logger: logger)
                self.connected(connection, slot: slot)
                return connection
            } catch {
                self.connectFailed(error, slot: slot)
                throw error
            }
        }
    }

    private func connected(_ connection: RedisConnection, slot: Int) {
        let keep = state.withLock { state -> Bool in
            guard !state.isShutdown else { return false }
            state.slots[slot] = .connected(connection)
            state.consecutiveFailures = 0
            state.retryAfter = nil
            state.lastError = nil
            return true
        }
        guard keep else {
            Task { await connection.close() }
            return
        }
        connection.closeFuture.whenComplete { [weak self] _ in
            self?.connectionClosed(connection, slot: slot)
        }
    }

    private func connectionClosed(_ connection: RedisConnection, slot: Int) {
        state.withLock { state in
            if case .connected(let current) = state.slots[slot], current === connection {
                state.slots[slot] = .empty
            }
        }
        logger.debug("redis connection closed", metadata: ["redis.address": "\(address)"])
    }

    private func connectFailed(_ error: RedisError, slot: Int) {
        let delay = state.withLock { state -> Duration in
            state.slots[slot] = .empty
            state.consecutiveFailures += 1
            let exponent = min(state.consecutiveFailures - 1, 20)
            let delay = min(configuration.maxReconnectDelay, configuration.minReconnectDelay * (1 << exponent))
            state.retryAfter = ContinuousClock.now + delay
            state.lastError = error
            return delay
        }
        logger.warning(
            "redis connect failed",
            metadata: ["redis.address": "\(address)", "error": "\(error.message)", "retry_in": "\(delay)"])
    }

    private func connectFailed(_ error: any Error, slot: Int) {
        let redisError = error as? RedisError ?? RedisError(.connectionFailed, "connect to \(address) was cancelled")
        connectFailed(redisError, slot: slot)
    }
}
