import SQLiteNIO
import SessionGateCore

extension SQLiteSessionStore {
    /// The same `SELECT` as `load`, without a Task: the statement goes straight to the
    /// connection's thread and `completion` runs on the connection's event loop (the async
    /// `load` also starts a Task and resumes it on the concurrency pool). False once closed.
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard let id = SessionID(bytes: ticket.bytes),
            let rows = handle.queryFuture(Self.loadSQL, [.text(id.storeKey), .integer(Int(now))])
        else { return false }
        rows.whenComplete { result in
            switch result {
            case .success(let rows):
                completion(
                    Result { () throws(StoreError) in try rows.first.map { row throws(StoreError) in try Self.session(ticket, row) } })
            case .failure(let error):
                completion(.failure(Self.storeError(error, "load")))
            }
        }
        return true
    }
}
