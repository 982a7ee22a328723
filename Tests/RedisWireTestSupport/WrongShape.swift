import NIOCore
import RedisWire

/// Replies of shapes the session store's commands never document, for `FakeRESPServer`.
///
/// The session-like ones carry well-formed data where they can, so only the shape is wrong:
/// a check that looks at one thing (the length, the type of `d`) and trusts the rest fails here.
public enum WrongShape: String, CaseIterable, Sendable, CustomStringConvertible {
    /// `:42` (no command of the store answers 42; write scripts answer 1).
    case integer
    /// `+OK`.
    case simpleString
    /// A bulk string of bytes that are neither a number nor JSON.
    case garbageBulkString
    /// The session fields less the last.
    case shortArray
    /// The session fields and two more.
    case longArray
    /// Integers where the fields are bulk strings.
    case wrongElementTypes
    /// The session fields with times that are not numbers.
    case nonNumericTimes
    /// The session fields with times that overflow any arithmetic on them.
    case outOfRangeTimes
    /// A null: "session gone" for the scripts that document it, wrong everywhere else.
    case null
    /// `-ERR …`.
    case errorReply

    public var description: String { rawValue }

    public var reply: RESPValue {
        switch self {
        case .integer: .integer(42)
        case .simpleString: .simpleString("OK")
        case .garbageBulkString: Self.bulk("\u{1}not a number, not JSON\u{7f}")
        case .shortArray: .array(Array(Self.sessionFields.dropLast()))
        case .longArray: .array(Self.sessionFields + [Self.bulk("extra"), Self.bulk("more")])
        case .wrongElementTypes: .array(Self.sessionFields.indices.map { .integer(Int64($0)) })
        case .nonNumericTimes: Self.sessionWithTimes("soon")
        case .outOfRangeTimes: Self.sessionWithTimes(String(Int64.min))
        case .null: .null
        case .errorReply: .error("ERR this server answers every command with an error")
        }
    }

    /// Now, for sessions in `sessionFields`.
    public static let now: Int64 = 1_800_000_000

    /// A live session of user `u1` as `HMGET … d c l i a s u h ip lip ua` answers it (and the
    /// read scripts): a hash from before metadata, so `h ip lip ua` are nil.
    public static let sessionFields: [RESPValue] = [
        bulk(#"{"user_id":"u1","role":"user"}"#), bulk(String(now)), bulk(String(now)), bulk(String(now + 1800)),
        bulk(String(now + 7 * 86400)), bulk("1800"), bulk("u1"), .null, .null, .null, .null,
    ]

    /// `sessionFields` with every time replaced by `time`.
    static func sessionWithTimes(_ time: String) -> RESPValue {
        .array([sessionFields[0]] + (0..<5).map { _ in bulk(time) } + sessionFields[6...])
    }

    public static func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
}
