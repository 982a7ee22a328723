import Foundation
import RedisWire
import RedisWireTestSupport
import SessionGateCore
import SessionGateStores
import Testing

/// Every reply of the Redis store is checked against the shape its command or script documents:
/// against a server that answers with anything else, each operation throws
/// `StoreError(.protocolError)` — never "no session", never a reported success, never a trap.
/// The one legitimate nil is a script's documented "session gone" (patch, rotate, touch,
/// lifetime; destroy of a missing session succeeds).
@Suite struct MalformedRedisReplyTests {
    static let policy = SessionPolicy(idleTimeout: 1800, absoluteTimeout: 7 * 86400, userKey: "user_id")
    static let now = WrongShape.now

    enum Setup: String, CaseIterable, CustomTestStringConvertible {
        case standalone, standaloneRESP2, cluster
        var testDescription: String { rawValue }
    }

    enum Operation: String, CaseIterable {
        case load, callbackLoad, create, createWithUser, patch, patchChangingUser, rotate, destroy, touch
        case setLifetime, revokeUser, listSessions, revokeHandle, checkHealth

        /// True when a null reply is this operation's documented "session gone" (for revoking by
        /// handle: no mapping for that handle).
        var nullMeansGone: Bool {
            switch self {
            case .patch, .patchChangingUser, .rotate, .destroy, .touch, .setLifetime, .revokeHandle: true
            default: false
            }
        }
    }

    /// A session the store believes it holds (its key is on the fake server, whatever it says).
    static let session = StoredSession(
        ticket: SessionTicket([UInt8](repeating: 5, count: SessionID.byteCount)),
        handle: SessionID(bytes: [UInt8](repeating: 5, count: SessionID.byteCount))!.handle,
        data: ["user_id": "u1"], times: policy.newTimes(now: now))

    private func makeStore(_ server: FakeRESPServer, setup: Setup) throws -> RedisSessionStore {
        if setup == .cluster { server.actAsSingleNodeCluster() }
        // The fake answers at once; the long timeout keeps a loaded machine from turning a
        // protocol error into a timeout.
        return try RedisSessionStore(
            url: server.url, cluster: setup == .cluster, policy: Self.policy, random: SystemRandomBytes(),
            timeout: .seconds(20), poolSize: 1)
    }

    /// Runs `operation`; its result as text ("nil", "session", "ok", a count).
    private func run(_ operation: Operation, on store: RedisSessionStore) async throws(StoreError) -> String {
        let session = Self.session
        let now = Self.now
        switch operation {
        case .load:
            return try await store.load(session.ticket, now: now) == nil ? "nil" : "session"
        case .callbackLoad:
            let result: Result<StoredSession?, StoreError> = await withCheckedContinuation { continuation in
                let started = store.load(session.ticket, now: now) { continuation.resume(returning: $0) }
                if !started { continuation.resume(returning: .failure(StoreError(.unavailable, "callback load declined"))) }
            }
            return try result.get() == nil ? "nil" : "session"
        case .create:
            _ = try await store.create(data: ["a": 1], now: now)
            return "created"
        case .createWithUser:
            _ = try await store.create(data: ["user_id": "u1"], now: now)
            return "created"
        case .patch:
            return try await store.patch(session, with: ["a": 1], now: now) == nil ? "nil" : "session"
        case .patchChangingUser:
            return try await store.patch(session, with: ["user_id": "u2"], now: now) == nil ? "nil" : "session"
        case .rotate:
            return try await store.rotate(session, now: now) == nil ? "nil" : "session"
        case .destroy:
            try await store.destroy(session)
            return "ok"
        case .touch:
            return try await store.touch(session, now: now) == nil ? "nil" : "session"
        case .setLifetime:
            return try await store.setLifetime(session, seconds: 60, now: now) == nil ? "nil" : "session"
        case .revokeUser:
            let count = try await store.revokeUser("u1", keeping: nil, now: now)
            return "revoked \(count)"
        case .listSessions:
            return "listed \(try await store.listSessions(ofUser: "u1", now: now).count)"
        case .revokeHandle:
            return try await store.revoke(handle: session.handle, ofUser: nil, now: now) ? "revoked" : "nil"
        case .checkHealth:
            try await store.checkHealth()
            return "ok"
        }
    }

