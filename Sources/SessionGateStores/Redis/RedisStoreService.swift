import Logging
import ServiceLifecycle
import SessionGateCore

/// Keeps a `RedisSessionStore`'s connections for the life of the service group and closes them
/// on shutdown. The client connects lazily and reconnects by itself, so the proxy starts (and
/// serves public routes) while Redis is down. Put it before the listener in the `ServiceGroup`,
/// so the connections outlive the drain of in-flight requests.
public struct RedisStoreService: Service {
    let store: RedisSessionStore
    let startup: StoreStartup?

    /// `startup` is marked once the first connection attempt has finished (either way).
    public init(store: RedisSessionStore, startup: StoreStartup? = nil) {
        self.store = store
        self.startup = startup
    }

    public func run() async throws {
        // Warm one connection up front; failures are fine (requests retry and /readyz reports).
        try? await store.checkHealth()
        startup?.markStarted()
        try? await gracefulShutdown()
        await store.shutdown()
    }
}
