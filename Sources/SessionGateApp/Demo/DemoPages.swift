import SessionGateCore

/// The demo app's HTML, kept plain and self-contained (no scripts, no external assets).
enum DemoPages {
    static func escape(_ text: String) -> String {
        var out = ""
        for char in text {
            switch char {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(char)
            }
        }
        return out
    }

    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) · SessionGate demo</title>
        <style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;color:#222}
        pre{background:#f4f4f4;padding:1rem;overflow:auto}button,input{font-size:1rem;padding:.3rem .6rem}
        form{display:inline-block;margin-right:.5rem}
        table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}</style></head>
        <body><h1>\(escape(title))</h1>
        \(body)
        <p><small>This page is served by a tiny app behind SessionGate. The app has no session library:
        it reads the signed <code>X-Session-Token</code> header and answers with <code>X-Session-Set</code>
        and <code>X-Session-Action</code>.</small></p></body></html>
        """
    }

    static func login(next: String, error: String? = nil) -> String {
        page(
            title: "Sign in",
            body: """
                \(error.map { "<p role=\"alert\">\(escape($0))</p>" } ?? "")
                <form method="post" action="/login" id="login">
                <input type="hidden" name="next" value="\(escape(next))">
                <label>User name <input name="user" id="user" autocomplete="username" required maxlength="64"></label>
                <label><input type="checkbox" name="remember"> Remember me (30 days)</label>
                <button type="submit" id="signin">Sign in</button></form>
                <p>Any name works; <code>admin</code> gets the admin role.</p>
                """)
    }

    static func home(claims: [String: JSONValue], data: [String: JSONValue], devices: DemoDevices?) -> String {
        let user = data["user_id"]?.stringValue ?? "(anonymous)"
        return page(
            title: "Hello, \(user)",
            body: """
                <p id="whoami">Signed in as <strong>\(escape(user))</strong>.</p>
                <h2>Session data</h2><pre id="session">\(escape(JSONSerializer.string(.object(data))))</pre>
                <h2>Verified token claims</h2><pre id="claims">\(escape(JSONSerializer.string(.object(claims))))</pre>
                \(devices.map(yourDevices) ?? "")
                <form method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>
                <form method="post" action="/logout-everywhere"><button type="submit" id="logout-everywhere">Log out everywhere</button></form>
                """)
    }

    /// "Your devices": every live session of the user, this one marked, the others with a button
    /// that ends them (`X-Session-Action: revoke <sid>`).
    static func yourDevices(_ devices: DemoDevices) -> String {
        let rows = devices.sessions.map { device in
            let action =
                device.sid == devices.currentSID
                ? "<strong class=\"this-device\">This device</strong>"
                : """
                <form method="post" action="/devices/sign-out"><input type="hidden" name="sid" value="\(escape(device.sid))">\
                <button type="submit" class="sign-out" data-sid="\(escape(device.sid))">Sign out</button></form>
                """
            return """
                <tr class="device" data-sid="\(escape(device.sid))"><td>\(escape(device.browser))</td><td class="ip">\(escape(device.ip))</td>\
                <td>\(escape(device.createdAt))</td><td>\(escape(device.lastSeenAt))</td><td>\(action)</td></tr>
                """
        }
        return """
            <h2>Your devices</h2>
            <table id="devices"><thead><tr><th>Browser</th><th>IP</th><th>Signed in</th><th>Last active</th><th></th></tr></thead>
            <tbody>\(rows.joined(separator: "\n"))</tbody></table>
            """
    }
}

/// The user's sessions as the sessions API lists them, for the demo's "Your devices".
struct DemoDevices {
    struct Device {
        var sid: String
        var browser: String
        var ip: String
        var createdAt: String
        var lastSeenAt: String
    }

    var sessions: [Device]
    /// The `sid` claim of the request's own token.
    var currentSID: String?

    /// Nil when the listing could not be fetched (the page then shows no device list).
    init?(listing: JSONValue?, claims: [String: JSONValue]) {
        guard case .object(let top)? = listing, case .array(let entries)? = top["sessions"] else { return nil }
        currentSID = claims["sid"]?.stringValue
        sessions = entries.compactMap { entry in
            guard case .object(let fields) = entry, let sid = fields["sid"]?.stringValue else { return nil }
            return Device(
                sid: sid, browser: Self.browser(fields["user_agent"]?.stringValue),
                ip: fields["last_ip"]?.stringValue ?? fields["ip"]?.stringValue ?? "unknown",
                createdAt: Self.readable(fields["created_at"]?.stringValue),
                lastSeenAt: Self.readable(fields["last_seen_at"]?.stringValue))
        }
    }

    /// `2026-12-06T19:20:55Z` as `2026-12-06 19:20 UTC`.
    static func readable(_ stamp: String?) -> String {
        guard let stamp, stamp.count == 20 else { return stamp ?? "" }
        return stamp.prefix(10) + " " + stamp.dropFirst(11).prefix(5) + " UTC"
    }

    /// "Firefox on Linux" from a User-Agent, roughly (enough for people to tell devices apart).
    static func browser(_ userAgent: String?) -> String {
        guard let agent = userAgent, !agent.isEmpty else { return "Unknown browser" }
        let names: [(String, String)] = [
            ("Edg/", "Edge"), ("HeadlessChrome/", "Headless Chrome"), ("Chrome/", "Chrome"), ("Firefox/", "Firefox"),
            ("Safari/", "Safari"), ("curl/", "curl"), ("python", "Python"),
        ]
        let systems: [(String, String)] = [
            ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("Linux", "Linux"),
        ]
        let name = names.first { agent.contains($0.0) }?.1 ?? String(agent.prefix { $0 != "/" && $0 != " " })
        guard let system = systems.first(where: { agent.contains($0.0) })?.1 else { return name }
        return "\(name) on \(system)"
    }
}