    @Test(arguments: WrongShape.allCases, Setup.allCases)
    func everyOperationRefusesTheShape(shape: WrongShape, setup: Setup) async throws {
        let server = try await FakeRESPServer.start(fallback: shape.reply, resp3: setup != .standaloneRESP2)
        let store = try makeStore(server, setup: setup)
        defer {
            Task {
                await store.shutdown()
                await server.stop()
            }
        }
        try await store.checkHealth()  // connects (PING answers PONG), so the callback load has a connection
        for operation in Operation.allCases {
            if operation == .callbackLoad, setup == .cluster { continue }  // clusters load through `load`
            if operation == .checkHealth { server.answer("PING", with: shape.reply) }
            do {
                let result = try await run(operation, on: store)
                if shape == .null, operation.nullMeansGone {
                    #expect(result == (operation == .destroy ? "ok" : "nil"), "\(operation) on a null reply")
                } else {
                    Issue.record("\(operation) took a \(shape) reply for an answer: \(result)")
                }
            } catch {
                #expect(error.code == .protocolError, "\(operation) on a \(shape) reply: \(error)")
            }
        }
    }

    /// The patch script answers the session fields and the user before the patch: the fields
    /// alone (a server that dropped the last) once trapped on `reply.array?[7]` when the user
    /// changed. The touch script likewise answers the fields and a flag.
    @Test func patchReplyWithoutThePreviousUserIsAnErrorNotATrap() async throws {
        let server = try await FakeRESPServer.start(fallback: .array(WrongShape.sessionFields))
        let store = try makeStore(server, setup: .standalone)
        defer {
            Task {
                await store.shutdown()
                await server.stop()
            }
        }
        for operation in [Operation.patch, .patchChangingUser] {
            do {
                let result = try await run(operation, on: store)
                Issue.record("\(operation) took the bare fields for an answer: \(result)")
            } catch {
                #expect(error.code == .protocolError, "\(operation): \(error)")
            }
        }
        // The fields are the right answer to the read scripts and HMGET.
        #expect(try await run(.load, on: store) == "session")
        // … but not to a touch, nor to the write that follows a rotation's take, nor to a create.
        for operation in [Operation.touch, .rotate, .create, .setLifetime] {
            await #expect(throws: StoreError.self) { _ = try await run(operation, on: store) }
        }
    }

    /// A script that loses its cache (`NOSCRIPT`) is re-sent with `EVAL`; that reply is checked too.
    @Test func evalFallbackRepliesAreCheckedToo() async throws {
        let server = try await FakeRESPServer.start(fallback: WrongShape.integer.reply)
        server.answer("EVALSHA", with: .error("NOSCRIPT No matching script. Please use EVAL."))
        let store = try makeStore(server, setup: .standalone)
        defer {
            Task {
                await store.shutdown()
                await server.stop()
            }
        }
        for operation in [Operation.create, .patch, .rotate, .touch, .destroy, .revokeUser] {
            do {
                let result = try await run(operation, on: store)
                Issue.record("\(operation) took an integer reply to EVAL for an answer: \(result)")
            } catch {
                #expect(error.code == .protocolError, "\(operation): \(error)")
            }
        }
        #expect(server.received.contains("EVAL"))
    }

    /// A handshake reply of the wrong shape fails the connection as a protocol error. (`AUTH`
    /// is sent on its own only when `HELLO` is refused: a RESP2 server.)
    @Test(arguments: ["HELLO", "AUTH", "SELECT"])
    func handshakeReplyOfTheWrongShapeIsAnError(command: String) async throws {
        let server = try await FakeRESPServer.start(fallback: .simpleString("PONG"), resp3: command != "AUTH")
        server.answer(command, with: .integer(1))
        let store = try RedisSessionStore(
            url: "redis://:not-a-secret@127.0.0.1:\(server.port)/3", cluster: false, policy: Self.policy,
            random: SystemRandomBytes(), timeout: .seconds(20))
        defer {
            Task {
                await store.shutdown()
                await server.stop()
            }
        }
        do {
            try await store.checkHealth()
            Issue.record("connected although \(command) answered an integer")
        } catch {
            #expect(error.code == .protocolError, "\(error)")
        }
    }
}
