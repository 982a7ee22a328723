/// Rejects, with a line and column, inputs on which toml++ (inside TOMLKit) stops the process on
/// an internal assertion instead of reporting a parse error (found by the FuzzTOML target; the
/// assertions are compiled into release builds too). Only input TOML itself forbids is refused.
enum TOMLPreflight {
    static func check(_ text: String) throws(TOMLSyntaxError) {
        var line = 1
        var column = 1
        var atLineStart = true
        // The last non-blank byte of the previous line: "," or "[" means this line continues an
        // array value, where "[" starts a nested array rather than a table header.
        var previousLineEnd: UInt8 = 0x0A
        var currentLineEnd: UInt8 = 0x0A
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            // TOML allows no control characters other than tab, LF and CR anywhere.
            if (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F {
                throw TOMLSyntaxError(line: line, column: column, message: "control character U+00\(hex(byte)) is not allowed in TOML")
            }
            if atLineStart, byte == UInt8(ascii: "["), previousLineEnd != UInt8(ascii: ","), previousLineEnd != UInt8(ascii: "[") {
                try checkHeader(bytes, from: index, line: line, column: column)
            }
            if byte == 0x0A {
                line += 1
                column = 1
                atLineStart = true
                if currentLineEnd != 0x0A { previousLineEnd = currentLineEnd }
                currentLineEnd = 0x0A
            } else {
                column += 1
                if byte != 0x20 && byte != 0x09 && byte != 0x0D {
                    atLineStart = false
                    currentLineEnd = byte
                }
            }
            index += 1
        }
    }

    /// A table header (`[` or `[[` at the start of a line that does not continue an array) must
    /// go on with a key: a bare-key character or a quote.
    private static func checkHeader(_ bytes: [UInt8], from start: Int, line: Int, column: Int) throws(TOMLSyntaxError) {
        var index = start + 1
        if index < bytes.count, bytes[index] == UInt8(ascii: "[") { index += 1 }
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 { index += 1 }
        let next = index < bytes.count ? bytes[index] : 0x0A
        let isKeyStart =
            (next >= 0x30 && next <= 0x39) || (next >= 0x41 && next <= 0x5A) || (next >= 0x61 && next <= 0x7A)
            || next == UInt8(ascii: "-") || next == UInt8(ascii: "_") || next == UInt8(ascii: "\"") || next == UInt8(ascii: "'")
        if !isKeyStart {
            throw TOMLSyntaxError(line: line, column: column, message: "a table header must name a table, like [server] or [[route]]")
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
