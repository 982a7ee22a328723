import NIOCore

/// How to reach and use a Redis server (or, for a cluster, every node).
///
/// `description` shows the address and user but never the password.
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// ACL user; nil authenticates as `default` (or with the legacy one-argument `AUTH`).
    public var username: String?
    public var password: String?
    /// `SELECT`ed after connecting (must be 0 on a cluster).
    public var database: Int
    /// Connections per server; each one pipelines any number of commands.
    public var poolSize: Int
    public var connectTimeout: Duration
    /// Bound on each command's reply; a late reply closes the connection. nil waits forever.
    public var commandTimeout: Duration?
    /// First reconnect delay after a failed connect; doubles up to `maxReconnectDelay`.
    public var minReconnectDelay: Duration
    public var maxReconnectDelay: Duration
    /// Ask for RESP3 with `HELLO 3` (falls back to RESP2 when the server lacks `HELLO`).
    public var preferRESP3: Bool
    public var decoderLimits: RESPDecoder.Limits

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, poolSize: Int = 4, connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration? = .seconds(1), minReconnectDelay: Duration = .milliseconds(50),
        maxReconnectDelay: Duration = .seconds(1), preferRESP3: Bool = true,
        decoderLimits: RESPDecoder.Limits = RESPDecoder.Limits()
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.minReconnectDelay = minReconnectDelay
        self.maxReconnectDelay = maxReconnectDelay
        self.preferRESP3 = preferRESP3
        self.decoderLimits = decoderLimits
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`. Percent-escapes in the user and
    /// password are decoded. `rediss://` (TLS) is refused: this client speaks plain TCP.
    public init(url: String) throws(RedisError) {
        self.init()
        guard url.hasPrefix("redis://") else {
            if url.hasPrefix("rediss://") {
                throw RedisError(.configuration, "rediss:// (TLS) is not supported")
            }
            throw RedisError(.configuration, "redis URL must start with redis://")
        }
        var rest = Substring(url.dropFirst("redis://".count))
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw RedisError(
                .configuration,
                "redis URL must not have a query or fragment (at offset \(rest.distance(from: rest.startIndex, to: query) + 8))")
        }
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecode(userInfo[..<colon])
                username = user.isEmpty ? nil : user
                password = try Self.percentDecode(userInfo[userInfo.index(after: colon)...])
            } else {
                // `redis://secret@host` is how several clients spell a password without a user.
                password = try Self.percentDecode(userInfo)
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw RedisError(.configuration, "redis URL database must be a non-negative integer")
                }
                database = db
            }
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw RedisError(.configuration, "redis URL has an unterminated IPv6 address")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst()) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...])
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw RedisError(.configuration, "redis URL has no host") }
    }

    public var description: String {
        let user = username.map { "user \($0), " } ?? ""
        let auth = password == nil ? "no password" : "password set"
        return "redis \(host):\(port)/\(database) (\(user)\(auth))"
    }

    private static func port(_ text: Substring) throws(RedisError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisError(.configuration, "redis URL port must be 1-65535")
        }
        return port
    }

    private static func percentDecode(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw RedisError(.configuration, "redis URL has an invalid percent-escape in its credentials")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
