import Testing

@testable import SessionGateCore

@Suite struct CookieHeaderTests {
    @Test(arguments: [
        ("sid=abc", "sid", ["abc"]),
        ("a=1; sid=abc; b=2", "sid", ["abc"]),
        ("a=1;sid=abc;b=2", "sid", ["abc"]),
        ("  sid = abc ;  ", "sid", ["abc"]),
        ("sid=\"quoted\"", "sid", ["quoted"]),
        ("sid=\"", "sid", ["\""]),
        ("sid=\"\"", "sid", [""]),
        ("sid=first; x=y; sid=second", "sid", ["first", "second"]),
        ("sid=a=b=c", "sid", ["a=b=c"]),
        ("sid=", "sid", [""]),
        ("SID=abc; Sid=def", "sid", []),
        ("xsid=abc; sidx=def", "sid", []),
        ("sid", "sid", []),
        ("", "sid", []),
        (";;;", "sid", []),
        ("=;=x; sid=ok; ;garbage", "sid", ["ok"]),
        ("a=1;\u{301} sid=evil", "sid", []),
        ("a=1;\u{301}; sid=ok", "sid", ["ok"]),
        ("sid=\u{301}x", "sid", ["\u{301}x"]),
        ("\u{0}\u{FFFF}; sid=v\u{1F600}", "sid", ["v\u{1F600}"]),
        ("__Host-session=AAA; __Host-session=BBB", "__Host-session", ["AAA", "BBB"]),
    ])
    func valuesOfACookie(header: String, name: String, expected: [String]) {
        #expect(CookieHeader.values(named: name, in: header).map(String.init) == expected, "\(header)")
        // Read in place (the data plane's way): the same values, as ranges of the header's bytes.
        var header = header
        var name = name
        var inPlace: [String] = []
        header.withUTF8 { bytes in
            name.withUTF8 { name in
                CookieHeader.forEachValue(named: name, in: bytes) { inPlace.append(String(decoding: bytes[$0], as: UTF8.self)) }
            }
        }
        #expect(inPlace == expected, "\(header)")
    }

    /// Bytes that are not UTF-8 around the session pair: read in place, the value and the count
    /// are what the `String` reading (which repairs those bytes) finds.
    @Test func invalidUTF8AroundThePairChangesNothingInPlace() {
        let raw: [UInt8] =
            [0xC3, UInt8(ascii: ";")] + Array(" sid=abc; x".utf8) + [0xFF] + Array("=1; s".utf8) + [0xE9]
            + Array("d=2".utf8)
        let repaired = String(decoding: raw, as: UTF8.self)
        var found: [[UInt8]] = []
        raw.withUnsafeBufferPointer { bytes in
            "sid".utf8.withContiguousStorageIfAvailable { name in
                CookieHeader.forEachValue(named: name, in: bytes) { found.append(Array(bytes[$0])) }
            }
        }
        #expect(found == [Array("abc".utf8)])
        #expect(CookieHeader.values(named: "sid", in: repaired).map { Array($0.utf8) } == found)
    }

    @Test(arguments: [
        ("a=1; sid=abc; b=2", "a=1; b=2" as String?),
        ("sid=abc", nil),
        ("sid=abc; sid=def", nil),
        ("  sid=abc ;; a=1 ;sid=x", "a=1"),
        ("a=1;b=2", "a=1; b=2"),
        ("a=\"q\"; sid=1; garbage", "a=\"q\"; garbage"),
        ("", nil),
        ("; ;", nil),
        ("a=1;\u{301} sid=evil", "a=1; \u{301} sid=evil"),
        ("SID=keep", "SID=keep"),
    ])
    func removingACookie(header: String, expected: String?) {
        #expect(CookieHeader.removing(named: "sid", from: header) == expected, "\(header)")
    }

    @Test func splitsOnScalarsSoACombiningMarkCannotHideASeparator() throws {
        let remaining = try #require(CookieHeader.removing(named: "sid", from: "a=1;\u{301}sid=evil"))
        #expect(CookieHeader.values(named: "sid", in: "a=1;\u{301}sid=evil").isEmpty)
        // `\u{301}sid` is a different name from `sid`, so that pair is kept as is.
        #expect(remaining == "a=1; \u{301}sid=evil")
    }

    @Test func setCookieHeaderValues() {
        let full = SetCookie(
            name: "__Host-session", value: "v1.abc", maxAge: 1800, domain: nil, path: "/", secure: true,
            httpOnly: true, sameSite: .lax)
        #expect(full.headerValue == "__Host-session=v1.abc; Max-Age=1800; Path=/; Secure; HttpOnly; SameSite=Lax")
        let session = SetCookie(
            name: "s", value: "x", maxAge: nil, domain: "example.com", path: nil, secure: false, httpOnly: false,
            sameSite: .strict)
        #expect(session.headerValue == "s=x; Domain=example.com; SameSite=Strict")
        let none = SetCookie(name: "s", value: "x", sameSite: .none)
        #expect(none.headerValue == "s=x; Path=/; Secure; HttpOnly; SameSite=None")
    }

    @Test func expiredCookiesDeleteImmediately() {
        #expect(
            SetCookie.expired(name: "__Host-session").headerValue
                == "__Host-session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=Lax")
        let negative = SetCookie(name: "s", value: "", maxAge: -5)
        #expect(negative.headerValue.hasPrefix("s=; Max-Age=0; Expires=Thu, 01 Jan 1970"))
        var config = ProxyConfig.Cookie()
        config.name = "sg"
        config.domain = "example.com"
        config.path = "/app"
        config.secure = false
        config.sameSite = .strict
        #expect(
            SetCookie.expired(cookie: config).headerValue
                == "sg=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; Path=/app; HttpOnly; SameSite=Strict")
        #expect(
            SetCookie(cookie: config, value: "v", maxAge: 60).headerValue
                == "sg=v; Max-Age=60; Domain=example.com; Path=/app; HttpOnly; SameSite=Strict")
    }

    @Test(arguments: [
        ("__Host-session=x; Path=/", "__Host-session" as String?),
        (" sid = x", "sid"),
        ("sid=", "sid"),
        ("novalue; Path=/", nil),
        ("", nil),
        ("=x", ""),
        ("a; b=c", nil),
    ])
    func cookieNameOfUpstreamSetCookie(header: String, expected: String?) {
        #expect(SetCookie.cookieName(inHeaderValue: header).map(String.init) == expected)
    }
}
