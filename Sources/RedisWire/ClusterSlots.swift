/// Redis Cluster's key → slot mapping: CRC16 (XMODEM) of the key, or of its `{hash tag}`,
/// modulo 16384. Keys sharing a hash tag share a slot, so multi-key commands on them are legal.
public enum HashSlot {
    public static let count = 16384

    public static func of(_ key: some Collection<UInt8>) -> Int {
        let bytes = Array(key)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            return Int(crc16(bytes[(open + 1)..<close]) % UInt16(count))
        }
        return Int(crc16(bytes) % UInt16(count))
    }

    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    /// CRC-16/XMODEM (polynomial 0x1021, initial value 0), as in the Redis Cluster spec.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

/// A cluster node's client address.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (the form in `MOVED`/`ASK` replies and the cluster seed setting);
    /// nil unless the port is in 1...65535.
    public init?(_ text: some StringProtocol) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Which node serves each slot, as learned from `CLUSTER SLOTS` and redirections.
struct ClusterSlotMap: Sendable {
    private(set) var nodes: [RedisNodeAddress] = []
    private var owners = [Int32](repeating: -1, count: HashSlot.count)

    func node(forSlot slot: Int) -> RedisNodeAddress? {
        let owner = owners[slot]
        return owner < 0 ? nil : nodes[Int(owner)]
    }

    var coveredSlotCount: Int { owners.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    mutating func assign(_ slots: ClosedRange<Int>, to node: RedisNodeAddress) {
        let index: Int
        if let known = nodes.firstIndex(of: node) {
            index = known
        } else {
            nodes.append(node)
            index = nodes.count - 1
        }
        for slot in slots where slot >= 0 && slot < HashSlot.count { owners[slot] = Int32(index) }
    }

    /// Builds the map from a `CLUSTER SLOTS` reply sent by `queried` (an empty, `?` or null
    /// host in the reply means "the address you reached me at"). Each range is
    /// `[start, end, [host, port, id?, …], replicas…]`; any other shape is a `.protocolError`.
    init(clusterSlots reply: RESPValue, queried: RedisNodeAddress) throws(RedisError) {
        guard case .array(let ranges) = reply else {
            throw RedisError(.protocolError, "CLUSTER SLOTS reply is not an array (\(reply))")
        }
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3, case .integer(let start) = fields[0],
                case .integer(let end) = fields[1], case .array(let master) = fields[2], master.count >= 2,
                case .integer(let port) = master[1], (1...65535).contains(port),
                start >= 0, end >= start, end < HashSlot.count
            else { throw RedisError(.protocolError, "CLUSTER SLOTS reply has an unexpected shape") }
            var host: String
            switch master[0] {
            case .null: host = ""
            case .bulkString, .simpleString: host = master[0].string ?? ""
            default: throw RedisError(.protocolError, "CLUSTER SLOTS reply has an unexpected shape")
            }
            if host.isEmpty || host == "?" { host = queried.host }
            assign(Int(start)...Int(end), to: RedisNodeAddress(host: host, port: Int(port)))
        }
    }

    init() {}
}

/// Finds the key a command routes by (its first key), for the commands a session store uses
/// and most others. Keyless commands (`PING`, `SCRIPT`, `CLUSTER` …) return nil: any node.
public enum RedisCommandRouting {
    private static let keyless: Set<String> = [
        "PING", "ECHO", "INFO", "CLUSTER", "SCRIPT", "HELLO", "AUTH", "SELECT", "DBSIZE", "FLUSHALL", "FLUSHDB",
        "TIME", "CONFIG", "CLIENT", "COMMAND", "ASKING", "READONLY", "READWRITE", "MULTI", "EXEC", "DISCARD",
        "WAIT", "LASTSAVE", "SAVE", "BGSAVE", "SHUTDOWN", "RANDOMKEY", "QUIT", "KEYS", "SCAN", "FUNCTION",
        "ACL", "LATENCY", "SLOWLOG", "MEMORY", "DEBUG", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "RESET",
    ]

    public static func routingKey(of arguments: [RESPArgument]) -> [UInt8]? {
        guard let name = arguments.first?.text.uppercased() else { return nil }
        switch name {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard arguments.count > 3, let keyCount = Int(arguments[2].text), keyCount > 0 else { return nil }
            return arguments[3].bytes
        case "OBJECT":
            return arguments.count > 2 ? arguments[2].bytes : nil
        case "XREAD", "XREADGROUP":
            guard let streams = arguments.firstIndex(where: { $0.text.uppercased() == "STREAMS" }),
                streams + 1 < arguments.count
            else { return nil }
            return arguments[streams + 1].bytes
        default:
            if keyless.contains(name) { return nil }
            return arguments.count > 1 ? arguments[1].bytes : nil
        }
    }

    /// The slot `arguments` route to, or nil for keyless commands.
    public static func slot(of arguments: [RESPArgument]) -> Int? {
        routingKey(of: arguments).map { HashSlot.of($0) }
    }
}
