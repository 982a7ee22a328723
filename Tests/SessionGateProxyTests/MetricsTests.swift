import SessionGateCore
import Testing

/// `/metrics` on the admin listener, scraped over HTTP after real traffic through the proxy.
@Suite struct MetricsTests {
    @Test func requestsAreCountedByRuleMethodAndStatusClass() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }

        #expect(try await harness.request("GET", "/public/page").status == 200)
        #expect(try await harness.request("DELETE", "/public/page").status == 200)
        #expect(try await harness.request("PURGE", "/public/page").status == 200)
        #expect(try await harness.request("GET", "/api/x").status == 401)
        #expect(try await harness.request("GET", "/account", headers: [("Accept", "text/html")]).status == 302)
        #expect(try await harness.request("GET", "/blocked/x").status == 403)
        #expect(try await harness.request("GET", "/a%2Fb").status == 400)
        #expect(try await harness.request("OPTIONS", "/public/page").status == 200)

        let metrics = try await Metrics.scrape(harness)
        let requests = "sessiongate_requests_total"
        #expect(metrics.value(requests, ["rule": "route[1]", "method": "GET", "status_class": "2xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "route[1]", "method": "DELETE", "status_class": "2xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "route[1]", "method": "OTHER", "status_class": "2xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "route[1]", "method": "OPTIONS", "status_class": "2xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "route[3]", "method": "GET", "status_class": "4xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "default", "method": "GET", "status_class": "3xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "route[4]", "method": "GET", "status_class": "4xx"]) == 1)
        #expect(metrics.value(requests, ["rule": "rejected", "method": "GET", "status_class": "4xx"]) == 1)
        #expect(metrics.sum(requests) == 8)
        #expect(metrics.labelValues(requests, "rule") == ["default", "rejected", "route[1]", "route[3]", "route[4]"])

        // One duration observation per answered request, in the histogram of its status class.
        let durations = "sessiongate_request_duration_seconds_count"
        #expect(metrics.value(durations, ["status_class": "2xx"]) == 4)
        #expect(metrics.value(durations, ["status_class": "3xx"]) == 1)
        #expect(metrics.value(durations, ["status_class": "4xx"]) == 3)
        #expect(metrics.value(durations, ["status_class": "5xx"]) == 0)
        #expect(metrics.value("sessiongate_request_duration_seconds_bucket", ["status_class": "4xx", "le": "+Inf"]) == 3)
        // Only the four forwarded requests waited for the upstream.
        #expect(metrics.value("sessiongate_upstream_duration_seconds_count") == 4)
        #expect(metrics.value("sessiongate_upstream_connections") ?? 0 >= 1)
        #expect(metrics.value("sessiongate_upstream_connect_errors_total") == 0)
        #expect(metrics.value("sessiongate_requests_in_flight") == 0)
    }

    @Test func sessionLoadsWritesAndStoreRoundTrips() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }

        let cookie = try await harness.login("alice")
        #expect(try await harness.request("GET", "/api/me", cookie: cookie).status == 200)
        #expect(try await harness.request("GET", "/api/me", cookie: "__Host-session=not-a-sealed-value").status == 401)
        #expect(try await harness.request("POST", "/public/logout", headers: [("X-Test-Action", "destroy")], cookie: cookie).status == 200)
        #expect(try await harness.request("GET", "/api/me", cookie: cookie).status == 401, "the session is gone")

        let metrics = try await Metrics.scrape(harness)
        let loads = "sessiongate_session_loads_total"
        #expect(metrics.value(loads, ["result": "hit"]) == 2)  // /api/me, the logout
        #expect(metrics.value(loads, ["result": "invalid_cookie"]) == 1)
        #expect(metrics.value(loads, ["result": "miss"]) == 1)
        #expect(metrics.value(loads, ["result": "store_error"]) == 0)
        #expect(metrics.value("sessiongate_session_writes_total", ["directive": "set"]) == 1)
        #expect(metrics.value("sessiongate_session_writes_total", ["directive": "destroy"]) == 1)
        #expect(metrics.value("sessiongate_session_writes_total", ["directive": "rotate"]) == 0)
        #expect(metrics.value("sessiongate_directives_rejected_total") == 0)
        // Loads: the hit, the logout's hit, the miss (the bad cookie never reaches the store).
        // Writes: the login, the destroy, and clearing the gone session's cookie needs none.
        let store = "sessiongate_store_duration_seconds_count"
        #expect(metrics.value(store, ["backend": "memory", "operation": "load"]) == 3)
        #expect(metrics.value(store, ["backend": "memory", "operation": "write"]) == 2)
        #expect(metrics.value("sessiongate_store_errors_total", ["backend": "memory"]) == 0)
    }

    @Test func storeAndUpstreamFailuresAreCounted() async throws {
        let harness = try await ProxyHarness(makeStore: { _ in FailingStore() })
        defer { Task { await harness.shutdown() } }
        let cookie =
            "__Host-session="
            + harness.runtimes.current.keyRing.seal(
                SystemRandomBytes().bytes(32), cookieName: "__Host-session", random: SystemRandomBytes())

        #expect(try await harness.request("GET", "/api/x", cookie: cookie).status == 503)
        #expect(try await harness.request("POST", "/login", headers: [("X-Test-Set", #"{"user_id":"x"}"#)], body: "").status == 503)
        #expect(try await harness.request("GET", "/public/x", headers: [("X-Test-Set", "not json")]).status == 502)
        try await harness.upstream.stop()
        #expect(try await harness.request("GET", "/public/x").status == 502)

        let metrics = try await Metrics.scrape(harness)
        #expect(metrics.value("sessiongate_session_loads_total", ["result": "store_error"]) == 1)
        #expect(metrics.value("sessiongate_store_write_failures_total") == 1)
        #expect(metrics.value("sessiongate_store_errors_total", ["backend": "memory"]) == 2)
        #expect(metrics.value("sessiongate_directives_rejected_total") == 1)
        #expect(metrics.value("sessiongate_upstream_connect_errors_total") == 1)
        #expect(metrics.value("sessiongate_requests_total", ["rule": "route[3]", "method": "GET", "status_class": "5xx"]) == 1)
        #expect(metrics.value("sessiongate_requests_total", ["rule": "route[0]", "method": "POST", "status_class": "5xx"]) == 1)
        #expect(metrics.value("sessiongate_requests_total", ["rule": "route[1]", "method": "GET", "status_class": "5xx"]) == 2)
        #expect(metrics.value("sessiongate_request_duration_seconds_count", ["status_class": "5xx"]) == 4)
        #expect(metrics.value("sessiongate_requests_in_flight") == 0)
    }

    @Test func aClientLeavingMidRequestIsNoLongerInFlight() async throws {
        // No status may reach the client before it leaves: neither the app's answer nor a 504.
        let harness = try await ProxyHarness { $0.upstream.responseTimeout = .seconds(120) }
        defer { Task { await harness.shutdown() } }
        let client = try await harness.client()
        // Long enough that the answer cannot beat the close on a loaded machine (a 3 s delay did,
        // under scripts/stress-ci.sh).
        try await client.send(ProxyHarness.requestText("GET", "/public/slow", headers: [("X-Test-Delay-Ms", "60000")]))
        try await waitFor { try await Metrics.scrape(harness).value("sessiongate_requests_in_flight") == 1 }
        await client.close()
        try await waitFor { try await Metrics.scrape(harness).value("sessiongate_requests_in_flight") == 0 }
        let metrics = try await Metrics.scrape(harness)
        #expect(metrics.sum("sessiongate_requests_total") == 0, "no status reached the client")
    }

    @Test func aTunnelCountsAs1xxAndItsUpstreamConnectionIsReleased() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let client = try await harness.client()
        try await client.send(
            ProxyHarness.requestText(
                "GET", "/public/ws",
                headers: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "x"), ("Sec-WebSocket-Version", "13")])
        )
        #expect(try await client.response().status == 101)
        let open = try await Metrics.scrape(harness)
        #expect(open.value("sessiongate_requests_total", ["rule": "route[1]", "method": "GET", "status_class": "1xx"]) == 1)
        #expect(open.value("sessiongate_requests_in_flight") == 0, "a tunnel is not a request in flight")
        #expect(open.value("sessiongate_upstream_connections") == 1)
        await client.close()
        try await waitFor { try await Metrics.scrape(harness).value("sessiongate_upstream_connections") == 0 }
    }

    @Test func revocationsAreCountedByCause() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let first = try await harness.login("carol")
        _ = try await harness.login("carol")
        _ = try await harness.login("carol")
        _ = try await harness.request("GET", "/me", headers: [("X-Test-Action", "revoke-others")], cookie: first)
        let metrics = try await Metrics.scrape(harness)
        #expect(metrics.value("sessiongate_sessions_revoked_total", ["cause": "user"]) == 2)
        #expect(metrics.value("sessiongate_sessions_revoked_total", ["cause": "admin-api"]) == 0)
    }

    @Test func everySeriesUsesOnlyFixedLabelValues() async throws {
        let harness = try await ProxyHarness()
        defer { Task { await harness.shutdown() } }
        let cookie = try await harness.login("bob")
        _ = try await harness.request("GET", "/api/user-42/orders?id=7", cookie: cookie)
        _ = try await harness.request("GET", "/nothing/user-42")
        let metrics = try await Metrics.scrape(harness)
        for sample in metrics.samples {
            for value in sample.labels.values {
                #expect(!value.contains("user-42") && !value.contains("/"), "\(sample.name) has label value \(value)")
            }
        }
        let families = Set(metrics.types.keys)
        #expect(
            families == [
                "sessiongate_requests_total", "sessiongate_request_duration_seconds", "sessiongate_upstream_duration_seconds",
                "sessiongate_requests_in_flight", "sessiongate_session_loads_total", "sessiongate_session_writes_total",
                "sessiongate_directives_rejected_total", "sessiongate_store_write_failures_total",
                "sessiongate_store_duration_seconds", "sessiongate_store_errors_total", "sessiongate_upstream_connections",
                "sessiongate_upstream_connect_errors_total", "sessiongate_config_reloads_total",
                "sessiongate_sessions_revoked_total",
            ])
        #expect(metrics.types["sessiongate_request_duration_seconds"] == "histogram")
        #expect(metrics.types["sessiongate_requests_in_flight"] == "gauge")
    }
}

