import NIOCore
import SessionGateCore
import Testing

/// The attacks of the hardening review (issue 13), over real sockets: h2c smuggling, response
/// queue poisoning by a misbehaving upstream, methods and Host, trailers, body timeout, session
/// size and cookies from upstream. Each failed on the commit before the fix.
@Suite struct HardeningTests {
    static let poison =
        "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nX-Session-Set: {\"user_id\":\"mallory\",\"role\":\"admin\"}\r\n"
        + "Set-Cookie: __Host-session=planted\r\n\r\npoison"

    /// The victim's page: `page-<token>` for `/victim?token=<token>`.
    static func victimPage(_ request: RawUpstream.Request) -> [UInt8] {
        let token = request.target.split(separator: "=").last.map(String.init) ?? "?"
        let body = "page-\(token)"
        return Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
    }

    /// What the misbehaving app sends for `/attack?kind=…`.
    static func attack(_ kind: String) -> [RawUpstream.Action] {
        let poison = Self.poison
        switch kind {
        case "extra-after-length":
            return [.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\(poison)".utf8))]
        case "extra-after-chunked":
            return [.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n\(poison)".utf8))]
        case "body-on-head":
            return [.write(Array("HTTP/1.1 200 OK\r\nContent-Length: \(poison.utf8.count)\r\n\r\n\(poison)".utf8))]
        case "body-on-204":
            return [.write(Array("HTTP/1.1 204 No Content\r\nContent-Length: \(poison.utf8.count)\r\n\r\n\(poison)".utf8))]
        case "body-on-304":
            return [.write(Array("HTTP/1.1 304 Not Modified\r\nContent-Length: \(poison.utf8.count)\r\n\r\n\(poison)".utf8))]
        case "partial-head":
            return [
                .write(
                    Array(
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nX-Session-Set: {\"role\":\"admin\"}\r\nConte".utf8
                    ))
            ]
        case "late-unsolicited":
            return [
                .write(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)), .writeLater(milliseconds: 20, Array(poison.utf8)),
            ]
        default:
            return [.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))]
        }
    }

    static func misbehavingApp(_ request: RawUpstream.Request) -> [RawUpstream.Action] {
        if request.target.hasPrefix("/public/victim") { return [.write(victimPage(request))] }
        let kind = request.target.split(separator: "=").last.map(String.init) ?? ""
        return attack(kind)
    }

    @Test(arguments: [
        "extra-after-length", "extra-after-chunked", "body-on-head", "body-on-204", "body-on-304", "partial-head", "late-unsolicited",
    ])
    func leftoverUpstreamBytesNeverReachTheNextClient(kind: String) async throws {
        let app = try await RawUpstream(group: ProxyHarness.group, script: Self.misbehavingApp)
        defer { Task { await app.stop() } }
        let harness = try await ProxyHarness(proxyGroup: ProxyHarness.oneLoop) {
            $0.upstream.url = .init(host: "127.0.0.1", port: app.port)
        }
        defer { Task { await harness.shutdown() } }

        let method = kind == "body-on-head" ? "HEAD" : "GET"
        let attacker = try await harness.client()
        try await attacker.send(ProxyHarness.requestText(method, "/public/attack?kind=\(kind)"))
        let attacked = try await attacker.response(headRequest: method == "HEAD")
        #expect(attacked.header("set-cookie") == nil)
        #expect(!attacked.text.contains("poison"))
        // The proxy closes the poisoned upstream connection instead of pooling it.
        #expect(try await app.waitUntilClosed(connection: 0), "the poisoned upstream connection was kept")

        for token in 0..<3 {
            let victim = try await harness.request("GET", "/public/victim?token=\(token)")
            #expect(victim.status == 200 && victim.text == "page-\(token)", "victim got \(victim.status) \(victim.text)")
            #expect(ProxyHarness.sessionCookie(from: victim) == nil, "a planted session reached the victim")
        }
        #expect(!app.requests.withLock { $0 }.isEmpty)
    }

