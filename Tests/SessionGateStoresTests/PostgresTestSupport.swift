import Foundation
import PostgresNIO
import SessionGateCore
import SessionGateStores
import Testing

/// The test PostgreSQL server (started by `scripts/lib/postgres.sh`), with one fresh schema per
/// test so runs and parallel tests never see each other's rows.
struct PostgresTestDatabase: Sendable {
    static let variable = "SESSIONGATE_TEST_POSTGRES_URL"

    let url: PostgresURL
    let schema: String

    /// Fails the test (never skips) when the server is not configured.
    static func url() throws -> PostgresURL {
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
        _ body: @Sendable (PostgresTestDatabase) async throws -> Result
    ) async throws -> Result {
        let url = try url()
        let schema = "sg_test_" + Hex.encode(SystemRandomBytes().bytes(6))
        let database = PostgresTestDatabase(url: url, schema: schema)
        try await Self.withRunningClient(url.clientConfiguration()) { admin in
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
        try await Self.withRunningClient(url.clientConfiguration()) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).consumeAll()
        }
    }

    /// A client configuration whose connections work in this test's schema.
    var configuration: PostgresClient.Configuration {
        var configuration = url.clientConfiguration()
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        return configuration
    }

    /// Runs `body` with a running client on this schema.
    func withClient<Result: Sendable>(_ body: @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        try await Self.withRunningClient(configuration, body)
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
