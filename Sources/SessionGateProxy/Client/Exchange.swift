import NIOCore
import SessionGateCore

/// The data of one request/response exchange on a client connection: the request, its route,
/// session and upstream connection, and what the access log and metrics report. Its state (what
/// happens next) is the connection's `ClientConnectionStateMachine`, never a field here.
final class Exchange {
    let head: RequestHead
    let runtime: ProxyRuntime
    let target: NormalizedTarget
    let match: RouteMatch
    let now: UnixSeconds
    /// The allow-listed `Upgrade` token asked for (`[server] upgrades`); nil: a plain request.
    let upgradeToken: String?
    var isUpgrade: Bool { upgradeToken != nil }
    var session: StoredSession?
    /// A session cookie came with the request (whether or not it led to a session).
    var presentedCookie = false
    var requestBodyBytes = 0
    var pendingRequestParts = PendingRequestParts()
    var pendingResponseParts: [ResponsePart] = []
    var upstream: UpstreamConnection?
    /// The response to the client is framed chunked by the proxy (no length from the upstream).
    var responseChunked = false
    let requestID: String
    /// When the request head arrived.
    let startedAt: NIODeadline
    var upstreamStartedAt: NIODeadline?
    var upstreamHeadAt: NIODeadline?
    var status = 0
    var responseBytes = 0
    /// none | hit | miss | invalid_cookie | store_error, for the access log.
    var sessionOutcome = "none"
    /// The request's end is in the metrics (see `ClientHandler.recordEnd(of:)`).
    var recorded = false
    /// When the store call that loads the session started (for its duration metric).
    var loadStartedAt: NIODeadline?

    init(
        head: RequestHead, runtime: ProxyRuntime, target: NormalizedTarget, match: RouteMatch, now: UnixSeconds,
        startedAt: NIODeadline = .now()
    ) {
        self.head = head
        self.startedAt = startedAt
        self.runtime = runtime
        self.target = target
        self.match = match
        self.now = now
        self.upgradeToken =
            head.headers.contains("upgrade")
            ? UpgradePolicy.requestedToken(
                upgradeValues: head.headers.values("upgrade"), connectionValues: head.headers.values("connection"),
                allowed: runtime.config.server.upgrades) : nil
        self.requestID = RequestID.accept(head.headers.first("x-request-id"))
    }
}

/// What of a request arrived before its upstream connection did, in order. Its end is the last
/// part and is kept as a flag, so a request without a body (most are) buffers no array.
struct PendingRequestParts {
    private var bodyParts: [RequestPart] = []
    private var ended = false

    mutating func append(_ part: RequestPart) {
        if case .end = part {
            ended = true
        } else {
            bodyParts.append(part)
        }
    }

    /// Calls `body` with each part in the order they arrived, then forgets them.
    mutating func drain(_ body: (RequestPart) -> Void) {
        for part in bodyParts { body(part) }
        if ended { body(.end) }
        removeAll()
    }

    mutating func removeAll() {
        bodyParts.removeAll()
        ended = false
    }
}
