import Testing

@testable import SessionGateCore

@Suite struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("-0", .int(0)),
        ("42", .int(42)),
        ("-17", .int(-17)),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808.0)),
        ("-9223372036854775809", .double(-9_223_372_036_854_775_809.0)),
        ("1.5", .double(1.5)),
        ("-0.25", .double(-0.25)),
        ("1e3", .double(1000)),
        ("1E+2", .double(100)),
        ("2.5e-1", .double(0.25)),
        ("1.0", .double(1.0)),
        ("\"\"", .string("")),
        ("\"abc\"", .string("abc")),
        (" \t\r\n[ ]\n", .array([])),
        ("{}", .object([:])),
        ("[1, \"a\", null, true, [false]]", .array([1, "a", nil, true, [false]] as [JSONValue])),
        ("{\"a\": {\"b\": [1, 2.5]}, \"c\": \"d\"}", ["a": ["b": [1, 2.5]], "c": "d"] as JSONValue),
    ])
    func parsesValidDocuments(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD834\uDD1E x""#, "𝄞 x"),
        (#""\u0000""#, "\u{0}"),
        ("\"héllo 😀 世界\"", "héllo 😀 世界"),
        (#""a\nb" "#, "a\nb"),
    ])
    func decodesStringEscapesAndUTF8(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test(arguments: [
        "", " ", "nul", "tru", "nulll", "True", "NaN", "-NaN", "Infinity", "-Infinity",
        "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.5.5",
        "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}",
        "{\"a\" 1}", "[", "{", "[1", "{\"a\":1", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"tab\there\"",
        "\"new\nline\"", "1 2", "{} x", "[]]", "null,", "1e400", "-1e400", "\u{FEFF}1",
    ])
    func rejectsInvalidDocuments(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test(
        arguments: [
            [0x22, 0xff, 0x22],  // invalid byte
            [0x22, 0xc0, 0xae, 0x22],  // overlong "."
            [0x22, 0xc3, 0x22],  // truncated 2-byte sequence
            [0x22, 0xe0, 0x80, 0x80, 0x22],  // overlong 3-byte
            [0x22, 0xed, 0xa0, 0x80, 0x22],  // encoded surrogate U+D800
            [0x22, 0xf4, 0x90, 0x80, 0x80, 0x22],  // above U+10FFFF
            [0x22, 0xf0, 0x9f, 0x98, 0x22],  // truncated 4-byte
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0x5c, 0x6e, 0xe2, 0x82, 0x22],  // invalid after an escape (slow path)
            [0x22, 0xe2, 0x82],  // truncated at end of input
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
    }

    @Test func acceptsValidMultibyteUTF8AsBytes() throws {
        let bytes: [UInt8] = [0x22, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xef, 0xbf, 0xbf, 0x22]
        #expect(try JSONParser.parse(bytes) == .string("é€😀\u{FFFF}"))
    }

    @Test func duplicateKeysLastWins() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#) == ["a": 3, "b": 2])
    }

    @Test func keysWithEscapesAreDecoded() throws {
        #expect(try JSONParser.parse(#"{"a\u0062":1}"#) == ["ab": 1])
    }

    @Test func errorsCarryOffsetAndNeverEchoInput() {
        do {
            _ = try JSONParser.parse(#"{"secret":"hunter2"} x"#)
            Issue.record("expected a parse error")
        } catch {
            #expect(error.offset == 21)
            #expect(!error.description.contains("hunter2"))
            #expect(error.description.contains("21"))
        }
        do {
            _ = try JSONParser.parse("[1, 2, 01]")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.offset == 8)
            #expect(error.message.contains("leading zero"))
        }
    }

    @Test func enforcesMaxDepth() throws {
        let ok = String(repeating: "[", count: 5) + String(repeating: "]", count: 5)
        #expect(try JSONParser.parse(ok, maxDepth: 5) == [[[[[]]]]])
        let deep = String(repeating: "[", count: 6) + String(repeating: "]", count: 6)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep, maxDepth: 5) }
        let objects = String(repeating: "{\"a\":", count: 6) + "1" + String(repeating: "}", count: 6)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(objects, maxDepth: 5) }
        #expect(try JSONParser.parse("1", maxDepth: 0) == 1)
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[]", maxDepth: 0) }
        // Default depth: a hostile 100 000-deep document fails cleanly instead of overflowing the stack.
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(hostile, maxBytes: 1 << 20) }
    }

    @Test func enforcesMaxBytes() throws {
        #expect(try JSONParser.parse("\"abcd\"", maxBytes: 6) == "abcd")
        #expect(throws: JSONParseError.self) { try JSONParser.parse("\"abcde\"", maxBytes: 6) }
    }

    @Test func acceptsNonContiguousCollectionsAndSlices() throws {
        let bytes = Array(#"xx{"a":[1,2]}yy"#.utf8)
        #expect(try JSONParser.parse(bytes[2..<13]) == ["a": [1, 2]])
        let lazy = #"{"a":[1,2]}"#.utf8.lazy.map { $0 }
        #expect(try JSONParser.parse(lazy) == ["a": [1, 2]])
    }

    @Test(arguments: [
        JSONValue.object([
            "user_id": 42, "name": "Zoë \"Z\" \\ 😀", "roles": ["admin", "dev"],
            "nested": ["ratio": 0.125, "big": .int(Int64.max), "small": .int(Int64.min), "none": nil],
            "ctrl": "\u{0}\u{1F}\u{7F}\t\n\r", "sep": "\u{2028}\u{2029}", "flag": false,
        ]),
        .array([]), .object([:]), .string(""), .double(-1.5e-7), .double(3.25e100),
    ])
    func roundTripsThroughTheSerializer(value: JSONValue) throws {
        let bytes = JSONSerializer.serialize(value)
        #expect(try JSONParser.parse(bytes) == value)
        // Serialising the parsed value again is byte-identical.
        #expect(JSONSerializer.serialize(try JSONParser.parse(bytes)) == bytes)
    }

    /// Members come out in `String` order whatever the object's size: small objects (written
    /// without sorting a copy) and larger ones (sorted) alike, keys that are prefixes of others,
    /// differ only in case, are empty or non-ASCII included.
    @Test func objectMembersAreWrittenInKeyOrderAtEverySize() throws {
        let pool = ["b", "a", "ab", "B", "", "é", "e\u{301}x", "z", "aa", "user_id", "role", "Z", "😀", "a b"]
        for count in 0...pool.count {
            for rotation in [0, 3, 7] {
                let keys = (0..<count).map { pool[($0 + rotation) % pool.count] }
                var members: [String: JSONValue] = [:]
                for (position, key) in keys.enumerated() { members[key] = .int(Int64(position)) }
                var expected: [UInt8] = Array("{".utf8)
                for (position, key) in members.keys.sorted().enumerated() {
                    if position > 0 { expected.append(UInt8(ascii: ",")) }
                    expected +=
                        JSONSerializer.serialize(.string(key)) + Array(":".utf8)
                        + JSONSerializer.serialize(members[key]!)
                }
                expected.append(UInt8(ascii: "}"))
                let bytes = JSONSerializer.serialize(.object(members))
                #expect(bytes == expected, "\(members.count) members")
                #expect(try JSONParser.parse(bytes) == .object(members))
            }
        }
    }

    /// Integers are written digit by digit (`ASCIIDecimal`), exactly as `String(number)` spells them.
    @Test(arguments: [0, 7, 9, 10, 99, 100, -1, -10, 1_234_567_890, Int64.max, Int64.min, Int64.min + 1])
    func integersAreSpelledAsStringSpellsThem(number: Int64) {
        #expect(JSONSerializer.serialize(.int(number)) == Array(String(number).utf8))
    }
}
