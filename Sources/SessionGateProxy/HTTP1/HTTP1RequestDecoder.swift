import NIOCore
import NIOHTTP1
import SessionGateCore

/// The client side's request decoder: our own codec (`RequestHeadParser`, `RequestBodyFraming`,
/// `ChunkedBodyDecoder` in the core, fuzzed differentially against llhttp) in place of NIO's
/// llhttp-based `HTTPRequestDecoder`. It hands `ClientHandler` a `RequestHead` (the head's own
/// bytes, taken off the read buffer, and where its parts are: no `String` per header), then the
/// body's pieces and the end, with NIO's errors for the same cases:
/// - a malformed or ambiguous head or body → `HTTPParserError` (400), a head past the limits →
///   `.headerOverflow` (431);
/// - any byte after a request that closes the connection (`Connection: close`, HTTP/1.0 without
///   keep-alive) → `.closedConnection`, after that request was handed over;
/// - after a request that asks for an upgrade (`Upgrade` named in `Connection`, or `CONNECT`),
///   nothing more is parsed (what follows belongs to the tunnel, or is dropped).
/// Trailers are read and dropped.
final class HTTP1RequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = RequestPart

    private enum State {
        case head
        case fixedBody(remaining: Int, then: After)
        case chunkedBody(ChunkedBodyDecoder, then: After)
        /// After an upgrade request: bytes stay unread.
        case stopped
        /// After a request that closes the connection: any further byte is an error.
        case closed
    }

    /// What follows the current request.
    private enum After {
        case nextRequest, stop, close
    }

    private let parser: RequestHeadParser
    private var state = State.head
    /// How many bytes of the pending head were already looked at for a line end (a head is
    /// parsed again only when a new line ended, so a byte-at-a-time client costs O(lines)).
    private var scannedHeadBytes = 0
    /// Called whenever bytes of a head are read (the client handler starts `header_timeout`
    /// from a head's first byte).
    private let onHeadBytes: (() -> Void)?

    init(limits: RequestHeadParser.Limits, onHeadBytes: (() -> Void)? = nil) {
        parser = RequestHeadParser(limits: limits)
        self.onHeadBytes = onHeadBytes
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        switch state {
        case .head:
            onHeadBytes?()
            return try decodeHead(context: context, buffer: &buffer)
        case .fixedBody(var remaining, let after):
            let step = HTTP1BodyReader.fixed(remaining: &remaining, from: &buffer)
            state = .fixedBody(remaining: remaining, then: after)
            return body(step, after: after, context: context)
        case .chunkedBody(var decoder, let after):
            let step = try HTTP1BodyReader.chunked(&decoder, from: &buffer)
            state = .chunkedBody(decoder, then: after)
            return body(step, after: after, context: context)
        case .stopped:
            return .needMoreData
        case .closed:
            guard buffer.readableBytes == 0 else { throw HTTPParserError.closedConnection }
            return .needMoreData
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // Whatever is complete is handed over; a request cut off by the close is not (the
        // handler sees the close).
        try decode(context: context, buffer: &buffer)
    }

    private func decodeHead(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // Parse only when a line ended since the last look (or the limit is reached).
        let lineEnded = buffer.withUnsafeReadableBytes { bytes in
            bytes[min(scannedHeadBytes, bytes.count)...].contains(0x0a)
        }
        scannedHeadBytes = buffer.readableBytes
        guard lineEnded || buffer.readableBytes >= parser.limits.maxHeadBytes else { return .needMoreData }

        let parsed = buffer.withUnsafeReadableBytes { bytes -> Result<(Parsed, RequestBodyFraming)?, Error> in
            switch parser.parse(bytes) {
            case .incomplete: return .success(nil)
            case .invalid(let error): return .failure(Self.parserError(error))
            case .complete(let layout):
                switch RequestBodyFraming.decide(layout, in: bytes) {
                case .failure(let error): return .failure(Self.parserError(error))
                case .success(let framing): return .success((Self.facts(layout, in: bytes), framing))
                }
            }
        }
        guard let (facts, framing) = try parsed.get() else { return .needMoreData }
        // The head's bytes leave the read buffer (as a slice when it is small); the layout
        // indexes them.
        let bytes = HeadFields.take(facts.layout.length, from: &buffer)
        scannedHeadBytes = 0
        let announcesBody = framing != .none && framing != .length(0)
        let head = RequestHead(
            bytes: bytes, layout: facts.layout, method: facts.method, isKeepAlive: facts.after != .close, announcesBody: announcesBody)
        context.fireChannelRead(wrapInboundOut(.head(head)))
        let after = facts.after
        if after == .stop {
            // llhttp hands over an upgrade request without its body and stops; so does this.
            end(.stop, context: context)
            return .continue
        }
        switch framing {
        case .none, .length(0): end(after, context: context)
        case .length(let count): state = .fixedBody(remaining: count, then: after)
        case .chunked: state = .chunkedBody(ChunkedBodyDecoder(maxTrailerBytes: parser.limits.maxHeadBytes), then: after)
        }
        return .continue
    }

    private func body(_ step: HTTP1BodyReader.Step, after: After, context: ChannelHandlerContext) -> DecodingState {
        switch step {
        case .data(let slice, let last):
            context.fireChannelRead(wrapInboundOut(.body(slice)))
            if last { end(after, context: context) }
        case .end: end(after, context: context)
        case .needMoreData: return .needMoreData
        }
        return .continue
    }

    private func end(_ after: After, context: ChannelHandlerContext) {
        context.fireChannelRead(wrapInboundOut(.end))
        switch after {
        case .nextRequest: state = .head
        case .stop: state = .stopped
        case .close: state = .closed
        }
    }

    /// What the decoder decides from a head, read on its bytes.
    private struct Parsed {
        let layout: RequestHeadLayout
        let method: HTTPMethod
        let after: After
    }

    /// The method, and what follows the request: `Connection` tokens read in place.
    private static func facts(_ layout: RequestHeadLayout, in bytes: UnsafeRawBufferPointer) -> Parsed {
        var closes = layout.minorVersion == 0
        var upgradeInConnection = false
        var hasUpgrade = false
        for field in layout.fields {
            if HeaderName.equals(field.name, "connection", in: bytes) {
                for token in HeaderName.listElements(field.value, in: bytes) {
                    if HeaderName.equals(token, "close", in: bytes) { closes = true }
                    if HeaderName.equals(token, "keep-alive", in: bytes), layout.minorVersion == 0 { closes = false }
                    if HeaderName.equals(token, "upgrade", in: bytes) { upgradeInConnection = true }
                }
            } else if HeaderName.equals(field.name, "upgrade", in: bytes) {
                hasUpgrade = true
            }
        }
        let method = RequestHead.method(UnsafeRawBufferPointer(rebasing: bytes[layout.method]))
        let upgrades = (hasUpgrade && upgradeInConnection) || method == .CONNECT
        return Parsed(layout: layout, method: method, after: upgrades ? .stop : closes ? .close : .nextRequest)
    }

    private static func parserError(_ error: HTTP1HeadError) -> HTTPParserError {
        error.kind == .headTooLarge ? .headerOverflow : .invalidHeaderToken
    }
}
