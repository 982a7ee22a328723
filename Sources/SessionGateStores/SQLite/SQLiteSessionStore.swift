import Logging
import SQLiteNIO
import SessionGateCore

/// Sessions in one SQLite file: survives restarts, for a single machine (several proxy
/// processes on that machine may share the file).
///
/// Same schema and semantics as `PostgresSessionStore`: rows keyed by `SessionID.storeKey`,
/// data as JSON text merged atomically by `json_patch()` in one `UPDATE … RETURNING`, the user
/// column recomputed in SQL on every write, expired rows invisible to loads and deleted by
/// `SessionSweeper` (see `SQLiteStoreService`). The file is in WAL mode (readers never block
/// the writer) with a busy timeout. Every call is one statement on one connection (SQLite
/// serialises calls on it), so each write is its own atomic transaction — except a session
/// joining a user under `max_per_user`, which runs its write and the bound in one
/// `BEGIN IMMEDIATE` transaction on a second connection (see `joining`).
public final class SQLiteSessionStore: SessionStore {
    public let reach = StoreReach.serverSide
    /// The database file.
    public let path: String
    let handle: SQLiteHandle
    /// The connection for multi-statement transactions (`max_per_user`), one at a time.
    let transactionHandle: SQLiteHandle
    let transactionGate = AsyncGate()
    let policy: SessionPolicy
    let random: any RandomBytes
    let timeout: Duration
    let logger: Logger
    /// The callback loads each event loop started in the current round (sent as one query).
    let roundLoads = RoundBatches<Void, SQLiteLoadAnswer>(capacity: 32)

    private init(
        path: String, handle: SQLiteHandle, transactionHandle: SQLiteHandle, policy: SessionPolicy,
        random: any RandomBytes, timeout: Duration, logger: Logger
    ) {
        self.path = path
        self.handle = handle
        self.transactionHandle = transactionHandle
        self.policy = policy
        self.random = random
        self.timeout = timeout
        self.logger = logger
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    /// - Parameter timeout: bound on every call (`[store] timeout`).
    public static func open(
        path: String, policy: SessionPolicy, random: any RandomBytes = SystemRandomBytes(),
        timeout: Duration = .seconds(1), logger: Logger = Logger(label: "sessiongate.store.sqlite")
    ) async throws(StoreError) -> SQLiteSessionStore {
        try await migrate(path: path, logger: logger)
        let handle = try await SQLiteHandle.open(path: path, logger: logger)
        let transactionHandle: SQLiteHandle
        do {
            transactionHandle = try await SQLiteHandle.open(path: path, logger: logger)
        } catch {
            await handle.close()
            throw error
        }
        return SQLiteSessionStore(
            path: path, handle: handle, transactionHandle: transactionHandle, policy: policy, random: random,
            timeout: timeout, logger: logger)
    }

    /// Closes the connection; later calls fail with `StoreError(.unavailable)`.
    public func close() async {
        await handle.close()
        await transactionHandle.close()
    }

    /// The schema as a hand-runnable script (`sessiongate migrate --print-sql`, `sql/sqlite.sql`).
    public static var schemaSQL: String { SQLiteSchema.sql }

    // MARK: SessionStore

    static let table = SQLiteSchema.sessionsTable
    /// What a listing returns: everything but the data.
    static let summaryColumns = """
        handle, created_at, last_seen_at, idle_expires_at, absolute_expires_at, idle_seconds, \
        \(SQLiteSchema.metadataColumns.joined(separator: ", "))
        """
    static let columns = "data, " + summaryColumns
    static func live(_ now: String) -> String { "idle_expires_at > \(now) AND absolute_expires_at > \(now)" }

    static let loadSQL = "SELECT \(columns) FROM \(table) WHERE store_key = ?1 AND \(live("?2"))"
    static let insertSQL = """
        INSERT INTO \(table) (store_key, handle, data, user_id, created_at, last_seen_at, idle_expires_at, \
        absolute_expires_at, idle_seconds, created_ip, last_ip, user_agent) VALUES (?1, ?2, json(?3), \
        \(SQLiteSchema.userID(of: "?3", key: "?4")), ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11) RETURNING \(columns)
        """
    static let patchSQL = """
        UPDATE \(table) SET data = json_patch(data, ?2), \
        user_id = \(SQLiteSchema.userID(of: "json_patch(data, ?2)", key: "?3")) \
        WHERE store_key = ?1 AND \(live("?4")) RETURNING \(columns)
        """
    static let rotateSQL = """
        UPDATE \(table) SET store_key = ?2, handle = ?3 WHERE store_key = ?1 AND \(live("?4")) RETURNING \(columns)
        """
    static let deleteSQL = "DELETE FROM \(table) WHERE store_key = ?1"
    static let touchSQL = """
        UPDATE \(table) SET last_seen_at = ?2, idle_expires_at = min(?2 + idle_seconds, absolute_expires_at), \
        last_ip = coalesce(?3, last_ip) WHERE store_key = ?1 AND \(live("?2")) RETURNING \(columns)
        """
    static let setLifetimeSQL = """
        UPDATE \(table) SET last_seen_at = ?2, idle_seconds = ?3, idle_expires_at = ?2 + ?3, \
        absolute_expires_at = ?2 + ?3 WHERE store_key = ?1 AND \(live("?2")) RETURNING \(columns)
        """
    static let revokeSQL = """
        DELETE FROM \(table) WHERE user_id = ?1 AND store_key <> ?2 AND \(live("?3")) RETURNING 1
        """
    static let listSQL = "SELECT \(summaryColumns) FROM \(table) WHERE user_id = ?1 AND \(live("?2"))"
    /// `?2` NULL: whoever the owner is.
    static let revokeHandleSQL = """
        DELETE FROM \(table) WHERE handle = ?1 AND (?2 IS NULL OR user_id = ?2) AND \(live("?3")) RETURNING 1
        """
    /// The same condition as `live`, spelled as the expiry index's expression so the count
    /// reads the index.
    static let countSQL = """
        SELECT count(*) AS live FROM \(table) WHERE min(idle_expires_at, absolute_expires_at) > ?1
        """
    static let userOfSQL = "SELECT user_id FROM \(table) WHERE store_key = ?1"
    /// `max_per_user`: ends the live sessions of user `?1` other than `?2` past the `?4` most
    /// recently seen (`SessionSummary.mostRecentFirst`: ties by handle, byte order).
    static let enforceSQL = """
        DELETE FROM \(table) WHERE store_key IN (SELECT store_key FROM \(table) WHERE user_id = ?1 \
        AND store_key <> ?2 AND \(live("?3")) ORDER BY last_seen_at DESC, handle LIMIT -1 OFFSET ?4) RETURNING 1
        """
    static let sweepSQL = """
        DELETE FROM \(table) WHERE store_key IN (SELECT store_key FROM \(table) \
        WHERE min(idle_expires_at, absolute_expires_at) <= ?1 LIMIT ?2) RETURNING 1
        """

    public func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let id = SessionID(ticket: ticket) else { return nil }
        let rows = try await run("load", Self.loadSQL, [.text(id.storeKey), .integer(Int(now))])
        return try rows.first.map { row throws(StoreError) in try Self.session(ticket, row) }
    }

