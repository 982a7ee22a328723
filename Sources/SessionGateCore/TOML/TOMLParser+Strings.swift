import SessionGateShared

extension TOMLDocumentParser {
    /// Any of the four string forms, the cursor on its first quote.
    mutating func parseString() throws(TOMLFailure) -> String {
        let quote = bytes[index]
        let isMultiLine = byte(at: index + 1) == quote && byte(at: index + 2) == quote
        switch (quote == TOMLByte.quote, isMultiLine) {
        case (true, false): return try parseBasicString()
        case (false, false): return try parseLiteralString()
        case (true, true): return try parseMultiLineString(quote: quote, allowsEscapes: true)
        case (false, true): return try parseMultiLineString(quote: quote, allowsEscapes: false)
        }
    }

    /// `"..."` with escapes, on one line.
    mutating func parseBasicString() throws(TOMLFailure) -> String {
        let open = index
        index += 1
        var text: [UInt8] = []
        while true {
            guard let byte = current else { throw unterminated(open: open, closing: "'\"'") }
            switch byte {
            case TOMLByte.quote:
                index += 1
                return String(decoding: text, as: UTF8.self)
            case TOMLByte.backslash:
                try parseEscape(into: &text)
            case TOMLByte.lineFeed, TOMLByte.carriageReturn:
                throw failure(
                    "expected '\"' before the end of the line: a single-line string cannot span lines (use \"\"\" for a multi-line string)")
            default:
                try checkStringByte(byte)
                text.append(byte)
                index += 1
            }
        }
    }

    /// `'...'`: no escapes, on one line.
    mutating func parseLiteralString() throws(TOMLFailure) -> String {
        let open = index
        index += 1
        let start = index
        while true {
            guard let byte = current else { throw unterminated(open: open, closing: "\"'\"") }
            switch byte {
            case TOMLByte.apostrophe:
                index += 1
                return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
            case TOMLByte.lineFeed, TOMLByte.carriageReturn:
                throw failure(
                    "expected \"'\" before the end of the line: a single-line string cannot span lines (use ''' for a multi-line string)")
            default:
                try checkStringByte(byte)
                index += 1
            }
        }
    }

    /// `"""..."""` (with escapes and line-ending backslashes) or `'''...'''`. A newline right
    /// after the opening delimiter is dropped; up to two quotes may precede the closing delimiter;
    /// CRLF is returned as LF.
    mutating func parseMultiLineString(quote: UInt8, allowsEscapes: Bool) throws(TOMLFailure) -> String {
        let open = index
        let delimiter = quote == TOMLByte.quote ? "'\"\"\"'" : "\"'''\""
        index += 3
        if current == TOMLByte.lineFeed {
            index += 1
        } else if current == TOMLByte.carriageReturn && byte(at: index + 1) == TOMLByte.lineFeed {
            index += 2
        }
        var text: [UInt8] = []
        while true {
            guard let byte = current else { throw unterminated(open: open, closing: delimiter) }
            switch byte {
            case quote:
                var run = 0
                while self.byte(at: index + run) == quote { run += 1 }
                if run >= 3 {
                    guard run <= 5 else {
                        throw failure(
                            "too many quotes in a row: at most two may appear right before the closing \(delimiter)", at: index + 5)
                    }
                    text.append(contentsOf: repeatElement(quote, count: run - 3))
                    index += run
                    return String(decoding: text, as: UTF8.self)
                }
                text.append(contentsOf: repeatElement(quote, count: run))
                index += run
            case TOMLByte.backslash where allowsEscapes:
                if try !skipLineEndingBackslash() { try parseEscape(into: &text) }
            case TOMLByte.lineFeed:
                text.append(TOMLByte.lineFeed)
                index += 1
            case TOMLByte.carriageReturn:
                guard self.byte(at: index + 1) == TOMLByte.lineFeed else {
                    throw failure("a carriage return must be followed by a line feed")
                }
                text.append(TOMLByte.lineFeed)
                index += 2
            default:
                try checkStringByte(byte)
                text.append(byte)
                index += 1
            }
        }
    }

    /// A backslash followed by optional spaces or tabs and a newline: skips it and all whitespace
    /// and newlines after it. Returns false, moving nothing, when the backslash starts an escape.
    private mutating func skipLineEndingBackslash() throws(TOMLFailure) -> Bool {
        var next = index + 1
        while let byte = byte(at: next), byte == TOMLByte.space || byte == TOMLByte.tab { next += 1 }
        let atNewline =
            byte(at: next) == TOMLByte.lineFeed
            || (byte(at: next) == TOMLByte.carriageReturn && byte(at: next + 1) == TOMLByte.lineFeed)
        guard atNewline else {
            if next > index + 1 {
                throw failure("a backslash followed by whitespace must be the last thing on its line (a line-ending backslash)")
            }
            return false
        }
        index = next
        while let byte = current {
            switch byte {
            case TOMLByte.space, TOMLByte.tab, TOMLByte.lineFeed:
                index += 1
            case TOMLByte.carriageReturn:
                guard self.byte(at: index + 1) == TOMLByte.lineFeed else {
                    throw failure("a carriage return must be followed by a line feed")
                }
                index += 2
            default:
                return true
            }
        }
        return true
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`; the escaped code point must be a Unicode scalar.
    mutating func parseEscape(into text: inout [UInt8]) throws(TOMLFailure) {
        let start = index
        index += 1
        guard let code = current else { throw failure("unterminated string: expected an escape after '\\'") }
        let simple: UInt8? =
            switch code {
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "t"): 0x09
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "r"): 0x0D
            case TOMLByte.quote: TOMLByte.quote
            case TOMLByte.backslash: TOMLByte.backslash
            default: nil
            }
        if let simple {
            text.append(simple)
            index += 1
            return
        }
        guard code == UInt8(ascii: "u") || code == UInt8(ascii: "U") else {
            let shown = code >= 0x21 && code <= 0x7E ? "'\\\(Character(Unicode.Scalar(code)))'" : "'\\' followed by \(describe(at: index))"
            throw failure(
                "invalid escape sequence \(shown); valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX and \\UXXXXXXXX",
                at: start)
        }
        let digits = code == UInt8(ascii: "u") ? 4 : 8
        index += 1
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = current, let digit = Self.hexValue(byte) else {
                throw failure(
                    "expected \(digits) hexadecimal digits after '\\\(Character(Unicode.Scalar(code)))', found \(describe(at: index))")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw failure(
                "escape \(Self.codePoint(value)) is not a Unicode scalar value "
                    + "(surrogates D800-DFFF and values above 10FFFF are not allowed)",
                at: start)
        }
        UTF8.encode(scalar) { text.append($0) }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? { ASCIIHex.value(byte) }

    /// Strings may hold tab and any non-control character; other control characters must be escaped.
    private func checkStringByte(_ byte: UInt8) throws(TOMLFailure) {
        guard byte == TOMLByte.tab || (byte >= 0x20 && byte != 0x7F) else {
            let escape = "\\u" + Self.codePoint(UInt32(byte)).dropFirst(2)
            throw failure("\(describe(at: index)) is not allowed in a string (write it as \(escape) in a basic string)")
        }
    }

    private func unterminated(open: Int, closing: String) -> TOMLFailure {
        failure("unterminated string: expected \(closing) to close the string opened on line \(lineNumber(at: open))")
    }
}
