import Foundation
import Testing

@testable import SessionGateCore

/// TOMLParser beyond the spec's own examples: positions and wording of errors, the nesting limit,
/// the inputs that made toml++ abort, and values at the edges of their ranges.
@Suite struct TOMLParserTests {
    // MARK: - Inputs on which toml++ (TOMLKit) aborted the process

    /// Every `regression-*` file of the FuzzTOML corpus parses or fails with a position inside the
    /// document; none may crash the test process.
    @Test func fuzzRegressionFilesNeverCrash() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/FuzzTOML")
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasPrefix("regression-") }
        try #require(names.count >= 8)
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: corpus.appendingPathComponent(name)))
            // As the fuzz target reads them: invalid UTF-8 repaired to U+FFFD.
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try TOMLParser.parse(text)
            } catch {
                // LF bytes, not Character "\n": "\r\n" is one Character.
                let lines = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
                #expect((1...lines).contains(error.line) && error.column >= 1, "\(name): \(error)")
            }
        }
    }

    @Test(arguments: [
        ("a = [}]\n", 1, 6, "expected a value for the array element, found '}'"),
        ("[}\n", 1, 2, "expected a table name after '[', found '}'"),
        ("[*]\n", 1, 2, "expected a table name after '[', found '*'"),
        ("[[[1]]]\n", 1, 3, "expected a table name after '[[', found '['"),
        ("[[ [x]]\n", 1, 4, "expected a table name after '[[', found '['"),
        ("[[=\n", 1, 3, "expected a table name after '[[', found '='"),
        ("[\nx = 1\n", 1, 2, "expected a table name after '[', found end of line"),
        ("a = 1979-05-27T\u{1D}07:32:00Z\n", 1, 16, "invalid date-time: expected a time HH:MM:SS"),
        ("[.]\n", 1, 2, "expected a table name after '['"),
        ("[ # x\n", 1, 3, "expected a table name after '[', found '#'"),
        ("a = \"\u{0}\"\n", 1, 6, "control character U+0000 is not allowed in a string"),
        ("[{a=1}]\n", 1, 2, "expected a table name after '['"),
        ("[]\n", 1, 2, "expected a table name after '[', found ']'"),
    ])
    func tomlKitAbortsAreSyntaxErrors(text: String, line: Int, column: Int, fragment: String) {
        expectTOMLError(text, line: line, column: column, fragment)
    }

    @Test func emptyQuotedKeyIsAKey() throws {
        #expect(try TOMLParser.parse("\"\" = 1\n") == .table([(key: "", value: .integer(1))]))
    }

    // MARK: - Nesting limit

    @Test func arraysAndInlineTablesNestUpToTheLimit() throws {
        let limit = TOMLParser.maximumNestingDepth
        // The document is level 0, so `a`'s value is at level 1.
        let arrays = "a = " + String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        _ = try TOMLParser.parse(arrays)
        let deeper = "a = " + String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        expectTOMLError(deeper, line: 1, column: 5 + limit, "nested too deeply (the limit is \(limit) levels)")
        let tables = "a = " + String(repeating: "{b = ", count: limit - 1) + "{}" + String(repeating: "}", count: limit - 1)
        _ = try TOMLParser.parse(tables)
        let deeperTables = "a = " + String(repeating: "{b = ", count: limit) + "{}" + String(repeating: "}", count: limit)
        expectTOMLError(deeperTables, line: 1, column: 5 + 5 * limit, "nested too deeply")
    }

    @Test func headersAndDottedKeysCountTowardsTheLimit() throws {
        let limit = TOMLParser.maximumNestingDepth
        let parts = (1...limit + 1).map { "k\($0)" }
        _ = try TOMLParser.parse("[\(parts.prefix(limit).joined(separator: "."))]\nx = 1")
        expectTOMLError(
            "[\(parts.joined(separator: "."))]", line: 1, column: 2 + parts.prefix(limit).joined(separator: ".").count + 1,
            "nested too deeply")
        // A 40-level header, then a dotted key whose tables would go on to level 70.
        let header = "[\(parts.prefix(40).joined(separator: "."))]\n"
        let dotted = (1...30).map { "d\($0)" }
        let key = dotted.joined(separator: ".")
        let column = 1 + dotted.prefix(24).joined(separator: ".").count + 1
        expectTOMLError(header + key + " = 1", line: 2, column: column, "nested too deeply")
    }

    /// The limit is reached at the 65th opening bracket or brace, whatever lies between them.
    @Test(arguments: [("[", 69), ("{a=", 197), ("[{b=", 133)])
    func hostileNestingIsRefusedWithoutExhaustingTheStack(opener: String, column: Int) {
        expectTOMLError("a = " + String(repeating: opener, count: 200_000), line: 1, column: column, "nested too deeply")
    }

    // MARK: - Errors: position and wording

    @Test func errorsNameWhatWasExpected() {
        expectTOMLError("via true", line: 1, column: 5, "expected '=' after key \"via\", found 't'")
        expectTOMLError(
            "[server]\nlisten = \"127.0.0.1:8080\"\nvia = = true\n", line: 3, column: 7, "expected a value for key \"via\", found '='")
        expectTOMLError("a = 1\na = 2", line: 2, column: 1, "duplicate key \"a\" (first defined on line 1)")
        expectTOMLError("[s]\na.\"b.c\" = 1\na.\"b.c\" = 2", line: 3, column: 3, "duplicate key s.a.\"b.c\" (first defined on line 2)")
        expectTOMLError("a = \"abc\ndef\"", line: 1, column: 9, "expected '\"' before the end of the line")
        expectTOMLError("a = 'abc", line: 1, column: 9, "unterminated string: expected \"'\" to close the string opened on line 1")
        expectTOMLError("a = \"\"\"abc\n\ndef", line: 3, column: 4, "expected '\"\"\"' to close the string opened on line 1")
        expectTOMLError("a = [1,\n2", line: 2, column: 2, "unterminated array: expected ']' to close the array opened on line 1")
        expectTOMLError("a = [1 2]", line: 1, column: 8, "expected ',' or ']' after an array element, found '2'")
        expectTOMLError("a = {b = 1\n}", line: 1, column: 11, "an inline table must be closed with '}' on the line it starts")
        expectTOMLError("a = {b = 1,}", line: 1, column: 12, "a trailing comma is not allowed in an inline table")
        expectTOMLError("a = {b = 1, b = 2}", line: 1, column: 13, "duplicate key \"b\" (first defined on line 1)")
        expectTOMLError("a = \"\\q\"", line: 1, column: 6, "invalid escape sequence '\\q'")
        expectTOMLError("a = \"\\uD800\"", line: 1, column: 6, "escape U+D800 is not a Unicode scalar value")
        expectTOMLError("a = \"\\U00110000\"", line: 1, column: 6, "escape U+110000 is not a Unicode scalar value")
        expectTOMLError("a = \"\\u12\"", line: 1, column: 10, "expected 4 hexadecimal digits after '\\u', found '\"'")
        expectTOMLError(
            "a = \"\"\"x\\ y\"\"\"", line: 1, column: 9, "a backslash followed by whitespace must be the last thing on its line")
        expectTOMLError("a = 9223372036854775808", line: 1, column: 5, "integer out of range")
        expectTOMLError("a = -9223372036854775809", line: 1, column: 5, "integer out of range")
        expectTOMLError("a = 0x8000000000000000", line: 1, column: 5, "integer out of range")
        expectTOMLError("a = 012", line: 1, column: 5, "leading zeros are not allowed")
        expectTOMLError("a = 1__2", line: 1, column: 6, "an underscore in a number must be between two digits")
        expectTOMLError("a = +0x1", line: 1, column: 5, "hexadecimal, octal and binary integers cannot have a sign")
        expectTOMLError("a = 2023-02-29", line: 1, column: 13, "invalid date: month 2 of year 2023 has no day 29")
        expectTOMLError("a = 2023-13-01", line: 1, column: 10, "the month must be 01 to 12")
        expectTOMLError("a = 24:00:00", line: 1, column: 5, "hours must be 00 to 23")
        expectTOMLError("a = 07:32:00Z", line: 1, column: 13, "a local time cannot have a time-zone offset")
        expectTOMLError("a = 1979-05-27T07:32:00+24:00", line: 1, column: 24, "invalid time-zone offset")
        expectTOMLError("a = 1979-05-27T07:32", line: 1, column: 16, "seconds")
        expectTOMLError("# a\u{1}", line: 1, column: 4, "control character U+0001 is not allowed in a comment")
        expectTOMLError("a = 1\rb = 2", line: 1, column: 6, "a carriage return must be followed by a line feed")
        expectTOMLError("\u{FEFF}a = 1", line: 1, column: 1, "byte order mark")
        expectTOMLError("a = \"\"\"a\"\"\"\"\"\"", line: 1, column: 14, "too many quotes")
        expectTOMLError("\"\"\"a\"\"\" = 1", line: 1, column: 1, "a multi-line string cannot be used as a key")
        expectTOMLError("a = tru", line: 1, column: 5, "expected a value for key \"a\", found 't' (strings must be quoted)")
        expectTOMLError("a = no", line: 1, column: 5, "expected a value (strings must be quoted)")
        expectTOMLError("a = hello", line: 1, column: 5, "expected a value for key \"a\", found 'h' (strings must be quoted)")
    }

    /// Columns count Unicode scalars, not bytes: "é" and "😀" are one column each.
    @Test func columnsCountScalars() {
        expectTOMLError("\"é😀\" = 1 x", line: 1, column: 10, "expected a newline or a comment after the value of key \"é😀\"")
        expectTOMLError("a = 1\n\t\"ü\" = 2 3", line: 2, column: 10, "found '3'")
    }

    /// Values can be secrets (a password typed without quotes); messages must not repeat them.
    @Test(arguments: [
        "password = hunter2secret", "password = 12secret34", "password = \"secret\\q\"", "password = 0xsecret",
        "password = [secret]", "password = {a = secret}", "password = 1979-05-27Tsecret", "password = 'secret\u{1}'",
        "password = \"secret\" secret", "password = 1_secret",
    ])
    func messagesNeverRepeatValues(text: String) {
        do {
            _ = try TOMLParser.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("secret") && !error.description.contains("hunter"), "\(error)")
        }
    }

    // MARK: - Tables: the redefinition rules

    @Test func superTablesMayBeDefinedOnceAfterTheirSubTables() throws {
        let node = try TOMLParser.parse("[a.b]\nc = 1\n[a]\nd = 2")
        #expect(
            node
                == .table([
                    (
                        key: "a",
                        value: .table([(key: "b", value: .table([(key: "c", value: .integer(1))])), (key: "d", value: .integer(2))])
                    )
                ]))
        expectTOMLError("[a.b]\n[a]\n[a]", line: 3, column: 2, "table [a] is defined twice (first defined on line 2)")
    }

    @Test func tablesKeepTheOrderOfFirstMention() throws {
        let node = try TOMLParser.parse("z = 1\n[x.y]\n[w]\n[x]\nb = 2\na = 3\n[x.c]")
        guard case .table(let top) = node, case .table(let x)? = node["x"] else {
            Issue.record("not a table: \(node)")
            return
        }
        #expect(top.map(\.key) == ["z", "x", "w"])
        #expect(x.map(\.key) == ["y", "b", "a", "c"])
    }

    @Test func dottedKeyTablesBelongToTheirSection() {
        expectTOMLError("[x]\na.b = 1\n[y]\n[x.a]", line: 4, column: 4, "table [x.a] was already created by dotted keys on line 2")
        expectTOMLError(
            "[a.b.c]\nz = 9\n[a]\nb.c.t = 1", line: 4, column: 3,
            "cannot add to table \"a.b.c\" with a dotted key: it was defined by a header on line 1")
        expectTOMLError("[[a.b]]\n[a]\nb.c = 1", line: 3, column: 1, "cannot add to \"a.b\" with a dotted key: it is an array of tables")
        expectTOMLError(
            "a = 1\n[a.b]", line: 2, column: 2, "cannot define table [a.b]: key \"a\" already holds an integer (defined on line 1)")
        expectTOMLError("a = {b = 1}\n[a.c]", line: 2, column: 2, "key \"a\" already holds a table")
        expectTOMLError("a = {b = 1}\n[[a]]", line: 2, column: 3, "cannot append to [[a]]: key \"a\" already holds a table")
        expectTOMLError("[a]\n[[a]]", line: 2, column: 3, "cannot append to [[a]]: key \"a\" is already a table (defined on line 1)")
    }

    @Test func headersUnderAnArrayOfTablesGoToItsLastElement() throws {
        let node = try TOMLParser.parse("[[a]]\n[a.b]\nc = 1\n[[a]]\n[a.b]\nc = 2")
        let element1 = ConfigNode.table([(key: "b", value: .table([(key: "c", value: .integer(1))]))])
        let element2 = ConfigNode.table([(key: "b", value: .table([(key: "c", value: .integer(2))]))])
        #expect(node == .table([(key: "a", value: .array([element1, element2]))]))
    }

    // MARK: - Values at the edges

    @Test func integersAtTheEdgesOfTheRange() throws {
        let node = try TOMLParser.parse(
            "max = 9_223_372_036_854_775_807\nmin = -9223372036854775808\nhex = 0x7fffFFFFffffFFFF\n"
                + "oct = 0o777777777777777777777\nbin = 0b\(String(repeating: "1", count: 63))\nzero = -0\nlead = 0x0001")
        #expect(node["max"] == .integer(.max) && node["min"] == .integer(.min) && node["hex"] == .integer(.max))
        #expect(node["oct"] == .integer(.max) && node["bin"] == .integer(.max))
        #expect(node["zero"] == .integer(0) && node["lead"] == .integer(1))
    }

    @Test func floatsAreCorrectlyRounded() throws {
        let node = try TOMLParser.parse("a = -0.0\nb = 1e400\nc = 5e-324\nd = 0.1\ne = 1.7976931348623157e308\nf = 0e0\ng = 1_0.5e1_0")
        guard case .double(let negativeZero)? = node["a"] else {
            Issue.record("not a float: \(String(describing: node["a"]))")
            return
        }
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        #expect(node["b"] == .double(.infinity))
        #expect(node["c"] == .double(Double.leastNonzeroMagnitude))
        #expect(node["d"] == .double(0.1) && node["e"] == .double(Double.greatestFiniteMagnitude))
        #expect(node["f"] == .double(0) && node["g"] == .double(10.5e10))
    }

    @Test func stringsWithEscapesAndLineEndings() throws {
        let node = try TOMLParser.parse(
            "a = \"\\b\\t\\n\\f\\r\\\"\\\\\\u00e9\\U0001F600\"\r\nb = \"\"\"\r\nx\r\ny\\\r\n   z\"\"\"\r\nc = '''\r\nraw\\n\r\n'''\r\n"
                + "d = \"\"\"\\\t \n\n  e\"\"\"\ne = \"\"\"\"\"\"\nf = '''''quoted'''''")
        #expect(node["a"] == .string("\u{8}\t\n\u{C}\r\"\\é😀"))
        #expect(node["b"] == .string("x\nyz"))
        #expect(node["c"] == .string("raw\\n\n"))
        #expect(node["d"] == .string("e"))
        #expect(node["e"] == .string(""))
        #expect(node["f"] == .string("''quoted''"))
    }

    @Test func datesAndTimesAreValidated() throws {
        let node = try TOMLParser.parse(
            "a = 2024-02-29\nb = 2000-02-29T23:59:60.123456789z\nc = 1979-05-27 07:32:00+23:59\nd = 00:00:00\ne = 0000-01-01")
        #expect(node["a"] == .other("date") && node["b"] == .other("date-time") && node["c"] == .other("date-time"))
        #expect(node["d"] == .other("time") && node["e"] == .other("date"))
        expectTOMLError("a = 1900-02-29", line: 1, column: 13, "has no day 29")
        expectTOMLError("a = 2024-04-31", line: 1, column: 13, "has no day 31")
    }

    // MARK: - Robustness

    /// Random sequences of TOML fragments: every one parses or fails with a sane position.
    @Test func randomFragmentsNeverCrash() {
        var generator = TOMLFragmentGenerator(seed: 0x5E55_1011)
        for _ in 0..<5_000 {
            let text = generator.document()
            do {
                _ = try TOMLParser.parse(text)
            } catch {
                let lineCount = text.utf8.filter { $0 == 0x0A }.count + 1
                if !(1...lineCount).contains(error.line) || error.column < 1 {
                    Issue.record("bad position \(error) for \(text.debugDescription)")
                }
            }
        }
    }
}

