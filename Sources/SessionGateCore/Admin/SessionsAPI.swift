import SessionGateShared

/// The sessions API of the admin listener (`docs/admin-api.md`), as pure decisions: which call a
/// request is (or why it is refused), and the JSON each answer carries. The admin handler only
/// performs the store call a `.perform` names.
public enum SessionsAPI {
    /// One authorised call.
    public enum Operation: Sendable, Equatable {
        /// `GET /sessions?user=ID`
        case list(user: String)
        /// `DELETE /sessions/{sid}`
        case revokeSession(handle: String)
        /// `DELETE /sessions?user=ID`
        case revokeUser(user: String)
        /// `GET /sessions/stats`
        case stats

        /// For logs and metrics: what the call does.
        public var action: String {
            switch self {
            case .list: "list"
            case .revokeSession: "revoke-sid"
            case .revokeUser: "revoke-user"
            case .stats: "stats"
            }
        }

        /// The user the call is about, if any (logged; never a secret).
        public var user: String? {
            switch self {
            case .list(let user), .revokeUser(let user): user
            case .revokeSession, .stats: nil
            }
        }
    }

    /// What to do with one admin-listener request.
    public enum Decision: Sendable, Equatable {
        /// Not a sessions API path: the other admin routes decide (404 for unknown paths).
        case notSessionsPath
        /// Answer at once with `status` and the JSON `body`.
        case respond(status: Int, body: JSONValue)
        /// Authorised: perform `operation`.
        case perform(Operation)
    }

    /// Query parameters that would carry a credential in a URL (which proxies, browsers and
    /// access logs keep): any of them refuses the request, whatever its value.
    static let credentialParameters: Set<String> = ["token", "access_token", "bearer", "api_key", "apikey", "auth", "authorization"]

    /// Decides what `method` `target` (path and query, as on the request line) with the
    /// `Authorization` header values is. Without a configured `token` the API does not exist.
    public static func decide(method: String, target: String, authorization: [String], token: Secret<String>?) -> Decision {
        let (path, query) = split(target)
        guard path == "/sessions" || path.hasPrefix("/sessions/") else { return .notSessionsPath }
        guard let token else { return .notSessionsPath }  // off unless configured: a plain 404
        guard let parameters = parseQuery(query) else {
            return .respond(status: 400, body: error("the query string is not valid percent-encoding"))
        }
        if parameters.contains(where: { credentialParameters.contains($0.name.lowercased()) }) {
            return .respond(
                status: 400,
                body: error("credentials are never accepted in the URL; send the token as Authorization: Bearer <token>"))
        }
        guard isAuthorised(authorization, token: token) else {
            return .respond(status: 401, body: error("missing or wrong bearer token"))
        }
        let user = parameters.last { $0.name == "user" }?.value
        switch (method, path) {
        case ("GET", "/sessions/stats"):
            return .perform(.stats)
        case ("GET", "/sessions"):
            guard let user, !user.isEmpty else { return .respond(status: 400, body: error("name the user: /sessions?user=ID")) }
            return .perform(.list(user: user))
        case ("DELETE", "/sessions"):
            guard let user, !user.isEmpty else {
                return .respond(status: 400, body: error("name the user: DELETE /sessions?user=ID ends all of their sessions"))
            }
            return .perform(.revokeUser(user: user))
        case ("DELETE", _):
            let handle = String(path.dropFirst("/sessions/".count))
            guard isHandle(handle) else { return .respond(status: 404, body: error("no live session has that sid")) }
            return .perform(.revokeSession(handle: handle))
        case ("GET", _):
            return .respond(status: 404, body: error("not found; see docs/admin-api.md"))
        default:
            return .respond(status: 405, body: error("method not allowed; the sessions API takes GET and DELETE"))
        }
    }

    // MARK: answers

    /// `GET /sessions?user=ID`: 200.
    public static func listBody(user: String, sessions: [SessionSummary]) -> JSONValue {
        .object([
            "user": .string(user),
            "sessions": .array(
                sessions.map { summary in
                    .object([
                        "sid": .string(summary.handle),
                        "created_at": .string(RFC3339.format(summary.times.createdAt)),
                        "last_seen_at": .string(RFC3339.format(summary.times.lastSeenAt)),
                        "expires_at": .string(RFC3339.format(summary.times.expiresAt)),
                        "ip": summary.metadata.createdIP.map(JSONValue.string) ?? .null,
                        "last_ip": summary.metadata.lastIP.map(JSONValue.string) ?? .null,
                        "user_agent": summary.metadata.userAgent.map(JSONValue.string) ?? .null,
                    ])
                }),
        ])
    }

    /// `DELETE …`: 200 with how many sessions ended.
    public static func revokedBody(_ count: Int) -> JSONValue { .object(["revoked": .int(Int64(count))]) }

    /// `GET /sessions/stats`: the backend and its live count (null when it cannot count cheaply).
    public static func statsBody(backend: String, liveSessions: Int?) -> JSONValue {
        .object(["backend": .string(backend), "live_sessions": liveSessions.map { .int(Int64($0)) } ?? .null])
    }

    /// Every refusal: `{"error": "…"}` (never echoing a credential).
    public static func error(_ message: String) -> JSONValue { .object(["error": .string(message)]) }

    // MARK: parts

    /// `Authorization: Bearer <token>` (scheme case-insensitive, exactly one header), compared in
    /// time independent of where the first difference is.
    static func isAuthorised(_ values: [String], token: Secret<String>) -> Bool {
        guard values.count == 1 else { return false }
        let value = values[0].utf8
        guard value.count > 7, String(decoding: value.prefix(7), as: UTF8.self).lowercased() == "bearer " else { return false }
        var presented = Substring(values[0]).dropFirst(7)
        while presented.first == " " { presented.removeFirst() }
        while presented.last == " " { presented.removeLast() }
        return ConstantTime.equal(Array(presented.utf8), Array(token.revealed.utf8))
    }

    /// A `sid` as handles are spelled: the directive's own check.
    static func isHandle(_ text: String) -> Bool { SessionDirectives.sessionHandle(text.utf8) != nil }

    static func split(_ target: String) -> (path: String, query: String?) {
        guard let mark = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    /// `application/x-www-form-urlencoded` pairs (`+` is a space); nil when an escape is invalid
    /// or a value is not UTF-8.
    static func parseQuery(_ query: String?) -> [(name: String, value: String)]? {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for field in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = field.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ bytes: Substring.UTF8View.SubSequence?) -> String? {
                guard let bytes else { return "" }
                let plus = bytes.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }
                guard let decoded = LoginRedirect.percentDecoded(plus) else { return nil }
                return String(validating: decoded, as: UTF8.self)
            }
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : nil) else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }
}

/// RFC 3339 UTC timestamps (`2026-12-06T19:20:55Z`) for the admin API.
public enum RFC3339 {
    public static func format(_ seconds: UnixSeconds) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    /// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → proleptic Gregorian date.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
