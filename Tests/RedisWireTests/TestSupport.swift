import Foundation
import NIOCore
import RedisWireTestSupport
import Testing

@testable import RedisWire

/// The servers `scripts/lib/redis.sh` starts; tests fail (never skip) when they are missing.
enum TestServers {
    static func standaloneURL() throws -> String {
        try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_URL"],
            "SESSIONGATE_TEST_REDIS_URL is unset: run scripts/test.sh, or `source scripts/lib/redis.sh; redis_start_all DIR`")
    }

    static func standalone() throws -> RedisConfiguration {
        try RedisConfiguration(url: try standaloneURL())
    }

    static func clusterSeed() throws -> RedisNodeAddress {
        let seed = try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_CLUSTER"],
            "SESSIONGATE_TEST_REDIS_CLUSTER is unset: run scripts/test.sh, or `source scripts/lib/redis.sh; redis_start_all DIR`")
        return try #require(RedisNodeAddress(seed), "SESSIONGATE_TEST_REDIS_CLUSTER must be host:port")
    }

    /// A key no other test (or earlier run) uses.
    static func uniqueKey(_ name: String) -> String {
        "test:\(name):\(UUID().uuidString)"
    }
}

/// A redis-server this test process starts and stops itself (for AUTH and outage tests).
final class PrivateRedisServer: @unchecked Sendable {  // mutated only by the test that owns it
    let port: Int
    private let arguments: [String]
    private let directory: URL
    private var process: Process?

    /// Starts `redis-server` on a free loopback port with extra `arguments` (e.g. `--requirepass`).
    static func start(_ arguments: [String] = []) async throws -> PrivateRedisServer {
        var lastError: (any Error)?
        for _ in 0..<10 {
            let server = PrivateRedisServer(port: RestartablePort.random(), arguments: arguments)
            do {
                try await server.launch()
                return server
            } catch {
                lastError = error
                server.stop()
            }
        }
        throw lastError ?? RedisError(.connectionFailed, "could not start redis-server")
    }

    private init(port: Int, arguments: [String]) {
        self.port = port
        self.arguments = arguments
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-redis-\(UUID().uuidString)")
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    /// Launches the server (again, after `stop`) on the same port and waits until it answers.
    func launch() async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "redis-server", "--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no",
                "--dir", directory.path, "--protected-mode", "no",
            ] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw RedisError(.connectionFailed, "redis-server exited (port taken?)") }
            if await Self.acceptsConnections(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RedisError(.timeout, "redis-server on \(port) did not start")
    }

    /// Kills the server (SIGKILL: like a crash) and waits for it to exit.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func acceptsConnections(port: Int) async -> Bool {
        var configuration = RedisConfiguration(port: port)
        configuration.preferRESP3 = false
        configuration.connectTimeout = .milliseconds(200)
        guard let connection = try? await RedisConnection.connect(configuration: configuration) else { return false }
        defer { Task { await connection.close() } }
        // With requirepass, PING answers NOAUTH: still "up".
        do {
            _ = try await connection.send(["PING"])
            return true
        } catch {
            return error.code == .server
        }
    }
}
