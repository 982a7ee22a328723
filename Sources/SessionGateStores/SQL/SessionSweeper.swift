import Logging
import ServiceLifecycle
import SessionGateCore

/// Deletes expired sessions in bounded batches every `interval`, until graceful shutdown.
///
/// Loads never return expired rows, so the sweeper only reclaims space; a failed sweep is
/// logged and retried at the next tick.
public struct SessionSweeper: Service {
    /// Deletes at most `limit` sessions expired at `now`; returns how many it deleted.
    public typealias Sweep = @Sendable (_ now: UnixSeconds, _ limit: Int) async throws -> Int

    let interval: Duration
    let batchSize: Int
    let maxBatchesPerTick: Int
    let clock: any WallClock
    let logger: Logger
    let sweep: Sweep

    /// - Parameters:
    ///   - interval: pause between sweeps.
    ///   - batchSize: rows deleted per statement (keeps each transaction short).
    ///   - maxBatchesPerTick: batches per tick at most, so one tick never runs unbounded.
    public init(
        interval: Duration = .seconds(60), batchSize: Int = 500, maxBatchesPerTick: Int = 100,
        clock: any WallClock, logger: Logger = Logger(label: "sessiongate.sweeper"), sweep: @escaping Sweep
    ) {
        self.interval = interval
        self.batchSize = max(1, batchSize)
        self.maxBatchesPerTick = max(1, maxBatchesPerTick)
        self.clock = clock
        self.logger = logger
        self.sweep = sweep
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            guard !Task.isShuttingDownGracefully else { return }
            await sweepOnce()
        }
    }

    /// One tick: batches until a batch comes back short or the tick's budget is spent.
    /// Returns the number of sessions deleted.
    @discardableResult
    public func sweepOnce() async -> Int {
        var total = 0
        for _ in 0..<maxBatchesPerTick {
            do {
                let deleted = try await sweep(clock.now(), batchSize)
                total += deleted
                if deleted < batchSize { break }
            } catch {
                logger.warning("session sweep failed", metadata: ["error": "\(error)"])
                break
            }
        }
        if total > 0 { logger.debug("swept expired sessions", metadata: ["count": "\(total)"]) }
        return total
    }
}
