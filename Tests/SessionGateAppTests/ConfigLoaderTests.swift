import SessionGateApp
import SessionGateCore
import Testing

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    @Test("proxy.toml.example validates with its ${VAR}s set")
    func exampleValidates() throws {
        let result = ConfigFile.load(path: Fixture.examplePath, environment: Fixture.environment)
        let config = try result.get()
        #expect(config.cookie.keys.map(\.revealed) == [[UInt8](repeating: 7, count: 32)])
        #expect(config.signing.algorithm == .hs256)
        #expect(config.signing.secret?.revealed == Array(Fixture.secret32.utf8))
        #expect(config.store.backend == .memory)
        #expect(config.inject == [.init(header: "X-User-Id", field: "user_id")])
        #expect(config.routes.defaultAccess == .session)
        let admin = try #require(config.routes.rules.first { $0.pattern.source == "/admin/**" })
        #expect(admin.access == .session)
        #expect(admin.require == ["role": [.string("admin")]])
        #expect(admin.loginURL == "/login")
        let api = try #require(config.routes.rules.first { $0.pattern.source == "/api/**" })
        #expect(api.unauthenticated == .unauthorized)
        #expect(config.routes.rules.map(\.index) == Array(0..<config.routes.rules.count))
    }

    @Test("the example without its variables names each missing variable")
    func exampleWithoutEnvironment() throws {
        let errors = try #require(ConfigFile.load(path: Fixture.examplePath, environment: [:]).failure)
        try #require(errors.keys == ["cookie.keys[0]", "signing.secret"])
        #expect(errors.issues[0].message.contains("SESSIONGATE_KEY"))
        #expect(errors.issues[1].message.contains("SESSIONGATE_SIGNING_SECRET"))
    }

    @Test("a minimal file gets the documented defaults")
    func defaults() throws {
        let config = try Fixture.config(Fixture.minimal)
        #expect(config.server == ProxyConfig.Server())
        #expect(config.upstream.url == UpstreamURL(host: "127.0.0.1", port: 3000))
        #expect(config.cookie.name == "__Host-session" && config.cookie.secure && config.cookie.sameSite == .lax)
        #expect(config.session == ProxyConfig.Session())
        #expect(config.store == ProxyConfig.Store())
        #expect(config.routes.rules.isEmpty && config.routes.defaultAccess == .session)
    }

    @Test("a typo'd key, a bad duration, a short key and a missing ${VAR} are reported together")
    func allIssuesAtOnce() throws {
        let shortKey = Base64.encode([UInt8](repeating: 1, count: 16))
        let issues = try Fixture.issues(
            """
            [server]
            lisen = "127.0.0.1:8080"

            [upstream]
            url = "http://127.0.0.1:3000"

            [cookie]
            keys = ["\(shortKey)"]

            [session]
            idle_timeout = "30 minutes"

            [signing]
            secret = "${NOT_SET_ANYWHERE}"
            """, environment: [:])
        try #require(issues.map(\.key) == ["server.lisen", "cookie.keys[0]", "session.idle_timeout", "signing.secret"])
        #expect(issues[0].message.contains("did you mean \"listen\""))
        #expect(issues[1].message.contains("16 bytes") && issues[1].message.contains("32"))
        #expect(!issues[1].description.contains(shortKey))
        #expect(issues[2].message.contains("\"30 minutes\" is not a duration"))
        #expect(issues[3].message.contains("NOT_SET_ANYWHERE"))
    }

    @Test(
        "unknown sections and keys suggest the closest name",
        arguments: [
            ("[sever]\nlisten = \"127.0.0.1:1\"", "sever", "server"),
            ("[server]\nmax-body-bytes = 5", "server.max-body-bytes", "max_body_bytes"),
            ("[log]\nformt = \"json\"", "log.formt", "format"),
            ("[session]\nidle_timout = \"1m\"", "session.idle_timout", "idle_timeout"),
            ("[[route]]\npath = \"/\"\naccess = \"public\"\nacess = \"deny\"", "route[0].acess", "access"),
        ])
    func unknownKeys(toml: String, key: String, suggestion: String) throws {
        let issues = try Fixture.issues(Fixture.minimal + toml)
        let issue = try #require(issues.first { $0.key == key })
        #expect(issue.message.contains("did you mean \"\(suggestion)\""))
    }

    @Test("an unknown key with no close match lists the known keys")
    func unknownKeyWithoutSuggestion() throws {
        let issues = try Fixture.issues(Fixture.minimal + "[log]\ncolour = true")
        try #require(issues.map(\.key) == ["log.colour"])
        #expect(issues[0].message.contains("known keys: format, level"))
    }

    @Test(
        "wrong types name the expected type",
        arguments: [
            ("[server]\nlisten = 8080", "server.listen", "expected a \"host:port\" string", "got an integer"),
            ("[server]\nmax_header_bytes = \"16384\"", "server.max_header_bytes", "expected an integer", "got a string"),
            ("[server]\nvia = \"yes\"", "server.via", "expected a boolean", "got a string"),
            ("[server]\ntrusted_proxies = \"10.0.0.0/8\"", "server.trusted_proxies", "expected an array of strings", "got a string"),
            ("[server]\nidle_timeout = 60", "server.idle_timeout", "expected a duration string with a unit", "\"60s\""),
            ("[server]\nidle_timeout = 1.5", "server.idle_timeout", "expected a duration string", "got a floating-point number"),
            ("[server]\nlisten = 1979-05-27", "server.listen", "expected a \"host:port\"", "got a date"),
            ("[cookie.secure]\nx = 1", "cookie.secure", "expected a boolean", "got a table"),
            ("[log]\nlevel = 3", "log.level", "expected one of", "got an integer"),
            ("log = \"json\"", "log", "expected a table", "got a string"),
            ("[routes]\ndefault = true", "routes.default", "expected one of \"public\" | \"session\" | \"deny\"", "got a boolean"),
            ("[[route]]\npath = [\"/a\"]\naccess = \"public\"", "route[0].path", "expected a string", "got an array"),
            ("[[route]]\npath = \"/a\"\naccess = \"session\"\nrequire = \"admin\"", "route[0].require", "expected a table", "got a string"),
            (
                "[[route]]\npath = \"/a\"\naccess = \"session\"\nrequire = { role = { x = 1 } }", "route[0].require.role",
                "expected a string, number or boolean", "got a table"
            ),
            (
                "[[route]]\npath = \"/a\"\naccess = \"public\"\nmethods = \"GET\"", "route[0].methods", "expected an array of strings",
                "got a string"
            ),
            ("[inject]\nX-User = 5", "inject.X-User", "expected a session field name", "got an integer"),
            ("[route]\npath = \"/a\"", "route", "expected an array of tables", "[[route]]"),
            ("[[routes]]\ndefault = \"public\"", "routes", "expected a table", "[[route]] (singular)"),
        ])
    func typeErrors(toml: String, key: String, expected: String, got: String) throws {
        // First, so that top-level keys such as `log = "json"` stay at the top level.
        let issues = try Fixture.issues(toml + "\n" + Fixture.minimal)
        let issue = try #require(issues.first { $0.key == key }, "issues: \(issues)")
        #expect(issue.message.contains(expected), "\(issue)")
        #expect(issue.message.contains(got), "\(issue)")
        #expect(!issue.message.contains("not found"))
    }

    @Test("every key of PRODUCT.md is read")
    func everyKey() throws {
        let config = try Fixture.config(
            """
            [server]
            listen = "0.0.0.0:8000"
            admin_listen = "[::1]:9000"
            trusted_proxies = ["10.0.0.0/8", "::1"]
            max_header_bytes = 8192
            max_body_bytes = 0
            header_timeout = "5s"
            idle_timeout = "2m"
            drain_timeout = "500ms"
            via = true

            [upstream]
            url = "http://app.internal:8081/base/"
            connect_timeout = "1s"
            response_timeout = "1m30s"
            max_idle_connections = 8

            [cookie]
            name = "sid"
            secure = false
            same_site = "strict"
            keys = ["${SESSIONGATE_KEY}", "\(Base64.encode([UInt8](repeating: 9, count: 32)))"]
            domain = "example.com"
            path = "/app"

            [session]
            idle_timeout = "1h"
            absolute_timeout = "12h"
            touch_interval = "90s"
            user_key = "uid"
            max_lifetime = "60d"

            [store]
            backend = "redis"
            url = "redis://:pw@cache:6380/2"
            cluster = true
            timeout = "250ms"

            [signing]
            algorithm = "EdDSA"
            private_key = "${SESSIONGATE_KEY}"
            ttl = "2m"
            issuer = "gate"
            audience = "app"

            [log]
            format = "text"
            level = "debug"

            [inject]
            "X-User-Id" = "uid"
            "X-Role" = "role"

            [routes]
            default = "deny"
            login_url = "https://auth.example.com/login"

            [[route]]
            path = "/app/*/edit"
            methods = ["get", "Post"]
            access = "session"
            require = { role = ["admin", "editor"], level = 3, active = true, score = 1.5 }
            unauthenticated = "redirect"
            """)
        #expect(config.server.listen == SocketAddressSpec(host: "0.0.0.0", port: 8000))
        #expect(config.server.adminListen == SocketAddressSpec(host: "::1", port: 9000))
        #expect(config.server.trustedProxies == [CIDR("10.0.0.0/8")!, CIDR("::1/128")!])
        #expect(config.server.maxHeaderBytes == 8192 && config.server.maxBodyBytes == 0)
        #expect(config.server.headerTimeout == .seconds(5) && config.server.idleTimeout == .seconds(120))
        #expect(config.server.drainTimeout == .milliseconds(500) && config.server.via)
        #expect(config.upstream.url == UpstreamURL(host: "app.internal", port: 8081, basePath: "/base"))
        #expect(config.upstream.connectTimeout == .seconds(1) && config.upstream.responseTimeout == .seconds(90))
        #expect(config.upstream.maxIdleConnections == 8)
        #expect(config.cookie.name == "sid" && !config.cookie.secure && config.cookie.sameSite == .strict)
        #expect(config.cookie.keys.count == 2 && config.cookie.keys[1].revealed == [UInt8](repeating: 9, count: 32))
        #expect(config.cookie.domain == "example.com" && config.cookie.path == "/app")
        #expect(config.session.idleTimeout == 3600 && config.session.absoluteTimeout == 43200)
        #expect(config.session.touchInterval == 90 && config.session.userKey == "uid")
        #expect(config.session.maxLifetime == 60 * 86400)
        #expect(config.store.backend == .redis && config.store.cluster && config.store.url?.revealed == "redis://:pw@cache:6380/2")
        #expect(config.store.timeout == .milliseconds(250))
        #expect(config.signing.algorithm == .edDSA && config.signing.privateKey?.revealed == [UInt8](repeating: 7, count: 32))
        #expect(config.signing.secret == nil && config.signing.ttl == 120)
        #expect(config.signing.issuer == "gate" && config.signing.audience == "app")
        #expect(config.log == ProxyConfig.Log(format: .text, level: .debug))
        #expect(Set(config.inject.map(\.header)) == ["X-User-Id", "X-Role"])
        #expect(config.routes.defaultAccess == .deny && config.routes.loginURL == "https://auth.example.com/login")
        let rule = try #require(config.routes.rules.first)
        #expect(rule.methods == ["GET", "POST"])
        #expect(rule.pattern.matches("/app/42/edit"))
        #expect(rule.require == ["role": ["admin", "editor"], "level": [3], "active": [true], "score": [1.5]])
        #expect(rule.unauthenticated == .redirect && rule.loginURL == nil)
    }
}

extension ProxyConfig.Log {
    init(format: ProxyConfig.LogFormat, level: ProxyConfig.LogLevel) {
        self.init()
        self.format = format
        self.level = level
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
