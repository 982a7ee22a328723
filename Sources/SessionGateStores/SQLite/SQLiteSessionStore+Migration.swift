import Logging
import SQLiteNIO
import SessionGateCore

extension SQLiteSessionStore {
    /// Brings the file's schema to the newest version; returns the versions this call applied.
    ///
    /// Runs on its own short-lived connection inside `BEGIN IMMEDIATE` (SQLite's write lock),
    /// so processes opening the file at once migrate exactly once and a failure rolls back.
    @discardableResult
    public static func migrate(path: String, logger: Logger = Logger(label: "sessiongate.store.sqlite"))
        async throws(StoreError) -> [Int]
    {
        let handle = try await SQLiteHandle.open(path: path, logger: logger)
        do {
            _ = try await handle.query("migration", "BEGIN IMMEDIATE")
        } catch {
            await handle.close()
            throw error
        }
        do {
            _ = try await handle.query("migration", SQLiteSchema.createMigrationsTable)
            let done = Set(
                try await handle.query("migration", "SELECT version FROM \(SQLiteSchema.migrationsTable)")
                    .compactMap { $0.column("version")?.integer.map { Int($0) } })
            var applied: [Int] = []
            for migration in SQLiteSchema.migrations where !done.contains(migration.version) {
                for statement in migration.statements {
                    _ = try await handle.query("migration", statement)
                }
                let record = SQLiteSchema.recordStatement(
                    for: migration, appliedAt: "CAST(strftime('%s', 'now') AS INTEGER)")
                _ = try await handle.query("migration", record)
                applied.append(migration.version)
            }
            _ = try await handle.query("migration", "COMMIT")
            await handle.close()
            if !applied.isEmpty {
                logger.info("sqlite schema migrated", metadata: ["versions": "\(applied)"])
            }
            return applied
        } catch {
            _ = try? await handle.query("migration", "ROLLBACK")
            await handle.close()
            throw error
        }
    }

    /// The schema versions recorded in the file (empty before the first migration).
    public func appliedSchemaVersions() async throws(StoreError) -> [Int] {
        let rows = try await run(
            "schema version read",
            "SELECT version FROM \(SQLiteSchema.migrationsTable) ORDER BY version", [])
        return rows.compactMap { $0.column("version")?.integer.map { Int($0) } }
    }
}
