import Logging
import ServiceLifecycle
import SessionGateCore

/// Everything a Postgres store needs running, as one `Service` for the service group: the
/// client's connection pool, the schema migration (retried with backoff while the database is
/// unreachable, so the proxy starts without it and recovers by itself), then the sweeper.
///
/// Put it before the listener in the `ServiceGroup`: groups stop services in reverse order, so
/// the pool outlives the drain of in-flight requests. The event loops' own connections (the
/// data plane's loads, see `PostgresLoopConnections`) are closed when it stops.
public struct PostgresStoreService: Service {
    let store: PostgresSessionStore
    let sweeper: SessionSweeper
    let logger: Logger
    let startup: StoreStartup?

    /// - Parameters:
    ///   - sweepInterval: pause between sweeps; `batchSize` rows are deleted per statement.
    public init(
        store: PostgresSessionStore, clock: any WallClock, sweepInterval: Duration = .seconds(60),
        batchSize: Int = 500, logger: Logger = Logger(label: "sessiongate.store.postgres"),
        startup: StoreStartup? = nil
    ) {
        self.store = store
        self.startup = startup
        self.logger = logger
        self.sweeper = SessionSweeper(
            interval: sweepInterval, batchSize: batchSize, clock: clock, logger: logger
        ) { now, limit in
            try await abandoningOnCancel { try await store.sweepExpired(now: now, limit: limit) }
        }
    }

    public func run() async throws {
        if let url = store.url {
            let source = url.sslModeIsDefault ? "default for this host; set sslmode in the url to choose" : "from the url"
            logger.info("postgres store", metadata: ["url": "\(url)", "sslmode": "\(url.sslMode.rawValue) (\(source))"])
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await store.client.run() }
            group.addTask {
                // The pool retries a failing connection for a long time before the migration
                // fails, so the reason (a TLS problem, say) is looked up at once.
                // A failed first attempt opens the listener at once, as a failed migration does.
                if await logConnectionProblem() { startup?.markStarted() }
                guard await migrateUntilDone() else { return }
                try? await sweeper.run()
            }
        }
        await store.closeLoopConnections()
    }

    /// The pool only times out; one direct attempt says why (TLS, refusal, password). True
    /// when it failed.
    private func logConnectionProblem() async -> Bool {
        guard let url = store.url, let reason = await PostgresConnectionProbe.failure(url: url, logger: logger) else { return false }
        logger.error("postgres connection failed", metadata: ["reason": "\(reason)"])
        return true
    }

    /// False when shutdown came first. `startup` is marked after the first attempt, either way.
    private func migrateUntilDone() async -> Bool {
        var pause = Duration.milliseconds(250)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // The pool can hold a migration for a minute while connections fail (a TLS
                // error, say); shutdown must not wait for it, nor a cancelled run() for a
                // migration the stopped pool never answers.
                try await cancelWhenGracefulShutdown { _ = try await abandoningOnCancel { try await store.migrate() } }
                startup?.markStarted()
                return true
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return false }
                // Down at start: open anyway (public routes serve, session routes say 503).
                startup?.markStarted()
                logger.warning("postgres migration failed; retrying", metadata: ["error": "\(error)", "retry_in": "\(pause)"])
                _ = await logConnectionProblem()
            }
            do {
                try await cancelWhenGracefulShutdown { [pause] in try await Task.sleep(for: pause) }
            } catch {
                return false
            }
            pause = min(pause * 2, .seconds(30))
        }
        return false
    }
}
