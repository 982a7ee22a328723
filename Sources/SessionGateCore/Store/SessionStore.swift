import Crypto

/// The bytes a session cookie carries inside its AEAD seal. For server-side stores this is the
/// session id (never stored as such: the store key is a hash of it); for the cookie store it is
/// the whole encoded session. The proxy seals and opens tickets; stores only see them opened.
public struct SessionTicket: Sendable, Hashable {
    public let bytes: [UInt8]
    /// SHA-256 of `bytes`, when the ticket was made by `init(precomputingDigestOf:)`: a server-side
    /// store's key derives from it (`SessionID.storeKey`), so a ticket used on many requests (a
    /// connection's `OpenedCookie`) hashes once. Always of `bytes` (`bytes` never changes).
    let digest: SHA256Digest?
    /// `SessionID.handle` of `bytes`, made by `init(precomputingDigestOf:)` with the digest: a
    /// store that works the handle out from the id on each load (Redis, rather than trust the
    /// copy in its hash) uses this one, so a ticket used on many requests hashes it once.
    let handle: String?

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        digest = nil
        handle = nil
    }

    /// A ticket whose digest and handle are worked out now, for a ticket that will be loaded many
    /// times. `bytes` of any length: only an id's length gets them (another is no `SessionID`).
    public init(precomputingDigestOf bytes: [UInt8]) {
        self.bytes = bytes
        guard bytes.count == SessionID.byteCount else {
            digest = nil
            handle = nil
            return
        }
        digest = SessionID.digest(of: bytes)
        handle = SessionID.handle(of: bytes)
    }

    /// Tickets are their bytes: whether the digest and handle were precomputed does not matter.
    public static func == (lhs: SessionTicket, rhs: SessionTicket) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// The timing state of one session. All instants are Unix seconds.
public struct SessionTimes: Sendable, Equatable {
    public var createdAt: UnixSeconds
    public var lastSeenAt: UnixSeconds
    /// Sliding limit, moved by touches (never past `absoluteExpiresAt`).
    public var idleExpiresAt: UnixSeconds
    /// Hard limit from creation (or from the last `X-Session-Lifetime`).
    public var absoluteExpiresAt: UnixSeconds
    /// The idle window a touch extends by: `idle_timeout`, or the `X-Session-Lifetime` value.
    public var idleSeconds: Int64

    public init(
        createdAt: UnixSeconds, lastSeenAt: UnixSeconds, idleExpiresAt: UnixSeconds,
        absoluteExpiresAt: UnixSeconds, idleSeconds: Int64
    ) {
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.idleExpiresAt = idleExpiresAt
        self.absoluteExpiresAt = absoluteExpiresAt
        self.idleSeconds = idleSeconds
    }

    /// The instant the session ends unless touched.
    public var expiresAt: UnixSeconds { min(idleExpiresAt, absoluteExpiresAt) }

    public func isLive(at now: UnixSeconds) -> Bool { now < expiresAt }
}

/// What the proxy knows about the client of one request (after `trusted_proxies`), kept as
/// session metadata by server-side stores.
public struct ClientInfo: Sendable, Equatable {
    /// The bound on a stored `User-Agent`, in UTF-8 bytes (longer ones are cut at a character).
    public static let maxUserAgentBytes = 256

    public var ip: String?
    public var userAgent: String?

    public init(ip: String?, userAgent: String?) {
        self.ip = ip
        self.userAgent = userAgent.map(Self.truncated)
    }

    /// A client the proxy knows nothing about (tests, the CLI).
    public static let unknown = ClientInfo(ip: nil, userAgent: nil)

    /// `text` cut to at most `maxUserAgentBytes` UTF-8 bytes, never inside a character.
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxUserAgentBytes else { return text }
        var result = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            guard bytes + size <= maxUserAgentBytes else { break }
            result.append(character)
            bytes += size
        }
        return result
    }
}

