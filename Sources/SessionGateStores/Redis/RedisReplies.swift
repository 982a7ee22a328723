import NIOCore
import RedisWire
import SessionGateCore

/// Reading the replies of the store's commands and scripts. Each reply is checked against the
/// one shape its command or script documents; anything else (an integer where an array belongs,
/// an array of the wrong length, a number that is not one, a nil the script never returns) is
/// `StoreError(.protocolError)`: a Redis-speaking server with other semantics must fail the
/// request (503), never pass for "no session" or for a write that happened.
///
/// Messages name the shape (`RESPValue.description`), never a payload.
enum RedisReply {
    static func unexpected(_ what: String, _ reply: RESPValue, expected: String) -> StoreError {
        StoreError(.protocolError, "redis \(what): unexpected reply (\(reply)); expected \(expected)")
    }

    /// The scripts' documented "session gone": Lua `false`, which Redis sends as a null (RESP2
    /// and RESP3 alike, since the scripts never call `redis.setresp(3)`). A RESP3 `#f` is
    /// accepted as the same answer.
    static func isGone(_ reply: RESPValue) -> Bool {
        reply == .null || reply == .boolean(false)
    }

    /// An integer reply in `range` (`ZREM` counts, script status codes).
    @discardableResult
    static func integer(_ reply: RESPValue, _ what: String, in range: ClosedRange<Int64>) throws(StoreError) -> Int64 {
        guard case .integer(let number) = reply, range.contains(number) else {
            throw unexpected(what, reply, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// `PING`'s `PONG`.
    static func pong(_ reply: RESPValue, _ what: String) throws(StoreError) {
        guard case .simpleString(let text) = reply, text == "PONG" else {
            throw unexpected(what, reply, expected: "PONG")
        }
    }

    /// A bulk string, or nil for a null reply.
    static func optionalString(_ reply: RESPValue, _ what: String) throws(StoreError) -> String? {
        switch reply {
        case .null: return nil
        case .bulkString(let buffer): return String(buffer: buffer)
        default: throw unexpected(what, reply, expected: "a bulk string or null")
        }
    }

    /// An array of bulk strings (`ZRANGE`).
    static func strings(_ reply: RESPValue, _ what: String) throws(StoreError) -> [String] {
        guard case .array(let elements) = reply else { throw unexpected(what, reply, expected: "an array of strings") }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard case .bulkString(let buffer) = element else {
                throw unexpected(what, reply, expected: "an array of strings")
            }
            strings.append(String(buffer: buffer))
        }
        return strings
    }

    /// A session as the fields d c l i a s u h ip lip ua (see `RedisSessionScripts`), followed
    /// by `extra` more elements the caller reads.
    struct Session {
        var data: [String: JSONValue]
        /// The raw JSON of `d`, copied as is on rotation.
        var json: [UInt8]
        var times: SessionTimes
        /// `u`; nil when empty or absent.
        var user: String?
        /// `h`; nil in a hash written before handles were kept.
        var handle: String?
        var metadata: SessionMetadata
        var extra: [RESPValue]
    }

    /// What a listing reads of one session (`RedisSessionScripts.summaryFields`).
    struct Summary {
        var times: SessionTimes
        var user: String?
        var handle: String?
        var metadata: SessionMetadata
    }

    /// The reply of `HMGET` of the summary fields: nil when the session is gone (every field
    /// nil).
    static func summary(_ reply: RESPValue, _ what: String) throws(StoreError) -> Summary? {
        let count = RedisSessionScripts.summaryFields.count
        guard case .array(let fields) = reply, fields.count == count else {
            throw unexpected(what, reply, expected: "an array of \(count) session fields")
        }
        if fields[0] == .null { return nil }
        let (times, user, handle, metadata) = try parts(fields[0..<count], reply, what)
        return Summary(times: times, user: user, handle: handle, metadata: metadata)
    }

    /// The fields c l i a s u h ip lip ua: times, user, handle and metadata.
    private static func parts(_ fields: ArraySlice<RESPValue>, _ reply: RESPValue, _ what: String) throws(StoreError)
        -> (SessionTimes, String?, String?, SessionMetadata)
    {
        guard fields.count == 10 else { throw unexpected(what, reply, expected: "ten session fields") }
        let start = fields.startIndex
        func number(_ offset: Int) throws(StoreError) -> Int64 {
            guard case .bulkString(let buffer) = fields[start + offset], let number = decimal(buffer),
                StoredTimes.range.contains(number)
            else {
                throw unexpected(what, reply, expected: "session times as decimal Unix seconds")
            }
            return number
        }
        func text(_ offset: Int) throws(StoreError) -> String? {
            switch fields[start + offset] {
            case .null: return nil
            case .bulkString(let buffer): return buffer.readableBytes == 0 ? nil : String(buffer: buffer)
            default: throw unexpected(what, reply, expected: "the user, handle and metadata as bulk strings")
            }
        }
        let times = SessionTimes(
            createdAt: try number(0), lastSeenAt: try number(1), idleExpiresAt: try number(2), absoluteExpiresAt: try number(3),
            idleSeconds: try number(4))
        return (
            times, try text(5), try text(6), SessionMetadata(createdIP: try text(7), lastIP: try text(8), userAgent: try text(9))
        )
    }

    /// A decimal integer (an optional sign, then digits) read from the bytes, as `Int64(String)`
    /// reads it; nil for anything else.
    static func decimal(_ buffer: ByteBuffer) -> Int64? {
        buffer.withUnsafeReadableBytes { RESPDecimal.parse($0) }
    }

    /// Reads the fields of a session.
    /// - Parameters:
    ///   - nullMeansGone: the whole reply may be nil (a script's `return false`).
    ///   - absentDataMeansGone: an array whose `d` is nil means "no such session" (`HMGET` of a
    ///     missing key answers seven nils); a script never returns that.
    static func session(
        _ reply: RESPValue, _ what: String, extra: Int = 0, nullMeansGone: Bool, absentDataMeansGone: Bool = false,
        maxDataBytes: Int
    ) throws(StoreError) -> Session? {
        if nullMeansGone, isGone(reply) { return nil }
        let count = RedisSessionScripts.fields.count + extra
        guard case .array(let fields) = reply, fields.count == count else {
            throw unexpected(what, reply, expected: "an array of \(count) session fields")
        }
        if absentDataMeansGone, fields[0] == .null { return nil }
        guard case .bulkString(let dataBuffer) = fields[0] else {
            throw unexpected(what, reply, expected: "session data as a bulk string")
        }
        let (times, user, handle, metadata) = try parts(fields[1..<count - extra], reply, what)
        let json = Array(dataBuffer.readableBytesView)
        guard case .object(let data)? = try? JSONParser.parse(json, maxBytes: max(maxDataBytes, json.count)) else {
            throw StoreError(.corrupt, "redis \(what): stored session data is not a JSON object")
        }
        return Session(
            data: data, json: json, times: times, user: user, handle: handle, metadata: metadata,
            extra: Array(fields[count - extra..<count]))
    }
}
