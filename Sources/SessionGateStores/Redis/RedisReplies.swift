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

    /// A session as the fields d c l i a s u (see `RedisSessionScripts`), followed by `extra`
    /// more elements the caller reads.
    struct Session {
        var data: [String: JSONValue]
        /// The raw JSON of `d`, copied as is on rotation.
        var json: [UInt8]
        var times: SessionTimes
        /// `u`; nil when empty or absent.
        var user: String?
        var extra: [RESPValue]
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
        var numbers: [Int64] = []
        for field in fields[1...5] {
            guard case .bulkString(let buffer) = field, let number = Int64(String(buffer: buffer)),
                StoredTimes.range.contains(number)
            else {
                throw unexpected(what, reply, expected: "session times as decimal Unix seconds")
            }
            numbers.append(number)
        }
        let user: String?
        switch fields[6] {
        case .null: user = nil
        case .bulkString(let buffer): user = buffer.readableBytes == 0 ? nil : String(buffer: buffer)
        default: throw unexpected(what, reply, expected: "the user id as a bulk string")
        }
        let json = Array(dataBuffer.readableBytesView)
        guard case .object(let data)? = try? JSONParser.parse(json, maxBytes: max(maxDataBytes, json.count)) else {
            throw StoreError(.corrupt, "redis \(what): stored session data is not a JSON object")
        }
        let times = SessionTimes(
            createdAt: numbers[0], lastSeenAt: numbers[1], idleExpiresAt: numbers[2], absoluteExpiresAt: numbers[3],
            idleSeconds: numbers[4])
        return Session(data: data, json: json, times: times, user: user, extra: Array(fields[count - extra..<count]))
    }
}
