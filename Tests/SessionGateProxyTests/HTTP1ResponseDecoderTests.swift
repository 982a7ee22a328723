import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore
import Testing

@testable import SessionGateProxy

/// The upstream side's own response decoder on an `EmbeddedChannel`: the parts `UpstreamHandler`
/// relies on, HEAD answers known from the requests reported, interim answers dropped, the bytes
/// after a 101 handed to the tunnel.
@Suite struct HTTP1ResponseDecoderTests {
    private func channel() throws -> (EmbeddedChannel, HTTP1ResponseDecoder) {
        let channel = EmbeddedChannel()
        let decoder = HTTP1ResponseDecoder(maxHeadBytes: 4096)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        return (channel, decoder)
    }

    /// A request went out (as `UpstreamConnection.writeHead` reports it).
    private func request(_ method: HTTPMethod, to decoder: HTTP1ResponseDecoder) {
        decoder.expectResponse(toHEAD: method == .HEAD)
    }

    private func parts(_ channel: EmbeddedChannel) -> [String] {
        var parts: [String] = []
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head):
                parts.append("head \(head.status.code) \(head.headers.map { "\($0.name)=\($0.value)" }.joined(separator: ","))")
            case .body(let buffer):
                let text = String(buffer: buffer)
                if let last = parts.last, last.hasPrefix("body ") {
                    parts[parts.count - 1] = last + text
                } else {
                    parts.append("body " + text)
                }
            case .end: parts.append("end")
            }
        }
        return parts
    }

    @Test(arguments: [1, 3, 8, Int.max])
    func responsesOfEveryFramingWhateverTheSplit(piece: Int) throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        for method in [HTTPMethod.GET, .HEAD, .GET, .GET] { request(method, to: decoder) }
        let text =
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
            + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"  // answers the HEAD: no body
            + "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\nX: y  \r\n\r\n"
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes[start..<end]))
            start = end
        }
        #expect(
            parts(channel) == [
                "head 200 Content-Length=5", "body hello", "end", "head 200 Content-Length=5", "end",
                "head 200 Transfer-Encoding=chunked", "body abc", "end", "head 204 X=y", "end",
            ])
    }

    @Test func aBodyUntilCloseEndsWithTheConnection() throws {
        let (channel, decoder) = try channel()
        request(.GET, to: decoder)
        try channel.writeInbound(channel.allocator.buffer(string: "HTTP/1.0 200 OK\r\n\r\nall of "))
        try channel.writeInbound(channel.allocator.buffer(string: "it"))
        _ = try channel.finish()
        #expect(parts(channel) == ["head 200 ", "body all of it", "end"])
    }

    @Test func theBytesAfterA101GoToTheTunnel() throws {
        let (channel, decoder) = try channel()
        request(.GET, to: decoder)
        try channel.writeInbound(channel.allocator.buffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nFRAME"))
        #expect(parts(channel) == ["head 101 Upgrade=websocket", "end"])
        let context = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTP1ResponseDecoder>.self)
        let removed = channel.pipeline.syncOperations.removeHandler(context: context)
        channel.embeddedEventLoop.run()
        var removedResult: Result<Void, any Error>?
        removed.whenComplete { removedResult = $0 }
        channel.embeddedEventLoop.run()
        #expect(removedResult != nil)
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "FRAME")
    }

    @Test func malformedResponsesAreErrors() throws {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "garbage\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        ] {
            let (channel, decoder) = try channel()
            request(.GET, to: decoder)
            #expect(throws: HTTPParserError.self, "for \(text.debugDescription)") {
                try channel.writeInbound(channel.allocator.buffer(string: text))
            }
            #expect(parts(channel).isEmpty, "for \(text.debugDescription)")
        }
    }
}
