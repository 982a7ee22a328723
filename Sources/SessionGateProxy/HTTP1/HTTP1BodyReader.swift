import NIOCore
import NIOHTTP1
import SessionGateCore

/// One step of reading a chunk-framed body out of a decoder's buffer, shared by the request and
/// the response decoders.
enum HTTP1BodyReader {
    enum Step {
        /// Body bytes, a slice of the buffer.
        case data(ByteBuffer)
        /// The body ended (the buffer is past it).
        case end
        /// Nothing more to read now.
        case needMoreData
    }

    /// The next piece of a chunked body; a malformed one is `invalidChunkSize`.
    static func chunked(_ decoder: inout ChunkedBodyDecoder, from buffer: inout ByteBuffer) throws -> Step {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        var offset = 0
        switch buffer.withUnsafeReadableBytes({ decoder.next($0, offset: &offset) }) {
        case .data(let range):
            buffer.moveReaderIndex(forwardBy: range.lowerBound)
            return .data(buffer.readSlice(length: range.count)!)
        case .end(let at):
            buffer.moveReaderIndex(forwardBy: at)
            return .end
        case .needMore:
            buffer.moveReaderIndex(forwardBy: offset)
            return .needMoreData
        case .invalid:
            throw HTTPParserError.invalidChunkSize
        }
    }
}
