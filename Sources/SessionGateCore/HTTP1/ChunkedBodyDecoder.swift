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

    private enum State: Sendable {
        case size(digits: Int, value: Int)
        case sizeExtension(value: Int, bytes: Int)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        /// At the start of a trailer line (or of the final empty line).
        case trailerStart(bytes: Int)
        case trailerName(bytes: Int, started: Bool)
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
                    state = .sizeExtension(value: value, bytes: 0)
                } else if byte == 0x0d {
                    state = .sizeLF(value: value)
                } else {
                    return fail("malformed chunk size")
                }
            case .sizeExtension(let value, let count):
                if byte == 0x0d {
                    state = .sizeLF(value: value)
                } else {
                    guard count < Self.maxExtensionBytes, HTTPBytes.isFieldValueByte(byte) else {
                        return fail("malformed chunk extension")
                    }
                    state = .sizeExtension(value: value, bytes: count + 1)
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
                    state = .trailerName(bytes: count, started: false)
                    continue  // the same byte starts the name
                }
            case .trailerName(let count, let started):
                guard count < maxTrailerBytes else { return fail("trailer section too large") }
                if HTTPBytes.isToken(byte) {
                    state = .trailerName(bytes: count + 1, started: true)
                } else if byte == UInt8(ascii: ":"), started {
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

    private mutating func fail(_ reason: String) -> Step {
        state = .failed
        return .invalid(reason)
    }
}
