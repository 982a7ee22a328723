/// A failure talking to Redis. `description` never holds a password, a key or a value: server
/// messages are kept, but only those the server sends about commands (which quote no arguments
/// for the commands this package sends), and addresses are `host:port` only.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The TCP connection or the handshake (AUTH/HELLO/SELECT) failed.
        case connectionFailed
        /// The connection closed while the command was in flight or queued.
        case connectionClosed
        /// The server is known to be unreachable and the client is waiting to reconnect.
        case unavailable
        /// No connection or no reply within the configured time.
        case timeout
        /// The server sent bytes that are not RESP, or a reply of an unexpected shape.
        case protocolError
        /// The server answered with an error reply (`-ERR …`).
        case server
        /// The configuration (URL, options) is invalid.
        case configuration
        /// The client was shut down.
        case shutdown
        /// Cluster redirections or retries ran out.
        case tooManyRedirections
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "redis \(code.rawValue): \(message)" }

    /// For `.server` errors, the first word of the message (`ERR`, `NOSCRIPT`, `MOVED`, `WRONGPASS`).
    public var serverErrorPrefix: String? {
        guard code == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// True when the failure concerns the link to the server, not the command: retrying on
    /// another (or a fresh) connection may succeed.
    public var isConnectionFailure: Bool {
        switch code {
        case .connectionFailed, .connectionClosed, .unavailable, .timeout: true
        default: false
        }
    }
}
