import Foundation
import Logging
import PostgresNIO
import SessionGateCore
import SessionGateStores
import Testing

/// Against PostgreSQL servers with `ssl = on` and `hostssl` lines only (scripts/lib/postgres_tls.sh),
/// with certificates from a CA made at run time (scripts/lib/tls_ca.sh).
@Suite struct PostgresTLSTests {
    static let variable = "SESSIONGATE_TEST_POSTGRES_TLS_URL"

    @Test func conformanceOverVerifiedTLS() async throws {
        #expect(try PostgresTestDatabase.url(Self.variable).verification == .chainAndHost)
        try await PostgresTestDatabase.withFreshSchema(variable: Self.variable) { database in
            try await database.withClient { client in
                let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").collect()
                #expect(try rows.first?.decode(Bool.self) == true, "the connection is not encrypted")
                try await StoreConformance(name: "postgres over TLS") { policy in
                    let store = PostgresSessionStore(client: client, policy: policy, timeout: .seconds(5))
                    try await store.migrate()
                    return store
                }.runAll()
            }
        }
    }

    @Test func verifiedConnectionOpens() async throws {
        let url = try PostgresTestDatabase.url(Self.variable)
        #expect(await PostgresConnectionProbe.failure(url: url, logger: Self.logger) == nil)
    }

    /// Each failure names what failed, and no mode falls back to plain text.
    @Test(arguments: [
        Failure(variable: variable, query: "sslmode=verify-full&sslrootcert={tls}/other-ca.pem", expected: "unknown CA"),
        Failure(variable: "SESSIONGATE_TEST_POSTGRES_TLS_WRONGHOST_URL", query: nil, expected: "name mismatch"),
        Failure(variable: "SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL", query: nil, expected: "expired"),
        Failure(variable: variable, query: "sslmode=disable", expected: "SQLSTATE 28000"),
        Failure(variable: "SESSIONGATE_TEST_POSTGRES_URL", query: "sslmode=verify-full", expected: "does not offer TLS"),
        Failure(variable: "SESSIONGATE_TEST_POSTGRES_URL", query: "sslmode=require", expected: "does not offer TLS"),
    ])
    func failuresAreNamed(_ failure: Failure) async throws {
        let url = try failure.url()
        let reason = try #require(await PostgresConnectionProbe.failure(url: url, logger: Self.logger), "connected: \(failure)")
        #expect(reason.contains(failure.expected), "\(reason)")
        #expect(!reason.contains(url.password?.revealed ?? "-"), "the reason shows the password")
        // Through the store (the pool): the call fails, nothing is served in plain text.
        try await PostgresTestDatabase.withRunningClient(try url.clientConfiguration()) { client in
            let store = PostgresSessionStore(client: client, policy: StoreConformance.policy, timeout: .milliseconds(500))
            let error = await #expect(throws: StoreError.self) { try await store.checkHealth() }
            #expect(error?.code == .timeout || error?.code == .unavailable)
        }
    }

    /// libpq's lesser modes: `require` encrypts without verifying; `verify-ca` skips the host name.
    @Test func lesserModesConnectWithoutTheChecksTheySkip() async throws {
        let expired = try Failure(variable: "SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL", query: "sslmode=require", expected: "").url()
        #expect(await PostgresConnectionProbe.failure(url: expired, logger: Self.logger) == nil)
        let wrongHost = try Failure(
            variable: "SESSIONGATE_TEST_POSTGRES_TLS_WRONGHOST_URL", query: "sslmode=verify-ca&sslrootcert={tls}/ca.pem", expected: ""
        ).url()
        #expect(await PostgresConnectionProbe.failure(url: wrongHost, logger: Self.logger) == nil)
        // `require` with a root certificate verifies the chain (libpq): the expired one fails.
        let requireWithRoot = try Failure(
            variable: "SESSIONGATE_TEST_POSTGRES_TLS_EXPIRED_URL", query: "sslmode=require&sslrootcert={tls}/ca.pem", expected: ""
        ).url()
        #expect(await PostgresConnectionProbe.failure(url: requireWithRoot, logger: Self.logger)?.contains("expired") == true)
    }

    static let logger = Logger(label: "test.postgres.tls")

    struct Failure: Sendable, CustomTestStringConvertible {
        let variable: String
        /// Replaces the URL's query; `{tls}` is the run-time CA's folder.
        let query: String?
        let expected: String

        var testDescription: String { "\(expected) (\(query ?? variable))" }

        func url() throws -> PostgresURL {
            let base = try PostgresTestDatabase.url(variable)
            guard let query else { return base }
            let tls = ProcessInfo.processInfo.environment["SESSIONGATE_TEST_TLS_DIR"] ?? "/nonexistent"
            let text = ProcessInfo.processInfo.environment[variable] ?? ""
            let prefix = text.prefix { $0 != "?" }
            return try PostgresURL("\(prefix)?\(query.replacingOccurrences(of: "{tls}", with: tls))")
        }
    }
}

/// `sslcert` / `sslkey`: the role `sessiongate-test-client` may sign in only with the client
/// certificate the run-time CA issued (pg_hba method `cert`).
@Suite struct PostgresClientCertificateTests {
    @Test func clientCertificateSignsIn() async throws {
        let tls = ProcessInfo.processInfo.environment["SESSIONGATE_TEST_TLS_DIR"] ?? "/nonexistent"
        let base = try PostgresTestDatabase.url(PostgresTLSTests.variable)
        let prefix = "postgres://sessiongate-test-client@\(base.host):\(base.port)/sessiongate_test"
        let root = "sslmode=verify-full&sslrootcert=\(tls)/ca.pem"
        let withCertificate = try PostgresURL("\(prefix)?\(root)&sslcert=\(tls)/client.pem&sslkey=\(tls)/client.key")
        #expect(await PostgresConnectionProbe.failure(url: withCertificate, logger: PostgresTLSTests.logger) == nil)
        let without = try PostgresURL("\(prefix)?\(root)")
        let reason = await PostgresConnectionProbe.failure(url: without, logger: PostgresTLSTests.logger)
        #expect(reason?.contains("SQLSTATE 28000") == true, "\(reason ?? "connected")")
    }
}
