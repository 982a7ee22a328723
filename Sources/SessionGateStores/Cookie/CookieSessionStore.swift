import SessionGateCore

/// Keeps the whole session in the client's cookie: the ticket *is* the session (data and
/// timestamps as JSON), sealed by the proxy like any ticket. Nothing is stored server-side, so:
/// timeouts are enforced from the sealed timestamps, but a copy of a cookie the client kept stays
/// valid until it expires — rotate, destroy and revoke reach only the client that gets the
/// response (`reach == .clientSide`). Concurrent patches from parallel requests are applied to
/// each request's copy, so the last response's cookie wins. The 4096-byte browser limit is
/// enforced by the proxy: a session that would not fit is refused with 503, never truncated.
public struct CookieSessionStore: SessionStore {
    public let reach = StoreReach.clientSide
    let policy: SessionPolicy
    let random: any RandomBytes

    public init(policy: SessionPolicy, random: any RandomBytes) {
        self.policy = policy
        self.random = random
    }

    public func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let session = CookieTicketCodec.decode(ticket), session.times.isLive(at: now) else { return nil }
        return session
    }

    public func loadWithoutSuspending(_ ticket: SessionTicket, now: UnixSeconds) -> InPlaceLoad {
        guard let session = CookieTicketCodec.decode(ticket), session.times.isLive(at: now) else { return .missing }
        return .found(session)
    }

    /// The client's metadata is not kept: it would grow every cookie, and nothing can list it.
    public func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession
    {
        encoded(handle: newHandle(), data: data, times: policy.newTimes(now: now))
    }

    public func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard session.times.isLive(at: now), case .object(let data) = MergePatch.apply(patch, to: .object(session.data))
        else { return nil }
        return encoded(handle: session.handle, data: data, times: session.times)
    }

    public func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard session.times.isLive(at: now) else { return nil }
        return encoded(handle: newHandle(), data: session.data, times: session.times)
    }

    public func destroy(_ session: StoredSession) async throws(StoreError) {}

    public func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard session.times.isLive(at: now) else { return nil }
        var times = session.times
        times.lastSeenAt = now
        times.idleExpiresAt = min(now + times.idleSeconds, times.absoluteExpiresAt)
        return encoded(handle: session.handle, data: session.data, times: times)
    }

    public func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard session.times.isLive(at: now) else { return nil }
        var times = session.times
        times.lastSeenAt = now
        times.idleSeconds = seconds
        times.idleExpiresAt = now + seconds
        times.absoluteExpiresAt = now + seconds
        return encoded(handle: session.handle, data: session.data, times: times)
    }

    /// Cookie sessions cannot be reached server-side: nothing to revoke here (documented).
    public func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int { 0 }

    public func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        throw Self.cannotReachOthers
    }

    public func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        throw Self.cannotReachOthers
    }

    /// Nothing is stored: there is nothing to count.
    public func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? { nil }

    static let cannotReachOthers = StoreError(
        .unsupported,
        "the cookie store keeps each session in its client's cookie: it cannot list sessions or end one from elsewhere")

    public func checkHealth() async throws(StoreError) {}

    private func newHandle() -> String { Base64URL.encode(random.bytes(16)) }

    private func encoded(handle: String, data: [String: JSONValue], times: SessionTimes) -> StoredSession {
        var session = StoredSession(ticket: SessionTicket([]), handle: handle, data: data, times: times)
        session.ticket = CookieTicketCodec.encode(session)
        return session
    }
}

/// The cookie store's ticket format: a compact JSON object
/// `{"v":1,"h":handle,"d":data,"t":[created,lastSeen,idleExpires,absoluteExpires,idleSeconds]}`.
enum CookieTicketCodec {
    static func encode(_ session: StoredSession) -> SessionTicket {
        let times = session.times
        let value: JSONValue = [
            "v": 1, "h": .string(session.handle), "d": .object(session.data),
            "t": .array(
                [times.createdAt, times.lastSeenAt, times.idleExpiresAt, times.absoluteExpiresAt, times.idleSeconds].map {
                    .int($0)
                }),
        ]
        return SessionTicket(JSONSerializer.serialize(value))
    }

    static func decode(_ ticket: SessionTicket) -> StoredSession? {
        guard let value = try? JSONParser.parse(ticket.bytes), case .object(let root) = value,
            root["v"] == 1, case .string(let handle)? = root["h"], case .object(let data)? = root["d"],
            case .array(let times)? = root["t"], times.count == 5
        else { return nil }
        var numbers: [Int64] = []
        for time in times {
            guard case .int(let number) = time else { return nil }
            numbers.append(number)
        }
        let sessionTimes = SessionTimes(
            createdAt: numbers[0], lastSeenAt: numbers[1], idleExpiresAt: numbers[2], absoluteExpiresAt: numbers[3],
            idleSeconds: numbers[4])
        return StoredSession(ticket: ticket, handle: handle, data: data, times: sessionTimes)
    }
}
