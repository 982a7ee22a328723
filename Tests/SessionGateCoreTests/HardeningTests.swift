import Testing

@testable import SessionGateCore

/// Issue 13's pure pieces: header spellings, cross-origin decisions, session size, nameless
/// cookies and case-insensitive globs.
@Suite struct HardeningHeaderTests {
    @Test(arguments: [
        "X-HTTP-Method-Override", "x-http-method-override", "X_HTTP_Method_Override", "x.http.method.override",
        "X-HTTP-Method", "X_Http_Method", "X-Method-Override", "x_method.override", "X-Original-URL",
        "x_original_url", "X-Rewrite-URL", "X.REWRITE.URL", "X-Original-URI", "x-original_uri", "HTTP2-Settings",
        "http2_settings", "Http2.Settings",
    ])
    func overridesAreRemovedInEverySpelling(name: String) {
        #expect(HeaderPolicy.isAlwaysRemoved(name), "\(name)")
    }

    @Test(arguments: [
        "X-HTTP-Method-Overrides", "X-HTTP", "X-Original", "X-Original-URLs", "Method-Override", "X-Forwarded-For",
        "Content-Type", "", "X-Rewrite", "HTTP2-Setting", "X-HTTP-Method-", "XHTTP-Method",
    ])
    func otherHeadersAreNotAlwaysRemoved(name: String) {
        #expect(!HeaderPolicy.isAlwaysRemoved(name), "\(name)")
    }

    @Test(arguments: [
        "Forwarded", "forwarded", "FORWARDED", "X-Forwarded-For", "X_Forwarded_For", "x.forwarded.proto",
        "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Prefix", "x_forwarded_ssl", "X-Forwarded",
        "X-Real-IP", "x_real_ip", "X.Real.Ip", "True-Client-IP", "true_client_ip", "X-Client-IP", "X_CLIENT_IP",
    ])
    func forwardingHeadersInEverySpelling(name: String) {
        #expect(HeaderPolicy.isForwardingHeader(name), "\(name)")
    }

    @Test(arguments: [
        "Forwarded-For", "X-Forward-For", "X-Real-IPs", "Client-IP", "X-Client", "Host", "Via", "", "X-Forwarde",
        "ForwardedX", "True-Client", "X-Request-Id",
    ])
    func otherHeadersAreNotForwardingHeaders(name: String) {
        #expect(!HeaderPolicy.isForwardingHeader(name), "\(name)")
    }
}

@Suite struct CrossOriginPolicyTests {
    let policy = CrossOriginPolicy(trustedOrigins: ["https://partner.example"])

    func check(
        _ method: String = "POST", access: RouteAccess = .session, site: String? = nil, origin: String? = nil,
        host: String? = "app.example.com"
    ) -> CrossOriginPolicy.Decision {
        policy.check(method: method, access: access, secFetchSite: site, origin: origin, host: host)
    }

    @Test func secFetchSiteDecidesForBrowsersThatSendIt() {
        #expect(check(site: "cross-site") == .refuse(.crossSite))
        #expect(check(site: "same-site") == .refuse(.sameSite))
        #expect(check(site: " Same-Site ") == .refuse(.sameSite))
        #expect(check(site: "same-origin") == .allow)
        #expect(check(site: "none") == .allow)
        // Sec-Fetch-Site wins over a mismatching Origin (the browser vouches for the request).
        #expect(check(site: "same-origin", origin: "https://evil.example") == .allow)
    }

    @Test func originIsComparedWithHostWithoutSecFetchSite() {
        #expect(check(origin: "https://app.example.com") == .allow)
        #expect(check(origin: "http://APP.example.com") == .allow)
        #expect(check(origin: "https://app.example.com", host: "app.example.com:443") == .allow)
        #expect(check(origin: "http://app.example.com", host: "app.example.com:80") == .allow)
        #expect(check(origin: "https://app.example.com:8443", host: "app.example.com:8443") == .allow)
        #expect(check(origin: "https://app.example.com:8443", host: "app.example.com") == .refuse(.originMismatch))
        #expect(check(origin: "https://sub.app.example.com") == .refuse(.originMismatch))
        #expect(check(origin: "https://evil.example") == .refuse(.originMismatch))
        #expect(check(origin: "https://evil.example", host: nil) == .refuse(.originMismatch))
        #expect(check(origin: "http://[::1]:8080", host: "[::1]:8080") == .allow)
        // An unknown Sec-Fetch-Site value falls back to Origin.
        #expect(check(site: "bogus", origin: "https://evil.example") == .refuse(.originMismatch))
    }

