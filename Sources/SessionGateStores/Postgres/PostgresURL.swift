import PostgresNIO
import SessionGateCore
import SessionGateShared

/// `[store] url` for Postgres: `postgres://user:pass@host:port/db?sslmode=…&sslrootcert=…`.
///
/// The TLS parameters follow libpq (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`); see `SSLMode`
/// for the modes and the default. User, password and parameter values may be percent-encoded.
/// Other parameters are ignored. Errors never quote the URL (it holds the password).
public struct PostgresURL: Sendable, Equatable {
    /// libpq's `sslmode`, without the two that fall back to plain text: `prefer` and `allow` are
    /// refused, because anyone between the proxy and the database who answers "no TLS" would
    /// get the password exchange and every session in the clear.
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        /// Plain text.
        case disable
        /// TLS, certificate not verified (verified as `verifyCA` when `sslrootcert` is given, as libpq does).
        case require
        /// TLS, the chain verified against `sslrootcert` (or the system roots); any host name.
        case verifyCA = "verify-ca"
        /// TLS, the chain verified and the certificate naming the URL's host.
        case verifyFull = "verify-full"

        /// The mode when the URL has none: `disable` for a loopback host (a database on the same
        /// machine, where TLS protects nothing), `verify-full` for any other host, so a managed
        /// database is never reached unverified by default.
        public static func defaultMode(host: String) -> SSLMode {
            isLoopback(host) ? .disable : .verifyFull
        }

        static func isLoopback(_ host: String) -> Bool {
            let lower = host.lowercased()
            if lower == "localhost" || lower.hasSuffix(".localhost") || lower == "::1" { return true }
            let octets = lower.split(separator: ".", omittingEmptySubsequences: false)
            return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        }
    }

    /// How the server's certificate is checked, from `sslmode` and `sslrootcert`.
    public enum Verification: Sendable, Equatable {
        case none, chain, chainAndHost
    }

    public var host: String
    public var port: Int
    public var username: String
    /// A `Secret`: `dump` and `String(reflecting:)` print `<redacted>` for it.
    public var password: Secret<String>?
    public var database: String?
    /// The effective mode: as given, or `SSLMode.defaultMode(host:)`.
    public var sslMode: SSLMode
    /// True when the URL named no `sslmode` (the log line says the default was used).
    public var sslModeIsDefault: Bool
    /// `sslrootcert`: a PEM file of trusted CA certificates; nil or `system` = the system roots.
    public var sslRootCert: String?
    /// `sslcert` / `sslkey`: a client certificate (chain) and its key, PEM; both or neither.
    public var sslCert: String?
    public var sslKey: String?

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
        database = path.isEmpty ? nil : try Self.decoded(path)

        let parameters = try Self.tlsParameters(query)
        sslModeIsDefault = parameters.mode == nil
        sslMode = parameters.mode ?? SSLMode.defaultMode(host: host)
        sslRootCert = parameters.rootCert
        sslCert = parameters.cert
        sslKey = parameters.key
        if (sslCert == nil) != (sslKey == nil) {
            throw StoreError(.protocolError, "postgres url needs sslcert and sslkey together (a client certificate and its key)")
        }
        if sslMode == .disable, sslRootCert != nil || sslCert != nil {
            throw StoreError(
                .protocolError, "postgres url sets sslrootcert/sslcert with sslmode=disable; remove them or use sslmode=verify-full")
        }
    }

    /// How the server certificate is checked: `require` with a `sslrootcert` verifies the chain,
    /// as libpq does.
    public var verification: Verification {
        switch sslMode {
        case .disable: .none
        case .require: sslRootCert == nil ? .none : .chain
        case .verifyCA: .chain
        case .verifyFull: .chainAndHost
        }
    }

    private static func tlsParameters(_ query: Substring) throws(StoreError) -> (
        mode: SSLMode?, rootCert: String?, cert: String?, key: String?
    ) {
        var result: (mode: SSLMode?, rootCert: String?, cert: String?, key: String?) = (nil, nil, nil, nil)
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let value = try decoded(parts[1])
            switch parts[0] {
            case "sslmode":
                if value == "prefer" || value == "allow" {
                    throw StoreError(
                        .protocolError,
                        "postgres url sslmode=\(value) is refused: it falls back to plain text whenever TLS is declined, so anyone on the path could read the password and the sessions; use verify-full (or require, verify-ca; disable only on a trusted network)"
                    )
                }
                guard let mode = SSLMode(rawValue: value) else {
                    throw StoreError(.protocolError, "postgres url sslmode must be disable, require, verify-ca or verify-full")
                }
                result.mode = mode
            case "sslrootcert": result.rootCert = value == "system" ? nil : try nonEmpty(value, "sslrootcert")
            case "sslcert": result.cert = try nonEmpty(value, "sslcert")
            case "sslkey": result.key = try nonEmpty(value, "sslkey")
            default: continue
            }
        }
        return result
    }

    private static func nonEmpty(_ value: String, _ name: String) throws(StoreError) -> String {
        guard !value.isEmpty else { throw StoreError(.protocolError, "postgres url \(name) is empty; give a PEM file path") }
        return value
    }

    private static func decoded(_ text: Substring) throws(StoreError) -> String {
        try URLAuthority.parsing({ () throws(URLAuthority.Problem) in try URLAuthority.percentDecoded(text) }, orThrow: Self.urlError)
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
        var text = "postgres://\(credentials)@\(hostText):\(port)/\(database ?? "")?sslmode=\(sslMode.rawValue)"
        if let sslRootCert { text += "&sslrootcert=\(sslRootCert)" }
        if let sslCert { text += "&sslcert=\(sslCert)" }
        return text
    }
}
