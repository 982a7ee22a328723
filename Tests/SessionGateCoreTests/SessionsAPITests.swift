import SessionGateShared
import Testing

@testable import SessionGateCore

/// The sessions API's decisions (issue 15): off without a token, bearer only, never a credential
/// in the URL, and the call each path and method names.
@Suite struct SessionsAPITests {
    static let token = Secret(String(repeating: "t", count: 40))
    static let bearer = ["Bearer " + String(repeating: "t", count: 40)]

    private func decide(_ method: String, _ target: String, _ authorization: [String] = bearer, token: Secret<String>? = token)
        -> SessionsAPI.Decision
    {
        SessionsAPI.decide(method: method, target: target, authorization: authorization, token: token)
    }

    private func status(_ decision: SessionsAPI.Decision) -> Int? {
        if case .respond(let status, _) = decision { return status }
        return nil
    }

    @Test func withoutATokenTheAPIDoesNotExist() {
        #expect(decide("GET", "/sessions?user=1", token: nil) == .notSessionsPath)
        #expect(decide("DELETE", "/sessions/abc", token: nil) == .notSessionsPath)
        #expect(decide("GET", "/metrics") == .notSessionsPath)
        #expect(decide("GET", "/sessionsx") == .notSessionsPath)
    }

    @Test(arguments: [
        [String](), ["Bearer wrong"], ["bearer " + String(repeating: "t", count: 39)], ["Basic dDp0"],
        ["Bearer " + String(repeating: "t", count: 41)], bearer + bearer, ["Bearer"], ["Bearer "],
    ])
    func everyCallWithoutTheRightBearerIs401(authorization: [String]) {
        #expect(status(decide("GET", "/sessions?user=1", authorization)) == 401)
        #expect(status(decide("DELETE", "/sessions/abc", authorization)) == 401)
        #expect(status(decide("GET", "/sessions/stats", authorization)) == 401)
    }

    @Test func theSchemeIsCaseInsensitive() {
        #expect(decide("GET", "/sessions/stats", ["bEARER " + String(repeating: "t", count: 40)]) == .perform(.stats))
    }

    @Test(arguments: ["token", "access_token", "ACCESS_TOKEN", "api_key", "auth", "bearer", "Authorization"])
    func aCredentialInTheQueryIsRefusedEvenWithTheRightHeader(name: String) {
        let decision = decide("GET", "/sessions?user=1&\(name)=\(String(repeating: "t", count: 40))")
        #expect(status(decision) == 400)
        if case .respond(_, let body) = decision {
            #expect(!JSONSerializer.string(body).contains(String(repeating: "t", count: 40)))
        }
    }

    @Test func pathsAndMethodsNameTheCall() {
        #expect(decide("GET", "/sessions?user=42") == .perform(.list(user: "42")))
        #expect(decide("GET", "/sessions?user=a%40b.example&x=1") == .perform(.list(user: "a@b.example")))
        #expect(decide("GET", "/sessions?user=Jane+Doe") == .perform(.list(user: "Jane Doe")))
        #expect(decide("DELETE", "/sessions?user=42") == .perform(.revokeUser(user: "42")))
        #expect(decide("DELETE", "/sessions/Ab-_09") == .perform(.revokeSession(handle: "Ab-_09")))
        #expect(decide("GET", "/sessions/stats") == .perform(.stats))
        #expect(status(decide("GET", "/sessions")) == 400)
        #expect(status(decide("DELETE", "/sessions?user=")) == 400)
        #expect(status(decide("DELETE", "/sessions/a%2Fb")) == 404)
        #expect(status(decide("DELETE", "/sessions/" + String(repeating: "a", count: 65))) == 404)
        #expect(status(decide("POST", "/sessions?user=1")) == 405)
        #expect(status(decide("GET", "/sessions/abc")) == 404)
        #expect(status(decide("GET", "/sessions?user=%zz")) == 400)
    }

