import NIOCore
import SessionGateShared

/// How to reach and use a Redis server (or, for a cluster, every node).
///
/// `description` shows the address and user but never the password, which is a `Secret` (so
/// `dump` and `String(reflecting:)` print `<redacted>` for it).
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// ACL user; nil authenticates as `default` (or with the legacy one-argument `AUTH`).
    public var username: String?
    public var password: Secret<String>?
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
    /// TLS for every connection (`rediss://`); nil is plain TCP. A `rediss://` URL alone sets
    /// `usesTLS`; the caller then supplies the `RedisTLS` (CA, client certificate) before connecting.
    public var tls: RedisTLS?
    /// True for a `rediss://` URL: connecting without `tls` fails rather than fall back to plain text.
    public var usesTLS: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: Secret<String>? = nil,
        database: Int = 0, poolSize: Int = 4, connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration? = .seconds(1), minReconnectDelay: Duration = .milliseconds(50),
        maxReconnectDelay: Duration = .seconds(1), preferRESP3: Bool = true,
        decoderLimits: RESPDecoder.Limits = RESPDecoder.Limits(), tls: RedisTLS? = nil
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
        self.tls = tls
        self.usesTLS = tls != nil
    }

    /// Parses `redis[s]://[[user]:password@]host[:port][/db]`. Percent-escapes in the user and
    /// password are decoded. `rediss://` sets `usesTLS` (and the port defaults to 6379 either way).
    /// `requireHost: false` accepts a URL without a host (`redis://:password@/0`), for Sentinel,
    /// where the host comes from the Sentinels.
    public init(url: String, requireHost: Bool = true) throws(RedisError) {
        self.init()
        let scheme: String
        if url.hasPrefix("redis://") {
            scheme = "redis://"
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss://"
            usesTLS = true
        } else {
            throw RedisError(.configuration, "redis URL must start with redis:// or rediss://")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw RedisError(
                .configuration,
                "redis URL must not have a query or fragment (at offset \(rest.distance(from: rest.startIndex, to: query) + scheme.count))")
        }
        if let at = rest.lastIndex(of: "@") {
            let (user, password) = try URLAuthority.parsing(
                { () throws(URLAuthority.Problem) in try URLAuthority.userInfo(rest[..<at]) }, orThrow: Self.urlError)
            rest = rest[rest.index(after: at)...]
            if let password {
                username = user.isEmpty ? nil : user
                self.password = Secret(password)
            } else {
                // `redis://secret@host` is how several clients spell a password without a user.
                self.password = Secret(user)
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
        if hostPort.isEmpty, !requireHost { return }
        let (host, port) = try URLAuthority.parsing(
            { () throws(URLAuthority.Problem) in try URLAuthority.hostAndPort(hostPort) }, orThrow: Self.urlError)
        self.host = host
        if let port { self.port = port }
        guard !host.isEmpty else { throw RedisError(.configuration, "redis URL has no host") }
    }

    /// A problem of the shared URL parser in Redis's words (never quoting the URL).
    private static func urlError(_ problem: URLAuthority.Problem) -> RedisError {
        RedisError(.configuration, "redis URL \(problem)")
    }

    public var description: String {
        let user = username.map { "user \($0), " } ?? ""
        let auth = password == nil ? "no password" : "password set"
        let transport = !usesTLS ? "" : tls?.verifiesCertificates == false ? ", TLS without verification" : ", TLS"
        return "redis \(host):\(port)/\(database) (\(user)\(auth)\(transport))"
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
