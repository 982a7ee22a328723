import PostgresNIO
import SessionGateCore
import SessionGateShared

/// `[store] url` for Postgres: `postgres://user:pass@host:port/db?sslmode=…`.
///
/// `sslmode` follows libpq: `disable`; `prefer` (the default: TLS when the server offers it,
/// certificate not verified); `require` (TLS, not verified); `verify-full` (TLS, verified
/// against the system roots and the host name). User and password may be percent-encoded.
/// Errors never quote the URL (it holds the password).
public struct PostgresURL: Sendable, Equatable {
    public enum SSLMode: String, Sendable, Equatable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    /// A `Secret`: `dump` and `String(reflecting:)` print `<redacted>` for it.
    public var password: Secret<String>?
    public var database: String?
    public var sslMode: SSLMode

    public init(_ text: String) throws(StoreError) {
        let rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw StoreError(.protocolError, "postgres url must start with postgres://")
        }
        let query = rest.firstIndex(of: "?").map { rest[rest.index(after: $0)...] } ?? ""
        let beforeQuery = rest.prefix { $0 != "?" }
        let authority = beforeQuery.prefix { $0 != "/" }
        let path = beforeQuery.dropFirst(authority.count).drop { $0 == "/" }

        var hostPort = authority
        username = "postgres"
        self.password = nil
        if let at = authority.lastIndex(of: "@") {
            hostPort = authority[authority.index(after: at)...]
            let (user, password) = try URLAuthority.parsing(
                { () throws(URLAuthority.Problem) in try URLAuthority.userInfo(authority[..<at]) }, orThrow: Self.urlError)
            username = user
            self.password = password.map(Secret.init)
        }
        self.port = 5432
        let (host, port) = try URLAuthority.parsing(
            { () throws(URLAuthority.Problem) in try URLAuthority.hostAndPort(hostPort) }, orThrow: Self.urlError)
        self.host = host
        if let port { self.port = port }
        guard !host.isEmpty else { throw StoreError(.protocolError, "postgres url has no host") }
        database =
            path.isEmpty
            ? nil
            : try URLAuthority.parsing({ () throws(URLAuthority.Problem) in try URLAuthority.percentDecoded(path) }, orThrow: Self.urlError)

        sslMode = .prefer
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "sslmode" else { continue }
            guard let mode = SSLMode(rawValue: String(parts[1])) else {
                throw StoreError(.protocolError, "postgres url sslmode must be disable, prefer, require or verify-full")
            }
            sslMode = mode
        }
    }

    /// The client configuration for this URL.
    public func clientConfiguration(connectTimeout: Duration = .seconds(5)) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require:
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            tls = sslMode == .prefer ? .prefer(unverified) : .require(unverified)
        case .verifyFull:
            tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password?.revealed, database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// A problem of the shared URL parser in Postgres's words (never quoting the URL).
    private static func urlError(_ problem: URLAuthority.Problem) -> StoreError {
        StoreError(.protocolError, "postgres url \(problem)")
    }
}

extension PostgresURL: CustomStringConvertible {
    /// The URL with the password masked, for logs.
    public var description: String {
        let credentials = password == nil ? username : "\(username):****"
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(credentials)@\(hostText):\(port)/\(database ?? "")?sslmode=\(sslMode.rawValue)"
    }
}