    @Test func listingJSONHasTheDocumentedFields() {
        let times = SessionTimes(
            createdAt: 1_796_584_855, lastSeenAt: 1_796_584_915, idleExpiresAt: 1_796_586_715, absoluteExpiresAt: 1_797_189_655,
            idleSeconds: 1800)
        let body = SessionsAPI.listBody(
            user: "42",
            sessions: [
                SessionSummary(
                    handle: "sid1", times: times, metadata: SessionMetadata(createdIP: "203.0.113.1", lastIP: nil, userAgent: "UA"))
            ])
        #expect(
            JSONSerializer.string(body)
                == #"{"sessions":[{"created_at":"2026-12-06T19:20:55Z","expires_at":"2026-12-06T19:51:55Z","ip":"203.0.113.1","#
                + #""last_ip":null,"last_seen_at":"2026-12-06T19:21:55Z","sid":"sid1","user_agent":"UA"}],"user":"42"}"#)
        #expect(JSONSerializer.string(SessionsAPI.revokedBody(3)) == #"{"revoked":3}"#)
        #expect(
            JSONSerializer.string(SessionsAPI.statsBody(backend: "redis", liveSessions: nil))
                == #"{"backend":"redis","live_sessions":null}"#)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (1_796_584_855, "2026-12-06T19:20:55Z"),
        (4_102_444_799, "2099-12-31T23:59:59Z"), (-1, "1969-12-31T23:59:59Z"),
    ])
    func rfc3339(seconds: Int64, text: String) {
        #expect(RFC3339.format(seconds) == text)
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal(Array("abc".utf8), Array("abc".utf8)))
        #expect(!ConstantTime.equal(Array("abc".utf8), Array("abd".utf8)))
        #expect(!ConstantTime.equal(Array("abc".utf8), Array("abcd".utf8)))
        #expect(!ConstantTime.equal([], [0]))
        #expect(ConstantTime.equal([], []))
    }
}

@Suite struct SessionMetadataTests {
    @Test func userAgentsAreCutAt256BytesOnACharacter() {
        #expect(ClientInfo(ip: nil, userAgent: String(repeating: "a", count: 300)).userAgent?.utf8.count == 256)
        let accented = String(repeating: "é", count: 200)  // 2 bytes each
        #expect(ClientInfo(ip: nil, userAgent: accented).userAgent == String(repeating: "é", count: 128))
        let odd = "a" + String(repeating: "é", count: 200)  // the 256th byte would split a character
        #expect(ClientInfo(ip: nil, userAgent: odd).userAgent?.utf8.count == 255)
        #expect(ClientInfo(ip: nil, userAgent: "short").userAgent == "short")
    }

    @Test func theClientIPIsBelievedOnlyFromTrustedProxies() throws {
        let trusted = [try #require(CIDR("10.0.0.0/8")), try #require(CIDR("::1/128"))]
        #expect(ClientAddress.resolve(peer: "203.0.113.5", forwardedFor: ["1.2.3.4"], trustedProxies: trusted) == "203.0.113.5")
        #expect(ClientAddress.resolve(peer: "10.1.1.1", forwardedFor: ["1.2.3.4"], trustedProxies: trusted) == "1.2.3.4")
        // The rightmost untrusted entry: a client cannot choose its IP by prepending entries.
        #expect(
            ClientAddress.resolve(peer: "10.1.1.1", forwardedFor: ["6.6.6.6, 1.2.3.4", "10.2.2.2"], trustedProxies: trusted)
                == "1.2.3.4")
        #expect(ClientAddress.resolve(peer: "10.1.1.1", forwardedFor: ["10.3.3.3"], trustedProxies: trusted) == "10.3.3.3")
        #expect(ClientAddress.resolve(peer: "10.1.1.1", forwardedFor: ["1.2.3.4, garbage"], trustedProxies: trusted) == "10.1.1.1")
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: [" 2001:db8::1 "], trustedProxies: trusted) == "2001:db8::1")
        #expect(ClientAddress.resolve(peer: "10.1.1.1", forwardedFor: [], trustedProxies: trusted) == "10.1.1.1")
        #expect(ClientAddress.resolve(peer: nil, forwardedFor: ["1.2.3.4"], trustedProxies: trusted) == nil)
    }
}
