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
    func sessionKey(_ id: SessionID) -> RESPArgument { RESPArgument(keyPrefix + "{" + id.storeKey + "}") }

    /// The user id is hashed so keys never show it, and so any id is a safe hash tag.
    func indexKey(_ userID: String) -> RESPArgument {
        RESPArgument(keyPrefix + "u:{" + Hex.encode(SHA256.hash(data: Array(userID.utf8))) + "}")
    }

    func scriptCommand(_ script: RedisScript, key: RESPArgument, arguments: [RESPArgument]) -> RedisScriptCall {
        RedisScriptCall(script: script, keys: [key], arguments: arguments)
    }

    func writeCommand(_ id: SessionID, json: [UInt8], times: SessionTimes, user: String?, now: UnixSeconds)
        -> RedisScriptCall
    {
        scriptCommand(
            RedisSessionScripts.write, key: sessionKey(id),
            arguments: [
                RESPArgument(bytes: json), RESPArgument(times.createdAt), RESPArgument(times.lastSeenAt),
                RESPArgument(times.idleExpiresAt), RESPArgument(times.absoluteExpiresAt), RESPArgument(times.idleSeconds),
                RESPArgument(user ?? ""), RESPArgument(max(1, times.expiresAt - now)),
            ])
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
            try await runWrites("reindex", [indexAddCommand(user: next, member: id, times: times, dropping: nil, now: now)])
        }
    }

    /// Runs write scripts (`write`, `indexAdd`) with `runScripts`; each must answer 1.
    func runWrites(_ what: String, _ calls: [RedisScriptCall]) async throws(StoreError) {
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

    /// A session from a reply of the fields d c l i a s u; nil when the reply says it is gone
    /// (see `RedisReply.session`), a `.protocolError` for any shape the command does not send.
    func decode(
        _ reply: RESPValue, id: SessionID, what: String, nullMeansGone: Bool, absentDataMeansGone: Bool = false
    ) throws(StoreError) -> StoredSession? {
        guard
            let fields = try RedisReply.session(
                reply, what, nullMeansGone: nullMeansGone, absentDataMeansGone: absentDataMeansGone, maxDataBytes: maxDataBytes)
        else { return nil }
        return StoredSession(ticket: SessionTicket(id.bytes), handle: id.handle, data: fields.data, times: fields.times)
    }
}
