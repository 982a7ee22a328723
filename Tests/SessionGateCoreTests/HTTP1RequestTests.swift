import Testing

@testable import SessionGateCore

/// The request side of our own HTTP/1.1 codec (issue 14): heads parsed in place, framing rules,
/// chunked bodies — every case the adversarial suite sends through the proxy, refused here.
@Suite struct HTTP1RequestTests {
    static let parser = RequestHeadParser(limits: .init(maxHeadBytes: 1024, maxTargetBytes: 256, maxHeaderCount: 20))

    private func parse(_ text: String) -> RequestHeadParser.Outcome { Self.parser.parse(Array(text.utf8)) }

    private func status(_ text: String) -> Int? {
        if case .invalid(let error) = parse(text) { return error.status }
        return nil
    }

    private func framing(_ text: String) -> Result<RequestBodyFraming, HTTP1HeadError>? {
        let bytes = Array(text.utf8)
        guard case .complete(let layout) = Self.parser.parse(bytes) else { return nil }
        return bytes.withUnsafeBytes { RequestBodyFraming.decide(layout, in: $0) }
    }

    @Test func aHeadIsPositionsIntoTheBytes() throws {
        let text = "\r\nPOST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Pad: \t v  w \t\r\n\r\nbody"
        let bytes = Array(text.utf8)
        guard case .complete(let head) = Self.parser.parse(bytes) else {
            Issue.record("not complete: \(parse(text))")
            return
        }
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        #expect(string(head.method) == "POST" && string(head.target) == "/a?b=1" && head.minorVersion == 1)
        #expect(head.fields.map { string($0.name) } == ["Host", "X-Empty", "X-Pad"])
        #expect(head.fields.map { string($0.value) } == ["x", "", "v  w"])
        #expect(head.length == text.utf8.count - 4)
    }

    @Test func everyPrefixOfAValidHeadIsIncomplete() {
        let text = "GET /x HTTP/1.0\r\nA: b\r\n\r\n"
        for end in 0..<text.utf8.count {
            #expect(Self.parser.parse(Array(text.utf8.prefix(end))) == .incomplete, "prefix \(end)")
        }
    }

    @Test(arguments: [
        "GET /x HTTP/1.1\nHost: x\r\n\r\n",  // bare LF
        "GET /x HTTP/1.1\r\nHost : x\r\n\r\n",  // space before colon
        "GET /x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obs-fold
        "GET /x HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n",  // NUL
        "GET /x HTTP/1.1\r\nHo\u{1}st: x\r\n\r\n",  // CTL in a name
        "GET /x HTTP/1.1\r\n: x\r\n\r\n",  // empty name
        "GET  /x HTTP/1.1\r\n\r\n",  // two spaces
        "GET /x  HTTP/1.1\r\n\r\n",
        "GET /x\tHTTP/1.1\r\n\r\n",
        "G(T /x HTTP/1.1\r\n\r\n",
        "GET /x\u{7f} HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1 \r\n\r\n",
        "GET /x http/1.1\r\n\r\n",
        "GET /x HTTP/11\r\n\r\n",
        "GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n",
        " GET /x HTTP/1.1\r\n\r\n",
        "\r\n\r\n\r\n\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
    ])
    func malformedHeadsAre400(text: String) {
        #expect(status(text) == 400)
    }

    @Test func limits() {
        #expect(status("GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n\r\n") == 414)
        #expect(status("GET /x HTTP/1.1\r\nA: " + String(repeating: "b", count: 2000) + "\r\n\r\n") == 431)
        #expect(status("GET /x HTTP/1.1\r\n" + String(repeating: "A: b\r\n", count: 21) + "\r\n") == 431)
        #expect(status("GET /x HTTP/1.1\r\nA: " + String(repeating: "b", count: 2000)) == 431)  // before the end arrives
        #expect(status("GET /x HTTP/2.0\r\n\r\n") == 505)
        #expect(status("GET /x HTTP/1.2\r\n\r\n") == 505)
        #expect(status("GET /x HTTP/0.9\r\n\r\n") == 505)
    }

