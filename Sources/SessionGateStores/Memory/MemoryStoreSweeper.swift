import ServiceLifecycle
import SessionGateCore

/// Reclaims expired memory-store entries every `interval` until the service group shuts down.
public struct MemoryStoreSweeper: Service {
    let store: MemorySessionStore
    let clock: any WallClock
    let interval: Duration

    public init(store: MemorySessionStore, clock: any WallClock, interval: Duration = .seconds(30)) {
        self.store = store
        self.clock = clock
        self.interval = interval
    }

    public func run() async throws {
        // Sleeping is cancelled by graceful shutdown, so SIGTERM never waits for a sweep interval.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            store.sweep(now: clock.now())
        }
    }
}
