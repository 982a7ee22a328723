/// Follows the raw bytes an upstream connection sends and says where each response ends
/// (RFC 9112 §6.3), so that a connection goes back to the pool only after a complete, correctly
/// framed response with nothing beyond it — and is closed when anything else arrives: bytes
/// after a response's end, bytes while no response is expected, a body on a HEAD / 1xx / 204 /
/// 304 answer. Without it, leftover bytes become the next client's "response" (response queue
/// poisoning); nginx and HAProxy close such connections too.
///
/// Pure: bytes in, a verdict out. It reads as little as it must (status line, `Content-Length`,
/// `Transfer-Encoding`, `Connection`, chunk sizes) and is stricter than the HTTP parser behind it,
/// so any disagreement ends in a closed connection, never in a reused one.
public struct ResponseFramer: Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Every byte belongs to the expected response (or to a tunnel after `101`).
        case ok
        /// Bytes from `offset` on are beyond the expected response, or no response was expected:
        /// deliver only the bytes before `offset`, then close the connection.
        case excess(at: Int)
        /// The response's framing cannot be followed (bad status line, bad length, bad chunk
        /// size, head too large): the connection must close after whatever the parser makes of it.
        case malformed
    }

    private enum ExtensionPart: Sendable {
        case nameStart, name, valueStart, value
    }

    private enum Chunk: Sendable {
        case size(digits: Int, value: Int)
        /// `;name[=value]` after the size.
        case extensions(value: Int, part: ExtensionPart)
        case sizeLF(value: Int)
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerLineLF
        case finalLF
    }

    private enum State: Sendable {
        /// No request is waiting for an answer.
        case idle
        /// Reading a head (`bytes` so far) for a request that was `HEAD` or not.
        case head(isHEAD: Bool)
        case fixedBody(remaining: Int)
        case chunkedBody(Chunk)
        /// No length: the body ends when the connection does.
        case untilClose
        /// After `101 Switching Protocols`: raw bytes, not HTTP.
        case tunnel
        /// Nothing more can be followed on this connection.
        case broken
    }

    /// The largest response head followed (NIO's parser refuses far smaller heads anyway).
    public static let maxHeadBytes = 256 * 1024

    private var state = State.idle
    private var headBytes: [UInt8] = []
    /// False once the connection must not be reused (close-delimited body, `Connection: close`,
    /// `Content-Length` with `Transfer-Encoding`, any bad verdict).
    public private(set) var isReusable = true

    public init() {}

    /// True when no response is outstanding (the last one ended exactly where its bytes did).
    public var isIdle: Bool { if case .idle = state { true } else { false } }

    /// A request went out: its response is the next thing the connection may send.
    public mutating func expectResponse(toHEAD isHEAD: Bool) {
        switch state {
        case .idle:
            state = .head(isHEAD: isHEAD)
            headBytes.removeAll(keepingCapacity: true)
        default:
            isReusable = false
            state = .broken
        }
    }

    /// The connection ended: a close-delimited body is complete; anything else was cut short.
    public mutating func connectionClosed() {
        isReusable = false
        state = .broken
    }

    /// Feeds the next bytes read from the connection.
    public mutating func consume<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Verdict {
        var offset = 0
        var index = bytes.startIndex
        while index != bytes.endIndex {
            switch state {
            case .idle:
                isReusable = false
                state = .broken
                return .excess(at: offset)
            case .tunnel, .untilClose:
                return .ok
            case .broken:
                return .malformed
            case .fixedBody(let remaining):
                let available = bytes.distance(from: index, to: bytes.endIndex)
                let taken = min(available, remaining)
                index = bytes.index(index, offsetBy: taken)
                offset += taken
                state = remaining - taken == 0 ? .idle : .fixedBody(remaining: remaining - taken)
            case .head(let isHEAD):
                let byte = bytes[index]
                index = bytes.index(after: index)
                offset += 1
                // A CR only before LF; no control characters but HTAB (NIO's parser agrees).
                if headBytes.last == 0x0D, byte != 0x0A { return fail() }
                if (byte < 0x20 && byte != 0x09 && byte != 0x0D && byte != 0x0A) || byte == 0x7F { return fail() }
                headBytes.append(byte)
                if headBytes.count > Self.maxHeadBytes { return fail() }
                if byte == 0x0A {
                    // Lines end in CRLF (RFC 9112 §2.2; NIO's parser refuses bare LF too).
                    guard headBytes.count >= 2, headBytes[headBytes.count - 2] == 0x0D else { return fail() }
                    if Self.endsHead(headBytes) {
                        guard beginBody(isHEAD: isHEAD) else { return fail() }
                    }
                }
            case .chunkedBody(let chunk):
                if case .data(let remaining) = chunk {
                    let available = bytes.distance(from: index, to: bytes.endIndex)
                    let taken = min(available, remaining)
                    index = bytes.index(index, offsetBy: taken)
                    offset += taken
                    state = .chunkedBody(remaining - taken == 0 ? .dataCR : .data(remaining: remaining - taken))
                    continue
                }
                let byte = bytes[index]
                index = bytes.index(after: index)
                offset += 1
                guard step(chunk, byte) else { return fail() }
            }
        }
        return .ok
    }

    private mutating func fail() -> Verdict {
        isReusable = false
        state = .broken
        return .malformed
    }

    /// One byte of chunked framing (sizes, extensions, CRLFs, trailers); false when invalid.
    private mutating func step(_ chunk: Chunk, _ byte: UInt8) -> Bool {
        switch chunk {
        case .size(let digits, let value):
            if let digit = Self.hexValue(byte) {
                guard digits < 15 else { return false }
                state = .chunkedBody(.size(digits: digits + 1, value: value << 4 | digit))
            } else if digits > 0, byte == 0x3B {
                state = .chunkedBody(.extensions(value: value, part: .nameStart))
            } else if digits > 0, byte == 0x0D {
                state = .chunkedBody(.sizeLF(value: value))
            } else {
                return false
            }
        case .extensions(let value, let part):
            // `;name` or `;name=value` with tokens only — stricter than RFC 9112 (no quoted
            // strings, no spaces): what is refused here costs the connection's reuse, nothing else.
            switch (part, byte) {
            case (.nameStart, _), (.valueStart, _):
                guard isTokenCharacter(byte) else { return false }
                state = .chunkedBody(.extensions(value: value, part: part == .nameStart ? .name : .value))
            case (_, 0x3B):
                state = .chunkedBody(.extensions(value: value, part: .nameStart))
            case (.name, 0x3D):
                state = .chunkedBody(.extensions(value: value, part: .valueStart))
            case (_, 0x0D):
                state = .chunkedBody(.sizeLF(value: value))
            default:
                guard isTokenCharacter(byte) else { return false }
            }
        case .sizeLF(let value):
            guard byte == 0x0A else { return false }
            endSizeLine(value)
        case .data: return false  // handled in bulk
        case .dataCR:
            guard byte == 0x0D else { return false }
            state = .chunkedBody(.dataLF)
        case .dataLF:
            guard byte == 0x0A else { return false }
            state = .chunkedBody(.size(digits: 0, value: 0))
        case .trailerLineStart:
            if byte == 0x0D {
                state = .chunkedBody(.finalLF)
            } else if isTokenCharacter(byte) {
                // Trailers are dropped, and parsers disagree about them (a `Content-Length` in
                // the trailer section): a response with any is not worth a reused connection.
                isReusable = false
                headBytes.removeAll(keepingCapacity: true)
                headBytes.append(byte)
                state = .chunkedBody(.trailerLine)
            } else {
                return false
            }
        case .trailerLine:
            if byte == 0x0D {
                // A trailer field is a header field: a token, a colon, a value.
                guard let colon = headBytes.firstIndex(of: 0x3A), colon > 0,
                    headBytes[..<colon].allSatisfy(isTokenCharacter)
                else { return false }
                state = .chunkedBody(.trailerLineLF)
            } else if (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                return false
            } else {
                guard headBytes.count < Self.maxHeadBytes else { return false }
                headBytes.append(byte)
            }
        case .trailerLineLF:
            guard byte == 0x0A else { return false }
            state = .chunkedBody(.trailerLineStart)
        case .finalLF:
            guard byte == 0x0A else { return false }
            state = .idle
        }
        return true
    }

    private mutating func endSizeLine(_ size: Int) {
        state = .chunkedBody(size == 0 ? .trailerLineStart : .data(remaining: size))
    }

    /// A blank line (CRLF CRLF) ends the head.
    private static func endsHead(_ bytes: [UInt8]) -> Bool {
        let count = bytes.count
        return count >= 4 && bytes[count - 4] == 0x0D && bytes[count - 3] == 0x0A
    }

    /// Reads the complete head in `headBytes` and picks the body's framing; false when invalid.
    private mutating func beginBody(isHEAD: Bool) -> Bool {
        let head = ResponseHeadFields(headBytes)
        guard let status = head.status else { return false }
        if case .some(.none) = head.contentLength { return false }  // invalid, whatever the status
        // Both lengths: RFC 9112 §6.3 lets TE win and closes after; NIO's parser refuses it.
        if head.contentLength != nil, head.transferEncoding != nil { return false }
        if (100..<200).contains(status) {
            if status == 101 {
                state = .tunnel
                isReusable = false
            } else {
                // Interim (100, 103): the real head follows. Parsers differ on interim answers
                // (and the proxy sends no `Expect` upstream), so such a connection is not reused.
                isReusable = false
                state = .head(isHEAD: isHEAD)
            }
            headBytes.removeAll(keepingCapacity: true)
            return true
        }
        headBytes.removeAll(keepingCapacity: true)
        if head.connectionClose { isReusable = false }
        if isHEAD || status == 204 || status == 304 {
            state = .idle
            return true
        }
        if let codings = head.transferEncoding {
            if codings == .chunkedLast {
                state = .chunkedBody(.size(digits: 0, value: 0))
            } else {
                isReusable = false
                state = .untilClose
            }
            return true
        }
        switch head.contentLength {
        case .some(.some(let length)):
            state = length == 0 ? .idle : .fixedBody(remaining: length)
        case .some(.none):
            return false
        case .none:
            isReusable = false
            state = .untilClose
        }
        return true
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case 0x30...0x39: Int(byte - 0x30)
        case 0x41...0x46: Int(byte - 0x41 + 10)
        case 0x61...0x66: Int(byte - 0x61 + 10)
        default: nil
        }
    }
}

