/// The SQLite schema: the same tables, columns, versions and migrations table as Postgres
/// (`PostgresSchema`), in SQLite's dialect. Data is JSON text merged with `json_patch()`,
/// SQLite's RFC 7396 implementation.
public enum SQLiteSchema {
    public static let migrationsTable = PostgresSchema.migrationsTable
    public static let sessionsTable = PostgresSchema.sessionsTable

    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS \(migrationsTable) (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        )
        """

    /// Every migration, oldest first; versions match `PostgresSchema.migrations`.
    public static let migrations: [SQLMigration] = [
        SQLMigration(
            version: 1, name: "sessions table and user index",
            statements: [
                """
                CREATE TABLE IF NOT EXISTS \(sessionsTable) (
                    store_key TEXT PRIMARY KEY NOT NULL,
                    handle TEXT NOT NULL,
                    data TEXT NOT NULL,
                    user_id TEXT,
                    created_at INTEGER NOT NULL,
                    last_seen_at INTEGER NOT NULL,
                    idle_expires_at INTEGER NOT NULL,
                    absolute_expires_at INTEGER NOT NULL,
                    idle_seconds INTEGER NOT NULL
                ) WITHOUT ROWID
                """,
                """
                CREATE INDEX IF NOT EXISTS \(sessionsTable)_user_id
                    ON \(sessionsTable) (user_id) WHERE user_id IS NOT NULL
                """,
            ]),
        SQLMigration(
            version: 2, name: "sweeper index (json_patch is built in)",
            statements: [
                // Postgres's version 2 also adds its merge-patch and user-id functions; SQLite has
                // json_patch() and json_each() built in.
                """
                CREATE INDEX IF NOT EXISTS \(sessionsTable)_expiry
                    ON \(sessionsTable) (min(idle_expires_at, absolute_expires_at))
                """
            ]),
        SQLMigration(
            version: 3, name: "session metadata columns and handle index",
            statements: metadataColumns.map { column in
                // Nullable, no default: SQLite only rewrites the table's CREATE text, never a row,
                // so the write lock is held for milliseconds whatever the table's size; rows from
                // before keep NULL (no metadata). SQLite has no ADD COLUMN IF NOT EXISTS: a second
                // hand run of the script reports "duplicate column name" for these three and goes
                // on (the sqlite3 shell does); the proxy's own runner applies each version once.
                "ALTER TABLE \(sessionsTable) ADD COLUMN \(column) TEXT"
            } + [
                // Revoking by `sid` (the admin API, `X-Session-Action: revoke <sid>`).
                "CREATE INDEX IF NOT EXISTS \(sessionsTable)_handle ON \(sessionsTable) (handle)"
            ]),
    ]

    /// The metadata columns of version 3: the client IP at creation, the last one seen, the
    /// `User-Agent` (at most `ClientInfo.maxUserAgentBytes`). NULL when unknown or older.
    static let metadataColumns = ["created_ip", "last_ip", "user_agent"]

    /// The whole schema as one idempotent script (what `sql/sqlite.sql` holds).
    public static var sql: String {
        SQLSchemaText.render(
            dialect: "SQLite",
            preamble: ["PRAGMA journal_mode = WAL", "BEGIN IMMEDIATE", createMigrationsTable],
            migrations: migrations,
            record: { recordStatement(for: $0, appliedAt: "CAST(strftime('%s', 'now') AS INTEGER)") },
            postamble: ["COMMIT"])
    }

    static func recordStatement(for migration: SQLMigration, appliedAt: String) -> String {
        let name = migration.name.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''")
        return """
            INSERT OR IGNORE INTO \(migrationsTable) (version, name, applied_at) \
            VALUES (\(migration.version), '\(name)', \(appliedAt))
            """
    }

    /// The user column computed from JSON `data` (an SQL expression) and the user key parameter:
    /// strings as they are, numbers in their JSON spelling, anything else no user. Matches
    /// `SessionPolicy.userID(of:)` and Postgres's `sessiongate_user_id`.
    static func userID(of data: String, key: String) -> String {
        """
        (SELECT CASE type WHEN 'text' THEN value WHEN 'integer' THEN CAST(value AS TEXT) \
        WHEN 'real' THEN CAST(value AS TEXT) END FROM json_each(\(data)) WHERE key = \(key))
        """
    }
}
