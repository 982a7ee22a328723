import SessionGateCore
import Testing

/// The one conformance suite every session backend runs (memory, cookie, Redis, Postgres,
/// SQLite). Time is passed as `now`, so expiry is tested by fast-forwarding, never by sleeping.
///
/// Usage from a backend's test file:
/// ```
/// @Test func conformance() async throws {
///     try await StoreConformance(name: "memory") { policy in MemorySessionStore(policy: policy, random: SystemRandomBytes()) }.runAll()
/// }
/// ```
struct StoreConformance: Sendable {
    let name: String
    /// Whether `liveSessionCount` must give an exact count (memory, SQL) or may be nil (Redis,
    /// cookie).
    let countsLiveSessions: Bool
    let makeStore: @Sendable (SessionPolicy) async throws -> any SessionStore

    static let policy = SessionPolicy(idleTimeout: 1800, absoluteTimeout: 7 * 86400, userKey: "user_id")
    /// A start time far from zero; each check uses its own offset so runs never collide.
    static let epoch: UnixSeconds = 1_800_000_000

    init(
        name: String, countsLiveSessions: Bool = true,
        makeStore: @escaping @Sendable (SessionPolicy) async throws -> any SessionStore
    ) {
        self.name = name
        self.countsLiveSessions = countsLiveSessions
        self.makeStore = makeStore
    }

    func runAll() async throws {
        let store = try await makeStore(Self.policy)
        try await createAndLoad(store)
        try await unknownTicketsAreAnonymous(store)
        try await idleExpiry(store)
        try await absoluteExpiry(store)
        try await touchSlidesIdleButNotAbsolute(store)
        try await patchMerges(store)
        try await patchKeepsValueShapes(store)
        try await concurrentPatchesAllSurvive(store)
        try await rotateMovesSession(store)
        try await destroyEnds(store)
        try await lifetimeOverrides(store)
        try await revokeOthersAndAll(store)
        try await userIndexFollowsPatches(store)
        try await metadataIsKept(store)
        try await listingShowsLiveSessionsMostRecentFirst(store)
        try await revokeByHandle(store)
        try await liveCount(store)
        try await clientSideStoresRefuseListing(store)
        try await maxPerUserEndsTheLeastRecentlySeen()
        try await store.checkHealth()
    }

    func createAndLoad(_ store: any SessionStore) async throws {
        let now = Self.epoch
        let created = try await store.create(data: ["user_id": "u-create", "n": 1], now: now)
        #expect(created.data == ["user_id": "u-create", "n": 1], "\(name)")
        #expect(created.times.createdAt == now)
        #expect(created.times.idleExpiresAt == now + Self.policy.idleTimeout)
        #expect(created.times.absoluteExpiresAt == now + Self.policy.absoluteTimeout)
        #expect(!created.handle.isEmpty)
        let loaded = try #require(try await store.load(created.ticket, now: now + 5), "\(name): load after create")
        #expect(loaded.data == created.data)
        #expect(loaded.handle == created.handle)
        #expect(loaded.times == created.times)
        let other = try await store.create(data: [:], now: now)
        #expect(other.ticket != created.ticket, "\(name): two sessions share a ticket")
        #expect(other.handle != created.handle)
        #expect(try await store.load(other.ticket, now: now)?.data == [:], "\(name): an empty object is still a session")
    }

    func unknownTicketsAreAnonymous(_ store: any SessionStore) async throws {
        let now = Self.epoch
        #expect(try await store.load(SessionTicket([]), now: now) == nil)
        #expect(try await store.load(SessionTicket([UInt8](repeating: 7, count: 32)), now: now) == nil)
        #expect(try await store.load(SessionTicket(Array("garbage".utf8)), now: now) == nil)
    }

    func idleExpiry(_ store: any SessionStore) async throws {
        let now = Self.epoch + 10_000
        let session = try await store.create(data: ["k": "idle"], now: now)
        #expect(try await store.load(session.ticket, now: now + Self.policy.idleTimeout - 1) != nil)
        #expect(try await store.load(session.ticket, now: now + Self.policy.idleTimeout) == nil, "\(name): idle expiry")
        #expect(try await store.touch(session, now: now + Self.policy.idleTimeout + 1) == nil, "\(name): touch revived")
        #expect(try await store.patch(session, with: ["x": 1], now: now + Self.policy.idleTimeout + 1) == nil)
    }

