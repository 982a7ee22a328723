/// Reading what Sentinel and `ROLE` answer (pure, so each shape is tested alone).
enum SentinelReplies {
    /// `SENTINEL get-master-addr-by-name` → `[host, port]`; nil (a null reply) when this Sentinel
    /// does not monitor the name.
    static func primaryAddress(_ reply: RESPValue, masterName: String) throws(RedisError) -> RedisNodeAddress? {
        if case .null = reply { return nil }
        guard let parts = reply.array, parts.count == 2, let host = parts[0].string, !host.isEmpty,
            let portText = parts[1].string, let port = Int(portText), (1...65535).contains(port)
        else {
            throw RedisError(.protocolError, "SENTINEL get-master-addr-by-name \(masterName) reply is \(reply), not [host, port]")
        }
        return RedisNodeAddress(host: host, port: port)
    }

    /// The role a `ROLE` reply names first: `master`, `slave` or `sentinel`.
    static func role(_ reply: RESPValue) throws(RedisError) -> String {
        guard let role = reply.array?.first?.string else { throw RedisError(.protocolError, "ROLE reply is \(reply)") }
        return role
    }

    /// Errors after which the client must look for the primary again: the link is gone, or the
    /// server it talks to is (now) a replica.
    static func meansPrimaryMoved(_ error: RedisError) -> Bool {
        error.isConnectionFailure || error.serverErrorPrefix == "READONLY" || error.serverErrorPrefix == "MASTERDOWN"
    }

    /// Errors after which the command certainly did not run, so one retry on the new primary is safe.
    static func commandDidNotRun(_ error: RedisError) -> Bool {
        error.code == .connectionFailed || error.code == .unavailable || error.serverErrorPrefix == "READONLY"
            || error.serverErrorPrefix == "MASTERDOWN"
    }
}
