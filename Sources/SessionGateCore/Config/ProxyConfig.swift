import SessionGateShared

/// The whole validated configuration. Built only by `ConfigLoader` (which reports every error at
/// once); every other part of SessionGate takes these plain values.
///
/// Every secret (cookie keys, the signing secret or Ed25519 seed, the store URL with its
/// password) is held in a `Secret`, so `"\(config)"`, `String(reflecting:)`, `dump` and a failing
/// `#expect` print `<redacted>` in its place; read a value with `.revealed` where it is used.
public struct ProxyConfig: Sendable, Equatable {
    public var server: Server
    public var upstream: Upstream
    public var cookie: Cookie
    public var session: Session
    public var store: Store
    public var signing: Signing
    public var log: Log
    /// Header name -> session data field, projected as plain headers upstream.
    public var inject: [InjectedHeader]
    public var routes: Routes
    /// `[admin]`: the sessions API on the admin listener.
    public var admin = Admin()

    public init(
        server: Server, upstream: Upstream, cookie: Cookie, session: Session, store: Store,
        signing: Signing, log: Log, inject: [InjectedHeader], routes: Routes
    ) {
        self.server = server
        self.upstream = upstream
        self.cookie = cookie
        self.session = session
        self.store = store
        self.signing = signing
        self.log = log
        self.inject = inject
        self.routes = routes
    }

    public struct Server: Sendable, Equatable {
        public var listen: SocketAddressSpec = .init(host: "127.0.0.1", port: 8080)
        public var adminListen: SocketAddressSpec = .init(host: "127.0.0.1", port: 9090)
        public var trustedProxies: [CIDR] = []
        public var maxHeaderBytes: Int = 16384
        /// 0 = unlimited.
        public var maxBodyBytes: Int = 10_485_760
        public var headerTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(60)
        public var drainTimeout: Duration = .seconds(30)
        /// Add a `Via` header upstream and downstream.
        public var via: Bool = false
        /// `upgrades`: the `Upgrade` protocol tokens that may open a tunnel, lower case, in file
        /// order. Any other `Upgrade` (and `HTTP2-Settings`) is removed and the request proxied
        /// plainly. `h2c` is refused by the loader: inside HTTP/2 the proxy cannot enforce routes.
        public var upgrades: [String] = ["websocket"]
        /// `body_timeout`: no request body byte for this long → 408 and the connection closes.
        public var bodyTimeout: Duration = .seconds(60)
        /// `tls_cert` + `tls_key`: the client listener serves HTTPS only; nil = plain HTTP.
        public var tls: ListenerTLSFiles? = nil
        public init() {}
    }

    /// The PEM files of the client listener's certificate (chain, leaf first) and private key,
    /// resolved against the config file's folder. Read (and re-read on SIGHUP) by the proxy.
    public struct ListenerTLSFiles: Sendable, Equatable {
        public var certificatePath: String
        public var keyPath: String
        public init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    public struct Upstream: Sendable, Equatable {
        public var url: UpstreamURL = .init(host: "127.0.0.1", port: 3000)
        public var connectTimeout: Duration = .seconds(2)
        public var responseTimeout: Duration = .seconds(30)
        /// Idle keep-alive connections kept per event loop.
        public var maxIdleConnections: Int = 64
        public init() {}
    }

    public struct Cookie: Sendable, Equatable {
        public var name: String = "__Host-session"
        public var secure: Bool = true
        public var sameSite: SameSite = .lax
        public var domain: String? = nil
        public var path: String = "/"
        /// Raw 32-byte keys; the first seals, all open.
        public var keys: [Secret<[UInt8]>] = []
        public init() {}
    }

    public enum SameSite: String, Sendable, Equatable, CaseIterable {
        case strict, lax, none
        /// The attribute value as browsers spell it.
        public var attribute: String {
            switch self {
            case .strict: "Strict"
            case .lax: "Lax"
            case .none: "None"
            }
        }
    }

    public struct Session: Sendable, Equatable {
        public var idleTimeout: Int64 = 30 * 60
        public var absoluteTimeout: Int64 = 7 * 86400
        public var touchInterval: Int64 = 60
        public var userKey: String = "user_id"
        public var maxLifetime: Int64 = 30 * 86400
        /// `max_data_bytes`: the most bytes the session object may take as compact JSON (see
        /// `SessionDataLimit`); a patch that would exceed it is a malformed directive. 0 = unlimited.
        public var maxDataBytes: Int = 8192
        /// `max_per_user`: past it, a new session of a user ends their least recently seen one.
        /// 0 = no limit.
        public var maxPerUser: Int = 0
        public init() {}
    }

    /// `[admin]`: the sessions API exists only with a token (`token`, or read from `token_file`).
    public struct Admin: Sendable, Equatable {
        /// The shortest accepted bearer token, in bytes.
        public static let minimumTokenBytes = 32
        /// The bearer token given inline (usually `${ADMIN_TOKEN}`).
        public var token: Secret<String>? = nil
        /// `token_file`, resolved against the config file's folder; read (and checked) when the
        /// file is loaded, into `token`.
        public var tokenFile: String? = nil
        public init() {}

        /// Whether the sessions API is served.
        public var sessionsAPIEnabled: Bool { token != nil }
    }

    public enum Backend: String, Sendable, Equatable, CaseIterable {
        case memory, cookie, redis, postgres, sqlite
    }

