import Logging
import NIOCore
import SessionGateCore
import Synchronization

/// Everything one configuration generation needs to serve requests, built once and shared
/// read-only by every connection. A reload builds a new runtime; requests in flight keep theirs.
public final class ProxyRuntime: Sendable {
    public let config: ProxyConfig
    public let routes: RouteTable
    public let headerPolicy: HeaderPolicy
    public let keyRing: CookieKeyRing
    public let signer: TokenSigner
    public let store: any SessionStore
    public let clock: any WallClock
    public let random: any RandomBytes
    public let logger: Logger
    /// Lower-cased `[inject]` header names with their session fields.
    let injected: [(name: String, field: String)]
    /// `[routes] cross_origin_protection` and `trusted_origins`.
    let crossOrigin: CrossOriginPolicy
    /// `[store] timeout` and `[upstream] response_timeout`, as the data plane's timers take them.
    let storeTimeout: TimeAmount
    let responseTimeout: TimeAmount
    /// Unique in this process (never reused, unlike an object's address): what a connection's
    /// `OpenedCookie` remembers instead of a weak reference, which would give every runtime a
    /// side table and make each retain and release of it take the runtime's slow path.
    let generation: UInt64

    private static let generations = Atomic<UInt64>(0)

    public init(
        config: ProxyConfig, store: any SessionStore, clock: any WallClock = SystemClock(),
        random: any RandomBytes = SystemRandomBytes(), logger: Logger
    ) throws {
        self.config = config
        self.routes = RouteTable(config.routes)
        self.headerPolicy = HeaderPolicy(injectedHeaders: config.inject.map(\.header))
        self.keyRing = try CookieKeyRing(keys: config.cookie.keys)
        self.signer = try TokenSigner(config: config.signing)
        self.store = store
        self.clock = clock
        self.random = random
        self.logger = logger
        self.injected = config.inject.map { ($0.header, $0.field) }
        self.crossOrigin = CrossOriginPolicy(routes: config.routes)
        self.storeTimeout = TimeAmount(config.store.timeout)
        self.responseTimeout = TimeAmount(config.upstream.responseTimeout)
        self.generation = Self.generations.add(1, ordering: .relaxed).newValue
    }

    /// The `Set-Cookie` value that hands `session` to the client.
    func setCookie(for session: StoredSession, now: UnixSeconds) -> String {
        let sealed = keyRing.seal(session.ticket.bytes, cookieName: config.cookie.name, random: random)
        return SetCookie(
            name: config.cookie.name, value: sealed, maxAge: max(0, session.times.expiresAt - now),
            domain: config.cookie.domain, path: config.cookie.path, secure: config.cookie.secure,
            httpOnly: true, sameSite: config.cookie.sameSite
        ).headerValue
    }

    /// The `Set-Cookie` value that removes the session cookie.
    func clearCookie() -> String {
        SetCookie.expired(
            name: config.cookie.name, domain: config.cookie.domain, path: config.cookie.path,
            secure: config.cookie.secure, sameSite: config.cookie.sameSite
        ).headerValue
    }
}