/// Where a session was created from and last seen. Sessions written before stores kept
/// metadata have none (every field nil); they work as before.
public struct SessionMetadata: Sendable, Equatable {
    /// The client IP the session was created from.
    public var createdIP: String?
    /// The client IP of the last touch (moved no more often than `touch_interval`).
    public var lastIP: String?
    /// The `User-Agent` at creation, at most `ClientInfo.maxUserAgentBytes` bytes.
    public var userAgent: String?

    public init(createdIP: String? = nil, lastIP: String? = nil, userAgent: String? = nil) {
        self.createdIP = createdIP
        self.lastIP = lastIP
        self.userAgent = userAgent
    }

    /// The metadata of a session created by `client`.
    public init(createdBy client: ClientInfo) {
        self.init(createdIP: client.ip, lastIP: client.ip, userAgent: client.userAgent)
    }
}

/// A session as a store returns it.
public struct StoredSession: Sendable, Equatable {
    /// What the proxy seals into the cookie to find this session again.
    public var ticket: SessionTicket
    /// A stable, non-secret handle for the `sid` claim and logs; changes when the id rotates.
    public var handle: String
    /// The session object (an RFC 7396 target; always a JSON object).
    public var data: [String: JSONValue]
    public var times: SessionTimes
    public var metadata: SessionMetadata

    public init(
        ticket: SessionTicket, handle: String, data: [String: JSONValue], times: SessionTimes,
        metadata: SessionMetadata = SessionMetadata()
    ) {
        self.ticket = ticket
        self.handle = handle
        self.data = data
        self.times = times
        self.metadata = metadata
    }
}

/// One live session of a user as listings return it: never the id, the ticket or the data.
public struct SessionSummary: Sendable, Equatable {
    /// The `sid` handle.
    public var handle: String
    public var times: SessionTimes
    public var metadata: SessionMetadata

    public init(handle: String, times: SessionTimes, metadata: SessionMetadata) {
        self.handle = handle
        self.times = times
        self.metadata = metadata
    }

    /// Most recently seen first; ties by handle, so listings are stable.
    public static func mostRecentFirst(_ lhs: SessionSummary, _ rhs: SessionSummary) -> Bool {
        lhs.times.lastSeenAt != rhs.times.lastSeenAt ? lhs.times.lastSeenAt > rhs.times.lastSeenAt : lhs.handle < rhs.handle
    }
}

/// Timeouts a store applies to new sessions and touches.
public struct SessionPolicy: Sendable, Equatable {
    public var idleTimeout: Int64
    public var absoluteTimeout: Int64
    /// `user_key`: the data field that names the user, for the per-user index.
    public var userKey: String
    /// `max_per_user`: past it, a session joining a user's sessions ends their least recently
    /// seen other one. 0: no limit.
    public var maxPerUser: Int

    public init(idleTimeout: Int64, absoluteTimeout: Int64, userKey: String, maxPerUser: Int = 0) {
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.userKey = userKey
        self.maxPerUser = maxPerUser
    }

    /// Times for a session created at `now`.
    public func newTimes(now: UnixSeconds) -> SessionTimes {
        let absolute = now + absoluteTimeout
        return SessionTimes(
            createdAt: now, lastSeenAt: now, idleExpiresAt: min(now + idleTimeout, absolute),
            absoluteExpiresAt: absolute, idleSeconds: idleTimeout)
    }

    /// The user id named by `data[userKey]` (strings as is, numbers in their JSON spelling).
    public func userID(of data: [String: JSONValue]) -> String? {
        switch data[userKey] {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        default: nil
        }
    }
}

/// Whether a backend can reach sessions it did not just hand to the client.
public enum StoreReach: Sendable, Equatable {
    /// Redis, Postgres, SQLite, memory: rotate/destroy/revoke take effect everywhere at once.
    case serverSide
    /// Cookie: the session lives in the client's cookie; an old copy stays valid until it expires.
    case clientSide
}

