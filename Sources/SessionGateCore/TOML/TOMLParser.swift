/// A TOML 1.0.0 parser (https://toml.io/en/v1.0.0) producing the format-neutral `ConfigNode` tree.
///
/// Pure Swift, no dependencies; it never traps on malformed input: every problem is a thrown
/// `TOMLSyntaxError` with a 1-based line and a column counted in Unicode scalars.
///
/// - Values: strings become `.string`, integers `.integer` (outside the 64-bit range is an error),
///   floats `.double`, booleans `.bool`, arrays and arrays of tables `.array`, tables and inline
///   tables `.table` with keys in the order they first appear in the file. Dates and times are
///   parsed and validated but carry no value: `.other("date")`, `.other("time")` and
///   `.other("date-time")` (local and offset date-times alike).
/// - Newlines inside multi-line strings are returned as "\n" even when the file uses CRLF.
/// - A byte order mark is refused, as is a carriage return not followed by a line feed.
/// - Tables and arrays nest at most `maximumNestingDepth` levels (counting every table, whether
///   made by a header, a dotted key or an inline table, and every array), so hostile input
///   cannot exhaust the stack.
public enum TOMLParser {
    /// How deep tables and arrays may nest; the document itself is level 0.
    public static let maximumNestingDepth = 64

    /// Parses a whole TOML document into a `.table`.
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> ConfigNode {
        var parser = TOMLDocumentParser(bytes: Array(text.utf8))
        do {
            return try parser.parseDocument()
        } catch {
            throw parser.syntaxError(for: error)
        }
    }
}

/// A parse failure at a byte offset; turned into a line and column only once, when parsing stops.
struct TOMLFailure: Error {
    var offset: Int
    var message: String
}

/// One part of a (possibly dotted) key, with the offset where it starts for error positions.
struct TOMLKeyPart {
    var name: String
    var offset: Int
}

