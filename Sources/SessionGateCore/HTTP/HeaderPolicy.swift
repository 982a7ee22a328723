/// Which inbound header names the proxy removes before forwarding, and which `Connection` may name.
///
/// Some servers (CGI, WSGI, nginx with `underscores_in_headers`, Rack) treat `-`, `_` and `.` in a
/// header name alike and ignore case, so every spelling of a protected name counts as that name.
/// Checks compare bytes in place; nothing allocates per header.
public struct HeaderPolicy: Sendable {
    /// Canonical spellings (lower case, `-` for `_` and `.`) of the `[inject]` header names.
    private let injected: [[UInt8]]

    /// Headers the proxy sets itself on the upstream request (lower case); `Connection` never
    /// removes them. `[inject]` names and the `X-Session-*` family are protected as well.
    public static let proxyOwnedHeaders: [String] = [
        "x-session-token", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded", "via",
        "x-request-id", "host", "content-length",
    ]

    /// The hop-by-hop headers of RFC 9110 §7.6.1 (plus the legacy `Proxy-Connection`), lower case.
    public static let hopByHopHeaders: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Headers removed from every request whoever sends it (lower case, canonical spelling): the
    /// method overrides and URL overrides some frameworks obey (Symfony, IIS, Rails, Express
    /// middleware), which would let a request that the route table judged as `POST /public` act as
    /// `DELETE /admin`, and `HTTP2-Settings`, which belongs to the `h2c` upgrade that is never
    /// tunnelled.
    public static let alwaysRemovedHeaders: [String] = [
        "x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
        "x-original-uri", "http2-settings",
    ]

    /// Client-address and forwarding headers removed from requests of peers outside
    /// `trusted_proxies` (lower case, canonical), before the proxy sets its own `X-Forwarded-*`.
    /// Every name starting with `x-forwarded` counts too (`X-Forwarded-Port`, `X-Forwarded-Prefix`…).
    public static let forwardingHeaders: [String] = ["forwarded", "x-real-ip", "true-client-ip", "x-client-ip"]

    private static let sessionFamilyPrefix = Array("x-session".utf8)
    private static let forwardedFamilyPrefix = Array("x-forwarded".utf8)
    private static let alwaysRemoved = alwaysRemovedHeaders.map { Array($0.utf8) }
    private static let forwarding = forwardingHeaders.map { Array($0.utf8) }
    private static let proxyOwned = proxyOwnedHeaders.map { Array($0.utf8) }
    private static let hopByHop = hopByHopHeaders.map { Array($0.utf8) }

    public init(injectedHeaders: [String]) {
        injected = injectedHeaders.map { $0.utf8.map(Self.canonical) }
    }

    /// True for names in the `X-Session-*` family or named in `[inject]`, in any case and with `_`
    /// or `.` for `-` (`x_session_token`, `X.Session.Set`, `X-USER-ID`, `x_user.id`).
    public func isSpoofable(_ name: String) -> Bool { Self.reading(name) { isSpoofable($0) } }

    /// `isSpoofable` for a name read in place (a range of a parsed head's bytes, as the data plane
    /// calls it). Compares bytes; allocates nothing.
    public func isSpoofable(_ name: UnsafeRawBufferPointer) -> Bool {
        if Self.isSessionFamily(name) { return true }
        return injected.contains { Self.canonicallyEqual(name, $0) }
    }

    /// True for a header removed from every request (`alwaysRemovedHeaders`) in any case and with
    /// `_` or `.` for `-` (`X_HTTP_Method_Override`, `x.original.url`, `HTTP2_Settings`).
    public static func isAlwaysRemoved(_ name: String) -> Bool { reading(name) { isAlwaysRemoved($0) } }

    /// `isAlwaysRemoved` for a name read in place.
    public static func isAlwaysRemoved(_ name: UnsafeRawBufferPointer) -> Bool {
        alwaysRemoved.contains { canonicallyEqual(name, $0) }
    }

    /// True for a forwarding or client-address header (`forwardingHeaders`, or any name starting
    /// with `x-forwarded`), in any case and with `_` or `.` for `-` (`X_Forwarded_For`,
    /// `X.Forwarded.Proto`, `x-real_ip`, `FORWARDED`). Remove these from requests of peers outside
    /// `trusted_proxies`.
    public static func isForwardingHeader(_ name: String) -> Bool { reading(name) { isForwardingHeader($0) } }

