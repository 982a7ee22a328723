/// The outcome of matching one request against the `[[route]]` tables.
public struct RouteMatch: Sendable, Equatable {
    /// The first rule that matched; nil when none did and `[routes] default` applies.
    public var rule: RouteRule?
    /// The access the request gets.
    public var access: RouteAccess
    /// Why, for `explain` and debug logs: `route[2] path "/admin/**" methods GET,POST`, or
    /// `no rule matched; [routes] default`.
    public var explanation: String

    public init(rule: RouteRule?, access: RouteAccess, explanation: String) {
        self.rule = rule
        self.access = access
        self.explanation = explanation
    }
}

/// Ordered route rules: the first rule whose glob and methods match wins, else `[routes] default`.
public struct RouteTable: Sendable {
    public let routes: ProxyConfig.Routes
    /// What matching reads per rule, in rule order, prepared once so a match allocates only
    /// its result.
    private let matchers: [Matcher]

    /// One rule as matching sees it.
    private struct Matcher: Sendable {
        let segments: [PathGlob.Segment]
        /// The rule's methods as a small array: comparing a few short strings beats hashing.
        let methods: [String]?
        /// The rule's `summary`, computed once.
        let summary: String
    }

    public init(_ routes: ProxyConfig.Routes) {
        self.routes = routes
        self.matchers = routes.rules.map { rule in
            Matcher(segments: rule.pattern.segments, methods: rule.methods.map { Array($0) }, summary: rule.summary)
        }
    }

    /// Matches a normalised path (see `PathNormalizer`). Methods compare case-insensitively and a
    /// rule that allows GET also allows HEAD; a rule whose methods do not match is skipped. Globs
    /// ignore ASCII case when `[routes] case_sensitive` is false (the path itself is not changed).
    public func match(method: String, path: String) -> RouteMatch {
        // Upper-casing is the identity on ASCII without lower-case letters.
        let needsUppercasing = method.utf8.contains { $0 >= 0x80 || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
        let method = needsUppercasing ? method.uppercased() : method
        var path = path
        let found: Int? = path.withUTF8 { bytes in
            matchers.withUnsafeBufferPointer { matchers in
                for index in matchers.indices
                where Self.allows(matchers[index].methods, method)
                    && PathGlob.matches(matchers[index].segments, utf8: bytes, caseSensitive: routes.caseSensitive)
                {
                    return index
                }
                return nil
            }
        }
        guard let found else {
            return RouteMatch(rule: nil, access: routes.defaultAccess, explanation: "no rule matched; [routes] default")
        }
        let rule = routes.rules[found]
        return RouteMatch(rule: rule, access: rule.access, explanation: matchers[found].summary)
    }

    /// Whether an upper-cased request method passes a rule's `methods` (GET implies HEAD).
    private static func allows(_ methods: [String]?, _ method: String) -> Bool {
        guard let methods else { return true }
        return methods.contains(method) || (method == "HEAD" && methods.contains("GET"))
    }
}

extension RouteRule {
    /// `route[2] path "/admin/**" methods GET,POST` (methods omitted when the rule has none).
    public var summary: String {
        var text = "route[\(index)] path \"\(pattern.source)\""
        if let methods {
            text += " methods " + methods.sorted().joined(separator: ",")
        }
        return text
    }

    /// Whether session data meets `require`: every field must equal one of its values or, when
    /// the field is an array, contain one of them. Numbers compare by value (`1 == 1.0`).
    public func isSatisfied(by data: [String: JSONValue]) -> Bool {
        for (field, accepted) in require {
            guard let actual = data[field] else { return false }
            let candidates: [JSONValue]
            if case .array(let elements) = actual {
                // The whole array may itself be an accepted value, or any of its elements.
                candidates = [actual] + elements
            } else {
                candidates = [actual]
            }
            let met = candidates.contains { candidate in
                accepted.contains { JSONValue.sameValue(candidate, $0) }
            }
            if !met { return false }
        }
        return true
    }
}

extension JSONValue {
    /// Structural equality where an `.int` and a `.double` of the same value are equal.
    static func sameValue(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.int(let integer), .double(let double)), (.double(let double), .int(let integer)):
            // Exact: no rounding of large integers through Double.
            guard double.rounded() == double, double >= -0x1p63, double < 0x1p63 else { return false }
            return Int64(double) == integer
        case (.array(let lhs), .array(let rhs)):
            return lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { sameValue($0, $1) }
        case (.object(let lhs), .object(let rhs)):
            return lhs.count == rhs.count
                && lhs.allSatisfy { key, value in rhs[key].map { sameValue(value, $0) } ?? false }
        default:
            return left == right
        }
    }
}
