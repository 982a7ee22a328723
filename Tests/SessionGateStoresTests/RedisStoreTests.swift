import Foundation
import RedisWire
import SessionGateCore
import SessionGateStores
import Testing

@Suite struct RedisStoreTests {
    static let policy = SessionPolicy(idleTimeout: 1800, absoluteTimeout: 7 * 86400, userKey: "user_id")

    private func standaloneStore(policy: SessionPolicy = policy) throws -> RedisSessionStore {
        try RedisSessionStore(
            url: try RedisTestServers.url(), cluster: false, policy: policy, random: SystemRandomBytes(),
            keyPrefix: RedisTestServers.prefix())
    }

    private func countingStore(cluster: Bool = false) throws -> (RedisSessionStore, CountingRedisExecutor, RedisExecutor) {
        let configuration = try RedisConfiguration(url: cluster ? try RedisTestServers.clusterURL() : try RedisTestServers.url())
        let client: any RedisExecutor =
            cluster ? RedisClusterClient(configuration: configuration) : RedisClient(configuration: configuration)
        let counting = CountingRedisExecutor(client)
        let store = RedisSessionStore(
            executor: counting, policy: Self.policy, random: SystemRandomBytes(), keyPrefix: RedisTestServers.prefix())
        return (store, counting, client)
    }

    @Test func conformanceStandalone() async throws {
        try await StoreConformance(name: "redis", countsLiveSessions: false) { policy in
            try standaloneStore(policy: policy)
        }.runAll()
    }

    @Test func conformanceCluster() async throws {
        let url = try RedisTestServers.clusterURL()
        try await StoreConformance(name: "redis-cluster", countsLiveSessions: false) { policy in
            try RedisSessionStore(
                url: url, cluster: true, policy: policy, random: SystemRandomBytes(), keyPrefix: RedisTestServers.prefix())
        }.runAll()
    }

    @Test(arguments: [false, true])
    func loadAndTouchAreOneRoundTrip(cluster: Bool) async throws {
        let (store, counting, _) = try countingStore(cluster: cluster)
        let now: UnixSeconds = 1_800_000_000
        let session = try await store.create(data: ["user_id": "u-rt", "a": [1, 2]], now: now)
        // Warm connections, the slot map and the script cache (first use of a script: EVAL).
        _ = try await store.load(session.ticket, now: now)
        _ = try await store.touch(session, now: now)
        counting.reset()
        #expect(try await store.load(session.ticket, now: now + 1)?.data == session.data)
        #expect(counting.roundTrips == 1)
        #expect(counting.commandNames == ["HMGET"])
        counting.reset()
        #expect(try await store.touch(session, now: now + 2) != nil)
        #expect(counting.roundTrips == 1)
        counting.reset()
        #expect(try await store.load(SessionTicket([1, 2, 3]), now: now) == nil)
        #expect(counting.roundTrips == 0, "a malformed ticket must not reach Redis")
    }

    /// The data plane's Task-free load answers exactly what `load` answers: live, missing,
    /// expired; and it declines (false, no callback) before a connection is open.
    @Test func callbackLoadMatchesLoad() async throws {
        let store = try standaloneStore()
        let now: UnixSeconds = 1_800_000_000
        let cold = store.load(SessionTicket([UInt8](repeating: 7, count: 32)), now: now) { _ in
            Issue.record("a declined load must not call back")
        }
        #expect(!cold, "no connection is open yet: the callback path must decline")
        let session = try await store.create(data: ["user_id": "u-cb", "n": 1], now: now)
        for (ticket, at, expected) in [
            (session.ticket, now + 1, session.data), (SessionTicket([UInt8](repeating: 9, count: 32)), now, nil),
            (session.ticket, now + Self.policy.idleTimeout + 1, nil),
        ] as [(SessionTicket, UnixSeconds, [String: JSONValue]?)] {
            let viaCallback = try await withCheckedThrowingContinuation { continuation in
                let started = store.load(ticket, now: at) { continuation.resume(with: $0.map { $0?.data }) }
                if !started { continuation.resume(throwing: StoreError(.unavailable, "declined")) }
            }
            #expect(viaCallback == expected)
            #expect(try await store.load(ticket, now: at)?.data == expected)
        }
        await store.shutdown()
    }

