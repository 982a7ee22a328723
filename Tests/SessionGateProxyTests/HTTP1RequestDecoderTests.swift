import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore
import Testing

@testable import SessionGateProxy

/// The client side's own request decoder, fed reads the way `ClientHandler` feeds it (bytes left
/// unread kept for the next read): the parts and errors the handler relies on, whatever way the
/// bytes are split into reads.
@Suite struct HTTP1RequestDecoderTests {
    static let limits = RequestHeadParser.Limits(maxHeadBytes: 4096, maxTargetBytes: 4096, maxHeaderCount: 100)

    private func channel() -> RequestFeed { RequestFeed(HTTP1RequestDecoder(limits: Self.limits)) }

    /// Feeds `text` in pieces of `piece` bytes; returns the parts and the first error.
    private func decode(_ text: String, piece: Int = .max) -> (parts: [String], error: (any Error)?) {
        let channel = channel()
        defer { _ = try? channel.finish() }
        var parts: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        var failure: (any Error)?
        while start < bytes.count, failure == nil {
            let end = min(bytes.count, start + piece)
            do {
                try channel.writeInbound(channel.allocator.buffer(bytes: bytes[start..<end]))
            } catch {
                failure = error
            }
            start = end
        }
        while let part = try? channel.readInbound(as: RequestPart.self) {
            switch part {
            case .head(let head):
                let fields = head.headers.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                parts.append("head \(head.method.rawValue) \(head.uri) 1.\(head.version.minor) [\(fields)]")
            case .body(let buffer):
                // Adjacent body parts are merged, so the split does not show.
                let text = String(buffer: buffer)
                if let last = parts.last, last.hasPrefix("body ") {
                    parts[parts.count - 1] = last + text
                } else {
                    parts.append("body " + text)
                }
            case .end: parts.append("end")
            }
        }
        return (parts, failure)
    }

    @Test(arguments: [1, 2, 5, 13, Int.max])
    func pipelinedRequestsWithEveryFramingWhateverTheSplit(piece: Int) {
        let text =
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n"
            + "GET /d HTTP/1.1\r\nHost: x\r\nA:  padded \t\r\n\r\n"
        let result = decode(text, piece: piece)
        #expect(result.error == nil)
        #expect(
            result.parts == [
                "head GET /a 1.1 [Host=x]", "end", "head POST /b 1.1 [Host=x,Content-Length=5]", "body hello", "end",
                "head PUT /c 1.1 [Host=x,Transfer-Encoding=chunked]", "body abcde", "end", "head GET /d 1.1 [Host=x,A=padded]", "end",
            ])
    }

    /// A head read alone stays a slice of its read buffer; one read together with a large body is
    /// copied out, so the exchange does not hold the whole buffer.
    @Test func aHeadPinsNoLargeReadBuffer() throws {
        for (capacity, body) in [(1024, 0), (65536, 60000)] {
            let channel = channel()
            defer { _ = try? channel.finish() }
            var buffer = channel.allocator.buffer(capacity: capacity)
            buffer.writeString("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: \(body)\r\n\r\n")
            buffer.writeRepeatingByte(UInt8(ascii: "b"), count: body)
            let storage = buffer.storageCapacity
            try channel.writeInbound(buffer)
            guard case .head(let head) = try channel.readInbound(as: RequestPart.self) else {
                Issue.record("no head")
                continue
            }
            #expect(head.headers.first("host") == "a")
            if body == 0 {
                #expect(head.headers.bytes.storageCapacity == storage, "a small read buffer was copied")
            } else {
                #expect(head.headers.bytes.storageCapacity <= 4096, "the head pins the \(storage)-byte read buffer")
            }
        }
    }

    @Test func malformedRequestsFailWithTheErrorsTheHandlerAnswers() {
        for text in [
            "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab",
            "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "GET /x HTTP/1.1\r\nHost : x\r\n\r\n", "GET /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "FOO /x HTTP/1.1\r\n\r\n",
        ] {
            let result = decode(text)
            #expect(result.error as? HTTPParserError == .invalidHeaderToken, "for \(text.debugDescription)")
            #expect(result.parts.isEmpty, "for \(text.debugDescription)")
        }
        let badChunk = decode("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        #expect(badChunk.error as? HTTPParserError == .invalidChunkSize)
        #expect(badChunk.parts.count == 1, "the head was handed over, then the body failed")
        let huge = decode("GET /x HTTP/1.1\r\nA: " + String(repeating: "b", count: 5000), piece: 100)
        #expect(huge.error as? HTTPParserError == .headerOverflow)
    }

    @Test func bytesAfterAClosingRequestAreAnErrorAfterThatRequest() {
        for head in ["GET /x HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n", "GET /x HTTP/1.0\r\n\r\n"] {
            let result = decode(head + "GET /y HTTP/1.1\r\n\r\n")
            #expect(result.parts.count == 2 && result.parts[1] == "end")
            #expect(result.error as? HTTPParserError == .closedConnection)
        }
        let keptAlive = decode("GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(keptAlive.error == nil && keptAlive.parts.count == 4)
    }

    @Test func nothingIsParsedAfterAnUpgradeRequest() {
        let result = decode(
            "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabcGARBAGE\r\n\r\n")
        #expect(result.error == nil)
        #expect(result.parts.count == 2 && result.parts[1] == "end")
        let notNamed = decode("GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(notNamed.parts.count == 4, "Upgrade without Connection: upgrade is a plain request")
    }
}

/// Reads handed to a request decoder through `PendingBytes`, as `ClientHandler.channelRead`
/// hands them; the parts are queued, the first error is thrown.
final class RequestFeed {
    let decoder: HTTP1RequestDecoder
    let allocator = ByteBufferAllocator()
    private let pending = PendingBytes()
    private var parts: [RequestPart] = []

    init(_ decoder: HTTP1RequestDecoder) { self.decoder = decoder }

    func writeInbound(_ bytes: ByteBuffer) throws {
        var failure: (any Error)?
        pending.read(bytes) { buffer in
            do {
                while let part = try decoder.next(from: &buffer) { parts.append(part) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    func readInbound(as: RequestPart.Type) throws -> RequestPart? {
        parts.isEmpty ? nil : parts.removeFirst()
    }

    func finish() throws {}
}
