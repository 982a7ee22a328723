import SessionGateApp
import SessionGateCore
import Testing

@Suite("Config rules")
struct ConfigRulesTests {
    /// Replaces the minimal file's `[cookie]` section.
    static func withCookie(_ body: String) -> String {
        Fixture.minimal.replacingFirst(
            "[cookie]\nkeys = [\"${SESSIONGATE_KEY}\"]", with: "[cookie]\nkeys = [\"${SESSIONGATE_KEY}\"]\n" + body)
    }

    @Test(
        "consistency rules",
        arguments: [
            (withCookie("secure = false"), "cookie.secure", "\"__Host-\" cookie must be Secure"),
            (withCookie("domain = \"example.com\""), "cookie.domain", "\"__Host-\" cookie must not have a Domain"),
            (withCookie("path = \"/app\""), "cookie.path", "\"__Host-\" cookie must have path \"/\""),
            (withCookie("name = \"__Secure-sid\"\nsecure = false"), "cookie.secure", "\"__Secure-\" cookie must be Secure"),
            (withCookie("name = \"sid\"\nsecure = false\nsame_site = \"none\""), "cookie.same_site", "requires secure = true"),
            (
                Fixture.minimal + "[session]\nidle_timeout = \"1m\"\ntouch_interval = \"5m\"", "session.touch_interval",
                "shorter than idle_timeout"
            ),
            (Fixture.minimal + "[store]\nbackend = \"redis\"", "store.url", "redis://"),
            (Fixture.minimal + "[store]\nbackend = \"postgres\"", "store.url", "postgres://"),
            (Fixture.minimal + "[store]\nbackend = \"sqlite\"", "store.path", "sessions.db"),
            (Fixture.minimal + "[store]\nbackend = \"memory\"\ncluster = true", "store.cluster", "only applies to backend = \"redis\""),
            (Fixture.minimal + "[store]\nurl = \"redis://localhost\"", "store.url", "only used by the redis and postgres backends"),
            (
                Fixture.minimal + "[store]\nbackend = \"redis\"\nurl = \"http://localhost:6379\"", "store.url",
                "must start with redis://"
            ),
            (Fixture.minimal + "[store]\nbackend = \"postgres\"\nurl = \"redis://x\"", "store.url", "postgres:// or postgresql://"),
            (Fixture.minimal + "[store]\nbackend = \"redis\"\nurl = \"redis:///0\"", "store.url", "has no host"),
            (Fixture.minimal + "[store]\nbackend = \"sqlite\"\npath = \"a.db\"\nurl = \"postgres://x/y\"", "store.url", "remove it"),
            (Fixture.minimal + "[store]\npath = \"a.db\"", "store.path", "only used by the sqlite backend"),
            (
                Fixture.minimal.replacingFirst("secret = \"${SESSIONGATE_SIGNING_SECRET}\"", with: "algorithm = \"EdDSA\""),
                "signing.private_key", "keygen --ed25519"
            ),
            (
                Fixture.minimal.replacingFirst(
                    "secret = \"${SESSIONGATE_SIGNING_SECRET}\"",
                    with: "algorithm = \"EdDSA\"\nprivate_key = \"${SESSIONGATE_KEY}\"\nsecret = \"${SESSIONGATE_SIGNING_SECRET}\""),
                "signing.secret", "only used with algorithm = \"HS256\""
            ),
            (Fixture.minimal + "[signing.x]", "signing.x", "unknown key"),
            (Fixture.minimal.replacingFirst("secret = \"${SESSIONGATE_SIGNING_SECRET}\"", with: ""), "signing.secret", "missing"),
            (Fixture.minimal.replacingFirst("keys = [\"${SESSIONGATE_KEY}\"]", with: ""), "cookie.keys", "missing"),
            (Fixture.minimal.replacingFirst("keys = [\"${SESSIONGATE_KEY}\"]", with: "keys = []"), "cookie.keys", "at least one key"),
            (Fixture.minimal.replacingFirst("url = \"http://127.0.0.1:3000\"", with: ""), "upstream.url", "missing"),
            (Fixture.minimal + "[server]\nlisten = \"127.0.0.1:9090\"", "server.admin_listen", "must differ from server.listen"),
            (
                Fixture.minimal + "[[route]]\npath = \"/a/**\"\naccess = \"session\"\nunauthenticated = \"redirect\"",
                "route[0].unauthenticated", "needs a login page"
            ),
            (
                Fixture.minimal + "[[route]]\npath = \"/a\"\naccess = \"public\"\nrequire = { role = \"x\" }", "route[0].require",
                "only applies to access = \"session\""
            ),
            (
                Fixture.minimal + "[[route]]\npath = \"/a\"\naccess = \"deny\"\nlogin_url = \"/login\"", "route[0].login_url",
                "only applies to access = \"session\""
            ),
            (Fixture.minimal + "[[route]]\naccess = \"public\"", "route[0].path", "missing"),
            (Fixture.minimal + "[[route]]\npath = \"/a\"", "route[0].access", "missing"),
        ])
    func consistency(toml: String, key: String, fragment: String) throws {
        let issues = try Fixture.issues(toml)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(fragment), "\(issue)")
    }

    @Test("redirect with a [routes] login_url is fine; 401 may be written as an integer")
    func redirectWithRoutesLoginURL() throws {
        let config = try Fixture.config(
            Fixture.minimal + """
                [routes]
                login_url = "/signin"
                [[route]]
                path = "/a/**"
                access = "session"
                unauthenticated = "redirect"
                [[route]]
                path = "/b/**"
                access = "session"
                unauthenticated = 401
                [[route]]
                path = "/c/**"
                access = "session"
                unauthenticated = "401"
                """)
        #expect(config.routes.rules.map(\.unauthenticated) == [.redirect, .unauthorized, .unauthorized])
        let issues = try Fixture.issues(Fixture.minimal + "[[route]]\npath = \"/a\"\naccess = \"session\"\nunauthenticated = 403")
        try #require(issues.map(\.key) == ["route[0].unauthenticated"])
    }

    @Test(
        "route values",
        arguments: [
            ("path = \"admin/**\"\naccess = \"public\"", "route[0].path", "must start with \"/\""),
            ("path = \"/a/**/b\"\naccess = \"public\"", "route[0].path", "only allowed as the last segment"),
            ("path = \"/a*\"\naccess = \"public\"", "route[0].path", "must be a whole segment"),
            ("path = \"/a\"\naccess = \"private\"", "route[0].access", "\"public\" | \"session\" | \"deny\""),
            ("path = \"/a\"\naccess = \"Public\"", "route[0].access", "did you mean \"public\""),
            ("path = \"/a\"\naccess = \"public\"\nmethods = [\"GET\", \"BAD METHOD\"]", "route[0].methods[1]", "not an HTTP method"),
            ("path = \"/a\"\naccess = \"public\"\nmethods = [\"*\"]", "route[0].methods[0]", "remove methods to match any"),
            ("path = \"/a\"\naccess = \"public\"\nmethods = []", "route[0].methods", "would match nothing"),
            ("path = \"/a\"\naccess = \"session\"\nrequire = { role = [] }", "route[0].require.role", "empty list"),
            (
                "path = \"/a\"\naccess = \"session\"\nlogin_url = \"//evil.example\"", "route[0].login_url",
                "must be a path starting with \"/\""
            ),
            ("path = \"/a\"\naccess = \"session\"\nlogin_url = \"login\"", "route[0].login_url", "or an http(s) URL"),
            ("path = \"/a\"\naccess = \"session\"\nlogin_url = \"javascript:alert(1)\"", "route[0].login_url", "must be a path"),
            ("path = \"/a\"\naccess = \"session\"\nlogin_url = \"/\\\\evil\"", "route[0].login_url", "must be a path"),
        ])
    func routeValues(rule: String, key: String, fragment: String) throws {
        let issues = try Fixture.issues(Fixture.minimal + "[[route]]\n" + rule)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(fragment), "\(issue)")
    }

    @Test(
        "[inject] header names",
        arguments: [
            ("\"X-Session-User\" = \"user_id\"", "inject.X-Session-User", "reserved"),
            ("x_session_user = \"user_id\"", "inject.x_session_user", "reserved"),
            ("\"x.session.token\" = \"user_id\"", "inject.\"x.session.token\"", "reserved"),
            ("Host = \"user_id\"", "inject.Host", "managed by the proxy"),
            ("\"X-Forwarded-For\" = \"user_id\"", "inject.X-Forwarded-For", "managed by the proxy"),
            ("\"X User\" = \"user_id\"", "inject.\"X User\"", "not a valid header name"),
            ("\"X-User\" = \"\"", "inject.X-User", "must not be empty"),
            ("\"X-User\" = \"a\"\n\"x-user\" = \"b\"", "inject.x-user", "listed twice"),
        ])
    func injectNames(body: String, key: String, fragment: String) throws {
        let issues = try Fixture.issues(Fixture.minimal + "[inject]\n" + body)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(fragment), "\(issue)")
    }

    @Test(
        "listen addresses and the upstream URL",
        arguments: [
            ("[server]\nlisten = \"::1:8080\"", "server.listen", "need brackets"),
            ("[server]\nlisten = \"localhost\"", "server.listen", "has no port"),
            ("[server]\nlisten = \"127.0.0.1:70000\"", "server.listen", "invalid port"),
            ("[server]\nlisten = \":8080\"", "server.listen", "host is missing"),
            ("[server]\nlisten = \"[::zz]:8080\"", "server.listen", "not a valid IPv6 address"),
            ("[server]\ntrusted_proxies = [\"10.0.0.0/33\"]", "server.trusted_proxies[0]", "not a CIDR"),
            ("[server]\nmax_header_bytes = 10", "server.max_header_bytes", "out of range"),
            ("[server]\nmax_body_bytes = -1", "server.max_body_bytes", "out of range"),
            ("[server]\nheader_timeout = \"0s\"", "server.header_timeout", "greater than zero"),
        ])
    func addresses(toml: String, key: String, fragment: String) throws {
        let issues = try Fixture.issues(Fixture.minimal + toml)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(fragment), "\(issue)")
    }

    @Test(
        "upstream URLs",
        arguments: [
            ("https://127.0.0.1:3000", "TLS"),
            ("ftp://127.0.0.1", "unsupported scheme"),
            ("127.0.0.1:3000", "not a URL"),
            ("http://user:pw@127.0.0.1:3000", "credentials"),
            ("http://127.0.0.1:3000/?a=1", "query"),
            ("http://127.0.0.1:0", "invalid port"),
            ("http://127.0.0.1:3000/a/../b", "plain path"),
        ])
    func upstreamURLErrors(url: String, fragment: String) throws {
        let issues = try Fixture.issues(Fixture.minimal.replacingFirst("http://127.0.0.1:3000", with: url))
        try #require(issues.map(\.key) == ["upstream.url"])
        #expect(issues.first?.message.contains(fragment) == true, "\(issues)")
        #expect(issues.first?.message.contains("pw") == false)
    }

    @Test("upstream URL forms")
    func upstreamURLForms() throws {
        let cases: [(String, UpstreamURL)] = [
            ("http://localhost", UpstreamURL(host: "localhost", port: 80)),
            ("HTTP://[::1]:3000/", UpstreamURL(host: "::1", port: 3000)),
            ("http://10.0.0.2:8080/api/v1", UpstreamURL(host: "10.0.0.2", port: 8080, basePath: "/api/v1")),
        ]
        for (text, expected) in cases {
            let config = try Fixture.config(Fixture.minimal.replacingFirst("http://127.0.0.1:3000", with: text))
            #expect(config.upstream.url == expected)
        }
    }

    @Test("durations")
    func durations() {
        let valid: [(String, Int64)] = [
            ("500ms", 500), ("90s", 90_000), ("30m", 1_800_000), ("12h", 43_200_000), ("7d", 604_800_000),
            ("1h30m", 5_400_000), ("1d12h", 129_600_000), ("0s", 0),
        ]
        for (text, milliseconds) in valid {
            #expect(DurationParser.milliseconds(text) == milliseconds, "\(text)")
        }
        for text in ["", "10", "s", "1.5h", "-5s", "5 s", " 5s", "1m1h", "1s1s", "5sec", "5S", "99999999999999d"] {
            #expect(DurationParser.milliseconds(text) == nil, "\(text)")
        }
        #expect(DurationParser.format(milliseconds: 5_400_000) == "1h30m")
        #expect(DurationParser.format(milliseconds: 1500) == "1s500ms")
    }

    @Test("session durations must be whole seconds")
    func wholeSeconds() throws {
        let issues = try Fixture.issues(Fixture.minimal + "[session]\nidle_timeout = \"1500ms\"")
        try #require(issues.map(\.key) == ["session.idle_timeout"])
        #expect(issues[0].message.contains("whole number of seconds"))
    }

    @Test("${VAR} interpolation in every string value, $$ escapes")
    func interpolation() throws {
        let environment = Fixture.environment.merging(
            ["APP_PORT": "3001", "ROLE": "admin", "FIELD": "uid"]) { $1 }
        let config = try Fixture.config(
            Fixture.minimal.replacingFirst("127.0.0.1:3000", with: "127.0.0.1:${APP_PORT}") + """
                [inject]
                "X-User" = "${FIELD}"
                [session]
                user_key = "${FIELD}"
                [routes]
                login_url = "/login?cost=$$5"
                [[route]]
                path = "/a"
                access = "session"
                require = { role = ["${ROLE}", "$$ROLE"] }
                """, environment: environment)
        #expect(config.upstream.url.port == 3001)
        #expect(config.inject.first?.field == "uid" && config.session.userKey == "uid")
        #expect(config.routes.loginURL == "/login?cost=$5")
        #expect(config.routes.rules.first?.require["role"] == ["admin", "$ROLE"])

        #expect(EnvInterpolation.interpolate("a${X}b${Y}c", environment: ["X": "1", "Y": "2"]) == .success("a1b2c"))
        #expect(EnvInterpolation.interpolate("cost $5", environment: [:]) == .success("cost $5"))
        #expect(EnvInterpolation.interpolate("${A}${B}${A}", environment: [:]) == .failure(.missingVariables(["A", "B"])))
        #expect(
            EnvInterpolation.interpolate("${A", environment: ["A": "1"]) == .failure(.malformedReference("\"${\" has no closing \"}\"")))
        if case .failure(.malformedReference) = EnvInterpolation.interpolate("${1A}", environment: ["1A": "x"]) {
        } else {
            Issue.record("a name starting with a digit must be rejected")
        }
    }

    @Test("a missing variable names the key and the variable")
    func missingVariable() throws {
        let issues = try Fixture.issues(
            Fixture.minimal + "[[route]]\npath = \"/${PREFIX}/**\"\naccess = \"public\"", environment: Fixture.environment)
        try #require(issues.map(\.key) == ["route[0].path"])
        #expect(issues[0].message.contains("PREFIX") && issues[0].message.contains("not set"))
    }

    @Test("messages never contain secret values")
    func redaction() throws {
        let shortSecret = "hunter2-is-not-long-enough"
        let badKey = "bm90LWEta2V5"
        let password = "s3cr3tpassw0rd"
        let issues = try Fixture.issues(
            """
            [upstream]
            url = "http://127.0.0.1:3000"
            [cookie]
            keys = ["\(badKey)", "not base64 \(password)"]
            [signing]
            secret = "\(shortSecret)"
            [store]
            backend = "postgres"
            url = "mysql://admin:\(password)@db/x"
            """)
        try #require(issues.map(\.key) == ["cookie.keys[0]", "cookie.keys[1]", "store.url", "signing.secret"])
        let text = ConfigErrors(issues: issues).description
        for secret in [shortSecret, badKey, password] {
            #expect(!text.contains(secret))
        }
        let edIssues = try Fixture.issues(
            Fixture.minimal.replacingFirst(
                "secret = \"${SESSIONGATE_SIGNING_SECRET}\"", with: "algorithm = \"EdDSA\"\nprivate_key = \"\(badKey)\""))
        try #require(edIssues.map(\.key) == ["signing.private_key"])
        #expect(!edIssues[0].description.contains(badKey) && edIssues[0].message.contains("9 bytes"))
    }

    @Test("a relative SQLite path resolves against the config file's folder")
    func sqlitePath() throws {
        let toml = Fixture.minimal + "[store]\nbackend = \"sqlite\"\npath = \"./data/sessions.db\""
        #expect(try Fixture.config(toml, directory: "/srv/gate").store.path == "/srv/gate/data/sessions.db")
        let absolute = Fixture.minimal + "[store]\nbackend = \"sqlite\"\npath = \"/var/lib/s.db\""
        #expect(try Fixture.config(absolute, directory: "/srv/gate").store.path == "/var/lib/s.db")
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
