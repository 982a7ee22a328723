import Testing

@testable import SessionGateCore

@Suite struct LoginRedirectTests {
    @Test(arguments: [
        ("/login", "/admin/x", nil as String?, "/login?next=/admin/x"),
        ("/login", "/admin/x", "a=1&b=2", "/login?next=/admin/x%3Fa%3D1%26b%3D2"),
        ("/login", "/admin", "", "/login?next=/admin"),
        ("/login?lang=en", "/a", nil, "/login?lang=en&next=/a"),
        ("/login?", "/a", nil, "/login?next=/a"),
        ("/login?x=1&", "/a", nil, "/login?x=1&next=/a"),
        ("/login#top", "/a", "q=1", "/login?next=/a%3Fq%3D1#top"),
        ("https://auth.example/login", "/a", nil, "https://auth.example/login?next=/a"),
        ("/login", "/caf%C3%A9/a%20b", "q=%2F x", "/login?next=/caf%25C3%25A9/a%2520b%3Fq%3D%252F%20x"),
        ("/login", "/a+b", "next=//evil", "/login?next=/a%2Bb%3Fnext%3D//evil"),
        ("/login", "//evil.example", nil, "/login?next=/"),
        ("/login", "https://evil.example/", nil, "/login?next=/"),
    ])
    func buildsLocationWithEncodedNext(loginURL: String, path: String, query: String?, expected: String) {
        #expect(LoginRedirect.location(loginURL: loginURL, next: path, query: query) == expected)
    }

    @Test func nextDecodesBackToPathAndQuery() throws {
        let location = LoginRedirect.location(loginURL: "/login", next: "/a/b%2Cc", query: "x=1&y=%20")
        let encoded = try #require(location.split(separator: "=", maxSplits: 1).last)
        #expect(Self.percentDecode(String(encoded)) == "/a/b%2Cc?x=1&y=%20")
    }

    @Test(arguments: [
        "/", "/admin", "/admin/x?y=1&z=2", "/a/b#frag", "/caf%C3%A9", "/a%2Fb", "/a/%2F%2Fevil",
        "/my%20docs", "/@evil.example", "/a//b", "/.well-known/x", "/a:b",
    ])
    func safeNextAcceptsRelativePaths(candidate: String) {
        #expect(LoginRedirect.safeNext(candidate) == candidate)
    }

    @Test(arguments: [
        "", "admin", "https://evil.example", "http://evil.example/", "javascript:alert(1)", "//evil.example",
        "///evil.example", "/\\evil.example", "\\\\evil.example", "/a\\b", "/%2F%2Fevil", "/%2f/evil",
        "/%5Cevil", "/%5cevil", "/%252F%252Fevil", "/%25252F%25252Fevil", "/%09/evil", "/\t/evil",
        "/\n/evil", "/ /x", " /x", "/x\u{0}", "/caf\u{E9}", "/%", "/%zz", "/%2", "/a%0d%0aSet-Cookie:x",
        "/%7F", "%2F%2Fevil", "/%2F%5Cevil",
    ])
    func safeNextRefusesEverythingElse(candidate: String) {
        #expect(LoginRedirect.safeNext(candidate) == nil, "\(candidate)")
    }

    private static func percentDecode(_ text: String) -> String {
        var out: [UInt8] = []
        var bytes = text.utf8[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%"), let high = bytes.popFirst(), let low = bytes.popFirst() {
                out.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
