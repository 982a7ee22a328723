import SessionGateCore
import Testing

@testable import SessionGateStores

/// `PostgresURL` parsing and its libpq-style TLS parameters (pure: no server).
@Suite struct PostgresURLTests {
    @Test func urlParsing() throws {
        let url = try PostgresURL("postgres://us%40er:p%3Ass@db.example:6543/sessions?sslmode=require")
        #expect(url.username == "us@er")
        #expect(url.password?.revealed == "p:ss")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.database == "sessions")
        #expect(url.sslMode == .require)
        #expect(!url.sslModeIsDefault)
        let minimal = try PostgresURL("postgresql://[::1]")
        #expect(minimal.host == "::1")
        #expect(minimal.port == 5432)
        #expect(minimal.database == nil)
        #expect(minimal.sslMode == .disable && minimal.sslModeIsDefault)
        #expect(throws: StoreError.self) { try PostgresURL("redis://x") }
        #expect(throws: StoreError.self) { try PostgresURL("postgres://u:secret@h:99999/db") }
        #expect(throws: StoreError.self) { try PostgresURL("postgres://u:secret@h/db?sslmode=bogus") }
        let error = try? #require(throws: StoreError.self) { try PostgresURL("postgres://u:secret@h:x/db") }
        #expect(error.map { !"\($0)".contains("secret") } ?? false)
        #expect(!"\(url)".contains("p:ss"), "a URL's description must not show the password")
        var dumped = ""
        dump(url, to: &dumped)
        for text in [dumped, String(reflecting: url)] {
            #expect(!text.contains("p:ss") && !text.contains("p%3Ass"), "no textual form shows the password")
            #expect(text.contains("db.example"))
        }
    }

    /// Without `sslmode`: plain text only to this machine, full verification anywhere else.
    @Test(arguments: [
        ("localhost", PostgresURL.SSLMode.disable), ("127.0.0.1", .disable), ("127.8.9.10", .disable), ("[::1]", .disable),
        ("db.localhost", .disable), ("db.example.com", .verifyFull), ("10.0.0.5", .verifyFull), ("[fd00::1]", .verifyFull),
        ("127.0.0.1.nip.io", .verifyFull), ("localhost.example.com", .verifyFull),
    ])
    func defaultModeDependsOnTheHost(_ host: String, _ expected: PostgresURL.SSLMode) throws {
        let url = try PostgresURL("postgres://u:p@\(host)/db")
        #expect(url.sslMode == expected, "\(host)")
        #expect(url.sslModeIsDefault)
    }

    @Test(arguments: ["prefer", "allow"])
    func downgradingModesAreRefused(_ mode: String) throws {
        let error = try #require(throws: StoreError.self) { try PostgresURL("postgres://u:secret@db.example/db?sslmode=\(mode)") }
        #expect(error.detail.contains("sslmode=\(mode) is refused"))
        #expect(error.detail.contains("plain text"))
        #expect(!error.detail.contains("secret"))
    }

    @Test func verificationFollowsLibpq() throws {
        func verification(_ query: String) throws -> PostgresURL.Verification {
            try PostgresURL("postgres://u:p@db.example/db?\(query)").verification
        }
        #expect(try verification("sslmode=disable") == .none)
        #expect(try verification("sslmode=require") == .none)
        // libpq: `require` with a root certificate verifies the chain, like verify-ca.
        #expect(try verification("sslmode=require&sslrootcert=/ca.pem") == .chain)
        #expect(try verification("sslmode=verify-ca") == .chain)
        #expect(try verification("sslmode=verify-full") == .chainAndHost)
        #expect(try verification("") == .chainAndHost)
        #expect(try PostgresURL("postgres://u:p@db.example/db?sslrootcert=system&sslmode=verify-ca").sslRootCert == nil)
    }

    @Test func tlsParametersAreDecodedAndChecked() throws {
        let url = try PostgresURL(
            "postgres://u:p@db.example/db?application_name=x&sslrootcert=%2Fetc%2Fca%20bundle.pem&sslcert=/c.pem&sslkey=/k.pem")
        #expect(url.sslRootCert == "/etc/ca bundle.pem")
        #expect(url.sslCert == "/c.pem" && url.sslKey == "/k.pem")
        #expect("\(url)".contains("sslrootcert=/etc/ca bundle.pem"))
        for query in ["sslcert=/c.pem", "sslkey=/k.pem", "sslmode=disable&sslrootcert=/ca.pem", "sslrootcert="] {
            #expect(throws: StoreError.self, "\(query)") { try PostgresURL("postgres://u:p@db.example/db?\(query)") }
        }
    }

    @Test func unreadableCertificateFilesAreNamed() throws {
        let url = try PostgresURL("postgres://u:secret@db.example/db?sslrootcert=/nonexistent/ca.pem")
        let error = try #require(throws: StoreError.self) { try url.clientConfiguration() }
        #expect(error.detail.contains("sslrootcert") && error.detail.contains("/nonexistent/ca.pem"))
        #expect(!error.detail.contains("secret"))
        #expect(try PostgresURL("postgres://u:p@localhost/db").tlsConfiguration() == nil)
    }
}

/// Naming a chain failure from the validity dates the server sent (pure).
@Suite struct PostgresChainReasonTests {
    @Test func expiredUnknownAndNotYetValid() throws {
        let url = try PostgresURL("postgres://u:p@db.example/db?sslrootcert=/ca.pem")
        let now = 1_800_000_000
        func reason(_ chain: [(Int, Int)]) -> String {
            PostgresConnectFailure.chainReason(chain.map { .init(notBefore: $0.0, notAfter: $0.1) }, now: now, url: url)
        }
        let fine = (now - 10, now + 10)
        #expect(reason([fine]) == "TLS: unknown CA: the server's certificate chain does not lead to a CA in sslrootcert /ca.pem")
        #expect(reason([(now - 100, 1_577_923_200), fine]) == "TLS: expired certificate: the server certificate expired on 2020-01-02")
        #expect(reason([fine, (now - 100, now - 1)]).contains("certificate 1 of the server's chain expired"))
        #expect(reason([(now + 5, now + 10)]).contains("not valid yet"))
        #expect(reason([]).contains("failed verification against sslrootcert /ca.pem"))
    }
}
