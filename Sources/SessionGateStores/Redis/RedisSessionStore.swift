import Crypto
import Logging
import RedisWire
import SessionGateCore

/// Sessions in Redis, standalone or Cluster, shared by every proxy replica.
///
/// Layout (see `RedisSessionScripts` for the fields):
/// - `<prefix>{<storeKey>}`: one hash per session; the hash tag keeps each session in one slot.
/// - `<prefix>u:{<sha256(user id)>}`: the user's index, a sorted set of store keys scored by
///   each session's *absolute* expiry. Every index write first drops members whose score has
///   passed (`ZREMRANGEBYSCORE`), so it holds at most the sessions started within one absolute
///   timeout — Spring Session's index grew forever. Absolute, not idle, expiry is the score
///   because touches slide only the idle expiry and must stay one command on the session key.
///
/// In a cluster the index and a session usually live in different slots, so no script can
/// touch both. The index is therefore a list of *candidates*: revocation reads it, then deletes
/// each session with a script on the session's own slot that checks the session still belongs
/// to that user (`revokeOne`). Index writes happen next to the session write (same pipeline on
/// create); a member without a session, or one whose user changed, is harmless and pruned.
///
/// - `<prefix>s:{<handle>}`: the store key of the session whose `sid` is `handle` (revoking by
///   handle: the handle is a hash of the id, so the store key cannot be derived from it). A
///   string written with the session (same pipeline), with the session's *absolute* TTL so it
///   outlives every touch; moved on rotation, deleted on destroy and on revoking by handle or by
///   the bound. Sessions ended by `revokeUser` leave theirs to expire: a mapping whose session is
///   gone only makes `revoke(handle:)` answer false, and the revoke script checks the hash's `h`,
///   so a stale mapping can never end another session. Hashes written before handles were kept
///   get `h` and the mapping at their first touch; until then they are revoked with their user
///   (`revokeUser`) but not listed.
///
/// `max_per_user`: see `enforceBound` (joins of one user are ordered by its index key).
/// `liveSessionCount` is nil: Redis has no cheap exact count of one prefix's live sessions.
///
/// Costs: `load` is one `HMGET`; `touch` one `EVALSHA`; `create` one pipeline (plus, under
/// `max_per_user` with more earlier sessions than the bound, one pipeline of `HMGET`s and the
/// revocations); listing is the index script plus one pipeline of `HMGET`s.
public final class RedisSessionStore: SessionStore {
    public let reach = StoreReach.serverSide
    public let executor: any RedisExecutor
    let policy: SessionPolicy
    let random: any RandomBytes
    /// Namespace of every key this store writes.
    public let keyPrefix: String
    public let maxDataBytes: Int
    let logger: Logger

    /// - Parameters:
    ///   - executor: a `RedisClient` (standalone) or `RedisClusterClient`.
    ///   - keyPrefix: namespace for every key, so several deployments can share a server.
    ///   - maxDataBytes: largest session data (JSON) accepted; larger writes fail `.tooLarge`.
    public init(
        executor: any RedisExecutor, policy: SessionPolicy, random: any RandomBytes, keyPrefix: String = "sg:",
        maxDataBytes: Int = 1 << 20, logger: Logger = Logger(label: "sessiongate.store.redis")
    ) {
        self.executor = executor
        self.policy = policy
        self.random = random
        self.keyPrefix = keyPrefix
        self.maxDataBytes = maxDataBytes
        self.logger = logger
    }

    /// Closes the connections (the `RedisStoreService` calls this on shutdown).
    public func shutdown() async {
        switch executor {
        case let client as RedisClient: await client.close()
        case let cluster as RedisClusterClient: await cluster.close()
        case let sentinel as RedisSentinelClient: await sentinel.close()
        default: break
        }
    }

    // MARK: - SessionStore

    public func load(_ ticket: SessionTicket, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let id = SessionID(ticket: ticket) else { return nil }
        let reply = try await run("load") { () async throws(RedisError) in
            try await self.executor.send(self.loadCommand(id))
        }
        return try loaded(reply, id: id, now: now)
    }

