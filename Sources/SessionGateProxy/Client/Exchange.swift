import NIOCore
import NIOHTTP1
import SessionGateCore

/// The state of one request/response exchange on a client connection.
final class Exchange {
    enum Phase {
        /// Loading the session or connecting upstream; request parts are buffered, reads paused.
        case preparing
        /// The upstream has the head; body parts stream through; waiting for the response head.
        case forwarding
        /// Applying directives to the store before the response head can go out.
        case applying
        /// Response head sent; body streaming to the client.
        case streaming
        /// The proxy answered itself; the rest of the request body is dropped.
        case answered
        /// Bytes are tunnelled (WebSocket and other upgrades).
        case tunnelling
    }

    let head: HTTPRequestHead
    let runtime: ProxyRuntime
    let target: NormalizedTarget
    let match: RouteMatch
    let now: UnixSeconds
    /// The allow-listed `Upgrade` token asked for (`[server] upgrades`); nil: a plain request.
    let upgradeToken: String?
    var isUpgrade: Bool { upgradeToken != nil }
    let expectsContinue: Bool
    var phase = Phase.preparing
    var session: StoredSession?
    /// A session cookie came with the request (whether or not it led to a session).
    var presentedCookie = false
    var requestEnded = false
    var requestBodyBytes = 0
    var pendingRequestParts: [HTTPServerRequestPart] = []
    var pendingResponseParts: [HTTPClientResponsePart] = []
    var upstream: UpstreamConnection?
    /// Set while the session loads (the store's answer or `[store] timeout` ends it).
    var loadStartedAt: NIODeadline?
    /// `response_timeout` runs for this exchange (see `ClientHandler.responseTimer`).
    var responseTimerArmed = false
    var keepAlive: Bool
    /// The response to the client is framed chunked by the proxy (no length from the upstream).
    var responseChunked = false
    let requestID: String
    /// When the request head arrived.
    let startedAt: NIODeadline
    var upstreamStartedAt: NIODeadline?
    var upstreamHeadAt: NIODeadline?
    var status = 0
    /// The upstream's response ended (buffered while directives apply); later bytes are ignored.
    var responseEnded = false
    var responseBytes = 0
    /// none | hit | miss | invalid_cookie | store_error, for the access log.
    var sessionOutcome = "none"
    /// The request's end is in the metrics (see `ClientHandler.recordEnd(of:)`).
    var recorded = false

    init(
        head: HTTPRequestHead, runtime: ProxyRuntime, target: NormalizedTarget, match: RouteMatch, now: UnixSeconds,
        startedAt: NIODeadline = .now()
    ) {
        self.head = head
        self.startedAt = startedAt
        self.runtime = runtime
        self.target = target
        self.match = match
        self.now = now
        self.keepAlive = head.isKeepAlive
        self.upgradeToken = UpgradePolicy.requestedToken(
            upgradeValues: head.headers["upgrade"], connectionValues: head.headers["connection"],
            allowed: runtime.config.server.upgrades)
        self.expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        self.requestID = RequestID.accept(head.headers.first(name: "x-request-id"))
    }

    /// Whether the request can carry a body still to come.
    var requestHasBody: Bool {
        if let length = head.headers.first(name: "content-length") { return length != "0" }
        return head.headers.contains(name: "transfer-encoding")
    }
}
