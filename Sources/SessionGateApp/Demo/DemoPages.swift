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
        form{display:inline-block;margin-right:.5rem}</style></head>
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

    static func home(claims: [String: JSONValue], data: [String: JSONValue]) -> String {
        let user = data["user_id"]?.stringValue ?? "(anonymous)"
        return page(
            title: "Hello, \(user)",
            body: """
                <p id="whoami">Signed in as <strong>\(escape(user))</strong>.</p>
                <h2>Session data</h2><pre id="session">\(escape(JSONSerializer.string(.object(data))))</pre>
                <h2>Verified token claims</h2><pre id="claims">\(escape(JSONSerializer.string(.object(claims))))</pre>
                <form method="post" action="/logout"><button type="submit" id="logout">Log out</button></form>
                <form method="post" action="/logout-everywhere"><button type="submit" id="logout-everywhere">Log out everywhere</button></form>
                """)
    }
}
