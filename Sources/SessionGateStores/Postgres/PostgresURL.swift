import PostgresNIO
import SessionGateCore

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
    public var password: String?
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
        password = nil
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = try Self.percentDecoded(userInfo[..<colon])
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                username = try Self.percentDecoded(userInfo)
            }
        }
        port = 5432
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw StoreError(.protocolError, "postgres url has an unterminated IPv6 address")
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
        guard !host.isEmpty else { throw StoreError(.protocolError, "postgres url has no host") }
        database = path.isEmpty ? nil : try Self.percentDecoded(path)

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
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    private static func port(_ text: Substring) throws(StoreError) -> Int {
        guard let value = Int(text), (1...65535).contains(value) else {
            throw StoreError(.protocolError, "postgres url has an invalid port")
        }
        return value
    }

    private static func percentDecoded(_ text: Substring) throws(StoreError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2, let high = hexValue(utf8.removeFirst()), let low = hexValue(utf8.removeFirst()) else {
                throw StoreError(.protocolError, "postgres url has an invalid percent-encoding")
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

extension PostgresURL: CustomStringConvertible {
    /// The URL with the password masked, for logs.
    public var description: String {
        let credentials = password == nil ? username : "\(username):****"
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(credentials)@\(hostText):\(port)/\(database ?? "")?sslmode=\(sslMode.rawValue)"
    }
}
