import FuzzSupport
import SessionGateCore

// The login redirect's `next` parameter (open redirects). Input: `path` or `path\0query`.
// Properties: `safeNext` only passes a value that stays an on-site relative path however many
// times a browser or login page percent-decodes it, and `location` round-trips `next` exactly.
// The input also serves as an `Origin` for `TrustedOrigin` and `CrossOriginPolicy`.

private func percentDecoded(_ bytes: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        guard bytes[index] == UInt8(ascii: "%") else {
            out.append(bytes[index])
            index += 1
            continue
        }
        guard index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else {
            return nil
        }
        out.append(high << 4 | low)
        index += 3
    }
    return out
}

private func hex(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// What a browser does with a `Location` path before resolving it: drops tab, CR and LF, and
/// reads `\` as `/`. The result must still be one leading slash, not `//host`.
private func staysOnSite(_ bytes: [UInt8]) -> Bool {
    let seen = bytes.filter { $0 != 0x09 && $0 != 0x0a && $0 != 0x0d }.map { $0 == UInt8(ascii: "\\") ? UInt8(ascii: "/") : $0 }
    guard seen.first == UInt8(ascii: "/") else { return false }
    return seen.count == 1 || seen[1] != UInt8(ascii: "/")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoginRedirect(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let parts = fields(input.rest())
    let candidate = String(decoding: parts[0], as: UTF8.self)
    let query = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil

    if let next = LoginRedirect.safeNext(candidate) {
        check(next == candidate, "safeNext changed its input")
        var layer = Array(next.utf8)
        check(!layer.contains { $0 <= 0x20 || $0 >= 0x7f }, "safeNext passed a control, space or non-ASCII byte")
        // Every decoding a browser, a framework and a login page might apply, one after another.
        for _ in 0..<6 {
            check(staysOnSite(layer), "safeNext passed \(describe(next)), which leaves the site as \(describe(layer))")
            guard let decoded = percentDecoded(layer), decoded != layer else { break }
            layer = decoded
        }
    }

    for loginURL in ["/login", "/login?from=app", "https://auth.example.com/login?a=b&#frag"] {
        let location = LoginRedirect.location(loginURL: loginURL, next: candidate, query: query)
        check(!location.utf8.contains { $0 <= 0x20 || $0 >= 0x7f }, "Location has a control, space or non-ASCII byte")
        var base = Substring(loginURL)
        var fragment: Substring = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = base[hash...]
            base = base[..<hash]
        }
        check(location.hasPrefix(base) && location.hasSuffix(fragment), "Location lost the login URL")
        guard let range = location.firstRange(of: "next=")?.upperBound else {
            check(false, "Location has no next parameter")
            continue
        }
        let encoded = location[range..<location.index(location.endIndex, offsetBy: -fragment.count)]
        check(!encoded.contains("&") && !encoded.contains("#") && !encoded.contains("?"), "next value is not fully encoded")
        let expected = (LoginRedirect.safeNext(candidate) ?? "/") + ((query?.isEmpty ?? true) ? "" : "?" + query!)
        check(percentDecoded(Array(encoded.utf8)) == Array(expected.utf8), "next does not decode back to the path and query")
    }

    // The same input as an `Origin` (`[routes] trusted_origins`, the cross-origin check): a
    // normalised origin normalises to itself, and a POST whose Origin names its own Host passes.
    if let origin = TrustedOrigin.normalize(candidate) {
        check(TrustedOrigin.normalize(origin) == origin, "TrustedOrigin.normalize is not idempotent on \(describe(candidate))")
        let host = String(origin.drop { $0 != "/" }.dropFirst(2))
        let decision = CrossOriginPolicy().check(
            method: "POST", access: .session, secFetchSite: nil, origin: candidate, host: host)
        check(decision == .allow, "Origin \(describe(candidate)) does not match its own host \(describe(host))")
    }
    return 0
}