    func absoluteExpiry(_ store: any SessionStore) async throws {
        var now = Self.epoch + 20_000
        let session = try await store.create(data: ["k": "absolute"], now: now)
        let end = now + Self.policy.absoluteTimeout
        var current = session
        // Keep it busy: touch every 20 minutes until the absolute limit.
        while now + 1200 < end {
            now += 1200
            current = try #require(try await store.touch(current, now: now), "\(name): touched session vanished")
        }
        #expect(current.times.idleExpiresAt <= end)
        // Server-side stores keep one ticket; the cookie store hands out a new one per change.
        #expect(try await store.load(current.ticket, now: end - 1) != nil)
        #expect(try await store.load(current.ticket, now: end) == nil, "\(name): absolute expiry")
    }

    func touchSlidesIdleButNotAbsolute(_ store: any SessionStore) async throws {
        let now = Self.epoch + 30_000
        let session = try await store.create(data: [:], now: now)
        let touched = try #require(try await store.touch(session, now: now + 600))
        #expect(touched.times.lastSeenAt == now + 600)
        #expect(touched.times.idleExpiresAt == now + 600 + Self.policy.idleTimeout)
        #expect(touched.times.absoluteExpiresAt == session.times.absoluteExpiresAt)
        let reloaded = try #require(try await store.load(touched.ticket, now: now + 601))
        #expect(reloaded.times.idleExpiresAt == touched.times.idleExpiresAt, "\(name): touch not persisted")
        // Past the original idle expiry, alive thanks to the touch.
        #expect(try await store.load(touched.ticket, now: now + Self.policy.idleTimeout + 100) != nil)
    }

