/// The longer examples of the TOML 1.0.0 specification, verbatim.
enum TOMLSpecText {
    /// Every document here, named, for the differential test against tomllib.
    static let all: [(name: String, text: String)] = [
        ("introduction", introduction), ("comments", comments), ("bare keys", bareKeys), ("quoted keys", quotedKeys),
        ("dotted keys", dottedKeys), ("dotted keys whitespace", dottedKeysWhitespace),
        ("dotted keys extend table", dottedKeysExtendTable), ("integer becomes table", integerBecomesTable),
        ("dotted keys out of order", dottedKeysOutOfOrder), ("line-ending backslash", lineEndingBackslash),
        ("quotes in multi-line strings", quotesInMultiLineStrings), ("literal strings", literalStrings),
        ("multi-line literal strings", multiLineLiteralStrings), ("quotes in literal strings", quotesInLiteralStrings),
        ("integers", integers), ("floats", floats), ("special floats", specialFloats), ("dates", dates),
        ("arrays", arrays), ("two tables", twoTables), ("header whitespace", headerWhitespace),
        ("super-table afterward", superTableAfterward), ("top-level table", topLevelTable),
        ("dotted keys define tables", dottedKeysDefineTables), ("sub-table of dotted table", subTableOfDottedTable),
        ("inline tables", inlineTables), ("points array", pointsArray), ("products", products), ("fruits", fruits),
        ("subtable before array", subtableBeforeArray), ("array table conflicts", arrayTableConflicts),
    ]

    static let introduction = """
        # This is a TOML document

        title = "TOML Example"

        [owner]
        name = "Tom Preston-Werner"
        dob = 1979-05-27T07:32:00-08:00

        [database]
        enabled = true
        ports = [ 8000, 8001, 8002 ]
        data = [ ["delta", "phi"], [3.14] ]
        temp_targets = { cpu = 79.5, case = 72.0 }

        [servers]

        [servers.alpha]
        ip = "10.0.0.1"
        role = "frontend"

        [servers.beta]
        ip = "10.0.0.2"
        role = "backend"

        """

    static let comments = """
        # This is a full-line comment
        key = "value"  # This is a comment at the end of a line
        another = "# This is not a comment"
        """

    static let bareKeys = """
        key = "value"
        bare_key = "value"
        bare-key = "value"
        1234 = "value"
        """

    static let quotedKeys = """
        "127.0.0.1" = "value"
        "character encoding" = "value"
        "ʎǝʞ" = "value"
        'key2' = "value"
        'quoted "value"' = "value"
        """

    static let dottedKeys = """
        name = "Orange"
        physical.color = "orange"
        physical.shape = "round"
        site."google.com" = true
        """

    static let dottedKeysWhitespace = """
        fruit.name = "banana"     # this is best practice
        fruit. color = "yellow"    # same as above
        fruit . flavor = "banana"   # same as above
        """

    static let dottedKeysExtendTable = """
        # This makes the key "fruit" into a table.
        fruit.apple.smooth = true

        # So then you can add to the table "fruit" like so:
        fruit.orange = 2
        """

    static let integerBecomesTable = """
        # THE FOLLOWING IS INVALID

        # This defines the value of fruit.apple to be an integer.
        fruit.apple = 1

        # But then this treats fruit.apple like it's a table.
        # You can't turn an integer into a table.
        fruit.apple.smooth = true
        """

    static let dottedKeysOutOfOrder = """
        # VALID BUT DISCOURAGED

        apple.type = "fruit"
        orange.type = "fruit"

        apple.skin = "thin"
        orange.skin = "thick"

        apple.color = "red"
        orange.color = "orange"
        """

    static let lineEndingBackslash = #"""
        # The following strings are byte-for-byte equivalent:
        str1 = "The quick brown fox jumps over the lazy dog."

        str2 = """
        The quick brown \


          fox jumps over \
            the lazy dog."""

        str3 = """\
               The quick brown \
               fox jumps over \
               the lazy dog.\
               """
        """#

    static let quotesInMultiLineStrings = #"""
        str4 = """Here are two quotation marks: "". Simple enough."""
        # str5 = """Here are three quotation marks: """."""  # INVALID
        str5 = """Here are three quotation marks: ""\"."""
        str6 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""

        # "This," she said, "is just a pointless statement."
        str7 = """"This," she said, "is just a pointless statement.""""
        """#

    static let literalStrings = #"""
        # What you see is what you get.
        winpath  = 'C:\Users\nodejs\templates'
        winpath2 = '\\ServerX\admin$\system32\'
        quoted   = 'Tom "Dubs" Preston-Werner'
        regex    = '<\i\c*\s*>'
        """#

    static let multiLineLiteralStrings = #"""
        regex2 = '''I [dw]on't need \d{2} apples'''
        lines  = '''
        The first newline is
        trimmed in raw strings.
           All other whitespace
           is preserved.
        '''
        """#

    static let quotesInLiteralStrings = #"""
        quot15 = '''Here are fifteen quotation marks: """""""""""""""'''

        # apos15 = '''Here are fifteen apostrophes: ''''''''''''''''''  # INVALID
        apos15 = "Here are fifteen apostrophes: '''''''''''''''"

