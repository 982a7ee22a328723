import NIOCore
import NIOPosix
import PostgresNIO
import SessionGateCore
import SessionGateStores
import Synchronization
import Testing

/// The callback load on an event loop's own connection, against the real PostgreSQL
/// (`SESSIONGATE_TEST_POSTGRES_URL`, started by scripts/lib/postgres.sh).
@Suite struct PostgresCallbackLoadTests {
    @Test func findsLiveSessionsOnTheCallersLoop() async throws {
        try await withLoopStore { store, group, _ in
            let session = try await store.create(data: ["user_id": "loop"], now: 1000)
            let loop = group.next()
            let found = try await loadStarted(store, session.ticket, now: 1001, on: loop)
            #expect(found.onCallersLoop)
            #expect(try found.result.get() == session)
            let unknown = try await loadStarted(store, unknownTicket(), now: 1001, on: loop)
            #expect(try unknown.result.get() == nil)
            let expired = try await loadStarted(store, session.ticket, now: 1000 + StoreConformance.policy.idleTimeout, on: loop)
            #expect(try expired.result.get() == nil)
            // A second loop gets a connection of its own and answers on its own thread.
            let other = group.next()
            #expect(other !== loop)
            let there = try await loadStarted(store, session.ticket, now: 1001, on: other)
            #expect(there.onCallersLoop)
            #expect(try there.result.get()?.handle == session.handle)
            #expect(store.openLoopConnectionCount == 2)
        }
    }

