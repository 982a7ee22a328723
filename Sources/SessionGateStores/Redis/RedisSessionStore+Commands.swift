import Crypto
import RedisWire
import SessionGateCore

/// One script invocation, ready to pipeline.
struct RedisScriptCall: Sendable {
    let script: RedisScript
    let keys: [RESPArgument]
    let arguments: [RESPArgument]

    var evalsha: [RESPArgument] { ["EVALSHA", RESPArgument(script.sha1), RESPArgument(keys.count)] + keys + arguments }
}

extension RedisSessionStore {
    func sessionKey(_ id: SessionID) -> RESPArgument {
        var key: [UInt8] = []
        key.reserveCapacity(keyPrefix.utf8.count + 66)
        key.append(contentsOf: keyPrefix.utf8)
        key.append(UInt8(ascii: "{"))
        id.appendStoreKey(to: &key)
        key.append(UInt8(ascii: "}"))
        return RESPArgument(bytes: key)
    }

    /// `HMGET <session key> <every session field>`, built with one array.
    func loadCommand(_ id: SessionID) -> [RESPArgument] {
        var command: [RESPArgument] = []
        command.reserveCapacity(2 + RedisSessionScripts.fields.count)
        command.append(RedisSessionScripts.hmget)
        command.append(sessionKey(id))
        command.append(contentsOf: RedisSessionScripts.fields)
        return command
    }

    /// The user id is hashed so keys never show it, and so any id is a safe hash tag.
    func indexKey(_ userID: String) -> RESPArgument {
        RESPArgument(keyPrefix + "u:{" + Hex.encode(SHA256.hash(data: Array(userID.utf8))) + "}")
    }

    /// Where a `sid` handle maps to its store key (revoking by handle). Handles are base64url,
    /// so any is a safe hash tag.
    func handleKey(_ handle: String) -> RESPArgument { RESPArgument(keyPrefix + "s:{" + handle + "}") }

    func scriptCommand(_ script: RedisScript, key: RESPArgument, arguments: [RESPArgument]) -> RedisScriptCall {
        RedisScriptCall(script: script, keys: [key], arguments: arguments)
    }

    func writeCommand(
        _ id: SessionID, json: [UInt8], times: SessionTimes, user: String?, metadata: SessionMetadata, now: UnixSeconds
    ) -> RedisScriptCall {
        scriptCommand(
            RedisSessionScripts.write, key: sessionKey(id),
            arguments: [
                RESPArgument(bytes: json), RESPArgument(times.createdAt), RESPArgument(times.lastSeenAt),
                RESPArgument(times.idleExpiresAt), RESPArgument(times.absoluteExpiresAt), RESPArgument(times.idleSeconds),
                RESPArgument(user ?? ""), RESPArgument(id.handle), RESPArgument(metadata.createdIP ?? ""),
                RESPArgument(metadata.lastIP ?? ""), RESPArgument(metadata.userAgent ?? ""),
                RESPArgument(max(1, times.expiresAt - now)),
            ])
    }

    /// Maps `id`'s handle to its store key until the session's absolute expiry (touches never
    /// move that, so the mapping outlives the session).
    func mapHandleCommand(_ id: SessionID, times: SessionTimes, now: UnixSeconds) -> RedisScriptCall {
        scriptCommand(
            RedisSessionScripts.mapHandle, key: handleKey(id.handle),
            arguments: [RESPArgument(id.storeKey), RESPArgument(max(1, times.absoluteExpiresAt - now))])
    }

    func unmapHandleCommand(_ handle: String) -> RedisScriptCall {
        scriptCommand(RedisSessionScripts.unmapHandle, key: handleKey(handle), arguments: [])
    }

    /// `indexAdd` for a session joining `user` under `max_per_user`; answers the earlier members.
    func indexJoinCommand(user: String, member: SessionID, times: SessionTimes, now: UnixSeconds) -> RedisScriptCall {
        scriptCommand(
            RedisSessionScripts.indexJoin, key: indexKey(user),
            arguments: [RESPArgument(now), RESPArgument(member.storeKey), RESPArgument(times.absoluteExpiresAt)])
    }

    func indexAddCommand(user: String, member: SessionID, times: SessionTimes, dropping: SessionID?, now: UnixSeconds)
        -> RedisScriptCall
    {
        scriptCommand(
            RedisSessionScripts.indexAdd, key: indexKey(user),
            arguments: [
                RESPArgument(now), RESPArgument(member.storeKey), RESPArgument(times.absoluteExpiresAt),
                RESPArgument(dropping?.storeKey ?? ""),
            ])
    }

