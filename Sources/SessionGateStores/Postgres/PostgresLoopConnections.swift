import Logging
import NIOCore
import PostgresNIO
import SessionGateCore
import Synchronization

/// A few PostgreSQL connections per event loop, for the loads the data plane starts on that loop
/// (`PostgresSessionStore.load(_:now:completion:)`): the query is written and answered on the
/// caller's thread, with no Task and no thread hop, as a statement prepared once per connection
/// (PostgreSQL neither parses nor plans it again).
///
/// The loads a loop starts in one round (the requests it read in one go) leave as one query when
/// the round ends (`store_key = ANY($1)`, at most `maxLoadsPerQuery`; `store_key = $1` for one
/// session), so a busy loop sends one query, and PostgreSQL runs one, per round instead of one per
/// request.
///
/// A loop starts with no connection; its first load (and every load that finds all of the loop's
/// connections busy, up to `connectionsPerLoop` per loop and `maxConnections` in all) starts one
/// more, and goes the async way (the pool) while it connects and prepares. A failed query or a
/// closed connection drops it; the next load connects again, at most once per `retryPause` after
/// a failed attempt. postgres-nio runs one query at a time per connection (queued, no
/// pipelining), so a round's batch takes the loop's least busy connection, and past `maxInFlight`
/// queued on every one its loads go the async way instead of waiting behind them.
final class PostgresLoopConnections: Sendable {
    /// At most this many connections per loop, and this many in all (a replica with many loops
    /// gives each fewer, and never holds more than `maxConnections` besides its pool).
    static let connectionsPerLoop = 8
    static let maxConnections = 16
    static let maxInFlight = 8
    static let retryPause = TimeAmount.seconds(1)
    /// Loads sent in one query at most (one round's loads beyond it take another connection).
    static let maxLoadsPerQuery = 32

    /// What a load hears: its row (nil: no live session), or why the query failed.
    typealias Answer = @Sendable (Result<PostgresStatements.SessionRow?, any Error>) -> Void

    /// A connection and the load statements prepared on it, counted as running one more query
    /// until `release`: `load` for a round with one session (`store_key = $1`: PostgreSQL
    /// settles on a generic plan and stops planning it), `loadMany` for several (`ANY($1)`).
    struct Lease: Sendable {
        let connection: PostgresConnection
        let load: PreparedQuery
        let loadMany: PreparedQuery
    }

    private enum Slot {
        case connecting(id: Int)
        case ready(Lease, inFlight: Int)
    }

    private struct Loop {
        var slots: [Slot] = []
        var retryAt: NIODeadline?
    }

    private struct State {
        var loops: [ObjectIdentifier: Loop] = [:]
        var closed = false
        var nextID = 0
    }

    private let configuration: PostgresConnection.Configuration
    private let loadSQL: String
    private let loadManySQL: String
    private let logger: Logger
    private let state = Mutex(State())
    /// The loads each loop started in the current round, one batch per connection taken.
    private let rounds = RoundBatches<Lease, Answer>(capacity: maxLoadsPerQuery)

    init(configuration: PostgresConnection.Configuration, loadSQL: String, loadManySQL: String, logger: Logger) {
        self.configuration = configuration
        self.loadSQL = loadSQL
        self.loadManySQL = loadManySQL
        self.logger = logger
    }

    /// Adds a load of `storeKey` at `now` to the round's batch of `loop` (which must be the current
    /// one), opening a batch on the least busy connection when there is none for `now` with room.
    /// False when the load should go the async way: no connection ready, all full, or after
    /// `close()`. `answer` runs on `loop` once the round's query is answered.
    func load(storeKey: String, now: Int64, on loop: any EventLoop, answer: @escaping Answer) -> Bool {
        let key = ObjectIdentifier(loop)
        var connectID: Int?
        let added = rounds.add(storeKey: storeKey, now: now, on: loop, answer) { () -> Lease? in
            state.withLock { state -> Lease? in
                guard !state.closed else { return nil }
                // Moved out and back, so its slots are changed in place (no copy of the array).
                var entry = state.loops.removeValue(forKey: key) ?? Loop()
                defer { state.loops[key] = entry }
                let (lease, id) = Self.acquire(&entry, in: &state)
                connectID = id
                return lease
            }
        }
        if let connectID { connect(on: loop, key: key, id: connectID) }
        if added == .openedRound { loop.execute { self.send(on: loop) } }
        return added != .refused
    }

    /// Sends the round's batches of `loop`, one query each, and answers their loads.
    private func send(on loop: any EventLoop) {
        for batch in rounds.take(on: loop) {
            let lease = batch.context
            typealias Rows = [(storeKey: String, row: PostgresStatements.SessionRow)]
            let now = PostgresData(int64: batch.now)
            // The query's outcome, and inside it the rows' (a row that does not decode is not the
            // connection's fault: it stays).
            let rows: EventLoopFuture<Result<Rows, any Error>>
            if batch.storeKeys.count == 1 {
                let storeKey = batch.storeKeys[0]
                rows = lease.load.execute([PostgresData(string: storeKey), now]).map { rows in
                    Result { try rows.map { (storeKey, try PostgresStatements.SessionRow(binaryResultsOf: $0)) } }
                }
            } else {
                let keys = PostgresData(array: batch.storeKeys.map { PostgresData(string: $0) }, elementType: .text)
                rows = lease.loadMany.execute([keys, now]).map { rows in
                    Result { try rows.map(PostgresStatements.SessionRow.keyed(binaryResultsOf:)) }
                }
            }
            rows.whenComplete { [self] result in
                let failed: Bool
                if case .failure = result { failed = true } else { failed = false }
                release(lease, on: loop, failed: failed)
                for (answer, result) in batch.answers(result.flatMap { $0 }) { answer(result) }
            }
        }
    }

