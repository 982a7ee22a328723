import PostgresNIO
import SessionGateCore

/// The store's statements, prepared once per pooled connection. Each is a single statement, so
/// every store call is one round trip and every write is atomic on its own.
enum PostgresStatements {
    static let table = PostgresSchema.sessionsTable
    /// What a listing returns: everything but the data.
    static let summaryColumns = """
        handle, created_at, last_seen_at, idle_expires_at, absolute_expires_at, idle_seconds, \
        \(PostgresSchema.metadataColumns.joined(separator: ", "))
        """
    static let columns = "data, " + summaryColumns
    /// `$now` is the parameter holding the proxy's clock.
    static func live(_ now: String) -> String { "idle_expires_at > \(now) AND absolute_expires_at > \(now)" }

    /// A row of `columns`, as every statement that returns a session returns it.
    struct SessionRow: Sendable {
        var dataText: String
        var summary: SessionSummary

        init(_ row: PostgresRow) throws {
            try self.init(cells: row.makeRandomAccess())
        }

        /// A row read by `PreparedQuery.execute` (the future API of `PostgresLoopConnections`):
        /// postgres-nio asks for binary results there too, but describes the columns with the
        /// format the statement's `Describe` reported (text), so each cell is read as binary.
        init(binaryResultsOf row: PostgresRow) throws {
            try self.init(cells: Self.binaryCells(row))
        }

        /// A row of `LoadMany` (read the same way): the store key, then `columns`.
        static func keyed(binaryResultsOf row: PostgresRow) throws -> (storeKey: String, row: SessionRow) {
            let cells = binaryCells(row)
            guard let first = cells.first else { throw StoreError(.protocolError, "session row has no columns") }
            return (try first.decode(String.self), try SessionRow(cells: cells.dropFirst()))
        }

        private static func binaryCells(_ row: PostgresRow) -> [PostgresCell] {
            row.map { cell in
                var cell = cell
                cell.format = .binary
                return cell
            }
        }

        private init<Cells: RandomAccessCollection<PostgresCell>>(cells: Cells) throws where Cells.Index == Int {
            guard let first = cells.first else { throw StoreError(.protocolError, "session row has no columns") }
            self.dataText = try first.decode(String.self)
            self.summary = try PostgresStatements.summary(cells.dropFirst())
        }
    }

    /// A row of `summaryColumns` (listings).
    static func summary(_ row: PostgresRow) throws -> SessionSummary { try summary(row.makeRandomAccess()) }

    /// The `summaryColumns` of a row, in order (no copy of the cells).
    static func summary<Cells: RandomAccessCollection<PostgresCell>>(_ cells: Cells) throws -> SessionSummary
    where Cells.Index == Int {
        guard cells.count == 9 else { throw StoreError(.protocolError, "session row has \(cells.count) columns") }
        let start = cells.startIndex
        var numbers: [Int64] = []
        for offset in 1...5 { numbers.append(try cells[start + offset].decode(Int64.self)) }
        var texts: [String?] = []
        for offset in 6...8 { texts.append(try cells[start + offset].decode(String?.self)) }
        return SessionSummary(
            handle: try cells[start].decode(String.self),
            times: SessionTimes(
                createdAt: numbers[0], lastSeenAt: numbers[1], idleExpiresAt: numbers[2], absoluteExpiresAt: numbers[3],
                idleSeconds: numbers[4]),
            metadata: SessionMetadata(createdIP: texts[0], lastIP: texts[1], userAgent: texts[2]))
    }

    struct Load: PostgresPreparedStatement {
        static let name = "sessiongate_load_v2"
        static let sql = "SELECT \(columns) FROM \(table) WHERE store_key = $1 AND \(live("$2"))"
        var storeKey: String
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(storeKey)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    /// The loads of one event-loop round (`PostgresLoopConnections`): `$1` the distinct store keys
    /// (`text[]`), `$2` the proxy's clock; one row per live session found, its key first.
    enum LoadMany {
        static let sql = "SELECT store_key, \(columns) FROM \(table) WHERE store_key = ANY($1) AND \(live("$2"))"
    }

