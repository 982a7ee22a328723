extension TOMLDocumentParser {
    /// Any value at the cursor. `depth` is the nesting level the value would occupy (an array or
    /// inline table deeper than the limit is refused); `context` names the value in messages.
    mutating func parseValue(depth: Int, for context: @autoclosure () -> String) throws(TOMLFailure) -> ConfigNode {
        guard let byte = current else { throw failure("expected a value for \(context()), found end of file") }
        switch byte {
        case TOMLByte.quote, TOMLByte.apostrophe:
            return .string(try parseString())
        case TOMLByte.openBracket:
            return try parseArray(depth: depth)
        case TOMLByte.openBrace:
            return try parseInlineTable(depth: depth)
        case UInt8(ascii: "t") where matches("true"):
            index += 4
            return .bool(true)
        case UInt8(ascii: "f") where matches("false"):
            index += 5
            return .bool(false)
        case _ where TOMLByte.isDigit(byte) && isDateAhead():
            return try parseDateOrDateTime()
        case _ where TOMLByte.isDigit(byte) && isTimeAhead():
            return try parseLocalTime()
        case _ where TOMLByte.isDigit(byte), TOMLByte.plus, TOMLByte.minus, UInt8(ascii: "i"), UInt8(ascii: "n"):
            return try parseNumber()
        default:
            let hint = TOMLByte.isLetter(byte) ? " (strings must be quoted)" : ""
            throw failure("expected a value for \(context()), found \(describe(at: index))\(hint)")
        }
    }

    /// Whether the bytes at the cursor spell `word`.
    func matches(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return word.withUTF8Buffer { buffer in
            buffer.indices.allSatisfy { bytes[index + $0] == buffer[$0] }
        }
    }

    /// `[ value, value, ]`: newlines and comments are allowed anywhere between the brackets,
    /// elements may have different types, a trailing comma is allowed.
    mutating func parseArray(depth: Int) throws(TOMLFailure) -> ConfigNode {
        let open = index
        try checkDepth(depth, at: open)
        index += 1
        var elements: [ConfigNode] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            guard let byte = current else {
                throw failure("unterminated array: expected ']' to close the array opened on line \(lineNumber(at: open))")
            }
            if byte == TOMLByte.closeBracket {
                index += 1
                return .array(elements)
            }
            if byte == TOMLByte.comma {
                throw failure("expected a value or ']' in the array, found ','")
            }
            elements.append(try parseValue(depth: depth + 1, for: "the array element"))
            try skipWhitespaceCommentsAndNewlines()
            switch current {
            case TOMLByte.comma?:
                index += 1
            case TOMLByte.closeBracket?:
                index += 1
                return .array(elements)
            case nil:
                throw failure("unterminated array: expected ']' to close the array opened on line \(lineNumber(at: open))")
            default:
                throw failure("expected ',' or ']' after an array element, found \(describe(at: index))")
            }
        }
    }

    /// `{ key = value, a.b = value }` on one line (values such as arrays may still span lines),
    /// no trailing comma; the table is complete at its closing brace.
    mutating func parseInlineTable(depth: Int) throws(TOMLFailure) -> ConfigNode {
        let open = index
        try checkDepth(depth, at: open)
        index += 1
        let table = TOMLTableBuilder(origin: .inline, depth: depth, definedAt: open)
        let section = newSectionID()
        skipWhitespace()
        if current == TOMLByte.closeBrace {
            index += 1
            return table.node()
        }
        while true {
            skipWhitespace()
            let key = try parseKey(expecting: "a key in the inline table")
            try expectEquals(after: key)
            let value = try parseValue(depth: depth + key.count, for: "key \(Self.quotedForMessage(key))")
            try assign(value, to: key, in: table, section: section, prefix: [])
            skipWhitespace()
            switch current {
            case TOMLByte.comma?:
                index += 1
                skipWhitespace()
                if current == TOMLByte.closeBrace {
                    throw failure("a trailing comma is not allowed in an inline table")
                }
            case TOMLByte.closeBrace?:
                index += 1
                return table.node()
            case TOMLByte.lineFeed?, TOMLByte.carriageReturn?:
                throw failure(
                    "an inline table must be closed with '}' on the line it starts (line \(lineNumber(at: open))); "
                        + "use a [table] for more lines")
            case nil:
                throw failure("unterminated inline table: expected '}' to close the table opened on line \(lineNumber(at: open))")
            default:
                throw failure(
                    "expected ',' or '}' after the value of key \(Self.quotedForMessage(key)), found \(describe(at: index))")
            }
        }
    }
}
