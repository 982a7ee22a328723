import Foundation
import PostgresNIO
import SessionGateCore
import SessionGateStores
import Synchronization
import Testing

/// Against a real PostgreSQL (`SESSIONGATE_TEST_POSTGRES_URL`, started by scripts/lib/postgres.sh).
@Suite struct PostgresStoreTests {
    @Test func conformance() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withClient { client in
                try await StoreConformance(name: "postgres") { policy in
                    let store = PostgresSessionStore(client: client, policy: policy, timeout: .seconds(5))
                    try await store.migrate()
                    return store
                }.runAll()
            }
        }
    }

    @Test func schemaFileMatchesEmbeddedSQL() throws {
        try expectSchemaFile("sql/postgres.sql", equals: PostgresSessionStore.schemaSQL)
    }

    @Test func handWrittenSchemaIsRecognised() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withClient { client in
                // What a DBA does with `psql -f sql/postgres.sql`, twice (the script is idempotent),
                // on one connection (the script is one transaction).
                let statements = scriptStatements(PostgresSessionStore.schemaSQL)
                #expect(statements.first == "BEGIN" && statements.last == "COMMIT")
                try await client.withConnection { connection in
                    for _ in 0..<2 {
                        for statement in statements {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: connection.logger)
                                .consumeAll()
                        }
                    }
                }
                let store = PostgresSessionStore(client: client, policy: StoreConformance.policy)
                #expect(try await store.migrate() == [], "the store re-applied a migration the script had applied")
                #expect(try await store.appliedSchemaVersions() == PostgresSchema.migrations.map(\.version))
                let session = try await store.create(data: ["user_id": "dba"], now: 1000)
                #expect(try await store.patch(session, with: ["x": 1], now: 1001)?.data == ["user_id": "dba", "x": 1])
            }
        }
    }

    /// A schema an older release left (version 1, or 2: the one before session metadata) with a
    /// session in it: the migration adds the rest, and the old row keeps working with no
    /// metadata — loaded, patched, listed, touched, revoked by its handle.
    @Test(arguments: [1, 2])
    func upgradesAnOlderDatabase(version: Int) async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            let ticket = SessionTicket([UInt8](repeating: 42, count: 32))
            let storeKey = SessionID(bytes: ticket.bytes)!.storeKey
            let older = PostgresSchema.migrations.filter { $0.version <= version }
            try await database.withClient { client in
                try await client.query(PostgresQuery(unsafeSQL: PostgresSchemaTestSQL.createMigrationsTable)).consumeAll()
                for migration in older {
                    for statement in migration.statements {
                        try await client.query(PostgresQuery(unsafeSQL: statement)).consumeAll()
                    }
                    try await client.query(
                        "INSERT INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (\(Int32(migration.version)), 'old', 0)"
                    ).consumeAll()
                }
                try await client.query(
                    """
                    INSERT INTO sessiongate_sessions (store_key, handle, data, user_id, created_at, last_seen_at,
                    idle_expires_at, absolute_expires_at, idle_seconds)
                    VALUES (\(storeKey), 'old-handle', '{"user_id":"old","n":1}'::jsonb, 'old', 1000, 1000, 2800, 9000, 1800)
                    """
                ).consumeAll()
            }
            try await database.withClient { client in
                let store = PostgresSessionStore(client: client, policy: StoreConformance.policy)
                let all = PostgresSchema.migrations.map(\.version)
                #expect(try await store.appliedSchemaVersions() == older.map(\.version))
                #expect(try await store.migrate() == all.filter { $0 > version })
                #expect(try await store.appliedSchemaVersions() == all)
                let indexes = try await client.query(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'sessiongate_sessions'"
                ).collect().map { try $0.decode(String.self) }
                #expect(indexes.contains("sessiongate_sessions_handle"), "\(indexes)")
                // v2 brought the merge-patch function.
                let old = try #require(try await store.load(ticket, now: 1500))
                #expect(try await store.patch(old, with: ["n": 2], now: 1500)?.data == ["user_id": "old", "n": 2])
                _ = try await store.patch(old, with: ["n": 1], now: 1500)
                try await StoreConformance.expectOldSessionWorks(store, ticket: ticket)
                #expect(try await store.migrate() == [])
            }
        }
    }

    @Test func replicasStartingTogetherMigrateOnce() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await database.withClient { client in
                            try await PostgresSessionStore(client: client, policy: StoreConformance.policy).migrate()
                        }
                    }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            let all = PostgresSchema.migrations.map(\.version)
            #expect(applied.filter { !$0.isEmpty } == [all], "migrations applied by several replicas: \(applied)")
            try await database.withClient { client in
                let rows = try await client.query("SELECT version FROM sessiongate_schema_migrations ORDER BY version")
                    .collect().map { Int(try $0.decode(Int32.self)) }
                #expect(rows == all)
            }
        }
    }

    /// RFC 7396 Appendix A, through `sessiongate_merge_patch`, against the Swift reference.
    @Test(arguments: MergePatchExamples.rfc7396AppendixA)
    func mergePatchFunctionFollowsRFC7396(_ example: MergePatchExamples.Example) async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withStore { store in
                let rows = try await store.client.query(
                    "SELECT sessiongate_merge_patch(\(example.target)::jsonb, \(example.patch)::jsonb)::text"
                ).collect()
                let text = try #require(try rows.first?.decode(String.self))
                #expect(try JSONParser.parse(text) == example.expected(), "target \(example.target) patch \(example.patch)")
            }
        }
    }

    @Test func patchesFromTwoReplicasAllSurvive() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            let session = try await database.withStore { try await $0.create(data: ["base": true], now: 1000) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in 0..<2 {
                    group.addTask {
                        try await database.withStore { store in
                            try await withThrowingTaskGroup(of: Void.self) { patches in
                                for index in 0..<20 {
                                    patches.addTask {
                                        _ = try await store.patch(
                                            session, with: .object(["r\(replica)k\(index)": .int(Int64(index))]), now: 1001)
                                    }
                                }
                                try await patches.waitForAll()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let loaded = try await database.withStore { try #require(try await $0.load(session.ticket, now: 1002)) }
            #expect(loaded.data.count == 41, "lost patches: \(loaded.data.keys.sorted())")
        }
    }

    @Test func userColumnFollowsTheData() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withStore { store in
                @Sendable func userColumn(_ session: StoredSession) async throws -> String? {
                    let key = SessionID(bytes: session.ticket.bytes)!.storeKey
                    let rows = try await store.client.query(
                        "SELECT user_id FROM sessiongate_sessions WHERE store_key = \(key)"
                    ).collect()
                    return try rows.first?.decode(String?.self)
                }
                let session = try await store.create(data: ["cart": 1], now: 1000)
                #expect(try await userColumn(session) == nil)
                _ = try await store.patch(session, with: ["user_id": "alice"], now: 1001)
                #expect(try await userColumn(session) == "alice", "login not indexed")
                _ = try await store.patch(session, with: ["cart": 2], now: 1002)
                #expect(try await userColumn(session) == "alice", "unrelated patch dropped the user")
                _ = try await store.patch(session, with: ["user_id": 42], now: 1003)
                #expect(try await userColumn(session) == "42")
                _ = try await store.patch(session, with: ["user_id": ["nested": true]], now: 1004)
                #expect(try await userColumn(session) == nil, "a non-scalar user field is no user")
                _ = try await store.patch(session, with: ["user_id": "bob"], now: 1005)
                _ = try await store.patch(session, with: ["user_id": nil], now: 1006)
                #expect(try await userColumn(session) == nil, "logout left the user indexed")
                let created = try await store.create(data: ["user_id": "carol"], now: 1007)
                #expect(try await userColumn(created) == "carol")
            }
        }
    }

    @Test func sweeperDeletesExpiredRowsInBatches() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withStore(policy: SessionPolicy(idleTimeout: 60, absoluteTimeout: 600, userKey: "user_id")) {
                store in
                for _ in 0..<5 { _ = try await store.create(data: [:], now: 1000) }  // expire at 1060
                let fresh = try await store.create(data: ["keep": true], now: 1050)  // expires at 1110
                @Sendable func rowCount() async throws -> Int {
                    let rows = try await store.client.query("SELECT count(*) FROM sessiongate_sessions").collect()
                    return Int(try rows[0].decode(Int64.self))
                }
                #expect(try await store.sweepExpired(now: 1059, limit: 100) == 0)
                #expect(try await store.sweepExpired(now: 1060, limit: 2) == 2, "batch bound ignored")
                #expect(try await rowCount() == 4)
                let clock = ManualClock(1060)
                let sweeper = SessionSweeper(interval: .milliseconds(20), batchSize: 2, clock: clock) { now, limit in
                    try await store.sweepExpired(now: now, limit: limit)
                }
                #expect(await sweeper.sweepOnce() == 3, "one tick should run batches until a short one")
                #expect(try await rowCount() == 1)
                #expect(try await store.load(fresh.ticket, now: 1060) != nil)
                // As a running service with a short interval: the last row goes once the clock passes it.
                clock.advance(by: 100)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await sweeper.run() }
                    let deadline = ContinuousClock.now + .seconds(10)
                    while try await rowCount() > 0, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    group.cancelAll()
                }
                #expect(try await rowCount() == 0, "the sweeper service never swept")
            }
        }
    }

    @Test func storeServiceRunsPoolMigrationAndSweeper() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            // Nothing but the service runs the client: this is the lead's ServiceGroup wiring.
            let client = PostgresClient(configuration: try database.configuration)
            let policy = SessionPolicy(idleTimeout: 60, absoluteTimeout: 600, userKey: "user_id")
            let store = PostgresSessionStore(client: client, policy: policy, timeout: .seconds(5))
            let clock = ManualClock(1000)
            let service = PostgresStoreService(store: store, clock: clock, sweepInterval: .milliseconds(20))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                defer { group.cancelAll() }
                let deadline = ContinuousClock.now + .seconds(10)
                while (try? await store.appliedSchemaVersions()) != PostgresSchema.migrations.map(\.version),
                    ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(try await store.appliedSchemaVersions() == PostgresSchema.migrations.map(\.version), "the service did not migrate")
                let session = try await store.create(data: [:], now: 1000)
                clock.advance(by: 61)
                var remaining = 1
                while remaining > 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                    let rows = try await client.query("SELECT count(*) FROM sessiongate_sessions").collect()
                    remaining = Int(try rows[0].decode(Int64.self))
                }
                #expect(remaining == 0, "the service's sweeper never swept")
                #expect(try await store.load(session.ticket, now: 1000) == nil)
            }
        }
    }

    /// A cancelled service returns even when its migration was waiting on the pool it stopped
    /// (postgres-nio may never answer that query): cancelled at several points of its start, with
    /// and without a `create` racing it. The wait is a bound for a hang, not a timing.
    @Test func cancelledServiceReturnsWhateverItWasWaitingFor() async throws {
        for attempt in 0..<10 {
            let returned = try await PostgresTestDatabase.withFreshSchema { database in
                let store = PostgresSessionStore(
                    client: PostgresClient(configuration: try database.configuration), policy: StoreConformance.policy)
                let service = PostgresStoreService(store: store, clock: ManualClock(1000))
                let finished = FinishedFlag()
                let running = Task {
                    try? await service.run()
                    finished.set()
                }
                if attempt.isMultiple(of: 2) { _ = try? await store.create(data: [:], now: 1000) }
                try await Task.sleep(for: .milliseconds(attempt * 3))
                running.cancel()
                let deadline = ContinuousClock.now + .seconds(30)
                while !finished.isSet, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                return finished.isSet
            }
            #expect(returned, "a cancelled PostgresStoreService did not return (attempt \(attempt))")
        }
    }

    @Test func sessionsSurviveAStoreRestart() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            let session = try await database.withStore { try await $0.create(data: ["user_id": "restart"], now: 1000) }
            let loaded = try await database.withStore { try await $0.load(session.ticket, now: 1001) }
            #expect(loaded?.data == ["user_id": "restart"])
            #expect(loaded?.handle == session.handle)
        }
    }

    /// A row the store did not write is an error, never "no session" and never handed on:
    /// times outside 1970...9999 (the proxy subtracts them from its clock, which would
    /// overflow) and columns of another type (a schema changed by hand) are a `.protocolError`.
    @Test func rowsOfTheWrongShapeAreErrors() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withStore { store in
                let now: UnixSeconds = 1000
                for (assignment, code) in [
                    ("last_seen_at = -9223372036854775808", StoreError.Code.protocolError),
                    ("created_at = 9223372036854775807", .protocolError), ("idle_seconds = -5", .protocolError),
                    ("data = '[1]'::jsonb", .corrupt),
                ] {
                    let session = try await store.create(data: ["user_id": "u"], now: now)
                    let key = SessionID(bytes: session.ticket.bytes)!.storeKey
                    try await store.client.query(
                        PostgresQuery(unsafeSQL: "UPDATE sessiongate_sessions SET \(assignment) WHERE store_key = '\(key)'")
                    ).consumeAll()
                    do throws(StoreError) {
                        let loaded = try await store.load(session.ticket, now: now)
                        Issue.record("load after \(assignment): \(loaded == nil ? "no session" : "a session")")
                    } catch {
                        #expect(error.code == code, "load after \(assignment): \(error)")
                    }
                }
                let session = try await store.create(data: ["user_id": "u"], now: now)
                try await store.client.query("ALTER TABLE sessiongate_sessions ALTER COLUMN idle_seconds TYPE text").consumeAll()
                do throws(StoreError) {
                    let loaded = try await store.load(session.ticket, now: now)
                    Issue.record("load from a changed schema: \(loaded == nil ? "no session" : "a session")")
                } catch {
                    #expect(error.code == .protocolError, "\(error)")
                }
            }
        }
    }

    @Test func unreachableDatabaseFailsFastAndRedacted() async throws {
        // A port nothing listens on (the test server's port, plus one, is unlikely to be taken).
        var url = try PostgresTestDatabase.url()
        url.port = url.port == 65535 ? 65534 : url.port + 1
        url.password = Secret("do-not-leak")
        try await PostgresTestDatabase.withRunningClient(try url.clientConfiguration()) { client in
            let store = PostgresSessionStore(client: client, policy: StoreConformance.policy, timeout: .milliseconds(300))
            let started = ContinuousClock.now
            let error = await #expect(throws: StoreError.self) {
                _ = try await store.load(SessionTicket([UInt8](repeating: 1, count: 32)), now: 1000)
            }
            // The store timeout is 300 ms; the bound leaves room for a loaded 2-core CI machine and
            // is still far below the database client's own 10 s connect timeout.
            #expect(ContinuousClock.now - started < .seconds(5), "a dead database must answer quickly")
            #expect(error?.code == .timeout || error?.code == .unavailable)
            #expect(error.map { !"\($0)".contains("do-not-leak") } ?? true)
            await #expect(throws: StoreError.self) { try await store.checkHealth() }
        }
    }
}

