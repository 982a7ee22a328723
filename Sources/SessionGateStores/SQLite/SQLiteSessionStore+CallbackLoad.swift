import NIOCore
import NIOPosix
import SQLiteNIO
import SessionGateCore

/// What a callback load hears: its row (nil: no live session), or why the query failed.
typealias SQLiteLoadAnswer = @Sendable (Result<SQLiteRow?, any Error>) -> Void

extension SQLiteSessionStore {
    /// The loads of one event-loop round: `?1` the distinct store keys (a JSON array), `?2` the
    /// proxy's clock; one row per live session found, its key first.
    static let loadManySQL = """
        SELECT store_key, \(columns) FROM \(table) WHERE store_key IN (SELECT value FROM json_each(?1)) \
        AND \(live("?2"))
        """

    /// The same `SELECT` as `load`, without a Task. On an event loop, the loads it starts in one
    /// round go to the connection's thread as one query when the round ends, and `completion`
    /// runs on that loop (one thread switch back per round, not per load); elsewhere the
    /// statement goes alone and `completion` runs on the connection's event loop. False once
    /// closed.
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard let id = SessionID(ticket: ticket), !handle.isClosed else { return false }
        let answer: SQLiteLoadAnswer = { result in
            completion(
                Result { () throws(StoreError) -> StoredSession? in
                    switch result {
                    case .success(let row): return try row.map { row throws(StoreError) in try Self.session(ticket, row) }
                    case .failure(let error): throw Self.storeError(error, "load")
                    }
                })
        }
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else {
            guard let rows = handle.queryFuture(Self.loadSQL, [.text(id.storeKey), .integer(Int(now))]) else { return false }
            rows.whenComplete { result in answer(result.map(\.first)) }
            return true
        }
        if roundLoads.add(storeKey: id.storeKey, now: now, on: loop, answer, open: { () }) == .openedRound {
            loop.execute { [self] in sendRound(on: loop) }
        }
        return true
    }

    /// Sends each batch of the round as one query and answers its loads on `loop`.
    private func sendRound(on loop: any EventLoop) {
        for batch in roundLoads.take(on: loop) {
            // One session: the single-key statement (no JSON array to build and read).
            let single = batch.storeKeys.count == 1 ? batch.storeKeys[0] : nil
            let query =
                if let single {
                    handle.queryFuture(Self.loadSQL, [.text(single), .integer(Int(batch.now))])
                } else {
                    handle.queryFuture(
                        Self.loadManySQL,
                        [.text(JSONSerializer.string(.array(batch.storeKeys.map { .string($0) }))), .integer(Int(batch.now))])
                }
            guard let query else {
                for (answer, result) in batch.answers(Self.closed) { answer(result) }
                continue
            }
            query.whenComplete { result in
                let answers = batch.answers(
                    result.flatMap { rows in
                        Result { () throws(StoreError) in
                            try rows.map { row throws(StoreError) in
                                if let single { return (single, row) }
                                return (try Self.storeKey(of: row), row)
                            }
                        }
                        .mapError { $0 as any Error }
                    })
                loop.execute {
                    for (answer, result) in answers { answer(result) }
                }
            }
        }
    }

    /// The number of queries the callback loads of event loops went out in (for tests).
    public var loopQueryCount: Int { roundLoads.sentCount }

    private static let closed = Result<[(storeKey: String, row: SQLiteRow)], any Error>.failure(
        StoreError(.unavailable, "load: store is closed"))

    private static func storeKey(of row: SQLiteRow) throws(StoreError) -> String {
        guard case .text(let key)? = row.column("store_key") else {
            throw StoreError(.corrupt, "session row has a missing or non-text store_key column")
        }
        return key
    }
}