    /// Well-framed responses of every kind keep the one upstream connection in use.
    @Test func wellFramedResponsesKeepTheConnectionPooled() async throws {
        let app = try await RawUpstream(group: ProxyHarness.group) { request in
            switch request.target {
            case "/public/chunked":
                [.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n".utf8))]
            case "/public/empty": [.write(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))]
            case "/public/cached": [.write(Array("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n".utf8))]
            case "/public/continue": [.write(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx".utf8))]
            default: [.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\(request.method == "HEAD" ? "" : "ok")".utf8))]
            }
        }
        defer { Task { await app.stop() } }
        let harness = try await ProxyHarness(proxyGroup: ProxyHarness.oneLoop) {
            $0.upstream.url = .init(host: "127.0.0.1", port: app.port)
        }
        defer { Task { await harness.shutdown() } }
        let client = try await harness.client()
        for (method, path) in [
            ("GET", "/public/a"), ("GET", "/public/chunked"), ("HEAD", "/public/a"), ("GET", "/public/empty"),
            ("GET", "/public/cached"), ("GET", "/public/a"),
        ] {
            try await client.send(ProxyHarness.requestText(method, path))
            let response = try await client.response(headRequest: method == "HEAD")
            #expect(response.status < 400, "\(method) \(path): \(response.status)")
        }
        #expect(app.connectionCount.withLock { $0 } == 1, "a well-framed response cost its upstream connection")
    }

    /// `Upgrade: h2c` (and any token not in `[server] upgrades`) is removed with `HTTP2-Settings`:
    /// an h2c-capable app never switches, so no HTTP/2 request can bypass the route rules.
    @Test func h2cAndUnknownUpgradesAreProxiedAsPlainRequests() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        for token in ["h2c", "foo", "H2C, websocket-not"] {
            let response = try await harness.request(
                "GET", "/public/x",
                headers: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", token), ("HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA")])
            #expect(response.status == 200)
            let seen = try #require(harness.upstream.lastHead)
            #expect(seen.headers["upgrade"].isEmpty, "Upgrade: \(token) reached the upstream")
            #expect(seen.headers["http2-settings"].isEmpty)
            #expect(!seen.headers["connection"].contains { $0.lowercased().contains("upgrade") })
        }
        // The connection then closes at once (it cannot be read further), instead of stalling
        // until a timeout (here two minutes, so a close within one is not the timeout's).
        let patient = try await ProxyHarness { $0.server.headerTimeout = .seconds(120) }
        defer { Task { await patient.shutdown() } }
        let client = try await patient.client()
        try await client.send(
            ProxyHarness.requestText("GET", "/public/x", headers: [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")])
                + ProxyHarness.requestText("GET", "/public/next"))
        let first = try await client.response()
        #expect(first.status == 200 && first.header("connection")?.lowercased() == "close")
        #expect(try await client.waitForClose(timeout: .seconds(60)), "the connection stalled after a refused upgrade")
    }

    /// A `101` that was not asked for, or whose accept key is wrong, is a 502, never a tunnel.
    @Test func unexpectedSwitchingProtocolsIsRefused() async throws {
        let app = try await RawUpstream(group: ProxyHarness.group) { _ in
            [.write(Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nPRI * HTTP/2.0".utf8))]
        }
        defer { Task { await app.stop() } }
        let raw = try await ProxyHarness { $0.upstream.url = .init(host: "127.0.0.1", port: app.port) }
        defer { Task { await raw.shutdown() } }
        let plain = try await raw.request("GET", "/public/x", headers: [("Connection", "Upgrade"), ("Upgrade", "h2c")])
        #expect(plain.status == 502)

        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("wendy")
        let wrongKey = try await harness.request(
            "GET", "/ws",
            headers: [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"), ("X-Test-Accept", "bm90IHRoZSByaWdodCBrZXk="),
            ], cookie: cookie)
        #expect(wrongKey.status == 502)
    }

    @Test func connectAndTraceAre405() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        for request in ["CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n", "TRACE /public/x HTTP/1.1\r\nHost: a\r\n\r\n"] {
            let client = try await harness.client()
            try await client.send(request)
            #expect(try await client.response().status == 405)
        }
        #expect(harness.upstream.requests.isEmpty)
    }

    @Test func hostMustBeOneOnHTTP11() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        for request in [
            "GET /public/x HTTP/1.1\r\n\r\n", "GET /public/x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
        ] {
            let client = try await harness.client()
            try await client.send(request)
            #expect(try await client.response().status == 400, "\(request)")
        }
        #expect(harness.upstream.requests.isEmpty)
        let old = try await harness.client()
        try await old.send("GET /public/x HTTP/1.0\r\n\r\n")
        #expect(try await old.response().status == 200, "HTTP/1.0 needs no Host")
    }

    @Test func trailersAreDroppedBothWays() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let client = try await harness.client()
        try await client.send(
            "POST /public/t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Session-Token: forged\r\nX-User-Id: 1\r\n\r\n"
        )
        #expect(try await client.response().status == 200)
        let seen = try #require(harness.upstream.requests.last)
        #expect(seen.bodyBytes == 3)
        #expect(seen.trailers == nil || seen.trailers?.isEmpty == true, "request trailers reached the upstream")

        let app = try await RawUpstream(group: ProxyHarness.group) { _ in
            [
                .write(
                    Array(
                        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Session-Set\r\n\r\n2\r\nok\r\n0\r\n"
                            + "X-Session-Set: {\"role\":\"admin\"}\r\nSet-Cookie: __Host-session=planted\r\n\r\n").utf8))
            ]
        }
        defer { Task { await app.stop() } }
        let raw = try await ProxyHarness { $0.upstream.url = .init(host: "127.0.0.1", port: app.port) }
        defer { Task { await raw.shutdown() } }
        let reader = try await raw.client()
        try await reader.send(ProxyHarness.requestText("GET", "/public/x"))
        _ = try await reader.response()
        let bytes = String(decoding: reader.collector.received.withLock { $0 }, as: UTF8.self)
        let all = try await raw.request("GET", "/public/y")
        #expect(all.text == "ok")
        #expect(!bytes.contains("planted") && !bytes.lowercased().contains("x-session-set"), "response trailers reached the client")
    }

    @Test func stalledRequestBodyGets408() async throws {
        let harness = try await ProxyHarness { $0.server.bodyTimeout = .seconds(1) }
        defer { Task { await harness.shutdown() } }
        let client = try await harness.client()
        try await client.send("POST /public/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789")
        let response = try await client.response(timeout: .seconds(60))
        #expect(response.status == 408)
        #expect(try await client.waitForClose(timeout: .seconds(60)))
    }

    @Test func oversizedSessionPatchIsRefused() async throws {
        let harness = try await ProxyHarness { $0.session.maxDataBytes = 1024 }
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("sam")
        let big = String(repeating: "x", count: 600)
        let first = try await harness.request("POST", "/public/p", headers: [("X-Test-Set", #"{"a":"\#(big)"}"#)], body: "", cookie: cookie)
        #expect(first.status == 200)
        let second = try await harness.request(
            "POST", "/public/p", headers: [("X-Test-Set", #"{"b":"\#(big)"}"#)], body: "", cookie: cookie)
        #expect(second.status == 502, "a patch past max_data_bytes was applied")
        let me = try await harness.request("GET", "/api/me", cookie: cookie)
        let token = try #require(harness.upstream.lastHead?.headers.first(name: "x-session-token"))
        #expect(me.status == 200)
        #expect(token.utf8.count < 2048, "the refused patch reached the session")
    }

    @Test func namelessSessionCookieFromUpstreamIsDropped() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        for value in ["=__Host-session=planted", "= __Host-session=planted; Path=/", "__Host-session=planted"] {
            let response = try await harness.request("GET", "/public/c", headers: [("X-Test-Set-Cookie", value)])
            #expect(!response.headers("set-cookie").contains { $0.contains("planted") }, "\(value) passed")
        }
        let other = try await harness.request("GET", "/public/c", headers: [("X-Test-Set-Cookie", "theme=dark")])
        #expect(other.headers("set-cookie").contains("theme=dark"))
    }

    /// Method and URL overrides never pass; forwarding headers in every spelling pass only from
    /// `trusted_proxies` (WSGI/CGI fold `_` and `-` into one variable, so `X_Forwarded_For` would
    /// be read first by the app).
    @Test func overrideAndForwardingHeadersAreRemovedInEverySpelling() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let forged: [(String, String)] = [
            ("X-HTTP-Method-Override", "DELETE"), ("x_http_method_override", "DELETE"), ("X-HTTP-Method", "DELETE"),
            ("X-Method-Override", "DELETE"), ("X-Original-URL", "/admin/x"), ("X.Rewrite.URL", "/admin/x"),
            ("X-Original-URI", "/admin/x"), ("X_Forwarded_For", "6.6.6.6"), ("X.Forwarded.Proto", "gopher"),
            ("X-Forwarded-Port", "1"), ("X-Real-IP", "6.6.6.6"), ("True-Client-IP", "6.6.6.6"), ("X_Client_IP", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"), ("HTTP2-Settings", "AAMAAABkAAQAoAAAAAIAAAAA"),
        ]
        let response = try await harness.request("POST", "/public/x", headers: forged, body: "")
        #expect(response.status == 200)
        let seen = try #require(harness.upstream.lastHead)
        for (name, value) in forged {
            #expect(!seen.headers.contains { $0.name == name && $0.value == value }, "\(name) reached the upstream")
        }
        #expect(seen.headers["x-forwarded-for"] == ["127.0.0.1"])
        #expect(seen.headers["x-forwarded-proto"] == ["http"])
        #expect(seen.method == .POST)
    }

    /// A state-changing request to a session route from another origin (another subdomain
    /// included) is refused before the session is even loaded; same-origin, trusted origins,
    /// safe methods, public routes and non-browser clients pass.
    @Test func crossOriginStateChangesAreRefused() async throws {
        let harness = try await ProxyHarness { $0.routes.trustedOrigins = ["https://admin.app.test"] }
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("olga")
        let cases: [(method: String, path: String, headers: [(String, String)], status: Int)] = [
            ("POST", "/api/x", [("Sec-Fetch-Site", "cross-site")], 403),
            ("POST", "/api/x", [("Sec-Fetch-Site", "same-site")], 403),
            ("DELETE", "/api/x", [("Origin", "https://evil.test")], 403),
            ("PUT", "/api/x", [("Origin", "null")], 403),
            ("POST", "/api/x", [("Sec-Fetch-Site", "same-origin"), ("Origin", "http://app.test")], 200),
            ("PATCH", "/api/x", [("Origin", "http://app.test")], 200),
            ("POST", "/api/x", [("Origin", "https://admin.app.test"), ("Sec-Fetch-Site", "same-site")], 200),
            ("POST", "/api/x", [], 200),
            ("GET", "/api/x", [("Sec-Fetch-Site", "cross-site")], 200),
            ("POST", "/public/x", [("Sec-Fetch-Site", "cross-site")], 200),
        ]
        for item in cases {
            let response = try await harness.request(item.method, item.path, headers: item.headers, body: "", cookie: cookie)
            #expect(response.status == item.status, "\(item.method) \(item.path) \(item.headers): \(response.status)")
        }
        let off = try await ProxyHarness { $0.routes.crossOriginProtection = false }
        defer { Task { await off.shutdown() } }
        let offCookie = try await off.login("olga")
        let allowed = try await off.request("POST", "/api/x", headers: [("Sec-Fetch-Site", "cross-site")], body: "", cookie: offCookie)
        #expect(allowed.status == 200)
    }

    /// `/ADMIN/x` falls to the default rule while globs are case-sensitive; with
    /// `case_sensitive = false` it meets the `/admin/**` rule (and its role requirement).
    @Test func caseInsensitiveRoutesForCaseInsensitiveBackends() async throws {
        let sensitive = try await ProxyHarness()
        defer { Task { await sensitive.shutdown() } }
        let userCookie = try await sensitive.login("ursula")
        #expect(try await sensitive.request("GET", "/ADMIN/x", cookie: userCookie).status == 200, "default rule (session)")
        let insensitive = try await ProxyHarness { $0.routes.caseSensitive = false }
        defer { Task { await insensitive.shutdown() } }
        let cookie = try await insensitive.login("ursula")
        #expect(try await insensitive.request("GET", "/ADMIN/x", cookie: cookie).status == 403, "the /admin/** rule applies")
        #expect(insensitive.upstream.requests.allSatisfy { !$0.head.uri.hasPrefix("/ADMIN") })
    }
}