    @Test func createIsOnePipelineAndSetsANativeTTL() async throws {
        let (store, counting, client) = try countingStore()
        let now: UnixSeconds = 1_800_000_000
        _ = try await store.create(data: ["user_id": "u-warm"], now: now)  // loads the scripts
        counting.reset()
        let session = try await store.create(data: ["user_id": "u-ttl"], now: now)
        #expect(counting.roundTrips == 1)
        let id = try #require(SessionID(bytes: session.ticket.bytes))
        let key = "\(store.keyPrefix){\(id.storeKey)}"
        let ttl = try await client.send(["TTL", RESPArgument(key)]).integer ?? -3
        #expect(ttl > 1700 && ttl <= 1800, "TTL should follow the idle expiry")
        _ = try await store.touch(session, now: now + 900)
        let touchedTTL = try await client.send(["TTL", RESPArgument(key)]).integer ?? -3
        #expect(touchedTTL > 1700 && touchedTTL <= 1800, "touch should move the TTL relative to now")
        _ = try await store.setLifetime(session, seconds: 60, now: now + 900)
        #expect(try await client.send(["TTL", RESPArgument(key)]).integer ?? -3 <= 60)
        // The user's index lives under a hash of the id, and also carries a TTL.
        let keys = try await client.send(["KEYS", RESPArgument("\(store.keyPrefix)u:*")]).array ?? []
        #expect(keys.count == 2)
        let indexKey = keys.first?.string ?? ""
        #expect(indexKey.hasPrefix("\(store.keyPrefix)u:{"))
        #expect(!indexKey.contains("u-ttl"))
        #expect(try await client.send(["TTL", keys[0].string.map { RESPArgument($0) } ?? ""]).integer ?? -3 > 0)
    }

    /// The handle → store key mapping: written with the session (absolute TTL, never the id),
    /// moved on rotation, gone on destroy; a hash from before handles were kept (no `h`, no
    /// metadata) loads as before and becomes listable and revocable at its first touch.
    @Test(arguments: [false, true])
    func handleMappingFollowsTheSession(cluster: Bool) async throws {
        let (store, _, client) = try countingStore(cluster: cluster)
        let now: UnixSeconds = 1_800_000_000
        let session = try await store.create(data: ["user_id": "u-map"], now: now)
        let id = try #require(SessionID(bytes: session.ticket.bytes))
        let mapping = RESPArgument("\(store.keyPrefix)s:{\(session.handle)}")
        #expect(try await client.send(["GET", mapping]).string == id.storeKey)
        let ttl = try await client.send(["TTL", mapping]).integer ?? -3
        #expect(ttl > 7 * 86400 - 100 && ttl <= 7 * 86400, "the mapping lives as long as the absolute expiry")
        let rotated = try #require(try await store.rotate(session, now: now + 1))
        #expect(try await client.send(["EXISTS", mapping]).integer == 0, "the old handle still maps")
        let newMapping = RESPArgument("\(store.keyPrefix)s:{\(rotated.handle)}")
        #expect(try await client.send(["GET", newMapping]).string == SessionID(bytes: rotated.ticket.bytes)?.storeKey)
        try await store.destroy(rotated)
        #expect(try await client.send(["EXISTS", newMapping]).integer == 0, "destroy left the mapping")

        // A hash as an older release wrote it.
        let old = try await store.create(data: ["user_id": "u-old"], now: now)
        let oldID = try #require(SessionID(bytes: old.ticket.bytes))
        let oldKey = RESPArgument("\(store.keyPrefix){\(oldID.storeKey)}")
        _ = try await client.send(["HDEL", oldKey, "h", "ip", "lip", "ua"])
        _ = try await client.send(["DEL", RESPArgument("\(store.keyPrefix)s:{\(old.handle)}")])
        #expect(try await store.load(old.ticket, now: now + 1)?.metadata == SessionMetadata())
        #expect(try await store.listSessions(ofUser: "u-old", now: now + 1).isEmpty, "listed without a handle")
        #expect(try await store.revoke(handle: old.handle, ofUser: "u-old", now: now + 1) == false)
        let touched = try #require(try await store.touch(old, client: ClientInfo(ip: "192.0.2.7", userAgent: nil), now: now + 2))
        #expect(touched.metadata == SessionMetadata(lastIP: "192.0.2.7"))
        #expect(try await store.listSessions(ofUser: "u-old", now: now + 3).map(\.handle) == [old.handle])
        #expect(try await store.revoke(handle: old.handle, ofUser: "u-old", now: now + 3))
        #expect(try await store.load(old.ticket, now: now + 3) == nil)
    }