/// The parsing state: the UTF-8 bytes, the cursor, and the document tree being built.
struct TOMLDocumentParser {
    let bytes: [UInt8]
    var index = 0
    /// The root table of the document.
    let root: TOMLTableBuilder
    /// The table the current `[header]` or `[[header]]` opened (the root before any header).
    var currentTable: TOMLTableBuilder
    /// The key path of `currentTable`, for messages.
    var currentPath: [String] = []
    /// Identifies the current header section (and each inline table), so dotted keys can only
    /// extend tables that dotted keys made in the same section.
    var sectionID = 0
    private var lastSectionID = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
        root = TOMLTableBuilder(origin: .root, depth: 0, definedAt: 0)
        currentTable = root
    }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    func byte(at offset: Int) -> UInt8? { offset >= 0 && offset < bytes.count ? bytes[offset] : nil }

    mutating func newSectionID() -> Int {
        lastSectionID += 1
        return lastSectionID
    }

    // MARK: - Document structure

    mutating func parseDocument() throws(TOMLFailure) -> ConfigNode {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw TOMLFailure(offset: 0, message: "a byte order mark (U+FEFF) is not allowed; save the file as UTF-8 without BOM")
        }
        while index < bytes.count {
            skipWhitespace()
            guard let byte = current else { break }
            switch byte {
            case TOMLByte.hash, TOMLByte.lineFeed, TOMLByte.carriageReturn:
                try finishLine(after: "")
            case TOMLByte.openBracket:
                let (key, isArray) = try parseTableHeader()
                try finishLine(after: "the table header \(isArray ? "[[" : "[")\(Self.render(key))\(isArray ? "]]" : "]")")
            default:
                let key = try parseKeyValue()
                try finishLine(after: "the value of key \(Self.quotedForMessage(key))")
            }
        }
        return root.node()
    }

    /// After an expression: optional whitespace and comment, then a newline or the end of file.
    mutating func finishLine(after context: @autoclosure () -> String) throws(TOMLFailure) {
        skipWhitespace()
        if current == TOMLByte.hash { try skipComment() }
        guard let byte = current else { return }
        if byte == TOMLByte.lineFeed {
            index += 1
        } else if byte == TOMLByte.carriageReturn && self.byte(at: index + 1) == TOMLByte.lineFeed {
            index += 2
        } else if byte == TOMLByte.carriageReturn {
            throw failure("a carriage return must be followed by a line feed")
        } else {
            throw failure("expected a newline or a comment after \(context()), found \(describe(at: index))")
        }
    }

    /// `[a.b]` or `[[a.b]]`; returns the key and whether it was an array-of-tables header.
    mutating func parseTableHeader() throws(TOMLFailure) -> (key: [TOMLKeyPart], isArray: Bool) {
        let start = index
        index += 1
        let isArray = current == TOMLByte.openBracket
        if isArray { index += 1 }
        skipWhitespace()
        let key = try parseKey(expecting: isArray ? "a table name after '[['" : "a table name after '['")
        skipWhitespace()
        guard current == TOMLByte.closeBracket else {
            let closing = isArray ? "']]'" : "']'"
            throw failure("expected \(closing) to close the table header, found \(describe(at: index))")
        }
        index += 1
        if isArray {
            guard current == TOMLByte.closeBracket else {
                throw failure("expected ']]' to close the array-of-tables header, found \(describe(at: index))")
            }
            index += 1
            try appendTable(key, headerAt: start)
        } else {
            try defineTable(key, headerAt: start)
        }
        return (key, isArray)
    }

    /// `key = value` in the current table; returns the key, for messages.
    mutating func parseKeyValue() throws(TOMLFailure) -> [TOMLKeyPart] {
        let key = try parseKey(expecting: "a key, a [table] header or a comment")
        try expectEquals(after: key)
        let value = try parseValue(depth: currentTable.depth + key.count, for: "key \(Self.quotedForMessage(key))")
        try assign(value, to: key, in: currentTable, section: sectionID, prefix: currentPath)
        return key
    }

    mutating func expectEquals(after key: [TOMLKeyPart]) throws(TOMLFailure) {
        skipWhitespace()
        guard current == TOMLByte.equals else {
            throw failure("expected '=' after key \(Self.quotedForMessage(key)), found \(describe(at: index))")
        }
        index += 1
        skipWhitespace()
    }

    // MARK: - Keys

    /// A simple or dotted key; whitespace is allowed around the dots.
    mutating func parseKey(expecting expected: String) throws(TOMLFailure) -> [TOMLKeyPart] {
        var parts = [try parseSimpleKey(expecting: expected)]
        while true {
            let save = index
            skipWhitespace()
            guard current == TOMLByte.dot else {
                index = save
                return parts
            }
            index += 1
            skipWhitespace()
            parts.append(try parseSimpleKey(expecting: "a key after '.'"))
        }
    }

    mutating func parseSimpleKey(expecting expected: String) throws(TOMLFailure) -> TOMLKeyPart {
        let start = index
        guard let byte = current else { throw failure("expected \(expected), found end of file") }
        if byte == TOMLByte.quote || byte == TOMLByte.apostrophe {
            if self.byte(at: index + 1) == byte && self.byte(at: index + 2) == byte {
                throw failure("a multi-line string cannot be used as a key")
            }
            let name = byte == TOMLByte.quote ? try parseBasicString() : try parseLiteralString()
            return TOMLKeyPart(name: name, offset: start)
        }
        while let next = current, TOMLByte.isBareKey(next) { index += 1 }
        guard index > start else { throw failure("expected \(expected), found \(describe(at: index))") }
        return TOMLKeyPart(name: String(decoding: bytes[start..<index], as: UTF8.self), offset: start)
    }

    // MARK: - Whitespace and comments

    mutating func skipWhitespace() {
        while let byte = current, byte == TOMLByte.space || byte == TOMLByte.tab { index += 1 }
    }

    /// From `#` up to (not including) the end of the line; control characters other than tab are refused.
    mutating func skipComment() throws(TOMLFailure) {
        index += 1
        while let byte = current, byte != TOMLByte.lineFeed, byte != TOMLByte.carriageReturn {
            guard byte == TOMLByte.tab || (byte >= 0x20 && byte != 0x7F) else {
                throw failure("\(describe(at: index)) is not allowed in a comment")
            }
            index += 1
        }
    }

    /// Whitespace, comments and newlines, as allowed between array elements.
    mutating func skipWhitespaceCommentsAndNewlines() throws(TOMLFailure) {
        while let byte = current {
            switch byte {
            case TOMLByte.space, TOMLByte.tab, TOMLByte.lineFeed: index += 1
            case TOMLByte.hash: try skipComment()
            case TOMLByte.carriageReturn:
                guard self.byte(at: index + 1) == TOMLByte.lineFeed else {
                    throw failure("a carriage return must be followed by a line feed")
                }
                index += 2
            default: return
            }
        }
    }

    // MARK: - Errors

    func failure(_ message: String, at offset: Int? = nil) -> TOMLFailure {
        TOMLFailure(offset: offset ?? index, message: message)
    }

    /// The 1-based line of a byte offset.
    func lineNumber(at offset: Int) -> Int {
        var line = 1
        for byte in bytes[..<min(max(offset, 0), bytes.count)] where byte == TOMLByte.lineFeed { line += 1 }
        return line
    }

    func syntaxError(for failure: TOMLFailure) -> TOMLSyntaxError {
        let offset = min(max(failure.offset, 0), bytes.count)
        var lineStart = offset
        while lineStart > 0 && bytes[lineStart - 1] != TOMLByte.lineFeed { lineStart -= 1 }
        // Columns count scalars: every byte except UTF-8 continuation bytes starts one.
        var column = 1
        for byte in bytes[lineStart..<offset] where byte & 0xC0 != 0x80 { column += 1 }
        return TOMLSyntaxError(line: lineNumber(at: offset), column: column, message: failure.message)
    }

    /// Names the character at `offset` for a message, without quoting more than that character.
    func describe(at offset: Int) -> String {
        guard let byte = byte(at: offset) else { return "end of file" }
        switch byte {
        case TOMLByte.lineFeed: return "end of line"
        case TOMLByte.carriageReturn:
            return self.byte(at: offset + 1) == TOMLByte.lineFeed ? "end of line" : "a carriage return (U+000D)"
        case TOMLByte.space: return "a space"
        case TOMLByte.tab: return "a tab"
        case 0x21...0x7E: return "'\(Character(Unicode.Scalar(byte)))'"
        case 0..<0x20, 0x7F: return "control character \(Self.codePoint(UInt32(byte)))"
        default: return "character \(Self.codePoint(scalarValue(at: offset)))"
        }
    }

    /// Decodes the scalar starting at a UTF-8 lead byte (the input came from a `String`, so it is valid).
    private func scalarValue(at offset: Int) -> UInt32 {
        let lead = bytes[offset]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        var value = UInt32(lead) & (length == 4 ? 0x07 : length == 3 ? 0x0F : 0x1F)
        for next in (offset + 1)..<min(offset + length, bytes.count) {
            value = (value << 6) | (UInt32(bytes[next]) & 0x3F)
        }
        return value
    }

    static func codePoint(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    // MARK: - Rendering keys in messages

    /// A key path as TOML would write it: bare parts as they are, others as quoted strings.
    static func render(_ parts: [TOMLKeyPart]) -> String {
        render(names: parts.map(\.name))
    }

    static func render(names: [String]) -> String {
        names.map { name in
            if !name.isEmpty && name.utf8.allSatisfy(TOMLByte.isBareKey) { return name }
            var quoted = "\""
            for scalar in name.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                    quoted += "\\u" + String(codePoint(scalar.value).dropFirst(2))
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        }.joined(separator: ".")
    }

    /// A key for a message: `"a.b"` when every part is bare, else the TOML spelling (`a."x.y"`).
    static func quotedForMessage(_ parts: [TOMLKeyPart]) -> String {
        quotedForMessage(names: parts.map(\.name))
    }

    static func quotedForMessage(names: [String]) -> String {
        let rendered = render(names: names)
        return rendered.contains("\"") ? rendered : "\"\(rendered)\""
    }
}

/// The bytes the grammar names.
enum TOMLByte {
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let apostrophe: UInt8 = 0x27
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let equals: UInt8 = 0x3D
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }

    /// A-Z a-z 0-9 - _
    static func isBareKey(_ byte: UInt8) -> Bool {
        isLetter(byte) || isDigit(byte) || byte == minus || byte == underscore
    }
}
