import Logging
import PostgresNIO
import SessionGateCore
import Synchronization

/// Sessions in PostgreSQL, shared by every replica pointing at the same database.
///
/// The row is keyed by `SessionID.storeKey` (a hash; the id never reaches the database), keeps
/// the data as `jsonb` and the user in an indexed column recomputed in SQL from the data on
/// every write. Every call is one prepared statement: a load is one round trip and a merge
/// patch is one atomic `UPDATE`. Expired rows are invisible to loads at once and deleted by
/// `SessionSweeper` (see `makeService`). The one exception: a session joining a user under
/// `max_per_user` is written in a transaction holding that user's advisory lock (see `joining`).
///
/// The `client` must be running (`client.run()`, or the service from `makeService`) for any
/// call to make progress; calls fail with `StoreError(.timeout)` after `timeout` instead of
/// waiting for a database that is down. The schema is migrated by `migrate()`, which every
/// call also runs lazily until it has succeeded once.
public final class PostgresSessionStore: SessionStore {
    public let reach = StoreReach.serverSide
    /// The pooled client; run it (or `makeService`) in the service group.
    public let client: PostgresClient
    let policy: SessionPolicy
    let random: any RandomBytes
    let timeout: Duration
    let logger: Logger
    /// The parsed `[store] url` when the store made its own client (the service probes it to log
    /// why connections fail).
    public let url: PostgresURL?
    /// Set once `migrate()` has succeeded, so the hot path skips it.
    let migrated = Atomic<Bool>(false)
    /// One connection per event loop for the data plane's callback loads (nil: those go async).
    let loopConnections: PostgresLoopConnections?

    /// - Parameters:
    ///   - client: a `PostgresClient` (see `PostgresURL.clientConfiguration()`); the caller runs it.
    ///   - loopConnection: the settings of the event loops' own connections for callback loads
    ///     (`PostgresURL.connectionConfiguration()`, same database as `client`); nil: none.
    ///     Close them with `closeLoopConnections()`.
    ///   - timeout: bound on every call (`[store] timeout`).
    public convenience init(
        client: PostgresClient, loopConnection: PostgresConnection.Configuration? = nil, policy: SessionPolicy,
        random: any RandomBytes = SystemRandomBytes(), timeout: Duration = .seconds(1),
        logger: Logger = Logger(label: "sessiongate.store.postgres")
    ) {
        self.init(
            client: client, url: nil, loopConnection: loopConnection, policy: policy, random: random, timeout: timeout,
            logger: logger)
    }

    private init(
        client: PostgresClient, url: PostgresURL?, loopConnection: PostgresConnection.Configuration?,
        policy: SessionPolicy, random: any RandomBytes, timeout: Duration, logger: Logger
    ) {
        self.client = client
        self.url = url
        self.loopConnections = loopConnection.map {
            PostgresLoopConnections(
                configuration: $0, loadSQL: PostgresStatements.Load.sql, loadManySQL: PostgresStatements.LoadMany.sql,
                logger: logger)
        }
        self.policy = policy
        self.random = random
        self.timeout = timeout
        self.logger = logger
    }

    /// A store with a client of its own for `[store] url` (run it with `PostgresStoreService`).
    public convenience init(
        url: String, policy: SessionPolicy, random: any RandomBytes = SystemRandomBytes(),
        timeout: Duration = .seconds(1), logger: Logger = Logger(label: "sessiongate.store.postgres")
    ) throws(StoreError) {
        let parsed = try PostgresURL(url)
        let client = PostgresClient(configuration: try parsed.clientConfiguration(), backgroundLogger: logger)
        self.init(
            client: client, url: parsed, loopConnection: try parsed.connectionConfiguration(), policy: policy,
            random: random, timeout: timeout, logger: logger)
    }

    /// The schema as a hand-runnable script (`sessiongate migrate --print-sql`, `sql/postgres.sql`).
    public static var schemaSQL: String { PostgresSchema.sql }

    // MARK: SessionStore