    /// The same `HMGET` as `load`, without a Task, when a connection is open (standalone Redis).
    public func load(
        _ ticket: SessionTicket, now: UnixSeconds,
        completion: @escaping @Sendable (Result<StoredSession?, StoreError>) -> Void
    ) -> Bool {
        guard let id = SessionID(ticket: ticket) else { return false }
        return executor.sendIfReady(loadCommand(id)) { [self] result in
            switch result {
            case .success(let reply):
                completion(Result { () throws(StoreError) in try loaded(reply, id: id, now: now) })
            case .failure(let error):
                completion(.failure(Self.storeError(error, "load")))
            }
        }
    }

    /// The live session in an `HMGET` reply: nil when the key is missing (seven nils) or the
    /// session has expired by `now`.
    private func loaded(_ reply: RESPValue, id: SessionID, now: UnixSeconds) throws(StoreError) -> StoredSession? {
        guard let session = try decode(reply, id: id, what: "load", nullMeansGone: false, absentDataMeansGone: true),
            session.times.isLive(at: now)
        else { return nil }
        return session
    }

    public func create(data: [String: JSONValue], client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession
    {
        let json = JSONSerializer.serialize(.object(data))
        guard json.count <= maxDataBytes else { throw StoreError(.tooLarge, "session data over \(maxDataBytes) bytes") }
        let id = SessionID.generate(using: random)
        let times = policy.newTimes(now: now)
        let user = policy.userID(of: data)
        let metadata = SessionMetadata(createdBy: client)
        let writes = [
            writeCommand(id, json: json, times: times, user: user, metadata: metadata, now: now),
            mapHandleCommand(id, times: times, now: now),
        ]
        if let user, policy.maxPerUser > 0 {
            let replies = try await runScripts("create", writes + [indexJoinCommand(user: user, member: id, times: times, now: now)])
            for reply in replies.prefix(writes.count) { try RedisReply.integer(reply, "create", in: 1...1) }
            try await enforceBound(user: user, earlier: try RedisReply.strings(replies[writes.count], "create"), now: now, "create")
        } else {
            let index = user.map { [indexAddCommand(user: $0, member: id, times: times, dropping: nil, now: now)] } ?? []
            try await runWrites("create", writes + index)
        }
        return StoredSession(ticket: SessionTicket(id.bytes), handle: id.handle, data: data, times: times, metadata: metadata)
    }

    public func patch(_ session: StoredSession, with patch: JSONValue, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        guard case .object(let members) = patch else { return try await load(session.ticket, now: now) }
        // A merge replaces data[userKey] with the patch's value (merged into {} when an object),
        // so the patch alone says whether and how the user changes.
        let userChange = policy.userChange(in: members)
        let arguments: [RESPArgument] = [
            RESPArgument(now), RESPArgument(bytes: JSONSerializer.serialize(patch)), userChange == nil ? "0" : "1",
            RESPArgument((userChange ?? nil) ?? ""), RESPArgument(maxDataBytes),
        ]
        let reply = try await run("patch") { () async throws(RedisError) in
            try await self.executor.evaluate(RedisSessionScripts.patch, keys: [self.sessionKey(id)], arguments: arguments)
        }
        // The fields, then the user before the patch (nil when the hash had none).
        guard let updated = try RedisReply.session(reply, "patch", extra: 1, nullMeansGone: true, maxDataBytes: maxDataBytes)
        else { return nil }
        let previous = try RedisReply.optionalString(updated.extra[0], "patch") ?? ""
        let times = updated.times
        if let userChange, previous != (userChange ?? "") {
            try await reindex(id, from: previous.isEmpty ? nil : previous, to: userChange, times: times, now: now)
        }
        return stored(id, updated)
    }

    public func rotate(_ session: StoredSession, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        guard let old = SessionID(ticket: session.ticket) else { return nil }
        // Take (read + delete atomically) then write under the new key: the two keys may be in
        // different slots, and a patch racing the rotation then finds no session rather than
        // writing into one that is about to be copied.
        let reply = try await run("rotate") { () async throws(RedisError) in
            try await self.executor.evaluate(RedisSessionScripts.take, keys: [self.sessionKey(old)], arguments: [RESPArgument(now)])
        }
        guard let taken = try RedisReply.session(reply, "rotate", nullMeansGone: true, maxDataBytes: maxDataBytes) else {
            return nil
        }
        let fresh = SessionID.generate(using: random)
        var commands = [
            writeCommand(fresh, json: taken.json, times: taken.times, user: taken.user, metadata: taken.metadata, now: now),
            mapHandleCommand(fresh, times: taken.times, now: now), unmapHandleCommand(old.handle),
        ]
        if let user = taken.user {
            commands.append(indexAddCommand(user: user, member: fresh, times: taken.times, dropping: old, now: now))
        }
        try await runWrites("rotate", commands)
        return stored(fresh, taken)
    }

    public func destroy(_ session: StoredSession) async throws(StoreError) {
        guard let id = SessionID(ticket: session.ticket) else { return }
        let reply = try await run("destroy") { () async throws(RedisError) in
            try await self.executor.evaluate(RedisSessionScripts.destroy, keys: [self.sessionKey(id)])
        }
        // The session's user: '' when none, nil when there was no session.
        guard let user = try RedisReply.optionalString(reply, "destroy") else { return }
        if !user.isEmpty { try await unindex([id.storeKey], user: user, "destroy") }
        try await runWrites("destroy", [unmapHandleCommand(id.handle)])
    }

    public func touch(_ session: StoredSession, client: ClientInfo, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket) else { return nil }
        let arguments = [RESPArgument(now), RESPArgument(client.ip ?? ""), RESPArgument(id.handle)]
        let reply = try await run("touch") { () async throws(RedisError) in
            try await self.executor.evaluate(RedisSessionScripts.touch, keys: [self.sessionKey(id)], arguments: arguments)
        }
        // The fields, then '1' when the hash predates handles and just got one (map it, once).
        guard let touched = try RedisReply.session(reply, "touch", extra: 1, nullMeansGone: true, maxDataBytes: maxDataBytes)
        else { return nil }
        if try RedisReply.optionalString(touched.extra[0], "touch") == "1" {
            try await runWrites("touch", [mapHandleCommand(id, times: touched.times, now: now)])
        }
        return stored(id, touched)
    }

