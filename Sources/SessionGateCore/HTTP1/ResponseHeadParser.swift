/// Parses an upstream's HTTP/1.x response head in place (RFC 9112 §4): the status, the reason and
/// each header field as byte ranges, with the request side's strictness (CRLF only, no obs-fold,
/// no whitespace before a colon, no CTL in values). Pure.
public struct ResponseHeadParser: Sendable {
    public enum Outcome: Equatable, Sendable {
        case incomplete
        case complete(ResponseHeadLayout)
        case invalid(HTTP1HeadError)
    }

    public let maxHeadBytes: Int
    public let maxHeaderCount: Int

    public init(maxHeadBytes: Int, maxHeaderCount: Int) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
    }

    public func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var reader = HeadReader(bytes: bytes, maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
        return Self.statusLineAndFields(&reader)
    }

    public func parse(_ bytes: [UInt8]) -> Outcome { bytes.withUnsafeBytes { parse($0) } }

    private static func statusLineAndFields(_ reader: inout HeadReader) -> Outcome {
        func outcome(_ step: HeadStep<Never>) -> Outcome {
            switch step {
            case .incomplete: .incomplete
            case .invalid(let error): .invalid(error)
            }
        }
        // HTTP-version SP 3DIGIT [SP reason-phrase] CRLF
        let minor: Int
        switch reader.version() {
        case .done(let value): minor = value
        case .incomplete: return .incomplete
        case .invalid(let error): return .invalid(HTTP1HeadError(.malformed, error.reason))  // a bad upstream, not 505
        }
        let bytes = reader.bytes
        guard reader.position + 4 <= bytes.count else {
            let available = bytes[reader.position...]
            let plausible = available.enumerated().allSatisfy { index, byte in
                index == 0 ? byte == 0x20 : HTTPBytes.isDigit(byte)
            }
            return plausible ? outcome(reader.endOfInput()) : .invalid(HTTP1HeadError(.malformed, "malformed status line"))
        }
        guard bytes[reader.position] == 0x20, (1...3).allSatisfy({ HTTPBytes.isDigit(bytes[reader.position + $0]) }),
            bytes[reader.position + 1] != UInt8(ascii: "0")
        else { return .invalid(HTTP1HeadError(.malformed, "malformed status line")) }
        let status = (1...3).reduce(0) { $0 * 10 + Int(bytes[reader.position + $1] - UInt8(ascii: "0")) }
        reader.position += 4
        var reason = reader.position..<reader.position
        if reader.position < bytes.count, bytes[reader.position] == 0x20 {
            reader.position += 1
            let start = reader.position
            while reader.position < bytes.count, HTTPBytes.isFieldValueByte(bytes[reader.position]) {
                reader.position += 1
                if reader.position > reader.maxHeadBytes { return .invalid(HTTP1HeadError(.headTooLarge, "head too large")) }
            }
            reason = start..<reader.position
        }
        if let failure = reader.lineEnd("the status line") { return outcome(failure) }
        switch reader.fieldSection() {
        case .incomplete: return .incomplete
        case .invalid(let error): return .invalid(error)
        case .done(let fields):
            return .complete(
                ResponseHeadLayout(minorVersion: minor, status: status, reason: reason, fields: fields, length: reader.position))
        }
    }
}

/// Where the parts of a response head are, as offsets into the bytes it was parsed from.
public struct ResponseHeadLayout: Equatable, Sendable {
    public var minorVersion: Int
    public var status: Int
    public var reason: Range<Int>
    public var fields: [RequestHeadLayout.Field]
    public var length: Int
}

/// How a response's body is delimited (RFC 9112 §6.3), from its head and the request it answers.
/// Ambiguous framing (both lengths, repeated or malformed `Content-Length`) is refused: the
/// response is a 502 and the connection closes.
public enum ResponseBodyFraming: Equatable, Sendable {
    /// No body (HEAD, 204, 304, `Content-Length: 0`).
    case none
    case length(Int)
    case chunked
    /// Until the upstream closes (no length; or a coding other than chunked last).
    case untilClose
    /// `1xx` other than 101: an interim answer; the real head follows.
    case interim
    /// `101 Switching Protocols`: raw bytes from here on.
    case switching

    public static func decide(
        _ layout: ResponseHeadLayout, in bytes: UnsafeRawBufferPointer, requestWasHEAD: Bool
    ) -> Result<ResponseBodyFraming, HTTP1HeadError> {
        var length: Int?
        var sawLength = false
        var codings: [ArraySlice<UInt8>] = []
        for field in layout.fields {
            if HeaderName.equals(field.name, "content-length", in: bytes) {
                guard !sawLength else { return .failure(HTTP1HeadError(.malformed, "repeated Content-Length")) }
                sawLength = true
                guard field.value.upperBound < bytes.count, bytes[field.value.upperBound] == 0x0d,
                    let value = RequestBodyFraming.digits(field.value, in: bytes)
                else { return .failure(HTTP1HeadError(.malformed, "Content-Length is not a plain number")) }
                length = value
            } else if HeaderName.equals(field.name, "transfer-encoding", in: bytes) {
                guard RequestBodyFraming.isPlainList(field, in: bytes) else {
                    return .failure(HTTP1HeadError(.malformed, "whitespace around Transfer-Encoding"))
                }
                for element in Array(bytes[field.value]).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                    codings.append(RequestBodyFraming.trimmed(element))
                }
            }
        }
        if sawLength, !codings.isEmpty {
            return .failure(HTTP1HeadError(.malformed, "both Content-Length and Transfer-Encoding"))
        }
        if (100..<200).contains(layout.status), layout.minorVersion == 0 {
            return .failure(HTTP1HeadError(.malformed, "a 1xx answer in HTTP/1.0"))  // RFC 9110 §15.2
        }
        switch layout.status {
        case 101: return .success(.switching)
        case 100..<200: return .success(.interim)
        case 204, 304: return .success(.none)
        default: break
        }
        if requestWasHEAD { return .success(.none) }
        if !codings.isEmpty {
            guard codings.allSatisfy({ !$0.isEmpty && $0.allSatisfy(HTTPBytes.isToken) }) else {
                return .failure(HTTP1HeadError(.malformed, "malformed Transfer-Encoding"))
            }
            let last = codings[codings.count - 1]
            return .success(HeaderName.equalsIgnoringCase(last, "chunked") ? .chunked : .untilClose)
        }
        guard let length else { return .success(.untilClose) }
        return .success(length == 0 ? .none : .length(length))
    }
}
