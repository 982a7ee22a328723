import NIOCore
import Testing

@testable import RedisWire

/// Decodes `bytes` fed to the decoder in the given chunks.
private func decodeAll(_ chunks: [[UInt8]], limits: RESPDecoder.Limits = .init()) throws -> [RESPValue] {
    let processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
    var values: [RESPValue] = []
    for chunk in chunks {
        try processor.process(buffer: ByteBuffer(bytes: chunk)) { values.append($0) }
    }
    return values
}

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

/// One frame of every RESP2 and RESP3 type, with what it decodes to.
private let samples: [(wire: String, value: RESPValue)] = [
    ("+OK\r\n", .simpleString("OK")),
    ("-ERR unknown command\r\n", .error("ERR unknown command")),
    (":-42\r\n", .integer(-42)),
    ("$5\r\nhello\r\n", bulk("hello")),
    ("$0\r\n\r\n", bulk("")),
    ("$-1\r\n", .null),
    ("*-1\r\n", .null),
    ("*3\r\n:1\r\n$4\r\na\r\nb\r\n*1\r\n+x\r\n", .array([.integer(1), bulk("a\r\nb"), .array([.simpleString("x")])])),
    ("*0\r\n", .array([])),
    ("_\r\n", .null),
    (",3.25\r\n", .double(3.25)),
    (",-inf\r\n", .double(-.infinity)),
    ("#t\r\n", .boolean(true)),
    ("#f\r\n", .boolean(false)),
    ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
    ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
    ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: ByteBuffer(string: "Some string"))),
    (
        "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n_\r\n",
        .map([
            RESPMapEntry(key: .simpleString("first"), value: .integer(1)),
            RESPMapEntry(key: bulk("second"), value: .null),
        ])
    ),
    ("~2\r\n+a\r\n:2\r\n", .set([.simpleString("a"), .integer(2)])),
    (">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n", .push([.simpleString("invalidate"), .array([bulk("k")])])),
    ("|1\r\n+ttl\r\n:3600\r\n+value\r\n", .simpleString("value")),
    ("$5\r\n\u{e9}t\u{e9}\r\n", bulk("\u{e9}t\u{e9}")),
]

@Suite struct RESPDecoderTests {
    @Test func decodesEveryTypeWhole() throws {
        for sample in samples {
            let values = try decodeAll([Array(sample.wire.utf8)])
            #expect(values == [sample.value], "\(sample.wire.debugDescription)")
        }
    }

    @Test func decodesEveryValueSplitAtEveryByteBoundary() throws {
        let stream = samples.flatMap { Array($0.wire.utf8) }
        let expected = samples.map(\.value)
        for split in 1..<stream.count {
            let values = try decodeAll([Array(stream[..<split]), Array(stream[split...])])
            #expect(values == expected, "split at \(split)")
        }
        for (first, second) in [(3, 17), (10, 11), (1, 2), (40, 90)] where second < stream.count {
            let values = try decodeAll([Array(stream[..<first]), Array(stream[first..<second]), Array(stream[second...])])
            #expect(values == expected)
        }
    }

    @Test func decodesByteByByte() throws {
        let stream = samples.flatMap { Array($0.wire.utf8) }
        #expect(try decodeAll(stream.map { [$0] }) == samples.map(\.value))
    }

