import NIOCore

/// One reply from a Redis server, in RESP2 or RESP3.
///
/// RESP2's null bulk string and null array and RESP3's `_` all decode to `.null`, so callers never
/// depend on the protocol version a connection negotiated. Server errors (`-ERR …` and RESP3 blob
/// errors) arrive as `.error`; `RedisConnection.send` turns them into a thrown `RedisError`.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString(ByteBuffer)
    case array([RESPValue])
    case null
    /// RESP3 `,`.
    case double(Double)
    /// RESP3 `#`.
    case boolean(Bool)
    /// RESP3 `(`: kept as its decimal text.
    case bigNumber(String)
    /// RESP3 `=`: a three-letter format (`txt`, `mkd`) and the text.
    case verbatimString(format: String, text: ByteBuffer)
    /// RESP3 `%`: pairs in wire order.
    case map([RESPMapEntry])
    /// RESP3 `~`.
    case set([RESPValue])
    /// RESP3 `>`: out-of-band data (client tracking, pub/sub), never a reply to a command.
    case push([RESPValue])
}

/// One key/value pair of a RESP3 map.
public struct RESPMapEntry: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The text of a simple, bulk or verbatim string (UTF-8, invalid bytes repaired), else nil.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let buffer): String(buffer: buffer)
        case .verbatimString(_, let text): String(buffer: text)
        default: nil
        }
    }

    /// The bytes of a simple, bulk or verbatim string, else nil.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let text): Array(text.utf8)
        case .bulkString(let buffer): Array(buffer.readableBytesView)
        case .verbatimString(_, let text): Array(text.readableBytesView)
        default: nil
        }
    }

    /// An integer reply, or a string reply holding a decimal integer.
    public var integer: Int64? {
        switch self {
        case .integer(let number): number
        case .simpleString, .bulkString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push reply (a map flattened to key, value, …), else nil.
    public var array: [RESPValue]? {
        switch self {
        case .array(let elements), .set(let elements), .push(let elements): elements
        case .map(let entries): entries.flatMap { [$0.key, $0.value] }
        default: nil
        }
    }

    public var isNull: Bool { self == .null }

    /// The message of an error reply, else nil.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short shape description: never the payload, which may hold session data.
    public var description: String {
        switch self {
        case .simpleString: "simple string"
        case .error: "error"
        case .integer(let number): "integer \(number)"
        case .bulkString(let buffer): "bulk string (\(buffer.readableBytes) bytes)"
        case .array(let elements): "array (\(elements.count) elements)"
        case .null: "null"
        case .double: "double"
        case .boolean(let flag): "boolean \(flag)"
        case .bigNumber: "big number"
        case .verbatimString(_, let text): "verbatim string (\(text.readableBytes) bytes)"
        case .map(let entries): "map (\(entries.count) entries)"
        case .set(let elements): "set (\(elements.count) elements)"
        case .push(let elements): "push (\(elements.count) elements)"
        }
    }
}