    func patchMerges(_ store: any SessionStore) async throws {
        let now = Self.epoch + 40_000
        let session = try await store.create(data: ["a": 1, "nested": ["x": 1, "y": 2]], now: now)
        let patched = try #require(
            try await store.patch(session, with: ["b": "two", "a": nil, "nested": ["y": nil, "z": 3]], now: now + 1))
        let expected: [String: JSONValue] = ["b": "two", "nested": ["x": 1, "z": 3]]
        #expect(patched.data == expected, "\(name): patch result")
        #expect(try await store.load(patched.ticket, now: now + 2)?.data == expected, "\(name): patch persisted")
    }

    func patchKeepsValueShapes(_ store: any SessionStore) async throws {
        let now = Self.epoch + 45_000
        let data: [String: JSONValue] = [
            "list": [1, "two", [3], ["four": 4]], "empty_list": [], "empty_object": [:], "text": "héllo \"wörld\" ☃ \n",
            "big": 9_007_199_254_740_993, "neg": -5, "real": 1.5, "yes": true, "no": false, "nothing": nil,
        ]
        let session = try await store.create(data: data, now: now)
        #expect(try await store.load(session.ticket, now: now)?.data == data, "\(name): values changed shape on create")
        let patched = try #require(try await store.patch(session, with: ["added": [[:], []]], now: now))
        var expected = data
        expected["added"] = [[:], []]
        #expect(patched.data == expected, "\(name): values changed shape on patch")
        #expect(try await store.load(patched.ticket, now: now)?.data == expected)
    }

    func concurrentPatchesAllSurvive(_ store: any SessionStore) async throws {
        // A cookie session has no shared copy to patch: each request patches its own (documented).
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 50_000
        let session = try await store.create(data: ["base": true], now: now)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    _ = try await store.patch(session, with: .object(["k\(index)": .int(Int64(index))]), now: now + 1)
                }
            }
            try await group.waitForAll()
        }
        let loaded = try #require(try await store.load(session.ticket, now: now + 2))
        for index in 0..<20 {
            #expect(loaded.data["k\(index)"] == .int(Int64(index)), "\(name): concurrent patch k\(index) lost")
        }
        #expect(loaded.data["base"] == true)
    }

    func rotateMovesSession(_ store: any SessionStore) async throws {
        let now = Self.epoch + 60_000
        let session = try await store.create(data: ["user_id": "u-rotate", "v": 1], now: now)
        let rotated = try #require(try await store.rotate(session, now: now + 1))
        #expect(rotated.ticket != session.ticket)
        #expect(rotated.handle != session.handle, "\(name): sid must change on rotation")
        #expect(rotated.data == session.data)
        #expect(try await store.load(rotated.ticket, now: now + 2)?.data == session.data)
        if store.reach == .serverSide {
            #expect(try await store.load(session.ticket, now: now + 2) == nil, "\(name): old ticket still works")
            // The rotated session is still in the user index.
            #expect(try await store.revokeUser("u-rotate", keeping: nil, now: now + 3) == 1)
            #expect(try await store.load(rotated.ticket, now: now + 4) == nil)
        }
    }

    func destroyEnds(_ store: any SessionStore) async throws {
        let now = Self.epoch + 70_000
        let session = try await store.create(data: ["user_id": "u-destroy"], now: now)
        try await store.destroy(session)
        if store.reach == .serverSide {
            #expect(try await store.load(session.ticket, now: now) == nil, "\(name): destroyed session loads")
            #expect(try await store.revokeUser("u-destroy", keeping: nil, now: now) == 0)
        }
        try await store.destroy(session)  // twice is fine
    }

    func lifetimeOverrides(_ store: any SessionStore) async throws {
        let now = Self.epoch + 80_000
        let session = try await store.create(data: [:], now: now)
        let remembered = try #require(try await store.setLifetime(session, seconds: 14 * 86400, now: now + 10))
        #expect(remembered.times.idleSeconds == 14 * 86400)
        #expect(remembered.times.absoluteExpiresAt == now + 10 + 14 * 86400)
        #expect(remembered.times.idleExpiresAt == now + 10 + 14 * 86400)
        // Outlives both the configured idle and absolute timeouts.
        let later = now + 8 * 86400
        #expect(try await store.load(remembered.ticket, now: later) != nil, "\(name): lifetime not applied")
        #expect(try await store.load(remembered.ticket, now: now + 10 + 14 * 86400) == nil)
        let short = try await store.create(data: [:], now: now)
        let shortened = try #require(try await store.setLifetime(short, seconds: 60, now: now))
        #expect(try await store.load(shortened.ticket, now: now + 61) == nil)
        if let touched = try await store.touch(shortened, now: now + 30) {
            #expect(touched.times.idleExpiresAt == now + 60, "\(name): touch moved past the lifetime")
        }
    }

    func revokeOthersAndAll(_ store: any SessionStore) async throws {
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 90_000
        let user = "u-revoke-\(now)"
        let first = try await store.create(data: ["user_id": .string(user)], now: now)
        let second = try await store.create(data: ["user_id": .string(user)], now: now)
        let third = try await store.create(data: ["user_id": .string(user)], now: now)
        let stranger = try await store.create(data: ["user_id": "someone-else"], now: now)
        #expect(try await store.revokeUser(user, keeping: second.ticket, now: now + 1) == 2, "\(name): revoke-others count")
        #expect(try await store.load(first.ticket, now: now + 1) == nil)
        #expect(try await store.load(third.ticket, now: now + 1) == nil)
        #expect(try await store.load(second.ticket, now: now + 1) != nil, "\(name): revoke-others ended the kept session")
        #expect(try await store.load(stranger.ticket, now: now + 1) != nil, "\(name): revoke reached another user")
        #expect(try await store.revokeUser(user, keeping: nil, now: now + 2) == 1)
        #expect(try await store.load(second.ticket, now: now + 2) == nil)
        // Expired sessions are not counted (and the index does not keep them forever).
        let old = try await store.create(data: ["user_id": .string(user)], now: now)
        #expect(try await store.revokeUser(user, keeping: nil, now: now + Self.policy.idleTimeout + 5) == 0)
        _ = old
    }

    func userIndexFollowsPatches(_ store: any SessionStore) async throws {
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 100_000
        let session = try await store.create(data: [:], now: now)  // anonymous at first
        let loggedIn = try #require(try await store.patch(session, with: ["user_id": .string("u-login-\(now)")], now: now))
        #expect(try await store.revokeUser("u-login-\(now)", keeping: nil, now: now) == 1, "\(name): login not indexed")
        #expect(try await store.load(loggedIn.ticket, now: now) == nil)
        let other = try await store.create(data: ["user_id": .string("u-a-\(now)")], now: now)
        _ = try await store.patch(other, with: ["user_id": .string("u-b-\(now)")], now: now)
        #expect(try await store.revokeUser("u-a-\(now)", keeping: nil, now: now) == 0, "\(name): stale user index")
        #expect(try await store.revokeUser("u-b-\(now)", keeping: nil, now: now) == 1, "\(name): user change not indexed")
    }

    // MARK: - Session management (issue 15)

    /// A `User-Agent` over the bound: 12 ASCII bytes then 3-byte characters, so the cut at 256
    /// bytes falls inside a character and must stop before it (255 bytes).
    static let longUserAgent = "Mozilla/5.0 " + String(repeating: "☃", count: 100)

    func metadataIsKept(_ store: any SessionStore) async throws {
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 110_000
        let client = ClientInfo(ip: "203.0.113.7", userAgent: Self.longUserAgent)
        let agent = try #require(client.userAgent)
        #expect(agent.utf8.count == 255 && Self.longUserAgent.hasPrefix(agent), "\(name): User-Agent cut")
        let expected = SessionMetadata(createdIP: "203.0.113.7", lastIP: "203.0.113.7", userAgent: agent)
        let created = try await store.create(data: ["user_id": "u-meta"], client: client, now: now)
        #expect(created.metadata == expected, "\(name): create metadata")
        #expect(try await store.load(created.ticket, now: now + 1)?.metadata == expected, "\(name): load metadata")
        #expect(try await store.patch(created, with: ["x": 1], now: now + 1)?.metadata == expected)
        // A touch moves the last IP only; one without an IP leaves it.
        let moved = SessionMetadata(createdIP: "203.0.113.7", lastIP: "198.51.100.9", userAgent: agent)
        let touched = try #require(
            try await store.touch(created, client: ClientInfo(ip: "198.51.100.9", userAgent: "other"), now: now + 60))
        #expect(touched.metadata == moved, "\(name): touch metadata")
        #expect(try await store.touch(touched, client: .unknown, now: now + 120)?.metadata == moved)
        #expect(try await store.load(created.ticket, now: now + 121)?.metadata == moved, "\(name): touch not persisted")
        let rotated = try #require(try await store.rotate(touched, now: now + 130))
        #expect(rotated.metadata == moved, "\(name): rotate lost the metadata")
        #expect(try await store.load(rotated.ticket, now: now + 131)?.metadata == moved)
        #expect(try await store.setLifetime(rotated, seconds: 3600, now: now + 132)?.metadata == moved)
        // A client the proxy knows nothing about: no metadata at all.
        let anonymous = try await store.create(data: [:], client: .unknown, now: now)
        #expect(anonymous.metadata == SessionMetadata(), "\(name): metadata made up")
        #expect(try await store.load(anonymous.ticket, now: now)?.metadata == SessionMetadata())
    }

    func listingShowsLiveSessionsMostRecentFirst(_ store: any SessionStore) async throws {
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 120_000
        let user = "u-list-\(now)"
        #expect(try await store.listSessions(ofUser: "u-nobody-\(now)", now: now).isEmpty, "\(name): unknown user")
        let phone = ClientInfo(ip: "192.0.2.1", userAgent: "phone")
        let first = try await store.create(data: ["user_id": .string(user)], client: phone, now: now)
        let second = try await store.create(data: ["user_id": .string(user)], now: now + 10)
        let third = try await store.create(data: ["user_id": .string(user)], now: now + 20)
        let expired = try await store.create(data: ["user_id": .string(user)], now: now - Self.policy.idleTimeout)
        let stranger = try await store.create(data: ["user_id": .string("\(user)-other")], now: now)
        let touched = try #require(try await store.touch(first, client: ClientInfo(ip: "192.0.2.2", userAgent: nil), now: now + 30))
        let listed = try await store.listSessions(ofUser: user, now: now + 40)
        #expect(listed.map(\.handle) == [first.handle, third.handle, second.handle], "\(name): listing order")
        #expect(!listed.contains { $0.handle == expired.handle || $0.handle == stranger.handle }, "\(name): listed too much")
        #expect(listed.first == SessionSummary(handle: first.handle, times: touched.times, metadata: touched.metadata))
        #expect(listed.first?.metadata == SessionMetadata(createdIP: "192.0.2.1", lastIP: "192.0.2.2", userAgent: "phone"))
        #expect(listed.last?.times == second.times)
        // After a rotation the listing shows the new handle, never the old one.
        let rotated = try #require(try await store.rotate(second, now: now + 50))
        let after = try await store.listSessions(ofUser: user, now: now + 50)
        #expect(Set(after.map(\.handle)) == [first.handle, third.handle, rotated.handle], "\(name): listing after rotate")
        // Past their idle expiry, nothing is listed.
        #expect(try await store.listSessions(ofUser: user, now: now + 60 + Self.policy.idleTimeout).isEmpty)
    }

    func revokeByHandle(_ store: any SessionStore) async throws {
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 130_000
        let user = "u-sid-\(now)"
        let mine = try await store.create(data: ["user_id": .string(user)], now: now)
        let other = try await store.create(data: ["user_id": .string(user)], now: now)
        let stranger = try await store.create(data: ["user_id": .string("\(user)-other")], now: now)
        // Someone else's handle: nothing changes.
        #expect(try await store.revoke(handle: stranger.handle, ofUser: user, now: now + 1) == false, "\(name): wrong user")
        #expect(try await store.load(stranger.ticket, now: now + 1) != nil, "\(name): revoked another user's session")
        for unknown in ["unknown-handle", "", "{x}", String(repeating: "A", count: 22)] {
            #expect(try await store.revoke(handle: unknown, ofUser: nil, now: now + 1) == false, "\(name): \(unknown)")
        }
        #expect(try await store.revoke(handle: mine.handle, ofUser: user, now: now + 2), "\(name): right user")
        #expect(try await store.load(mine.ticket, now: now + 2) == nil, "\(name): revoked session still loads")
        #expect(try await store.revoke(handle: mine.handle, ofUser: user, now: now + 3) == false, "\(name): revoked twice")
        #expect(try await store.listSessions(ofUser: user, now: now + 3).map(\.handle) == [other.handle])
        // The operator's form (no user); a rotated session answers to its new handle only.
        let rotated = try #require(try await store.rotate(other, now: now + 4))
        #expect(try await store.revoke(handle: other.handle, ofUser: nil, now: now + 5) == false, "\(name): old handle")
        #expect(try await store.revoke(handle: rotated.handle, ofUser: nil, now: now + 5), "\(name): operator revoke")
        #expect(try await store.load(rotated.ticket, now: now + 5) == nil)
        #expect(try await store.revokeUser(user, keeping: nil, now: now + 6) == 0, "\(name): index kept a revoked session")
        // An expired session cannot be revoked (it is already over).
        let old = try await store.create(data: ["user_id": .string(user)], now: now)
        #expect(try await store.revoke(handle: old.handle, ofUser: user, now: now + Self.policy.idleTimeout) == false)
        #expect(try await store.revoke(handle: stranger.handle, ofUser: nil, now: now + 7))
    }

    func liveCount(_ store: any SessionStore) async throws {
        let now = Self.epoch + 140_000
        guard let before = try await store.liveSessionCount(now: now) else {
            #expect(!countsLiveSessions, "\(name): no live count")
            return
        }
        let first = try await store.create(data: [:], now: now)
        _ = try await store.create(data: ["user_id": "u-count"], now: now)
        #expect(try await store.liveSessionCount(now: now) == before + 2, "\(name): live count")
        try await store.destroy(first)
        #expect(try await store.liveSessionCount(now: now) == before + 1)
        // Sessions of earlier checks may still be live then; these two are not.
        let later = now + Self.policy.idleTimeout
        let afterExpiry = try #require(try await store.liveSessionCount(now: later))
        _ = try await store.create(data: [:], now: later)
        #expect(try await store.liveSessionCount(now: later) == afterExpiry + 1)
    }

    func clientSideStoresRefuseListing(_ store: any SessionStore) async throws {
        guard store.reach == .clientSide else { return }
        do {
            _ = try await store.listSessions(ofUser: "u", now: Self.epoch)
            Issue.record("\(name): a client-side store listed sessions")
        } catch {
            #expect(error.code == .unsupported, "\(name): \(error)")
        }
        do {
            _ = try await store.revoke(handle: "h", ofUser: nil, now: Self.epoch)
            Issue.record("\(name): a client-side store revoked by handle")
        } catch {
            #expect(error.code == .unsupported, "\(name): \(error)")
        }
    }

    /// `max_per_user = 2`: a third login ends the least recently seen; a session joining the
    /// user by a patch enforces the bound too, and never ends itself.
    func maxPerUserEndsTheLeastRecentlySeen() async throws {
        var policy = Self.policy
        policy.maxPerUser = 2
        let store = try await makeStore(policy)
        guard store.reach == .serverSide else { return }
        let now = Self.epoch + 150_000
        let user = "u-bound-\(now)"
        let first = try await store.create(data: ["user_id": .string(user)], now: now)
        let second = try await store.create(data: ["user_id": .string(user)], now: now + 1)
        let stranger = try await store.create(data: ["user_id": .string("\(user)-other")], now: now)
        let third = try await store.create(data: ["user_id": .string(user)], now: now + 2)
        #expect(try await store.load(first.ticket, now: now + 2) == nil, "\(name): bound not enforced on create")
        #expect(try await store.listSessions(ofUser: user, now: now + 2).map(\.handle) == [third.handle, second.handle])
        // Seen more recently than the third, the second survives the next login.
        _ = try #require(try await store.touch(second, now: now + 3))
        let fourth = try await store.create(data: ["user_id": .string(user)], now: now + 4)
        #expect(try await store.load(third.ticket, now: now + 4) == nil, "\(name): ended the wrong session")
        #expect(try await store.listSessions(ofUser: user, now: now + 4).map(\.handle) == [fourth.handle, second.handle])
        // Joining by a patch (a login on an anonymous session).
        let anonymous = try await store.create(data: [:], now: now + 5)
        let joined = try #require(try await store.patch(anonymous, with: ["user_id": .string(user)], now: now + 6))
        #expect(try await store.load(joined.ticket, now: now + 6) != nil, "\(name): the joining session ended itself")
        #expect(try await store.load(second.ticket, now: now + 6) == nil, "\(name): bound not enforced on patch")
        #expect(try await store.listSessions(ofUser: user, now: now + 6).map(\.handle) == [joined.handle, fourth.handle])
        // Patching other keys is no join; other users are untouched.
        _ = try await store.patch(joined, with: ["x": 1], now: now + 7)
        #expect(try await store.listSessions(ofUser: user, now: now + 7).count == 2)
        #expect(try await store.load(stranger.ticket, now: now + 7) != nil, "\(name): the bound reached another user")
        // Expired sessions do not count against the bound.
        let late = now + 8 + Self.policy.idleTimeout
        let fresh = try await store.create(data: ["user_id": .string(user)], now: late)
        #expect(try await store.listSessions(ofUser: user, now: late).map(\.handle) == [fresh.handle])
        // Ten logins at once: once they are done, the bound holds (SQL stores and memory
        // serialise joins; Redis orders them by the index key) and they never all end each other.
        let crowd = "u-crowd-\(now)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask { _ = try await store.create(data: ["user_id": .string(crowd)], now: now) }
            }
            try await group.waitForAll()
        }
        let survivors = try await store.listSessions(ofUser: crowd, now: now).count
        #expect((1...2).contains(survivors), "\(name): \(survivors) sessions left under max_per_user = 2")
    }

    /// After a schema upgrade: the session `ticket` of user "old" with handle "old-handle",
    /// written by an older release at 1000 (idle 1800 s), works with no metadata — loaded,
    /// listed, touched (which records the last IP), counted, revoked by its handle.
    static func expectOldSessionWorks(_ store: any SessionStore, ticket: SessionTicket) async throws {
        let old = try #require(try await store.load(ticket, now: 1500), "the old session was lost")
        #expect(old.data == ["user_id": "old", "n": 1])
        #expect(old.metadata == SessionMetadata())
        let listed = try await store.listSessions(ofUser: "old", now: 1500)
        #expect(listed == [SessionSummary(handle: "old-handle", times: old.times, metadata: SessionMetadata())])
        let touched = try await store.touch(old, client: ClientInfo(ip: "192.0.2.9", userAgent: "ua"), now: 1600)
        #expect(touched?.metadata == SessionMetadata(lastIP: "192.0.2.9"))
        #expect(try await store.liveSessionCount(now: 1600) == 1)
        #expect(try await store.revoke(handle: "old-handle", ofUser: "old", now: 1600))
        #expect(try await store.load(ticket, now: 1600) == nil)
    }
}