/// Deterministic documents made of TOML fragments (SplitMix64), for robustness and differential tests.
struct TOMLFragmentGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    static let fragments = [
        "[", "]", "[[", "]]", "{", "}", "=", " = ", ",", ".", "\"", "'", "\"\"\"", "'''", "\\", "\\u00e9", "\\n", "#",
        "\n", "\r\n", "\r", " ", "\t", "a", "b", "a.b", "\"k\"", "1", "0", "0x1F", "0o7", "0b1", "1.5", "e", "E+", "_",
        "+", "-", ":", "1979-05-27", "T", " ", "07:32:00", ".5", "Z", "-07:00", "inf", "nan", "true", "false", "é",
        "\u{1F600}", "\u{0}", "\u{7F}", "\u{1}", "a = 1\n", "[a]\n", "[[a]]\n", "a.b = 2\n", "x = [1, 2]\n",
        "x = {y = 1}\n", "[a.b]\n", "b = \"s\"\n", "\"\"", "''",
    ]

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    static let keys = ["a", "b", "c", "\"a\"", "'b'", "\"\"", "d-1"]
    static let values = [
        "1", "-2", "0x10", "1.5", "-inf", "nan", "true", "\"s\"", "'t'", "\"\"\"m\nl\"\"\"", "1979-05-27", "07:32:00",
        "1979-05-27T07:32:00Z", "[]", "[1, \"x\"]", "[[1], [2]]", "{}", "{x = 1}", "{a.b = 1, a.c = 2}", "[{a = 1}]",
    ]

    private mutating func pick(_ list: [String]) -> String { list[Int(next() % UInt64(list.count))] }

    private mutating func path() -> String {
        (0...Int(next() % 3)).map { _ in pick(Self.keys) }.joined(separator: ".")
    }

    /// Lines of headers and key/value pairs over a few shared names, so tables, dotted keys and
    /// arrays of tables collide often; now and then a line is spoiled by a random fragment.
    mutating func structuredDocument() -> String {
        var text = ""
        for _ in 0..<(Int(next() % 8) + 1) {
            var line: String
            switch next() % 6 {
            case 0: line = "[\(path())]"
            case 1: line = "[[\(path())]]"
            case 2: line = "# \(pick(Self.keys))"
            default: line = "\(path()) = \(pick(Self.values))"
            }
            if next() % 8 == 0 {
                let scalars = Array(line.unicodeScalars)
                let cut = Int(next() % UInt64(scalars.count + 1))
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[..<cut])
                view.append(contentsOf: pick(Self.fragments).unicodeScalars)
                view.append(contentsOf: scalars[cut...])
                line = String(view)
            }
            text += line + "\n"
        }
        return text
    }

    mutating func document() -> String {
        let count = Int(next() % 24) + 1
        var text = ""
        for _ in 0..<count { text += Self.fragments[Int(next() % UInt64(Self.fragments.count))] }
        return text
    }
}
