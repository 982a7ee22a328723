import NIOCore
import NIOHTTP1
import SessionGateCore

/// The upstream side's response decoder: our own codec (`ResponseHeadParser`,
/// `ResponseBodyFraming`, `ChunkedBodyDecoder`) in place of NIO's llhttp-based
/// `HTTPResponseDecoder`. `UpstreamHandler` owns it and pulls parts from the bytes it read
/// (`next(from:)`, no `ByteToMessageHandler` in between): `.head` (a `ResponseHead`: the head's own
/// bytes and where its fields are), `.body`, `.end` per response; interim (1xx) answers dropped; a
/// `101` handed over with its `.end`, then nothing more parsed (the tunnel takes the bytes); any
/// malformed or ambiguous response an error, after which every byte is dropped. It knows which
/// responses answer a HEAD from `expectResponse(toHEAD:)`, called for every request written.
///
/// It also decides whether the connection may be reused (strict reuse, against response queue
/// poisoning): never after a close-delimited body, `Connection: close`, an HTTP/1.0 answer without
/// keep-alive, a `101`, or a request written while one was outstanding; and whatever arrives
/// beyond the expected response — bytes after a body's end, a body on a HEAD / 204 / 304 answer,
/// bytes on an idle connection — is dropped (`droppedExcess`: the handler closes the connection),
/// so it can never become another client's response. The verdict is set before the response's
/// `.end` is handed over, so the pool sees it when the response is released.
final class HTTP1ResponseDecoder {
    private enum State {
        case head
        /// The response's last part was handed over; its end is next (then `.switched` after
        /// a `101`, whose following bytes belong to the tunnel).
        case endPending(switching: Bool)
        case fixedBody(remaining: Int)
        case chunkedBody(ChunkedBodyDecoder)
        case untilClose
        /// After `101`: raw bytes, not HTTP.
        case switched
        /// After an error: bytes are dropped.
        case failed
    }

    private let parser: ResponseHeadParser
    private var state = State.head
    /// Whether each request written and not yet answered was a HEAD, oldest first.
    private var requestsWereHEAD: [Bool] = []
    private var scannedHeadBytes = 0
    private var reusable = true
    /// Set when bytes beyond the expected response were dropped: the connection must close.
    private(set) var droppedExcess = false
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

    /// Bytes beyond the expected response: dropped, and the connection must close.
    private func dropExcess(_ buffer: inout ByteBuffer) -> ResponsePart? {
        forbidReuse()
        droppedExcess = true
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return nil
    }

    /// The next part in `buffer` (moved past it), or nil when more bytes are needed (or the ones
    /// there were dropped). An error leaves the decoder dropping everything after it.
    func next(from buffer: inout ByteBuffer) throws -> ResponsePart? {
        do {
            return try decode(&buffer)
        } catch {
            state = .failed
            forbidReuse()
            throw error
        }
    }

    /// The connection closed: the end of a body delimited by the close, if one was being read (a
    /// response cut off otherwise is not ended here: the handler sees the close).
    func endAtClose() -> ResponsePart? {
        guard case .untilClose = state else { return nil }
        return end(ByteBuffer(), switching: false)
    }

    private func decode(_ buffer: inout ByteBuffer) throws -> ResponsePart? {
        switch state {
        case .head:
            guard buffer.readableBytes > 0 else { return nil }
            // Nothing was asked: a late or unsolicited answer on an idle connection.
            guard !requestsWereHEAD.isEmpty else { return dropExcess(&buffer) }
            return try decodeHead(&buffer)
        case .endPending(let switching):
            return end(buffer, switching: switching)
        case .fixedBody(var remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let take = min(remaining, buffer.readableBytes)
            remaining -= take
            state = remaining == 0 ? .endPending(switching: false) : .fixedBody(remaining: remaining)
            return .body(buffer.readSlice(length: take)!)
        case .chunkedBody(var decoder):
            let step = try HTTP1BodyReader.chunked(&decoder, from: &buffer)
            switch step {
            case .data(let slice):
                state = .chunkedBody(decoder)
                return .body(slice)
            case .end:
                return end(buffer, switching: false)
            case .needMoreData:
                state = .chunkedBody(decoder)
                return nil
            }
        case .untilClose:
            guard buffer.readableBytes > 0 else { return nil }
            return .body(buffer.readSlice(length: buffer.readableBytes)!)
        case .switched:
            return nil
        case .failed:
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return nil
        }
    }

    private func decodeHead(_ buffer: inout ByteBuffer) throws -> ResponsePart? {
        while true {
            let lineEnded = buffer.withUnsafeReadableBytes { bytes in bytes[min(scannedHeadBytes, bytes.count)...].contains(0x0a) }
            scannedHeadBytes = buffer.readableBytes
            guard lineEnded || buffer.readableBytes >= parser.maxHeadBytes else { return nil }
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
            guard let (layout, framing) = try parsed.get() else { return nil }
            scannedHeadBytes = 0
            if framing == .interim {
                // Dropped, as NIO's default strategy does; the final answer may follow.
                buffer.moveReaderIndex(forwardBy: layout.length)
                guard buffer.readableBytes > 0 else { return nil }
                continue
            }
            if framing == .untilClose || framing == .switching { forbidReuse() }
            // The head's bytes leave the read buffer (as a slice when it is small); the layout
            // indexes them.
            let head = ResponseHead(bytes: HeadFields.take(layout.length, from: &buffer), layout: layout)
            switch framing {
            case .interim: break
            case .switching: state = .endPending(switching: true)
            case .none: state = .endPending(switching: false)
            case .length(let count): state = .fixedBody(remaining: count)
            case .chunked: state = .chunkedBody(ChunkedBodyDecoder(maxTrailerBytes: parser.maxHeadBytes))
            case .untilClose: state = .untilClose
            }
            return .head(head)
        }
    }

    /// The response ended; bytes already here beyond it forbid reuse before the end is handed
    /// over (they are dropped by the next `next`, which sets `droppedExcess`) — except after a
    /// `101`, whose following bytes belong to the tunnel.
    private func end(_ buffer: ByteBuffer, switching: Bool) -> ResponsePart {
        if !requestsWereHEAD.isEmpty { requestsWereHEAD.removeFirst() }
        if switching {
            state = .switched
        } else {
            if buffer.readableBytes > 0 { forbidReuse() }
            state = .head
        }
        return .end
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
