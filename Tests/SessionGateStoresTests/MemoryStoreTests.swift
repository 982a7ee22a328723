import SessionGateCore
import SessionGateStores
import Testing

@Suite struct MemoryStoreTests {
    @Test func conformance() async throws {
        try await StoreConformance(name: "memory") { policy in
            MemorySessionStore(policy: policy, random: SystemRandomBytes())
        }.runAll()
    }

    @Test func sweepReclaimsOnlyExpired() async throws {
        let policy = SessionPolicy(idleTimeout: 60, absoluteTimeout: 600, userKey: "user_id")
        let store = MemorySessionStore(policy: policy, random: SystemRandomBytes())
        _ = try await store.create(data: [:], now: 1000)
        let fresh = try await store.create(data: ["user_id": "u"], now: 1050)
        #expect(store.sweep(now: 1065) == 1)
        #expect(store.count == 1)
        #expect(try await store.load(fresh.ticket, now: 1065) != nil)
        #expect(try await store.revokeUser("u", keeping: nil, now: 1065) == 1)
    }
}