/// The few facts of a response head that decide its framing.
struct ResponseHeadFields {
    enum Codings: Equatable { case chunkedLast, other }

    var status: Int?
    /// nil: no `Content-Length`; `.some(nil)`: present but invalid or conflicting.
    var contentLength: Int??
    var transferEncoding: Codings?
    var connectionClose = false

    init(_ bytes: [UInt8]) {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        if bytes.contains(where: { $0 == 0 }) { return }  // NUL anywhere: refuse
        guard !lines.isEmpty else { return }
        status = Self.statusCode(lines.removeFirst())
        var codingsText: [UInt8] = []
        var sawCoding = false
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: 0x3A) else {
                status = nil  // not a header line (obs-fold included): refuse
                return
            }
            let name = line[line.startIndex..<colon]
            var value = line[line.index(after: colon)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            let untrimmedEnd = value
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            if name.isEmpty || !name.allSatisfy(isTokenCharacter) {
                status = nil
                return
            }
            if Self.equalsLowercased(name, "content-length") {
                // Digits, then nothing but spaces (a trailing tab is refused by NIO's parser).
                let parsed = untrimmedEnd.contains(0x09) ? nil : Self.length(value)
                switch contentLength {
                case .none: contentLength = .some(parsed)
                case .some: contentLength = .some(nil)  // a second one, even equal (NIO refuses it too)
                }
            } else if Self.equalsLowercased(name, "transfer-encoding") {
                if sawCoding { codingsText.append(0x2C) }
                codingsText.append(contentsOf: value)
                sawCoding = true
            } else if Self.equalsLowercased(name, "connection") {
                for token in value.split(separator: 0x2C) where Self.trimmedEqualsLowercased(token, "close") {
                    connectionClose = true
                }
            }
        }
        if sawCoding {
            let last = codingsText.split(separator: 0x2C, omittingEmptySubsequences: false).last ?? []
            transferEncoding = Self.trimmedEqualsLowercased(last, "chunked") ? .chunkedLast : .other
        }
    }

    /// `HTTP/1.x DDD …` → DDD.
    private static func statusCode(_ line: ArraySlice<UInt8>) -> Int? {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, Array(line.prefix(7)) == prefix else { return nil }
        let rest = Array(line.dropFirst(7))
        guard rest[0] == 0x30 || rest[0] == 0x31, rest[1] == 0x20 else { return nil }
        let digits = rest[2..<5]
        guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), rest.count == 5 || rest[5] == 0x20 else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// Digits only (no sign, no spaces inside), at most 15 of them; nil otherwise.
    private static func length(_ value: ArraySlice<UInt8>) -> Int? {
        guard !value.isEmpty, value.count <= 15, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    private static func equalsLowercased(_ bytes: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
        guard bytes.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }
        }
    }

    private static func trimmedEqualsLowercased(_ bytes: ArraySlice<UInt8>, _ lower: StaticString) -> Bool {
        var value = bytes
        while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
        return equalsLowercased(value, lower)
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a header name is made of.
private func isTokenCharacter(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    // ! # $ % & ' * + - . ^ _ ` | ~
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
    default: false
    }
}
