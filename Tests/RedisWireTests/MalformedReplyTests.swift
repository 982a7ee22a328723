import NIOCore
import RedisWireTestSupport
import SessionGateShared
import Testing

@testable import RedisWire

/// Where RedisWire itself interprets replies (the handshake, `CLUSTER SLOTS`, `MOVED`/`ASK`),
/// a reply of another shape is a `.protocolError`, never a guess.
@Suite struct MalformedReplyTests {
    private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    /// Long timeouts: the fake answers at once, and a loaded machine must not turn a protocol
    /// error into a timeout.
    static func configuration(port: Int) -> RedisConfiguration {
        var configuration = RedisConfiguration(port: port)
        configuration.connectTimeout = .seconds(20)
        configuration.commandTimeout = .seconds(20)
        return configuration
    }

    @Test func helloReplyMustConfirmTheProtocol() throws {
        let proto3: RESPValue = .map([
            RESPMapEntry(key: bulk("server"), value: bulk("redis")), RESPMapEntry(key: bulk("proto"), value: .integer(3)),
        ])
        #expect(try RedisConnection.negotiatedVersion(proto3) == 3)
        #expect(try RedisConnection.negotiatedVersion(.array([bulk("proto"), .integer(2)])) == 2)
        for reply: RESPValue in [
            .integer(3), .simpleString("OK"), .null, bulk("proto 3"), .array([bulk("proto")]),
            .array([bulk("server"), bulk("redis")]), .array([bulk("proto"), bulk("3")]), .array([bulk("proto"), .integer(4)]),
        ] {
            #expect(throws: RedisError.self, "\(reply)") { try RedisConnection.negotiatedVersion(reply) }
        }
    }

