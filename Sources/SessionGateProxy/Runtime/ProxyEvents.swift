import NIOHTTP1
import Prometheus
import SessionGateCore
import Synchronization

/// The metrics the data plane records on its hot path, kept in a swift-prometheus registry and
/// rendered by the admin listener's `/metrics`. Every label value comes from a fixed set (never a
/// path, a user id or anything a client chooses), and every labelled series is created once and
/// cached in an array indexed by small enums, so recording costs an atomic add or a short lock.
public final class ProxyEvents: Sendable {
    /// How a session lookup for a cookie-carrying request ended.
    public enum LoadResult: Int, CaseIterable, Sendable {
        /// A live session was found.
        case hit
        /// The cookie opened but its session is gone (expired, destroyed, revoked).
        case miss
        /// A cookie was sent but none opened (tampered, or sealed with a key no longer configured).
        case invalidCookie
        /// The store failed or did not answer within `[store] timeout`.
        case storeError

        /// The `result` label value (also the access log's `session` field).
        public var label: String {
            switch self {
            case .hit: "hit"
            case .miss: "miss"
            case .invalidCookie: "invalid_cookie"
            case .storeError: "store_error"
            }
        }
    }

    /// How a configuration reload ended.
    public enum ReloadResult: Int, CaseIterable, Sendable {
        /// The new configuration replaced the running one.
        case ok
        /// The file was invalid or changed a restart-only setting; the old configuration serves on.
        case rejected

        var label: String { self == .ok ? "ok" : "rejected" }
    }

    /// What a store round trip did: load a session, or apply directives (and touches).
    enum StoreOperation: Int, CaseIterable {
        case load, write

        var label: String { self == .load ? "load" : "write" }
    }

    /// The `rule` label: answered before routing, no rule matched, or the Nth `[[route]]`.
    enum RuleLabel {
        case rejected
        case defaultRoute
        case route(Int)

        init(_ rule: RouteRule?) { self = rule.map { .route($0.index) } ?? .defaultRoute }

        var slot: Int {
            switch self {
            case .rejected: 0
            case .defaultRoute: 1
            case .route(let index): 2 + max(0, index)
            }
        }

        var label: String {
            switch self {
            case .rejected: "rejected"
            case .defaultRoute: "default"
            case .route(let index): "route[\(index)]"
            }
        }
    }

    /// The `method` label: the common methods by name, everything else `OTHER`.
    enum MethodLabel: Int, CaseIterable {
        case get, head, post, put, patch, delete, options, other

        init(_ method: HTTPMethod) {
            switch method {
            case .GET: self = .get
            case .HEAD: self = .head
            case .POST: self = .post
            case .PUT: self = .put
            case .PATCH: self = .patch
            case .DELETE: self = .delete
            case .OPTIONS: self = .options
            default: self = .other
            }
        }

        var label: String {
            switch self {
            case .get: "GET"
            case .head: "HEAD"
            case .post: "POST"
            case .put: "PUT"
            case .patch: "PATCH"
            case .delete: "DELETE"
            case .options: "OPTIONS"
            case .other: "OTHER"
            }
        }
    }

    /// The store series of one backend, created the first time that backend is used.
    struct StoreSeries: Sendable {
        let durations: [DurationHistogram]
        let errors: Counter
    }

    static let directiveKinds = ["set", "destroy", "rotate", "rotate(user)", "revoke-others", "revoke-all", "revoke", "lifetime"]

    /// Who ended sessions other than the one a response was about.
    public enum RevocationCause: Int, CaseIterable, Sendable {
        /// The app's directives: `revoke <sid>`, `revoke-others`, `revoke-all`.
        case user
        /// The sessions API on the admin listener (`DELETE /sessions…`).
        case adminAPI

