import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A client for the primary that Redis Sentinel names, following failovers by itself.
///
/// The primary is asked of each Sentinel in turn (`SENTINEL get-master-addr-by-name`) and confirmed
/// with `ROLE` before use. A lost connection, a refused connect, or a `READONLY`/`MASTERDOWN`
/// reply drops the current primary; the next command asks the Sentinels again (concurrent callers
/// share one lookup, and a failed lookup is not repeated for `minReconnectDelay`, so a dead
/// primary costs fast `.unavailable` answers, not a storm). A command that certainly did not run
/// (connect refused, `READONLY`) is retried once on the new primary; one whose connection dropped
/// mid-flight is not repeated. The 503 window after a failover is therefore Sentinel's own
/// detection and election time plus at most one lookup interval.
public final class RedisSentinelClient: RedisExecutor, Sendable {
    /// Auth, database, TLS and timeouts for the primary (host and port come from Sentinel).
    public let configuration: RedisConfiguration
    /// Auth, TLS and timeouts for the Sentinels themselves (database ignored).
    public let sentinelConfiguration: RedisConfiguration
    public let sentinels: [RedisNodeAddress]
    public let masterName: String
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())
    /// The least time between two failed lookups.
    private var lookupInterval: Duration { max(configuration.minReconnectDelay, .milliseconds(100)) }

    private struct State {
        var primary: (address: RedisNodeAddress, client: RedisClient)?
        var lookup: Task<RedisClient, any Error>?
        var lastFailure: (at: ContinuousClock.Instant, error: RedisError)?
        var isShutdown = false
    }

    public init(
        sentinels: [RedisNodeAddress], masterName: String, configuration: RedisConfiguration,
        sentinelConfiguration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisWire.sentinel")
    ) {
        self.sentinels = sentinels
        self.masterName = masterName
        self.configuration = configuration
        var sentinelConfiguration = sentinelConfiguration
        sentinelConfiguration.database = 0
        self.sentinelConfiguration = sentinelConfiguration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The primary in use now (nil before the first lookup or right after a failover).
    public var currentPrimary: RedisNodeAddress? { state.withLock { $0.primary?.address } }

    public func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue {
        try await withPrimary { client throws(RedisError) in try await client.send(arguments) }
    }

    public func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        try await withPrimary { client throws(RedisError) in
            let results = try await client.pipeline(commands)
            // A replica refuses every write of the pipeline alike: treat it as the primary moving.
            if case .failure(let error)? = results.first(where: { if case .failure = $0 { true } else { false } }),
                SentinelReplies.meansPrimaryMoved(error)
            {
                throw error
            }
            return results
        }
    }

    public func sendIfReady(
        _ arguments: [RESPArgument], completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) -> Bool {
        guard let (_, client) = state.withLock({ $0.primary }) else { return false }
        return client.sendIfReady(arguments) { [weak self] result in
            if case .failure(let error) = result, SentinelReplies.meansPrimaryMoved(error) { self?.drop(client, error) }
            completion(result)
        }
    }

    /// Closes the primary's connections; later commands fail with `.shutdown`.
    public func close() async {
        let (client, lookup) = state.withLock { state in
            state.isShutdown = true
            defer { state.primary = nil }
            return (state.primary?.client, state.lookup)
        }
        lookup?.cancel()
        await client?.close()
    }

    // MARK: - Following the primary

    private func withPrimary<Value>(_ body: (RedisClient) async throws(RedisError) -> Value) async throws(RedisError) -> Value {
        var client = try await primary()
        do {
            return try await body(client)
        } catch {
            guard SentinelReplies.meansPrimaryMoved(error) else { throw error }
            drop(client, error)
            guard SentinelReplies.commandDidNotRun(error) else { throw error }
            client = try await primary()
            return try await body(client)
        }
    }

    private func drop(_ client: RedisClient, _ error: RedisError) {
        let dropped = state.withLock { state -> Bool in
            guard let current = state.primary, current.client === client else { return false }
            state.primary = nil
            return true
        }
        guard dropped else { return }
        logger.warning(
            "redis primary lost; asking Sentinel again",
            metadata: ["redis.master_name": "\(masterName)", "error": "\(error.message)"])
        Task { await client.close() }
    }

    private func primary() async throws(RedisError) -> RedisClient {
        let acquisition = state.withLock { state -> Acquisition<RedisClient> in
            if state.isShutdown { return .fail(RedisError(.shutdown, "redis sentinel client is shut down")) }
            if let primary = state.primary { return .ready(primary.client) }
            if let lookup = state.lookup { return .wait(lookup) }
            if let failure = state.lastFailure, ContinuousClock.now < failure.at + lookupInterval {
                return .fail(RedisError(.unavailable, "no redis primary for \(masterName) (\(failure.error.message)); retrying"))
            }
            let task = Task { try await self.lookUp() }
            state.lookup = task
            return .wait(task)
        }
        return try await acquisition.value(cancelled: RedisError(.unavailable, "redis primary lookup was cancelled"))
    }

    /// Asks the Sentinels for the primary, confirms it with `ROLE` and installs its client.
    private func lookUp() async throws -> RedisClient {
        do {
            let address = try await askSentinels()
            var primaryConfiguration = configuration
            primaryConfiguration.host = address.host
            primaryConfiguration.port = address.port
            let client = RedisClient(configuration: primaryConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
            let role: String
            do {
                role = try SentinelReplies.role(try await client.send(["ROLE"]))
            } catch {
                await client.close()
                throw error
            }
            guard role == "master" else {
                await client.close()
                throw RedisError(.unavailable, "Sentinel names \(address) as primary of \(masterName), but it is a \(role)")
            }
            let previous = state.withLock { state -> RedisNodeAddress? in
                defer {
                    state.primary = (address, client)
                    state.lookup = nil
                    state.lastFailure = nil
                }
                return state.primary?.address
            }
            if previous != address {
                logger.notice("redis primary found", metadata: ["redis.master_name": "\(masterName)", "redis.address": "\(address)"])
            }
            return client
        } catch {
            let failure = error as? RedisError ?? RedisError(.unavailable, "primary lookup was cancelled")
            state.withLock { state in
                state.lookup = nil
                state.lastFailure = (ContinuousClock.now, failure)
            }
            throw failure
        }
    }

    private func askSentinels() async throws(RedisError) -> RedisNodeAddress {
        var problems: [String] = []
        for sentinel in sentinels {
            do {
                let connection = try await RedisConnection.connect(
                    configuration: sentinelConfiguration, host: sentinel.host, port: sentinel.port,
                    eventLoop: eventLoopGroup.any(), logger: logger)
                defer { Task { await connection.close() } }
                let reply = try await connection.send(["SENTINEL", "get-master-addr-by-name", RESPArgument(masterName)])
                if let address = try SentinelReplies.primaryAddress(reply, masterName: masterName) { return address }
                problems.append("\(sentinel): does not monitor \(masterName)")
            } catch {
                problems.append("\(sentinel): \(error.message)")
            }
        }
        throw RedisError(.unavailable, "no Sentinel named a primary for \(masterName) (\(problems.joined(separator: "; ")))")
    }
}
