import Foundation
import RedisWire
import SessionGateCore
import SessionGateStores
import Testing

/// Redis over TLS against real TLS-only servers (no plain-text port), with the CA made at run
/// time by `scripts/lib/tls_ca.sh`: the conformance suite, then each way the handshake can fail.
@Suite struct RedisTLSStoreTests {
    static let policy = SessionPolicy(idleTimeout: 1800, absoluteTimeout: 7 * 86400, userKey: "user_id")

    private static func tls(_ file: String = "ca", serverName: String? = nil) throws -> ProxyConfig.StoreTLS {
        var tls = ProxyConfig.StoreTLS()
        tls.caFile = "\(try RedisTestServers.tlsDirectory())/\(file).pem"
        tls.serverName = serverName
        return tls
    }

    private static func store(url: String, cluster: Bool = false, tls: ProxyConfig.StoreTLS, policy: SessionPolicy = policy)
        throws -> RedisSessionStore
    {
        try RedisSessionStore(
            url: url, cluster: cluster, tls: tls, policy: policy, random: SystemRandomBytes(), timeout: .seconds(5),
            keyPrefix: RedisTestServers.prefix())
    }

    /// The health check's error (the first command fails the same way).
    private static func healthError(_ store: RedisSessionStore) async -> StoreError? {
        defer { Task { await store.shutdown() } }
        do {
            try await store.checkHealth()
            return nil
        } catch {
            return error
        }
    }

    @Test func conformanceStandaloneOverTLS() async throws {
        let url = try RedisTestServers.tlsURL()
        let tls = try Self.tls()
        try await StoreConformance(name: "redis-tls", countsLiveSessions: false) { policy in
            try Self.store(url: url, tls: tls, policy: policy)
        }.runAll()
    }

    @Test func conformanceClusterOverTLS() async throws {
        let url = try RedisTestServers.tlsClusterURL()
        let tls = try Self.tls()
        try await StoreConformance(name: "redis-cluster-tls", countsLiveSessions: false) { policy in
            try Self.store(url: url, cluster: true, tls: tls, policy: policy)
        }.runAll()
    }

    @Test func unknownCAFails() async throws {
        let error = try #require(await Self.healthError(try Self.store(url: try RedisTestServers.tlsURL(), tls: try Self.tls("other-ca"))))
        #expect(error.code == .unavailable)
        #expect(error.detail.contains("TLS handshake with"))
        #expect(error.detail.contains("not signed by a trusted CA (unknown CA"), "\(error)")
    }

    /// The wronghost certificate names only `wrong.example` (no IP SAN): a name mismatch by IP
    /// and by host name, and `tls_server_name` is what makes it verify.
    @Test func certificateForAnotherHostFails() async throws {
        let server = try await PrivateRedis.start(tls: ("wronghost", "no"))
        defer { server.stop() }
        let error = try #require(await Self.healthError(try Self.store(url: server.url, tls: try Self.tls())))
        #expect(error.detail.contains("does not name the server's IP address (name mismatch"), "\(error)")
        let byName = "rediss://localhost:\(server.port)/0"
        let named = try #require(await Self.healthError(try Self.store(url: byName, tls: try Self.tls())))
        #expect(named.detail.contains("does not name \"localhost\" (name mismatch"), "\(named)")
        let overridden = try #require(
            await Self.healthError(try Self.store(url: server.url, tls: try Self.tls(serverName: "other.example"))))
        #expect(overridden.detail.contains("does not name \"other.example\" (name mismatch"), "\(overridden)")

        let store = try Self.store(url: server.url, tls: try Self.tls(serverName: "wrong.example"))
        try await store.checkHealth()
        await store.shutdown()
    }

    @Test func expiredCertificateFails() async throws {
        let server = try await PrivateRedis.start(tls: ("expired", "no"))
        defer { server.stop() }
        let error = try #require(await Self.healthError(try Self.store(url: server.url, tls: try Self.tls())))
        #expect(error.detail.contains("has expired (certificate expired)"), "\(error)")

        // The loudly named opt-out is the only way past it.
        var insecure = ProxyConfig.StoreTLS()
        insecure.insecureSkipVerify = true
        let store = try Self.store(url: server.url, tls: insecure)
        try await store.checkHealth()
        await store.shutdown()
    }

    @Test func plainTextAgainstTLSOnlyServerFails() async throws {
        let tlsURL = try RedisTestServers.tlsURL()
        let plainURL = "redis://" + tlsURL.dropFirst("rediss://".count)
        let error = try #require(await Self.healthError(try Self.store(url: plainURL, tls: .init())))
        #expect(error.code == .unavailable)
        #expect(error.detail.contains("TLS-only server? use rediss://"), "\(error)")
    }

    @Test func tlsAgainstPlainTextServerFails() async throws {
        let plainURL = try RedisTestServers.url()
        let tlsURL = "rediss://" + plainURL.dropFirst("redis://".count)
        var tls = try Self.tls()
        tls.serverName = nil
        let store = try RedisSessionStore(
            url: tlsURL, cluster: false, tls: tls, policy: Self.policy, random: SystemRandomBytes(), timeout: .milliseconds(500))
        let error = try #require(await Self.healthError(store))
        #expect(error.detail.contains("did not answer in TLS: a plain-text port?"), "\(error)")
    }

    @Test func clientCertificateWhenTheServerRequiresOne() async throws {
        let server = try await PrivateRedis.start(tls: ("server", "yes"))
        defer { server.stop() }
        let without = try #require(await Self.healthError(try Self.store(url: server.url, tls: try Self.tls())))
        #expect(without.detail.contains("the server requires a client certificate (tls_cert and tls_key)"), "\(without)")
        #expect(!without.detail.contains(".cc:"), "no BoringSSL source paths: \(without)")

        var tls = try Self.tls()
        let directory = try RedisTestServers.tlsDirectory()
        tls.certificateFile = "\(directory)/client.pem"
        tls.keyFile = "\(directory)/client.key"
        let store = try Self.store(url: server.url, tls: tls)
        try await store.checkHealth()
        await store.shutdown()
    }

    @Test func unreadableFilesAreNamed() throws {
        var tls = ProxyConfig.StoreTLS()
        tls.caFile = "/nonexistent/ca.pem"
        let error = #expect(throws: StoreError.self) { try Self.store(url: "rediss://127.0.0.1:1/0", tls: tls) }
        #expect(error?.detail.contains("CA certificate file /nonexistent/ca.pem") == true, "\(String(describing: error))")
        var plain = ProxyConfig.StoreTLS()
        plain.serverName = "redis.example"
        #expect(throws: StoreError.self, "tls_* with redis:// is refused, never silently plain") {
            try Self.store(url: "redis://127.0.0.1:1/0", tls: plain)
        }
    }
}
