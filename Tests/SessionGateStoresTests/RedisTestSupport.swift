import Foundation
import RedisWire
import RedisWireTestSupport
import SessionGateCore
import Synchronization
import Testing

/// Counts what a store sends, to check round trips per operation.
final class CountingRedisExecutor: RedisExecutor {
    let inner: any RedisExecutor
    private let counts = Mutex((sends: 0, pipelines: 0, commands: [String]()))

    init(_ inner: any RedisExecutor) { self.inner = inner }

    var roundTrips: Int { counts.withLock { $0.sends + $0.pipelines } }
    var commandNames: [String] { counts.withLock { $0.commands } }
    func reset() { counts.withLock { $0 = (0, 0, []) } }

    func send(_ arguments: [RESPArgument]) async throws(RedisError) -> RESPValue {
        counts.withLock {
            $0.sends += 1
            $0.commands.append(arguments.first?.text ?? "")
        }
        return try await inner.send(arguments)
    }

    func pipeline(_ commands: [[RESPArgument]]) async throws(RedisError) -> [Result<RESPValue, RedisError>] {
        counts.withLock {
            $0.pipelines += 1
            $0.commands += commands.map { $0.first?.text ?? "" }
        }
        return try await inner.pipeline(commands)
    }
}

enum RedisTestServers {
    static func url() throws -> String {
        try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_URL"],
            "SESSIONGATE_TEST_REDIS_URL is unset: run scripts/test.sh, or `source scripts/lib/redis.sh; redis_start_all DIR`")
    }

    static func clusterURL() throws -> String {
        let seed = try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_CLUSTER"],
            "SESSIONGATE_TEST_REDIS_CLUSTER is unset: run scripts/test.sh, or `source scripts/lib/redis.sh; redis_start_all DIR`")
        return "redis://\(seed)/0"
    }

    /// `rediss://` URL of the TLS-only standalone server (certificate for localhost and 127.0.0.1).
    static func tlsURL() throws -> String {
        try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_TLS_URL"],
            "SESSIONGATE_TEST_REDIS_TLS_URL is unset: run scripts/test.sh (scripts/lib/redis_tls.sh starts it)")
    }

    static func tlsClusterURL() throws -> String {
        let seed = try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_REDIS_TLS_CLUSTER"],
            "SESSIONGATE_TEST_REDIS_TLS_CLUSTER is unset: run scripts/test.sh (scripts/lib/redis_tls.sh starts it)")
        return "rediss://\(seed)/0"
    }

    /// The run-time CA's folder (`scripts/lib/tls_ca.sh`).
    static func tlsDirectory() throws -> String {
        try #require(
            ProcessInfo.processInfo.environment["SESSIONGATE_TEST_TLS_DIR"],
            "SESSIONGATE_TEST_TLS_DIR is unset: run scripts/test.sh (scripts/lib/tls_ca.sh makes the CA)")
    }

    /// A private key namespace per store, so runs and parallel tests never see each other.
    static func prefix() -> String { "sgtest:\(UUID().uuidString.prefix(8)):" }
}

/// A redis-server owned by one test (script-cache flushes, outages), on a free loopback port.
final class PrivateRedis: @unchecked Sendable {  // mutated only by the test that owns it
    let port: Int
    /// TLS-only when set: the certificate's base name in the run-time CA's folder (`server`,
    /// `expired`, `wronghost`) and `--tls-auth-clients` (`no`, `optional`, `yes`).
    let tls: (certificate: String, authClients: String)?
    private var process: Process?

    var url: String { "\(tls == nil ? "redis" : "rediss")://127.0.0.1:\(port)/0" }

    static func start(tls: (certificate: String, authClients: String)? = nil) async throws -> PrivateRedis {
        for _ in 0..<10 {
            let server = PrivateRedis(port: RestartablePort.random(), tls: tls)
            if (try? await server.launch()) != nil { return server }
            server.stop()
        }
        throw StoreError(.unavailable, "could not start a private redis-server")
    }

    private init(port: Int, tls: (certificate: String, authClients: String)?) {
        self.port = port
        self.tls = tls
    }

    func launch() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        var configuration = RedisConfiguration(port: port)
        if let tls {
            let directory = try RedisTestServers.tlsDirectory()
            arguments += [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", "\(directory)/\(tls.certificate).pem",
                "--tls-key-file", "\(directory)/\(tls.certificate).key", "--tls-ca-cert-file", "\(directory)/ca.pem",
                "--tls-auth-clients", tls.authClients,
            ]
            // Readiness only: the tests' own clients verify.
            configuration.tls = try RedisTLS(
                certificateFile: "\(directory)/client.pem", keyFile: "\(directory)/client.key", verifyCertificates: false)
        } else {
            arguments += ["--port", String(port)]
        }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        configuration.connectTimeout = .milliseconds(200)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw StoreError(.unavailable, "redis-server exited") }
            if let connection = try? await RedisConnection.connect(configuration: configuration) {
                // The port may belong to another server (the random port was taken): ready only
                // when the answer comes from this process.
                let info = try? await connection.send(["INFO", "server"])
                await connection.close()
                guard let info, (info.string ?? "").contains("process_id:\(process.processIdentifier)\r\n") else {
                    throw StoreError(.unavailable, "port \(port) belongs to another server")
                }
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StoreError(.timeout, "redis-server did not start")
    }

    /// SIGKILL, like a crash.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit { stop() }
}

/// RFC 7396 Appendix A (target, patch, result).
enum RedisMergeExamples {
    static let appendixA: [(String, String, String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ]
}