    @Test func incompleteFrameYieldsNothingAndConsumesNothing() throws {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "*2\r\n$3\r\nfoo\r\n$3\r\nba")
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == 0)
        buffer.writeString("r\r\n")
        #expect(try decoder.decode(buffer: &buffer) == .array([bulk("foo"), bulk("bar")]))
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        ("?what\r\n", RESPDecodingError.Code.invalidTypeByte),
        ("HTTP/1.1 400 Bad Request\r\n", .invalidTypeByte),
        (":12a\r\n", .invalidInteger),
        (":\r\n", .invalidInteger),
        ("$-5\r\n", .invalidLength),
        ("*-2\r\n", .invalidLength),
        ("$3\r\nabcd\r\n", .missingCRLF),
        ("+OK\n", .missingCRLF),
        ("#x\r\n", .invalidBoolean),
        (",one\r\n", .invalidDouble),
        ("_x\r\n", .invalidNull),
        ("=2\r\nab\r\n", .invalidVerbatim),
        ("(12x\r\n", .invalidInteger),
        (":99999999999999999999\r\n", .invalidInteger),
    ])
    func garbageIsAnError(wire: String, code: RESPDecodingError.Code) {
        #expect(throws: RESPDecodingError(code)) { try decodeAll([Array(wire.utf8)]) }
    }

    @Test func garbageErrorsNeverQuoteTheBytes() {
        do {
            _ = try decodeAll([Array("!secret-password\r\n".utf8)])
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func limitsAreEnforcedBeforeAllocating() throws {
        let limits = RESPDecoder.Limits(maxBulkLength: 16, maxAggregateCount: 4, maxDepth: 3, maxLineLength: 32)
        #expect(throws: RESPDecodingError(.bulkTooLong)) { try decodeAll([Array("$17\r\n".utf8)], limits: limits) }
        #expect(throws: RESPDecodingError(.bulkTooLong)) {
            try decodeAll([Array("$9223372036854775807\r\n".utf8)], limits: limits)
        }
        #expect(throws: RESPDecodingError(.aggregateTooLong)) { try decodeAll([Array("*5\r\n".utf8)], limits: limits) }
        #expect(throws: RESPDecodingError(.aggregateTooLong)) { try decodeAll([Array("%5\r\n".utf8)], limits: limits) }
        #expect(throws: RESPDecodingError(.tooDeep)) {
            try decodeAll([Array("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n".utf8)], limits: limits)
        }
        #expect(
            try decodeAll([Array("*1\r\n*1\r\n*1\r\n:1\r\n".utf8)], limits: limits) == [
                .array([.array([.array([.integer(1)])])])
            ])
        // A line that never ends is refused once it passes the limit, even before its CRLF.
        #expect(throws: RESPDecodingError(.lineTooLong)) {
            try decodeAll([Array(("+" + String(repeating: "a", count: 40)).utf8)], limits: limits)
        }
        #expect(throws: RESPDecodingError(.lineTooLong)) {
            try decodeAll(Array(("+" + String(repeating: "a", count: 40)).utf8).map { [$0] }, limits: limits)
        }
    }

    /// Integers are parsed from the bytes in place: the same answers as `Int64(String)` for every
    /// edge (signs, zeros, the Int64 bounds and one past them, spaces, non-ASCII digits) and for
    /// random strings over digits, signs and a few other bytes.
    @Test func integersParseFromBytesAsInt64ParsesTheirText() {
        var cases = [
            "", "-", "+", "0", "-0", "+0", "00012", "-00012", "42", "+42", "-42", "--1", "+-1", "1-", " 1", "1 ",
            "1a", "a1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "+9223372036854775807", "99999999999999999999", "１", "1\r", "0x10", "1e3", "1.0",
        ]
        var random = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789+- x\u{0}9".utf8)
        for _ in 0..<5000 {
            let length = Int.random(in: 0...21, using: &random)
            cases.append(String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self))
        }
        for text in cases {
            let parsed = Array(text.utf8).withUnsafeBytes { RESPDecimal.parse($0) }
            #expect(parsed == Int64(text), "\(Array(text.utf8))")
        }
    }

    /// Length headers and `:` integers go through that parser: a bad one is still refused.
    @Test func badIntegersInHeadersAreRefused() throws {
        for wire in [":1a\r\n", "$+\r\n", "*9223372036854775808\r\n", ": 1\r\n"] {
            #expect(throws: RESPDecodingError(.invalidInteger)) { try decodeAll([Array(wire.utf8)]) }
        }
        #expect(try decodeAll([Array(":+7\r\n:-9223372036854775808\r\n".utf8)]) == [.integer(7), .integer(.min)])
    }
}