/// Everything the data plane needs from a session backend. Every backend passes the same
/// conformance suite (`Tests/SessionGateStoresTests/StoreConformance.swift`).
///
/// Every method takes `now` instead of reading a clock, so tests fast-forward time.
/// Methods throw `StoreError` when the backend is unreachable or too slow.
public protocol SessionStore: Sendable {
    var reach: StoreReach { get }

    /// The live session for `ticket`, or nil when it is unknown, expired or malformed.
    /// Exactly one round trip for server-side stores.
    func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession?

    /// Creates a session holding `data` with fresh id, the policy's timeouts and the metadata of
    /// `client`. When `data` names a user and `maxPerUser` is set, ends that user's least recently
    /// seen sessions past the bound.
    func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession

    /// Applies the RFC 7396 `patch` (an object) atomically to the *current* stored data, so
    /// concurrent patches of different keys all survive. Updates the user index when the
    /// user field changes. Nil when the session is gone.
    func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?

    /// Moves the session to a fresh id (same data and times); the old ticket stops working.
    /// Nil when the session is gone.
    func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession?

    /// Ends the session. Destroying a missing session is not an error.
    func destroy(_ session: StoredSession) async throws(StoreError)

    /// Slides the idle expiry to `now + idleSeconds` (capped by the absolute expiry) and records
    /// `lastSeenAt` and the client's IP as `lastIP`. Nil when the session is gone.
    func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?

    /// `X-Session-Lifetime`: idle window and absolute expiry both become `seconds` from now.
    func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?

    /// Ends every live session of `userID` except `keeping` (nil: all). Returns how many ended.
    func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int

    /// The live sessions of `userID`, most recently seen first (`SessionSummary.mostRecentFirst`);
    /// empty for an unknown user. Prunes index entries of sessions that are gone.
    /// The cookie store throws `.unsupported`.
    func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary]

    /// Ends the live session whose handle is `handle` — only if it belongs to `userID` when one is
    /// given (the `revoke <sid>` directive). True when a live session ended; false changes nothing.
    /// The cookie store throws `.unsupported`.
    func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool

    /// The number of live sessions when the backend can count them cheaply, else nil.
    func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int?

    /// Throws when the backend is unreachable (for `/readyz`).
    func checkHealth() async throws(StoreError)

    /// For stores that answer from memory: the result of `load` without suspending, so the data
    /// plane can stay on its event loop.
    func loadWithoutSuspending(_ ticket: SessionTicket, now: UnixSeconds) -> InPlaceLoad

    /// For stores whose client runs on event loops (Redis): starts `load` without a Task and
    /// returns true; `completion` is then called exactly once, on whatever thread the store's
    /// client answers on. False means "not available now, call `load`" (and `completion` is
    /// never called). Saves the data plane two thread hops per request.
    func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool
}

extension SessionStore {
    /// `create` for a caller that knows nothing about the client (tests, tools).
    public func create(data: [String: JSONValue], now: UnixSeconds) async throws(StoreError) -> StoredSession {
        try await create(data: data, client: .unknown, now: now)
    }

    /// `touch` for a caller that knows nothing about the client (tests, tools).
    public func touch(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        try await touch(session, client: .unknown, now: now)
    }

    public func loadWithoutSuspending(_ ticket: SessionTicket, now: UnixSeconds) -> InPlaceLoad { .unavailable }

    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool { false }
}

/// The answer of `SessionStore.loadWithoutSuspending`.
public enum InPlaceLoad: Sendable, Equatable {
    /// The store cannot answer without suspending: call `load`.
    case unavailable
    /// The live session.
    case found(StoredSession)
    /// No live session for the ticket (unknown, expired or malformed).
    case missing

    public init(_ session: StoredSession?) { self = session.map(InPlaceLoad.found) ?? .missing }
}

/// A store failure. The description never holds a session id, a URL password or data.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        case unavailable
        case timeout
        case protocolError
        case tooLarge
        case corrupt
        /// The backend cannot do this at all (the cookie store listing sessions).
        case unsupported
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "store \(code.rawValue): \(detail)" }
}