    /// The least busy ready connection of a loop, counted as running one more query; and the id
    /// of a connection to start when every ready one is busy and the loop has room for it.
    private static func acquire(_ entry: inout Loop, in state: inout State) -> (Lease?, Int?) {
        var best: (index: Int, inFlight: Int)?
        var connecting = false
        for (index, slot) in entry.slots.enumerated() {
            switch slot {
            case .connecting: connecting = true
            case .ready(let lease, let inFlight):
                if !lease.connection.isClosed, inFlight < maxInFlight, inFlight < (best?.inFlight ?? .max) {
                    best = (index, inFlight)
                }
            }
        }
        var connectID: Int?
        let mayConnect = entry.retryAt.map { NIODeadline.now() >= $0 } ?? true
        if (best?.inFlight ?? 1) > 0, !connecting, mayConnect, entry.slots.count < connectionsPerLoop,
            state.loops.values.reduce(entry.slots.count, { $0 + $1.slots.count }) < maxConnections
        {
            state.nextID += 1
            connectID = state.nextID
            entry.slots.append(.connecting(id: state.nextID))
        }
        guard let best, case .ready(let lease, let inFlight) = entry.slots[best.index] else { return (nil, connectID) }
        entry.slots[best.index] = .ready(lease, inFlight: inFlight + 1)
        return (lease, connectID)
    }

    /// Ends one query of `acquire`. A failed query drops the connection (it is closed; a later
    /// load connects again).
    private func release(_ lease: Lease, on loop: any EventLoop, failed: Bool) {
        let key = ObjectIdentifier(loop)
        state.withLock { state in
            guard var entry = state.loops.removeValue(forKey: key) else { return }
            defer { state.loops[key] = entry }
            guard let index = entry.slots.firstIndex(where: { Self.holds($0, lease.connection) }),
                case .ready(let current, let inFlight) = entry.slots[index]
            else { return }
            if failed {
                entry.slots.remove(at: index)
            } else {
                entry.slots[index] = .ready(current, inFlight: inFlight - 1)
            }
        }
        if failed { Self.close(lease.connection) }
    }

    /// Closes every connection; `load` answers false from now on, and loads still waiting for
    /// their round are answered `.unavailable`.
    func close() async {
        let connections = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            let connections = state.loops.values.flatMap { entry in
                entry.slots.compactMap { slot -> PostgresConnection? in
                    if case .ready(let lease, _) = slot { return lease.connection }
                    return nil
                }
            }
            state.loops = [:]
            return connections
        }
        // Loads of a round that had not ended yet: answered (on their loop) instead of dropped.
        // (Taken after `closed` is set: a later load cannot open a batch any more.)
        for batch in rounds.takeAll() {
            let answers = batch.answers(
                Result<[(storeKey: String, row: PostgresStatements.SessionRow)], any Error>.failure(
                    StoreError(.unavailable, "the store is shutting down")))
            batch.context.connection.eventLoop.execute {
                for (answer, result) in answers { answer(result) }
            }
        }
        for connection in connections { try? await connection.close() }
    }

    /// The number of queries the loads have been sent in (for tests).
    var queryCount: Int { rounds.sentCount }

    /// The number of open connections (for tests).
    var openCount: Int {
        state.withLock { state in
            state.loops.values.reduce(0) { count, entry in
                count
                    + entry.slots.filter { slot in
                        if case .ready(let lease, _) = slot { return !lease.connection.isClosed }
                        return false
                    }.count
            }
        }
    }

    private static func holds(_ slot: Slot, _ connection: PostgresConnection) -> Bool {
        if case .ready(let lease, _) = slot { return lease.connection === connection }
        return false
    }

    private func connect(on loop: any EventLoop, key: ObjectIdentifier, id: Int) {
        let (sql, manySQL) = (loadSQL, loadManySQL)
        PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: logger)
            .flatMap { connection in
                connection.prepare(query: sql).and(connection.prepare(query: manySQL))
                    .map { Lease(connection: connection, load: $0, loadMany: $1) }
                    .flatMapErrorThrowing { error in
                        Self.close(connection)
                        throw error
                    }
            }
            .whenComplete { [self] result in
                switch result {
                case .success(let lease):
                    let kept = state.withLock { state -> Bool in
                        guard !state.closed, var entry = state.loops[key],
                            let index = entry.slots.firstIndex(where: { Self.isConnecting($0, id: id) })
                        else { return false }
                        entry.slots[index] = .ready(lease, inFlight: 0)
                        entry.retryAt = nil
                        state.loops[key] = entry
                        return true
                    }
                    guard kept else { return Self.close(lease.connection) }
                    lease.connection.closeFuture.whenComplete { [self] _ in forget(lease.connection, key: key) }
                case .failure(let error):
                    state.withLock { state in
                        guard var entry = state.loops[key] else { return }
                        entry.slots.removeAll { Self.isConnecting($0, id: id) }
                        entry.retryAt = .now() + Self.retryPause
                        state.loops[key] = entry
                    }
                    logger.debug(
                        "postgres event-loop connection failed",
                        metadata: ["error": "\(PostgresSessionStore.storeError(error, "connect"))"])
                }
            }
    }

    private static func isConnecting(_ slot: Slot, id: Int) -> Bool {
        if case .connecting(let slotID) = slot { return slotID == id }
        return false
    }

    /// A connection closed by the server or the network: a later load connects again.
    private func forget(_ connection: PostgresConnection, key: ObjectIdentifier) {
        state.withLock { state in
            state.loops[key]?.slots.removeAll { Self.holds($0, connection) }
        }
    }

    /// Closes `connection`, keeping it alive until it is (postgres-nio asserts that a
    /// connection is closed before it is released).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}
