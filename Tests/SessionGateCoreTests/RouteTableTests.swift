import Testing

@testable import SessionGateCore

@Suite struct RouteTableTests {
    private static func rule(
        _ index: Int, _ glob: String, _ methods: Set<String>? = nil, _ access: RouteAccess,
        require: [String: [JSONValue]] = [:]
    ) -> RouteRule {
        // Globs here are literals known to compile.
        RouteRule(index: index, pattern: try! PathGlob(glob), methods: methods, access: access, require: require)
    }

    static let table: RouteTable = {
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .session
        routes.rules = [
            rule(0, "/login", ["GET", "POST"], .public),
            rule(1, "/static/**", ["GET"], .public),
            rule(2, "/admin/**", ["GET", "POST"], .session, require: ["role": ["admin"]]),
            rule(3, "/admin/**", nil, .deny),
            rule(4, "/api/*/public", nil, .public),
            rule(5, "/**", ["DELETE"], .deny),
        ]
        return RouteTable(routes)
    }()

    @Test(arguments: [
        ("GET", "/login", 0 as Int?, RouteAccess.public),
        ("post", "/login", 0, .public),
        ("PUT", "/login", nil, .session),
        ("GET", "/static", 1, .public),
        ("HEAD", "/static/app.js", 1, .public),
        ("head", "/static/a/b/c.css", 1, .public),
        ("POST", "/static/app.js", nil, .session),
        ("GET", "/admin", 2, .session),
        ("Get", "/admin/users/1", 2, .session),
        ("HEAD", "/admin/users", 2, .session),
        ("PUT", "/admin/users", 3, .deny),
        ("DELETE", "/admin/users", 3, .deny),
        ("GET", "/administrator", nil, .session),
        ("GET", "/Admin", nil, .session),
        ("GET", "/api/v1/public", 4, .public),
        ("GET", "/api/public", nil, .session),
        ("GET", "/api/v1/x/public", nil, .session),
        ("DELETE", "/anything/else", 5, .deny),
        ("GET", "/", nil, .session),
    ])
    func firstMatchingRuleWins(method: String, path: String, expectedRule: Int?, access: RouteAccess) {
        let match = Self.table.match(method: method, path: path)
        #expect(match.rule?.index == expectedRule, "\(method) \(path)")
        #expect(match.access == access, "\(method) \(path)")
    }

    @Test func explanationsNameTheRuleOrTheDefault() {
        #expect(Self.table.match(method: "GET", path: "/admin/x").explanation == "route[2] path \"/admin/**\" methods GET,POST")
        #expect(Self.table.match(method: "PUT", path: "/admin/x").explanation == "route[3] path \"/admin/**\"")
        #expect(Self.table.match(method: "GET", path: "/nope").explanation == "no rule matched; [routes] default")
    }

