/// Origins as `[routes] trusted_origins` and the cross-origin check compare them: lower case
/// `scheme://host[:port]`, the scheme's default port (http 80, https 443) removed.
public enum TrustedOrigin {
    /// The normalised origin of `text` — `http` or `https`, `://`, a host name, IPv4 address or
    /// bracketed IPv6 address, an optional port 1-65535, nothing else (no user, path, query or
    /// fragment) — or nil when `text` is not such an origin. `Origin: null` is nil too.
    public static func normalize(_ text: some StringProtocol) -> String? {
        var bytes = Array(text.utf8)[...]
        let scheme: String
        if consumePrefix(&bytes, "https://") {
            scheme = "https"
        } else if consumePrefix(&bytes, "http://") {
            scheme = "http"
        } else {
            return nil
        }
        guard let (host, port) = authority(bytes, defaultPort: scheme == "https" ? 443 : 80) else { return nil }
        return port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }

    /// `host[:port]` of a `Host` header value, lower case, with the port dropped when it is
    /// `defaultPort`; nil when malformed.
    static func hostAuthority(_ text: some StringProtocol, defaultPort: Int) -> String? {
        guard let (host, port) = authority(Array(text.utf8)[...], defaultPort: defaultPort) else { return nil }
        return port.map { "\(host):\($0)" } ?? host
    }

    /// The lower-cased host (IPv6 keeps its brackets) and the port unless it is `defaultPort`.
    private static func authority(_ bytes: ArraySlice<UInt8>, defaultPort: Int) -> (host: String, port: Int?)? {
        var hostBytes = bytes
        var portBytes: ArraySlice<UInt8>?
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostBytes = bytes[...close]
            let inner = bytes[(bytes.startIndex + 1)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return nil }
            let after = bytes[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return nil }
                portBytes = after.dropFirst()
            }
        } else {
            if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
                hostBytes = bytes[..<colon]
                portBytes = bytes[(colon + 1)...]
            }
            guard !hostBytes.isEmpty, hostBytes.allSatisfy(isHostNameByte),
                hostBytes.first != UInt8(ascii: "."), hostBytes.first != UInt8(ascii: "-")
            else { return nil }
        }
        var port: Int?
        if let portBytes {
            guard !portBytes.isEmpty, portBytes.count <= 5, portBytes.allSatisfy(isDigit) else { return nil }
            let value = portBytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard (1...65535).contains(value) else { return nil }
            port = value == defaultPort ? nil : value
        }
        let host = String(decoding: hostBytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        return (host, port)
    }

    private static func consumePrefix(_ bytes: inout ArraySlice<UInt8>, _ prefix: String) -> Bool {
        let lower = Array(prefix.utf8)
        guard bytes.count >= lower.count,
            zip(bytes, lower).allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 })
        else { return false }
        bytes = bytes.dropFirst(lower.count)
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    private static func isHostNameByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }
}

/// `[routes] cross_origin_protection`: whether a browser request that could change state comes
/// from another origin. Pure; the data plane calls `check` after matching the route and before
/// loading the session, and answers 403 on `.refuse`.
///
/// Only `POST`, `PUT`, `PATCH` and `DELETE` (any case) to routes whose access is `session` are
/// checked. An `Origin` listed in `trusted_origins` passes. Otherwise `Sec-Fetch-Site:
/// cross-site` or `same-site` refuses and `same-origin` or `none` passes; without
/// `Sec-Fetch-Site` (or with a value browsers do not send), an `Origin` whose host[:port] is not
/// the request's `Host` refuses, and so do `Origin: null` and an unparsable `Origin`. A request with
/// neither header passes: it does not come from a browser, and cookies are a browser's.
public struct CrossOriginPolicy: Sendable, Equatable {
    /// Why a request was refused (for the log line; the client gets a plain 403).
    public enum Reason: String, Sendable, Equatable {
        /// `Sec-Fetch-Site: cross-site`.
        case crossSite = "Sec-Fetch-Site is cross-site"
        /// `Sec-Fetch-Site: same-site` (another origin of the same site, e.g. a sibling subdomain).
        case sameSite = "Sec-Fetch-Site is same-site"
        /// `Origin: null` (sandboxed frames, some redirects, `file:` pages).
        case nullOrigin = "Origin is null"
        /// An `Origin` that is not an http(s) origin.
        case malformedOrigin = "Origin is malformed"
        /// An `Origin` whose host[:port] differs from `Host` (or a request without `Host`).
        case originMismatch = "Origin does not match Host"
    }

    public enum Decision: Sendable, Equatable {
        case allow
        case refuse(Reason)
    }

    /// `[routes] cross_origin_protection`.
    public var enabled: Bool
    /// `[routes] trusted_origins`, normalised (`TrustedOrigin.normalize`).
    public var trustedOrigins: [String]

    public init(enabled: Bool = true, trustedOrigins: [String] = []) {
        self.enabled = enabled
        self.trustedOrigins = trustedOrigins
    }

    /// The policy `[routes]` configures.
    public init(routes: ProxyConfig.Routes) {
        self.init(enabled: routes.crossOriginProtection, trustedOrigins: routes.trustedOrigins)
    }

    /// Whether `method` is one the check applies to (`POST`, `PUT`, `PATCH`, `DELETE`, any case).
    public static func isStateChanging(_ method: String) -> Bool {
        let upper = String(decoding: method.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & 0xDF : $0 }, as: UTF8.self)
        return upper == "POST" || upper == "PUT" || upper == "PATCH" || upper == "DELETE"
    }

    /// The decision for one request.
    /// - Parameters:
    ///   - method: the request method as sent.
    ///   - access: the matched route's access (`RouteMatch.access`).
    ///   - secFetchSite: the `Sec-Fetch-Site` value, nil when absent.
    ///   - origin: the `Origin` value, nil when absent.
    ///   - host: the `Host` value, nil when absent.
    public func check(
        method: String, access: RouteAccess, secFetchSite: String?, origin: String?, host: String?
    ) -> Decision {
        guard enabled, access == .session, Self.isStateChanging(method) else { return .allow }
        let trimmedOrigin = origin.map { CookieHeader.trim(Substring($0)) }
        let normalizedOrigin = trimmedOrigin.flatMap { TrustedOrigin.normalize($0) }
        if let normalizedOrigin, trustedOrigins.contains(normalizedOrigin) { return .allow }
        switch secFetchSite.map({ CookieHeader.trim(Substring($0)).lowercased() }) {
        case "cross-site"?: return .refuse(.crossSite)
        case "same-site"?: return .refuse(.sameSite)
        case "same-origin"?, "none"?: return .allow
        default: break  // absent, or a value no browser sends: fall back to Origin
        }
        guard let trimmedOrigin else { return .allow }
        if trimmedOrigin.lowercased() == "null" { return .refuse(.nullOrigin) }
        guard let normalizedOrigin else { return .refuse(.malformedOrigin) }
        let https = normalizedOrigin.hasPrefix("https://")
        let originAuthority = normalizedOrigin.dropFirst(https ? "https://".count : "http://".count)
        guard let host, let hostAuthority = TrustedOrigin.hostAuthority(CookieHeader.trim(Substring(host)), defaultPort: https ? 443 : 80),
            hostAuthority == originAuthority
        else { return .refuse(.originMismatch) }
        return .allow
    }
}
