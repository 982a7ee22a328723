import PostgresNIO
import SessionGateCore

extension PostgresSessionStore {
    /// Brings the schema to the newest version; returns the versions this call applied.
    ///
    /// One transaction holds `pg_advisory_xact_lock`, reads the applied versions and applies the
    /// missing ones, so replicas starting at once migrate exactly once and a failure leaves the
    /// schema as it was. Safe to call any number of times.
    @discardableResult
    public func migrate() async throws(StoreError) -> [Int] {
        let applied: [Int]
        do {
            applied = try await client.withTransaction(logger: logger) { connection in
                try await Self.migrate(on: connection, logger: self.logger)
            }
        } catch {
            throw Self.storeError(error, "migration")
        }
        migrated.store(true, ordering: .releasing)
        if !applied.isEmpty {
            logger.info("postgres schema migrated", metadata: ["versions": "\(applied)"])
        }
        return applied
    }

    /// The schema versions recorded in the migrations table (empty when it does not exist).
    public func appliedSchemaVersions() async throws(StoreError) -> [Int] {
        do {
            let exists =
                try await client.query(
                    "SELECT to_regclass(\(PostgresSchema.migrationsTable)) IS NOT NULL", logger: logger
                ).collect().first?.decode(Bool.self) ?? false
            guard exists else { return [] }
            return try await client.query(
                "SELECT version FROM \(unescaped: PostgresSchema.migrationsTable) ORDER BY version", logger: logger
            ).collect().map { Int(try $0.decode(Int32.self)) }
        } catch {
            throw Self.storeError(error, "schema version read")
        }
    }

    /// Runs `migrate()` unless it already succeeded in this process.
    func ensureMigrated() async throws(StoreError) {
        guard !migrated.load(ordering: .acquiring) else { return }
        try await migrate()
    }

    private static func migrate(on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.advisoryLockKey))", logger: logger)
            .consume()
        // No DDL when the table exists: a DBA-created schema may be used by a role without CREATE.
        var exists = false
        for try await found in try await connection.query(
            "SELECT to_regclass(\(PostgresSchema.migrationsTable)) IS NOT NULL", logger: logger
        ).decode(Bool.self) {
            exists = found
        }
        if !exists {
            try await connection.query(PostgresQuery(unsafeSQL: PostgresSchema.createMigrationsTable), logger: logger)
                .consume()
        }
        var done = Set<Int>()
        for try await version in try await connection.query(
            "SELECT version FROM \(unescaped: PostgresSchema.migrationsTable)", logger: logger
        ).decode(Int32.self) {
            done.insert(Int(version))
        }
        var applied: [Int] = []
        for migration in PostgresSchema.migrations where !done.contains(migration.version) {
            for statement in migration.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).consume()
            }
            let record = PostgresSchema.recordStatement(for: migration, appliedAt: "extract(epoch FROM now())::bigint")
            try await connection.query(PostgresQuery(unsafeSQL: record), logger: logger).consume()
            applied.append(migration.version)
        }
        return applied
    }
}

extension PostgresRowSequence {
    /// Drains the rows (releasing the pooled connection).
    func consume() async throws {
        for try await _ in self {}
    }
}