    public struct Store: Sendable, Equatable {
        public var backend: Backend = .memory
        /// redis:// or postgres:// URL. Redacted whole (it may carry a password); the stores log
        /// their own password-free descriptions (`RedisConfiguration`, `PostgresURL`).
        public var url: Secret<String>? = nil
        public var cluster: Bool = false
        /// SQLite file, already resolved against the config file's folder.
        public var path: String? = nil
        public var timeout: Duration = .seconds(1)
        /// TLS to Redis (`rediss://` or Sentinel with TLS): files resolved against the config folder.
        public var tls = StoreTLS()
        /// Redis Sentinel: the primary is found through these instead of `url`'s host.
        public var sentinel: Sentinel? = nil
        public init() {}
    }

    /// `[store] tls_*`: only read for Redis over TLS.
    public struct StoreTLS: Sendable, Equatable {
        /// `tls_ca`: PEM certificates to trust instead of the system roots.
        public var caFile: String? = nil
        /// `tls_cert` / `tls_key`: a client certificate, for servers that ask for one.
        public var certificateFile: String? = nil
        public var keyFile: String? = nil
        /// `tls_server_name`: the name for SNI and verification instead of each host's own.
        public var serverName: String? = nil
        /// `tls_insecure_skip_verify`: no certificate or name check (logged as a warning).
        public var insecureSkipVerify: Bool = false
        public init() {}
    }

    /// `[store] sentinels`, `master_name`, `sentinel_username`, `sentinel_password`.
    public struct Sentinel: Sendable, Equatable {
        /// `host:port` of each Sentinel.
        public var addresses: [String] = []
        public var masterName: String = ""
        public var username: String? = nil
        public var password: Secret<String>? = nil
        public init() {}
    }

    public enum Algorithm: String, Sendable, Equatable {
        case hs256 = "HS256"
        case edDSA = "EdDSA"
    }

    public struct Signing: Sendable, Equatable {
        public var algorithm: Algorithm = .hs256
        /// HS256: the secret's UTF-8 bytes (>= 32).
        public var secret: Secret<[UInt8]>? = nil
        /// EdDSA: the 32-byte Ed25519 seed.
        public var privateKey: Secret<[UInt8]>? = nil
        public var ttl: Int64 = 60
        public var issuer: String = "sessiongate"
        public var audience: String = "upstream"
        public init() {}
    }

    public enum LogFormat: String, Sendable, Equatable {
        case json, text
    }

    public enum LogLevel: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    public struct Log: Sendable, Equatable {
        public var format: LogFormat = .json
        public var level: LogLevel = .info
        /// One access line per request (at `info`).
        public var access: Bool = true
        public init() {}
    }

    public struct InjectedHeader: Sendable, Equatable {
        public var header: String
        public var field: String
        public init(header: String, field: String) {
            self.header = header
            self.field = field
        }
    }

    public struct Routes: Sendable, Equatable {
        public var defaultAccess: RouteAccess = .session
        public var loginURL: String? = nil
        public var rules: [RouteRule] = []
        /// `cross_origin_protection`: refuse cross-origin state-changing requests to session
        /// routes (see `CrossOriginPolicy`).
        public var crossOriginProtection: Bool = true
        /// `trusted_origins`: origins that pass the cross-origin check, normalised as
        /// `TrustedOrigin.normalize` spells them (`https://app.example.com`, `http://host:8080`).
        public var trustedOrigins: [String] = []
        /// `case_sensitive`: false matches route globs ignoring ASCII case (for case-insensitive
        /// backends); the forwarded path stays as the client sent it.
        public var caseSensitive: Bool = true
        public init() {}
    }
}

/// `host:port` to listen on.
public struct SocketAddressSpec: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The upstream origin (http only; TLS to the app is out of scope for a loopback sidecar).
public struct UpstreamURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// A path prefix prepended to every forwarded path ("" for none).
    public var basePath: String = ""
    public init(host: String, port: Int, basePath: String = "") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }
}

/// Who may pass a route.
public enum RouteAccess: String, Sendable, Equatable, CaseIterable {
    case `public`, session, deny
}

/// What an unauthenticated request to a session route gets.
public enum UnauthenticatedResponse: String, Sendable, Equatable, CaseIterable {
    case auto
    case unauthorized = "401"
    case redirect
}

/// One `[[route]]` table, compiled.
public struct RouteRule: Sendable, Equatable {
    /// Position in the file (0-based), for messages such as `route[2]`.
    public var index: Int
    public var pattern: PathGlob
    /// Upper-cased; nil = any method. GET implies HEAD.
    public var methods: Set<String>?
    public var access: RouteAccess
    /// field -> accepted values; all fields must be met.
    public var require: [String: [JSONValue]]
    public var unauthenticated: UnauthenticatedResponse
    public var loginURL: String?

    public init(
        index: Int, pattern: PathGlob, methods: Set<String>? = nil, access: RouteAccess,
        require: [String: [JSONValue]] = [:], unauthenticated: UnauthenticatedResponse = .auto,
        loginURL: String? = nil
    ) {
        self.index = index
        self.pattern = pattern
        self.methods = methods
        self.access = access
        self.require = require
        self.unauthenticated = unauthenticated
        self.loginURL = loginURL
    }
}