    public func setLifetime(_ session: StoredSession, seconds: Int64, now: UnixSeconds) async throws(StoreError)
        -> StoredSession?
    {
        guard let id = SessionID(ticket: session.ticket), seconds > 0 else { return nil }
        let reply = try await run("lifetime") { () async throws(RedisError) in
            try await self.executor.evaluate(
                RedisSessionScripts.setLifetime, keys: [self.sessionKey(id)], arguments: [RESPArgument(now), RESPArgument(seconds)])
        }
        guard let updated = try RedisReply.session(reply, "lifetime", nullMeansGone: true, maxDataBytes: maxDataBytes) else {
            return nil
        }
        // The absolute expiry moved: so do the index score and the handle mapping's TTL.
        var writes = [mapHandleCommand(id, times: updated.times, now: now)]
        if let user = updated.user {
            writes.append(indexAddCommand(user: user, member: id, times: updated.times, dropping: nil, now: now))
        }
        try await runWrites("lifetime", writes)
        return stored(id, updated)
    }

    public func revokeUser(_ userID: String, keeping: SessionTicket?, now: UnixSeconds) async throws(StoreError) -> Int {
        let index = indexKey(userID)
        let listed = try await run("revoke") { () async throws(RedisError) in
            try await self.executor.evaluate(RedisSessionScripts.indexList, keys: [index], arguments: [RESPArgument(now)])
        }
        let keep = keeping.flatMap { SessionID(ticket: $0)?.storeKey }
        let members = try RedisReply.strings(listed, "revoke").filter { $0 != keep }
        guard !members.isEmpty else { return 0 }
        let commands = members.map { member in
            scriptCommand(
                RedisSessionScripts.revokeOne, key: RESPArgument(keyPrefix + "{" + member + "}"),
                arguments: [RESPArgument(userID), RESPArgument(now)])
        }
        let replies = try await runScripts("revoke", commands)
        let removed = try await run("revoke") { () async throws(RedisError) in
            try await self.executor.send(["ZREM", index] + members.map { RESPArgument($0) })
        }
        try RedisReply.integer(removed, "revoke", in: 0...Int64(members.count))
        var ended = 0
        for reply in replies { ended += Int(try RedisReply.integer(reply, "revoke", in: 0...1)) }
        return ended
    }