        var label: String {
            switch self {
            case .user: "user"
            case .adminAPI: "admin-api"
            }
        }
    }
    static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]
    /// Histogram buckets (seconds): a sidecar adds well under a millisecond, an app or a store
    /// may take seconds.
    static let durationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The registry behind `/metrics`; more metrics may be registered on it.
    public let registry: PrometheusCollectorRegistry

    private let inFlightCount = Atomic<Int>(0)
    private let upstreamOpenCount = Atomic<Int>(0)
    private let inFlightGauge: Gauge
    private let upstreamConnectionsGauge: Gauge
    private let requestDurations: [DurationHistogram]
    private let upstreamDuration: DurationHistogram
    private let loads: [Counter]
    private let writes: [Counter]
    private let directivesRejected: Counter
    private let revocations: [Counter]
    private let storeWriteFailures: Counter
    private let upstreamConnectErrors: Counter
    private let reloads: [Counter]
    /// `sessiongate_requests_total` by `[rule slot][method][status class]`, created on first use.
    private let requestCounters = Mutex<[Counter?]>([])
    /// By `ProxyConfig.Backend.allCases` index.
    private let storeSeries = Mutex<[StoreSeries?]>(Array(repeating: nil, count: ProxyConfig.Backend.allCases.count))

    /// Creates every fixed series (at 0) in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Counter {
            registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        }
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: [])
        }
        requestDurations = Self.statusClasses.map { statusClass in
            registry.makeDurationHistogram(
                descriptor: Self.descriptor(
                    "sessiongate_request_duration_seconds", "Time from the request head to the end of the response, by status class."),
                labels: [("status_class", statusClass)], buckets: Self.durationBuckets)
        }
        upstreamDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "sessiongate_upstream_duration_seconds", "Time from the request head sent upstream to the response head received."),
            labels: [], buckets: Self.durationBuckets)
        inFlightGauge = gauge("sessiongate_requests_in_flight", "Requests received and not yet finished.")
        upstreamConnectionsGauge = gauge("sessiongate_upstream_connections", "Open upstream connections (busy and idle).")
        upstreamConnectErrors = counter("sessiongate_upstream_connect_errors_total", "Failed upstream connection attempts.")
        loads = LoadResult.allCases.map {
            counter("sessiongate_session_loads_total", "Session lookups for cookie-carrying requests, by result.", [("result", $0.label)])
        }
        writes = Self.directiveKinds.map {
            counter("sessiongate_session_writes_total", "Directives applied to the store, by directive.", [("directive", $0)])
        }
        directivesRejected = counter("sessiongate_directives_rejected_total", "Responses with a malformed session directive.")
        revocations = RevocationCause.allCases.map {
            counter(
                "sessiongate_sessions_revoked_total", "Sessions ended from elsewhere than their own requests, by cause.",
                [("cause", $0.label)])
        }
        storeWriteFailures = counter("sessiongate_store_write_failures_total", "Responses whose directives the store could not save.")
        reloads = ReloadResult.allCases.map {
            counter("sessiongate_config_reloads_total", "Configuration reloads, by result.", [("result", $0.label)])
        }
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // MARK: requests

    /// Requests begun but not finished.
    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// Open upstream connections, over all event loops.
    public var upstreamConnections: Int { upstreamOpenCount.load(ordering: .relaxed) }

    /// A request head arrived (paired with exactly one `requestEnded`).
    func requestStarted() { inFlightCount.wrappingAdd(1, ordering: .relaxed) }

    /// The request is over: answered, or abandoned by the client.
    func requestEnded() { inFlightCount.wrappingSubtract(1, ordering: .relaxed) }

    /// A response with `status` went to the client (counted once per request).
    func requestAnswered(rule: RuleLabel, method: MethodLabel, status: Int, duration: Duration) {
        let statusClass = min(max(status / 100, 1), 5) - 1
        requestCounter(rule: rule, method: method, statusClass: statusClass).increment()
        requestDurations[statusClass].record(duration)
    }

    private func requestCounter(rule: RuleLabel, method: MethodLabel, statusClass: Int) -> Counter {
        let index = (rule.slot * MethodLabel.allCases.count + method.rawValue) * Self.statusClasses.count + statusClass
        return requestCounters.withLock { counters in
            if index < counters.count, let counter = counters[index] { return counter }
            if index >= counters.count { counters.append(contentsOf: repeatElement(nil, count: index + 1 - counters.count)) }
            let counter = registry.makeCounter(
                descriptor: Self.descriptor("sessiongate_requests_total", "Requests answered, by route rule, method and status class."),
                labels: [("rule", rule.label), ("method", method.label), ("status_class", Self.statusClasses[statusClass])])
            counters[index] = counter
            return counter
        }
    }

    // MARK: upstream

    /// The upstream's response head arrived `duration` after the request head was sent.
    func upstreamResponded(after duration: Duration) { upstreamDuration.record(duration) }

    func upstreamConnectionOpened() { upstreamOpenCount.wrappingAdd(1, ordering: .relaxed) }

    func upstreamConnectionClosed() { upstreamOpenCount.wrappingSubtract(1, ordering: .relaxed) }

    func upstreamConnectFailed() { upstreamConnectErrors.increment() }

    // MARK: sessions and store

    func sessionLoaded(_ result: LoadResult) { loads[result.rawValue].increment() }

    func directiveApplied(_ name: String) {
        guard let index = Self.directiveKinds.firstIndex(of: name) else { return }
        writes[index].increment()
    }

    func directiveRejected() { directivesRejected.increment() }

    /// `count` sessions were ended by `cause`.
    public func sessionsRevoked(_ count: Int, cause: RevocationCause) {
        guard count > 0 else { return }
        revocations[cause.rawValue].increment(by: Int64(count))
    }

    func sessionWriteFailed() { storeWriteFailures.increment() }

    /// One store round trip of `backend` took `duration` (and failed, or not).
    func storeCallFinished(backend: ProxyConfig.Backend, operation: StoreOperation, duration: Duration, failed: Bool) {
        let series = storeSeries(for: backend)
        series.durations[operation.rawValue].record(duration)
        if failed { series.errors.increment() }
    }

    /// Creates the store series of `backend` now (at 0), so they show before the first request.
    func prepareStoreSeries(for backend: ProxyConfig.Backend) { _ = storeSeries(for: backend) }

    private func storeSeries(for backend: ProxyConfig.Backend) -> StoreSeries {
        let index = ProxyConfig.Backend.allCases.firstIndex(of: backend)!
        return storeSeries.withLock { all in
            if let series = all[index] { return series }
            let durations = StoreOperation.allCases.map { operation in
                registry.makeDurationHistogram(
                    descriptor: Self.descriptor("sessiongate_store_duration_seconds", "Store round trips, by backend and operation."),
                    labels: [("backend", backend.rawValue), ("operation", operation.label)], buckets: Self.durationBuckets)
            }
            let errors = registry.makeCounter(
                descriptor: Self.descriptor("sessiongate_store_errors_total", "Store round trips that failed or timed out, by backend."),
                labels: [("backend", backend.rawValue)])
            let series = StoreSeries(durations: durations, errors: errors)
            all[index] = series
            return series
        }
    }

    // MARK: configuration

    /// A reload (SIGHUP) ended with `result`.
    public func configReloaded(_ result: ReloadResult) { reloads[result.rawValue].increment() }

    // MARK: exposition

    /// Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        inFlightGauge.set(to: Double(max(0, inFlight)))
        upstreamConnectionsGauge.set(to: Double(max(0, upstreamConnections)))
        return registry.emitToString()
    }
}