    @Test func defaultAccessComesFromRoutes() {
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .deny
        #expect(
            RouteTable(routes).match(method: "GET", path: "/x")
                == RouteMatch(rule: nil, access: .deny, explanation: "no rule matched; [routes] default"))
    }

    @Test func getDoesNotImplyOtherMethodsAndHeadDoesNotImplyGet() {
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .deny
        routes.rules = [Self.rule(0, "/h", ["HEAD"], .public)]
        let table = RouteTable(routes)
        #expect(table.match(method: "HEAD", path: "/h").access == .public)
        #expect(table.match(method: "GET", path: "/h").access == .deny)
        #expect(table.match(method: "OPTIONS", path: "/h").access == .deny)
    }

    // MARK: require

    /// (require as JSON: field -> accepted values, session data as JSON, met?)
    @Test(arguments: [
        (#"{"role":["admin"]}"#, #"{"role":"admin"}"#, true),
        (#"{"role":["admin"]}"#, #"{"role":"Admin"}"#, false),
        (#"{"role":["admin"]}"#, #"{}"#, false),
        (#"{"role":["admin"]}"#, #"{"role":null}"#, false),
        (#"{"role":["admin","owner"]}"#, #"{"role":"owner"}"#, true),
        (#"{"role":["admin"]}"#, #"{"role":["dev","admin"]}"#, true),
        (#"{"role":["admin"]}"#, #"{"role":["dev"]}"#, false),
        (#"{"role":["admin"]}"#, #"{"role":[]}"#, false),
        (#"{"role":["admin"]}"#, #"{"roles":"admin"}"#, false),
        (#"{"level":[1]}"#, #"{"level":1.0}"#, true),
        (#"{"level":[1.0]}"#, #"{"level":1}"#, true),
        (#"{"level":[1]}"#, #"{"level":[2,1.0]}"#, true),
        (#"{"level":[1]}"#, #"{"level":1.5}"#, false),
        (#"{"level":[1]}"#, #"{"level":"1"}"#, false),
        (#"{"id":[9007199254740993]}"#, #"{"id":9007199254740992.0}"#, false),
        (#"{"id":[-9223372036854775808]}"#, #"{"id":-9223372036854775808.0}"#, true),
        (#"{"verified":[true]}"#, #"{"verified":true}"#, true),
        (#"{"verified":[true]}"#, #"{"verified":1}"#, false),
        (#"{"role":["admin"],"tenant":["acme"]}"#, #"{"role":"admin","tenant":"acme"}"#, true),
        (#"{"role":["admin"],"tenant":["acme"]}"#, #"{"role":"admin","tenant":"other"}"#, false),
        (#"{"role":["admin"],"tenant":["acme"]}"#, #"{"role":"admin"}"#, false),
        (#"{}"#, #"{}"#, true),
        (#"{"org":[{"name":"acme","size":1}]}"#, #"{"org":{"name":"acme","size":1.0}}"#, true),
    ])
    func requireIsMetPerField(requireJSON: String, dataJSON: String, met: Bool) throws {
        let requireObject = try #require(try JSONParser.parse(requireJSON).objectValue)
        let require = requireObject.mapValues { value -> [JSONValue] in
            if case .array(let values) = value { return values }
            return [value]
        }
        let data = try #require(try JSONParser.parse(dataJSON).objectValue)
        let rule = Self.rule(0, "/x", nil, .session, require: require)
        #expect(rule.isSatisfied(by: data) == met, "\(requireJSON) vs \(dataJSON)")
    }

    // MARK: PathGlob

    @Test(arguments: [
        ("/a/**", "/a", true), ("/a/**", "/a/", true), ("/a/**", "/a/b/c", true), ("/a/**", "/ab", false),
        ("/a/**", "/", false), ("/**", "/", true), ("/**", "/x/y", true),
        ("/a/*", "/a/b", true), ("/a/*", "/a", false), ("/a/*", "/a/b/c", false), ("/a/*", "/a/", false),
        ("/*/b", "/x/b", true), ("/*/b", "/b", false), ("/a", "/a", true), ("/a", "/a/", true),
        ("/a", "/A", false), ("/", "/", true), ("/", "/a", false), ("/a/*/**", "/a", false),
        ("/a/*/**", "/a/b", true), ("/a/*/**", "/a/b/c/d", true),
    ])
    func globsMatchNormalisedPaths(glob: String, path: String, matches: Bool) throws {
        #expect(try PathGlob(glob).matches(path) == matches, "\(glob) on \(path)")
    }

    @Test(arguments: [
        ("/%61dmin/**", "/admin/x", true), ("/caf%c3%a9", "/caf%C3%A9", true), ("/a%3bb", "/a%3Bb", true),
        ("/~user", "/~user", true), ("/%7Euser", "/~user", true),
    ])
    func globLiteralsAreNormalisedLikePaths(glob: String, path: String, matches: Bool) throws {
        #expect(try PathGlob(glob).matches(path) == matches, "\(glob) on \(path)")
    }

    @Test(arguments: [
        "admin", "", "/a/**/b", "/a/b*", "/a/../b", "/a/./b", "/**x", "/a/%2e%2e", "/a%2fb", "/a;b", "/a\\b",
        "/a?x", "/a b", "/%zz",
    ])
    func invalidGlobsDoNotCompile(glob: String) {
        #expect(throws: PathGlob.CompileError.self) { try PathGlob(glob) }
    }
}