    public func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let id = SessionID(ticket: ticket) else { return nil }
        let row = try await single("load", PostgresStatements.Load(storeKey: id.storeKey, now: now))
        return try row.map { row throws(StoreError) in try session(ticket, row) }
    }

    public func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession
    {
        let id = SessionID(bytes: random.bytes(SessionID.byteCount))!
        let times = policy.newTimes(now: now)
        let statement = PostgresStatements.Insert(
            storeKey: id.storeKey, handle: id.handle, dataText: JSONSerializer.string(.object(data)),
            userKey: policy.userKey, times: times, client: client)
        let row: PostgresStatements.SessionRow?
        if policy.maxPerUser > 0, let user = policy.userID(of: data) {
            row = try await joining(user, key: id.storeKey, now: now, "create") { connection, logger in
                (try await Self.first(statement, on: connection, logger), true)
            }
        } else {
            row = try await single("create", statement)
        }
        guard let row else {
            throw StoreError(.protocolError, "insert returned no row")
        }
        return try session(SessionTicket(id.bytes), row)
    }

    public func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard case .object(let members) = patch else {
            throw StoreError(.protocolError, "a merge patch must be a JSON object")
        }
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let statement = PostgresStatements.Patch(
            storeKey: id.storeKey, patchText: JSONSerializer.string(patch), userKey: policy.userKey, now: now)
        let row: PostgresStatements.SessionRow?
        if policy.maxPerUser > 0, let user = policy.userChange(in: members) ?? nil {
            // The session may join `user`: the bound applies when it was someone else's (or no one's).
            row = try await joining(user, key: id.storeKey, now: now, "patch") { connection, logger in
                let before = try await Self.first(PostgresStatements.UserOf(storeKey: id.storeKey), on: connection, logger)
                let row = try await Self.first(statement, on: connection, logger)
                return (row, row != nil && (before ?? nil) != user)
            }
        } else {
            row = try await single("patch", statement)
        }
        return try row.map { row throws(StoreError) in try self.session(session.ticket, row) }
    }

    public func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let old = SessionID(ticket: session.ticket) else { return nil }
        let fresh = SessionID(bytes: random.bytes(SessionID.byteCount))!
        let statement = PostgresStatements.Rotate(
            oldKey: old.storeKey, newKey: fresh.storeKey, newHandle: fresh.handle, now: now)
        let row = try await single("rotate", statement)
        return try row.map { row throws(StoreError) in try self.session(SessionTicket(fresh.bytes), row) }
    }

    public func destroy(_ session: StoredSession) async throws(StoreError) {
        guard let id = SessionID(ticket: session.ticket) else { return }
        _ = try await single("destroy", PostgresStatements.Delete(storeKey: id.storeKey))
    }

    public func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let row = try await single("touch", PostgresStatements.Touch(storeKey: id.storeKey, now: now, ip: client.ip))
        return try row.map { row throws(StoreError) in try self.session(session.ticket, row) }
    }

    public func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let statement = PostgresStatements.SetLifetime(storeKey: id.storeKey, now: now, seconds: seconds)
        let row = try await single("set lifetime", statement)
        return try row.map { row throws(StoreError) in try self.session(session.ticket, row) }
    }

    public func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int {
        let keep = keeping.flatMap { SessionID(ticket: $0)?.storeKey } ?? ""
        let count = try await single("revoke", PostgresStatements.RevokeUser(userID: userID, keepKey: keep, now: now))
        return try Self.count(count, "revoke")
    }

    /// One indexed query on `user_id`; expired rows are left to the sweeper.
    public func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        let summaries = try await rows("list", PostgresStatements.ListUser(userID: userID, now: now))
        guard summaries.allSatisfy({ StoredTimes.areValid($0.times) }) else {
            throw StoreError(.protocolError, "session row has times outside 1970...9999")
        }
        return summaries.sorted(by: SessionSummary.mostRecentFirst)
    }

    /// One `DELETE` by the indexed `handle` column (schema version 3).
    public func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        let count = try await single("revoke", PostgresStatements.RevokeHandle(handle: handle, userID: userID, now: now))
        return try Self.count(count, "revoke") > 0
    }

    /// Exact: one `count(*)` over the expiry index, linear in the live sessions — cheap enough
    /// for the stats endpoint, not for a request path.
    public func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? {
        try Self.count(try await single("count", PostgresStatements.CountLive(now: now)), "count")
    }

    public func checkHealth() async throws(StoreError) {
        try await withStoreDeadline(timeout, "health check") { [self] () throws(StoreError) in
            try await ensureMigrated()
            do {
                try await client.query("SELECT 1").consume()
            } catch {
                throw Self.storeError(error, "health check")
            }
        }
    }

    /// Deletes at most `limit` sessions expired at `now` (one sweeper batch); returns how many.
    public func sweepExpired(now: UnixSeconds, limit: Int) async throws(StoreError) -> Int {
        let count = try await single("sweep", PostgresStatements.SweepBatch(now: now, limit: Int64(limit)))
        return try Self.count(count, "sweep")
    }

    /// The one row of a `SELECT count(*)`: a missing row or a negative count is a malformed
    /// reply, never "nothing was deleted".
    static func count(_ row: Int64?, _ what: String) throws(StoreError) -> Int {
        guard let row, row >= 0 else { throw StoreError(.protocolError, "\(what) returned no count") }
        return Int(row)
    }

    // MARK: Plumbing

    /// Runs one prepared statement under the deadline; the first row, if any.
    func single<Statement: PostgresPreparedStatement>(_ what: String, _ statement: Statement)
        async throws(StoreError) -> Statement.Row? where Statement.Row: Sendable
    {
        try await rows(what, statement).first
    }

    /// Runs one prepared statement under the deadline; all its rows.
    func rows<Statement: PostgresPreparedStatement>(_ what: String, _ statement: Statement)
        async throws(StoreError) -> [Statement.Row] where Statement.Row: Sendable
    {
        try await withStoreDeadline(timeout, what) { [self] () throws(StoreError) -> [Statement.Row] in
            try await ensureMigrated()
            do {
                var rows: [Statement.Row] = []
                for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
                return rows
            } catch {
                throw Self.storeError(error, what)
            }
        }
    }

    /// The first row of a prepared statement run on `connection` (inside a transaction).
    static func first<Statement: PostgresPreparedStatement>(
        _ statement: Statement, on connection: PostgresConnection, _ logger: Logger
    ) async throws -> Statement.Row? {
        var first: Statement.Row? = nil
        for try await row in try await connection.execute(statement, logger: logger) where first == nil { first = row }
        return first
    }

    /// Runs `write` and, when it made the session `key` join `user`, the `max_per_user` bound,
    /// in one transaction that first takes the user's advisory lock
    /// (`pg_advisory_xact_lock(PostgresSchema.userLockClass, hash of the user)`): joins of one
    /// user are serialised across replicas, each sees every earlier one (READ COMMITTED takes a
    /// fresh snapshot after the lock), and the session joining is never the one ended — so the
    /// bound is exact. Four round trips (BEGIN, lock, write + bound, COMMIT), only for logins.
    func joining(
        _ user: String, key: String, now: UnixSeconds, _ what: String,
        _ write:
            @escaping @Sendable (PostgresConnection, Logger) async throws -> (
                row: PostgresStatements.SessionRow?, joined: Bool
            )
    ) async throws(StoreError) -> PostgresStatements.SessionRow? {
        let bound = Int64(policy.maxPerUser)
        return try await withStoreDeadline(timeout, what) { [self] () throws(StoreError) -> PostgresStatements.SessionRow? in
            try await ensureMigrated()
            do {
                return try await client.withTransaction(logger: logger) { [logger] connection in
                    let lock = PostgresStatements.LockUser(userHash: Self.lockHash(user))
                    for try await _ in try await connection.execute(lock, logger: logger) {}
                    let (row, joined) = try await write(connection, logger)
                    if joined {
                        let enforce = PostgresStatements.Enforce(userID: user, keepKey: key, now: now, keeping: bound - 1)
                        _ = try await Self.first(enforce, on: connection, logger)
                    }
                    return row
                }
            } catch let error as PostgresTransactionError {
                let cause = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError
                throw Self.storeError(cause ?? error, what)
            } catch {
                throw Self.storeError(error, what)
            }
        }
    }

    /// FNV-1a of the user id: the second key of the user's advisory lock. Two users sharing a
    /// hash only share a lock (their joins queue), never a bound.
    static func lockHash(_ user: String) -> Int32 {
        var hash: UInt32 = 0x811C_9DC5
        for byte in user.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return Int32(bitPattern: hash)
    }

    func session(_ ticket: SessionTicket, _ row: PostgresStatements.SessionRow) throws(StoreError) -> StoredSession {
        guard StoredTimes.areValid(row.summary.times) else {
            throw StoreError(.protocolError, "session row has times outside 1970...9999")
        }
        guard case .object(let data)? = try? JSONParser.parse(row.dataText) else {
            throw StoreError(.corrupt, "session data is not a JSON object")
        }
        return StoredSession(
            ticket: ticket, handle: row.summary.handle, data: data, times: row.summary.times,
            metadata: row.summary.metadata)
    }

    /// A `StoreError` for a database failure: the SQLSTATE at most, never the server's message
    /// (it may quote session data) nor the query's bindings.
    static func storeError(_ error: any Error, _ what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError {
            if error.code == .server {
                let state = error.serverInfo?[.sqlState] ?? "?????"
                // Class 08 connection, 53 resources, 57 operator intervention (shutdown, starting up).
                let unavailable = state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57")
                return StoreError(unavailable ? .unavailable : .protocolError, "\(what) failed with SQLSTATE \(state)")
            }
            return StoreError(.unavailable, "\(what) failed: \(error.code)")
        }
        if error is CancellationError { return StoreError(.unavailable, "\(what) was cancelled") }
        // Columns of other types than the statements select (a schema changed by hand): the
        // reply has an unexpected shape, as for any store.
        if error is PostgresDecodingError { return StoreError(.protocolError, "\(what) returned an unexpected row") }
        return StoreError(.unavailable, "\(what) failed: \(type(of: error))")
    }
}
