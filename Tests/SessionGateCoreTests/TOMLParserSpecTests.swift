import Foundation
import Testing

@testable import SessionGateCore

private func table(_ entries: KeyValuePairs<String, ConfigNode>) -> ConfigNode {
    .table(entries.map { (key: $0.key, value: $0.value) })
}

private func stringArray(_ values: String...) -> ConfigNode { .array(values.map(ConfigNode.string)) }

private func integerArray(_ values: Int64...) -> ConfigNode { .array(values.map(ConfigNode.integer)) }

/// Parses `text`, expecting a syntax error at `line`/`column` whose message contains `fragment`.
/// Expects `text` to be refused at `line`:`column` with a message containing `fragment`.
func expectTOMLError(
    _ text: String, line: Int, column: Int, _ fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let node = try TOMLParser.parse(text)
        Issue.record("accepted: \(node)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.line == line && error.column == column, "at \(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
        #expect(error.description == "line \(error.line), column \(error.column): \(error.message)", sourceLocation: sourceLocation)
    }
}

/// The examples of https://toml.io/en/v1.0.0, section by section: valid ones with the tree they
/// must give, invalid ones with the position of the error.
@Suite struct TOMLParserSpecExampleTests {
    @Test func introductionExample() throws {
        let node = try TOMLParser.parse(TOMLSpecText.introduction)
        #expect(
            node
                == table([
                    "title": .string("TOML Example"),
                    "owner": table(["name": .string("Tom Preston-Werner"), "dob": .other("date-time")]),
                    "database": table([
                        "enabled": .bool(true),
                        "ports": integerArray(8000, 8001, 8002),
                        "data": .array([stringArray("delta", "phi"), .array([.double(3.14)])]),
                        "temp_targets": table(["cpu": .double(79.5), "case": .double(72.0)]),
                    ]),
                    "servers": table([
                        "alpha": table(["ip": .string("10.0.0.1"), "role": .string("frontend")]),
                        "beta": table(["ip": .string("10.0.0.2"), "role": .string("backend")]),
                    ]),
                ]))
    }

    @Test func commentsAndKeys() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.comments)
                == table(["key": .string("value"), "another": .string("# This is not a comment")]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.bareKeys)
                == table([
                    "key": .string("value"), "bare_key": .string("value"), "bare-key": .string("value"),
                    "1234": .string("value"),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.quotedKeys)
                == table([
                    "127.0.0.1": .string("value"), "character encoding": .string("value"), "ʎǝʞ": .string("value"),
                    "key2": .string("value"), "quoted \"value\"": .string("value"),
                ]))
        #expect(try TOMLParser.parse("\"\" = \"blank\"     # VALID but discouraged") == table(["": .string("blank")]))
        #expect(try TOMLParser.parse("'' = 'blank'     # VALID but discouraged") == table(["": .string("blank")]))
    }

    @Test func dottedKeys() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.dottedKeys)
                == table([
                    "name": .string("Orange"),
                    "physical": table(["color": .string("orange"), "shape": .string("round")]),
                    "site": table(["google.com": .bool(true)]),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.dottedKeysWhitespace)
                == table([
                    "fruit": table(["name": .string("banana"), "color": .string("yellow"), "flavor": .string("banana")])
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.dottedKeysExtendTable)
                == table(["fruit": table(["apple": table(["smooth": .bool(true)]), "orange": .integer(2)])]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.dottedKeysOutOfOrder)
                == table([
                    "apple": table(["type": .string("fruit"), "skin": .string("thin"), "color": .string("red")]),
                    "orange": table(["type": .string("fruit"), "skin": .string("thick"), "color": .string("orange")]),
                ]))
        #expect(try TOMLParser.parse("3.14159 = \"pi\"") == table(["3": table(["14159": .string("pi")])]))
    }

    @Test func invalidKeyValuePairs() {
        expectTOMLError("key = # INVALID", line: 1, column: 7, "expected a value for key \"key\", found '#'")
        expectTOMLError("first = \"Tom\" last = \"Preston-Werner\" # INVALID", line: 1, column: 15, "expected a newline")
        expectTOMLError("= \"no key name\"  # INVALID", line: 1, column: 1, "expected a key")
        expectTOMLError(TOMLSpecText.integerBecomesTable, line: 8, column: 7, "already holds an integer")
        expectTOMLError(
            "# DO NOT DO THIS\nname = \"Tom\"\nname = \"Pradyun\"", line: 3, column: 1, "duplicate key \"name\" (first defined on line 2)")
        expectTOMLError(
            "# THIS WILL NOT WORK\nspelling = \"favorite\"\n\"spelling\" = \"favourite\"", line: 3, column: 1, "duplicate key \"spelling\"")
    }

    @Test func basicAndMultiLineStrings() throws {
        #expect(
            try TOMLParser.parse(#"str = "I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#)
                == table(["str": .string("I'm a string. \"You can quote me\". Name\tJos\u{E9}\nLocation\tSF.")]))
        #expect(
            try TOMLParser.parse("str1 = \"\"\"\nRoses are red\nViolets are blue\"\"\"")
                == table(["str1": .string("Roses are red\nViolets are blue")]))
        let fox = ConfigNode.string("The quick brown fox jumps over the lazy dog.")
        #expect(try TOMLParser.parse(TOMLSpecText.lineEndingBackslash) == table(["str1": fox, "str2": fox, "str3": fox]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.quotesInMultiLineStrings)
                == table([
                    "str4": .string("Here are two quotation marks: \"\". Simple enough."),
                    "str5": .string("Here are three quotation marks: \"\"\"."),
                    "str6": .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"."),
                    "str7": .string("\"This,\" she said, \"is just a pointless statement.\""),
                ]))
        expectTOMLError(
            "str5 = \"\"\"Here are three quotation marks: \"\"\".\"\"\"  # INVALID", line: 1, column: 46,
            "expected a newline or a comment after the value of key \"str5\", found '.'")
    }

    @Test func literalStrings() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.literalStrings)
                == table([
                    "winpath": .string(#"C:\Users\nodejs\templates"#), "winpath2": .string(#"\\ServerX\admin$\system32\"#),
                    "quoted": .string(#"Tom "Dubs" Preston-Werner"#), "regex": .string(#"<\i\c*\s*>"#),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.multiLineLiteralStrings)
                == table([
                    "regex2": .string(#"I [dw]on't need \d{2} apples"#),
                    "lines": .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.quotesInLiteralStrings)
                == table([
                    "quot15": .string("Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\""),
                    "apos15": .string("Here are fifteen apostrophes: '''''''''''''''"),
                    "str": .string("'That,' she said, 'is still pointless.'"),
                ]))
        expectTOMLError("apos15 = '''Here are fifteen apostrophes: ''''''''''''''''''  # INVALID", line: 1, column: 48, "too many quotes")
    }

    @Test func integerExamples() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.integers)
                == table([
                    "int1": .integer(99), "int2": .integer(42), "int3": .integer(0), "int4": .integer(-17),
                    "int5": .integer(1000), "int6": .integer(5_349_221), "int7": .integer(5_349_221),
                    "int8": .integer(12345), "hex1": .integer(0xDEAD_BEEF), "hex2": .integer(0xDEAD_BEEF),
                    "hex3": .integer(0xDEAD_BEEF), "oct1": .integer(0o01234567), "oct2": .integer(0o755),
                    "bin1": .integer(0b1101_0110),
                ]))
    }

    @Test func floats() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.floats)
                == table([
                    "flt1": .double(1.0), "flt2": .double(3.1415), "flt3": .double(-0.01), "flt4": .double(5e+22),
                    "flt5": .double(1e06), "flt6": .double(-2E-2), "flt7": .double(6.626e-34),
                    "flt8": .double(224_617.445_991_228),
                ]))
        expectTOMLError("invalid_float_1 = .7", line: 1, column: 19, "expected a value")
        expectTOMLError("invalid_float_2 = 7.", line: 1, column: 21, "expected a digit after the decimal point")
        expectTOMLError("invalid_float_3 = 3.e+20", line: 1, column: 21, "expected a digit after the decimal point")
        let special = try TOMLParser.parse(TOMLSpecText.specialFloats)
        #expect(special["sf1"] == .double(.infinity) && special["sf2"] == .double(.infinity))
        #expect(special["sf3"] == .double(-.infinity))
        for key in ["sf4", "sf5", "sf6"] {
            guard case .double(let value)? = special[key] else {
                Issue.record("\(key) is not a float")
                continue
            }
            #expect(value.isNaN)
        }
    }

    @Test func booleansDatesAndTimes() throws {
        #expect(try TOMLParser.parse("bool1 = true\nbool2 = false") == table(["bool1": .bool(true), "bool2": .bool(false)]))
        let dateTime = ConfigNode.other("date-time")
        #expect(
            try TOMLParser.parse(TOMLSpecText.dates)
                == table([
                    "odt1": dateTime, "odt2": dateTime, "odt3": dateTime, "odt4": dateTime, "ldt1": dateTime,
                    "ldt2": dateTime, "ld1": .other("date"), "lt1": .other("time"), "lt2": .other("time"),
                ]))
    }

    @Test func arrays() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.arrays)
                == table([
                    "integers": integerArray(1, 2, 3),
                    "colors": stringArray("red", "yellow", "green"),
                    "nested_arrays_of_ints": .array([integerArray(1, 2), integerArray(3, 4, 5)]),
                    "nested_mixed_array": .array([integerArray(1, 2), stringArray("a", "b", "c")]),
                    "string_array": stringArray("all", "strings", "are the same", "type"),
                    "numbers": .array([.double(0.1), .double(0.2), .double(0.5), .integer(1), .integer(2), .integer(5)]),
                    "contributors": .array([
                        .string("Foo Bar <foo@example.com>"),
                        table([
                            "name": .string("Baz Qux"), "email": .string("bazqux@example.com"),
                            "url": .string("https://example.com/bazqux"),
                        ]),
                    ]),
                    "integers2": integerArray(1, 2, 3),
                    "integers3": integerArray(1, 2),
                ]))
    }

    @Test func tables() throws {
        #expect(try TOMLParser.parse("[table]") == table(["table": table([:])]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.twoTables)
                == table([
                    "table-1": table(["key1": .string("some string"), "key2": .integer(123)]),
                    "table-2": table(["key1": .string("another string"), "key2": .integer(456)]),
                ]))
        #expect(
            try TOMLParser.parse("[dog.\"tater.man\"]\ntype.name = \"pug\"")
                == table(["dog": table(["tater.man": table(["type": table(["name": .string("pug")])])])]))
        let empty = table([:])
        #expect(
            try TOMLParser.parse(TOMLSpecText.headerWhitespace)
                == table([
                    "a": table(["b": table(["c": empty])]), "d": table(["e": table(["f": empty])]),
                    "g": table(["h": table(["i": empty])]), "j": table(["ʞ": table(["l": empty])]),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.superTableAfterward)
                == table(["x": table(["y": table(["z": table(["w": empty])])])]))
        #expect(
            try TOMLParser.parse("# VALID BUT DISCOURAGED\n[fruit.apple]\n[animal]\n[fruit.orange]")
                == table(["fruit": table(["apple": empty, "orange": empty]), "animal": empty]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.topLevelTable)
                == table([
                    "name": .string("Fido"), "breed": .string("pug"),
                    "owner": table(["name": .string("Regina Dogman"), "member_since": .other("date")]),
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.dottedKeysDefineTables)
                == table(["fruit": table(["apple": table(["color": .string("red"), "taste": table(["sweet": .bool(true)])])])]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.subTableOfDottedTable)
                == table([
                    "fruit": table([
                        "apple": table([
                            "color": .string("red"), "taste": table(["sweet": .bool(true)]),
                            "texture": table(["smooth": .bool(true)]),
                        ])
                    ])
                ]))
    }

    @Test func invalidTables() {
        expectTOMLError(
            "# DO NOT DO THIS\n\n[fruit]\napple = \"red\"\n\n[fruit]\norange = \"orange\"", line: 6, column: 2,
            "table [fruit] is defined twice (first defined on line 3)")
        expectTOMLError(
            "# DO NOT DO THIS EITHER\n\n[fruit]\napple = \"red\"\n\n[fruit.apple]\ntexture = \"smooth\"", line: 6, column: 8,
            "key \"fruit.apple\" already holds a string (defined on line 4)")
        let dotted = "[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n\n"
        expectTOMLError(dotted + "[fruit.apple]  # INVALID", line: 5, column: 8, "created by dotted keys on line 2")
        expectTOMLError(dotted + "[fruit.apple.taste]  # INVALID", line: 5, column: 14, "created by dotted keys on line 3")
    }

    @Test func inlineTables() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.inlineTables)
                == table([
                    "name": table(["first": .string("Tom"), "last": .string("Preston-Werner")]),
                    "point": table(["x": .integer(1), "y": .integer(2)]),
                    "animal": table(["type": table(["name": .string("pug")])]),
                ]))
        expectTOMLError(
            "[product]\ntype = { name = \"Nail\" }\ntype.edible = false  # INVALID", line: 3, column: 1,
            "key \"product.type\" already holds a table")
        expectTOMLError(
            "[product]\ntype.name = \"Nail\"\ntype = { edible = false }  # INVALID", line: 3, column: 1,
            "duplicate key \"product.type\": it is already a table (defined on line 2)")
        #expect(
            try TOMLParser.parse(TOMLSpecText.pointsArray)
                == table([
                    "points": .array([
                        table(["x": .integer(1), "y": .integer(2), "z": .integer(3)]),
                        table(["x": .integer(7), "y": .integer(8), "z": .integer(9)]),
                        table(["x": .integer(2), "y": .integer(4), "z": .integer(8)]),
                    ])
                ]))
    }

    @Test func arraysOfTables() throws {
        #expect(
            try TOMLParser.parse(TOMLSpecText.products)
                == table([
                    "products": .array([
                        table(["name": .string("Hammer"), "sku": .integer(738_594_937)]),
                        table([:]),
                        table(["name": .string("Nail"), "sku": .integer(284_758_393), "color": .string("gray")]),
                    ])
                ]))
        #expect(
            try TOMLParser.parse(TOMLSpecText.fruits)
                == table([
                    "fruits": .array([
                        table([
                            "name": .string("apple"),
                            "physical": table(["color": .string("red"), "shape": .string("round")]),
                            "varieties": .array([
                                table(["name": .string("red delicious")]), table(["name": .string("granny smith")]),
                            ]),
                        ]),
                        table(["name": .string("banana"), "varieties": .array([table(["name": .string("plantain")])])]),
                    ])
                ]))
    }

    @Test func invalidArraysOfTables() {
        expectTOMLError(
            TOMLSpecText.subtableBeforeArray, line: 6, column: 3, "cannot append to [[fruit]]: key \"fruit\" is already a table")
        expectTOMLError(
            "# INVALID TOML DOC\nfruits = []\n\n[[fruits]] # Not allowed", line: 4, column: 3, "arrays written with [ ] cannot be extended")
        expectTOMLError(
            TOMLSpecText.arrayTableConflicts, line: 9, column: 9,
            "[fruits.varieties] is already an array of tables (first defined on line 5)")
        let withoutFirstConflict = TOMLSpecText.arrayTableConflicts.replacingOccurrences(
            of: "[fruits.varieties]\nname = \"granny smith\"\n", with: "")
        expectTOMLError(withoutFirstConflict, line: 15, column: 10, "cannot append to [[fruits.physical]]")
    }
}