/// Test-side copy of the migrations table DDL, to build an old schema by hand.
enum PostgresSchemaTestSQL {
    static let createMigrationsTable = """
        CREATE TABLE IF NOT EXISTS sessiongate_schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)
        """
}

// MARK: - Test database

/// The test PostgreSQL server (started by `scripts/lib/postgres.sh`), with one fresh schema per
/// test so runs and parallel tests never see each other's rows.
struct PostgresTestDatabase: Sendable {
    static let variable = "SESSIONGATE_TEST_POSTGRES_URL"

    let url: PostgresURL
    let schema: String

    /// Fails the test (never skips) when the server is not configured.
    static func url(_ variable: String = variable) throws -> PostgresURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            Issue.record(
                """
                \(variable) is unset: run the tests through scripts/test.sh, or `source scripts/lib/postgres.sh; \
                pg_start $(mktemp -d)` first
                """)
            throw StoreError(.unavailable, "\(variable) is unset")
        }
        return try PostgresURL(text)
    }

    /// Runs `body` against a fresh schema, dropped afterwards.
    static func withFreshSchema<Result: Sendable>(
        variable: String = variable, _ body: @Sendable (PostgresTestDatabase) async throws -> Result
    ) async throws -> Result {
        let url = try url(variable)
        let schema = "sg_test_" + Hex.encode(SystemRandomBytes().bytes(6))
        let database = PostgresTestDatabase(url: url, schema: schema)
        try await Self.withRunningClient(try url.clientConfiguration()) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)")).consumeAll()
        }
        do {
            let result = try await body(database)
            try await database.dropSchema()
            return result
        } catch {
            try? await database.dropSchema()
            throw error
        }
    }

    private func dropSchema() async throws {
        try await Self.withRunningClient(try url.clientConfiguration()) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).consumeAll()
        }
    }

    /// A client configuration whose connections work in this test's schema.
    var configuration: PostgresClient.Configuration {
        get throws {
            var configuration = try url.clientConfiguration()
            configuration.options.additionalStartupParameters = [("search_path", schema)]
            return configuration
        }
    }
    /// Runs `body` with a running client on this schema.
    func withClient<Result: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        try await Self.withRunningClient(try configuration, body)
    }

    /// Runs `body` with a running, migrated store on this schema.
    func withStore<Result: Sendable>(
        policy: SessionPolicy = StoreConformance.policy, timeout: Duration = .seconds(5),
        _ body: @Sendable (PostgresSessionStore) async throws -> Result
    ) async throws -> Result {
        try await withClient { client in
            let store = PostgresSessionStore(client: client, policy: policy, timeout: timeout)
            try await store.migrate()
            return try await body(store)
        }
    }

    static func withRunningClient<Result: Sendable>(
        _ configuration: PostgresClient.Configuration, _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension PostgresRowSequence {
    func consumeAll() async throws {
        for try await _ in self {}
    }
}

/// `sql/<name>` in this repository.
func repositoryFile(_ name: String, filePath: String = #filePath) -> URL {
    URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(name)
}

/// Checks that a checked-in schema file equals the embedded SQL. With
/// `SESSIONGATE_REGENERATE_SQL=1` the file is rewritten first (after a schema change).
func expectSchemaFile(_ name: String, equals embedded: String) throws {
    let file = repositoryFile(name)
    if ProcessInfo.processInfo.environment["SESSIONGATE_REGENERATE_SQL"] == "1" {
        try embedded.write(to: file, atomically: true, encoding: .utf8)
    }
    let onDisk = try String(contentsOf: file, encoding: .utf8)
    #expect(
        onDisk == embedded,
        "\(name) differs from the embedded schema: run the store tests with SESSIONGATE_REGENERATE_SQL=1")
}

/// Splits a schema script into statements the way psql would for our scripts: at `;` + newline,
/// except inside `$$`-quoted function bodies; comment-only pieces are dropped.
func scriptStatements(_ script: String) -> [String] {
    var statements: [String] = []
    var current = ""
    var insideDollarQuote = false
    for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
        let blank = current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if blank && (line.hasPrefix("--") || line.isEmpty) { continue }
        current += line + "\n"
        if line.components(separatedBy: "$$").count % 2 == 0 { insideDollarQuote.toggle() }
        if !insideDollarQuote && line.hasSuffix(";") {
            statements.append(String(current.dropLast(2)))  // without ";\n"
            current = ""
        }
    }
    return statements.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
}

/// Set once, read from any task.
private final class FinishedFlag: Sendable {
    private let state = Mutex(false)
    var isSet: Bool { state.withLock { $0 } }
    func set() { state.withLock { $0 = true } }
}
