import SessionGateCore

/// What a response does to the client's session cookie.
enum CookieChange: Equatable {
    case keep
    case set(StoredSession)
    case clear
}

/// The session side of one request: what was loaded, and what the response changed.
struct SessionOutcome {
    var session: StoredSession?
    var cookie: CookieChange
    /// Which directives were applied, for logs and metrics.
    var applied: [String]
    /// Other sessions this response's directives ended (`revoke <sid>`, `revoke-others`,
    /// `revoke-all`), for the revocation counter.
    var revokedOthers = 0
}

/// The store work of the request path, kept apart from the channel handlers so it can be read
/// (and tested) as plain async code. Every function does a bounded number of store calls.
enum SessionFlow {
    /// The ticket inside the first session cookie that opens; nil when none does (tampered, or
    /// sealed with a key no longer configured). No store work.
    static func openTicket(cookieValues: [Substring], runtime: ProxyRuntime) -> SessionTicket? {
        for value in cookieValues {
            if let ticket = runtime.keyRing.open(value, cookieName: runtime.config.cookie.name) { return SessionTicket(ticket) }
        }
        return nil
    }

    /// Loads the session of `ticket` (nil = gone): one store round trip.
    static func load(ticket: SessionTicket, runtime: ProxyRuntime, now: UnixSeconds) async throws(StoreError) -> StoredSession? {
        try await runtime.store.load(ticket, now: now)
    }

    /// Applies the upstream's directives (patches, then actions, then lifetime) and the throttled
    /// touch. `presentedCookie` is true when the request carried a session cookie that did not
    /// lead to a live session (so it is cleared).
    static func apply(
        _ directives: SessionDirectives, to loaded: StoredSession?, presentedCookie: Bool,
        client: ClientInfo, runtime: ProxyRuntime, now: UnixSeconds
    ) async throws(StoreError) -> SessionOutcome {
        let store = runtime.store
        let policy = runtime.config.session
        var session = loaded
        var changed = false
        var ended = false
        var applied: [String] = []
        var revokedOthers = 0
        let userBefore = loaded.flatMap { userID(of: $0, key: policy.userKey) }

        for patch in directives.patches {
            if patch == .null {
                if let current = session {
                    try await store.destroy(current)
                    session = nil
                    ended = true
                    applied.append("destroy")
                }
                continue
            }
            if let current = session {
                session = try await store.patch(current, with: patch, now: now)
                if session == nil { ended = true }
            } else {
                guard case .object(let data) = MergePatch.apply(patch, to: .object([:])) else { continue }
                session = try await store.create(data: data, client: client, now: now)
                ended = false
            }
            changed = true
            applied.append("set")
        }

        // Fixation defence: a session that changes hands gets a new id.
        if let current = session, loaded != nil, userID(of: current, key: policy.userKey) != userBefore {
            session = try await store.rotate(current, now: now)
            applied.append("rotate(user)")
        }

        // `revoke <sid>`: only another session of this session's user; anything else changes
        // nothing and answers the same (no oracle for other users' sessions).
        for handle in directives.revocations {
            let owner = (session ?? loaded).flatMap { userID(of: $0, key: policy.userKey) }
            var revoked = false
            if let owner, handle != session?.handle, handle != loaded?.handle {
                revoked = try await store.revoke(handle: handle, ofUser: owner, now: now)
            }
            if revoked {
                revokedOthers += 1
            } else {
                runtime.logger.notice(
                    "revoke <sid> changed nothing: no live session with that sid belongs to this session's user",
                    metadata: ["sid": "\(handle)"])
            }
            applied.append("revoke")
        }

        for action in directives.actions {
            switch action {
            case .rotate:
                if let current = session {
                    session = try await store.rotate(current, now: now)
                    changed = true
                }
            case .destroy:
                if let current = session {
                    try await store.destroy(current)
                    session = nil
                    ended = true
                }
            case .revokeOthers:
                if let current = session, let user = userID(of: current, key: policy.userKey) {
                    revokedOthers += try await store.revokeUser(user, keeping: current.ticket, now: now)
                }
            case .revokeAll:
                if let current = session {
                    if let user = userID(of: current, key: policy.userKey) {
                        // The others; this one is destroyed below.
                        revokedOthers += try await store.revokeUser(user, keeping: current.ticket, now: now)
                    }
                    try await store.destroy(current)
                    session = nil
                    ended = true
                }
            }
            applied.append(action.rawValue)
        }

        if let seconds = directives.lifetime, let current = session {
            session = try await store.setLifetime(current, seconds: min(seconds, policy.maxLifetime), now: now)
            changed = true
            applied.append("lifetime")
        }

        if !changed, !ended, let current = session, now - current.times.lastSeenAt >= policy.touchInterval {
            if let touched = try await store.touch(current, client: client, now: now) {
                session = touched
                changed = touched.times.expiresAt != current.times.expiresAt || touched.ticket != current.ticket
            }
        }

        let cookie: CookieChange
        if let session {
            cookie = changed || session.ticket != loaded?.ticket ? .set(session) : .keep
        } else if ended || loaded != nil || presentedCookie {
            cookie = .clear
        } else {
            cookie = .keep
        }
        return SessionOutcome(session: session, cookie: cookie, applied: applied, revokedOthers: revokedOthers)
    }

    static func userID(of session: StoredSession, key: String) -> String? {
        SessionPolicy(idleTimeout: 0, absoluteTimeout: 0, userKey: key).userID(of: session.data)
    }
}
