import SessionGateCore
import Testing

/// Attacks that broke other proxies, sent over real sockets.
@Suite struct SecurityTests {
    static let spoofedNames = [
        "X-Session-Token", "x-session-token", "X_Session_Token", "X.Session.Token", "X-SESSION-TOKEN",
        "X-Session-Set", "X-Session-Action", "X-Session-Lifetime", "X-Session-Anything",
        "X-User-Id", "x_user_id", "X.User.Id", "X-USER-ID",
    ]

    @Test func spoofedIdentityHeadersNeverReachTheUpstream() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("mallory")
        for name in Self.spoofedNames {
            for withSession in [false, true] {
                _ = try await harness.request(
                    "GET", "/public/spoof", headers: [(name, "forged"), ("Connection", "keep-alive, \(name)")],
                    cookie: withSession ? cookie : nil)
                let seen = try #require(harness.upstream.lastHead)
                #expect(!seen.headers.contains { $0.value == "forged" }, "\(name) reached the upstream")
                if withSession {
                    // `Connection: X-Session-Token` must not remove the proxy's own header.
                    #expect(seen.headers.first(name: "x-session-token") != nil, "\(name) in Connection removed the token")
                    #expect(seen.headers.first(name: "x-user-id") == "mallory")
                } else {
                    #expect(seen.headers.first(name: "x-session-token") == nil)
                }
            }
        }
    }

    @Test func forwardedHeadersAreReplacedFromUntrustedPeers() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        _ = try await harness.request(
            "GET", "/public/xff",
            headers: [
                ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Host", "evil.test"), ("X-Forwarded-Proto", "https"),
                ("Forwarded", "for=6.6.6.6"),
            ])
        let seen = try #require(harness.upstream.lastHead)
        #expect(seen.headers["x-forwarded-for"] == ["127.0.0.1"])
        #expect(seen.headers["x-forwarded-host"] == ["app.test"])
        #expect(seen.headers["x-forwarded-proto"] == ["http"])
        #expect(seen.headers["forwarded"].isEmpty)

        let trusting = try await ProxyHarness { $0.server.trustedProxies = [CIDR("127.0.0.0/8")!] }
        defer { Task { await trusting.shutdown() } }
        _ = try await trusting.request("GET", "/public/xff", headers: [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")])
        let trusted = try #require(trusting.upstream.lastHead)
        #expect(trusted.headers["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"])
        #expect(trusted.headers["x-forwarded-proto"] == ["https"])
    }

    @Test(arguments: [
        ("/public/../admin/x", 302), ("/public/%2e%2e/admin/x", 302), ("/admin%2fx", 400), ("/%61dmin/x", 302),
        ("//admin/x", 302), ("/admin;x", 400), ("/admin/.", 302), ("/admin/%2e%2e/x", 302), ("/admin%00", 400),
        ("/public/%252e%252e/admin", 200), ("/public/%c0%ae%c0%ae/admin", 400), ("/public\\..\\admin", 400),
        ("/public/..%2fadmin", 400), ("/public/..%5cadmin", 400), ("/ADMIN/x", 302), ("/admin./x", 302),
        ("/public/../../admin/x", 302), ("/blocked/../blocked/x", 403), ("/BLOCKED/x", 302), ("/public/%2e/../admin", 302),
    ])
    func pathTricksNeverReachProtectedRoutesAnonymously(_ target: String, _ expected: Int) async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let response = try await harness.request("GET", target, headers: [("Accept", "text/html")])
        #expect(response.status == expected, "\(target)")
        for seen in harness.upstream.requests {
            #expect(!seen.head.uri.lowercased().hasPrefix("/admin"), "\(target) reached \(seen.head.uri)")
            #expect(!seen.head.uri.contains(".."), "\(target) forwarded with dot-segments")
        }
    }

    @Test func forwardedPathIsTheMatchedPath() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        #expect(try await harness.request("GET", "/public/a/./b/../c?x=%2F&y=1").status == 200)
        #expect(harness.upstream.lastHead?.uri == "/public/a/c?x=%2F&y=1")
    }

    @Test func tracingHeadersPassAndRequestIdsAreKeptOrMade() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let response = try await harness.request(
            "GET", "/public/t", headers: [("traceparent", traceparent), ("tracestate", "a=1,b=2"), ("X-Request-Id", "req-42")])
        let seen = try #require(harness.upstream.lastHead)
        #expect(seen.headers["traceparent"] == [traceparent])
        #expect(seen.headers["tracestate"] == ["a=1,b=2"])
        #expect(seen.headers["x-request-id"] == ["req-42"])
        #expect(response.header("x-request-id") == "req-42")
        _ = try await harness.request("GET", "/public/t", headers: [("X-Request-Id", "bad id with spaces\u{7f}")])
        let generated = try #require(harness.upstream.lastHead?.headers["x-request-id"].first)
        #expect(generated != "bad id with spaces\u{7f}" && !generated.isEmpty)
    }

    @Test(arguments: [
        "https://evil.test/", "//evil.test/", "/\\evil.test", "/%2F%2Fevil.test", "/%5Cevil.test", "javascript:alert(1)",
    ])
    func loginRedirectNeverPointsOffSite(_ next: String) async throws {
        #expect(LoginRedirect.safeNext(next) == nil, "\(next)")
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let response = try await harness.request(
            "GET", "/account" + "?next=" + next.replacingOccurrences("\\", "%5C"), headers: [("Accept", "text/html")])
        let location = try #require(response.header("location"))
        #expect(location.hasPrefix("/login?next=/"), "\(location)")
    }

    @Test func garbageTruncatedAndReplayedCookies() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("victor")
        let value = String(cookie.dropFirst("__Host-session=".count))
        let garbage = [
            "", "x", String(repeating: "A", count: 5000), String(value.dropLast(3)), value + "AAAA", "%00%01",
            String(value.reversed()),
        ]
        for bad in garbage {
            let response = try await harness.request("GET", "/api/x", cookie: "__Host-session=\(bad)")
            #expect(response.status == 401, "cookie \(bad.prefix(20)) opened")
        }
        // The first cookie that opens wins, even after garbage.
        #expect(try await harness.request("GET", "/api/x", cookie: "__Host-session=garbage; \(cookie)").status == 200)
        // Replayed after logout and after rotation.
        let rotated = try #require(
            ProxyHarness.sessionCookie(from: try await harness.request("GET", "/x", headers: [("X-Test-Action", "rotate")], cookie: cookie))
        )
        #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 401, "replayed after rotation")
        _ = try await harness.request("GET", "/x", headers: [("X-Test-Action", "destroy")], cookie: rotated)
        #expect(try await harness.request("GET", "/api/x", cookie: rotated).status == 401, "replayed after logout")
        // A cookie sealed for another name does not open under this one.
        let foreign = harness.runtimes.current.keyRing.seal(Array(value.utf8), cookieName: "other", random: SystemRandomBytes())
        #expect(try await harness.request("GET", "/api/x", cookie: "__Host-session=\(foreign)").status == 401)
    }

    @Test func awkwardSessionData() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("nina")
        let unicode = try await harness.request("GET", "/x", headers: [("X-Test-Set", #"{"ключ":"värde ☃","emoji":"😀"}"#)], cookie: cookie)
        #expect(unicode.status == 200)
        let nested = String(repeating: #"{"a":"#, count: 25) + "1" + String(repeating: "}", count: 25)
        #expect(try await harness.request("GET", "/x", headers: [("X-Test-Set", #"{"deep":\#(nested)}"#)], cookie: cookie).status == 200)
        let tooDeep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(try await harness.request("GET", "/x", headers: [("X-Test-Set", #"{"deep":\#(tooDeep)}"#)], cookie: cookie).status == 502)
        // A header value with a newline in the data is never injected as a header.
        _ = try await harness.request("GET", "/x", headers: [("X-Test-Set", #"{"user_id":"evil\r\nX-Admin: 1"}"#)], cookie: cookie)
        let after = try await harness.request("GET", "/api/x", cookie: cookie)
        #expect(after.status == 401 || after.status == 200)
        #expect(harness.upstream.lastHead?.headers.first(name: "x-admin") == nil)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