    @Test func userIndexIsPrunedOnEveryWrite() async throws {
        let policy = SessionPolicy(idleTimeout: 60, absoluteTimeout: 100, userKey: "user_id")
        let (store, _, client) = try countingStore()
        let shortStore = RedisSessionStore(
            executor: client, policy: policy, random: SystemRandomBytes(), keyPrefix: store.keyPrefix)
        var now: UnixSeconds = 1_800_000_000
        for _ in 0..<50 {
            _ = try await shortStore.create(data: ["user_id": "u-busy"], now: now)
            now += 10  // each session's absolute expiry is 100 s after its creation
        }
        let keys = try await client.send(["KEYS", RESPArgument("\(store.keyPrefix)u:*")]).array ?? []
        let index = try #require(keys.first?.string)
        let size = try await client.send(["ZCARD", RESPArgument(index)]).integer ?? -1
        #expect(size <= 11, "index holds only sessions within one absolute timeout, has \(size)")
        #expect(try await shortStore.revokeUser("u-busy", keeping: nil, now: now) <= 10)
    }

    @Test(arguments: 0..<RedisMergeExamples.appendixA.count)
    func luaMergeFollowsRFC7396(example index: Int) async throws {
        let (targetText, patchText, resultText) = RedisMergeExamples.appendixA[index]
        // Session data is always an object, so each example runs one level down, under "x".
        let store = try standaloneStore()
        let now: UnixSeconds = 1_800_000_000
        let target = try JSONParser.parse(targetText)
        let session = try await store.create(data: ["x": target, "keep": [[:], []]], now: now)
        let patched = try #require(try await store.patch(session, with: ["x": try JSONParser.parse(patchText)], now: now))
        var expected: [String: JSONValue] = ["keep": [[:], []]]
        let result = try JSONParser.parse(resultText)
        if result != .null { expected["x"] = result }
        #expect(patched.data == expected)
        #expect(try await store.load(session.ticket, now: now)?.data == expected)
    }

    @Test func mergeKeepsUnicodeEscapesNumbersAndEmptyContainers() async throws {
        let store = try standaloneStore()
        let now: UnixSeconds = 1_800_000_000
        let data: [String: JSONValue] = [
            "snow\u{2603}": ["nested \"quoted\" {key}": ["[": "]", "arr": [[], [:], [[:]]]]],
            "control": "tab\t nl\n nul\u{0} sep\u{2028}", "int": 9_223_372_036_854_775_807, "neg": -1.25e-7,
            "emoji": "👩‍💻",
        ]
        let session = try await store.create(data: data, now: now)
        let patch: JSONValue = [
            "snow\u{2603}": ["nested \"quoted\" {key}": ["new": "ü", "[": nil]], "emoji": nil, "added": [:],
        ]
        let patched = try #require(try await store.patch(session, with: patch, now: now))
        let expected = MergePatch.apply(patch, to: .object(data))
        #expect(JSONValue.object(patched.data) == expected)
        #expect(try await store.load(session.ticket, now: now).map { JSONValue.object($0.data) } == expected)
    }

    @Test func patchesSurviveAScriptCacheFlush() async throws {
        // A private server: flushing the shared one would disturb the round-trip counts.
        let server = try await PrivateRedis.start()
        let client = RedisClient(configuration: try RedisConfiguration(url: server.url))
        defer { Task { await client.close() } }
        let store = RedisSessionStore(executor: client, policy: Self.policy, random: SystemRandomBytes())
        let now: UnixSeconds = 1_800_000_000
        let session = try await store.create(data: ["user_id": "u-flush"], now: now)
        _ = try await client.send(["SCRIPT", "FLUSH"])
        #expect(try await store.patch(session, with: ["a": 1], now: now)?.data == ["user_id": "u-flush", "a": 1])
        _ = try await client.send(["SCRIPT", "FLUSH"])
        #expect(try await store.touch(session, now: now + 1) != nil)
        _ = try await client.send(["SCRIPT", "FLUSH"])
        _ = try await store.create(data: ["user_id": "u-flush"], now: now)  // pipelined scripts
        _ = try await client.send(["SCRIPT", "FLUSH"])
        #expect(try await store.revokeUser("u-flush", keeping: nil, now: now + 2) == 2)
    }