    /// `isForwardingHeader` for a name read in place.
    public static func isForwardingHeader(_ name: UnsafeRawBufferPointer) -> Bool {
        if hasCanonicalPrefix(name, forwardedFamilyPrefix) { return true }
        return forwarding.contains { canonicallyEqual(name, $0) }
    }

    /// True for the hop-by-hop headers of RFC 9110 §7.6.1 (any case; exact spelling otherwise).
    public static func isHopByHop(_ name: String) -> Bool { reading(name) { isHopByHop($0) } }

    /// `isHopByHop` for a name read in place.
    public static func isHopByHop(_ name: UnsafeRawBufferPointer) -> Bool {
        hopByHop.contains { asciiCaseInsensitiveEqual(name, $0) }
    }

    /// The tokens of every `Connection` field among `fields` (ranges of `bytes`) that may remove a
    /// header: the names a hop asked to be dropped with it — except headers the proxy sets or
    /// protects itself, so `Connection: X-Session-Token` cannot remove the proxy's own header, and
    /// hop-by-hop names (`keep-alive`, `te`, …), whose fields are removed anyway (so the common
    /// `Connection: keep-alive` costs no array). Compare a field name with them with
    /// `HeaderName.equals(_:_:in:)`.
    public func connectionNominated(fields: [RequestHeadLayout.Field], in bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        for field in fields where HeaderName.equals(field.name, "connection", in: bytes) {
            for token in HeaderName.listElements(field.value, in: bytes)
            where !isProtected(UnsafeRawBufferPointer(rebasing: bytes[token]))
                && !Self.isHopByHop(UnsafeRawBufferPointer(rebasing: bytes[token]))
            {
                tokens.append(token)
            }
        }
        return tokens
    }

    /// `body` on the UTF-8 bytes of `name` (the `String` forms above read them like a head's).
    private static func reading(_ name: String, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        var name = name
        return name.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Whether one of the comma-separated elements of `values` (the fields of one list header such
    /// as `Connection`) is `token` (lower-case ASCII), ignoring ASCII case and surrounding blanks.
    public static func listContains(_ values: [String], token: String) -> Bool {
        let lower = Array(token.utf8)
        for value in values {
            for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
                var trimmed = element[...]
                while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed.removeFirst() }
                while let last = trimmed.last, last == 0x20 || last == 0x09 { trimmed.removeLast() }
                if asciiCaseInsensitiveEqual(trimmed, lower) { return true }
            }
        }
        return false
    }

    private func isProtected<Bytes: Collection<UInt8>>(_ name: Bytes) -> Bool {
        if Self.isSessionFamily(name) { return true }
        if injected.contains(where: { Self.canonicallyEqual(name, $0) }) { return true }
        return Self.proxyOwned.contains { Self.canonicallyEqual(name, $0) }
    }

    /// Whether `name` starts with `prefix` (canonical spelling), canonically.
    private static func hasCanonicalPrefix<Bytes: Collection<UInt8>>(_ name: Bytes, _ prefix: [UInt8]) -> Bool {
        var iterator = name.makeIterator()
        for expected in prefix {
            guard let byte = iterator.next(), canonical(byte) == expected else { return false }
        }
        return true
    }

    /// `x-session` itself or `x-session-…`, canonically.
    private static func isSessionFamily<Bytes: Collection<UInt8>>(_ name: Bytes) -> Bool {
        guard hasCanonicalPrefix(name, sessionFamilyPrefix) else { return false }
        guard let next = name.dropFirst(sessionFamilyPrefix.count).first else { return true }
        return canonical(next) == UInt8(ascii: "-")
    }

    private static func canonical(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte | 0x20
        case UInt8(ascii: "_"), UInt8(ascii: "."): UInt8(ascii: "-")
        default: byte
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    private static func canonicallyEqual<Bytes: Collection<UInt8>>(_ name: Bytes, _ canonicalName: [UInt8]) -> Bool {
        name.count == canonicalName.count && zip(name, canonicalName).allSatisfy { canonical($0) == $1 }
    }

    private static func asciiCaseInsensitiveEqual<Bytes: Collection<UInt8>>(_ name: Bytes, _ lower: [UInt8]) -> Bool {
        name.count == lower.count && zip(name, lower).allSatisfy { lowercased($0) == $1 }
    }
}
