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
        #expect(policy.connectionNominated(["close"]) == ["close"])
        #expect(
            policy.connectionNominated(["keep-alive, X-Custom", " Upgrade ,,\tX-Other\t"])
                == ["keep-alive", "x-custom", "upgrade", "x-other"])
        #expect(policy.connectionNominated(["X-A, x-a", "X-A"]) == ["x-a"])
        #expect(policy.connectionNominated([]) == [])
        #expect(policy.connectionNominated(["", " , "]) == [])
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
        #expect(policy.connectionNominated(["close, \(name), X-Other"]) == ["close", "x-other"], "\(name)")
    }
}
