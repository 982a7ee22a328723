import Testing

@testable import RedisWire

/// The words a failed TLS handshake is reported in (the real failures run against TLS-only
/// servers in `RedisTLSStoreTests`).
@Suite struct TLSFailureTests {
    @Test func reasonCodesComeOutOfBoringSSLText() {
        let text =
            "sslError([Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /x/ssl/handshake.cc:320])"
        #expect(RedisTLSFailure.reasonCodes(in: text) == ["CERTIFICATE_VERIFY_FAILED"])
        #expect(RedisTLSFailure.reasonCodes(in: "EOF during handshake").isEmpty)
    }

    @Test func certificateProblems() {
        let expired = RedisTLSFailure.CertificateProblem(notValidBefore: 0, notValidAfter: 100, now: 200)
        #expect(expired.description.contains("expired"))
        let early = RedisTLSFailure.CertificateProblem(notValidBefore: 300, notValidAfter: 400, now: 200)
        #expect(early.description.contains("not valid yet"))
        let unknown = RedisTLSFailure.CertificateProblem(notValidBefore: 0, notValidAfter: 400, now: 200)
        #expect(unknown.description.contains("unknown CA"))
        #expect(RedisTLSFailure.describe(reasons: ["CERTIFICATE_VERIFY_FAILED"], problem: expired) == expired.description)
        #expect(RedisTLSFailure.describe(reasons: ["CERTIFICATE_VERIFY_FAILED"], problem: nil).contains("failed verification"))
    }

    @Test func otherReasons() {
        #expect(RedisTLSFailure.describe(reasons: ["WRONG_VERSION_NUMBER"], problem: nil).contains("plain-text port"))
        #expect(RedisTLSFailure.describe(reasons: ["TLSV1_ALERT_CERTIFICATE_REQUIRED"], problem: nil).contains("client certificate"))
        #expect(RedisTLSFailure.describe(reasons: ["NO_CIPHERS_AVAILABLE"], problem: nil) == "TLS handshake failed (NO_CIPHERS_AVAILABLE)")
    }

    @Test func tlsURLsAndSettings() throws {
        let configuration = try RedisConfiguration(url: "rediss://:pw@cache.example:6380/1")
        #expect(configuration.usesTLS)
        #expect(configuration.port == 6380)
        #expect(!configuration.description.contains("pw"))
        #expect(try RedisConfiguration(url: "redis://:pw@/2", requireHost: false).database == 2)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://:pw@/2") }
        #expect(throws: RedisError.self) { try RedisTLS(serverName: "127.0.0.1") }
        #expect(throws: RedisError.self) { try RedisTLS(certificateFile: "/nonexistent.pem") }
        let tls = try RedisTLS()
        #expect(tls.expectedName(for: "127.0.0.1") == nil, "SNI carries no addresses")
        #expect(tls.expectedName(for: "cache.example") == "cache.example")
        #expect(try RedisTLS(serverName: "redis.internal").expectedName(for: "10.0.0.5") == "redis.internal")
    }

    /// `rediss://` never connects in plain text, even when the caller forgot the TLS settings.
    @Test func rediss_withoutSettingsRefusesToConnect() async throws {
        let configuration = try RedisConfiguration(url: "rediss://127.0.0.1:1/0")
        await #expect(throws: RedisError.self) { try await RedisConnection.connect(configuration: configuration) }
    }
}
