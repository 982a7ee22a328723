import Testing

@testable import SessionGateCore

@Suite struct HeaderPolicyTests {
    let policy = HeaderPolicy(injectedHeaders: ["X-User-Id", "X-Tenant"])

    @Test(arguments: [
        "X-Session-Token", "x-session-token", "X_SESSION_TOKEN", "x_session_token", "X.Session.Token",
        "X-Session-Set", "X.Session.Set", "x-session-action", "X-Session-Lifetime", "x-session-anything",
        "X-Session", "x_session", "X-Session_Data", "X-User-Id", "X-USER-ID", "x_user_id", "x_user.id",
        "X.User.Id", "x-tenant", "X_TENANT",
    ])
    func spoofableInEverySpelling(name: String) {
        #expect(policy.isSpoofable(name), "\(name)")
    }

    @Test(arguments: [
        "X-Sessions", "X-Sessionid", "Session-Token", "X-Session2", "X-User", "X-User-Ids", "X-UserId",
        "Authorization", "Cookie", "", "x", "X-Tenant-Id", "Xsession-Token",
    ])
    func otherHeadersAreNotSpoofable(name: String) {
        #expect(!policy.isSpoofable(name), "\(name)")
    }

    @Test func withoutInjectOnlyTheSessionFamilyIsSpoofable() {
        let bare = HeaderPolicy(injectedHeaders: [])
        #expect(bare.isSpoofable("X-Session-Token"))
        #expect(!bare.isSpoofable("X-User-Id"))
    }

    @Test(arguments: [
        ("Connection", true), ("connection", true), ("KEEP-ALIVE", true), ("Proxy-Connection", true),
        ("TE", true), ("te", true), ("Trailer", true), ("Transfer-Encoding", true), ("Upgrade", true),
        ("Proxy-Authenticate", false), ("Proxy-Authorization", false), ("Content-Length", false),
        ("Trailers", false), ("Host", false), ("Keep_Alive", false), ("", false),
    ])
    func hopByHopPerRFC9110(name: String, expected: Bool) {
        #expect(HeaderPolicy.isHopByHop(name) == expected, "\(name)")
    }

    @Test func connectionNominatesCommaListedNamesLowercased() {
        #expect(nominated(["close"]) == ["close"])
        #expect(
            nominated(["keep-alive, X-Custom", " Upgrade ,,\tX-Other\t"])
                == ["x-custom", "x-other"], "hop-by-hop names are removed anyway: not listed")
        #expect(nominated(["X-A, x-a", "X-A"]) == ["x-a"])
        #expect(nominated([]) == [])
        #expect(nominated(["", " , "]) == [])
        #expect(nominated(["close, X-Session-Token, x_user.id, X-Other"]) == ["close", "x-other"])
        #expect(nominated(["Host, Content-Length, Via, x-forwarded-for, TE"]) == [])
        #expect(nominated(["keep-alive"]) == [])
    }

    @Test func listContainsFindsTokensInAnyFieldIgnoringCaseAndBlanks() {
        #expect(HeaderPolicy.listContains(["keep-alive, Upgrade"], token: "upgrade"))
        #expect(HeaderPolicy.listContains(["close", " \tUPGRADE\t "], token: "upgrade"))
        #expect(!HeaderPolicy.listContains(["upgrades, keep-alive"], token: "upgrade"))
        #expect(!HeaderPolicy.listContains(["up grade"], token: "upgrade"))
        #expect(!HeaderPolicy.listContains([], token: "upgrade"))
    }

    @Test(arguments: [
        "X-Session-Token", "x_session_token", "X.Session.Set", "X-User-Id", "x_user.id", "X-Tenant",
        "X-Forwarded-For", "x-forwarded-proto", "X-Forwarded-Host", "Forwarded", "Via", "X-Request-Id",
        "Host", "Content-Length", "X_Forwarded_For",
    ])
    func connectionCannotNameAwayProxyOwnedHeaders(name: String) {
        #expect(nominated(["close, \(name), X-Other"]) == ["close", "x-other"], "\(name)")
    }

    /// What `connectionNominated(fields:in:)` names for a head with these `Connection` fields, as
    /// lower-cased text without duplicates (the data plane compares the ranges in place).
    private func nominated(_ connectionValues: [String]) -> [String] {
        var text = "GET / HTTP/1.1\r\nHost: a\r\n"
        for value in connectionValues { text += "Connection: \(value)\r\n" }
        text += "X-Custom: 1\r\n\r\n"
        let parser = RequestHeadParser(limits: .init(maxHeadBytes: 4096, maxTargetBytes: 1024, maxHeaderCount: 50))
        guard case .complete(let layout) = parser.parse(Array(text.utf8)) else {
            Issue.record("not parsed: \(text)")
            return []
        }
        let names = Array(text.utf8).withUnsafeBytes { bytes in
            policy.connectionNominated(fields: layout.fields, in: bytes).map {
                String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self).lowercased()
            }
        }
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        return unique
    }
}