    /// Moves `id` from one user's index to another's after a patch changed the user field.
    func reindex(_ id: SessionID, from previous: String?, to next: String?, times: SessionTimes, now: UnixSeconds)
        async throws(StoreError)
    {
        if let previous {
            let removed = try await run("reindex") { () async throws(RedisError) in
                try await self.executor.send(["ZREM", self.indexKey(previous), RESPArgument(id.storeKey)])
            }
            try RedisReply.integer(removed, "reindex", in: 0...1)
        }
        if let next {
            try await index(id, joining: next, times: times, now: now, "reindex")
        }
    }

    /// Adds `id` to `user`'s index; under `max_per_user`, then ends that user's least recently
    /// seen sessions that joined before `id`, past the bound.
    func index(_ id: SessionID, joining user: String, times: SessionTimes, now: UnixSeconds, _ what: String)
        async throws(StoreError)
    {
        guard policy.maxPerUser > 0 else {
            return try await runWrites(what, [indexAddCommand(user: user, member: id, times: times, dropping: nil, now: now)])
        }
        let replies = try await runScripts(what, [indexJoinCommand(user: user, member: id, times: times, now: now)])
        try await enforceBound(user: user, earlier: try RedisReply.strings(replies[0], what), now: now, what)
    }

    /// `max_per_user` for a session that just joined `user` after the index members `earlier`:
    /// keeps the `maxPerUser - 1` most recently seen of them that are live, ends the others.
    ///
    /// Joins of one user are ordered by the index key (each `indexJoin` runs atomically on its
    /// node), and a join only ends sessions that joined before it, so two logins never end each
    /// other and the newest one always survives. Once concurrent joins have finished, at most
    /// `maxPerUser` live sessions remain; while they run, one more per join in flight may.
    func enforceBound(user: String, earlier: [String], now: UnixSeconds, _ what: String) async throws(StoreError) {
        guard earlier.count >= policy.maxPerUser else { return }
        let (live, gone) = try await summaries(of: earlier, user: user, now: now, what)
        let victims = live.sorted { SessionSummary.mostRecentFirst($0.summary, $1.summary) }
            .dropFirst(policy.maxPerUser - 1)
        try await end(Array(victims), user: user, now: now, what)
        try await unindex(gone, user: user, what)
    }

    /// A live session of a user's index: its member (store key) and summary. `hasHandle` is false
    /// for a hash from before handles were kept (its `handle` is then the store key, for ordering).
    struct IndexedSession {
        var member: String
        var summary: SessionSummary
        var hasHandle: Bool
    }

    /// The sessions behind index `members`: the live ones of `user`, and the members that are
    /// gone, expired or no longer that user's (to drop from the index). One pipeline of `HMGET`s
    /// (per node on a cluster).
    func summaries(of members: [String], user: String, now: UnixSeconds, _ what: String) async throws(StoreError)
        -> (live: [IndexedSession], gone: [String])
    {
        let replies = try await runPipeline(
            what, members.map { ["HMGET", RESPArgument(keyPrefix + "{" + $0 + "}")] + RedisSessionScripts.summaryFields })
        var live: [IndexedSession] = []
        var gone: [String] = []
        for (member, reply) in zip(members, replies) {
            guard let found = try RedisReply.summary(reply, what), found.user == user, found.times.isLive(at: now) else {
                gone.append(member)
                continue
            }
            live.append(
                IndexedSession(
                    member: member,
                    summary: SessionSummary(handle: found.handle ?? member, times: found.times, metadata: found.metadata),
                    hasHandle: found.handle != nil))
        }
        return (live, gone)
    }

    /// Ends `sessions` of `user` (each only if still that user's), drops them from the index and
    /// forgets their handles.
    func end(_ sessions: [IndexedSession], user: String, now: UnixSeconds, _ what: String) async throws(StoreError) {
        guard !sessions.isEmpty else { return }
        let revokes = sessions.map { session in
            scriptCommand(
                RedisSessionScripts.revokeOne, key: RESPArgument(keyPrefix + "{" + session.member + "}"),
                arguments: [RESPArgument(user), RESPArgument(now)])
        }
        for reply in try await runScripts(what, revokes) { try RedisReply.integer(reply, what, in: 0...1) }
        try await runWrites(what, sessions.filter(\.hasHandle).map { unmapHandleCommand($0.summary.handle) })
        try await unindex(sessions.map(\.member), user: user, what)
    }

