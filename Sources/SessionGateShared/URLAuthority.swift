/// The pieces of a URL's authority (`user:password@host:port`) that the store URLs share:
/// `redis://` (RedisWire's `RedisConfiguration`) and `postgres://` (SessionGateStores'
/// `PostgresURL`). Each caller decides where its authority ends and what a missing piece means;
/// this parses the pieces the same way for both and reports problems as `URLAuthority.Problem`,
/// which the caller turns into its own error (never quoting the URL: it may carry a password).
public enum URLAuthority {
    /// What is wrong with a piece of an authority.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        /// `[` without a closing `]`.
        case unterminatedIPv6
        /// A port that is not a number from 1 to 65535.
        case invalidPort
        /// `%` not followed by two hex digits.
        case invalidPercentEncoding

        /// What follows the URL's name in a message: "redis URL has an invalid port (1-65535)".
        public var description: String {
            switch self {
            case .unterminatedIPv6: "has an unterminated IPv6 address"
            case .invalidPort: "has an invalid port (1-65535)"
            case .invalidPercentEncoding: "has an invalid percent-encoding"
            }
        }
    }

    /// Runs one of the parsers below, turning its problem into the caller's own error.
    public static func parsing<Value, Failure: Error>(
        _ parse: () throws(Problem) -> Value, orThrow failure: (Problem) -> Failure
    ) throws(Failure) -> Value {
        do {
            return try parse()
        } catch {
            throw failure(error)
        }
    }

    /// Splits `host[:port]` or `[ipv6][:port]`. The IPv6 address comes back without brackets;
    /// anything after `]` other than `:port` is ignored. The port is nil when absent. The host may
    /// be empty: the caller decides whether that is an error.
    public static func hostAndPort(_ text: Substring) throws(Problem) -> (host: String, port: Int?) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .unterminatedIPv6 }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            return (host, after.hasPrefix(":") ? try port(after.dropFirst()) : nil)
        }
        if let colon = text.lastIndex(of: ":") {
            return (String(text[..<colon]), try port(text[text.index(after: colon)...]))
        }
        return (String(text), nil)
    }

    /// Splits `user[:password]` at the first colon and percent-decodes both parts. The password
    /// is nil when there is no colon (`user@host`); what a lone part means is the caller's call.
    public static func userInfo(_ text: Substring) throws(Problem) -> (user: String, password: String?) {
        guard let colon = text.firstIndex(of: ":") else { return (try percentDecoded(text), nil) }
        return (try percentDecoded(text[..<colon]), try percentDecoded(text[text.index(after: colon)...]))
    }

    /// A port from 1 to 65535.
    public static func port(_ text: Substring) throws(Problem) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw .invalidPort }
        return port
    }

    /// Decodes every `%XX` escape (any byte, as UTF-8; invalid UTF-8 is repaired).
    public static func percentDecoded(_ text: Substring) throws(Problem) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(ASCIIHex.value), let low = iterator.next().flatMap(ASCIIHex.value) else {
                throw .invalidPercentEncoding
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

}
