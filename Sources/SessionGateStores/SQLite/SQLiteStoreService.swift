import Logging
import ServiceLifecycle
import SessionGateCore

/// The SQLite store's background work as a `Service`: the expiry sweeper, then closing the
/// file when the service group shuts down. Put it before the listener in the `ServiceGroup`.
public struct SQLiteStoreService: Service {
    let store: SQLiteSessionStore
    let sweeper: SessionSweeper

    /// - Parameters:
    ///   - sweepInterval: pause between sweeps; `batchSize` rows are deleted per statement.
    public init(
        store: SQLiteSessionStore, clock: any WallClock, sweepInterval: Duration = .seconds(60),
        batchSize: Int = 500, logger: Logger = Logger(label: "sessiongate.store.sqlite")
    ) {
        self.store = store
        self.sweeper = SessionSweeper(
            interval: sweepInterval, batchSize: batchSize, clock: clock, logger: logger
        ) { now, limit in
            try await store.sweepExpired(now: now, limit: limit)
        }
    }

    public func run() async throws {
        try? await sweeper.run()
        await store.close()
    }
}
