import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import SessionGateCore
import Synchronization

/// One SQLite connection with a thread of its own.
///
/// SQLite calls block their thread, and a statement waiting on another connection's write lock
/// (busy timeout) blocks it for up to `busyTimeoutMilliseconds`. Sharing a small thread pool
/// would let waiters starve the connection holding the lock; one thread per connection cannot.
final class SQLiteHandle: Sendable {
    /// How long a statement waits for another connection's write lock before failing.
    static let busyTimeoutMilliseconds = 5000

    let connection: SQLiteConnection
    private let threadPool: NIOThreadPool
    private let closed = Atomic<Bool>(false)

    private init(connection: SQLiteConnection, threadPool: NIOThreadPool) {
        self.connection = connection
        self.threadPool = threadPool
    }

    /// Opens `path` (creating it), with the busy timeout and WAL mode.
    static func open(path: String, logger: Logger) async throws(StoreError) -> SQLiteHandle {
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: threadPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw SQLiteSessionStore.storeError(error, "open")
        }
        let handle = SQLiteHandle(connection: connection, threadPool: threadPool)
        // busy_timeout replaces sqlite-nio's default busy handler, which retries forever.
        for pragma in ["busy_timeout = \(busyTimeoutMilliseconds)", "journal_mode = WAL", "synchronous = NORMAL"] {
            do {
                try await configure(connection, "PRAGMA \(pragma)")
            } catch {
                await handle.close()
                throw SQLiteSessionStore.storeError(error, "configure (\(pragma))")
            }
        }
        return handle
    }

    /// Runs one configuration pragma, retrying while the file is busy, for up to the busy timeout.
    ///
    /// Switching a new file to WAL needs its exclusive lock, and SQLite answers `SQLITE_BUSY`
    /// without calling the busy handler when waiting could deadlock (two connections that both
    /// read the header and now both want the lock, as processes opening one new file at once do).
    /// The pragmas are idempotent, so trying again once the other connection is done is safe.
    private static func configure(_ connection: SQLiteConnection, _ sql: String) async throws {
        let deadline = ContinuousClock.now + .milliseconds(busyTimeoutMilliseconds)
        var pause = Duration.milliseconds(1)
        while true {
            do {
                _ = try await connection.query(sql)
                return
            } catch let error as SQLiteError where error.reason == .busy || error.reason == .locked {
                guard ContinuousClock.now + pause < deadline else { throw error }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(50))
            }
        }
    }

    /// Runs one statement; fails with `.unavailable` once closed.
    func query(_ what: String, _ sql: String, _ binds: [SQLiteData] = []) async throws(StoreError) -> [SQLiteRow] {
        guard !closed.load(ordering: .acquiring) else { throw StoreError(.unavailable, "\(what): store is closed") }
        do {
            return try await connection.query(sql, binds)
        } catch {
            throw SQLiteSessionStore.storeError(error, what)
        }
    }

    /// Whether `close()` was called.
    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// `query` without a Task: the rows arrive on the connection's event loop. Nil once closed.
    func queryFuture(_ sql: String, _ binds: [SQLiteData]) -> EventLoopFuture<[SQLiteRow]>? {
        guard !closed.load(ordering: .acquiring) else { return nil }
        return connection.query(sql, binds)
    }

    /// Closes the connection and stops its thread (idempotent). Runs to completion even when
    /// the calling task is cancelled (as at service-group shutdown).
    func close() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await Self.shutDown(connection, threadPool).value
    }

    deinit {
        // A store dropped without close(): close in the background (the task keeps both alive).
        if !closed.load(ordering: .acquiring) { _ = Self.shutDown(connection, threadPool) }
    }

    private static func shutDown(_ connection: SQLiteConnection, _ threadPool: NIOThreadPool) -> Task<Void, Never> {
        Task {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
        }
    }
}
