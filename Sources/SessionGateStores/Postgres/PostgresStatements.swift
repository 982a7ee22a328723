import PostgresNIO
import SessionGateCore

/// The store's statements, prepared once per pooled connection. Each is a single statement, so
/// every store call is one round trip and every write is atomic on its own.
enum PostgresStatements {
    static let table = PostgresSchema.sessionsTable
    static let columns = "handle, data, created_at, last_seen_at, idle_expires_at, absolute_expires_at, idle_seconds"
    /// `$now` is the parameter holding the proxy's clock.
    static func live(_ now: String) -> String { "idle_expires_at > \(now) AND absolute_expires_at > \(now)" }

    /// A row as every statement returns it.
    struct SessionRow: Sendable {
        var handle: String
        var dataText: String
        var times: SessionTimes

        init(_ row: PostgresRow) throws {
            let (handle, data, created, lastSeen, idleExpires, absoluteExpires, idleSeconds) = try row.decode(
                (String, String, Int64, Int64, Int64, Int64, Int64).self)
            self.handle = handle
            self.dataText = data
            self.times = SessionTimes(
                createdAt: created, lastSeenAt: lastSeen, idleExpiresAt: idleExpires,
                absoluteExpiresAt: absoluteExpires, idleSeconds: idleSeconds)
        }
    }

    struct Load: PostgresPreparedStatement {
        static let name = "sessiongate_load_v1"
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

    struct Insert: PostgresPreparedStatement {
        static let name = "sessiongate_insert_v1"
        static let sql = """
            INSERT INTO \(table) (store_key, handle, data, user_id, created_at, last_seen_at, idle_expires_at, \
            absolute_expires_at, idle_seconds) \
            VALUES ($1, $2, $3::jsonb, sessiongate_user_id($3::jsonb, $4), $5, $6, $7, $8, $9) RETURNING \(columns)
            """
        var storeKey: String
        var handle: String
        var dataText: String
        var userKey: String
        var times: SessionTimes

        func makeBindings() -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 9)
            bindings.append(storeKey)
            bindings.append(handle)
            bindings.append(dataText)
            bindings.append(userKey)
            bindings.append(times.createdAt)
            bindings.append(times.lastSeenAt)
            bindings.append(times.idleExpiresAt)
            bindings.append(times.absoluteExpiresAt)
            bindings.append(times.idleSeconds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> SessionRow { try SessionRow(row) }
    }

    /// RFC 7396 merge of `$2` into the *current* row, and the user column recomputed from the
    /// merged data, in one statement: concurrent patches of different keys all survive.
    struct Patch: PostgresPreparedStatement {
        static let name = "sessiongate_patch_v1"
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
        static let name = "sessiongate_rotate_v1"
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
        static let name = "sessiongate_touch_v1"
        static let sql = """
            UPDATE \(table) SET last_seen_at = $2, idle_expires_at = LEAST($2 + idle_seconds, absolute_expires_at) \
            WHERE store_key = $1 AND \(live("$2")) RETURNING \(columns)
            """
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

    struct SetLifetime: PostgresPreparedStatement {
        static let name = "sessiongate_set_lifetime_v1"
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
