import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A Redis Cluster client: routes each command to the master owning its key's slot.
///
/// The slot map comes from `CLUSTER SLOTS`. A `MOVED` reply updates the slot, schedules a full
/// refresh and retries on the new owner; `ASK` retries once on the named node after `ASKING`
/// (both on one connection); a node that cannot be reached triggers a refresh from the other
/// nodes. Every command gets at most `maxAttempts` tries, so nothing loops.
public final class RedisClusterClient: RedisExecutor, Sendable {
    /// Counters for tests and metrics.
    public struct Statistics: Sendable, Hashable {
        public var movedRedirections = 0
        public var askRedirections = 0
        public var slotMapRefreshes = 0
    }

    /// Authentication, timeouts and pool size used for every node (host and port are ignored).
    public let configuration: RedisConfiguration
    public let seeds: [RedisNodeAddress]
    public let maxAttempts: Int
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var map = ClusterSlotMap()
        var clients: [RedisNodeAddress: RedisClient] = [:]
        var refresh: Task<Void, any Error>?
        var statistics = Statistics()
        var isShutdown = false
    }

    public init(
        seeds: [RedisNodeAddress], configuration: RedisConfiguration, maxAttempts: Int = 5,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisWire.cluster")
    ) {
        var configuration = configuration
        configuration.database = 0  // clusters have only database 0
        self.configuration = configuration
        self.seeds = seeds.isEmpty ? [RedisNodeAddress(host: configuration.host, port: configuration.port)] : seeds
        self.maxAttempts = max(1, maxAttempts)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(State())
    }

    /// Seeds with the configuration's own host and port.
    public convenience init(
        configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisWire.cluster")
    ) {
        self.init(
            seeds: [RedisNodeAddress(host: configuration.host, port: configuration.port)],
            configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// The master currently believed to own `slot` (nil before the first refresh).
    public func node(forSlot slot: Int) -> RedisNodeAddress? { state.withLock { $0.map.node(forSlot: slot) } }

    /// The client for one node (created on first use), e.g. to run `CLUSTER` commands on it.
    public func client(for node: RedisNodeAddress) throws(RedisError) -> RedisClient {
        let client = state.withLock { state -> RedisClient? in
            guard !state.isShutdown else { return nil }
            if let client = state.clients[node] { return client }
            var nodeConfiguration = configuration
            nodeConfiguration.host = node.host
            nodeConfiguration.port = node.port
            let client = RedisClient(configuration: nodeConfiguration, eventLoopGroup: eventLoopGroup, logger: logger)
            state.clients[node] = client
            return client
        }
        guard let client else { throw RedisError(.shutdown, "redis cluster client is shut down") }
        return client
    }

    public func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue {
        try await send(arguments, slot: RedisCommandRouting.slot(of: arguments))
    }

    /// Sends `arguments` to the owner of `slot` (nil: any node), following redirections.
    public func send(_ arguments: [RESPArgument], slot: Int?) async throws(RedisError) -> RESPValue {
        var target: RedisNodeAddress?
        var asking = false
        var lastError = RedisError(.tooManyRedirections, "no attempt made")
        for attempt in 0..<maxAttempts {
            let node: RedisNodeAddress
            if let target {
                node = target
            } else {
                node = try await owner(of: slot)
            }
            do {
                let client = try client(for: node)
                if asking {
                    return try await client.pipeline([["ASKING"], arguments])[1].get()
                }
                return try await client.send(arguments)
            } catch {
                lastError = error
                switch try await recover(from: error, slot: slot, node: node, attempt: attempt) {
                case .retry(let next, let ask):
                    target = next
                    asking = ask
                case .fail:
                    throw error
                }
            }
        }
        throw RedisError(
            .tooManyRedirections, "gave up after \(maxAttempts) attempts; last: \(lastError.code.rawValue): \(lastError.message)")
    }

    /// Groups the commands by node, sends each group as one pipeline (concurrently), and
    /// re-sends any command that was redirected, one by one.
    public func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        var groups: [RedisNodeAddress: [Int]] = [:]
        var owners: [RedisNodeAddress] = []
        for (index, command) in commands.enumerated() {
            let node = try await owner(of: RedisCommandRouting.slot(of: command))
            groups[node, default: []].append(index)
            owners.append(node)
        }
        var results = [Result<RESPValue, RedisError>?](repeating: nil, count: commands.count)
        let groupResults = await withTaskGroup(of: (indices: [Int], result: Result<[Result<RESPValue, RedisError>], RedisError>).self) {
            taskGroup in
            for (node, indices) in groups {
                taskGroup.addTask {
                    do throws(RedisError) {
                        let client = try self.client(for: node)
                        return (indices, .success(try await client.pipeline(indices.map { commands[$0] })))
                    } catch {
                        return (indices, .failure(error))
                    }
                }
            }
            var collected: [(indices: [Int], result: Result<[Result<RESPValue, RedisError>], RedisError>)] = []
            for await entry in taskGroup { collected.append(entry) }
            return collected
        }
        for (indices, result) in groupResults {
            switch result {
            case .success(let replies):
                for (index, reply) in zip(indices, replies) { results[index] = reply }
            case .failure(let error) where error.code == .connectionFailed || error.code == .unavailable:
                break  // never written: each command retries below, with map refreshes
            case .failure(let error):
                throw error
            }
        }
        for index in commands.indices {
            if let result = results[index] {
                guard case .failure(let error) = result, Self.redirection(in: error, from: owners[index]) != nil else { continue }
            }
            do {
                results[index] = .success(try await send(commands[index]))
            } catch  where error.code == .server {
                results[index] = .failure(error)
            }
        }
        return results.map { $0! }
    }

    /// Reloads the slot map from the first node that answers `CLUSTER SLOTS` (concurrent
    /// callers share one reload).
    public func refreshSlotMap() async throws(RedisError) {
        let task = state.withLock { state -> Task<Void, any Error> in
            if let running = state.refresh { return running }
            let candidates = state.map.nodes + seeds.filter { !state.map.nodes.contains($0) }
            let task = Task { try await self.loadSlotMap(from: candidates) }
            state.refresh = task
            return task
        }
        do {
            try await task.value
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.unavailable, "cluster slot map refresh was cancelled")
        }
    }

    /// Closes every node's connections; later commands fail with `.shutdown`.
    public func close() async {
        let clients = state.withLock { state -> [RedisClient] in
            state.isShutdown = true
            state.refresh?.cancel()
            defer { state.clients = [:] }
            return Array(state.clients.values)
        }
        for client in clients { await client.close() }
    }

    // MARK: - Routing and recovery

    private func owner(of slot: Int?) async throws(RedisError) -> RedisNodeAddress {
        let known = state.withLock { state -> RedisNodeAddress? in
            if let slot { return state.map.node(forSlot: slot) }
            return state.map.nodes.first
        }
        if let known { return known }
        try await refreshSlotMap()
        let refreshed = state.withLock { state -> RedisNodeAddress? in
            if let slot { return state.map.node(forSlot: slot) }
            return state.map.nodes.first
        }
        guard let refreshed else {
            throw RedisError(.unavailable, "no cluster node serves slot \(slot.map(String.init) ?? "any")")
        }
        return refreshed
    }

    private enum Recovery {
        case retry(RedisNodeAddress?, asking: Bool)
        case fail
    }

    private func recover(
        from error: RedisError, slot: Int?, node: RedisNodeAddress, attempt: Int
    ) async throws(RedisError) -> Recovery {
        if let (kind, redirectSlot, target) = Self.redirection(in: error, from: node) {
            if kind == "MOVED" {
                state.withLock { state in
                    state.statistics.movedRedirections += 1
                    state.map.assign(redirectSlot...redirectSlot, to: target)
                }
                refreshInBackground()
                return .retry(target, asking: false)
            }
            state.withLock { $0.statistics.askRedirections += 1 }
            return .retry(target, asking: true)
        }
        switch error.serverErrorPrefix {
        case "TRYAGAIN", "CLUSTERDOWN":
            // A multi-key command mid-migration, or the cluster is electing: wait a little.
            try? await Task.sleep(for: .milliseconds(20 * (attempt + 1)))
            if error.serverErrorPrefix == "CLUSTERDOWN" { refreshInBackground() }
            return .retry(nil, asking: false)
        default:
            break
        }
        if error.code == .connectionFailed || error.code == .unavailable {
            // The command was never written: the node may be gone. Reload the map and retry.
            logger.debug("redis cluster node unreachable", metadata: ["redis.node": "\(node)"])
            try? await refreshSlotMap()
            return .retry(nil, asking: false)
        }
        if error.code == .connectionClosed || error.code == .timeout {
            refreshInBackground()  // the command may have run: do not repeat it
        }
        return .fail
    }

    /// `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`; an empty host (`MOVED 3999 :6381`,
    /// a node whose endpoint is unknown) means the host of the node that answered. Nil when the
    /// error is no redirection or a malformed one (which then fails as the server error it is).
    static func redirection(in error: RedisError, from node: RedisNodeAddress?) -> (String, Int, RedisNodeAddress)? {
        guard let prefix = error.serverErrorPrefix, prefix == "MOVED" || prefix == "ASK" else { return nil }
        let parts = error.message.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, let slot = Int(parts[1]), slot >= 0, slot < HashSlot.count,
            var target = RedisNodeAddress(parts[2])
        else { return nil }
        if target.host.isEmpty {
            guard let node else { return nil }
            target.host = node.host
        }
        return (prefix, slot, target)
    }

    private func refreshInBackground() {
        Task { try? await self.refreshSlotMap() }
    }

    private func loadSlotMap(from candidates: [RedisNodeAddress]) async throws {
        defer { state.withLock { $0.refresh = nil } }
        var lastError = RedisError(.unavailable, "no cluster node to ask for the slot map")
        for node in candidates {
            do {
                let reply = try await client(for: node).send(["CLUSTER", "SLOTS"])
                let map = try ClusterSlotMap(clusterSlots: reply, queried: node)
                guard !map.nodes.isEmpty else {
                    lastError = RedisError(.unavailable, "cluster node \(node) serves no slots")
                    continue
                }
                let stale = state.withLock { state -> [RedisClient] in
                    state.map = map
                    state.statistics.slotMapRefreshes += 1
                    let keep = Set(map.nodes + seeds)
                    let stale = state.clients.filter { !keep.contains($0.key) }
                    for node in stale.keys { state.clients[node] = nil }
                    return Array(stale.values)
                }
                for client in stale { await client.close() }
                return
            } catch {
                lastError = error
            }
        }
        // A node that answered with a malformed map is not "unreachable": keep the protocol error.
        let code: RedisError.Code = lastError.code == .protocolError ? .protocolError : .unavailable
        throw RedisError(code, "cannot load the cluster slot map: \(lastError.message)")
    }
}
