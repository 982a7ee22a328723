import NIOCore
import Testing

@testable import SessionGateStores

/// Session times are read from `HMGET` replies as bytes (no `String` per field); the result is
/// what `Int64(String)` gives for the same text, so a malformed number is still refused.
@Suite struct RedisReplyDecimalTests {
    @Test(arguments: [
        "0", "7", "1733000000", "-1", "+5", "007", "999999999999999999", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "", "-", "+", "1.5", "1e3", " 1", "1 ", "0x10", "١", "12a", "--1", "+-1",
        "12345678901234567890123",
    ])
    func readsNumbersAsInt64OfTheirText(text: String) {
        #expect(RedisReply.decimal(ByteBuffer(string: text)) == Int64(text), "for \(text.debugDescription)")
    }
}
