import SessionGateShared

/// A request target after normalisation: the path that is both matched against routes and
/// forwarded upstream, and the query string forwarded untouched.
public struct NormalizedTarget: Sendable, Equatable {
    /// Starts with `/`; no dot-segments, no empty segments, percent-escapes in upper case and only
    /// for bytes that are not unreserved. A trailing `/` is kept (`/docs/` is not `/docs`).
    public var path: String
    /// The query without its `?`, exactly as received; nil when the target had no `?`.
    public var query: String?

    public init(path: String, query: String? = nil) {
        self.path = path
        self.query = query
    }

    /// `path` plus `?query` when there is one: what goes on the upstream request line.
    public var requestTarget: String {
        guard let query else { return path }
        return path + "?" + query
    }
}

/// Why a request target was refused, with the status to answer (400, or 414 when too long).
/// `reason` never quotes the target.
public struct TargetRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status): \(reason)" }

    static func bad(_ reason: String) -> TargetRejection { TargetRejection(status: 400, reason: reason) }
}

/// Turns a raw request target into the one path that routes match and the upstream receives, and
/// refuses the encodings that different servers read differently.
///
/// - Percent-escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded; every other
///   escape stays encoded with upper-case hex (`%2e` → `.`, `%3b` → `%3B`, `%25` stays `%25`, so
///   double encoding is decoded once only).
/// - Dot-segments are removed (RFC 3986 §5.2.4, after decoding); `..` above the root is clamped
///   to `/`. Empty segments are collapsed (`//admin` → `/admin`); a trailing `/` is kept, and a
///   final dot-segment leaves one (`/admin/.` → `/admin/`), as in RFC 3986.
/// - 400 for: `%2F`, `%5C`, `%00` and other encoded control characters; percent-encoded bytes that
///   are not valid UTF-8 (overlong `%C0%AE`); a raw `\`, `;` or `#`; raw control, space or
///   non-ASCII bytes; invalid percent-encoding; asterisk-form, authority-form and relative targets;
///   absolute-form whose authority is not `host` (or any absolute-form when `host` is nil).
/// - 414 when the target is longer than `maxLength` bytes.
///
/// Normalising a normalised target returns it unchanged.
public enum PathNormalizer {
    public static func normalize(
        target: String, maxLength: Int, host: String?
    ) -> Result<NormalizedTarget, TargetRejection> {
        if target.utf8.count <= maxLength, let plain = alreadyNormal(target) { return .success(plain) }
        return normalizeByRules(target: target, maxLength: maxLength, host: host)
    }