    @Test(arguments: [
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "1.1"),  // CL + TE
        ("Content-Length: 5\r\nContent-Length: 5\r\n", "1.1"),  // duplicate CL
        ("Content-Length: 5, 5\r\n", "1.1"),
        ("Content-Length: +5\r\n", "1.1"),
        ("Content-Length: -1\r\n", "1.1"),
        ("Content-Length: \r\n", "1.1"),
        ("Content-Length: 0x5\r\n", "1.1"),
        ("Content-Length: 1234567890123456789\r\n", "1.1"),
        ("Transfer-Encoding: xchunked\r\n", "1.1"),
        ("Transfer-Encoding: chunked, identity\r\n", "1.1"),
        ("Transfer-Encoding: chunked, chunked\r\n", "1.1"),
        ("Transfer-Encoding:\r\n", "1.1"),  // empty TE
        ("Transfer-Encoding: gzip,, chunked\r\n", "1.1"),
        ("Transfer-Encoding: chunked\r\n", "1.0"),  // TE on HTTP/1.0
        ("Transfer-Encoding: \"chunked\"\r\n", "1.1"),
        ("Transfer-Encoding: chunked\t\r\n", "1.1"),  // llhttp reads `chunked<TAB>` as another coding
        ("Transfer-Encoding: chunked \r\n", "1.1"),
        ("Transfer-Encoding: gzip,\tchunked\r\n", "1.1"),
    ])
    func ambiguousFramingIsRefused(fields: String, version: String) throws {
        let result = try #require(framing("POST /x HTTP/\(version)\r\nHost: x\r\n\(fields)\r\n"))
        #expect(throws: HTTP1HeadError.self) { try result.get() }
    }

    @Test func framing() throws {
        #expect(try framing("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")?.get() == RequestBodyFraming.none)
        #expect(try framing("POST /x HTTP/1.1\r\ncontent-LENGTH: 007\r\n\r\n")?.get() == .length(7))
        #expect(try framing("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n")?.get() == .chunked)
        #expect(try framing("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip , chunked\r\n\r\n")?.get() == .chunked)
    }

    private func decodeChunked(_ text: String, splitEvery: Int = .max) -> (body: String, rest: String)? {
        var decoder = ChunkedBodyDecoder(maxTrailerBytes: 64)
        var body: [UInt8] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            let piece = Array(bytes[start..<min(bytes.count, start + splitEvery)])
            var offset = 0
            loop: while true {
                let step = piece.withUnsafeBytes { decoder.next($0, offset: &offset) }
                switch step {
                case .data(let range): body += piece[range]
                case .needMore: break loop
                case .invalid: return nil
                case .end(let at):
                    return (String(decoding: body, as: UTF8.self), String(decoding: bytes[(start + at)...], as: UTF8.self))
                }
            }
            start += piece.count
        }
        return nil
    }

    @Test func responseFramingFollowsTheRequestAndTheStatus() throws {
        let parser = ResponseHeadParser(maxHeadBytes: 1024, maxHeaderCount: 20)
        func framing(_ text: String, head: Bool = false) -> Result<ResponseBodyFraming, HTTP1HeadError>? {
            let bytes = Array(text.utf8)
            guard case .complete(let layout) = parser.parse(bytes) else { return nil }
            return bytes.withUnsafeBytes { ResponseBodyFraming.decide(layout, in: $0, requestWasHEAD: head) }
        }
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")?.get() == .length(5))
        #expect(try framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true)?.get() == ResponseBodyFraming.none)
        #expect(try framing("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n")?.get() == ResponseBodyFraming.none)
        #expect(try framing("HTTP/1.1 103 Early Hints\r\n\r\n")?.get() == .interim)
        #expect(try framing("HTTP/1.1 101 Switching Protocols\r\n\r\n")?.get() == .switching)
        #expect(try framing("HTTP/1.0 200 OK\r\n\r\n")?.get() == .untilClose)
        #expect(try framing("HTTP/1.1 200\r\nTransfer-Encoding: gzip\r\n\r\n")?.get() == .untilClose)
        #expect(try framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.get() == .chunked)
        for refused in [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n", "HTTP/1.0 100 Continue\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            #expect(throws: HTTP1HeadError.self, "\(refused.debugDescription)") { try framing(refused)?.get() }
        }
        #expect(parser.parse(Array("HTTP/1.1 099 X\r\n\r\n".utf8)) != .incomplete)
        #expect(parser.parse(Array("HTTP/1.1 20".utf8)) == .incomplete)
    }

    @Test func chunkedBodies() {
        let text = "5\r\nhello\r\n6;ext=\"a b\"\r\n world\r\n0\r\nTrailer: dropped\r\n\r\nNEXT"
        for split in [1, 2, 3, 7, .max] {
            #expect(decodeChunked(text, splitEvery: split)?.body == "hello world", "split \(split)")
            #expect(decodeChunked(text, splitEvery: split)?.rest == "NEXT", "split \(split)")
        }
        #expect(decodeChunked("A\r\n0123456789\r\n0\r\n\r\n")?.body == "0123456789")
    }

    @Test(arguments: [
        "5\r\nhello\r\n", "x\r\n\r\n", "\r\n", "5 \r\nhello\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n0\r\n\r\n",
        "-1\r\n\r\n", "1234567890123456\r\n", "0\r\nbad trailer\r\n\r\n", "0\r\n: x\r\n\r\n",
        "0\r\nT: " + String(repeating: "v", count: 80) + "\r\n\r\n",
        "5;\u{1}\r\nhello\r\n0\r\n\r\n", "0\r\n\n",
    ])
    func badChunkedBodiesAreRefused(text: String) {
        #expect(decodeChunked(text) == nil)
    }
}

@Suite struct HeaderListElementsTests {
    @Test func elementsAreTrimmedRangesWithEmptyOnesSkipped() {
        let text = Array("Connection:  keep-alive ,,\tUpgrade,close \r\n".utf8)
        let value = 11..<(text.count - 2)
        text.withUnsafeBytes { bytes in
            let elements = HeaderName.listElements(value, in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
            #expect(elements == ["keep-alive", "Upgrade", "close"])
            #expect(Array(HeaderName.listElements(11..<11, in: bytes)).isEmpty)
        }
    }
}

/// The byte classes the head parsers use, checked for every byte against the grammar's own words.
@Suite struct HTTPBytesTests {
    private static func isAlphaOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
    /// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
    @Test func tokenBytesAreExactlyTchar() {
        for value in 0...255 {
            let byte = UInt8(value)
            let expected = Self.isAlphaOrDigit(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
            #expect(HTTPBytes.isToken(byte) == expected, "byte \(value)")
        }
    }

    /// RFC 3986 unreserved and reserved characters without "#", and "%".
    @Test func uriBytesAreUnreservedReservedAndPercent() {
        for value in 0...255 {
            let byte = UInt8(value)
            let expected = Self.isAlphaOrDigit(byte) || "-._~:/?[]@!$&'()*+,;=%".utf8.contains(byte)
            #expect(HTTPBytes.isURIByte(byte) == expected, "byte \(value)")
        }
    }
}
