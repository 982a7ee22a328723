import NIOPosix
import PostgresNIO
import SessionGateCore

extension PostgresSessionStore {
    /// The same `SELECT` as `load`, without a Task, on one of the calling event loop's own
    /// connections (`PostgresLoopConnections`), prepared once on it, together with the other
    /// loads the loop starts in the same round: `completion` runs on that loop. False (use the
    /// async `load`) off an event loop, before the schema is migrated, for a store made without a
    /// connection configuration, while the loop has no connection ready, and while all of them
    /// are full.
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard migrated.load(ordering: .acquiring), let loopConnections,
            let loop = MultiThreadedEventLoopGroup.currentEventLoop, let id = SessionID(ticket: ticket)
        else { return false }
        return loopConnections.load(storeKey: id.storeKey, now: now, on: loop) { [self] result in
            completion(
                Result { () throws(StoreError) -> StoredSession? in
                    switch result {
                    case .success(let row): return try row.map { row throws(StoreError) in try session(ticket, row) }
                    case .failure(let error): throw Self.storeError(error, "load")
                    }
                })
        }
    }

    /// Closes the event loops' connections (`PostgresStoreService` does at shutdown); callback
    /// loads answer false from then on.
    public func closeLoopConnections() async {
        await loopConnections?.close()
    }

    /// The number of open event-loop connections (for tests).
    public var openLoopConnectionCount: Int { loopConnections?.openCount ?? 0 }

    /// At most this many callback loads of one event-loop round go out in one query.
    public static var loadsPerQuery: Int { PostgresLoopConnections.maxLoadsPerQuery }

    /// The number of queries the callback loads went out in (for tests).
    public var loopQueryCount: Int { loopConnections?.queryCount ?? 0 }
}
