import NIOCore
import Testing

@testable import RedisWire

@Suite struct RedisConnectionTests {
    @Test func negotiatesRESP3AndRoundTripsValues() async throws {
        let connection = try await RedisConnection.connect(configuration: try TestServers.standalone())
        defer { Task { await connection.close() } }
        #expect(connection.protocolVersion == 3)
        let key = TestServers.uniqueKey("conn")
        #expect(try await connection.send(["SET", RESPArgument(key), "v\u{e9}\r\n", "EX", 60]) == .simpleString("OK"))
        #expect(try await connection.send(["GET", RESPArgument(key)]).string == "v\u{e9}\r\n")
        #expect(try await connection.send(["GET", RESPArgument(key + ":missing")]) == .null)
        // RESP3-only reply types come through as such.
        #expect(try await connection.send(["HSET", RESPArgument(key + ":h"), "f", "1"]) == .integer(1))
        guard case .map(let entries) = try await connection.send(["HGETALL", RESPArgument(key + ":h")]) else {
            Issue.record("HGETALL did not return a RESP3 map")
            return
        }
        #expect(entries == [RESPMapEntry(key: .bulkString(.init(string: "f")), value: .bulkString(.init(string: "1")))])
        _ = try await connection.send(["DEL", RESPArgument(key), RESPArgument(key + ":h")])
    }

