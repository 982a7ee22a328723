import SessionGateCore
import Synchronization

/// The embedded default: sessions in this process's memory, gone on restart, not shared between
/// replicas. Expired entries are invisible at once and reclaimed by `MemoryStoreSweeper`.
public final class MemorySessionStore: SessionStore {
    struct Entry {
        var handle: String
        var data: [String: JSONValue]
        var times: SessionTimes
        var userID: String?
        var metadata: SessionMetadata

        func session(_ ticket: SessionTicket) -> StoredSession {
            StoredSession(ticket: ticket, handle: handle, data: data, times: times, metadata: metadata)
        }

        var summary: SessionSummary { SessionSummary(handle: handle, times: times, metadata: metadata) }
    }

    struct State {
        var sessions: [StoreDigest: Entry] = [:]
        var users: [String: Set<StoreDigest>] = [:]
        /// handle → store key, for revoking by `sid`.
        var handles: [String: StoreDigest] = [:]

        mutating func insert(_ entry: Entry, key: StoreDigest) {
            sessions[key] = entry
            handles[entry.handle] = key
            index(key, user: entry.userID)
        }

        mutating func remove(_ key: StoreDigest) {
            guard let entry = sessions.removeValue(forKey: key) else { return }
            handles[entry.handle] = nil
            unindex(key, user: entry.userID)
        }

        /// Ends the least recently seen live sessions of `user` other than `keeping` until at most
        /// `bound` remain (0: no bound); drops the user's dead entries on the way.
        mutating func enforce(bound: Int, user: String?, keeping: StoreDigest, now: UnixSeconds) {
            guard bound > 0, let user else { return }
            var live: [(key: StoreDigest, summary: SessionSummary)] = []
            for key in users[user] ?? [] {
                guard let entry = sessions[key], entry.times.isLive(at: now) else {
                    remove(key)
                    continue
                }
                if key != keeping { live.append((key, entry.summary)) }
            }
            live.sort { SessionSummary.mostRecentFirst($0.summary, $1.summary) }
            for victim in live.dropFirst(max(bound - 1, 0)) { remove(victim.key) }
        }

        mutating func unindex(_ key: StoreDigest, user: String?) {
            guard let user else { return }
            users[user]?.remove(key)
            if users[user]?.isEmpty == true { users[user] = nil }
        }

        mutating func index(_ key: StoreDigest, user: String?) {
            guard let user else { return }
            users[user, default: []].insert(key)
        }
    }

    public let reach = StoreReach.serverSide
    let policy: SessionPolicy
    let random: any RandomBytes
    let state = Mutex(State())

    public init(policy: SessionPolicy, random: any RandomBytes) {
        self.policy = policy
        self.random = random
    }

    /// Number of entries held, live or not yet swept (for tests and metrics).
    public var count: Int { state.withLock { $0.sessions.count } }

    public func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        lookup(ticket, now: now)
    }

    public func loadWithoutSuspending(_ ticket: SessionTicket, now: UnixSeconds) -> InPlaceLoad {
        InPlaceLoad(lookup(ticket, now: now))
    }

    private func lookup(_ ticket: SessionTicket, now: UnixSeconds) -> StoredSession? {
        guard let id = SessionID(ticket: ticket) else { return nil }
        return state.withLock { state in
            guard let entry = state.sessions[id.storeDigest], entry.times.isLive(at: now) else { return nil }
            return entry.session(ticket)
        }
    }

    public func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession
    {
        let id = SessionID.generate(using: random)
        let entry = Entry(
            handle: id.handle, data: data, times: policy.newTimes(now: now), userID: policy.userID(of: data),
            metadata: SessionMetadata(createdBy: client))
        state.withLock { state in
            state.insert(entry, key: id.storeDigest)
            state.enforce(bound: policy.maxPerUser, user: entry.userID, keeping: id.storeDigest, now: now)
        }
        return entry.session(SessionTicket(id.bytes))
    }

    public func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        update(session, now: now) { entry in
            if case .object(let merged) = MergePatch.apply(patch, to: .object(entry.data)) {
                entry.data = merged
            }
        }
    }

    public func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let old = SessionID(ticket: session.ticket) else { return nil }
        let fresh = SessionID.generate(using: random)
        return state.withLock { state -> StoredSession? in
            guard var entry = state.sessions[old.storeDigest], entry.times.isLive(at: now) else { return nil }
            state.remove(old.storeDigest)
            entry.handle = fresh.handle
            state.insert(entry, key: fresh.storeDigest)
            return entry.session(SessionTicket(fresh.bytes))
        }
    }

    public func destroy(_ session: StoredSession) async throws(StoreError) {
        guard let id = SessionID(ticket: session.ticket) else { return }
        state.withLock { $0.remove(id.storeDigest) }
    }

    public func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        update(session, now: now) { entry in
            entry.times.lastSeenAt = now
            if let ip = client.ip { entry.metadata.lastIP = ip }
            entry.times.idleExpiresAt = min(now + entry.times.idleSeconds, entry.times.absoluteExpiresAt)
        }
    }

    public func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        update(session, now: now) { entry in
            entry.times.lastSeenAt = now
            entry.times.idleSeconds = seconds
            entry.times.absoluteExpiresAt = now + seconds
            entry.times.idleExpiresAt = now + seconds
        }
    }

    public func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int {
        let keep = keeping.flatMap { SessionID(ticket: $0)?.storeDigest }
        return state.withLock { state in
            var ended = 0
            for key in state.users[userID] ?? [] where key != keep {
                if state.sessions[key]?.times.isLive(at: now) == true { ended += 1 }
                state.remove(key)
            }
            return ended
        }
    }

    public func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        state.withLock { state in
            var live: [SessionSummary] = []
            for key in state.users[userID] ?? [] {
                guard let entry = state.sessions[key], entry.times.isLive(at: now) else {
                    state.remove(key)
                    continue
                }
                live.append(entry.summary)
            }
            return live.sorted(by: SessionSummary.mostRecentFirst)
        }
    }

    public func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        state.withLock { state in
            guard let key = state.handles[handle], let entry = state.sessions[key] else { return false }
            guard entry.times.isLive(at: now) else {
                state.remove(key)
                return false
            }
            if let userID, entry.userID != userID { return false }
            state.remove(key)
            return true
        }
    }

    public func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? {
        state.withLock { state in state.sessions.values.count { $0.times.isLive(at: now) } }
    }

    public func checkHealth() async throws(StoreError) {}

    /// Removes entries that expired before `now`; returns how many.
    @discardableResult
    public func sweep(now: UnixSeconds) -> Int {
        state.withLock { state in
            let expired = state.sessions.filter { !$0.value.times.isLive(at: now) }.map(\.key)
            for key in expired { state.remove(key) }
            return expired.count
        }
    }

    /// Applies `change` to a live entry and re-indexes its user.
    private func update(_ session: StoredSession, now: UnixSeconds, _ change: (inout Entry) -> Void) -> StoredSession? {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let key = id.storeDigest
        return state.withLock { state -> StoredSession? in
            guard var entry = state.sessions[key], entry.times.isLive(at: now) else { return nil }
            let previousUser = entry.userID
            change(&entry)
            entry.userID = policy.userID(of: entry.data)
            state.sessions[key] = entry
            if previousUser != entry.userID {
                state.unindex(key, user: previousUser)
                state.index(key, user: entry.userID)
                state.enforce(bound: policy.maxPerUser, user: entry.userID, keeping: key, now: now)
            }
            return entry.session(session.ticket)
        }
    }
}
