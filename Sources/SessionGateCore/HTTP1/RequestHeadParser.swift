/// Parses an HTTP/1.x request head (RFC 9112 §2–§5) in place: it reads the bytes in the read
/// buffer and returns positions — the method, the target, each header's name and value — with no
/// `String` per header. Strict where leniency lets two parsers disagree: CRLF line endings only,
/// no whitespace before a colon or at the start of a line (obs-fold), no CTL in values, versions
/// `HTTP/1.0` and `HTTP/1.1` only, a target of visible ASCII. Limits are checked as bytes arrive,
/// so an endless head is refused (431/414) before it is buffered whole.
///
/// Pure: bytes in, a `RequestHeadParser.Outcome` out.
public struct RequestHeadParser: Sendable {
    public struct Limits: Sendable, Equatable {
        /// The most bytes of head (request line, headers, the blank line).
        public var maxHeadBytes: Int
        /// The most bytes of request target (longer: 414).
        public var maxTargetBytes: Int
        /// The most header fields.
        public var maxHeaderCount: Int

        public init(maxHeadBytes: Int, maxTargetBytes: Int, maxHeaderCount: Int) {
            self.maxHeadBytes = maxHeadBytes
            self.maxTargetBytes = maxTargetBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    public enum Outcome: Equatable, Sendable {
        /// The head is not complete yet: feed more bytes (from the same start).
        case incomplete
        /// A complete head; its bytes are `0..<head.length` of the input.
        case complete(RequestHeadLayout)
        /// Not a request head this proxy accepts.
        case invalid(HTTP1HeadError)
    }

    /// Leading empty lines ignored before the request line (RFC 9112 §2.2 allows at least one).
    static let maxLeadingEmptyLines = 4

    public let limits: Limits

    public init(limits: Limits) { self.limits = limits }

    /// Parses the head at the start of `bytes`.
    public func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var reader = Reader(bytes: bytes, limits: limits)
        return reader.parse()
    }

    /// `parse` for bytes in an array (tests, fuzzing).
    public func parse(_ bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { parse($0) }
    }
}

/// Where the parts of a request head are, as offsets into the bytes it was parsed from.
public struct RequestHeadLayout: Equatable, Sendable {
    public struct Field: Equatable, Sendable {
        public var name: Range<Int>
        /// Without leading and trailing whitespace.
        public var value: Range<Int>
    }

    public var method: Range<Int>
    public var target: Range<Int>
    /// 0 or 1 (`HTTP/1.0`, `HTTP/1.1`).
    public var minorVersion: Int
    public var fields: [Field]
    /// Bytes of the head, the final blank line included (and any leading empty lines).
    public var length: Int
}

/// Why a head is refused, and the status to answer with.
public struct HTTP1HeadError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case malformed
        case targetTooLong
        case headTooLarge
        case unsupportedVersion
    }

    public let kind: Kind
    /// What was wrong (never quotes the bytes: they may hold credentials).
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// 400, 414, 431 or 505.
    public var status: Int {
        switch kind {
        case .malformed: 400
        case .targetTooLong: 414
        case .headTooLarge: 431
        case .unsupportedVersion: 505
        }
    }

    public var description: String { "\(status): \(reason)" }
}

/// The methods this proxy accepts: those llhttp (behind every NIO HTTP server) knows, so no method
/// passes here that a server built on the same parser would read differently. Case-sensitive
/// (RFC 9110 §9.1). Most used first.
public enum HTTPMethodNames {
    static let known: [[UInt8]] = [
        "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
        "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT",
        "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR", "LINK", "UNLINK", "SOURCE",
    ].map { Array($0.utf8) }

    public static func isKnown(_ method: UnsafeRawBufferPointer) -> Bool {
        known.contains { name in name.count == method.count && name.withUnsafeBytes { $0.elementsEqual(method) } }
    }
}

/// Byte classes of the HTTP grammar. The sets are bitmaps over ASCII in integer literals: a
/// lookup is a shift and a mask, with no lazily initialised global (and its `swift_once`) or
/// array access per byte.
enum HTTPBytes {
    /// RFC 9110 §5.6.2 `tchar`: ALPHA, DIGIT and ``!#$%&'*+-.^_`|~``.
    static var tokenBits: (low: UInt64, high: UInt64) { (0x03ff_6cfa_0000_0000, 0x57ff_ffff_c7ff_fffe) }
    /// RFC 3986 unreserved, reserved (without `#`: no fragment in a request) and `%`.
    static var uriBits: (low: UInt64, high: UInt64) { (0xafff_fff2_0000_0000, 0x47ff_fffe_afff_ffff) }

    @inline(__always)
    static func isIn(_ bits: (low: UInt64, high: UInt64), _ byte: UInt8) -> Bool {
        byte < 64 ? (bits.low >> byte) & 1 == 1 : byte < 128 ? (bits.high >> (byte - 64)) & 1 == 1 : false
    }

    static func isToken(_ byte: UInt8) -> Bool { isIn(tokenBits, byte) }

