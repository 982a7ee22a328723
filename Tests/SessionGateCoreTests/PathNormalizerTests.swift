import Testing

@testable import SessionGateCore

@Suite struct PathNormalizerTests {
    private func normalize(_ target: String, maxLength: Int = 8192, host: String? = "app.example")
        -> Result<NormalizedTarget, TargetRejection>
    {
        PathNormalizer.normalize(target: target, maxLength: maxLength, host: host)
    }

    /// The bypass strings that broke other proxies, and friends: target -> normalised path.
    @Test(arguments: [
        ("/public/../admin", "/admin"),
        ("/%61dmin", "/admin"),
        ("//admin", "/admin"),
        ("/admin/.", "/admin/"),
        ("/admin/%2e%2e/x", "/x"),
        ("/admin/%2E%2E/x", "/x"),
        ("/admin/.%2e/x", "/x"),
        ("/admin/%2e/x", "/admin/x"),
        ("/public/%2e%2e/admin", "/admin"),
        ("/%252e%252e/admin", "/%252e%252e/admin"),
        ("/a%2fb%252F", "reject"),
        ("/", "/"),
        ("/admin", "/admin"),
        ("/admin/", "/admin/"),
        ("/admin//", "/admin/"),
        ("/admin/..", "/"),
        ("/admin/../", "/"),
        ("/..", "/"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/a/b/../../../c", "/c"),
        ("/a/./b/./c/.", "/a/b/c/"),
        ("///a////b", "/a/b"),
        ("/a/.../b", "/a/.../b"),
        ("/a/..b/.c/c.", "/a/..b/.c/c."),
        ("/%41%42%43%7e%5f%2d%2E", "/ABC~_-."),
        ("/caf%c3%a9", "/caf%C3%A9"),
        ("/%e2%82%ac", "/%E2%82%AC"),
        ("/a%20b", "/a%20b"),
        ("/a%7c%7C", "/a%7C%7C"),
        ("/a%3bb", "/a%3Bb"),
        ("/a%25", "/a%25"),
        ("/%3A@!$&'()*+,=", "/%3A@!$&'()*+,="),
        ("/Admin/X", "/Admin/X"),
        ("/mIxEd/%4D%69", "/mIxEd/Mi"),
    ])
    func normalisesPaths(target: String, expected: String) {
        let result = normalize(target)
        if expected == "reject" {
            #expect(result.rejection?.status == 400)
        } else {
            #expect(result.path == expected, "for \(target)")
        }
    }

    /// The shortcut for targets already normal answers exactly what the rules answer, and is
    /// taken only for targets the rules return unchanged (`FuzzPath` checks this on every input).
    @Test(arguments: [
        "/", "/admin", "/admin/", "/a/.../b", "/a/..b/.c/c.", "/Admin/X", "/p?q=1&r=/../x", "/p/?", "/?x", "/@!$&'()*+,=:",
        "/.well-known/x", "/a.", "/..a",
    ])
    func plainTargetsTakeTheShortcut(target: String) throws {
        let plain = try #require(PathNormalizer.alreadyNormal(target), "for \(target)")
        #expect(PathNormalizer.normalizeByRules(target: target, maxLength: 8192, host: nil) == .success(plain))
    }

    @Test(arguments: [
        "", "*", "x", "http://app.example/a", "//a", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/a/.", "/a/..", "/a/.?q",
        "/%61", "/a b", "/a;b", "/a\\b", "/a#f", "/a?q#f", "/a?q r", "/caf\u{e9}",
    ])
    func everythingElseFollowsTheRules(target: String) {
        #expect(PathNormalizer.alreadyNormal(target) == nil, "for \(target)")
    }

    /// Each of these must get 400 (never a path the backend could read differently).
    @Test(arguments: [
        "/admin%2fx", "/admin%2Fx", "/admin%5cx", "/admin%5Cx", "/admin%00", "/admin%00.html",
        "/admin;x", "/admin;", "/;/admin", "/admin/;jsessionid=1", "/admin\\x", "/\\admin",
        "/admin%", "/admin%2", "/admin%zz", "/admin%g0", "/%c0%ae%c0%ae/admin", "/%c0%af",
        "/%e0%80%ae", "/%ed%a0%80", "/%ff", "/%c3", "/%c3/", "/%e2%82", "/%c3%28",
        "/admin%0a", "/admin%0d%0aX: y", "/admin%09", "/admin%7f",
        "/admin x", "/admin\u{7}", "/admin\t", "/café", "/admin#frag", "/admin?q#frag",
        "", "*", "admin", "app.example:443", "../admin", "?x",
        "http://evil.example/admin", "http://app.example@evil.example/admin", "http:///admin",
        "ftp://app.example/admin", "http://app.example", "http://app.example?x",
    ])
    func rejectsAmbiguousTargetsWith400(target: String) {
        #expect(normalize(target).rejection?.status == 400, "for \(target)")
    }

    @Test func absoluteFormForThisHostUsesItsPath() {
        #expect(normalize("http://app.example/public/../admin?x=1").target == .init(path: "/admin", query: "x=1"))
        #expect(normalize("HTTP://APP.example/a").path == "/a")
        #expect(normalize("http://app.example:80/a").path == "/a")
        #expect(normalize("https://app.example:443/a").path == "/a")
        #expect(normalize("http://app.example:8080/a", host: "app.example:8080").path == "/a")
        #expect(normalize("http://app.example:8080/a").rejection?.status == 400)
        #expect(normalize("http://app.example/a", host: nil).rejection?.status == 400)
    }

    @Test func queryIsKeptUntouched() {
        #expect(normalize("/a/../b?x=%2f&y=..%2F;z#").rejection?.status == 400)
        #expect(normalize("/a/../b?x=%2f&y=..%2F;z").target == .init(path: "/b", query: "x=%2f&y=..%2F;z"))
        #expect(normalize("/b?").target == .init(path: "/b", query: ""))
        #expect(normalize("/b??a").target == .init(path: "/b", query: "?a"))
        #expect(normalize("/b").target == .init(path: "/b", query: nil))
        #expect(normalize("/b?a b").rejection?.status == 400)
        #expect(NormalizedTarget(path: "/b", query: "x=1").requestTarget == "/b?x=1")
        #expect(NormalizedTarget(path: "/b").requestTarget == "/b")
    }

    @Test func tooLongTargetGets414() {
        let target = "/" + String(repeating: "a", count: 99)
        #expect(normalize(target, maxLength: 100).path == target)
        #expect(normalize(target + "a", maxLength: 100).rejection?.status == 414)
        // Length is checked first, even for targets that would also be invalid.
        #expect(normalize(target + "%2f", maxLength: 100).rejection?.status == 414)
    }

    @Test func rejectionReasonsNeverQuoteTheTarget() {
        let rejection = normalize("/secret-token-abc%2f").rejection
        #expect(rejection != nil)
        #expect(rejection?.description.contains("secret") == false)
    }

    static let fixedPointInputs = [
        "/public/../admin", "/%61dmin/%2e%2e/%62", "//a//b/", "/a/%252e%252e/b", "/caf%c3%a9/%7e",
        "/a/b/c/./../d/", "/%3a%3b%3c", "/x?q=1", "/a%20b/", "/...", "/a/.", "/",
    ]

    @Test(arguments: fixedPointInputs)
    func normalisingANormalisedTargetIsAFixedPoint(target: String) throws {
        let once = try normalize(target).get()
        let twice = try normalize(once.requestTarget).get()
        #expect(twice == once)
    }
}

extension Result where Success == NormalizedTarget, Failure == TargetRejection {
    fileprivate var path: String? { try? get().path }
    fileprivate var target: NormalizedTarget? { try? get() }
    fileprivate var rejection: TargetRejection? {
        if case .failure(let rejection) = self { return rejection }
        return nil
    }
}
