import Foundation
import NIOCore
import NIOSSL
import SessionGateCore
import SessionGateProxy
import Testing

/// The client listener over TLS (`[server] tls_cert`): HTTP behind a real handshake, the
/// forwarded scheme, and a certificate reload that applies to new connections only. Uses the
/// CA the test command makes at run time (`SESSIONGATE_TEST_TLS_DIR`).
@Suite struct TLSListenerTests {
    @Test func servesHTTPSAndForwardsTheScheme() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.shutdown() } }
        let response = try await harness.request("GET", "/public/a")
        #expect(response.status == 200)
        let seen = try #require(harness.upstream.seen.withLock { $0.last })
        #expect(seen.head.headers["x-forwarded-proto"] == ["https"])
        // A trusted proxy's own value still wins (unchanged trusted_proxies logic) — not trusted here.
        _ = try await harness.request("GET", "/public/b", headers: [("X-Forwarded-Proto", "http")])
        #expect(harness.upstream.seen.withLock { $0.last?.head.headers["x-forwarded-proto"] } == ["https"])
    }

    @Test func plainHTTPIsNotServed() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.shutdown() } }
        let plain = try await RawClient.connect(port: harness.port, group: ProxyHarness.group)
        try await plain.send(ProxyHarness.requestText("GET", "/public/a"))
        #expect(try await plain.waitForClose())
        #expect(harness.upstream.seen.withLock { $0.isEmpty }, "a plain-text request reached the upstream")
    }

    @Test func reloadSwapsTheCertificateForNewConnectionsOnly() async throws {
        let directory = try Self.tlsDirectory()
        let harness = try await Self.harness()
        defer { Task { await harness.shutdown() } }
        let before = try await harness.client()
        try await before.send(ProxyHarness.requestText("GET", "/public/1"))
        #expect(try await before.response().status == 200)
        let firstSerial = try await Self.serial(before)

        let listener = try #require(harness.proxy.tls)
        #expect(listener.serial == firstSerial)
        try listener.reload(.init(certificatePath: "\(directory)/server2.pem", keyPath: "\(directory)/server2.key"))
        let after = try await harness.client()
        try await after.send(ProxyHarness.requestText("GET", "/public/2"))
        #expect(try await after.response().status == 200)
        let secondSerial = try await Self.serial(after)
        #expect(secondSerial != firstSerial)
        #expect(listener.serial == secondSerial)

        // The connection opened before the reload keeps working on its certificate.
        try await before.send(ProxyHarness.requestText("GET", "/public/3"))
        #expect(try await before.response().status == 200)
        #expect(try await Self.serial(before) == firstSerial)
        await before.close()
        await after.close()

        // A bad file keeps the current context.
        #expect(throws: ListenerTLSError.self) {
            try listener.reload(.init(certificatePath: "\(directory)/server.pem", keyPath: "\(directory)/server2.key"))
        }
        #expect(listener.serial == secondSerial)
    }

    // MARK: Support

    static func harness() async throws -> ProxyHarness {
        let directory = try tlsDirectory()
        let files = ProxyConfig.ListenerTLSFiles(certificatePath: "\(directory)/chain.pem", keyPath: "\(directory)/server.key")
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .file("\(directory)/ca.pem")
        let tls = (listener: try ListenerTLS(files: files), client: try NIOSSLContext(configuration: client))
        return try await ProxyHarness(configure: { $0.server.tls = files }, tls: tls)
    }

    static func serial(_ client: RawClient) async throws -> String? {
        try await client.channel.nioSSL_peerCertificate().get().map { Hex.encode($0.serialNumber) }
    }

    static func tlsDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment["SESSIONGATE_TEST_TLS_DIR"], !directory.isEmpty else {
            Issue.record("SESSIONGATE_TEST_TLS_DIR is unset: run through scripts/test.sh (scripts/lib/tls_ca.sh)")
            throw CancellationError()
        }
        return directory
    }
}
