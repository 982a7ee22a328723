import NIOCore
import NIOHTTP1
import SessionGateCore

/// The upstream side's response decoder: our own codec (`ResponseHeadParser`,
/// `ResponseBodyFraming`, `ChunkedBodyDecoder`) in place of NIO's llhttp-based
/// `HTTPResponseDecoder`, with the same contract for `UpstreamHandler`: `.head` (a `ResponseHead`:
/// the head's own bytes and where its fields are), `.body`, `.end` per response; interim (1xx) answers dropped; a `101` handed over with its `.end`, then nothing
/// more parsed (the tunnel takes the bytes); any malformed or ambiguous response an error. It knows
/// which responses answer a HEAD from `expectResponse(toHEAD:)`, called for every request written.
///
/// It also decides whether the connection may be reused (strict reuse, against response queue
/// poisoning): never after a close-delimited body, `Connection: close`, an HTTP/1.0 answer without
/// keep-alive, a `101`, or a request written while one was outstanding; and whatever arrives
/// beyond the expected response — bytes after a body's end, a body on a HEAD / 204 / 304 answer,
/// bytes on an idle connection — is dropped and closes the connection, so it can never become
/// another client's response. The verdict is set before the response's `.end` is handed over, so
/// the pool sees it when the response is released.
final class HTTP1ResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = ResponsePart

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkedBody(ChunkedBodyDecoder)
        case untilClose
        /// After `101`: raw bytes, not HTTP.
        case switched
    }

    private let parser: ResponseHeadParser
    private var state = State.head
    /// Whether each request written and not yet answered was a HEAD, oldest first.
    private var requestsWereHEAD: [Bool] = []
    private var scannedHeadBytes = 0
    private var reusable = true
    /// Called once, when the connection must not be reused.
    var onUnreusable: (() -> Void)?

    /// Whether the connection may go back to the pool: no response outstanding, nothing beyond the
    /// last one, nothing about it forbidding reuse.
    var allowsReuse: Bool {
        guard reusable, requestsWereHEAD.isEmpty, case .head = state else { return false }
        return true
    }

    init(maxHeadBytes: Int = 65536, maxHeaderCount: Int = 1000) {
        parser = ResponseHeadParser(maxHeadBytes: maxHeadBytes, maxHeaderCount: maxHeaderCount)
    }

    /// A request went out: its response (after any earlier ones) answers a HEAD or not.
    func expectResponse(toHEAD isHEAD: Bool) {
        if !allowsReuse { forbidReuse() }  // one request at a time, on a clean connection
        requestsWereHEAD.append(isHEAD)
    }

    private func forbidReuse() {
        guard reusable else { return }
        reusable = false
        onUnreusable?()
    }

    /// Bytes beyond the expected response: dropped, and the connection closes.
    private func dropExcess(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        forbidReuse()
        buffer.moveReaderIndex(to: buffer.writerIndex)
        context.close(promise: nil)
        return .needMoreData
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .head:
            guard !requestsWereHEAD.isEmpty else {
                // Nothing was asked: a late or unsolicited answer on an idle connection.
                return buffer.readableBytes > 0 ? dropExcess(context: context, buffer: &buffer) : .needMoreData
            }
            return try decodeHead(context: context, buffer: &buffer)
        case .fixedBody(var remaining):
            let step = HTTP1BodyReader.fixed(remaining: &remaining, from: &buffer)
            state = .fixedBody(remaining: remaining)
            return body(step, context: context, buffer: &buffer)
        case .chunkedBody(var decoder):
            let step = try HTTP1BodyReader.chunked(&decoder, from: &buffer)
            state = .chunkedBody(decoder)
            return body(step, context: context, buffer: &buffer)
        case .untilClose:
            guard buffer.readableBytes > 0 else { return .needMoreData }
            context.fireChannelRead(wrapInboundOut(.body(buffer.readSlice(length: buffer.readableBytes)!)))
            return .needMoreData
        case .switched:
            return .needMoreData
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if case .switched = state {
            // Removed for a tunnel: the bytes after the 101 belong to it (NIO's `.forwardBytes`).
            if !seenEOF, buffer.readableBytes > 0 { context.fireChannelRead(NIOAny(buffer.readSlice(length: buffer.readableBytes)!)) }
            return .needMoreData
        }
        if case .untilClose = state {
            if buffer.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(.body(buffer.readSlice(length: buffer.readableBytes)!)))
            }
            if seenEOF { end(context: context, buffer: &buffer) }
            return .needMoreData
        }
        // A response cut off by the close is not ended here: the handler sees the close.
        return try decode(context: context, buffer: &buffer)
    }

    private func decodeHead(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let lineEnded = buffer.withUnsafeReadableBytes { bytes in bytes[min(scannedHeadBytes, bytes.count)...].contains(0x0a) }
        scannedHeadBytes = buffer.readableBytes
        guard lineEnded || buffer.readableBytes >= parser.maxHeadBytes else { return .needMoreData }
        let isHEAD = requestsWereHEAD.first ?? false
        let parsed = buffer.withUnsafeReadableBytes { bytes -> Result<(ResponseHeadLayout, ResponseBodyFraming)?, Error> in
            switch parser.parse(bytes) {
            case .incomplete: return .success(nil)
            case .invalid(let error):
                return .failure(error.kind == .headTooLarge ? HTTPParserError.headerOverflow : HTTPParserError.invalidStatus)
            case .complete(let layout):
                switch ResponseBodyFraming.decide(layout, in: bytes, requestWasHEAD: isHEAD) {
                case .failure: return .failure(HTTPParserError.unexpectedContentLength)
                case .success(let framing):
                    if Self.closesConnection(layout, in: bytes) { forbidReuse() }
                    return .success((layout, framing))
                }
            }
        }
        guard let (layout, framing) = try parsed.get() else { return .needMoreData }
        scannedHeadBytes = 0
        if framing == .interim {
            buffer.moveReaderIndex(forwardBy: layout.length)
            return .continue  // dropped, as NIO's default strategy does
        }
        if framing == .untilClose || framing == .switching { forbidReuse() }
        // The head's bytes leave the read buffer (as a slice when it is small); the layout
        // indexes them.
        let head = ResponseHead(bytes: HeadFields.take(layout.length, from: &buffer), layout: layout)
        context.fireChannelRead(wrapInboundOut(.head(head)))
        switch framing {
        case .interim: break
        case .switching:
            context.fireChannelRead(wrapInboundOut(.end))
            state = .switched
        case .none: end(context: context, buffer: &buffer)
        case .length(let count): state = .fixedBody(remaining: count)
        case .chunked: state = .chunkedBody(ChunkedBodyDecoder(maxTrailerBytes: parser.maxHeadBytes))
        case .untilClose: state = .untilClose
        }
        return .continue
    }

    private func body(_ step: HTTP1BodyReader.Step, context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        switch step {
        case .data(let slice, let last):
            context.fireChannelRead(wrapInboundOut(.body(slice)))
            if last { end(context: context, buffer: &buffer) }
        case .end: end(context: context, buffer: &buffer)
        case .needMoreData: return .needMoreData
        }
        return .continue
    }

    /// The response ended; bytes already here beyond it forbid reuse before the end is handed
    /// over (they are dropped by the next `decode`, which closes the connection).
    private func end(context: ChannelHandlerContext, buffer: inout ByteBuffer) {
        if buffer.readableBytes > 0 { forbidReuse() }
        if !requestsWereHEAD.isEmpty { requestsWereHEAD.removeFirst() }
        state = .head
        context.fireChannelRead(wrapInboundOut(.end))
    }

    /// `Connection: close`, or HTTP/1.0 without `keep-alive` (read on the bytes, no strings).
    private static func closesConnection(_ layout: ResponseHeadLayout, in bytes: UnsafeRawBufferPointer) -> Bool {
        var closes = layout.minorVersion == 0
        for field in layout.fields where HeaderName.equals(field.name, "connection", in: bytes) {
            for token in HeaderName.listElements(field.value, in: bytes) {
                if HeaderName.equals(token, "close", in: bytes) { return true }
                if HeaderName.equals(token, "keep-alive", in: bytes) { closes = false }
            }
        }
        return closes
    }
}