    /// An outage gives `StoreError`s (not hangs) and the store reconnects once Redis is back.
    /// The bounds here only catch a hang (well under the test's own timeout) and hold on a
    /// saturated machine; the "fails fast" promise itself (milliseconds while Redis is down) is
    /// measured by `scripts/e2e/faults.py`, not by a wall-clock assertion in a unit test.
    @Test func redisOutageFailsFastAndTheStoreRecovers() async throws {
        let server = try await PrivateRedis.start()
        let store = try RedisSessionStore(
            url: server.url, cluster: false, policy: Self.policy, random: SystemRandomBytes(), timeout: .seconds(1))
        defer { Task { await store.shutdown() } }
        let now: UnixSeconds = 1_800_000_000
        let session = try await store.create(data: ["user_id": "u-outage"], now: now)
        try await store.checkHealth()

        server.stop()
        for _ in 0..<10 {
            let started = ContinuousClock.now
            do {
                _ = try await store.load(session.ticket, now: now)
                Issue.record("load succeeded with Redis down")
            } catch {
                #expect(error.code == .unavailable || error.code == .timeout)
                #expect(!error.description.contains(session.handle))
            }
            #expect(ContinuousClock.now - started < .seconds(5), "a load with Redis down must fail, not hang")
        }
        await #expect(throws: StoreError.self) { try await store.checkHealth() }

        try await server.launch()  // empty: no persistence in tests
        let restarted = ContinuousClock.now
        var healthy = false
        while ContinuousClock.now - restarted < .seconds(15) {
            if (try? await store.checkHealth()) != nil {
                healthy = true
                break
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(healthy, "the store did not reconnect within 15 s of Redis coming back")
        let fresh = try await store.create(data: ["user_id": "u-outage"], now: now)
        #expect(try await store.load(fresh.ticket, now: now) != nil)
    }

    /// A session hash the store did not write (another program, a hand edit) is an error, never
    /// "no session": data that is not a JSON object is `.corrupt`; times that are not Unix
    /// seconds in 1970...9999 (the proxy subtracts them from its clock) are a `.protocolError`.
    @Test func foreignSessionHashesAreErrorsNotMissingSessions() async throws {
        let (store, _, client) = try countingStore()
        let now: UnixSeconds = 1_800_000_000
        for (field, value, code) in [
            ("d", "not json", StoreError.Code.corrupt), ("d", "[1,2]", .corrupt),
            ("l", String(Int64.min), .protocolError), ("i", "soon", .protocolError), ("s", "-1", .protocolError),
        ] {
            let session = try await store.create(data: ["user_id": "u-foreign"], now: now)
            let key = store.keyPrefix + "{" + SessionID(bytes: session.ticket.bytes)!.storeKey + "}"
            _ = try await client.send(["HSET", RESPArgument(key), RESPArgument(field), RESPArgument(value)])
            do {
                let loaded = try await store.load(session.ticket, now: now)
                Issue.record("\(field)=\(value) loaded as \(loaded == nil ? "no session" : "a session")")
            } catch {
                #expect(error.code == code, "\(field)=\(value): \(error)")
            }
        }
    }

    @Test func oversizedDataIsRefused() async throws {
        let (store, _, client) = try countingStore()
        let small = RedisSessionStore(
            executor: client, policy: Self.policy, random: SystemRandomBytes(), keyPrefix: store.keyPrefix,
            maxDataBytes: 64)
        let now: UnixSeconds = 1_800_000_000
        await #expect(throws: StoreError.self) {
            try await small.create(data: ["big": .string(String(repeating: "x", count: 100))], now: now)
        }
        let session = try await small.create(data: ["a": 1], now: now)
        do {
            _ = try await small.patch(session, with: ["big": .string(String(repeating: "y", count: 100))], now: now)
            Issue.record("oversized patch accepted")
        } catch {
            #expect(error.code == .tooLarge)
        }
        #expect(try await small.load(session.ticket, now: now)?.data == ["a": 1])
    }
}
