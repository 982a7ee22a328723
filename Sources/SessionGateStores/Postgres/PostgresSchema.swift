/// The Postgres schema as versioned migrations, applied by `PostgresSessionStore.migrate()`
/// under a transaction-scoped advisory lock so replicas starting together migrate once.
///
/// Times are `bigint` Unix seconds chosen by the proxy (never the database clock), so expiry
/// agrees across replicas and tests can fast-forward.
public enum PostgresSchema {
    /// The table recording applied migrations.
    public static let migrationsTable = "sessiongate_schema_migrations"
    /// The sessions table.
    public static let sessionsTable = "sessiongate_sessions"
    /// Key of the `pg_advisory_xact_lock` that serialises migrations (ASCII "sessgate").
    public static let advisoryLockKey: Int64 = 0x7365_7373_6761_7465

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS \(migrationsTable) (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_at bigint NOT NULL
        )
        """

    /// Every migration, oldest first. Never edit a released one: append a new version.
    public static let migrations: [SQLMigration] = [
        SQLMigration(
            version: 1, name: "sessions table and user index",
            statements: [
                """
                CREATE TABLE IF NOT EXISTS \(sessionsTable) (
                    store_key text PRIMARY KEY,
                    handle text NOT NULL,
                    data jsonb NOT NULL,
                    user_id text,
                    created_at bigint NOT NULL,
                    last_seen_at bigint NOT NULL,
                    idle_expires_at bigint NOT NULL,
                    absolute_expires_at bigint NOT NULL,
                    idle_seconds bigint NOT NULL
                )
                """,
                """
                CREATE INDEX IF NOT EXISTS \(sessionsTable)_user_id
                    ON \(sessionsTable) (user_id) WHERE user_id IS NOT NULL
                """,
            ]),
        SQLMigration(
            version: 2, name: "merge patch function, user id function and sweeper index",
            statements: [
                // RFC 7396 §2, recursively: an object patch merges member by member (null removes),
                // anything else replaces the target.
                """
                CREATE OR REPLACE FUNCTION sessiongate_merge_patch(target jsonb, patch jsonb)
                RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
                DECLARE
                    result jsonb;
                    member record;
                BEGIN
                    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
                        RETURN patch;
                    END IF;
                    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
                        result := '{}'::jsonb;
                    ELSE
                        result := target;
                    END IF;
                    FOR member IN SELECT key, value FROM jsonb_each(patch) LOOP
                        IF jsonb_typeof(member.value) = 'null' THEN
                            result := result - member.key;
                        ELSE
                            result := jsonb_set(result, ARRAY[member.key],
                                sessiongate_merge_patch(result -> member.key, member.value));
                        END IF;
                    END LOOP;
                    RETURN result;
                END;
                $$
                """,
                // The user index column: strings as they are, numbers in their JSON spelling,
                // anything else (or absent) is no user. Matches SessionPolicy.userID(of:).
                """
                CREATE OR REPLACE FUNCTION sessiongate_user_id(data jsonb, user_key text)
                RETURNS text LANGUAGE sql IMMUTABLE AS $$
                    SELECT CASE jsonb_typeof(data -> user_key)
                        WHEN 'string' THEN data ->> user_key
                        WHEN 'number' THEN data ->> user_key
                    END
                $$
                """,
                """
                CREATE INDEX IF NOT EXISTS \(sessionsTable)_expiry
                    ON \(sessionsTable) ((LEAST(idle_expires_at, absolute_expires_at)))
                """,
            ]),
        SQLMigration(
            version: 3, name: "session metadata columns and handle index",
            statements: [
                // Nullable columns without a default: a catalog change, no table rewrite. It takes
                // the table's ACCESS EXCLUSIVE lock for that instant (after waiting for running
                // statements), so rows from before simply read NULL (no metadata).
                """
                ALTER TABLE \(sessionsTable) \
                \(metadataColumns.map { "ADD COLUMN IF NOT EXISTS \($0) text" }.joined(separator: ", "))
                """,
                // Revoking by `sid`. Migrations run in one transaction (advisory lock, exactly-once),
                // where CREATE INDEX CONCURRENTLY is not allowed; a plain build blocks writes (not
                // reads) to the table while it runs. For a table too large for that, create it by
                // hand first — `CREATE INDEX CONCURRENTLY IF NOT EXISTS sessiongate_sessions_handle
                // ON sessiongate_sessions (handle)` — and this statement does nothing
                // (docs/configuration.md, `[store]`).
                "CREATE INDEX IF NOT EXISTS \(sessionsTable)_handle ON \(sessionsTable) (handle)",
            ]),
    ]

    /// The metadata columns of version 3: the client IP at creation, the last one seen, the
    /// `User-Agent` (at most `ClientInfo.maxUserAgentBytes`). NULL when unknown or older.
    static let metadataColumns = ["created_ip", "last_ip", "user_agent"]

    /// Key class of the per-user `pg_advisory_xact_lock(class, user hash)` that serialises
    /// sessions joining a user under `max_per_user` (ASCII "sgmx"; the two-key space never
    /// meets the one-key migration lock).
    static let userLockClass: Int32 = 0x7367_6D78

    /// The whole schema as one idempotent script (what `sql/postgres.sql` holds).
    public static var sql: String {
        SQLSchemaText.render(
            dialect: "PostgreSQL",
            preamble: ["BEGIN", "SELECT pg_advisory_xact_lock(\(advisoryLockKey))", createMigrationsTable],
            migrations: migrations,
            record: { recordStatement(for: $0, appliedAt: "extract(epoch FROM now())::bigint") },
            postamble: ["COMMIT"])
    }

    static func recordStatement(for migration: SQLMigration, appliedAt: String) -> String {
        let name = migration.name.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''")
        return """
            INSERT INTO \(migrationsTable) (version, name, applied_at) \
            VALUES (\(migration.version), '\(name)', \(appliedAt)) ON CONFLICT (version) DO NOTHING
            """
    }
}