    @Test func nullAndMalformedOriginsAreCrossOrigin() {
        #expect(check(origin: "null") == .refuse(.nullOrigin))
        #expect(check(origin: "NULL") == .refuse(.nullOrigin))
        #expect(check(origin: "file://") == .refuse(.malformedOrigin))
        #expect(check(origin: "https://app.example.com/path") == .refuse(.malformedOrigin))
        #expect(check(origin: "") == .refuse(.malformedOrigin))
    }

    @Test func trustedOriginsPass() {
        #expect(check(site: "cross-site", origin: "https://partner.example") == .allow)
        #expect(check(origin: "https://PARTNER.example:443") == .allow)
        #expect(check(site: "cross-site", origin: "http://partner.example") == .refuse(.crossSite))
    }

    @Test func onlyStateChangingMethodsOnSessionRoutesAreChecked() {
        for method in ["POST", "PUT", "PATCH", "DELETE", "post", "Delete"] {
            #expect(check(method, site: "cross-site") == .refuse(.crossSite), "\(method)")
        }
        for method in ["GET", "HEAD", "OPTIONS", "PROPFIND"] {
            #expect(check(method, site: "cross-site") == .allow, "\(method)")
        }
        #expect(check(access: .public, site: "cross-site") == .allow)
        #expect(check(access: .deny, site: "cross-site") == .allow)
        #expect(check() == .allow, "no Sec-Fetch-Site and no Origin: not a browser")
        let off = CrossOriginPolicy(enabled: false)
        #expect(off.check(method: "POST", access: .session, secFetchSite: "cross-site", origin: nil, host: nil) == .allow)
    }

    @Test func policyFollowsRoutesConfig() {
        var routes = ProxyConfig.Routes()
        #expect(CrossOriginPolicy(routes: routes) == CrossOriginPolicy(enabled: true, trustedOrigins: []))
        routes.crossOriginProtection = false
        routes.trustedOrigins = ["https://a.example"]
        #expect(CrossOriginPolicy(routes: routes) == CrossOriginPolicy(enabled: false, trustedOrigins: ["https://a.example"]))
    }

    @Test(arguments: [
        ("https://App.Example.com", "https://app.example.com" as String?),
        ("HTTPS://app.example.com:443", "https://app.example.com"),
        ("http://app.example.com:80", "http://app.example.com"),
        ("http://app.example.com:443", "http://app.example.com:443"),
        ("https://localhost:8443", "https://localhost:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://10.0.0.1", "http://10.0.0.1"),
        ("https://app.example.com/", nil),
        ("https://app.example.com/path", nil),
        ("https://user@app.example.com", nil),
        ("https://app.example.com?x", nil),
        ("ftp://app.example.com", nil),
        ("app.example.com", nil),
        ("https://", nil),
        ("https://app.example.com:0", nil),
        ("https://app.example.com:65536", nil),
        ("https://app.example.com:", nil),
        ("https://[::1", nil),
        ("null", nil),
    ])
    func originsNormalise(text: String, expected: String?) {
        #expect(TrustedOrigin.normalize(text) == expected, "\(text)")
    }
}

@Suite struct SessionDataLimitTests {
    @Test func sizeIsTheCompactJSON() {
        #expect(SessionDataLimit.serializedSize([:]) == 2)
        #expect(SessionDataLimit.serializedSize(["a": "b"]) == #"{"a":"b"}"#.utf8.count)
        #expect(SessionDataLimit(maxBytes: 9).allows(["a": "b"]))
        #expect(!SessionDataLimit(maxBytes: 8).allows(["a": "b"]))
        #expect(SessionDataLimit(maxBytes: 0).allows(["a": .string(String(repeating: "x", count: 100_000))]))
        #expect(SessionDataLimit(session: ProxyConfig.Session()).maxBytes == 8192)
    }