    /// `field-vchar`, SP or HTAB: what a field value may hold (obs-text included).
    static func isFieldValueByte(_ byte: UInt8) -> Bool { byte == 0x09 || (byte >= 0x20 && byte != 0x7f) }

    /// Visible ASCII: what a request target may hold (checked closer by `isURIByte`).
    static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7f }

    static func isURIByte(_ byte: UInt8) -> Bool { isIn(uriBits, byte) }
    static func isAlpha(_ byte: UInt8) -> Bool { byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z") }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

/// One step of reading a head: done with a value, waiting for bytes, or refused.
enum HeadStep<Value> {
    case done(Value)
    case incomplete
    case invalid(HTTP1HeadError)
}

extension RequestHeadParser.Outcome {
    init(_ step: HeadStep<Never>) {
        switch step {
        case .incomplete: self = .incomplete
        case .invalid(let error): self = .invalid(error)
        }
    }
}

/// Reads one head (request or response) from the start of `bytes`.
struct HeadReader {
    let bytes: UnsafeRawBufferPointer
    let maxHeadBytes: Int
    let maxHeaderCount: Int
    var position = 0

    init(bytes: UnsafeRawBufferPointer, maxHeadBytes: Int, maxHeaderCount: Int) {
        self.bytes = bytes
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// The head is cut off at the end of the input: incomplete, unless it is already too large.
    func endOfInput<Value>() -> HeadStep<Value> {
        bytes.count >= maxHeadBytes ? .invalid(HTTP1HeadError(.headTooLarge, "head too large")) : .incomplete
    }

    func malformed<Value>(_ reason: String) -> HeadStep<Value> { .invalid(HTTP1HeadError(.malformed, reason)) }

    /// Expects CRLF at `position`; nil when it is there (and consumed).
    mutating func lineEnd(_ what: String) -> HeadStep<Never>? {
        guard position < bytes.count else { return endOfInput() }
        guard bytes[position] == 0x0d else { return malformed("\(what) is not followed by CRLF") }
        guard position + 1 < bytes.count else { return endOfInput() }
        guard bytes[position + 1] == 0x0a else { return malformed("CR without LF after \(what)") }
        position += 2
        return nil
    }

    /// `HTTP/1.0` or `HTTP/1.1` at `position` (consumed): the minor version. Partial input that
    /// could still become a version is incomplete; any other `HTTP/d.d` is `unsupportedVersion`.
    mutating func version() -> HeadStep<Int> {
        for index in 0..<8 where position + index < bytes.count {
            let byte = bytes[position + index]
            let fits =
                switch index {
                case 0: byte == UInt8(ascii: "H")
                case 1, 2: byte == UInt8(ascii: "T")
                case 3: byte == UInt8(ascii: "P")
                case 4: byte == UInt8(ascii: "/")
                case 5, 7: HTTPBytes.isDigit(byte)
                default: byte == UInt8(ascii: ".")
                }
            guard fits else { return malformed("malformed HTTP version") }
        }
        guard position + 8 <= bytes.count else { return endOfInput() }
        guard bytes[position + 5] == UInt8(ascii: "1"), bytes[position + 7] <= UInt8(ascii: "1") else {
            return .invalid(HTTP1HeadError(.unsupportedVersion, "only HTTP/1.0 and HTTP/1.1 are served"))
        }
        let minor = Int(bytes[position + 7] - UInt8(ascii: "0"))
        position += 8
        return .done(minor)
    }

    /// `*( field-line CRLF ) CRLF`: names and values (values without surrounding whitespace).
    mutating func fieldSection() -> HeadStep<[RequestHeadLayout.Field]> {
        var fields: [RequestHeadLayout.Field] = []
        fields.reserveCapacity(16)
        while true {
            if position > maxHeadBytes { return .invalid(HTTP1HeadError(.headTooLarge, "head too large")) }
            guard position < bytes.count else { return endOfInput() }
            if bytes[position] == 0x0d {
                if let failure = lineEnd("the header fields") { return HeadStep(failure) }
                guard position <= maxHeadBytes else { return .invalid(HTTP1HeadError(.headTooLarge, "head too large")) }
                return .done(fields)
            }
            guard fields.count < maxHeaderCount else {
                return .invalid(HTTP1HeadError(.headTooLarge, "too many header fields"))
            }
            let nameStart = position
            while position < bytes.count, HTTPBytes.isToken(bytes[position]) { position += 1 }
            guard position < bytes.count else { return endOfInput() }
            guard position > nameStart else {
                let byte = bytes[position]
                return malformed(byte == 0x20 || byte == 0x09 ? "obsolete line folding" : "malformed header name")
            }
            guard bytes[position] == UInt8(ascii: ":") else {
                return malformed(bytes[position] == 0x20 || bytes[position] == 0x09 ? "whitespace before a colon" : "malformed header name")
            }
            let name = nameStart..<position
            position += 1
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
            let valueStart = position
            var valueEnd = position
            while position < bytes.count, HTTPBytes.isFieldValueByte(bytes[position]) {
                if bytes[position] != 0x20 && bytes[position] != 0x09 { valueEnd = position + 1 }
                position += 1
                if position > maxHeadBytes { return .invalid(HTTP1HeadError(.headTooLarge, "head too large")) }
            }
            if let failure = lineEnd("a header value") { return HeadStep(failure) }
            fields.append(RequestHeadLayout.Field(name: name, value: valueStart..<max(valueStart, valueEnd)))
        }
    }
}

extension HeadStep {
    init(_ never: HeadStep<Never>) {
        switch never {
        case .incomplete: self = .incomplete
        case .invalid(let error): self = .invalid(error)
        }
    }
}

private struct Reader {
    var head: HeadReader
    let limits: RequestHeadParser.Limits
    var bytes: UnsafeRawBufferPointer { head.bytes }
    var position: Int {
        get { head.position }
        set { head.position = newValue }
    }

    init(bytes: UnsafeRawBufferPointer, limits: RequestHeadParser.Limits) {
        head = HeadReader(bytes: bytes, maxHeadBytes: limits.maxHeadBytes, maxHeaderCount: limits.maxHeaderCount)
        self.limits = limits
    }

    private func endOfInput() -> RequestHeadParser.Outcome { RequestHeadParser.Outcome(head.endOfInput() as HeadStep<Never>) }

    private func malformed(_ reason: String) -> RequestHeadParser.Outcome { .invalid(HTTP1HeadError(.malformed, reason)) }

    private mutating func lineEnd(_ what: String) -> RequestHeadParser.Outcome? {
        head.lineEnd(what).map(RequestHeadParser.Outcome.init)
    }

    mutating func parse() -> RequestHeadParser.Outcome {
        // Leading empty lines (a client's CRLF after a previous body).
        var emptyLines = 0
        while position < bytes.count, bytes[position] == 0x0d {
            guard position + 1 < bytes.count else { return endOfInput() }
            guard bytes[position + 1] == 0x0a, emptyLines < RequestHeadParser.maxLeadingEmptyLines else {
                return malformed("stray bytes before the request line")
            }
            position += 2
            emptyLines += 1
        }

        // method SP
        let methodStart = position
        while position < bytes.count, HTTPBytes.isToken(bytes[position]) { position += 1 }
        guard position < bytes.count else { return endOfInput() }
        guard position > methodStart, bytes[position] == 0x20 else { return malformed("malformed method") }
        let method = methodStart..<position
        guard HTTPMethodNames.isKnown(UnsafeRawBufferPointer(rebasing: bytes[method])) else {
            return malformed("unknown method")
        }
        position += 1

        // request-target SP
        let targetStart = position
        while position < bytes.count, HTTPBytes.isTargetByte(bytes[position]) {
            position += 1
            if position - targetStart > limits.maxTargetBytes {
                return .invalid(HTTP1HeadError(.targetTooLong, "request target too long"))
            }
        }
        guard position < bytes.count else { return endOfInput() }
        guard position > targetStart, bytes[position] == 0x20 else { return malformed("malformed request target") }
        let target = targetStart..<position
        guard Self.isRequestTarget(UnsafeRawBufferPointer(rebasing: bytes[target]), method: UnsafeRawBufferPointer(rebasing: bytes[method]))
        else { return malformed("malformed request target") }
        position += 1

        // HTTP-version CRLF
        let minor: Int
        switch head.version() {
        case .done(let value): minor = value
        case .incomplete: return .incomplete
        case .invalid(let error): return .invalid(error)
        }
        if let failure = lineEnd("the request line") { return failure }

        switch head.fieldSection() {
        case .incomplete: return .incomplete
        case .invalid(let error): return .invalid(error)
        case .done(let fields):
            return .complete(RequestHeadLayout(method: method, target: target, minorVersion: minor, fields: fields, length: position))
        }
    }

    /// RFC 9112 §3.2: origin-form (`/path?query`), absolute-form (`scheme://…`), authority-form
    /// for CONNECT, asterisk-form (`*`) for OPTIONS — of RFC 3986 characters, without a fragment.
    static func isRequestTarget(_ target: UnsafeRawBufferPointer, method: UnsafeRawBufferPointer) -> Bool {
        guard target.allSatisfy(HTTPBytes.isURIByte) else { return false }
        if target.first == UInt8(ascii: "/") { return true }
        if method.elementsEqual("CONNECT".utf8) { return true }
        if target.count == 1, target.first == UInt8(ascii: "*") { return method.elementsEqual("OPTIONS".utf8) }
        // absolute-form: scheme "://"
        guard let first = target.first, HTTPBytes.isAlpha(first) else { return false }
        var index = 1
        while index < target.count,
            HTTPBytes.isAlpha(target[index]) || HTTPBytes.isDigit(target[index])
                || target[index] == UInt8(ascii: "+") || target[index] == UInt8(ascii: "-") || target[index] == UInt8(ascii: ".")
        {
            index += 1
        }
        return target.count > index + 3 && target[index] == UInt8(ascii: ":") && target[index + 1] == UInt8(ascii: "/")
            && target[index + 2] == UInt8(ascii: "/")
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
