import NIOCore
import NIOEmbedded
import NIOHTTP1
import SessionGateCore
import Testing

@testable import SessionGateProxy

/// The upstream side's own response decoder, driven by `UpstreamHandler` on an `EmbeddedChannel`
/// as on a real connection: the parts the client side gets, HEAD answers known from the requests
/// reported, interim answers dropped, the bytes after a 101 handed to the tunnel when the handler
/// leaves the pipeline.
@Suite struct HTTP1ResponseDecoderTests {
    private func channel() throws -> (UpstreamChannel, HTTP1ResponseDecoder) {
        let channel = try UpstreamChannel(maxHeadBytes: 4096)
        return (channel, channel.handler.decoder)
    }

    /// A request went out (as `UpstreamConnection.writeHead` reports it).
    private func request(_ method: HTTPMethod, to decoder: HTTP1ResponseDecoder) {
        decoder.expectResponse(toHEAD: method == .HEAD)
    }

    private func parts(_ channel: UpstreamChannel) -> [String] {
        var parts: [String] = []
        while let part = channel.recorder.parts.first {
            channel.recorder.parts.removeFirst()
            switch part {
            case .head(let head):
                parts.append("head \(head.status.code) \(head.headers.pairs.map { "\($0.name)=\($0.value)" }.joined(separator: ","))")
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
        try feed(text, to: channel, piece: piece)
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
        let context = try channel.pipeline.syncOperations.context(handlerType: UpstreamHandler.self)
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

    // MARK: strict reuse

    private func feed(_ text: String, to channel: UpstreamChannel, piece: Int = Int.max) throws {
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes[start..<end]))
            start = end
        }
    }

    @Test(arguments: [1, 5, Int.max])
    func wellFramedResponsesAllowReuseAfterEachEnd(piece: Int) throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        #expect(decoder.allowsReuse, "a fresh connection")
        for (method, response) in [
            (HTTPMethod.GET, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
            (.HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            (.GET, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"),
            (.GET, "HTTP/1.1 204 No Content\r\n\r\n"),
            (.GET, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"),
        ] {
            request(method, to: decoder)
            #expect(!decoder.allowsReuse, "reusable while a response is outstanding")
            try feed(response, to: channel, piece: piece)
            #expect(decoder.allowsReuse, "\(response) ended cleanly")
            #expect(parts(channel).last == "end")
        }
        #expect(channel.isActive)
    }

    /// Bytes beyond the expected response never reach the handler, and close the connection.
    @Test(arguments: [
        (HTTPMethod.GET, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nX-Session-Set: {}\r\n\r\n"),
        (.HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        (.GET, "HTTP/1.1 204 No Content\r\n\r\nbody"),
        (.GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nextra"),
    ])
    func bytesBeyondTheResponseCloseTheConnection(method: HTTPMethod, text: String) throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        var unreusable = 0
        decoder.onUnreusable = { unreusable += 1 }
        request(method, to: decoder)
        try feed(text, to: channel)
        let seen = parts(channel)
        #expect(seen.filter { $0.hasPrefix("head") }.count == 1, "a second response got through: \(seen)")
        #expect(!decoder.allowsReuse)
        #expect(unreusable == 1)
        #expect(!channel.isActive, "the connection must close")
    }

    @Test func bytesOnAnIdleConnectionCloseIt() throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", to: channel)
        #expect(parts(channel).isEmpty, "an unsolicited response was handed over")
        #expect(!decoder.allowsReuse)
        #expect(!channel.isActive)
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    ])
    func answersThatCloseAreNeverReused(text: String) throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        request(.GET, to: decoder)
        try feed(text, to: channel)
        #expect(parts(channel).last == "end")
        #expect(!decoder.allowsReuse)
    }

    @Test func aSecondRequestWhileOneIsOutstandingForbidsReuse() throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        request(.GET, to: decoder)
        request(.GET, to: decoder)
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", to: channel)
        #expect(!decoder.allowsReuse)
    }

    /// The regression inputs of the former FuzzResponseFramer target (strict reuse was a separate
    /// byte-by-byte framer then; it is this decoder now): each input below is one NIO refuses (bare LF, CR inside the reason,
    /// a delimiter in a header name, bad trailer names, chunk extensions, duplicate or tabbed
    /// Content-Length, Content-Length with Transfer-Encoding on a 204, an HTTP/1.0 interim answer);
    /// the decoder must never call it a clean, reusable end.
    @Test(arguments: [
        (
            "regression-bad-length-on-304", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 10, 67,
                111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58, 65, 114, 114, 97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-bare-lf", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103,
                116, 104, 58, 32, 50, 10, 10, 111, 107,
            ]
        ),
        (
            "regression-chunk-extension", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 97, 61, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 88, 58, 32, 121, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-cr-in-reason", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 114, 114,
                97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-duplicate-length", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 75, 13, 10, 67, 111, 110, 110, 101, 99, 116, 110, 116, 101, 110, 116,
                45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105, 111, 110, 58, 32, 99, 108, 118, 115, 41, 44, 44, 44, 44, 44, 50, 48, 32,
                75, 13, 10, 67, 111, 110, 110, 101, 99, 116, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105,
                111, 101, 99, 116, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105, 111, 110, 58, 32, 99, 108,
                115, 41, 44, 44, 44, 44, 44, 50, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116,
                45, 76, 101, 110, 103, 116, 104, 58, 32, 48, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58,
                32, 48, 13, 10, 104, 58, 32, 48, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-empty-extension", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 13, 10, 88, 58, 32, 121, 13, 10, 13,
                10,
            ]
        ),
        (
            "regression-extension-equals", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 67, 101, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69,
                110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 97, 61, 114, 97, 110,
                65, 102, 101, 110, 99, 111, 114, 61, 69, 110, 99, 111, 100, 105, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-interim-http10", false,
            [
                72, 84, 84, 80, 47, 49, 46, 48, 32, 49, 48, 48, 32, 67, 111, 110, 96, 105, 110, 117, 101, 13, 10, 13, 10, 72, 84, 84, 80,
                47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58,
                32, 49, 13, 10, 13, 10, 120,
            ]
        ),
        (
            "regression-length-and-coding-on-204", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 52, 32, 79, 75, 101, 44, 44, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110,
                103, 58, 32, 35, 49, 100, 105, 110, 103, 58, 115, 102, 147, 141, 158, 145, 140, 153, 154, 141, 45, 69, 110, 99, 36, 105,
                110, 103, 58, 115, 102, 101, 114, 97, 110, 115, 102, 101, 114, 45, 72, 49, 255, 255, 75, 13, 10, 84, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 75, 13, 10, 84, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 103, 58, 32, 99, 50, 13, 10, 88, 58,
                32, 9, 121, 13, 10, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 110, 99, 111,
                100, 105, 110, 103, 102, 100, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32,
                50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 69, 59, 99, 111, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58,
                32, 9, 121, 13, 10, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 110, 99, 111,
                100, 105, 110, 103, 102, 100, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32,
                50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58,
                32, 99, 50, 13, 10, 103, 58, 32, 99, 37, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99,
                50, 13, 10, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 58, 9, 121, 32,
                49, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 105,
                110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 115,
                99, 99, 111, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116, 103, 58, 111, 100, 105, 110, 103, 102, 100, 114,
                45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13,
                10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 103, 58,
                32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 49, 48, 48, 32, 79,
                75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 105, 110, 103, 58, 32, 99,
                50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 116, 101, 110, 116, 45, 76, 101, 110, 103, 114, 45, 69, 105,
                110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 115,
                99, 99, 111, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58, 32, 48, 13,
                10, 13, 10,
            ]
        ),
        (
            "regression-length-tab", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 54, 32, 79, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103,
                116, 104, 58, 32, 48, 9, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-name-delimiter", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 10, 67,
                111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125,
                125, 125, 125, 125, 125, 116, 104, 58, 65, 114, 114, 97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-trailer-content-length", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 57, 57, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 53, 59, 97, 53, 98, 13, 10, 104, 101,
                108, 108, 111, 13, 10, 48, 13, 10, 88, 58, 84, 80, 47, 50, 110, 110, 101, 99, 116, 105, 255, 255, 255, 255, 255, 255, 255,
                255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 111, 110, 32, 50, 75, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76,
                101, 110, 103, 116, 104, 58, 58, 32, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-trailer-name", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 53, 59, 97, 61, 98, 13, 10, 104, 101,
                108, 108, 111, 13, 10, 48, 13, 10, 88, 93, 58, 32, 121, 13, 10, 13, 10,
            ]
        ),
    ])
    func neverReusesWhatNIORefuses(name: String, head: Bool, bytes: [UInt8]) throws {
        let (channel, decoder) = try channel()
        defer { _ = try? channel.finish() }
        decoder.expectResponse(toHEAD: head)
        let refused = (try? channel.writeInbound(channel.allocator.buffer(bytes: bytes))) == nil
        #expect(refused || !decoder.allowsReuse, "\(name)")
    }

}