    /// The target as it is, when it is an origin-form target these rules would return unchanged
    /// (nil otherwise): a path of bytes that pass through `decodePath` as they are (printable
    /// ASCII except `%`, `\`, `;`, `#`), whose segments are neither empty (but the last) nor `.`
    /// or `..`, and a query of printable ASCII without `#`. Most requests take this path: no
    /// copies, no arrays. `FuzzPath` checks it against `normalizeByRules` on every input.
    public static func alreadyNormal(_ target: String) -> NormalizedTarget? {
        var target = target
        return target.withUTF8 { bytes -> NormalizedTarget? in
            guard bytes.first == UInt8(ascii: "/") else { return nil }
            var index = 1
            var segmentStart = 1
            // Whether the segment that ends at `end` (exclusive) keeps the path unchanged.
            func plainSegment(_ end: Int, last: Bool) -> Bool {
                switch end - segmentStart {
                case 0: return last
                case 1: return bytes[segmentStart] != UInt8(ascii: ".")
                case 2: return bytes[segmentStart] != UInt8(ascii: ".") || bytes[segmentStart + 1] != UInt8(ascii: ".")
                default: return true
                }
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "?") { break }
                if byte == UInt8(ascii: "/") {
                    guard plainSegment(index, last: false) else { return nil }
                    segmentStart = index + 1
                } else if byte <= 0x20 || byte >= 0x7f || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\")
                    || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "#")
                {
                    return nil
                }
                index += 1
            }
            guard plainSegment(index, last: true) else { return nil }
            let path = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<index]), as: UTF8.self)
            guard index < bytes.count else { return NormalizedTarget(path: path) }
            let query = UnsafeBufferPointer(rebasing: bytes[(index + 1)...])
            guard query.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") }) else { return nil }
            return NormalizedTarget(path: path, query: String(decoding: query, as: UTF8.self))
        }
    }

    /// Every rule applied step by step (what `normalize` does when `alreadyNormal` is nil).
    public static func normalizeByRules(
        target: String, maxLength: Int, host: String?
    ) -> Result<NormalizedTarget, TargetRejection> {
        let bytes = Array(target.utf8)
        guard bytes.count <= maxLength else {
            return .failure(TargetRejection(status: 414, reason: "request target longer than \(maxLength) bytes"))
        }
        do throws(TargetRejection) {
            let pathStart = try originFormStart(bytes, host: host)
            var pathEnd = pathStart
            while pathEnd < bytes.count, bytes[pathEnd] != UInt8(ascii: "?") { pathEnd += 1 }
            var query: String? = nil
            if pathEnd < bytes.count {
                let queryBytes = bytes[(pathEnd + 1)...]
                for byte in queryBytes {
                    if byte == UInt8(ascii: "#") { throw .bad("fragment in request target") }
                    if byte <= 0x20 || byte >= 0x7f { throw .bad("control, space or non-ASCII byte in query") }
                }
                query = String(decoding: queryBytes, as: UTF8.self)
            }
            let decoded = try decodePath(bytes[pathStart..<pathEnd])
            return .success(NormalizedTarget(path: removeDotAndEmptySegments(decoded), query: query))
        } catch {
            return .failure(error)
        }
    }

    /// Index where the path starts: 0 for origin-form, after the authority for absolute-form.
    private static func originFormStart(_ bytes: [UInt8], host: String?) throws(TargetRejection) -> Int {
        guard let first = bytes.first else { throw .bad("empty request target") }
        if first == UInt8(ascii: "/") { return 0 }
        if first == UInt8(ascii: "*") { throw .bad("asterisk-form request target") }
        let lowered = bytes.prefix(8).map { $0 | 0x20 }
        let schemeLength: Int
        let defaultPort: String
        if lowered.starts(with: "http://".utf8) {
            schemeLength = 7
            defaultPort = ":80"
        } else if lowered.starts(with: "https://".utf8) {
            schemeLength = 8
            defaultPort = ":443"
        } else {
            throw .bad("request target is neither origin-form nor absolute-form")
        }
        var authorityEnd = schemeLength
        while authorityEnd < bytes.count, bytes[authorityEnd] != UInt8(ascii: "/"),
            bytes[authorityEnd] != UInt8(ascii: "?")
        {
            authorityEnd += 1
        }
        let authority = bytes[schemeLength..<authorityEnd]
        guard let host, !authority.isEmpty, !authority.contains(UInt8(ascii: "@")),
            sameAuthority(authority, host, defaultPort: defaultPort)
        else {
            throw .bad("absolute-form request target for another host")
        }
        guard authorityEnd < bytes.count, bytes[authorityEnd] == UInt8(ascii: "/") else {
            throw .bad("absolute-form request target without a path")
        }
        return authorityEnd
    }

    private static func sameAuthority(_ authority: ArraySlice<UInt8>, _ host: String, defaultPort: String) -> Bool {
        func canonical<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [UInt8] {
            var lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }
            if lowered.count > defaultPort.utf8.count, lowered.reversed().starts(with: defaultPort.utf8.reversed()) {
                lowered.removeLast(defaultPort.utf8.count)
            }
            return lowered
        }
        return canonical(authority) == canonical(host.utf8)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static let upperHex = Array("0123456789ABCDEF".utf8)

    /// Decodes unreserved escapes, upper-cases the others and refuses ambiguous bytes.
    private static func decodePath(_ path: ArraySlice<UInt8>) throws(TargetRejection) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        var utf8 = EscapedUTF8Validator()
        var index = path.startIndex
        while index < path.endIndex {
            let byte = path[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < path.endIndex,
                    let high = ASCIIHex.value(path[index + 1]), let low = ASCIIHex.value(path[index + 2])
                else { throw .bad("invalid percent-encoding in path") }
                let value = high << 4 | low
                switch value {
                case 0x2f: throw .bad("encoded slash (%2F) in path")
                case 0x5c: throw .bad("encoded backslash (%5C) in path")
                case 0x00: throw .bad("encoded NUL (%00) in path")
                case 0x01..<0x20, 0x7f: throw .bad("encoded control character in path")
                default: break
                }
                try utf8.feed(value)
                if isUnreserved(value) {
                    out.append(value)
                } else {
                    out.append(contentsOf: [UInt8(ascii: "%"), upperHex[Int(value >> 4)], upperHex[Int(value & 0x0f)]])
                }
                index += 3
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): throw .bad("backslash in path")
            case UInt8(ascii: ";"): throw .bad("semicolon in path")
            case UInt8(ascii: "#"): throw .bad("fragment in request target")
            case 0..<0x21, 0x7f...: throw .bad("control, space or non-ASCII byte in path")
            default:
                try utf8.feed(byte)  // an ASCII byte where a continuation byte was due
                out.append(byte)
            }
            index += 1
        }
        try utf8.finish()
        return out
    }

    /// RFC 3986 §5.2.4 on whole segments, plus collapsing empty segments: one pass writing into
    /// the output, `..` truncating it back to the previous `/` (no array of segment slices).
    /// `path` starts with `/`.
    private static func removeDotAndEmptySegments(_ path: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(path.count + 1)
        var trailingSlash = false
        path.withUnsafeBufferPointer { bytes in
            let count = bytes.count
            // The segments after the leading "/".
            var start = 1
            while start <= count {
                var end = start
                while end < count, bytes[end] != UInt8(ascii: "/") { end += 1 }
                let length = end - start
                if length == 0 || (length == 1 && bytes[start] == UInt8(ascii: ".")) {
                    trailingSlash = true
                } else if length == 2, bytes[start] == UInt8(ascii: "."), bytes[start + 1] == UInt8(ascii: ".") {
                    // `out` is "/segment" pieces whose segments hold no "/": drop the last one.
                    if let slash = out.lastIndex(of: UInt8(ascii: "/")) { out.removeSubrange(slash...) }
                    trailingSlash = true
                } else {
                    out.append(UInt8(ascii: "/"))
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                    trailingSlash = false
                }
                start = end + 1
            }
        }
        if out.isEmpty || trailingSlash { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Checks that the bytes written as percent-escapes form valid UTF-8 (no overlongs such as
/// `%C0%AE`, no surrogates), so no server can decode them into `.` or `/`.
private struct EscapedUTF8Validator {
    private var remaining = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    mutating func feed(_ byte: UInt8) throws(TargetRejection) {
        if remaining > 0 {
            guard byte >= lower, byte <= upper else { throw .bad("percent-encoded bytes are not valid UTF-8") }
            remaining -= 1
            lower = 0x80
            upper = 0xBF
            return
        }
        switch byte {
        case 0..<0x80: return
        case 0xC2...0xDF: (remaining, lower, upper) = (1, 0x80, 0xBF)
        case 0xE0: (remaining, lower, upper) = (2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (remaining, lower, upper) = (2, 0x80, 0xBF)
        case 0xED: (remaining, lower, upper) = (2, 0x80, 0x9F)
        case 0xF0: (remaining, lower, upper) = (3, 0x90, 0xBF)
        case 0xF1...0xF3: (remaining, lower, upper) = (3, 0x80, 0xBF)
        case 0xF4: (remaining, lower, upper) = (3, 0x80, 0x8F)
        default: throw .bad("percent-encoded bytes are not valid UTF-8")
        }
    }

    func finish() throws(TargetRejection) {
        if remaining > 0 { throw .bad("percent-encoded bytes are not valid UTF-8") }
    }
}