        # 'That,' she said, 'is still pointless.'
        str = ''''That,' she said, 'is still pointless.''''
        """#

    static let integers = """
        int1 = +99
        int2 = 42
        int3 = 0
        int4 = -17
        int5 = 1_000
        int6 = 5_349_221
        int7 = 53_49_221  # Indian number system grouping
        int8 = 1_2_3_4_5  # VALID but discouraged
        # hexadecimal with prefix `0x`
        hex1 = 0xDEADBEEF
        hex2 = 0xdeadbeef
        hex3 = 0xdead_beef

        # octal with prefix `0o`
        oct1 = 0o01234567
        oct2 = 0o755 # useful for Unix file permissions

        # binary with prefix `0b`
        bin1 = 0b11010110
        """

    static let floats = """
        # fractional
        flt1 = +1.0
        flt2 = 3.1415
        flt3 = -0.01

        # exponent
        flt4 = 5e+22
        flt5 = 1e06
        flt6 = -2E-2

        # both
        flt7 = 6.626e-34
        flt8 = 224_617.445_991_228
        """

    static let specialFloats = """
        # infinity
        sf1 = inf  # positive infinity
        sf2 = +inf # positive infinity
        sf3 = -inf # negative infinity

        # not a number
        sf4 = nan  # actual sNaN/qNaN encoding is implementation-specific
        sf5 = +nan # same as `nan`
        sf6 = -nan # valid, actual encoding is implementation-specific
        """

    static let dates = """
        odt1 = 1979-05-27T07:32:00Z
        odt2 = 1979-05-27T00:32:00-07:00
        odt3 = 1979-05-27T00:32:00.999999-07:00
        odt4 = 1979-05-27 07:32:00Z
        ldt1 = 1979-05-27T07:32:00
        ldt2 = 1979-05-27T00:32:00.999999
        ld1 = 1979-05-27
        lt1 = 07:32:00
        lt2 = 00:32:00.999999
        """

    static let arrays = """
        integers = [ 1, 2, 3 ]
        colors = [ "red", "yellow", "green" ]
        nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
        nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
        string_array = [ "all", 'strings', \"\"\"are the same\"\"\", '''type''' ]

        # Mixed-type arrays are allowed
        numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
        contributors = [
          "Foo Bar <foo@example.com>",
          { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
        ]
        integers2 = [
          1, 2, 3
        ]

        integers3 = [
          1,
          2, # this is ok
        ]
        """

    static let twoTables = """
        [table-1]
        key1 = "some string"
        key2 = 123

        [table-2]
        key1 = "another string"
        key2 = 456
        """

    static let headerWhitespace = """
        [a.b.c]            # this is best practice
        [ d.e.f ]          # same as [d.e.f]
        [ g .  h  . i ]    # same as [g.h.i]
        [ j . "ʞ" . 'l' ]  # same as [j."ʞ".'l']
        """

    static let superTableAfterward = """
        # [x] you
        # [x.y] don't
        # [x.y.z] need these
        [x.y.z.w] # for this to work

        [x] # defining a super-table afterward is ok
        """

    static let topLevelTable = """
        # Top-level table begins.
        name = "Fido"
        breed = "pug"

        # Top-level table ends.
        [owner]
        name = "Regina Dogman"
        member_since = 1999-08-04
        """

    static let dottedKeysDefineTables = """
        fruit.apple.color = "red"
        # Defines a table named fruit
        # Defines a table named fruit.apple

        fruit.apple.taste.sweet = true
        # Defines a table named fruit.apple.taste
        # fruit and fruit.apple were already created
        """

    static let subTableOfDottedTable = """
        [fruit]
        apple.color = "red"
        apple.taste.sweet = true

        # [fruit.apple]  # INVALID
        # [fruit.apple.taste]  # INVALID

        [fruit.apple.texture]  # you can add sub-tables
        smooth = true
        """

    static let inlineTables = """
        name = { first = "Tom", last = "Preston-Werner" }
        point = { x = 1, y = 2 }
        animal = { type.name = "pug" }
        """

    static let pointsArray = """
        points = [ { x = 1, y = 2, z = 3 },
                   { x = 7, y = 8, z = 9 },
                   { x = 2, y = 4, z = 8 } ]
        """

    static let products = """
        [[products]]
        name = "Hammer"
        sku = 738594937

        [[products]]  # empty table within the array

        [[products]]
        name = "Nail"
        sku = 284758393

        color = "gray"
        """

    static let fruits = """
        [[fruits]]
        name = "apple"

        [fruits.physical]  # subtable
        color = "red"
        shape = "round"

        [[fruits.varieties]]  # nested array of tables
        name = "red delicious"

        [[fruits.varieties]]
        name = "granny smith"


        [[fruits]]
        name = "banana"

        [[fruits.varieties]]
        name = "plantain"
        """

    static let subtableBeforeArray = """
        # INVALID TOML DOC
        [fruit.physical]  # subtable, but to which parent element should it belong?
        color = "red"
        shape = "round"

        [[fruit]]  # parser must throw an error upon discovering that "fruit" is
                   # an array rather than a table
        name = "apple"
        """

    static let arrayTableConflicts = """
        # INVALID TOML DOC
        [[fruits]]
        name = "apple"

        [[fruits.varieties]]
        name = "red delicious"

        # INVALID: This table conflicts with the previous array of tables
        [fruits.varieties]
        name = "granny smith"

        [fruits.physical]
        color = "red"
        shape = "round"

        # INVALID: This array of tables conflicts with the previous table
        [[fruits.physical]]
        color = "green"
        """
}
