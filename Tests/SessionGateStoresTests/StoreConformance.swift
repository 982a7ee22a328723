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
    let makeStore: @Sendable (SessionPolicy) async throws -> any SessionStore

    static let policy = SessionPolicy(idleTimeout: 1800, absoluteTimeout: 7 * 86400, userKey: "user_id")
    /// A start time far from zero; each check uses its own offset so runs never collide.
    static let epoch: UnixSeconds = 1_800_000_000

    init(name: String, makeStore: @escaping @Sendable (SessionPolicy) async throws -> any SessionStore) {
        self.name = name
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
}