    /// Drops `members` from `user`'s index.
    func unindex(_ members: [String], user: String, _ what: String) async throws(StoreError) {
        guard !members.isEmpty else { return }
        let removed = try await run(what) { () async throws(RedisError) in
            try await self.executor.send(["ZREM", self.indexKey(user)] + members.map { RESPArgument($0) })
        }
        try RedisReply.integer(removed, what, in: 0...Int64(members.count))
    }

    /// Runs plain commands in one pipeline (per node on a cluster); any error reply throws.
    func runPipeline(_ what: String, _ commands: [[RESPArgument]]) async throws(StoreError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let results = try await run(what) { () async throws(RedisError) in try await self.executor.pipeline(commands) }
        guard results.count == commands.count else {
            throw StoreError(.protocolError, "redis \(what): \(results.count) replies to \(commands.count) commands")
        }
        var values: [RESPValue] = []
        values.reserveCapacity(results.count)
        for result in results {
            switch result {
            case .success(let value): values.append(value)
            case .failure(let error): throw Self.storeError(error, what)
            }
        }
        return values
    }

    /// Runs write scripts (`write`, `indexAdd`) with `runScripts`; each must answer 1.
    func runWrites(_ what: String, _ calls: [RedisScriptCall]) async throws(StoreError) {
        guard !calls.isEmpty else { return }
        for reply in try await runScripts(what, calls) { try RedisReply.integer(reply, what, in: 1...1) }
    }

    /// Runs the calls in one pipeline (per node on a cluster). Scripts the server lost
    /// (`NOSCRIPT`) are re-sent one by one with `EVAL`; any other error reply throws.
    func runScripts(_ what: String, _ calls: [RedisScriptCall]) async throws(StoreError) -> [RESPValue] {
        let results = try await run(what) { () async throws(RedisError) in
            try await self.executor.pipeline(calls.map(\.evalsha))
        }
        guard results.count == calls.count else {
            throw StoreError(.protocolError, "redis \(what): \(results.count) replies to \(calls.count) commands")
        }
        var values: [RESPValue] = []
        values.reserveCapacity(calls.count)
        for (call, result) in zip(calls, results) {
            switch result {
            case .success(let value):
                values.append(value)
            case .failure(let error) where error.serverErrorPrefix == "NOSCRIPT":
                values.append(
                    try await run(what) { () async throws(RedisError) in
                        try await self.executor.evaluate(call.script, keys: call.keys, arguments: call.arguments)
                    })
            case .failure(let error):
                throw Self.storeError(error, what)
            }
        }
        return values
    }

    /// Runs Redis work, mapping its errors to `StoreError` (never quoting keys or data).
    func run<Value>(_ what: String, _ work: () async throws(RedisError) -> Value) async throws(StoreError) -> Value {
        do {
            return try await work()
        } catch {
            throw Self.storeError(error, what)
        }
    }

    static func storeError(_ error: RedisError, _ what: String) -> StoreError {
        switch error.code {
        case .timeout:
            return StoreError(.timeout, "redis \(what): \(error.message)")
        case .connectionFailed, .connectionClosed, .unavailable, .shutdown, .tooManyRedirections:
            return StoreError(.unavailable, "redis \(what): \(error.message)")
        case .protocolError, .configuration:
            return StoreError(.protocolError, "redis \(what): \(error.message)")
        case .server:
            if error.serverErrorPrefix == "SGTOOLARGE" { return StoreError(.tooLarge, "redis \(what): session data too large") }
            if error.message.contains("sessiongate:") { return StoreError(.corrupt, "redis \(what): stored session is not valid JSON") }
            // Server messages can name script internals; keep only the error class.
            return StoreError(.protocolError, "redis \(what): server error \(error.serverErrorPrefix ?? "ERR")")
        }
    }

    /// A session from a reply of the fields d c l i a s u h ip lip ua; nil when the reply says
    /// it is gone (see `RedisReply.session`), a `.protocolError` for any shape the command does
    /// not send.
    func decode(
        _ reply: RESPValue, id: SessionID, what: String, nullMeansGone: Bool, absentDataMeansGone: Bool = false
    ) throws(StoreError) -> StoredSession? {
        guard
            let fields = try RedisReply.session(
                reply, what, nullMeansGone: nullMeansGone, absentDataMeansGone: absentDataMeansGone, maxDataBytes: maxDataBytes)
        else { return nil }
        return stored(id, fields)
    }

    /// The session `id` with what a script read of it.
    func stored(_ id: SessionID, _ fields: RedisReply.Session) -> StoredSession {
        StoredSession(
            ticket: SessionTicket(id.bytes), handle: id.handle, data: fields.data, times: fields.times,
            metadata: fields.metadata)
    }
}