    /// The user's index (pruned of expired members), then one `HMGET` per member in one
    /// pipeline; members whose session is gone, expired or another user's are dropped from it.
    public func listSessions(ofUser userID: String, now: UnixSeconds) async throws(StoreError) -> [SessionSummary] {
        let listed = try await run("list") { () async throws(RedisError) in
            try await self.executor.evaluate(
                RedisSessionScripts.indexList, keys: [self.indexKey(userID)], arguments: [RESPArgument(now)])
        }
        let members = try RedisReply.strings(listed, "list")
        guard !members.isEmpty else { return [] }
        let (live, gone) = try await summaries(of: members, user: userID, now: now, "list")
        try await unindex(gone, user: userID, "list")
        return live.filter(\.hasHandle).map(\.summary).sorted(by: SessionSummary.mostRecentFirst)
    }

    /// `GET` of the handle's mapping, then a script on the session that checks the handle, the
    /// owner and liveness before deleting; then the index entry and the mapping go.
    public func revoke(handle: String, ofUser userID: String?, now: UnixSeconds) async throws(StoreError) -> Bool {
        // Handles are base64url; anything else (an API caller's typo) names no session.
        guard !handle.isEmpty, handle.utf8.count <= 64, handle.utf8.allSatisfy(Self.isBase64URL) else { return false }
        let mapped = try await run("revoke") { () async throws(RedisError) in
            try await self.executor.send(["GET", self.handleKey(handle)])
        }
        guard let storeKey = try RedisReply.optionalString(mapped, "revoke") else { return false }
        guard storeKey.utf8.count == 64, storeKey.utf8.allSatisfy(Self.isLowerHex) else {
            throw RedisReply.unexpected("revoke", mapped, expected: "a store key")
        }
        let arguments = [
            RESPArgument(handle), userID == nil ? "0" : "1", RESPArgument(userID ?? ""), RESPArgument(now),
        ]
        let reply = try await run("revoke") { () async throws(RedisError) in
            try await self.executor.evaluate(
                RedisSessionScripts.revokeHandle, keys: [RESPArgument(self.keyPrefix + "{" + storeKey + "}")],
                arguments: arguments)
        }
        if RedisReply.isGone(reply) { return false }
        let owner = try RedisReply.optionalString(reply, "revoke") ?? ""
        try await runWrites("revoke", [unmapHandleCommand(handle)])
        if !owner.isEmpty { try await unindex([storeKey], user: owner, "revoke") }
        return true
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 45 || byte == 95
    }

    static func isLowerHex(_ byte: UInt8) -> Bool { (48...57).contains(byte) || (97...102).contains(byte) }

    /// Nil: Redis has no cheap exact count of this store's live sessions (`DBSIZE` counts every
    /// key of the database, `SCAN` is linear in all of them).
    public func liveSessionCount(now: UnixSeconds) async throws(StoreError) -> Int? { nil }

    public func checkHealth() async throws(StoreError) {
        let reply = try await run("health check") { () async throws(RedisError) in try await self.executor.send(["PING"]) }
        try RedisReply.pong(reply, "health check")
    }
}
