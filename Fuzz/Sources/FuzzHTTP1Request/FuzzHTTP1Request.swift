import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore

// Our own request codec (RequestHeadParser + RequestBodyFraming + ChunkedBodyDecoder, the real
// code in SessionGateCore), differentially against NIO's llhttp-based HTTPRequestDecoder.
// Input: one byte (where to split the bytes into two reads), then the bytes a client sends.
//
// Properties:
// 1. Never traps; the outcome does not depend on how the bytes are split into reads (a prefix
//    that is refused stays refused with the same status, a complete head has the same layout).
// 2. Whenever ours accepts the first request (head, framing and the whole body), llhttp accepts it
//    too, and both agree on the method, target, version, every header name and value in order,
//    and the body bytes. Ours may refuse what llhttp accepts (it is stricter); never the reverse.

private let limits = RequestHeadParser.Limits(maxHeadBytes: 16384, maxTargetBytes: 8192, maxHeaderCount: 100)
private let parser = RequestHeadParser(limits: limits)

private struct Accepted {
    var method: String
    var target: String
    var minorVersion: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var hasUpgrade: Bool
}

/// The first request as our codec reads it, or nil when it is refused or incomplete.
private func ours(_ bytes: [UInt8]) -> Accepted? {
    bytes.withUnsafeBytes { raw -> Accepted? in
        guard case .complete(let head) = parser.parse(raw) else { return nil }
        guard case .success(let framing) = RequestBodyFraming.decide(head, in: raw) else { return nil }
        func text(_ range: Range<Int>) -> String { String(decoding: raw[range], as: UTF8.self) }
        var body: [UInt8] = []
        switch framing {
        case .none: break
        case .length(let count):
            guard raw.count - head.length >= count else { return nil }
            body = Array(raw[head.length..<(head.length + count)])
        case .chunked:
            var decoder = ChunkedBodyDecoder()
            let rest = UnsafeRawBufferPointer(rebasing: raw[head.length...])
            var offset = 0
            loop: while true {
                switch decoder.next(rest, offset: &offset) {
                case .data(let range): body += rest[range]
                case .end: break loop
                case .needMore, .invalid: return nil
                }
            }
        }
        return Accepted(
            method: text(head.method), target: text(head.target), minorVersion: head.minorVersion,
            headers: head.fields.map { (text($0.name), text($0.value)) }, body: body,
            hasUpgrade: head.fields.contains { HeaderName.equals($0.name, "upgrade", in: raw) })
    }
}

/// The first request as llhttp reads it: its parts up to the first `.end`, or nil when the
/// decoder failed before that end.
private func llhttp(_ bytes: [UInt8]) -> (head: HTTPRequestHead, body: [UInt8])? {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    var nioLimits = NIOHTTPDecoderLimitConfiguration()
    nioLimits.maxHeaderListSize = 65536
    nioLimits.maxHeaderFieldSize = 65536
    nioLimits.maxHeaderFieldCount = 1000
    do {
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: nioLimits)))
    } catch {
        fatalError("setting up the decoder failed: \(error)")
    }
    _ = try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    var head: HTTPRequestHead?
    var body: [UInt8] = []
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
        switch part {
        case .head(let value): head = value
        case .body(let buffer): body += buffer.readableBytesView
        case .end: return head.map { ($0, body) }
        }
    }
    return nil
}

/// The outcome of parsing `bytes` read in two parts (the parser restarts from the first byte
/// each time, as the decoder does with its cumulation buffer).
private func outcomeSplit(_ bytes: [UInt8], at split: Int) -> RequestHeadParser.Outcome {
    let first = parser.parse(Array(bytes[..<split]))
    if case .incomplete = first { return parser.parse(bytes) }
    return first
}

extension String {
    fileprivate init(trailingWhitespaceTrimmed text: String) {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Request(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let splitByte = input.byte()
    let bytes = input.rest()
    let split = Int(splitByte) % (bytes.count + 1)

    // 1. Splitting the bytes changes nothing.
    let whole = parser.parse(bytes)
    let pieces = outcomeSplit(bytes, at: split)
    switch (whole, pieces) {
    case (.complete(let a), .complete(let b)):
        check(a == b, "the layout depends on the split at \(split)")
    case (.invalid(let a), .invalid(let b)):
        check(a.status == b.status, "the refusal depends on the split at \(split): \(a) / \(b)")
    case (.incomplete, .incomplete): break
    default:
        check(false, "outcome depends on the split at \(split): \(whole) / \(pieces)")
    }

    // 2. Never more lenient than llhttp, and the same request when both accept.
    guard let accepted = ours(bytes) else { return 0 }
    guard let theirs = llhttp(bytes) else {
        check(false, "ours accepts a request llhttp refuses: \(describe(bytes))")
        return 0
    }
    check(theirs.head.method.rawValue == accepted.method, "method \(accepted.method) vs \(theirs.head.method.rawValue)")
    check(theirs.head.uri == accepted.target, "target \(describe(accepted.target)) vs \(describe(theirs.head.uri))")
    check(
        theirs.head.version.major == 1 && theirs.head.version.minor == accepted.minorVersion,
        "version 1.\(accepted.minorVersion) vs \(theirs.head.version)")
    // llhttp keeps trailing whitespace in a value; RFC 9110 §5.5 says it is not part of it (ours
    // drops it). Compared without it.
    let theirHeaders = theirs.head.headers.map { ($0.name, String(trailingWhitespaceTrimmed: $0.value)) }
    check(
        theirHeaders.count == accepted.headers.count && zip(theirHeaders, accepted.headers).allSatisfy { $0 == $1 },
        "headers \(accepted.headers.map { "\(describe($0.0)): \(describe($0.1))" }) vs \(theirHeaders.map { "\(describe($0.0)): \(describe($0.1))" })"
    )
    if !accepted.hasUpgrade {
        check(theirs.body == accepted.body, "body of \(accepted.body.count) bytes vs \(theirs.body.count) bytes")
    }
    return 0
}
