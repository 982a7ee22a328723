import Foundation
import SessionGateCore
import SessionGateStores
import Testing

@Test func tmpOutageRecovery() async throws {
    guard let ctl = ProcessInfo.processInfo.environment["TMP_PG_CTL"] else { return }
    @Sendable func control(_ verb: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ctl)
        process.arguments = [verb]
        try process.run()
        process.waitUntilExit()
    }
    try await PostgresTestDatabase.withFreshSchema { database in
        try await database.withStore(timeout: .seconds(1)) { store in
            let session = try await store.create(data: ["a": 1], now: 1000)
            try control("stop")
            let start = ContinuousClock.now
            await #expect(throws: StoreError.self) { _ = try await store.load(session.ticket, now: 1001) }
            print("OUTAGE failed after", ContinuousClock.now - start)
            try control("start")
            print("OUTAGE started")
            let back = ContinuousClock.now
            var loaded: StoredSession? = nil
            while loaded == nil, ContinuousClock.now - back < .seconds(20) {
                loaded = try? await store.load(session.ticket, now: 1001)
                if loaded == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            print("OUTAGE recovered after", ContinuousClock.now - back)
            #expect(loaded != nil)
        }
        print("OUTAGE store closed")
    }
}
