import SessionGateShared

/// The `302` to the login page, and the check that keeps `next` an on-site relative path.
public enum LoginRedirect {
    /// `loginURL` with `next=<path?query>` added (`&next=` when `loginURL` already has a query).
    /// The value is percent-encoded except unreserved characters and `/`, so the login page gets
    /// back exactly `path?query` after one decoding. A fragment in `loginURL` stays last.
    /// `path` is a normalised path; anything `safeNext` refuses is replaced by `/`.
    public static func location(loginURL: String, next path: String, query: String?) -> String {
        var next = safeNext(path) ?? "/"
        if let query, !query.isEmpty { next += "?" + query }
        var base = Substring(loginURL)
        var fragment: Substring = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = base[hash...]
            base = base[..<hash]
        }
        let separator: String
        if let questionMark = base.firstIndex(of: "?") {
            let hasParameters = base.index(after: questionMark) != base.endIndex && base.last != "&"
            separator = hasParameters ? "&" : ""
        } else {
            separator = "?"
        }
        return base + separator + "next=" + percentEncode(next) + fragment
    }

    /// `candidate` when it is a relative path on this site (`/…` but not `//…` or `/\…`), else nil.
    /// Refuses absolute URLs, scheme-relative `//x`, backslashes anywhere, control, space and
    /// non-ASCII characters, and encoded forms of those (`/%2F%2Fevil`, `/%5Cevil`, double encoding),
    /// because browsers and login pages decode and strip characters before following a redirect.
    public static func safeNext(_ candidate: String) -> String? {
        var current = Array(candidate.utf8)
        // The value itself is printable ASCII (it goes into a Location header as is).
        guard !current.contains(where: { $0 <= 0x20 || $0 >= 0x7f }) else { return nil }
        // Each round undoes one layer of percent-encoding; 4 layers is plenty for any real path.
        for _ in 0..<4 {
            guard isSafeRelativePath(current) else { return nil }
            guard let decoded = percentDecoded(current) else { return nil }
            if decoded == current { return candidate }
            current = decoded
        }
        return nil
    }

    /// Starts with one `/`, no backslash, no control character (browsers drop tabs and newlines,
    /// so `/\t/evil` would become `//evil`). Decoded spaces and UTF-8 are fine.
    private static func isSafeRelativePath(_ bytes: [UInt8]) -> Bool {
        guard bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count > 1, bytes[1] == UInt8(ascii: "/") || bytes[1] == UInt8(ascii: "\\") { return false }
        return !bytes.contains { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "\\") }
    }

    /// nil for invalid percent-encoding.
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.contains(UInt8(ascii: "%")) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = ASCIIHex.value(bytes[index + 1]),
                    let low = ASCIIHex.value(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    private static let upperHex = Array("0123456789ABCDEF".utf8)

    private static func percentEncode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"):
                out.append(byte)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), upperHex[Int(byte >> 4)], upperHex[Int(byte & 0x0f)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
