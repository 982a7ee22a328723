import Foundation
import NIOCore
import NIOPosix
import SQLiteNIO
import SessionGateCore
import SessionGateStores
import Synchronization
import Testing

/// Against real SQLite files in a temporary folder.
@Suite struct SQLiteStoreTests {
    @Test func conformance() async throws {
        try await withTemporaryDatabase { path in
            try await StoreConformance(name: "sqlite") { policy in
                try await SQLiteSessionStore.open(path: path, policy: policy, timeout: .seconds(5))
            }.runAll()
        }
    }

    @Test func schemaFileMatchesEmbeddedSQL() throws {
        try expectSchemaFile("sql/sqlite.sql", equals: SQLiteSessionStore.schemaSQL)
    }

    /// The Task-free load answers what `load` answers (live, unknown, expired), and declines
    /// (false, no callback) once the store is closed.
    @Test func callbackLoadMatchesLoad() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let session = try await store.create(data: ["user_id": "u-cb"], now: 1000)
            for (ticket, at) in [
                (session.ticket, 1001), (SessionTicket([UInt8](repeating: 9, count: 32)), 1001),
                (session.ticket, 1000 + StoreConformance.policy.idleTimeout),
            ] as [(SessionTicket, UnixSeconds)] {
                let viaCallback = try await withCheckedThrowingContinuation { continuation in
                    let started = store.load(ticket, now: at) { continuation.resume(with: $0.mapError { $0 as any Error }) }
                    if !started { continuation.resume(throwing: StoreError(.unavailable, "declined")) }
                }
                #expect(viaCallback == (try await store.load(ticket, now: at)))
            }
            await store.close()
            #expect(!store.load(session.ticket, now: 1001) { _ in Issue.record("a declined load must not call back") })
        }
    }

    /// On an event loop, the callback loads of one round go out as one query and are answered on
    /// that loop: distinct sessions, the same one twice, an unknown and an expired one each get
    /// their own answer; a full query or a second clock splits the round.
    @Test func oneRoundsCallbackLoadsGoOutAsOneQuery() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let idle = StoreConformance.policy.idleTimeout
            let old = try await store.create(data: ["user_id": "old"], now: 1000)
            let first = try await store.create(data: ["user_id": "first"], now: 1000 + idle)
            let second = try await store.create(data: ["user_id": "second"], now: 1000 + idle)
            let now = 1000 + idle + 1
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let loop = group.next()
            let tickets = [first.ticket, second.ticket, first.ticket, SessionTicket([UInt8](repeating: 9, count: 32)), old.ticket]
            let answers = try await round(store, tickets.map { ($0, now) }, on: loop)
            #expect(answers.allSatisfy { $0.onCallersLoop })
            #expect(try answers.map { try $0.result.get() } == [first, second, first, nil, nil])
            #expect(store.loopQueryCount == 1)

            let many = Array(repeating: (second.ticket, now), count: 33) + [(old.ticket, UnixSeconds(1001))]
            let split = try await round(store, many, on: loop)
            #expect(try split.map { try $0.result.get() } == Array(repeating: second, count: 33) + [old])
            #expect(store.loopQueryCount == 4, "a full query and a second clock did not split the round")
            await store.close()
            try await group.shutdownGracefully()
        }
    }

    /// Callback loads of `tickets` started in one round of `loop`, answered in order.
    private func round(_ store: SQLiteSessionStore, _ tickets: [(SessionTicket, UnixSeconds)], on loop: any EventLoop)
        async throws -> [(result: Result<StoredSession?, StoreError>, onCallersLoop: Bool)]
    {
        typealias Answer = (result: Result<StoredSession?, StoreError>, onCallersLoop: Bool)
        return try await withCheckedThrowingContinuation { continuation in
            loop.execute {
                let state = Mutex((answers: [Answer?](repeating: nil, count: tickets.count), pending: tickets.count))
                for (index, (ticket, now)) in tickets.enumerated() {
                    let started = store.load(ticket, now: now) { result in
                        let done = state.withLock { state -> [Answer]? in
                            state.answers[index] = (result, loop.inEventLoop)
                            state.pending -= 1
                            return state.pending == 0 ? state.answers.map { $0! } : nil
                        }
                        if let done { continuation.resume(returning: done) }
                    }
                    if !started { return continuation.resume(throwing: StoreError(.unavailable, "declined")) }
                }
            }
        }
    }

    @Test func fileIsInWALModeWithTheWholeSchema() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            #expect(try await store.appliedSchemaVersions() == SQLiteSchema.migrations.map(\.version))
            await store.close()
            let rows = try await rawQuery(path, "PRAGMA journal_mode")
            #expect(rows.first?.column("journal_mode")?.string == "wal")
        }
    }

    @Test func handWrittenSchemaIsRecognised() async throws {
        try await withTemporaryDatabase { path in
            // What a DBA does with `sqlite3 sessions.db < sql/sqlite.sql`, twice. SQLite has no
            // ADD COLUMN IF NOT EXISTS: the second run's ALTER TABLEs fail ("duplicate column
            // name") and the sqlite3 shell goes on with the rest, as this loop does; nothing else
            // may fail.
            let statements = scriptStatements(SQLiteSessionStore.schemaSQL)
            #expect(statements.last == "COMMIT")
            let connection = try await SQLiteConnection.open(storage: .file(path: path))
            for run in 0..<2 {
                for statement in statements {
                    do {
                        _ = try await connection.query(statement)
                    } catch {
                        #expect(run == 1 && statement.hasPrefix("ALTER TABLE"), "\(statement): \(error)")
                    }
                }
            }
            try await connection.close()
            #expect(try await SQLiteSessionStore.migrate(path: path) == [])
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let session = try await store.create(data: ["user_id": "dba"], now: 1000)
            #expect(try await store.patch(session, with: ["x": 1], now: 1001)?.data == ["user_id": "dba", "x": 1])
            await store.close()
        }
    }

    /// A file an older release left (version 1, or 2: the one before session metadata) with a
    /// session in it: the migration adds the rest, and the old row keeps working with no
    /// metadata — loaded, listed, touched, revoked by its handle.
    @Test(arguments: [1, 2])
    func upgradesAnOlderFile(version: Int) async throws {
        try await withTemporaryDatabase { path in
            let ticket = SessionTicket([UInt8](repeating: 42, count: 32))
            let storeKey = SessionID(bytes: ticket.bytes)!.storeKey
            let older = SQLiteSchema.migrations.filter { $0.version <= version }
            let oldSchema =
                [
                    """
                    CREATE TABLE sessiongate_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    applied_at INTEGER NOT NULL)
                    """
                ] + older.map { "INSERT INTO sessiongate_schema_migrations VALUES (\($0.version), 'old', 0)" }
                + older.flatMap(\.statements)
            for statement in oldSchema { _ = try await rawQuery(path, statement) }
            _ = try await rawQuery(
                path,
                """
                INSERT INTO sessiongate_sessions VALUES (?1, 'old-handle', '{"user_id":"old","n":1}', 'old',
                1000, 1000, 2800, 9000, 1800)
                """, [.text(storeKey)])
            let all = SQLiteSchema.migrations.map(\.version)
            #expect(try await SQLiteSessionStore.migrate(path: path) == all.filter { $0 > version })
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            #expect(try await store.appliedSchemaVersions() == all)
            let indexes = try await rawQuery(path, "SELECT name FROM sqlite_master WHERE type = 'index'")
            for index in ["sessiongate_sessions_expiry", "sessiongate_sessions_handle"] {
                #expect(indexes.contains { $0.column("name")?.string == index }, "\(index) missing")
            }
            try await StoreConformance.expectOldSessionWorks(store, ticket: ticket)
            #expect(try await SQLiteSessionStore.migrate(path: path) == [])
            await store.close()
        }
    }

    @Test func processesOpeningTogetherMigrateOnce() async throws {
        try await withTemporaryDatabase { path in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await SQLiteSessionStore.migrate(path: path) }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            let all = SQLiteSchema.migrations.map(\.version)
            #expect(applied.filter { !$0.isEmpty } == [all], "migrations applied more than once: \(applied)")
            let rows = try await rawQuery(path, "SELECT version FROM sessiongate_schema_migrations ORDER BY version")
            #expect(rows.compactMap { $0.column("version")?.integer } == all)
        }
    }

    /// RFC 7396 Appendix A through SQLite's `json_patch()`, which the store relies on.
    @Test(arguments: MergePatchExamples.rfc7396AppendixA)
    func jsonPatchFollowsRFC7396(_ example: MergePatchExamples.Example) async throws {
        let rows = try await rawQuery(":memory:", "SELECT json_patch(?1, ?2) AS merged", [.text(example.target), .text(example.patch)])
        let text = try #require(rows.first?.column("merged")?.string)
        #expect(try JSONParser.parse(text) == example.expected(), "target \(example.target) patch \(example.patch)")
    }

    @Test func patchesFromTwoProcessesAllSurvive() async throws {
        try await withTemporaryDatabase { path in
            // Two stores = two connections to one file, as two proxy processes would have.
            let first = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy, timeout: .seconds(10))
            let second = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy, timeout: .seconds(10))
            let session = try await first.create(data: ["base": true], now: 1000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (replica, store) in [first, second].enumerated() {
                    for index in 0..<20 {
                        group.addTask {
                            _ = try await store.patch(session, with: .object(["r\(replica)k\(index)": .int(Int64(index))]), now: 1001)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let loaded = try #require(try await second.load(session.ticket, now: 1002))
            #expect(loaded.data.count == 41, "lost patches: \(loaded.data.keys.sorted())")
            await first.close()
            await second.close()
        }
    }

    @Test func userColumnFollowsTheData() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            @Sendable func userColumn(_ session: StoredSession) async throws -> String? {
                let key = SessionID(bytes: session.ticket.bytes)!.storeKey
                let rows = try await rawQuery(path, "SELECT user_id FROM sessiongate_sessions WHERE store_key = ?1", [.text(key)])
                return rows.first?.column("user_id")?.string
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
            let dotted = try await SQLiteSessionStore.open(
                path: path, policy: SessionPolicy(idleTimeout: 60, absoluteTimeout: 600, userKey: "user.id"))
            let created = try await dotted.create(data: ["user.id": "carol", "user": ["id": "mallory"]], now: 1007)
            #expect(try await userColumn(created) == "carol", "the user key is a field name, not a JSON path")
            await store.close()
            await dotted.close()
        }
    }

    @Test func sweeperDeletesExpiredRowsInBatches() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(
                path: path, policy: SessionPolicy(idleTimeout: 60, absoluteTimeout: 600, userKey: "user_id"))
            for _ in 0..<5 { _ = try await store.create(data: [:], now: 1000) }  // expire at 1060
            let fresh = try await store.create(data: ["keep": true], now: 1050)  // expires at 1110
            @Sendable func rowCount() async throws -> Int {
                let rows = try await rawQuery(path, "SELECT count(*) AS n FROM sessiongate_sessions")
                return rows.first?.column("n")?.integer ?? -1
            }
            #expect(try await store.sweepExpired(now: 1059, limit: 100) == 0)
            #expect(try await store.sweepExpired(now: 1060, limit: 2) == 2, "batch bound ignored")
            #expect(try await rowCount() == 4)
            let clock = ManualClock(1060)
            let service = SQLiteStoreService(store: store, clock: clock, sweepInterval: .milliseconds(20), batchSize: 2)
            let sweeper = SessionSweeper(interval: .milliseconds(20), batchSize: 2, clock: clock) { now, limit in
                try await store.sweepExpired(now: now, limit: limit)
            }
            #expect(await sweeper.sweepOnce() == 3, "one tick should run batches until a short one")
            #expect(try await rowCount() == 1)
            #expect(try await store.load(fresh.ticket, now: 1060) != nil)
            clock.advance(by: 100)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                let deadline = ContinuousClock.now + .seconds(10)
                while try await rowCount() > 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
            }
            #expect(try await rowCount() == 0, "the sweeper service never swept")
            // The service closed the store on the way out.
            await #expect(throws: StoreError.self) { try await store.checkHealth() }
        }
    }

    @Test func sessionsSurviveARestart() async throws {
        try await withTemporaryDatabase { path in
            let before = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let session = try await before.create(data: ["user_id": "restart"], now: 1000)
            await before.close()
            let after = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let loaded = try await after.load(session.ticket, now: 1001)
            #expect(loaded?.data == ["user_id": "restart"])
            #expect(loaded?.handle == session.handle)
            await after.close()
        }
    }

    /// SQLite keeps whatever a writer put in a column. A row the store did not write is an
    /// error, never "no session" and never a trap: a REAL out of Int64's range once trapped in
    /// sqlite-nio's `.integer`, and times outside 1970...9999 would overflow the proxy's
    /// arithmetic on them.
    @Test func rowsOfTheWrongShapeAreErrorsNotTraps() async throws {
        try await withTemporaryDatabase { path in
            let store = try await SQLiteSessionStore.open(path: path, policy: StoreConformance.policy)
            let now: UnixSeconds = 1000
            for assignment in [
                "created_at = 1e300", "last_seen_at = -9223372036854775808", "idle_seconds = 'soon'",
                "created_at = 12.5", "data = '[1]'", "data = x'7b7d'",
            ] {
                let session = try await store.create(data: ["user_id": "u"], now: now)
                let key = SessionID(bytes: session.ticket.bytes)!.storeKey
                _ = try await rawQuery(path, "UPDATE sessiongate_sessions SET \(assignment) WHERE store_key = ?1", [.text(key)])
                for (operation, result) in [
                    ("load", { () async throws(StoreError) in try await store.load(session.ticket, now: now) }),
                    ("rotate", { () async throws(StoreError) in try await store.rotate(session, now: now) }),
                ] as [(String, () async throws(StoreError) -> StoredSession?)] {
                    do throws(StoreError) {
                        let loaded = try await result()
                        Issue.record("\(operation) after \(assignment): \(loaded == nil ? "no session" : "a session")")
                    } catch {
                        #expect(error.code == .corrupt, "\(operation) after \(assignment): \(error)")
                    }
                }
            }
            await store.close()
        }
    }

    @Test func unopenableFileIsAStoreError() async throws {
        await #expect(throws: StoreError.self) {
            _ = try await SQLiteSessionStore.open(path: "/nonexistent-dir/x/sessions.db", policy: StoreConformance.policy)
        }
    }
}

