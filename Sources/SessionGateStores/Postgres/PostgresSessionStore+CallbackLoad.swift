import NIOPosix
import PostgresNIO
import SessionGateCore

extension PostgresSessionStore {
    /// The same `SELECT` as `load`, without a Task, on the calling event loop's own connection
    /// (`PostgresLoopConnections`): `completion` runs on that loop. False (use the async `load`)
    /// off an event loop, before the schema is migrated, for a store made without a connection
    /// configuration, while the loop's connection is connecting, and while it is busy.
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard migrated.load(ordering: .acquiring), let loopConnections,
            let loop = MultiThreadedEventLoopGroup.currentEventLoop, let id = SessionID(bytes: ticket.bytes),
            let connection = loopConnections.acquire(on: loop)
        else { return false }
        let statement = PostgresStatements.Load(storeKey: id.storeKey, now: now)
        // An unnamed statement: the Future API has no prepared statements. Still one round trip.
        let query = PostgresQuery(unsafeSQL: PostgresStatements.Load.sql, binds: statement.makeBindings())
        connection.query(query, logger: logger).whenComplete { [self] result in
            switch result {
            case .success(let rows):
                loopConnections.release(connection, on: loop, failed: false)
                completion(
                    Result { () throws(StoreError) -> StoredSession? in
                        guard let row = rows.first else { return nil }
                        let decoded: PostgresStatements.SessionRow
                        do {
                            decoded = try statement.decodeRow(row)
                        } catch {
                            throw Self.storeError(error, "load")
                        }
                        return try session(ticket, decoded)
                    })
            case .failure(let error):
                loopConnections.release(connection, on: loop, failed: true)
                completion(.failure(Self.storeError(error, "load")))
            }
        }
        return true
    }

    /// Closes the event loops' connections (`PostgresStoreService` does at shutdown); callback
    /// loads answer false from then on.
    public func closeLoopConnections() async {
        await loopConnections?.close()
    }

    /// The number of open event-loop connections (for tests).
    public var openLoopConnectionCount: Int { loopConnections?.openCount ?? 0 }
}
