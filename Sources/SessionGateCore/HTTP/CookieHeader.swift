/// Reading and rewriting a request's `Cookie` header (RFC 6265 §4.2), tolerant of the spacing,
/// quoting and garbage real clients send. Cookie names compare case-sensitively.
public enum CookieHeader {
    /// Every value of cookie `name`, in header order, with surrounding spaces and one pair of
    /// double quotes removed. Pairs without `=` are ignored.
    public static func values(named name: String, in header: String) -> [Substring] {
        var found: [Substring] = []
        for pair in pairs(header) {
            guard let (pairName, value) = split(pair), pairName.utf8.elementsEqual(name.utf8) else { continue }
            found.append(value)
        }
        return found
    }

    /// The header without any pair named `name` (other pairs keep their text, joined by `; `);
    /// nil when nothing is left.
    public static func removing(named name: String, from header: String) -> String? {
        var kept: [Substring] = []
        for pair in pairs(header) {
            if let (pairName, _) = split(pair), pairName.utf8.elementsEqual(name.utf8) { continue }
            kept.append(pair)
        }
        return kept.isEmpty ? nil : kept.joined(separator: "; ")
    }

    /// Non-empty, trimmed `;`-separated pieces. Splits on scalars, not characters, so a combining
    /// mark after `;` cannot hide a separator that the upstream would see.
    private static func pairs(_ header: String) -> [Substring] {
        header.unicodeScalars.split(separator: ";").compactMap { piece in
            let trimmed = trim(Substring(piece))
            return trimmed.isEmpty ? nil : trimmed
        }
    }

    private static func split(_ pair: Substring) -> (name: Substring, value: Substring)? {
        guard let equals = pair.unicodeScalars.firstIndex(of: "=") else { return nil }
        // Slice the scalar view: a character-level slice would round a mid-grapheme index.
        let name = trim(Substring(pair.unicodeScalars[..<equals]))
        var value = trim(Substring(pair.unicodeScalars[pair.unicodeScalars.index(after: equals)...]))
        let scalars = value.unicodeScalars
        if scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" {
            value = Substring(scalars.dropFirst().dropLast())
        }
        return (name, value)
    }

    static func trim(_ text: Substring) -> Substring {
        var scalars = text.unicodeScalars
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return Substring(scalars)
    }
}

/// One `Set-Cookie` header value to send to the client.
public struct SetCookie: Sendable, Equatable {
    public var name: String
    public var value: String
    /// Seconds until the browser drops the cookie; nil for a session cookie; 0 or less deletes it.
    public var maxAge: Int64?
    public var domain: String?
    public var path: String?
    public var secure: Bool
    public var httpOnly: Bool
    public var sameSite: ProxyConfig.SameSite

    public init(
        name: String, value: String, maxAge: Int64? = nil, domain: String? = nil, path: String? = "/",
        secure: Bool = true, httpOnly: Bool = true, sameSite: ProxyConfig.SameSite = .lax
    ) {
        self.name = name
        self.value = value
        self.maxAge = maxAge
        self.domain = domain
        self.path = path
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    /// The session cookie as `[cookie]` configures it (always `HttpOnly`).
    public init(cookie: ProxyConfig.Cookie, value: String, maxAge: Int64?) {
        self.init(
            name: cookie.name, value: value, maxAge: maxAge, domain: cookie.domain, path: cookie.path,
            secure: cookie.secure, httpOnly: true, sameSite: cookie.sameSite)
    }

    /// A header that makes the browser delete cookie `name` now (`Max-Age=0`, empty value). Domain
    /// and path must equal the ones the cookie was set with.
    public static func expired(
        name: String, domain: String? = nil, path: String? = "/", secure: Bool = true, httpOnly: Bool = true,
        sameSite: ProxyConfig.SameSite = .lax
    ) -> SetCookie {
        SetCookie(
            name: name, value: "", maxAge: 0, domain: domain, path: path, secure: secure, httpOnly: httpOnly,
            sameSite: sameSite)
    }

    /// Deletes the session cookie as `[cookie]` configures it.
    public static func expired(cookie: ProxyConfig.Cookie) -> SetCookie {
        SetCookie(cookie: cookie, value: "", maxAge: 0)
    }

    /// `name=value; Max-Age=…; Domain=…; Path=…; Secure; HttpOnly; SameSite=…`. A deletion also
    /// carries a 1970 `Expires` for clients that ignore `Max-Age`.
    public var headerValue: String {
        var text = name + "=" + value
        if let maxAge {
            text += "; Max-Age=\(max(maxAge, 0))"
            if maxAge <= 0 { text += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT" }
        }
        if let domain { text += "; Domain=" + domain }
        if let path { text += "; Path=" + path }
        if secure { text += "; Secure" }
        if httpOnly { text += "; HttpOnly" }
        text += "; SameSite=" + sameSite.attribute
        return text
    }

    /// The cookie name of a `Set-Cookie` header value (text before the first `=`, trimmed), or nil
    /// when there is no `=` — used to drop an upstream's `Set-Cookie` for the session cookie.
    public static func cookieName(inHeaderValue headerValue: String) -> Substring? {
        let firstPair = Substring(headerValue.unicodeScalars.prefix { $0 != ";" })
        guard let equals = firstPair.unicodeScalars.firstIndex(of: "=") else { return nil }
        return CookieHeader.trim(Substring(firstPair.unicodeScalars[..<equals]))
    }
}
