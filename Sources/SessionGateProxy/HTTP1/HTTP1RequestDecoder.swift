import NIOCore
import NIOHTTP1
import SessionGateCore

/// The client side's request decoder: our own codec (`RequestHeadParser`, `RequestBodyFraming`,
/// `ChunkedBodyDecoder` in the core, fuzzed differentially against llhttp) in place of NIO's
/// llhttp-based `HTTPRequestDecoder`. `ClientHandler` owns it and pulls parts from the bytes it
/// read (`next(from:)`, no `ByteToMessageHandler` in between): a `RequestHead` (the head's own
/// bytes, taken off the read buffer, and where its parts are: no `String` per header), then the
/// body's pieces and the end, with NIO's errors for the same cases:
/// - a malformed or ambiguous head or body → `HTTPParserError` (400), a head past the limits →
///   `.headerOverflow` (431);
/// - any byte after a request that closes the connection (`Connection: close`, HTTP/1.0 without
///   keep-alive) → `.closedConnection`, after that request was handed over;
/// - after a request that asks for an upgrade (`Upgrade` named in `Connection`, or `CONNECT`),
///   nothing more is parsed (what follows belongs to the tunnel, or is dropped).
/// After an error it drops every byte. Trailers are read and dropped.
final class HTTP1RequestDecoder {
    private enum State {
        case head
        /// The request's last part was handed over; its end is next.
        case endPending(then: After)
        case fixedBody(remaining: Int, then: After)
        case chunkedBody(ChunkedBodyDecoder, then: After)
        /// After an upgrade request: bytes stay unread.
        case stopped
        /// After a request that closes the connection: any further byte is an error.
        case closed
        /// After an error: bytes are dropped.
        case failed
    }

    /// What follows the current request.
    private enum After {
        case nextRequest, stop, close

        var state: State {
            switch self {
            case .nextRequest: .head
            case .stop: .stopped
            case .close: .closed
            }
        }
    }

    private let parser: RequestHeadParser
    private var state = State.head
    /// How many bytes of the pending head were already looked at for a line end (a head is
    /// parsed again only when a new line ended, so a byte-at-a-time client costs O(lines)).
    private var scannedHeadBytes = 0

    init(limits: RequestHeadParser.Limits) {
        parser = RequestHeadParser(limits: limits)
    }

    /// Whether the next bytes belong to a request head (the client handler starts
    /// `header_timeout` from a head's first byte).
    var isReadingHead: Bool {
        if case .head = state { return true }
        return false
    }

    /// The next part in `buffer` (moved past it), or nil when more bytes are needed. An error
    /// leaves the decoder dropping everything after it.
    func next(from buffer: inout ByteBuffer) throws -> RequestPart? {
        do {
            return try decode(&buffer)
        } catch {
            state = .failed
            throw error
        }
    }

    private func decode(_ buffer: inout ByteBuffer) throws -> RequestPart? {
        switch state {
        case .head:
            guard buffer.readableBytes > 0 else { return nil }
            return try decodeHead(&buffer)
        case .endPending(let after):
            state = after.state
            return .end
        case .fixedBody(var remaining, let after):
            guard buffer.readableBytes > 0 else { return nil }
            let take = min(remaining, buffer.readableBytes)
            remaining -= take
            state = remaining == 0 ? .endPending(then: after) : .fixedBody(remaining: remaining, then: after)
            return .body(buffer.readSlice(length: take)!)
        case .chunkedBody(var decoder, let after):
            let step = try HTTP1BodyReader.chunked(&decoder, from: &buffer)
            switch step {
            case .data(let slice):
                state = .chunkedBody(decoder, then: after)
                return .body(slice)
            case .end:
                state = after.state
                return .end
            case .needMoreData:
                state = .chunkedBody(decoder, then: after)
                return nil
            }
        case .stopped:
            return nil
        case .closed:
            guard buffer.readableBytes == 0 else { throw HTTPParserError.closedConnection }
            return nil
        case .failed:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    private func decodeHead(_ buffer: inout ByteBuffer) throws -> RequestPart? {
        // Parse only when a line ended since the last look (or the limit is reached).
        let lineEnded = buffer.withUnsafeReadableBytes { bytes in
            bytes[min(scannedHeadBytes, bytes.count)...].contains(0x0a)
        }
        scannedHeadBytes = buffer.readableBytes
        guard lineEnded || buffer.readableBytes >= parser.limits.maxHeadBytes else { return nil }

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
        guard let (facts, framing) = try parsed.get() else { return nil }
        // The head's bytes leave the read buffer (as a slice when it is small); the layout
        // indexes them.
        let bytes = HeadFields.take(facts.layout.length, from: &buffer)
        scannedHeadBytes = 0
        let announcesBody = framing != .none && framing != .length(0)
        let head = RequestHead(
            bytes: bytes, layout: facts.layout, method: facts.method, isKeepAlive: facts.after != .close, announcesBody: announcesBody)
        let after = facts.after
        if after == .stop {
            // llhttp hands over an upgrade request without its body and stops; so does this.
            state = .endPending(then: .stop)
            return .head(head)
        }
        switch framing {
        case .none, .length(0): state = .endPending(then: after)
        case .length(let count): state = .fixedBody(remaining: count, then: after)
        case .chunked: state = .chunkedBody(ChunkedBodyDecoder(maxTrailerBytes: parser.limits.maxHeadBytes), then: after)
        }
        return .head(head)
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