/// A parsed Prometheus text exposition.
struct Metrics {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []
    var types: [String: String] = [:]

    static func scrape(_ harness: ProxyHarness) async throws -> Metrics {
        let client = try await RawClient.connect(port: harness.adminPort, group: ProxyHarness.group)
        defer { Task { await client.close() } }
        try await client.send("GET /metrics HTTP/1.1\r\nHost: admin\r\n\r\n")
        let response = try await client.response()
        #expect(response.status == 200)
        return try parse(response.text)
    }

    static func parse(_ text: String) throws -> Metrics {
        var metrics = Metrics()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                metrics.types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            let space = try #require(line.lastIndex(of: " "), "no value: \(line)")
            let value = try #require(Double(line[line.index(after: space)...]), "bad value: \(line)")
            var series = line[..<space]
            var labels: [String: String] = [:]
            if let open = series.firstIndex(of: "{") {
                #expect(series.last == "}", "bad series: \(line)")
                for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
                    let nameValue = pair.split(separator: "=", maxSplits: 1)
                    labels[String(nameValue[0])] = String(nameValue[1].dropFirst().dropLast())
                }
                series = series[..<open]
            }
            metrics.samples.append(Sample(name: String(series), labels: labels, value: value))
        }
        return metrics
    }

    /// The value of the series with exactly these labels; nil when it is not exposed.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    func sum(_ name: String) -> Double { samples.filter { $0.name == name }.reduce(0) { $0 + $1.value } }

    func labelValues(_ name: String, _ label: String) -> [String] {
        Set(samples.filter { $0.name == name }.compactMap { $0.labels[label] }).sorted()
    }
}
