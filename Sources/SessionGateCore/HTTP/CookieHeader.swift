/// Reading and rewriting a request's `Cookie` header (RFC 6265 §4.2), tolerant of the spacing,
/// quoting and garbage real clients send. Cookie names compare case-sensitively.
public enum CookieHeader {
    /// Every value of cookie `name`, in header order, with surrounding spaces and one pair of
    /// double quotes removed. Pairs without `=` are ignored.
    public static func values(named name: String, in header: String) -> [Substring] {
        var found: [Substring] = []
        appendValues(named: name, in: header, to: &found)
        return found
    }

    /// Appends what `values(named:in:)` returns to `values` (a request with several `Cookie`
    /// fields collects them in one array).
    public static func appendValues(named name: String, in header: String, to values: inout [Substring]) {
        var header = header
        var name = name
        let utf8 = header.utf8
        header.withUTF8 { bytes in
            name.withUTF8 { name in
                forEachValue(named: name, in: bytes) { value in
                    let lower = utf8.index(utf8.startIndex, offsetBy: value.lowerBound)
                    let upper = utf8.index(utf8.startIndex, offsetBy: value.upperBound)
                    values.append(Substring(utf8[lower..<upper]))
                }
            }
        }
    }

    /// Calls `body` with the range in `header` of each value `values(named:in:)` returns, in
    /// order: for a caller that reads the values in place.
    public static func forEachValue(
        named name: UnsafeBufferPointer<UInt8>, in header: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void
    ) {
        forEachPair(header) { pair, equals in
            guard let equals, nameMatches(header, pair, equals, name) else { return }
            var (low, high) = trim(header, equals + 1, pair.upperBound)
            if high - low >= 2, header[low] == UInt8(ascii: "\""), header[high - 1] == UInt8(ascii: "\"") {
                low += 1
                high -= 1
            }
            body(low..<high)
        }
    }

    /// The header without any pair named `name` (other pairs keep their text, joined by `; `);
    /// nil when nothing is left.
    public static func removing(named name: String, from header: String) -> String? {
        var header = header
        var name = name
        var out: [UInt8] = []
        header.withUTF8 { bytes in
            out.reserveCapacity(bytes.count)
            name.withUTF8 { name in
                forEachPair(notNamed: name, in: bytes) { pair in
                    if !out.isEmpty { out.append(contentsOf: "; ".utf8) }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pair]))
                }
            }
        }
        return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
    }

    /// Calls `body` with the range of each pair of `header` not named `name`, in order: the
    /// pieces `removing(named:from:)` joins with `; `, for a caller that writes them itself.
    public static func forEachPair(
        notNamed name: UnsafeBufferPointer<UInt8>, in header: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void
    ) {
        forEachPair(header) { pair, equals in
            if let equals, nameMatches(header, pair, equals, name) { return }
            body(pair)
        }
    }

    /// Calls `body` with each non-empty, trimmed `;`-separated piece of the header's UTF-8 and the
    /// offset of its first `=` (nil when none). Every delimiter (`;`, `=`, space, tab, `"`) is
    /// ASCII, and ASCII bytes never occur inside a multi-byte scalar, so splitting bytes equals
    /// splitting scalars: a combining mark after `;` cannot hide a separator the upstream would see.
    private static func forEachPair(
        _ bytes: UnsafeBufferPointer<UInt8>, _ body: (_ pair: Range<Int>, _ equals: Int?) -> Void
    ) {
        var start = 0
        let count = bytes.count
        while start <= count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: ";") { end += 1 }
            let (low, high) = trim(bytes, start, end)
            if low < high {
                var equals: Int? = nil
                var index = low
                while index < high {
                    if bytes[index] == UInt8(ascii: "=") {
                        equals = index
                        break
                    }
                    index += 1
                }
                body(low..<high, equals)
            }
            start = end + 1
        }
    }

    /// `start..<end` without leading and trailing spaces and tabs.
    private static func trim(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (Int, Int) {
        var low = start
        var high = end
        while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
        while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
        return (low, high)
    }

    /// Whether the pair's name (before `equals`, trimmed) is exactly `name`'s bytes.
    private static func nameMatches(
        _ bytes: UnsafeBufferPointer<UInt8>, _ pair: Range<Int>, _ equals: Int, _ name: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        let (low, high) = trim(bytes, pair.lowerBound, equals)
        guard high - low == name.count else { return false }
        for index in 0..<name.count where bytes[low + index] != name[index] { return false }
        return true
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
        cookieNameAndValue(Substring(headerValue))?.name
    }

    /// Whether an upstream `Set-Cookie` value gives the browser a cookie that it sends back as
    /// `name=…`: a cookie called `name`, or a nameless cookie whose value starts with `name` and
    /// `=` (`=session=v`, `= session=v`), which browsers store under the empty name and send back
    /// as `session=v`. The response filter drops such headers for the session cookie's name.
    public static func setsCookie(named name: String, headerValue: String) -> Bool {
        guard let (first, value) = cookieNameAndValue(Substring(headerValue)) else { return false }
        if first == name { return true }
        guard first.isEmpty, let (inner, _) = cookieNameAndValue(value) else { return false }
        return inner == name
    }

    /// The trimmed name and the raw value of the first `;`-separated pair, nil without `=`.
    private static func cookieNameAndValue(_ text: Substring) -> (name: Substring, value: Substring)? {
        let firstPair = Substring(text.unicodeScalars.prefix { $0 != ";" })
        guard let equals = firstPair.unicodeScalars.firstIndex(of: "=") else { return nil }
        let name = CookieHeader.trim(Substring(firstPair.unicodeScalars[..<equals]))
        return (name, Substring(firstPair.unicodeScalars[firstPair.unicodeScalars.index(after: equals)...]))
    }
}