    public func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession
    {
        let id = SessionID(bytes: random.bytes(SessionID.byteCount))!
        let times = policy.newTimes(now: now)
        let binds: [SQLiteData] = [
            .text(id.storeKey), .text(id.handle), .text(JSONSerializer.string(.object(data))), .text(policy.userKey),
            .integer(Int(times.createdAt)), .integer(Int(times.lastSeenAt)), .integer(Int(times.idleExpiresAt)),
            .integer(Int(times.absoluteExpiresAt)), .integer(Int(times.idleSeconds)), Self.text(client.ip),
            Self.text(client.userAgent),
        ]
        let rows = try await joining(policy.userID(of: data), key: id.storeKey, now: now, "create") {
            connection throws(StoreError) in
            (try await connection.query("create", Self.insertSQL, binds), true)
        }
        guard let row = rows.first else {
            throw StoreError(.protocolError, "insert returned no row")
        }
        return try Self.session(SessionTicket(id.bytes), row)
    }

    public func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard case .object = patch else { throw StoreError(.protocolError, "a merge patch must be a JSON object") }
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let binds: [SQLiteData] = [
            .text(id.storeKey), .text(JSONSerializer.string(patch)), .text(policy.userKey), .integer(Int(now)),
        ]
        let rows: [SQLiteRow]
        if policy.maxPerUser > 0, case .object(let members) = patch, let user = policy.userChange(in: members) ?? nil {
            // The session may join `user`: the bound applies when it was someone else's (or no one's).
            rows = try await joining(user, key: id.storeKey, now: now, "patch") { connection throws(StoreError) in
                let before = try await connection.query("patch", Self.userOfSQL, [.text(id.storeKey)])
                let rows = try await connection.query("patch", Self.patchSQL, binds)
                let joined = !rows.isEmpty && before.first?.column("user_id") != .text(user)
                return (rows, joined)
            }
        } else {
            rows = try await run("patch", Self.patchSQL, binds)
        }
        return try rows.first.map { row throws(StoreError) in try Self.session(session.ticket, row) }
    }

    public func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let old = SessionID(ticket: session.ticket) else { return nil }
        let fresh = SessionID(bytes: random.bytes(SessionID.byteCount))!
        let binds: [SQLiteData] = [.text(old.storeKey), .text(fresh.storeKey), .text(fresh.handle), .integer(Int(now))]
        let rows = try await run("rotate", Self.rotateSQL, binds)
        return try rows.first.map { row throws(StoreError) in try Self.session(SessionTicket(fresh.bytes), row) }
    }

    public func destroy(_ session: StoredSession) async throws(StoreError) {
        guard let id = SessionID(ticket: session.ticket) else { return }
        _ = try await run("destroy", Self.deleteSQL, [.text(id.storeKey)])
    }

    public func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let rows = try await run("touch", Self.touchSQL, [.text(id.storeKey), .integer(Int(now)), Self.text(client.ip)])
        return try rows.first.map { row throws(StoreError) in try Self.session(session.ticket, row) }
    }

    public func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let binds: [SQLiteData] = [.text(id.storeKey), .integer(Int(now)), .integer(Int(seconds))]
        let rows = try await run("set lifetime", Self.setLifetimeSQL, binds)
        return try rows.first.map { row throws(StoreError) in try Self.session(session.ticket, row) }
    }

    public func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int {
        let keep = keeping.flatMap { SessionID(ticket: $0)?.storeKey } ?? ""
        return try await run("revoke", Self.revokeSQL, [.text(userID), .text(keep), .integer(Int(now))]).count
    }

    /// One indexed query on `user_id`; expired rows are left to the sweeper.
    public func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        let rows = try await run("list", Self.listSQL, [.text(userID), .integer(Int(now))])
        var summaries: [SessionSummary] = []
        summaries.reserveCapacity(rows.count)
        for row in rows { summaries.append(try Self.summary(row)) }
        return summaries.sorted(by: SessionSummary.mostRecentFirst)
    }

    /// One `DELETE` by the indexed `handle` column (schema version 3).
    public func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        let rows = try await run("revoke", Self.revokeHandleSQL, [.text(handle), Self.text(userID), .integer(Int(now))])
        return !rows.isEmpty
    }

    /// Exact: one `count(*)` over the expiry index, linear in the live sessions — cheap enough
    /// for the stats endpoint, not for a request path.
    public func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? {
        let rows = try await run("count", Self.countSQL, [.integer(Int(now))])
        guard case .integer(let count)? = rows.first?.column("live"), count >= 0 else {
            throw StoreError(.protocolError, "count returned no number")
        }
        return count
    }

    public func checkHealth() async throws(StoreError) {
        _ = try await run("health check", "SELECT 1", [])
    }

    /// Deletes at most `limit` sessions expired at `now` (one sweeper batch); returns how many.
    public func sweepExpired(now: UnixSeconds, limit: Int) async throws(StoreError) -> Int {
        try await run("sweep", Self.sweepSQL, [.integer(Int(now)), .integer(limit)]).count
    }

    // MARK: Plumbing

    /// Runs `write` and, when it made the session `key` join `user`, the `max_per_user` bound,
    /// in one `BEGIN IMMEDIATE` transaction: SQLite's write lock serialises joins across
    /// processes (and `transactionGate` within this one), so the bound is exact — each join
    /// sees every earlier one, and the session joining is never the one ended. Without a user
    /// or a bound, `write` runs as a plain statement on the main connection.
    func joining(
        _ user: String?, key: String, now: UnixSeconds, _ what: String,
        _ write: @escaping @Sendable (SQLiteHandle) async throws(StoreError) -> (rows: [SQLiteRow], joined: Bool)
    ) async throws(StoreError) -> [SQLiteRow] {
        guard policy.maxPerUser > 0, let user else {
            let connection = handle
            return try await withStoreDeadline(timeout, what) { () throws(StoreError) -> [SQLiteRow] in
                try await write(connection).rows
            }
        }
        let connection = transactionHandle
        let gate = transactionGate
        let bound = policy.maxPerUser
        return try await withStoreDeadline(timeout, what) { () throws(StoreError) -> [SQLiteRow] in
            try await gate.serialised { () throws(StoreError) -> [SQLiteRow] in
                _ = try await connection.query(what, "BEGIN IMMEDIATE")
                do throws(StoreError) {
                    let (rows, joined) = try await write(connection)
                    if joined {
                        let binds: [SQLiteData] = [.text(user), .text(key), .integer(Int(now)), .integer(bound - 1)]
                        _ = try await connection.query(what, Self.enforceSQL, binds)
                    }
                    _ = try await connection.query(what, "COMMIT")
                    return rows
                } catch {
                    _ = try? await connection.query(what, "ROLLBACK")
                    throw error
                }
            }
        }
    }

    static func text(_ value: String?) -> SQLiteData { value.map { .text($0) } ?? .null }

    /// Runs one statement under the deadline.
    func run(_ what: String, _ sql: String, _ binds: [SQLiteData]) async throws(StoreError) -> [SQLiteRow] {
        let handle = handle
        return try await withStoreDeadline(timeout, what) { () throws(StoreError) -> [SQLiteRow] in
            try await handle.query(what, sql, binds)
        }
    }

    /// The session in a row of `columns`. Every value must have the storage class the schema
    /// gives it (SQLite keeps whatever a writer put there): text for `handle` and `data`,
    /// integers in `StoredTimes.range` for the times. sqlite-nio's own `.integer` converts a
    /// REAL (trapping on one out of Int64's range) and text, so it is not used.
    static func session(_ ticket: SessionTicket, _ row: SQLiteRow) throws(StoreError) -> StoredSession {
        guard case .text(let text)? = row.column("data") else {
            throw StoreError(.corrupt, "session row has a missing or non-text data column")
        }
        let summary = try summary(row)
        guard case .object(let data)? = try? JSONParser.parse(text) else {
            throw StoreError(.corrupt, "session data is not a JSON object")
        }
        return StoredSession(
            ticket: ticket, handle: summary.handle, data: data, times: summary.times, metadata: summary.metadata)
    }

    /// The handle, times and metadata in a row of `summaryColumns`. Metadata columns are text
    /// or NULL (rows from before schema version 3, or an unknown client).
    static func summary(_ row: SQLiteRow) throws(StoreError) -> SessionSummary {
        guard case .text(let handle)? = row.column("handle") else {
            throw StoreError(.corrupt, "session row has a missing or non-text handle column")
        }
        var numbers: [Int64] = []
        for name in ["created_at", "last_seen_at", "idle_expires_at", "absolute_expires_at", "idle_seconds"] {
            guard case .integer(let value)? = row.column(name), StoredTimes.range.contains(Int64(value)) else {
                throw StoreError(.corrupt, "session row column \(name) is not a time in 1970...9999")
            }
            numbers.append(Int64(value))
        }
        var metadata: [String?] = []
        for name in SQLiteSchema.metadataColumns {
            switch row.column(name) {
            case .text(let text)?: metadata.append(text)
            case .null?, nil: metadata.append(nil)
            default: throw StoreError(.corrupt, "session row column \(name) is not text")
            }
        }
        let times = SessionTimes(
            createdAt: numbers[0], lastSeenAt: numbers[1], idleExpiresAt: numbers[2], absoluteExpiresAt: numbers[3],
            idleSeconds: numbers[4])
        return SessionSummary(
            handle: handle, times: times,
            metadata: SessionMetadata(createdIP: metadata[0], lastIP: metadata[1], userAgent: metadata[2]))
    }

    /// A `StoreError` naming the SQLite result class, never SQLite's message (it may quote data).
    static func storeError(_ error: any Error, _ what: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? SQLiteError else {
            return StoreError(.unavailable, "\(what) failed: \(type(of: error))")
        }
        switch error.reason {
        case .corrupt, .notADatabase, .format:
            return StoreError(.corrupt, "\(what) failed: database file is damaged (\(error.reason))")
        case .tooBig:
            return StoreError(.tooLarge, "\(what) failed: value too large")
        case .busy, .locked, .ioError, .full, .cantOpen, .readOnly, .permission, .noMemory, .misuse, .auth:
            return StoreError(.unavailable, "\(what) failed: \(error.reason)")
        default:
            return StoreError(.protocolError, "\(what) failed: \(error.reason)")
        }
    }
}
