import SessionGateCore
import SessionGateStores
import Testing

@Suite struct CookieStoreTests {
    @Test func conformance() async throws {
        try await StoreConformance(name: "cookie", countsLiveSessions: false) { policy in
            CookieSessionStore(policy: policy, random: SystemRandomBytes())
        }.runAll()
    }

    @Test func tamperedOrForeignTicketsAreAnonymous() async throws {
        let store = CookieSessionStore(policy: StoreConformance.policy, random: SystemRandomBytes())
        let session = try await store.create(data: ["a": 1], now: 100)
        var bytes = session.ticket.bytes
        bytes.removeLast()
        #expect(try await store.load(SessionTicket(bytes), now: 100) == nil)
        #expect(try await store.load(SessionTicket(Array(#"{"v":2,"h":"x","d":{},"t":[0,0,9,9,9]}"#.utf8)), now: 1) == nil)
        #expect(try await store.load(SessionTicket(Array(#"{"v":1,"h":"x","d":[],"t":[0,0,9,9,9]}"#.utf8)), now: 1) == nil)
        #expect(try await store.load(session.ticket, now: 100)?.data == ["a": 1])
    }

    /// The cookie store cannot reach other sessions: listing and revoking by handle say so.
    @Test func listingAndRevokingAreUnsupported() async throws {
        let store = CookieSessionStore(policy: StoreConformance.policy, random: SystemRandomBytes())
        let session = try await store.create(data: ["user_id": "u"], now: 100)
        do {
            _ = try await store.listSessions(ofUser: "u", now: 100)
            Issue.record("the cookie store listed sessions")
        } catch {
            #expect(error.code == .unsupported)
        }
        do {
            _ = try await store.revoke(handle: session.handle, ofUser: "u", now: 100)
            Issue.record("the cookie store revoked by handle")
        } catch {
            #expect(error.code == .unsupported)
        }
        #expect(try await store.liveSessionCount(now: 100) == nil)
    }
}
