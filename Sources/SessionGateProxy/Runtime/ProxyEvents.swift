import Synchronization

/// Counters the data plane bumps on its hot path, rendered by the admin listener's `/metrics`
/// in the Prometheus text format. Label values are fixed sets: never a path or a user id.
public final class ProxyEvents: Sendable {
    public enum LoadResult: String, CaseIterable, Sendable { case hit, miss, storeError = "store_error" }

    static let directiveKinds = ["set", "destroy", "rotate", "rotate(user)", "revoke-others", "revoke-all", "lifetime"]

    struct Counters {
        var started = 0
        var finished = 0
        var statusClasses = [Int](repeating: 0, count: 6)
        var loads = [Int](repeating: 0, count: LoadResult.allCases.count)
        var directives = [Int](repeating: 0, count: ProxyEvents.directiveKinds.count)
        var directivesRejected = 0
        var storeWriteFailures = 0
    }

    private let counters = Mutex(Counters())
    private let extras = Mutex<[@Sendable () -> String]>([])

    /// Adds a renderer whose text is appended to `/metrics` (for parts outside the data plane).
    public func addExtraMetrics(_ render: @escaping @Sendable () -> String) { extras.withLock { $0.append(render) } }

    public init() {}

    func requestStarted() { counters.withLock { $0.started += 1 } }

    /// `status` nil when it was already counted by `responseStarted`.
    func requestFinished(status: Int?) {
        counters.withLock {
            $0.finished += 1
            if let status { $0.statusClasses[min(max(status / 100, 0), 5)] += 1 }
        }
    }

    func responseStarted(status: Int) {
        counters.withLock { $0.statusClasses[min(max(status / 100, 0), 5)] += 1 }
    }

    func sessionLoaded(_ result: LoadResult) {
        let index = LoadResult.allCases.firstIndex(of: result)!
        counters.withLock { $0.loads[index] += 1 }
    }

    func directiveApplied(_ name: String) {
        guard let index = ProxyEvents.directiveKinds.firstIndex(of: name) else { return }
        counters.withLock { $0.directives[index] += 1 }
    }

    func directiveRejected() { counters.withLock { $0.directivesRejected += 1 } }

    func sessionWriteFailed() { counters.withLock { $0.storeWriteFailures += 1 } }

    /// Requests begun but not finished.
    public var inFlight: Int { counters.withLock { $0.started - $0.finished } }

    /// Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        let snapshot = counters.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("sessiongate_requests_total", "counter", "Requests answered, by status class.")
        for index in 1...5 {
            out += "sessiongate_requests_total{status_class=\"\(index)xx\"} \(snapshot.statusClasses[index])\n"
        }
        family("sessiongate_requests_in_flight", "gauge", "Requests being served.")
        out += "sessiongate_requests_in_flight \(max(0, snapshot.started - snapshot.finished))\n"
        family("sessiongate_session_loads_total", "counter", "Session cookie lookups, by result.")
        for (index, result) in LoadResult.allCases.enumerated() {
            out += "sessiongate_session_loads_total{result=\"\(result.rawValue)\"} \(snapshot.loads[index])\n"
        }
        family("sessiongate_session_writes_total", "counter", "Directives applied to the store, by directive.")
        for (index, kind) in ProxyEvents.directiveKinds.enumerated() {
            out += "sessiongate_session_writes_total{directive=\"\(kind)\"} \(snapshot.directives[index])\n"
        }
        family("sessiongate_directives_rejected_total", "counter", "Responses with a malformed session directive.")
        out += "sessiongate_directives_rejected_total \(snapshot.directivesRejected)\n"
        family("sessiongate_store_write_failures_total", "counter", "Directive applications the store could not save.")
        out += "sessiongate_store_write_failures_total \(snapshot.storeWriteFailures)\n"
        for render in extras.withLock({ $0 }) { out += render() }
        return out
    }
}
