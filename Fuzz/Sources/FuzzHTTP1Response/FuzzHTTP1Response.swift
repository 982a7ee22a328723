import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore

// Our own response codec (ResponseHeadParser + ResponseBodyFraming + ChunkedBodyDecoder, the real
// code in SessionGateCore, driven as HTTP1ResponseDecoder drives it), differentially against
// NIO's llhttp-based HTTPResponseDecoder. Input: one flag byte (bit 0: the request was HEAD; the
// rest: where to split the bytes into two reads), then the bytes an upstream sends.
//
// Properties:
// 1. Never traps; the head's outcome does not depend on the split.
// 2. Whenever ours accepts the first final response (interim 1xx answers skipped, as both drop
//    them), llhttp accepts it too, with the same status, version, header names and values (llhttp
//    keeps trailing whitespace; compared without it) and, for bodies framed by length or chunks,
//    the same body bytes. Ours may refuse what llhttp accepts; never the reverse.

private let parser = ResponseHeadParser(maxHeadBytes: 16384, maxHeaderCount: 100)

private struct Accepted {
    var status: Int
    var minorVersion: Int
    var headers: [(String, String)]
    var body: [UInt8]?  // nil: not compared (until close, 101)
}

private func ours(_ bytes: [UInt8], head isHEAD: Bool) -> Accepted? {
    bytes.withUnsafeBytes { raw -> Accepted? in
        var start = 0
        while true {
            let rest = UnsafeRawBufferPointer(rebasing: raw[start...])
            guard case .complete(let layout) = parser.parse(rest) else { return nil }
            guard case .success(let framing) = ResponseBodyFraming.decide(layout, in: rest, requestWasHEAD: isHEAD) else { return nil }
            func text(_ range: Range<Int>) -> String { String(decoding: rest[range], as: UTF8.self) }
            var accepted = Accepted(
                status: layout.status, minorVersion: layout.minorVersion, headers: layout.fields.map { (text($0.name), text($0.value)) },
                body: [])
            let bodyStart = layout.length
            switch framing {
            case .interim:
                start += layout.length
                continue
            case .none: break
            case .switching, .untilClose: accepted.body = nil
            case .length(let count):
                guard rest.count - bodyStart >= count else { return nil }
                accepted.body = Array(rest[bodyStart..<(bodyStart + count)])
            case .chunked:
                var decoder = ChunkedBodyDecoder()
                let body = UnsafeRawBufferPointer(rebasing: rest[bodyStart...])
                var offset = 0
                var collected: [UInt8] = []
                loop: while true {
                    switch decoder.next(body, offset: &offset) {
                    case .data(let range): collected += body[range]
                    case .end: break loop
                    case .needMore, .invalid: return nil
                    }
                }
                accepted.body = collected
            }
            return accepted
        }
    }
}

/// The first final response as llhttp reads it, or nil when the decoder failed or gave no head.
/// `complete`: whether its `.end` came.
private func llhttp(_ bytes: [UInt8], head isHEAD: Bool) -> (head: HTTPResponseHead, body: [UInt8], complete: Bool)? {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    do {
        try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: isHEAD ? .HEAD : .GET, uri: "/")))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
    } catch {
        fatalError("setting up the decoder failed: \(error)")
    }
    var failed = false
    do { try channel.writeInbound(channel.allocator.buffer(bytes: bytes)) } catch { failed = true }
    var head: HTTPResponseHead?
    var body: [UInt8] = []
    while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
        switch part {
        case .head(let value): if head == nil { head = value }
        case .body(let buffer): body += buffer.readableBytesView
        case .end: return head.map { ($0, body, true) }
        }
    }
    if failed { return nil }
    return head.map { ($0, body, false) }
}

extension String {
    fileprivate var withoutTrailingWhitespace: String {
        var bytes = Array(utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Response(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let bytes = input.rest()
    let isHEAD = flags & 1 == 1
    let split = Int(flags >> 1) % (bytes.count + 1)

    let whole = parser.parse(bytes)
    let first = parser.parse(Array(bytes[..<split]))
    switch (first, whole) {
    case (.incomplete, _): break
    case (.invalid(let a), .invalid(let b)): check(a.status == b.status, "the refusal depends on the split at \(split)")
    case (.complete(let a), .complete(let b)): check(a == b, "the layout depends on the split at \(split)")
    default: check(false, "the outcome depends on the split at \(split): \(first) / \(whole)")
    }

    guard let accepted = ours(bytes, head: isHEAD) else { return 0 }
    guard let theirs = llhttp(bytes, head: isHEAD) else {
        check(false, "ours accepts a response llhttp refuses: \(describe(bytes))")
        return 0
    }
    check(Int(theirs.head.status.code) == accepted.status, "status \(accepted.status) vs \(theirs.head.status.code)")
    check(theirs.head.version.minor == accepted.minorVersion, "version 1.\(accepted.minorVersion) vs \(theirs.head.version)")
    let theirHeaders = theirs.head.headers.map { ($0.name, $0.value.withoutTrailingWhitespace) }
    check(
        theirHeaders.count == accepted.headers.count && zip(theirHeaders, accepted.headers).allSatisfy { $0 == $1 },
        "headers \(accepted.headers.map { "\(describe($0.0)): \(describe($0.1))" }) vs \(theirHeaders.map { "\(describe($0.0)): \(describe($0.1))" })"
    )
    if let body = accepted.body {
        check(theirs.complete, "llhttp did not end a response ours framed completely: \(describe(bytes))")
        check(theirs.body == body, "body of \(body.count) bytes vs \(theirs.body.count) bytes")
    }
    return 0
}
