import Foundation
import RedisWire
import RedisWireTestSupport
import SessionGateCore
import SessionGateProxy
import SessionGateStores
import Testing

/// What a client sees when the store's server answers with replies of the wrong shape (a
/// Redis-speaking server with other semantics): 503 on session routes, never "anonymous" (401)
/// for a valid cookie, never a `Set-Cookie` for a session that was not stored.
@Suite struct MalformedStoreReplyTests {
    /// A real proxy whose `RedisSessionStore` talks to `server`. The store timeout is long, so a
    /// 503 here is the reply's doing, not a slow machine's.
    private func harness(_ server: FakeRESPServer) async throws -> ProxyHarness {
        var configuration = RedisConfiguration(port: server.port)
        configuration.commandTimeout = .seconds(20)
        configuration.connectTimeout = .seconds(20)
        let client = RedisClient(configuration: configuration)
        return try await ProxyHarness(configure: { $0.store.timeout = .seconds(20) }) { policy in
            RedisSessionStore(executor: client, policy: policy, random: SystemRandomBytes())
        }
    }

    /// A cookie that opens (sealed with the proxy's own key ring) for a session id the fake
    /// server then answers for.
    private func validCookie(_ harness: ProxyHarness) -> String {
        let runtime = harness.runtimes.current
        let name = runtime.config.cookie.name
        let ticket = [UInt8](repeating: 7, count: SessionID.byteCount)
        return name + "=" + runtime.keyRing.seal(ticket, cookieName: name, random: SystemRandomBytes())
    }

    private func shutDown(_ harness: ProxyHarness, _ server: FakeRESPServer) async {
        await harness.shutdown()
        if let store = harness.store as? RedisSessionStore { await store.shutdown() }
        await server.stop()
    }

    @Test(arguments: WrongShape.allCases)
    func loadWithAValidCookieIs503NotAnonymous(shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: shape.reply)
        let harness = try await harness(server)
        let cookie = validCookie(harness)
        for path in ["/api/me", "/account"] {
            let response = try await harness.request("GET", path, cookie: cookie)
            #expect(response.status == 503, "\(path) with a \(shape) reply to HMGET")
            #expect(ProxyHarness.sessionCookie(from: response) == nil)
        }
        #expect(server.received.contains("HMGET"), "the store was asked")
        #expect(harness.upstream.seen.withLock { $0.isEmpty }, "nothing reached the upstream")
        // The contrast: a well-formed "no such key" (all nils) is anonymous, and a session loads.
        server.answerEverythingElse(with: .array(Array(repeating: .null, count: WrongShape.sessionFields.count)))
        #expect(try await harness.request("GET", "/api/me", cookie: cookie).status == 401)
        server.answerEverythingElse(with: .array(WrongShape.sessionFields))
        #expect(try await harness.request("GET", "/api/me", cookie: cookie).status == 200)
        await shutDown(harness, server)
    }

    @Test(arguments: WrongShape.allCases)
    func loginIs503WithoutASessionCookie(shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: shape.reply)
        let harness = try await harness(server)
        let response = try await harness.request(
            "POST", "/login", headers: [("X-Test-Set", #"{"user_id":"u1","role":"user"}"#)], body: "")
        #expect(response.status == 503, "login with a \(shape) reply to the write")
        #expect(response.headers("set-cookie").isEmpty, "no cookie for a session that was not stored")
        #expect(server.received.contains("EVALSHA"), "the store was asked")
        await shutDown(harness, server)
    }

    /// The session loads (HMGET answers well), then the write answers with the wrong shape.
    /// A null is the scripts' documented "session gone": the patch ends the session (cookie
    /// cleared), and a logout of a gone session succeeds.
    @Test(arguments: WrongShape.allCases)
    func patchAndLogoutAre503(shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: shape.reply)
        server.answer("HMGET", with: .array(WrongShape.sessionFields))
        let harness = try await harness(server)
        let cookie = validCookie(harness)
        let patch = try await harness.request("GET", "/account", headers: [("X-Test-Set", #"{"theme":"dark"}"#)], cookie: cookie)
        let logout = try await harness.request(
            "POST", "/account", headers: [("X-Test-Action", "destroy")], body: "", cookie: cookie)
        for (name, response) in [("patch", patch), ("logout", logout)] {
            if shape == .null {
                #expect(response.status == 200, "\(name) of a session the script says is gone")
                #expect(!response.headers("set-cookie").isEmpty, "cookie cleared")
                #expect(ProxyHarness.sessionCookie(from: response) == nil, "cleared, not set")
            } else {
                #expect(response.status == 503, "\(name) with a \(shape) reply")
                #expect(response.headers("set-cookie").isEmpty)
            }
        }
        await shutDown(harness, server)
    }
}
