/// A compiled route glob over a normalised path: `*` matches exactly one non-empty segment,
/// a final `**` matches the prefix itself and anything below (`/a/**` matches `/a`, `/a/b/c`).
/// Matching is case-sensitive unless asked to ignore ASCII case (`[routes] case_sensitive = false`).
public struct PathGlob: Sendable, Equatable, CustomStringConvertible {
    enum Segment: Sendable, Equatable {
        /// The segment's UTF-8, as `PathNormalizer` spells it.
        case literal([UInt8])
        case one
        case anyDepth
    }

    public let source: String
    let segments: [Segment]

    public struct CompileError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ source: String) throws(CompileError) {
        guard source.hasPrefix("/") else {
            throw CompileError(description: "must start with \"/\" (e.g. \"/admin/**\")")
        }
        var segments: [Segment] = []
        let parts = source.split(separator: "/", omittingEmptySubsequences: true)
        for (position, part) in parts.enumerated() {
            switch part {
            case "*": segments.append(.one)
            case "**":
                guard position == parts.count - 1 else {
                    throw CompileError(description: "\"**\" is only allowed as the last segment")
                }
                segments.append(.anyDepth)
            case ".", "..":
                throw CompileError(description: "dot-segments never match a normalised path")
            default:
                if part.contains("*") {
                    throw CompileError(
                        description: "\"*\" must be a whole segment (\"/a/*\"), not part of \"\(part)\"")
                }
                segments.append(.literal(Array(try Self.normalizedLiteral(part).utf8)))
            }
        }
        self.source = source
        self.segments = segments
    }

    public var description: String { source }

    /// A literal segment spelled the way `PathNormalizer` spells paths (`%61dmin` → `admin`,
    /// `%c3%a9` → `%C3%A9`), so the glob can match; a segment no normalised path contains is an error.
    private static func normalizedLiteral(_ part: Substring) throws(CompileError) -> String {
        switch PathNormalizer.normalize(target: "/" + part, maxLength: Int.max, host: nil) {
        case .success(let normalized) where normalized.query == nil:
            let segment = normalized.path.dropFirst()
            guard !segment.isEmpty, !segment.contains("/") else {
                throw CompileError(description: "dot-segments never match a normalised path")
            }
            return String(segment)
        case .success:
            throw CompileError(description: "\"?\" is not allowed; globs match the path without the query")
        case .failure(let rejection):
            throw CompileError(description: "segment can never match a normalised path (\(rejection.reason))")
        }
    }

    /// Whether a normalised path (no query, no dot-segments, no empty segments) matches; with
    /// `caseSensitive: false`, literal segments compare ignoring ASCII case (`/ADMIN` matches
    /// `/admin/**`; non-ASCII bytes compare exactly).
    public func matches(_ path: String, caseSensitive: Bool = true) -> Bool {
        var path = path
        return path.withUTF8 { Self.matches(segments, utf8: $0, caseSensitive: caseSensitive) }
    }

    /// `matches` over the path's UTF-8, walked in place: segments are the runs between `/`s,
    /// empty runs skipped (as `split` with `omittingEmptySubsequences` would).
    static func matches(_ segments: [Segment], utf8 path: UnsafeBufferPointer<UInt8>, caseSensitive: Bool = true) -> Bool {
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
                    if caseSensitive {
                        while index < literal.count, literal[index] == path[range.lowerBound + index] { index += 1 }
                    } else {
                        while index < literal.count, asciiLowercased(literal[index]) == asciiLowercased(path[range.lowerBound + index]) {
                            index += 1
                        }
                    }
                    return index == literal.count
                }
                if !equal { return false }
            }
        }
        return nextSegment() == nil
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