    @Test func patchesThatWouldExceedTheLimitAreMalformed() throws {
        let limit = SessionDataLimit(maxBytes: 64)
        let big: JSONValue = .object(["blob": .string(String(repeating: "x", count: 80))])
        let error = try #require(limit.applying([["user_id": "u1"], big], to: nil).failure)
        #expect(error.header == "X-Session-Set" && error.position == 1)
        #expect(error.description.contains("max_data_bytes is 64"))
        #expect(!error.description.contains("xxxx"), "never quotes the patch")
        // Within the limit: patches apply in order, null ends the session.
        #expect(try limit.applying([["a": 1], ["b": 2]], to: ["c": 3]).get() == ["a": 1, "b": 2, "c": 3])
        #expect(try limit.applying([["a": 1], .null], to: [:]).get() == nil)
        #expect(try limit.applying([.null, ["a": 1]], to: ["z": 1]).get() == ["a": 1])
        // A patch that shrinks an oversized session is fine.
        let oversized: [String: JSONValue] = ["blob": .string(String(repeating: "x", count: 80))]
        #expect(try limit.applying([["blob": .null]], to: oversized).get() == [:])
        #expect(try SessionDataLimit(maxBytes: 0).applying([big], to: nil).get() == big.objectValue)
    }
}

@Suite struct NamelessSetCookieTests {
    @Test(arguments: [
        ("session=v; Path=/", true), (" session = v", true), ("=session=v", true), ("= session=v", true),
        ("=  session =v; Path=/", true), ("\t=\tsession=v", true), ("=session=", true),
        ("=sessionx=v", false), ("=xsession=v", false), ("==session=v", false), ("=session", false),
        ("=other=v", false), ("=\"session=v\"", false), ("Session=v", false), ("other=session=v", false),
        ("session", false), ("", false), ("=; session=v", false),
    ])
    func sessionCookieIsRecognisedWithOrWithoutAName(header: String, drops: Bool) {
        #expect(SetCookie.setsCookie(named: "session", headerValue: header) == drops, "\(header)")
    }
}

@Suite struct CaseInsensitiveGlobTests {
    func table(caseSensitive: Bool) throws -> RouteTable {
        var routes = ProxyConfig.Routes()
        routes.defaultAccess = .public
        routes.caseSensitive = caseSensitive
        routes.rules = [
            RouteRule(index: 0, pattern: try PathGlob("/admin/**"), access: .session),
            RouteRule(index: 1, pattern: try PathGlob("/Files/*/%C3%A9"), access: .deny),
        ]
        return RouteTable(routes)
    }

    @Test func defaultIsCaseSensitive() throws {
        let table = try table(caseSensitive: true)
        #expect(table.match(method: "GET", path: "/admin/x").access == .session)
        #expect(table.match(method: "GET", path: "/ADMIN/x").rule == nil)
        #expect(table.match(method: "GET", path: "/files/a/%C3%A9").rule == nil)
    }

    @Test func insensitiveTablesFoldASCIIOnly() throws {
        let table = try table(caseSensitive: false)
        for path in ["/ADMIN/x", "/Admin", "/aDmIn/b/c"] {
            #expect(table.match(method: "GET", path: path).access == .session, "\(path)")
        }
        #expect(table.match(method: "GET", path: "/FILES/A/%C3%A9").access == .deny)
        #expect(table.match(method: "GET", path: "/files/a/%c3%a9").access == .deny)
        #expect(table.match(method: "GET", path: "/admins").rule == nil)
        let glob = try PathGlob("/Admin/*")
        #expect(glob.matches("/aDMIN/x", caseSensitive: false))
        #expect(!glob.matches("/aDMIN/x"))
    }
}