    /// The loads a loop starts in one round go out as one query: distinct sessions, the same one
    /// twice, an unknown and an expired one each get their own answer; a round with more loads
    /// than one query takes, or loads at another clock, sends more queries.
    @Test func oneRoundsLoadsGoOutAsOneQuery() async throws {
        try await withLoopStore { store, group, _ in
            let idle = StoreConformance.policy.idleTimeout
            let old = try await store.create(data: ["user_id": "old"], now: 1000)
            let first = try await store.create(data: ["user_id": "first"], now: 1000 + idle)
            let second = try await store.create(data: ["user_id": "second"], now: 1000 + idle)
            let now = 1000 + idle + 1
            let loop = group.next()
            _ = try await loadStarted(store, first.ticket, now: now, on: loop)
            let before = store.loopQueryCount
            let tickets = [first.ticket, second.ticket, first.ticket, unknownTicket(), old.ticket]
            let answers = await round(store, tickets.map { ($0, now) }, on: loop)
            #expect(answers.count == tickets.count)
            #expect(answers.allSatisfy { $0?.onCallersLoop == true })
            let loaded = try answers.map { try $0?.result.get() }
            #expect(loaded[0] == first)
            #expect(loaded[1] == second)
            #expect(loaded[2] == first)
            #expect(loaded[3] == nil, "unknown session")
            #expect(loaded[4] == nil, "expired session")
            #expect(store.loopQueryCount == before + 1, "one round's loads went out in \(store.loopQueryCount - before) queries")

            let many = Array(repeating: (second.ticket, now), count: PostgresSessionStore.loadsPerQuery + 1)
            let split = await round(store, many + [(old.ticket, 1001)], on: loop)
            #expect(
                try split.allSatisfy { answer in
                    guard let answer else { return false }
                    return try answer.result.get() == (answer.index < many.count ? second : old)
                })
            #expect(store.loopQueryCount == before + 4, "a full query and a second clock did not split the round")
        }
    }

    /// Loads that find the loop's connections busy start another one (never more than the per-loop
    /// bound); each connection runs the prepared load, and every answer is right.
    @Test func busyLoopsOpenMoreConnectionsUpToTheBound() async throws {
        try await withLoopStore { store, group, _ in
            let session = try await store.create(data: ["user_id": "busy"], now: 1000)
            let loop = group.next()
            _ = try await loadStarted(store, session.ticket, now: 1001, on: loop)
            let deadline = ContinuousClock.now + .seconds(20)
            var answered = 0
            while store.openLoopConnectionCount < 3, ContinuousClock.now < deadline {
                // Loads for three queries started in one go: every connection gets several, so all
                // are busy.
                let answers = await burst(store, session.ticket, count: 3 * PostgresSessionStore.loadsPerQuery, on: loop)
                for answer in answers {
                    #expect(answer.onCallersLoop)
                    #expect(try answer.result.get() == session)
                }
                answered += answers.count
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(store.openLoopConnectionCount >= 3, "busy loads did not open more connections (\(answered) answered)")
            #expect(store.openLoopConnectionCount <= 8)
        }
    }

    @Test func answersFalseWhereItCannotRun() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withClient { client in
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                let unmigrated = PostgresSessionStore(
                    client: client, loopConnection: try database.loopConfiguration, policy: StoreConformance.policy)
                let ticket = unknownTicket()
                #expect(
                    try await group.next().submit { unmigrated.load(ticket, now: 1000, completion: { _ in }) }.get() == false,
                    "before migrate()")
                try await unmigrated.migrate()
                // Not on an event loop (a Task of the test).
                #expect(unmigrated.load(ticket, now: 1000, completion: { _ in Issue.record("completion after false") }) == false)
                let withoutConfiguration = PostgresSessionStore(client: client, policy: StoreConformance.policy)
                try await withoutConfiguration.migrate()
                #expect(try await group.next().submit { withoutConfiguration.load(ticket, now: 1000, completion: { _ in }) }.get() == false)
                // Closed: false, and no connection is made again.
                _ = try await loadStarted(unmigrated, ticket, now: 1000, on: group.next())
                await unmigrated.closeLoopConnections()
                #expect(unmigrated.openLoopConnectionCount == 0)
                #expect(try await group.next().submit { unmigrated.load(ticket, now: 1000, completion: { _ in }) }.get() == false)
                try await group.shutdownGracefully()
            }
        }
    }

    @Test func recoversAfterTheConnectionIsKilled() async throws {
        try await withLoopStore { store, group, database in
            let session = try await store.create(data: ["user_id": "killed"], now: 1000)
            let loop = group.next()
            #expect(try await loadStarted(store, session.ticket, now: 1001, on: loop).result.get() == session)
            let killed = try await store.client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                        WHERE application_name = '\(database.loopApplicationName)'
                        """)
            ).collect()
            #expect(killed.count >= 1, "no loop connection to terminate")
            // Until the store notices: false (reconnecting) or a failure; then the session again.
            let deadline = ContinuousClock.now + .seconds(10)
            var recovered: StoredSession?
            while recovered == nil, ContinuousClock.now < deadline {
                if let answer = await callbackLoad(store, session.ticket, now: 1001, on: loop) {
                    switch answer.result {
                    case .success(let loaded): recovered = loaded
                    case .failure(let error):
                        #expect(error.code == .unavailable || error.code == .protocolError, "\(error)")
                        #expect(!"\(error)".contains(SessionID(bytes: session.ticket.bytes)!.storeKey))
                    }
                } else {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            #expect(recovered == session, "the callback load did not recover after its connection was killed")
        }
    }

    @Test func storeServiceClosesTheLoopConnections() async throws {
        try await PostgresTestDatabase.withFreshSchema { database in
            let client = PostgresClient(configuration: try database.configuration)
            let store = PostgresSessionStore(
                client: client, loopConnection: try database.loopConfiguration, policy: StoreConformance.policy)
            let startup = StoreStartup()
            let service = PostgresStoreService(store: store, clock: ManualClock(1000), startup: startup)
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await service.run() }
                await startup.wait()  // migrated by the service
                let session = try await store.create(data: [:], now: 1000)
                #expect(try await loadStarted(store, session.ticket, now: 1001, on: group.next()).result.get() == session)
                #expect(store.openLoopConnectionCount == 1)
                tasks.cancelAll()
                try await tasks.waitForAll()
            }
            #expect(store.openLoopConnectionCount == 0)
            #expect(try await group.next().submit { store.load(unknownTicket(), now: 1000, completion: { _ in }) }.get() == false)
            try await group.shutdownGracefully()
        }
    }

    // MARK: Helpers

    typealias Answer = (result: Result<StoredSession?, StoreError>, onCallersLoop: Bool)

    /// Runs the callback load on `loop`; nil when it answered false.
    private func callbackLoad(_ store: PostgresSessionStore, _ ticket: SessionTicket, now: UnixSeconds, on loop: any EventLoop)
        async -> Answer?
    {
        await withCheckedContinuation { continuation in
            loop.execute {
                let started = store.load(ticket, now: now) { result in
                    continuation.resume(returning: (result, loop.inEventLoop))
                }
                if !started { continuation.resume(returning: nil) }
            }
        }
    }

    /// `count` callback loads started together on `loop`; the answers of those that started.
    private func burst(_ store: PostgresSessionStore, _ ticket: SessionTicket, count: Int, on loop: any EventLoop) async
        -> [Answer]
    {
        await withCheckedContinuation { continuation in
            loop.execute {
                // pending counts started loads not yet answered, plus one until all are started.
                let state = Mutex((answers: [Answer](), pending: 1))
                @Sendable func settle(_ answer: Answer?) {
                    let done = state.withLock { state -> [Answer]? in
                        if let answer { state.answers.append(answer) }
                        state.pending -= 1
                        return state.pending == 0 ? state.answers : nil
                    }
                    if let done { continuation.resume(returning: done) }
                }
                for _ in 0..<count {
                    state.withLock { $0.pending += 1 }
                    let started = store.load(ticket, now: 1001) { result in settle((result, loop.inEventLoop)) }
                    if !started { settle(nil) }
                }
                settle(nil)
            }
        }
    }

    /// Loads of `tickets` (each at its clock) started in one round of `loop`; each answer in
    /// order (nil: that load answered false), with its index.
    private func round(_ store: PostgresSessionStore, _ tickets: [(SessionTicket, UnixSeconds)], on loop: any EventLoop)
        async -> [(result: Result<StoredSession?, StoreError>, onCallersLoop: Bool, index: Int)?]
    {
        typealias Indexed = (result: Result<StoredSession?, StoreError>, onCallersLoop: Bool, index: Int)
        return await withCheckedContinuation { continuation in
            loop.execute {
                let state = Mutex((answers: [Indexed?](repeating: nil, count: tickets.count), pending: tickets.count + 1))
                @Sendable func settle(_ index: Int?, _ answer: Indexed?) {
                    let done = state.withLock { state -> [Indexed?]? in
                        if let index { state.answers[index] = answer }
                        state.pending -= 1
                        return state.pending == 0 ? state.answers : nil
                    }
                    if let done { continuation.resume(returning: done) }
                }
                for (index, (ticket, now)) in tickets.enumerated() {
                    let started = store.load(ticket, now: now) { result in
                        settle(index, (result, loop.inEventLoop, index))
                    }
                    if !started { settle(index, nil) }
                }
                settle(nil, nil)
            }
        }
    }

    /// The callback load on `loop`, once the loop's connection is up (polled, bounded).
    private func loadStarted(_ store: PostgresSessionStore, _ ticket: SessionTicket, now: UnixSeconds, on loop: any EventLoop)
        async throws -> Answer
    {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let answer = await callbackLoad(store, ticket, now: now, on: loop) { return answer }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the callback load never started on the loop")
        throw StoreError(.timeout, "callback load never started")
    }

    /// A migrated store with event-loop connections on a fresh schema, and two event loops;
    /// both closed afterwards.
    private func withLoopStore(
        _ body: @Sendable (PostgresSessionStore, MultiThreadedEventLoopGroup, PostgresTestDatabase) async throws -> Void
    )
        async throws
    {
        try await PostgresTestDatabase.withFreshSchema { database in
            try await database.withClient { client in
                let store = PostgresSessionStore(
                    client: client, loopConnection: try database.loopConfiguration, policy: StoreConformance.policy,
                    timeout: .seconds(5))
                try await store.migrate()
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
                do {
                    try await body(store, group, database)
                } catch {
                    await store.closeLoopConnections()
                    try await group.shutdownGracefully()
                    throw error
                }
                await store.closeLoopConnections()
                try await group.shutdownGracefully()
            }
        }
    }
}

private func unknownTicket() -> SessionTicket { SessionTicket(SystemRandomBytes().bytes(SessionID.byteCount)) }

extension PostgresTestDatabase {
    /// The `application_name` of this test's event-loop connections (so it can find and kill them).
    var loopApplicationName: String { "sessiongate_loop_\(schema)" }

    /// Event-loop connection settings on this test's schema.
    var loopConfiguration: PostgresConnection.Configuration {
        get throws {
            var configuration = try url.connectionConfiguration()
            configuration.options.additionalStartupParameters = [
                ("search_path", schema), ("application_name", loopApplicationName),
            ]
            return configuration
        }
    }
}
