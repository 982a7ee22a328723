import SessionGateShared

/// Decodes a chunked body (RFC 9112 §7.1) in place: it says which byte ranges of the input are
/// body data, and where the body ends. Strict: hex sizes of at most 15 digits, CRLF only,
/// extensions bounded and free of CTLs, trailer fields well-formed (and dropped: the proxy never
/// forwards trailers). Pure and incremental: feed each read as it comes.
public struct ChunkedBodyDecoder: Sendable {
    public enum Step: Equatable, Sendable {
        /// Body bytes at these offsets of the input given to `next`.
        case data(Range<Int>)
        /// The body ended; the bytes after `at` belong to the next message.
        case end(at: Int)
        /// Everything given was consumed; feed more.
        case needMore
        /// Not a chunked body this proxy accepts (the reason never quotes the bytes).
        case invalid(String)
    }

    enum ExtensionPart: Sendable {
        case nameStart, name, valueStart, token, quoted, quotedEscape, afterQuoted
    }

    private enum State: Sendable {
        case size(digits: Int, value: Int)
        /// `;name[=value]` after a size (RFC 9112 §7.1.1): `part` is where in it.
        case sizeExtension(value: Int, bytes: Int, part: ExtensionPart)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        /// At the start of a trailer line (or of the final empty line).
        case trailerStart(bytes: Int)
        /// `length` name bytes so far; `candidates`: bits of `forbiddenTrailers` still matching.
        case trailerName(bytes: Int, length: Int, candidates: UInt8)
        case trailerValue(bytes: Int)
        case trailerLF(bytes: Int, final: Bool)
        case done
        case failed
    }

    /// The most hex digits of a chunk size (16 would overflow a signed 64-bit count).
    static let maxSizeDigits = 15
    /// The most bytes of extensions after one chunk size.
    static let maxExtensionBytes = 4096

    private var state = State.size(digits: 0, value: 0)
    /// The most bytes of trailer section accepted.
    public let maxTrailerBytes: Int

    public init(maxTrailerBytes: Int = 16384) { self.maxTrailerBytes = maxTrailerBytes }

    /// True once the last chunk and the trailer section have been read.
    public var isDone: Bool { if case .done = state { true } else { false } }

