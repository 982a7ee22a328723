import NIOPosix
import PostgresNIO
import SessionGateCore

extension PostgresSessionStore {
    /// The same `SELECT` as `load`, without a Task, on one of the calling event loop's own
    /// connections (`PostgresLoopConnections`), prepared once on it: `completion` runs on that
    /// loop. False (use the async `load`) off an event loop, before the schema is migrated, for a
    /// store made without a connection configuration, while the loop has no connection ready,
    /// and while all of them are full.
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard migrated.load(ordering: .acquiring), let loopConnections,
            let loop = MultiThreadedEventLoopGroup.currentEventLoop, let id = SessionID(bytes: ticket.bytes),
            let lease = loopConnections.acquire(on: loop)
        else { return false }
        let statement = PostgresStatements.Load(storeKey: id.storeKey, now: now)
        lease.load.execute([PostgresData(string: statement.storeKey), PostgresData(int64: statement.now)]).whenComplete {
            [self] result in
            switch result {
            case .success(let rows):
                loopConnections.release(lease, on: loop, failed: false)
                completion(
                    Result { () throws(StoreError) -> StoredSession? in
                        guard let row = rows.first else { return nil }
                        let decoded: PostgresStatements.SessionRow
                        do {
                            decoded = try PostgresStatements.SessionRow(binaryResultsOf: row)
                        } catch {
                            throw Self.storeError(error, "load")
                        }
                        return try session(ticket, decoded)
                    })
            case .failure(let error):
                loopConnections.release(lease, on: loop, failed: true)
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
