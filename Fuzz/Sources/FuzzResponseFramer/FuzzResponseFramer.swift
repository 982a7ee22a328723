import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore

// The upstream response framer (strict connection reuse), differentially against NIO's response
// decoder — the parser that turns the same bytes into what the client sees. Input: one flag byte
// (bit 0: the request was HEAD; the rest: where to split the bytes in two reads), then the bytes
// the upstream sends.
//
// Properties:
// 1. Never traps; the verdicts do not depend on how the bytes are split into reads.
// 2. Whenever the framer would put the connection back into the pool (all bytes belonged to the
//    response, it ended exactly at the last byte, nothing forbids reuse), NIO's decoder agrees:
//    no error, exactly one response end, and it is the last thing decoded. A disagreement would
//    be a byte the proxy could hand to the next client as its response.

private func framerRun(_ bytes: [UInt8], head: Bool, split: Int) -> (verdicts: [ResponseFramer.Verdict], framer: ResponseFramer) {
    var framer = ResponseFramer()
    framer.expectResponse(toHEAD: head)
    guard split > 0, split < bytes.count else { return ([framer.consume(bytes)], framer) }
    let first = framer.consume(bytes[..<split])
    guard first == .ok else { return ([first], framer) }
    switch framer.consume(bytes[split...]) {
    case .excess(let offset): return ([.excess(at: split + offset)], framer)
    case let other: return ([other], framer)
    }
}

private func decode(_ bytes: [UInt8], head: Bool) -> (failed: Bool, parts: [HTTPClientResponsePart]) {
    let channel = EmbeddedChannel()
    defer { _ = try? channel.finish() }
    do {
        try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes)
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: head ? .HEAD : .GET, uri: "/")))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        while try channel.readOutbound(as: ByteBuffer.self) != nil {}
    } catch {
        fatalError("setting up the decoder failed: \(error)")
    }
    var failed = false
    do {
        try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
    } catch {
        failed = true
    }
    var parts: [HTTPClientResponsePart] = []
    while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) { parts.append(part) }
    return (failed, parts)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponseFramer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let bytes = input.rest()
    let head = flags & 1 == 1
    let split = Int(flags >> 1) % (bytes.count + 1)

    let whole = framerRun(bytes, head: head, split: 0)
    let pieces = framerRun(bytes, head: head, split: split)
    precondition(whole.verdicts == pieces.verdicts, "verdict depends on the split: \(whole.verdicts) vs \(pieces.verdicts)")
    precondition(whole.framer.isIdle == pieces.framer.isIdle && whole.framer.isReusable == pieces.framer.isReusable)

    guard whole.verdicts == [.ok], whole.framer.isIdle, whole.framer.isReusable else { return 0 }
    let decoded = decode(bytes, head: head)
    precondition(!decoded.failed, "the framer would reuse a connection whose response NIO refuses")
    let ends = decoded.parts.filter { if case .end = $0 { true } else { false } }.count
    precondition(ends == 1, "the framer would reuse after \(ends) response ends")
    if case .end = decoded.parts.last {} else { preconditionFailure("NIO decoded more after the response the framer ended") }
    return 0
}