/// An upstream connection's pipeline on an `EmbeddedChannel`: `UpstreamHandler` (with the
/// decoder inside) and a delegate that records what the client side would get.
final class UpstreamChannel {
    final class Recorder: UpstreamDelegate {
        var parts: [ResponsePart] = []
        var failure: (any Error)?
        func upstreamResponsePart(_ part: ResponsePart) { parts.append(part) }
        func upstreamFailed(_ error: any Error) { failure = error }
        func upstreamWritabilityChanged(isWritable: Bool) {}
        func upstreamReadComplete() {}
    }

    let channel = EmbeddedChannel()
    let handler: UpstreamHandler
    let recorder = Recorder()

    init(maxHeadBytes: Int) throws {
        handler = UpstreamHandler(decoder: HTTP1ResponseDecoder(maxHeadBytes: maxHeadBytes))
        handler.delegate = recorder
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    var allocator: ByteBufferAllocator { channel.allocator }
    var pipeline: ChannelPipeline { channel.pipeline }
    var embeddedEventLoop: EmbeddedEventLoop { channel.embeddedEventLoop }
    var isActive: Bool { channel.isActive }

    /// Delivers a read; a malformed response is thrown (the handler reports it to its delegate
    /// and closes the connection).
    func writeInbound(_ bytes: ByteBuffer) throws {
        try channel.writeInbound(bytes)
        if let failure = recorder.failure as? HTTPParserError {
            recorder.failure = nil
            throw failure
        }
    }

    func readInbound<T>(as type: T.Type) throws -> T? { try channel.readInbound(as: type) }

    @discardableResult
    func finish() throws -> EmbeddedChannel.LeftOverState { try channel.finish() }
}
