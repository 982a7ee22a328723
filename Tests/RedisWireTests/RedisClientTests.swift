import NIOCore
import Testing

@testable import RedisWire

@Suite struct RedisClientTests {
    @Test func poolSpreadsCommandsOverItsConnections() async throws {
        var configuration = try TestServers.standalone()
        configuration.poolSize = 3
        let client = RedisClient(configuration: configuration)
        let key = TestServers.uniqueKey("pool")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<300 {
                group.addTask { _ = try await client.send(["INCR", RESPArgument(key)]) }
            }
            try await group.waitForAll()
        }
        #expect(try await client.send(["GET", RESPArgument(key)]).integer == 300)
        // The pool grows to its size in the background while serving, and never beyond.
        let deadline = ContinuousClock.now + .seconds(15)  // a bound for a loaded machine, not a speed check
        while client.openConnectionCount < 3, ContinuousClock.now < deadline {
            _ = try await client.send(["PING"])
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(client.openConnectionCount == 3)
        for _ in 0..<20 { _ = try await client.send(["PING"]) }
        #expect(client.openConnectionCount == 3)
        _ = try await client.send(["DEL", RESPArgument(key)])
        await client.close()
        do {
            _ = try await client.send(["PING"])
            Issue.record("closed client accepted a command")
        } catch {
            #expect(error.code == .shutdown)
        }
    }

    /// Commands fail (never hang) while the server is down, and the pool reconnects once it is
    /// back. The bounds only catch a hang and hold on a saturated machine; how fast the failures
    /// are is measured by `scripts/e2e/faults.py`, not by a wall-clock assertion here.
    @Test func serverOutageFailsFastAndTheClientRecovers() async throws {
        let server = try await PrivateRedisServer.start()
        var configuration = RedisConfiguration(port: server.port)
        configuration.poolSize = 2
        configuration.minReconnectDelay = .milliseconds(50)
        configuration.maxReconnectDelay = .milliseconds(300)
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        _ = try await client.send(["SET", "k", "before"])

        server.stop()
        // Every command while the server is down fails, without waiting on it, with a clear code.
        for _ in 0..<20 {
            let started = ContinuousClock.now
            do {
                _ = try await client.send(["GET", "k"])
                Issue.record("command succeeded with the server down")
            } catch {
                #expect(error.isConnectionFailure, "\(error)")
                #expect(error.description.contains("127.0.0.1:\(server.port)") || error.code == .connectionClosed)
            }
            #expect(ContinuousClock.now - started < .seconds(5), "a command with the server down must fail, not hang")
            try await Task.sleep(for: .milliseconds(20))
        }

        try await server.launch()
        let restarted = ContinuousClock.now
        var recovered = false
        while ContinuousClock.now - restarted < .seconds(15) {
            if (try? await client.send(["PING"])) == .simpleString("PONG") {
                recovered = true
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(recovered, "the pool did not reconnect within 15 s of the server coming back")
        #expect(try await client.send(["SET", "k", "after"]) == .simpleString("OK"))
    }

    @Test func commandsInFlightWhenTheServerDiesFailInsteadOfHanging() async throws {
        let server = try await PrivateRedisServer.start()
        var configuration = RedisConfiguration(port: server.port)
        configuration.commandTimeout = nil  // prove that closing, not a timer, ends them
        let client = RedisClient(configuration: configuration)
        defer { Task { await client.close() } }
        _ = try await client.send(["PING"])
        async let blocked = client.send(["BLPOP", "never-pushed", "0"])
        // Stop the server once BLPOP is blocked on it (a fixed sleep may not be enough on a busy machine).
        let observer = try await RedisConnection.connect(configuration: RedisConfiguration(port: server.port))
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let info = try await observer.send(["INFO", "clients"]).string ?? ""
            if info.contains("blocked_clients:1") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        await observer.close()
        server.stop()
        do {
            _ = try await blocked
            Issue.record("BLPOP returned after the server died")
        } catch let error as RedisError {
            #expect(error.code == .connectionClosed)
        }
    }
}