    /// `send(_:completion:)` from another thread and from the connection's own loop: the reply (an
    /// error reply as `.server`) comes back once, on the loop; on a closed connection, a failure.
    @Test func callbackSendsFromAnyThreadCompleteOnTheLoop() async throws {
        let connection = try await RedisConnection.connect(configuration: try TestServers.standalone())
        let loop = connection.eventLoop
        func send(_ command: [RESPArgument], fromLoop: Bool) async -> (Result<RESPValue, RedisError>, Bool) {
            await withCheckedContinuation { continuation in
                let start: @Sendable () -> Void = {
                    connection.send(command) { result in continuation.resume(returning: (result, loop.inEventLoop)) }
                }
                if fromLoop { loop.execute(start) } else { start() }
            }
        }
        for fromLoop in [false, true] {
            let (pong, onLoop) = await send(["PING"], fromLoop: fromLoop)
            #expect(try pong.get() == .simpleString("PONG"))
            #expect(onLoop)
            let (failed, _) = await send(["NOSUCHCOMMAND"], fromLoop: fromLoop)
            #expect(throws: RedisError.self) { try failed.get() }
            if case .failure(let error) = failed { #expect(error.code == .server) }
        }
        await connection.close()
        for fromLoop in [false, true] {
            let (closed, _) = await send(["PING"], fromLoop: fromLoop)
            if case .failure(let error) = closed {
                #expect(error.code == .connectionClosed)
            } else {
                Issue.record("a command on a closed connection did not fail")
            }
        }
    }

    @Test func fallsBackToRESP2WhenAsked() async throws {
        var configuration = try TestServers.standalone()
        configuration.preferRESP3 = false
        let connection = try await RedisConnection.connect(configuration: configuration)
        defer { Task { await connection.close() } }
        #expect(connection.protocolVersion == 2)
        let key = TestServers.uniqueKey("resp2")
        _ = try await connection.send(["HSET", RESPArgument(key), "f", "1"])
        #expect(try await connection.send(["HGETALL", RESPArgument(key)]).array?.compactMap(\.string) == ["f", "1"])
        #expect(try await connection.send(["GET", RESPArgument(key + ":none")]) == .null)
        _ = try await connection.send(["DEL", RESPArgument(key)])
    }

    @Test func pipelinedRepliesKeepTheirOrder() async throws {
        let connection = try await RedisConnection.connect(configuration: try TestServers.standalone())
        defer { Task { await connection.close() } }
        let key = TestServers.uniqueKey("pipeline")
        let commands: [[RESPArgument]] = (1...500).map { ["INCRBY", RESPArgument(key), RESPArgument($0)] }
        let replies = try await connection.pipeline(commands + [["GET", RESPArgument(key)], ["NOSUCHCOMMAND"]])
        var total: Int64 = 0
        for (index, reply) in replies.prefix(500).enumerated() {
            total += Int64(index + 1)
            #expect(try reply.get() == .integer(total))
        }
        #expect(try replies[500].get().integer == total)
        guard case .failure(let error) = replies[501] else {
            Issue.record("unknown command did not fail")
            return
        }
        #expect(error.code == .server)
        #expect(error.serverErrorPrefix == "ERR")
        _ = try await connection.send(["DEL", RESPArgument(key)])
    }

    @Test func concurrentSendersOnOneConnectionGetTheirOwnReplies() async throws {
        let connection = try await RedisConnection.connect(configuration: try TestServers.standalone())
        defer { Task { await connection.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let reply = try await connection.send(["ECHO", RESPArgument("message-\(index)")])
                    #expect(reply.string == "message-\(index)")
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func evalshaFallsBackToEvalAfterScriptFlush() async throws {
        // A private server: SCRIPT FLUSH on the shared one would disturb tests that count round trips.
        let server = try await PrivateRedisServer.start()
        let connection = try await RedisConnection.connect(configuration: try RedisConfiguration(url: server.url))
        defer { Task { await connection.close() } }
        let script = RedisScript("return {KEYS[1], ARGV[1], '\(TestServers.uniqueKey("script"))'}")
        _ = try await connection.send(["SCRIPT", "FLUSH"])
        #expect(try await connection.send(["SCRIPT", "EXISTS", RESPArgument(script.sha1)]).array == [.integer(0)])
        let first = try await connection.evaluate(script, keys: ["k"], arguments: ["a"])
        #expect(first.array?.prefix(2).compactMap(\.string) == ["k", "a"])
        // EVAL cached it under the SHA-1 computed locally.
        #expect(try await connection.send(["SCRIPT", "EXISTS", RESPArgument(script.sha1)]).array == [.integer(1)])
        _ = try await connection.send(["SCRIPT", "FLUSH"])
        let second = try await connection.evaluate(script, keys: ["k2"], arguments: ["b"])
        #expect(second.array?.prefix(2).compactMap(\.string) == ["k2", "b"])
    }

    @Test func commandTimeoutFailsTheCommandAndClosesTheConnection() async throws {
        var configuration = try TestServers.standalone()
        // Long enough for the handshake (same timeout) on a saturated machine, far below BLPOP's 60 s.
        configuration.commandTimeout = .seconds(3)
        let connection = try await RedisConnection.connect(configuration: configuration)
        let started = ContinuousClock.now
        do {
            _ = try await connection.send(["BLPOP", RESPArgument(TestServers.uniqueKey("never-pushed")), "60"])
            Issue.record("BLPOP finished before the server's 60 s")
        } catch {
            #expect(error.code == .timeout)
        }
        // The client's 3 s timer ended it, not the server's 60 s (a bound that holds under load).
        #expect(ContinuousClock.now - started < .seconds(30))
        let deadline = ContinuousClock.now + .seconds(15)
        while connection.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(!connection.isActive)
        do {
            _ = try await connection.send(["PING"])
            Issue.record("closed connection accepted a command")
        } catch {
            #expect(error.code == .connectionClosed)
        }
    }

    @Test func passwordACLUserAndSelect() async throws {
        let server = try await PrivateRedisServer.start(["--requirepass", "pw-top-secret"])
        let admin = try await RedisConnection.connect(
            configuration: try RedisConfiguration(url: "redis://:pw-top-secret@127.0.0.1:\(server.port)/0"))
        defer { Task { await admin.close() } }
        _ = try await admin.send(["ACL", "SETUSER", "app", "on", ">app-secret", "~*", "+@all"])
        _ = try await admin.send(["SET", "where", "db0"])

        // ACL user + password, database 2, over RESP3 and RESP2.
        for resp3 in [true, false] {
            var configuration = try RedisConfiguration(url: "redis://app:app-secret@127.0.0.1:\(server.port)/2")
            configuration.preferRESP3 = resp3
            let user = try await RedisConnection.connect(configuration: configuration)
            #expect(user.protocolVersion == (resp3 ? 3 : 2))
            #expect(try await user.send(["ACL", "WHOAMI"]).string == "app")
            #expect(try await user.send(["GET", "where"]) == (resp3 ? .null : .bulkString(.init(string: "db2"))))
            _ = try await user.send(["SET", "where", "db2"])
            await user.close()
        }
        #expect(try await admin.send(["GET", "where"]).string == "db0")
        _ = try await admin.send(["SELECT", "2"])
        #expect(try await admin.send(["GET", "where"]).string == "db2")

        // Wrong or missing credentials fail the connect, and never echo the password.
        for url in ["redis://app:wrong-secret@127.0.0.1:\(server.port)/0", "redis://:bad-secret@127.0.0.1:\(server.port)/0"] {
            do {
                _ = try await RedisConnection.connect(configuration: try RedisConfiguration(url: url))
                Issue.record("connected with a wrong password")
            } catch {
                #expect(error.code == .connectionFailed)
                #expect(!error.description.contains("secret"))
            }
        }
        let anonymous = try await RedisConnection.connect(configuration: RedisConfiguration(port: server.port))
        defer { Task { await anonymous.close() } }
        do {
            _ = try await anonymous.send(["GET", "where"])
            Issue.record("unauthenticated GET succeeded")
        } catch {
            #expect(error.serverErrorPrefix == "NOAUTH")
        }
    }

    @Test func connectToAClosedPortFailsQuickly() async throws {
        let server = try await PrivateRedisServer.start()
        let port = server.port
        server.stop()
        let started = ContinuousClock.now
        do {
            _ = try await RedisConnection.connect(configuration: RedisConfiguration(port: port))
            Issue.record("connected to a stopped server")
        } catch {
            #expect(error.code == .connectionFailed)
        }
        // Refused at once on loopback; the bound only catches a hang and holds on a saturated machine.
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
