import SessionGateCore

/// A deterministic `RandomBytes` (the production one is a CSPRNG; see `cookie/seal (system random)`).
struct CountingRandomBytes: RandomBytes {
    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    }
}

/// Realistic inputs, built at run time (so nothing is constant-folded into the measured code).
struct Fixtures {
    static let cookieName = "__Host-session"

    /// A 207-byte session object as an app would keep it (nested object, array, int, double, bool).
    let sessionJSON = opaque(
        #"{"user_id":"u_8f3a2c91","email":"ada@example.com","name":"Ada Lovelace","#
            + #""roles":["admin","billing"],"tenant":"acme-corp","plan":"enterprise","#
            + #""mfa":true,"login_at":1732752000,"cart":{"items":3,"total":129.5}}"#)
    let sessionJSONBytes: [UInt8]
    let sessionData: [String: JSONValue]
    /// A typical `X-Session-Set` after a page view: a nested change, a new key, a removal.
    let patch: JSONValue
    let patchText = opaque(#"{"cart":{"items":4,"total":159},"last_path":"/api/v1/users/42/orders","mfa":null}"#)

    let ticket: [UInt8] = (0..<32).map { UInt8($0 &* 7 &+ 3) }
    let keyRing: CookieKeyRing
    /// Two keys; the cookie was sealed with the older one (rotation in progress).
    let rotatingKeyRing: CookieKeyRing
    let sealedCookie: String
    let sealedCookieSubstring: Substring
    /// A browser `Cookie` header with the session cookie among analytics and CSRF cookies.
    let cookieHeader: String
    let sessionID: SessionID

    let hs256: TokenSigner
    let edDSA: TokenSigner
    let claims: TokenClaims

    let target = opaque("/api/v1/users/42/orders?x=1")
    let messyTarget = opaque("/api//v1/./users/%34%32/../42/orders/%7euser%2d?x=1&y=%2F")
    let routes: RouteTable
    let headerPolicy: HeaderPolicy
    /// The 12 header names of a browser XHR, lower-cased as the proxy passes them.
    let requestHeaderNames: [String] = opaque([
        "host", "user-agent", "accept", "accept-language", "accept-encoding", "connection", "cookie",
        "referer", "sec-fetch-mode", "sec-fetch-site", "cache-control", "x-session-token",
    ])
    let connectionValues = opaque(["keep-alive"])
    let connectionValuesNaming = opaque(["keep-alive, X-Trace-Debug, x-session-token"])

    init() {
        sessionJSONBytes = Array(sessionJSON.utf8)
        guard case .object(let data) = try! JSONParser.parse(sessionJSON) else { fatalError("fixture") }
        sessionData = data
        patch = try! JSONParser.parse(patchText)

        let key1 = (0..<32).map { UInt8($0) }
        let key2 = (0..<32).map { UInt8(255 - $0) }
        keyRing = try! CookieKeyRing(keys: [key1])
        rotatingKeyRing = try! CookieKeyRing(keys: [key2, key1])
        sealedCookie = keyRing.seal(ticket, cookieName: Self.cookieName, random: CountingRandomBytes())
        sealedCookieSubstring = Substring(sealedCookie)
        cookieHeader = opaque(
            "_ga=GA1.2.1234567890.1732752000; theme=dark; \(Self.cookieName)=\(sealedCookie); "
                + "csrftoken=Hk3vQ9xLm2Pz8RtY")
        sessionID = SessionID(bytes: ticket)!

        var hsConfig = ProxyConfig.Signing()
        hsConfig.algorithm = .hs256
        hsConfig.secret = Secret(Array("an-hs256-secret-of-at-least-32-bytes!!".utf8))
        hs256 = try! TokenSigner(config: hsConfig)
        var edConfig = ProxyConfig.Signing()
        edConfig.algorithm = .edDSA
        edConfig.privateKey = Secret((0..<32).map { UInt8($0 &* 5 &+ 1) })
        edDSA = try! TokenSigner(config: edConfig)
        claims = TokenClaims(
            issuer: "sessiongate", audience: "upstream", issuedAt: 1_732_752_000, expiresAt: 1_732_752_060,
            sid: sessionID.handle, data: data, method: "GET", path: "/api/v1/users/42/orders")

        routes = RouteTable(Self.tenRules())
        headerPolicy = HeaderPolicy(injectedHeaders: ["X-User-Id", "X-User-Email", "X-Tenant"])
    }

    /// A 10-rule table of the kind an app ships; `/api/v1/users/42/orders` (GET) matches rule 8.
    static func tenRules() -> ProxyConfig.Routes {
        func rule(_ index: Int, _ glob: String, _ methods: Set<String>?, _ access: RouteAccess) -> RouteRule {
            RouteRule(index: index, pattern: try! PathGlob(glob), methods: methods, access: access)
        }
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .session
        routes.rules = [
            rule(0, "/health", nil, .public),
            rule(1, "/static/**", ["GET"], .public),
            rule(2, "/login", ["GET", "POST"], .public),
            rule(3, "/logout", ["POST"], .session),
            rule(4, "/.well-known/**", nil, .public),
            rule(5, "/admin/**", ["GET", "POST", "DELETE"], .session),
            rule(6, "/api/v1/public/**", nil, .public),
            rule(7, "/api/v1/auth/*", ["POST"], .public),
            rule(8, "/api/v1/users/*/orders", ["GET", "POST"], .session),
            rule(9, "/internal/**", nil, .deny),
        ]
        return routes
    }
}
