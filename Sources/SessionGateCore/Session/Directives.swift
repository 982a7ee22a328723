/// One `X-Session-Action` verb.
public enum SessionAction: String, Sendable, Equatable, CaseIterable {
    /// New id, same data, old id gone.
    case rotate
    /// End this session.
    case destroy
    /// End every other session of this user.
    case revokeOthers = "revoke-others"
    /// End every session of this user.
    case revokeAll = "revoke-all"
}

/// The session directives of one upstream response, parsed and validated as a whole: either all of
/// them are valid, or the response is malformed and none of them applies.
public struct SessionDirectives: Sendable, Equatable {
    /// `X-Session-Set` merge patches in header order; each is an object, or `.null` (destroy).
    public var patches: [JSONValue]
    /// `X-Session-Action` verbs in order; they apply after the patches.
    public var actions: [SessionAction]
    /// `X-Session-Lifetime` in whole seconds (> 0), not yet capped by `max_lifetime`.
    public var lifetime: Int64?
    /// `X-Session-Action: revoke <sid>` handles in order: other sessions of the same user to end.
    /// They apply after the patches, before the verbs.
    public var revocations: [String]

    public init(
        patches: [JSONValue] = [], actions: [SessionAction] = [], lifetime: Int64? = nil, revocations: [String] = []
    ) {
        self.patches = patches
        self.actions = actions
        self.lifetime = lifetime
        self.revocations = revocations
    }

    /// True when the response carried no directive at all.
    public var isEmpty: Bool { patches.isEmpty && actions.isEmpty && lifetime == nil && revocations.isEmpty }

    /// The longest `sid` a `revoke <sid>` may name (handles are 22 characters).
    public static let maxHandleBytes = 64

    /// Header names, lowercased, that carry directives (always stripped from the client response).
    public static let headerNames = ["x-session-set", "x-session-action", "x-session-lifetime"]

    /// Parses the values of the three directive headers, each list in the order the headers came.
    /// Any malformed value fails the whole set.
    public static func parse(
        set: [String], action: [String], lifetime: [String]
    ) -> Result<SessionDirectives, DirectiveError> {
        var directives = SessionDirectives()
        for (index, value) in set.enumerated() {
            let patch: JSONValue
            do {
                patch = try JSONParser.parse(value, maxDepth: 32, maxBytes: 64 * 1024)
            } catch {
                return .failure(.init(header: "X-Session-Set", position: index, reason: "is not valid JSON (\(error))"))
            }
            switch patch {
            case .object, .null: directives.patches.append(patch)
            default:
                return .failure(
                    .init(
                        header: "X-Session-Set", position: index,
                        reason: "must be a JSON object or null, not \(kindName(patch))"))
            }
        }
        for (index, value) in action.enumerated() {
            for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let trimmed = trimOWS(element)
                if trimmed.isEmpty { continue }  // RFC 9110 §5.6.1: empty list elements are ignored
                // ASCII case folding only: Unicode lower-casing turns KELVIN SIGN (U+212A) into "k".
                let words = trimmed.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
                let word = String(decoding: words[0].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
                if word == "revoke" {
                    guard words.count == 2, let handle = sessionHandle(words[1]) else {
                        return .failure(
                            .init(
                                header: "X-Session-Action", position: index,
                                reason: "\(DirectiveError.preview(trimmed)) must be \"revoke <sid>\" with one sid "
                                    + "(letters, digits, - and _, at most \(maxHandleBytes))"))
                    }
                    directives.revocations.append(handle)
                    continue
                }
                guard words.count == 1, let verb = SessionAction(rawValue: word) else {
                    return .failure(
                        .init(
                            header: "X-Session-Action", position: index,
                            reason: "unknown action \(DirectiveError.preview(trimmed)); "
                                + "expected rotate, destroy, revoke-others, revoke-all or revoke <sid>"))
                }
                directives.actions.append(verb)
            }
        }
        if lifetime.count > 1 {
            return .failure(.init(header: "X-Session-Lifetime", position: 1, reason: "appears more than once"))
        }
        if let value = lifetime.first {
            switch parseSeconds(value) {
            case .success(let seconds): directives.lifetime = seconds
            case .failure(let error): return .failure(error)
            }
        }
        return .success(directives)
    }

    /// A `sid` as `revoke` takes it: base64url characters, 1...`maxHandleBytes` of them.
    static func sessionHandle(_ bytes: some Collection<UInt8>) -> String? {
        guard !bytes.isEmpty, bytes.count <= maxHandleBytes else { return nil }
        let valid = bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                true
            default: false
            }
        }
        return valid ? String(decoding: bytes, as: UTF8.self) : nil
    }

    private static func parseSeconds(_ value: String) -> Result<Int64, DirectiveError> {
        let trimmed = trimOWS(value.utf8[...])
        func malformed(_ why: String) -> Result<Int64, DirectiveError> {
            .failure(
                .init(
                    header: "X-Session-Lifetime", position: 0,
                    reason: "\(DirectiveError.preview(trimmed)) \(why); expected whole seconds greater than 0"))
        }
        guard !trimmed.isEmpty else { return malformed("is empty") }
        if trimmed.contains(UInt8(ascii: ",")) { return malformed("lists more than one value") }
        var seconds: Int64 = 0
        for byte in trimmed {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                return malformed("is not a whole number")
            }
            let (shifted, overflowA) = seconds.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            // Absurdly large values saturate; the caller caps them at max_lifetime anyway.
            seconds = overflowA || overflowB ? Int64.max : next
        }
        guard seconds > 0 else { return malformed("is not greater than 0") }
        return .success(seconds)
    }

    private static func trimOWS(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return slice
    }

    private static func trimOWS(_ bytes: Slice<String.UTF8View>) -> Slice<String.UTF8View> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return slice
    }

    private static func kindName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Why an upstream's directives were refused. Names the header and the reason; quotes at most a
/// short, sanitised prefix of a bad action or lifetime and never a patch's content.
public struct DirectiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The header as usually spelled, e.g. `X-Session-Set`.
    public let header: String
    /// 0-based index of the offending header value among those of the same name.
    public let position: Int
    /// What is wrong, e.g. `must be a JSON object or null, not an array`.
    public let reason: String

    public init(header: String, position: Int, reason: String) {
        self.header = header
        self.position = position
        self.reason = reason
    }

    public var description: String { "malformed \(header) (value \(position + 1)): \(reason)" }

    static let previewLimit = 16

    /// A quoted preview: printable ASCII only, at most `previewLimit` bytes, `…` when cut.
    static func preview<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var out = "\""
        for byte in bytes.prefix(previewLimit) {
            out.append(byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") ? Character(Unicode.Scalar(byte)) : "?")
        }
        if bytes.count > previewLimit { out.append("…") }
        out.append("\"")
        return out
    }
}