    @Test(arguments: WrongShape.allCases)
    func connectRefusesAHelloReplyOfTheWrongShape(shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: .simpleString("OK"))
        defer { Task { await server.stop() } }
        server.answer("HELLO", with: shape.reply)
        do {
            let connection = try await RedisConnection.connect(configuration: Self.configuration(port: server.port))
            await connection.close()
            Issue.record("connected on a \(shape) HELLO reply")
        } catch {
            // An error reply to HELLO is "no RESP3" only for unknown command / NOPROTO; the
            // fake's other errors are final (as WRONGPASS is), hence `.connectionFailed`.
            #expect(error.code == (shape == .errorReply ? .connectionFailed : .protocolError), "\(error)")
        }
    }

    @Test(arguments: ["AUTH", "SELECT"], [WrongShape.integer, .null, .garbageBulkString, .shortArray])
    func connectRefusesAuthOrSelectRepliesOfTheWrongShape(command: String, shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: .simpleString("OK"), resp3: false)
        defer { Task { await server.stop() } }
        server.answer(command, with: shape.reply)
        var configuration = Self.configuration(port: server.port)
        configuration.password = Secret("not-a-secret")
        configuration.database = 2
        do {
            let connection = try await RedisConnection.connect(configuration: configuration)
            await connection.close()
            Issue.record("connected on a \(shape) \(command) reply")
        } catch {
            #expect(error.code == .protocolError, "\(error)")
            #expect(!error.description.contains("not-a-secret"))
        }
    }

    @Test func clusterSlotsReplyOfTheWrongShapeIsRefused() throws {
        let queried = RedisNodeAddress(host: "10.0.0.1", port: 7000)
        func range(_ start: RESPValue, _ end: RESPValue, _ master: RESPValue) -> RESPValue { .array([start, end, master]) }
        let good = RESPValue.array([.null, .integer(7001)])
        // A null host is "the address you reached me at", like an empty one.
        let map = try ClusterSlotMap(clusterSlots: .array([range(.integer(0), .integer(16383), good)]), queried: queried)
        #expect(map.node(forSlot: 42) == RedisNodeAddress(host: "10.0.0.1", port: 7001))
        for reply: RESPValue in [
            .integer(1), .null, bulk("slots"), .map([]),
            .array([.integer(0)]),
            .array([range(bulk("0"), .integer(16383), good)]),
            .array([range(.integer(0), bulk("16383"), good)]),
            .array([range(.integer(0), .integer(16384), good)]),
            .array([range(.integer(9), .integer(3), good)]),
            .array([range(.integer(0), .integer(16383), .integer(7001))]),
            .array([range(.integer(0), .integer(16383), .array([bulk("10.0.0.2")]))]),
            .array([range(.integer(0), .integer(16383), .array([bulk("10.0.0.2"), bulk("7001")]))]),
            .array([range(.integer(0), .integer(16383), .array([bulk("10.0.0.2"), .integer(0)]))]),
            .array([range(.integer(0), .integer(16383), .array([bulk("10.0.0.2"), .integer(65536)]))]),
            .array([range(.integer(0), .integer(16383), .array([.integer(10), .integer(7001)]))]),
        ] {
            do {
                let map = try ClusterSlotMap(clusterSlots: reply, queried: queried)
                Issue.record("\(reply) gave a map of \(map.coveredSlotCount) slots")
            } catch {
                #expect(error.code == .protocolError, "\(reply)")
            }
        }
    }

    @Test func malformedRedirectionsAreNotFollowed() {
        let node = RedisNodeAddress(host: "10.0.0.1", port: 7000)
        func parse(_ message: String, from: RedisNodeAddress? = node) -> (String, Int, RedisNodeAddress)? {
            RedisClusterClient.redirection(in: RedisError(.server, message), from: from)
        }
        #expect(parse("MOVED 3999 127.0.0.1:6381")?.2 == RedisNodeAddress(host: "127.0.0.1", port: 6381))
        #expect(parse("ASK 0 [::1]:6381")?.0 == "ASK")
        // An empty endpoint: the node that answered, on the port given.
        #expect(parse("MOVED 3999 :6381")?.2 == RedisNodeAddress(host: "10.0.0.1", port: 6381))
        #expect(parse("MOVED 3999 :6381", from: nil) == nil)
        for message in [
            "MOVED", "MOVED 3999", "MOVED x 127.0.0.1:6381", "MOVED -1 127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381",
            "MOVED 3999 127.0.0.1", "MOVED 3999 127.0.0.1:0", "MOVED 3999 127.0.0.1:65536", "MOVED 3999 127.0.0.1:x",
            "MOVED 3999  127.0.0.1:6381", "MOVED 3999 127.0.0.1:6381 extra", "ERR MOVED 3999 127.0.0.1:6381",
        ] {
            #expect(parse(message) == nil, "\(message)")
        }
        #expect(RedisNodeAddress("h:0") == nil)
        #expect(RedisNodeAddress("h:65536") == nil)
        #expect(RedisNodeAddress("h:65535") == RedisNodeAddress(host: "h", port: 65535))
    }

    /// A cluster whose `CLUSTER SLOTS` answers another shape fails with `.protocolError`,
    /// not "unavailable" and not a guessed map.
    @Test(arguments: WrongShape.allCases)
    func clusterClientRefusesASlotMapOfTheWrongShape(shape: WrongShape) async throws {
        let server = try await FakeRESPServer.start(fallback: .simpleString("OK"))
        server.answer("CLUSTER", with: shape.reply)
        let cluster = RedisClusterClient(configuration: Self.configuration(port: server.port))
        defer {
            Task {
                await cluster.close()
                await server.stop()
            }
        }
        do {
            _ = try await cluster.send(["GET", "k"])
            Issue.record("a cluster with a \(shape) slot map answered")
        } catch {
            // A node that refuses (an error reply: LOADING, cluster support disabled) is
            // unusable, as before; every other shape is a protocol error.
            #expect(error.code == (shape == .errorReply ? .unavailable : .protocolError), "\(error)")
        }
    }
}
