import SessionGateCore
import SessionGateStores
import Testing

/// The user's view of sessions: real HTTP through a real listener to a real upstream.
@Suite struct SessionFlowTests {
    @Test func loginRequestRotateLogout() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }

        // Anonymous browser on a session route: redirected to the login page with `next`.
        let anonymous = try await harness.request("GET", "/account?tab=1", headers: [("Accept", "text/html")])
        #expect(anonymous.status == 302)
        #expect(anonymous.header("location") == "/login?next=/account%3Ftab%3D1")

        // Login: the upstream answers with X-Session-Set; the proxy creates the session.
        let login = try await harness.request("POST", "/login", headers: [("X-Test-Set", #"{"user_id":"alice","role":"user"}"#)], body: "")
        #expect(login.status == 200)
        #expect(login.header("x-session-set") == nil, "directive leaked to the client")
        let setCookie = try #require(login.headers("set-cookie").first)
        #expect(setCookie.contains("HttpOnly"))
        #expect(setCookie.contains("Secure"))
        #expect(setCookie.contains("SameSite=Lax"))
        #expect(setCookie.contains("Path=/"))
        #expect(setCookie.contains("Max-Age=1800"))
        let cookie = try #require(ProxyHarness.sessionCookie(from: login))

        // A request with the cookie: the upstream sees a token and the injected header, not the cookie.
        let me = try await harness.request("GET", "/account", cookie: cookie + "; theme=dark")
        #expect(me.status == 200)
        let seen = try #require(harness.upstream.lastHead)
        let token = try #require(seen.headers.first(name: "x-session-token"))
        #expect(token.split(separator: ".").count == 3)
        #expect(seen.headers.first(name: "x-user-id") == "alice")
        #expect(seen.headers.first(name: "cookie") == "theme=dark")

        // Rotate: a new cookie; the old one stops working.
        let rotated = try await harness.request("GET", "/account", headers: [("X-Test-Action", "rotate")], cookie: cookie)
        let newCookie = try #require(ProxyHarness.sessionCookie(from: rotated))
        #expect(newCookie != cookie)
        #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 401)
        #expect(try await harness.request("GET", "/api/x", cookie: newCookie).status == 200)

        // Logout: the cookie is cleared and the session is gone server-side.
        let logout = try await harness.request("POST", "/account", headers: [("X-Test-Action", "destroy")], body: "", cookie: newCookie)
        #expect(logout.headers("set-cookie").contains { $0.contains("Max-Age=0") })
        #expect(try await harness.request("GET", "/api/x", cookie: newCookie).status == 401)
    }

    @Test func unauthenticatedAnswers() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let api = try await harness.request("GET", "/api/items", headers: [("Accept", "text/html")])
        #expect(api.status == 401, "route says 401 even for browsers")
        #expect(api.text.contains("unauthenticated"))
        let json = try await harness.request("GET", "/other", headers: [("Accept", "application/json")])
        #expect(json.status == 401)
        #expect(try await harness.request("GET", "/blocked/x").status == 403)
        let user = try await harness.login("bob")
        #expect(try await harness.request("GET", "/admin/panel", cookie: user).status == 403, "require role=admin")
        let admin = try await harness.login("root", role: "admin")
        #expect(try await harness.request("GET", "/admin/panel", cookie: admin).status == 200)
        #expect(harness.upstream.requests.allSatisfy { !$0.head.uri.hasPrefix("/blocked") })
    }

    @Test func everyDirective() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("carol")

        // Several X-Session-Set headers apply in order.
        let patched = try await harness.request(
            "GET", "/x", headers: [("X-Test-Set", #"{"a":1,"b":2}"#), ("X-Test-Set", #"{"b":null,"c":3}"#)], cookie: cookie)
        #expect(patched.status == 200)
        let session = try #require(try await currentData(harness, cookie: cookie))
        #expect(session["a"] == 1 && session["b"] == nil && session["c"] == 3)

        // Malformed directive: 502, nothing applied (not even the valid patch of the same response).
        let bad = try await harness.request(
            "GET", "/x", headers: [("X-Test-Set", #"{"d":4}"#), ("X-Test-Action", "explode")], cookie: cookie)
        #expect(bad.status == 502)
        #expect(try await currentData(harness, cookie: cookie)?["d"] == nil)
        #expect(try await harness.request("GET", "/x", headers: [("X-Test-Set", "[1]")], cookie: cookie).status == 502)
        #expect(try await harness.request("GET", "/x", headers: [("X-Test-Lifetime", "0")], cookie: cookie).status == 502)

        // Lifetime: Max-Age follows (capped by max_lifetime = 30d).
        let remembered = try await harness.request("GET", "/x", headers: [("X-Test-Lifetime", "999999999")], cookie: cookie)
        #expect(remembered.headers("set-cookie").contains { $0.contains("Max-Age=\(30 * 86400)") })

        // revoke-others keeps this session and ends the user's others; revoke-all ends them all.
        let second = try await harness.login("carol")
        let third = try await harness.login("carol")
        _ = try await harness.request("GET", "/x", headers: [("X-Test-Action", "revoke-others")], cookie: second)
        #expect(try await harness.request("GET", "/api/x", cookie: second).status == 200)
        #expect(try await harness.request("GET", "/api/x", cookie: third).status == 401)
        #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 401)
        let all = try await harness.request("GET", "/x", headers: [("X-Test-Action", "revoke-all")], cookie: second)
        #expect(all.headers("set-cookie").contains { $0.contains("Max-Age=0") })
        #expect(try await harness.request("GET", "/api/x", cookie: second).status == 401)

        // `null` destroys; an upstream Set-Cookie for the session cookie's name is dropped.
        let fourth = try await harness.login("carol")
        let nulled = try await harness.request(
            "GET", "/x", headers: [("X-Test-Set", "null"), ("X-Test-Set-Cookie", "__Host-session=forged; Path=/")], cookie: fourth)
        #expect(!nulled.headers("set-cookie").contains { $0.contains("forged") })
        #expect(try await harness.request("GET", "/api/x", cookie: fourth).status == 401)
    }

    @Test func changingTheUserRotatesTheId() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let anonymous = try #require(
            ProxyHarness.sessionCookie(
                from: try await harness.request(
                    "GET", "/public/cart", headers: [("X-Test-Set", #"{"cart":[1]}"#)])))
        let login = try await harness.request("GET", "/public/login", headers: [("X-Test-Set", #"{"user_id":"dave"}"#)], cookie: anonymous)
        let loggedIn = try #require(ProxyHarness.sessionCookie(from: login))
        #expect(loggedIn != anonymous)
        #expect(try await harness.request("GET", "/api/x", cookie: anonymous).status == 401, "pre-login id still valid")
        #expect(try await currentData(harness, cookie: loggedIn)?["cart"] == [1])
    }

    @Test func idleAndAbsoluteExpiry() async throws {
        let harness = try await ProxyHarness { config in
            config.session.idleTimeout = 600
            config.session.absoluteTimeout = 3600
            config.session.touchInterval = 60
        }
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("erin")
        harness.clock.advance(by: 599)
        let touched = try await harness.request("GET", "/api/x", cookie: cookie)
        #expect(touched.status == 200)
        #expect(touched.headers("set-cookie").contains { $0.contains("Max-Age=600") }, "touch re-sends Max-Age")
        harness.clock.advance(by: 30)
        let quiet = try await harness.request("GET", "/api/x", cookie: cookie)
        #expect(quiet.status == 200)
        #expect(quiet.headers("set-cookie").isEmpty, "touch not throttled")
        // Keep it busy until the absolute limit.
        for _ in 0..<5 {
            harness.clock.advance(by: 500)
            #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 200)
        }
        harness.clock.advance(by: 3600 - 599 - 30 - 2500)
        let expired = try await harness.request("GET", "/api/x", cookie: cookie)
        #expect(expired.status == 401, "absolute timeout")
        #expect(expired.headers("set-cookie").contains { $0.contains("Max-Age=0") }, "stale cookie cleared")
        let other = try await harness.login("erin")
        harness.clock.advance(by: 600)
        #expect(try await harness.request("GET", "/api/x", cookie: other).status == 401, "idle timeout")
    }

    @Test func concurrentPatchesOfDifferentKeysAllSurvive() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("frank")
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await harness.request("GET", "/x", headers: [("X-Test-Set", #"{"k\#(index)":\#(index)}"#)], cookie: cookie).status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        let data = try #require(try await currentData(harness, cookie: cookie))
        for index in 0..<20 { #expect(data["k\(index)"] == .int(Int64(index)), "k\(index) lost") }
    }

    @Test func storeDownGives503OnSessionRoutesOnly() async throws {
        let harness = try await ProxyHarness(makeStore: { _ in FailingStore() })
        defer { Task { await harness.shutdown() } }
        let cookie =
            "__Host-session="
            + harness.runtimes.current.keyRing.seal(
                SystemRandomBytes().bytes(32), cookieName: "__Host-session", random: SystemRandomBytes())
        #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 503)
        #expect(try await harness.request("GET", "/public/x", cookie: cookie).status == 200, "public routes keep serving")
        let login = try await harness.request("POST", "/login", headers: [("X-Test-Set", #"{"user_id":"x"}"#)], body: "")
        #expect(login.status == 503, "a login must never look successful while lost")
    }

    /// The session data as the upstream sees it in the token.
    func currentData(_ harness: ProxyHarness, cookie: String) async throws -> [String: JSONValue]? {
        _ = try await harness.request("GET", "/api/whoami", cookie: cookie)
        guard let token = harness.upstream.lastHead?.headers.first(name: "x-session-token") else { return nil }
        let payload = try #require(Base64URL.decode(token.split(separator: ".")[1]))
        return try JSONParser.parse(payload)["data"]?.objectValue
    }
}

/// A store that is down: the one place a fake is right (a real store cannot be told to fail
/// every call on cue).
struct FailingStore: SessionStore {
    var reach: StoreReach { .serverSide }
    func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        throw StoreError(.unavailable, "down")
    }
    func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError) -> StoredSession {
        throw StoreError(.unavailable, "down")
    }
    func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        throw StoreError(.unavailable, "down")
    }
    func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        throw StoreError(.unavailable, "down")
    }
    func destroy(_ session: StoredSession) async throws(StoreError) { throw StoreError(.unavailable, "down") }
    func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        throw StoreError(.unavailable, "down")
    }
    func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        throw StoreError(.unavailable, "down")
    }
    func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int {
        throw StoreError(.unavailable, "down")
    }
    func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        throw StoreError(.unavailable, "down")
    }
    func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        throw StoreError(.unavailable, "down")
    }
    func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? { throw StoreError(.unavailable, "down") }
    func checkHealth() async throws(StoreError) { throw StoreError(.unavailable, "down") }
}