    struct Insert: PostgresPreparedStatement {
        static let name = "sessiongate_insert_v2"
        static let sql = """
            INSERT INTO \(table) (store_key, handle, data, user_id, created_at, last_seen_at, idle_expires_at, \
            absolute_expires_at, idle_seconds, created_ip, last_ip, user_agent) \
            VALUES ($1, $2, $3::jsonb, sessiongate_user_id($3::jsonb, $4), $5, $6, $7, $8, $9, $10, $10, $11) \
            RETURNING \(columns)
            """
        var storeKey: String
        var handle: String
        var dataText: String
        var userKey: String
        var times: SessionTimes
        var client: ClientInfo

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 11)
            bindings.append(storeKey)
            bindings.append(handle)
            bindings.append(dataText)
            bindings.append(userKey)
            bindings.append(times.createdAt)
            bindings.append(times.lastSeenAt)
            bindings.append(times.idleExpiresAt)
            bindings.append(times.absoluteExpiresAt)
            bindings.append(times.idleSeconds)
            bindings.append(client.ip)
            bindings.append(client.userAgent)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    /// RFC 7396 merge of `$2` into the *current* row, and the user column recomputed from the
    /// merged data, in one statement: concurrent patches of different keys all survive.
    struct Patch: PostgresPreparedStatement {
        static let name = "sessiongate_patch_v2"
        static let sql = """
            UPDATE \(table) SET data = sessiongate_merge_patch(data, $2::jsonb), \
            user_id = sessiongate_user_id(sessiongate_merge_patch(data, $2::jsonb), $3) \
            WHERE store_key = $1 AND \(live("$4")) RETURNING \(columns)
            """
        var storeKey: String
        var patchText: String
        var userKey: String
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(storeKey)
            bindings.append(patchText)
            bindings.append(userKey)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    struct Rotate: PostgresPreparedStatement {
        static let name = "sessiongate_rotate_v2"
        static let sql = """
            UPDATE \(table) SET store_key = $2, handle = $3 WHERE store_key = $1 AND \(live("$4")) RETURNING \(columns)
            """
        var oldKey: String
        var newKey: String
        var newHandle: String
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(oldKey)
            bindings.append(newKey)
            bindings.append(newHandle)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    struct Delete: PostgresPreparedStatement {
        static let name = "sessiongate_delete_v1"
        static let sql = "DELETE FROM \(table) WHERE store_key = $1"
        typealias Row = Void
        var storeKey: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(storeKey)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    struct Touch: PostgresPreparedStatement {
        static let name = "sessiongate_touch_v2"
        static let sql = """
            UPDATE \(table) SET last_seen_at = $2, idle_expires_at = LEAST($2 + idle_seconds, absolute_expires_at), \
            last_ip = COALESCE($3::text, last_ip) WHERE store_key = $1 AND \(live("$2")) RETURNING \(columns)
            """
        var storeKey: String
        var now: Int64
        var ip: String?

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(storeKey)
            bindings.append(now)
            bindings.append(ip)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    struct SetLifetime: PostgresPreparedStatement {
        static let name = "sessiongate_set_lifetime_v2"
        static let sql = """
            UPDATE \(table) SET last_seen_at = $2, idle_seconds = $3, idle_expires_at = $2 + $3, \
            absolute_expires_at = $2 + $3 WHERE store_key = $1 AND \(live("$2")) RETURNING \(columns)
            """
        var storeKey: String
        var now: Int64
        var seconds: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(storeKey)
            bindings.append(now)
            bindings.append(seconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    /// Ends the user's live sessions except `$2` ('' keeps none); counts them.
    struct RevokeUser: PostgresPreparedStatement {
        static let name = "sessiongate_revoke_user_v1"
        static let sql = """
            WITH ended AS (DELETE FROM \(table) WHERE user_id = $1 AND store_key <> $2 AND \(live("$3")) RETURNING 1) \
            SELECT count(*) FROM ended
            """
        var userID: String
        var keepKey: String
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(userID)
            bindings.append(keepKey)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }

    /// The live sessions of a user (`user_id` index).
    struct ListUser: PostgresPreparedStatement {
        static let name = "sessiongate_list_user_v1"
        static let sql = "SELECT \(summaryColumns) FROM \(table) WHERE user_id = $1 AND \(live("$2"))"
        var userID: String
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(userID)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionSummary { try summary(row) }
    }

    /// Ends the live session with handle `$1` (`handle` index), only if user `$2` owns it when
    /// `$2` is not NULL; counts it.
    struct RevokeHandle: PostgresPreparedStatement {
        static let name = "sessiongate_revoke_handle_v1"
        static let sql = """
            WITH ended AS (DELETE FROM \(table) WHERE handle = $1 AND ($2::text IS NULL OR user_id = $2::text) \
            AND \(live("$3")) RETURNING 1) SELECT count(*) FROM ended
            """
        var handle: String
        var userID: String?
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(handle)
            bindings.append(userID)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }

    /// The live sessions, counted over the expiry index (`LEAST(…)` is its expression).
    struct CountLive: PostgresPreparedStatement {
        static let name = "sessiongate_count_live_v1"
        static let sql = "SELECT count(*) FROM \(table) WHERE LEAST(idle_expires_at, absolute_expires_at) > $1"
        var now: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(now)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }

    /// The user of a session, before a patch that may change it.
    struct UserOf: PostgresPreparedStatement {
        static let name = "sessiongate_user_of_v1"
        static let sql = "SELECT user_id FROM \(table) WHERE store_key = $1"
        var storeKey: String

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(storeKey)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> String? { try row.decode(String?.self) }
    }

    /// Takes the transaction-scoped lock that serialises sessions joining one user.
    struct LockUser: PostgresPreparedStatement {
        static let name = "sessiongate_lock_user_v1"
        static let sql = "SELECT pg_advisory_xact_lock($1::int4, $2::int4)"
        var userHash: Int32

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(PostgresSchema.userLockClass)
            bindings.append(userHash)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws {}
    }

    /// `max_per_user`: ends the live sessions of user `$1` other than `$2` past the `$4` most
    /// recently seen (`SessionSummary.mostRecentFirst`: ties by handle in byte order); counts them.
    struct Enforce: PostgresPreparedStatement {
        static let name = "sessiongate_enforce_v1"
        static let sql = """
            WITH ended AS (DELETE FROM \(table) WHERE store_key IN (SELECT store_key FROM \(table) WHERE user_id = $1 \
            AND store_key <> $2 AND \(live("$3")) ORDER BY last_seen_at DESC, handle COLLATE "C" OFFSET $4) \
            RETURNING 1) SELECT count(*) FROM ended
            """
        var userID: String
        var keepKey: String
        var now: Int64
        var keeping: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(userID)
            bindings.append(keepKey)
            bindings.append(now)
            bindings.append(keeping)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }

    /// One sweeper batch: at most `$2` expired rows, skipping rows other replicas hold.
    struct SweepBatch: PostgresPreparedStatement {
        static let name = "sessiongate_sweep_v1"
        static let sql = """
            WITH ended AS (DELETE FROM \(table) WHERE store_key IN (SELECT store_key FROM \(table) \
            WHERE LEAST(idle_expires_at, absolute_expires_at) <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING 1) \
            SELECT count(*) FROM ended
            """
        var now: Int64
        var limit: Int64

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(now)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
    }
}
