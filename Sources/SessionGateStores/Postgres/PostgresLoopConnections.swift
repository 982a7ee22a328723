import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One PostgreSQL connection per event loop, for the loads the data plane starts on that loop
/// (`PostgresSessionStore.load(_:now:completion:)`): the query is written and answered on the
/// caller's thread, with no Task and no thread hop.
///
/// A loop's connection is made on its first load (which goes the async way while it connects).
/// A failed query or a closed connection drops it; the next load connects again, at most once
/// per `retryPause` after a failed attempt. postgres-nio queues the queries of one connection
/// (one at a time on the wire, no pipelining), so past `maxInFlight` loads on a loop's
/// connection the next ones go the async way (the pool) instead of waiting behind them.
final class PostgresLoopConnections: Sendable {
    static let maxInFlight = 4
    static let retryPause = TimeAmount.seconds(1)

    private enum Slot {
        case connecting
        case failed(retryAt: NIODeadline)
        case ready(PostgresConnection, inFlight: Int)
    }

    private struct State {
        var slots: [ObjectIdentifier: Slot] = [:]
        var closed = false
        var nextID = 0
    }

    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let state = Mutex(State())

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The connection of `loop` (which must be the current one), counted as running one more
    /// query until `release`. Nil when the load should go the async way: no connection yet
    /// (one is then started), a closed one, too many loads in flight, or after `close()`.
    func acquire(on loop: any EventLoop) -> PostgresConnection? {
        let key = ObjectIdentifier(loop)
        let (connection, connectID) = state.withLock { state -> (PostgresConnection?, Int?) in
            guard !state.closed else { return (nil, nil) }
            switch state.slots[key] {
            case .ready(let connection, let inFlight) where !connection.isClosed:
                guard inFlight < Self.maxInFlight else { return (nil, nil) }
                state.slots[key] = .ready(connection, inFlight: inFlight + 1)
                return (connection, nil)
            case .connecting:
                return (nil, nil)
            case .failed(let retryAt) where NIODeadline.now() < retryAt:
                return (nil, nil)
            case .ready, .failed, nil:
                state.nextID += 1
                state.slots[key] = .connecting
                return (nil, state.nextID)
            }
        }
        if let connectID { connect(on: loop, key: key, id: connectID) }
        return connection
    }

    /// Ends one query of `acquire`. A failed query drops the connection (it is closed; the
    /// loop's next load connects again).
    func release(_ connection: PostgresConnection, on loop: any EventLoop, failed: Bool) {
        let key = ObjectIdentifier(loop)
        let drop = state.withLock { state -> Bool in
            guard case .ready(let current, let inFlight)? = state.slots[key], current === connection else { return failed }
            state.slots[key] = failed ? nil : .ready(current, inFlight: inFlight - 1)
            return failed
        }
        if drop { Self.close(connection) }
    }

    /// Closes every connection; `acquire` answers nil from now on.
    func close() async {
        let connections = state.withLock { state -> [PostgresConnection] in
            state.closed = true
            let connections = state.slots.values.compactMap { slot -> PostgresConnection? in
                if case .ready(let connection, _) = slot { return connection }
                return nil
            }
            state.slots = [:]
            return connections
        }
        for connection in connections { try? await connection.close() }
    }

    /// The number of open connections (for tests).
    var openCount: Int {
        state.withLock { state in
            state.slots.values.reduce(0) { count, slot in
                if case .ready(let connection, _) = slot, !connection.isClosed { return count + 1 }
                return count
            }
        }
    }

    private func connect(on loop: any EventLoop, key: ObjectIdentifier, id: Int) {
        PostgresConnection.connect(on: loop, configuration: configuration, id: id, logger: logger).whenComplete {
            [self] result in
            switch result {
            case .success(let connection):
                let kept = state.withLock { state -> Bool in
                    guard !state.closed, case .connecting? = state.slots[key] else { return false }
                    state.slots[key] = .ready(connection, inFlight: 0)
                    return true
                }
                guard kept else { return Self.close(connection) }
                connection.closeFuture.whenComplete { [self] _ in forget(connection, key: key) }
            case .failure(let error):
                state.withLock { state in
                    if case .connecting? = state.slots[key] { state.slots[key] = .failed(retryAt: .now() + Self.retryPause) }
                }
                logger.debug(
                    "postgres event-loop connection failed",
                    metadata: ["error": "\(PostgresSessionStore.storeError(error, "connect"))"])
            }
        }
    }

    /// A connection closed by the server or the network: the loop's next load connects again.
    private func forget(_ connection: PostgresConnection, key: ObjectIdentifier) {
        state.withLock { state in
            if case .ready(let current, _)? = state.slots[key], current === connection { state.slots[key] = nil }
        }
    }

    /// Closes `connection`, keeping it alive until it is (postgres-nio asserts that a
    /// connection is closed before it is released).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }
}
