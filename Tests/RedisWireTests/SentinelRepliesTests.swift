import NIOCore
import Testing

@testable import RedisWire

/// What the Sentinel client reads from Sentinel and `ROLE` (the failover itself runs against real
/// servers in scripts/e2e/redis_sentinel.sh).
@Suite struct SentinelRepliesTests {
    private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

    @Test func primaryAddress() throws {
        let reply = RESPValue.array([bulk("10.0.0.7"), bulk("6380")])
        #expect(try SentinelReplies.primaryAddress(reply, masterName: "m") == RedisNodeAddress(host: "10.0.0.7", port: 6380))
        #expect(try SentinelReplies.primaryAddress(.null, masterName: "m") == nil, "a Sentinel that does not monitor the name")
        for wrong: RESPValue in [.array([bulk("h")]), .array([bulk("h"), bulk("0")]), .array([bulk(""), bulk("1")]), .integer(1)] {
            #expect(throws: RedisError.self) { try SentinelReplies.primaryAddress(wrong, masterName: "m") }
        }
    }

    @Test func role() throws {
        #expect(try SentinelReplies.role(.array([bulk("master"), .integer(10), .array([])])) == "master")
        #expect(try SentinelReplies.role(.array([bulk("slave"), bulk("h"), .integer(1)])) == "slave")
        #expect(throws: RedisError.self) { try SentinelReplies.role(.null) }
    }

    @Test func whichErrorsMoveThePrimary() {
        let readonly = RedisError(.server, "READONLY You can't write against a read only replica.")
        #expect(SentinelReplies.meansPrimaryMoved(readonly) && SentinelReplies.commandDidNotRun(readonly))
        let closed = RedisError(.connectionClosed, "connection closed")
        #expect(SentinelReplies.meansPrimaryMoved(closed) && !SentinelReplies.commandDidNotRun(closed), "may have run: not repeated")
        let refused = RedisError(.connectionFailed, "connection refused")
        #expect(SentinelReplies.meansPrimaryMoved(refused) && SentinelReplies.commandDidNotRun(refused))
        let other = RedisError(.server, "ERR wrong number of arguments")
        #expect(!SentinelReplies.meansPrimaryMoved(other))
    }
}
