import SessionGateCore

/// `RouteTable.match` with the same result: each glob is matched by walking the path's bytes
/// (no `split` into an array per rule), `summary` is computed once per rule, and the method is
/// upper-cased only when it is not already.
public struct ProtoRouteTable: Sendable {
    enum Segment: Sendable {
        case literal([UInt8])
        case one
        case anyDepth
    }

    /// What matching reads, kept apart from the rule so the loop copies (retains) nothing.
    struct Matcher: Sendable {
        let segments: [Segment]
        /// The rule's methods as a small array: comparing a few short strings is cheaper than hashing.
        let methods: [String]?
    }

    let matchers: [Matcher]
    let rules: [RouteRule]
    let summaries: [String]
    let defaultAccess: RouteAccess

    /// Prototype shortcut: literal glob segments are taken as written (the real change would keep
    /// `PathGlob`'s normalised `segments` and only replace `matches`).
    public init(_ routes: ProxyConfig.Routes) {
        matchers = routes.rules.map { rule in
            let segments: [Segment] = rule.pattern.source.split(separator: "/").map { part in
                switch part {
                case "*": .one
                case "**": .anyDepth
                default: .literal(Array(part.utf8))
                }
            }
            return Matcher(segments: segments, methods: rule.methods.map { Array($0) })
        }
        rules = routes.rules
        summaries = routes.rules.map(\.summary)
        defaultAccess = routes.defaultAccess
    }

    public func match(method: String, path: String) -> RouteMatch {
        let method = method.utf8.contains(where: { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") })
            ? method.uppercased() : method
        var path = path
        let found: Int? = path.withUTF8 { bytes in
            matchers.withUnsafeBufferPointer { matchers in
                for index in matchers.indices
                where Self.allows(matchers[index].methods, method) && Self.matches(matchers[index].segments, bytes) {
                    return index
                }
                return nil
            }
        }
        guard let found else {
            return RouteMatch(rule: nil, access: defaultAccess, explanation: "no rule matched; [routes] default")
        }
        return RouteMatch(rule: rules[found], access: rules[found].access, explanation: summaries[found])
    }

    static func allows(_ methods: [String]?, _ method: String) -> Bool {
        guard let methods else { return true }
        return methods.contains(method) || (method == "HEAD" && methods.contains("GET"))
    }

    /// Same semantics as `PathGlob.matches` (segments as split with empty ones omitted).
    static func matches(_ segments: [Segment], _ path: UnsafeBufferPointer<UInt8>) -> Bool {
        var position = 0
        let count = path.count
        func nextSegment() -> Range<Int>? {
            while position < count, path[position] == UInt8(ascii: "/") { position += 1 }
            guard position < count else { return nil }
            let start = position
            while position < count, path[position] != UInt8(ascii: "/") { position += 1 }
            return start..<position
        }
        for segment in segments {
            switch segment {
            case .anyDepth:
                return true
            case .one:
                guard nextSegment() != nil else { return false }
            case .literal(let literal):
                guard let range = nextSegment(), range.count == literal.count else { return false }
                let equal = literal.withUnsafeBufferPointer { literal in
                    var index = 0
                    while index < literal.count, literal[index] == path[range.lowerBound + index] { index += 1 }
                    return index == literal.count
                }
                if !equal { return false }
            }
        }
        return nextSegment() == nil
    }
}

/// `CookieHeader.values` / `removing` with the same results, on UTF-8 bytes: every delimiter
/// (`;`, `=`, space, tab, `"`) is ASCII, so byte offsets are scalar boundaries and splitting bytes
/// equals splitting scalars.
public enum ProtoCookieHeader {
    /// Trimmed, non-empty `;`-separated pieces as byte ranges, with the `=` offset when there is one.
    static func forEachPair(
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

    static func trim(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (Int, Int) {
        var low = start
        var high = end
        while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
        while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
        return (low, high)
    }

    static func nameMatches(_ bytes: UnsafeBufferPointer<UInt8>, _ pair: Range<Int>, _ equals: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let (low, high) = trim(bytes, pair.lowerBound, equals)
        guard high - low == name.count else { return false }
        for index in 0..<name.count where bytes[low + index] != name[index] { return false }
        return true
    }

    public static func values(named name: String, in header: String) -> [Substring] {
        var header = header
        var name = name
        var found: [Substring] = []
        let utf8 = header.utf8
        header.withUTF8 { bytes in
            name.withUTF8 { name in
                forEachPair(bytes) { pair, equals in
                    guard let equals, nameMatches(bytes, pair, equals, name) else { return }
                    var (low, high) = trim(bytes, equals + 1, pair.upperBound)
                    if high - low >= 2, bytes[low] == UInt8(ascii: "\""), bytes[high - 1] == UInt8(ascii: "\"") {
                        low += 1
                        high -= 1
                    }
                    let lower = utf8.index(utf8.startIndex, offsetBy: low)
                    let upper = utf8.index(utf8.startIndex, offsetBy: high)
                    found.append(Substring(utf8[lower..<upper]))
                }
            }
        }
        return found
    }

    public static func removing(named name: String, from header: String) -> String? {
        var header = header
        var name = name
        var out: [UInt8] = []
        var kept = 0
        header.withUTF8 { bytes in
            out.reserveCapacity(bytes.count)
            name.withUTF8 { name in
                forEachPair(bytes) { pair, equals in
                    if let equals, nameMatches(bytes, pair, equals, name) { return }
                    if kept > 0 { out.append(contentsOf: "; ".utf8) }
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[pair]))
                    kept += 1
                }
            }
        }
        return kept == 0 ? nil : String(decoding: out, as: UTF8.self)
    }
}
