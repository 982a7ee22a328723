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

    private static let sessionFamilyPrefix = Array("x-session".utf8)
    private static let proxyOwned = proxyOwnedHeaders.map { Array($0.utf8) }
    private static let hopByHop = hopByHopHeaders.map { Array($0.utf8) }

    public init(injectedHeaders: [String]) {
        injected = injectedHeaders.map { $0.utf8.map(Self.canonical) }
    }

    /// True for names in the `X-Session-*` family or named in `[inject]`, in any case and with `_`
    /// or `.` for `-` (`x_session_token`, `X.Session.Set`, `X-USER-ID`, `x_user.id`).
    public func isSpoofable(_ name: String) -> Bool {
        let bytes = name.utf8
        if Self.isSessionFamily(bytes) { return true }
        return injected.contains { Self.canonicallyEqual(bytes, $0) }
    }

    /// True for the hop-by-hop headers of RFC 9110 §7.6.1 (any case; exact spelling otherwise).
    public static func isHopByHop(_ name: String) -> Bool {
        hopByHop.contains { asciiCaseInsensitiveEqual(name.utf8, $0) }
    }

    /// The header names listed in `Connection` values, lower-cased, without duplicates, in order —
    /// except headers the proxy sets or protects itself, so `Connection: X-Session-Token` cannot
    /// remove the proxy's own header.
    public func connectionNominated(_ connectionValues: [String]) -> [String] {
        var names: [String] = []
        for value in connectionValues {
            for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: true) {
                var token = element[...]
                while let first = token.first, first == 0x20 || first == 0x09 { token.removeFirst() }
                while let last = token.last, last == 0x20 || last == 0x09 { token.removeLast() }
                guard !token.isEmpty, !isProtected(token) else { continue }
                let name = String(decoding: token.map(Self.lowercased), as: UTF8.self)
                if !names.contains(name) { names.append(name) }
            }
        }
        return names
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

    /// `x-session` itself or `x-session-…`, canonically.
    private static func isSessionFamily<Bytes: Collection<UInt8>>(_ name: Bytes) -> Bool {
        var iterator = name.makeIterator()
        for expected in sessionFamilyPrefix {
            guard let byte = iterator.next(), canonical(byte) == expected else { return false }
        }
        guard let next = iterator.next() else { return true }
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