    /// The next step over `bytes`, starting at `offset` (moved past what was consumed).
    public mutating func next(_ bytes: UnsafeRawBufferPointer, offset: inout Int) -> Step {
        while offset < bytes.count {
            let byte = bytes[offset]
            switch state {
            case .size(let digits, let value):
                if let digit = ASCIIHex.value(byte) {
                    guard digits < Self.maxSizeDigits else { return fail("chunk size too large") }
                    state = .size(digits: digits + 1, value: value << 4 | Int(digit))
                } else if digits == 0 {
                    return fail("chunk size missing")
                } else if byte == UInt8(ascii: ";") {
                    state = .sizeExtension(value: value, bytes: 0, part: .nameStart)
                } else if byte == 0x0d {
                    state = .sizeLF(value: value)
                } else {
                    return fail("malformed chunk size")
                }
            case .sizeExtension(let value, let count, let part):
                guard count < Self.maxExtensionBytes, let next = Self.extension(part, byte) else {
                    return fail("malformed chunk extension")
                }
                if let next {
                    state = .sizeExtension(value: value, bytes: count + 1, part: next)
                } else {
                    state = .sizeLF(value: value)
                }
            case .sizeLF(let value):
                guard byte == 0x0a else { return fail("CR without LF after a chunk size") }
                state = value == 0 ? .trailerStart(bytes: 0) : .data(remaining: value)
            case .data(let remaining):
                let take = min(remaining, bytes.count - offset)
                let range = offset..<(offset + take)
                offset += take
                state = take == remaining ? .dataCR : .data(remaining: remaining - take)
                return .data(range)
            case .dataCR:
                guard byte == 0x0d else { return fail("chunk data not followed by CRLF") }
                state = .dataLF
            case .dataLF:
                guard byte == 0x0a else { return fail("chunk data not followed by CRLF") }
                state = .size(digits: 0, value: 0)
            case .trailerStart(let count):
                if byte == 0x0d {
                    state = .trailerLF(bytes: count + 1, final: true)
                } else {
                    state = .trailerName(bytes: count, length: 0, candidates: 0b111)
                    continue  // the same byte starts the name
                }
            case .trailerName(let count, let length, let candidates):
                guard count < maxTrailerBytes else { return fail("trailer section too large") }
                if HTTPBytes.isToken(byte) {
                    state = .trailerName(
                        bytes: count + 1, length: length + 1, candidates: Self.stillMatching(candidates, byte, at: length))
                } else if byte == UInt8(ascii: ":"), length > 0 {
                    // RFC 9110 §6.5.1: framing and routing fields never come as trailers; a
                    // parser that merged them would frame or route the message anew.
                    guard !Self.matchesWhole(candidates, length: length) else { return fail("framing field in trailers") }
                    state = .trailerValue(bytes: count + 1)
                } else {
                    return fail("malformed trailer field")
                }
            case .trailerValue(let count):
                guard count < maxTrailerBytes else { return fail("trailer section too large") }
                if byte == 0x0d {
                    state = .trailerLF(bytes: count + 1, final: false)
                } else {
                    guard HTTPBytes.isFieldValueByte(byte) else { return fail("malformed trailer field") }
                    state = .trailerValue(bytes: count + 1)
                }
            case .trailerLF(let count, let final):
                guard byte == 0x0a else { return fail("CR without LF in the trailer section") }
                offset += 1
                if final {
                    state = .done
                    return .end(at: offset)
                }
                state = .trailerStart(bytes: count + 1)
                continue
            case .done:
                return .end(at: offset)
            case .failed:
                return .invalid("the chunked body was already refused")
            }
            offset += 1
        }
        if case .done = state { return .end(at: offset) }
        return .needMore
    }

    /// Trailer names refused outright (lower case).
    static let forbiddenTrailers: [[UInt8]] = ["transfer-encoding", "content-length", "host"].map { Array($0.utf8) }

    private static func stillMatching(_ candidates: UInt8, _ byte: UInt8, at index: Int) -> UInt8 {
        var result = candidates
        for (bit, name) in forbiddenTrailers.enumerated() where candidates & (1 << bit) != 0 {
            if index >= name.count || byte | 0x20 != name[index] { result &= ~(1 << bit) }
        }
        return result
    }

    private static func matchesWhole(_ candidates: UInt8, length: Int) -> Bool {
        forbiddenTrailers.enumerated().contains { bit, name in candidates & (1 << bit) != 0 && name.count == length }
    }

    /// The extension part after `byte`: `.some(nil)` when a CR ends the extensions there, nil
    /// when the byte is not allowed.
    private static func `extension`(_ part: ExtensionPart, _ byte: UInt8) -> ExtensionPart?? {
        let isToken = HTTPBytes.isToken(byte)
        switch part {
        case .nameStart: return isToken ? .name : nil
        case .name:
            if isToken { return .name }
            if byte == UInt8(ascii: "=") { return .valueStart }
            if byte == UInt8(ascii: ";") { return .nameStart }
            return byte == 0x0d ? .some(nil) : nil
        case .valueStart:
            if isToken { return .token }
            return byte == UInt8(ascii: "\"") ? .quoted : nil
        case .token, .afterQuoted:
            if part == .token, isToken { return .token }
            if byte == UInt8(ascii: ";") { return .nameStart }
            return byte == 0x0d ? .some(nil) : nil
        case .quoted:
            if byte == UInt8(ascii: "\"") { return .afterQuoted }
            if byte == UInt8(ascii: "\\") { return .quotedEscape }
            return HTTPBytes.isFieldValueByte(byte) ? .quoted : nil
        case .quotedEscape:
            return HTTPBytes.isFieldValueByte(byte) ? .quoted : nil
        }
    }

    private mutating func fail(_ reason: String) -> Step {
        state = .failed
        return .invalid(reason)
    }
}