/// Runs `body` with the path of a fresh database file, deleting its folder afterwards.
func withTemporaryDatabase<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-sqlite-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try await body(folder.appendingPathComponent("sessions.db").path)
}

/// One statement on a connection of its own (as another process would see the file).
func rawQuery(_ path: String, _ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
    let connection = try await SQLiteConnection.open(storage: path == ":memory:" ? .memory : .file(path: path))
    do {
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
        let rows = try await connection.query(sql, binds)
        try await connection.close()
        return rows
    } catch {
        try? await connection.close()
        throw error
    }
}

// MARK: - RFC 7396 examples (shared with the Postgres tests)

/// RFC 7396 Appendix A, checked against every SQL merge implementation.
enum MergePatchExamples {
    struct Example: Sendable, CustomTestStringConvertible {
        let target: String
        let patch: String
        let result: String

        func expected() throws -> JSONValue { try JSONParser.parse(result) }
        var testDescription: String { "\(target) + \(patch)" }
    }

    static let rfc7396AppendixA: [Example] = [
        Example(target: #"{"a":"b"}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Example(target: #"{"a":"b"}"#, patch: #"{"b":"c"}"#, result: #"{"a":"b","b":"c"}"#),
        Example(target: #"{"a":"b"}"#, patch: #"{"a":null}"#, result: #"{}"#),
        Example(target: #"{"a":"b","b":"c"}"#, patch: #"{"a":null}"#, result: #"{"b":"c"}"#),
        Example(target: #"{"a":["b"]}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Example(target: #"{"a":"c"}"#, patch: #"{"a":["b"]}"#, result: #"{"a":["b"]}"#),
        Example(
            target: #"{"a":{"b":"c"}}"#, patch: #"{"a":{"b":"d","c":null}}"#, result: #"{"a":{"b":"d"}}"#),
        Example(target: #"{"a":[{"b":"c"}]}"#, patch: #"{"a":[1]}"#, result: #"{"a":[1]}"#),
        Example(target: #"["a","b"]"#, patch: #"["c","d"]"#, result: #"["c","d"]"#),
        Example(target: #"{"a":"b"}"#, patch: #"["c"]"#, result: #"["c"]"#),
        Example(target: #"{"a":"foo"}"#, patch: "null", result: "null"),
        Example(target: #"{"a":"foo"}"#, patch: #""bar""#, result: #""bar""#),
        Example(target: #"{"e":null}"#, patch: #"{"a":1}"#, result: #"{"e":null,"a":1}"#),
        Example(target: #"[1,2]"#, patch: #"{"a":"b","c":null}"#, result: #"{"a":"b"}"#),
        Example(target: #"{}"#, patch: #"{"a":{"bb":{"ccc":null}}}"#, result: #"{"a":{"bb":{}}}"#),
    ]
}
