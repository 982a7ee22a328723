extension TOMLDocumentParser {
    /// An integer or float: the run of bytes that can belong to a number is read, then checked
    /// against the grammar. Messages never repeat the number (it may be a secret typed unquoted).
    mutating func parseNumber() throws(TOMLFailure) -> ConfigNode {
        let start = index
        while let byte = current, Self.isNumberByte(byte) { index += 1 }
        var reader = TOMLNumberReader(bytes: bytes, start: start, end: index)
        return try reader.read()
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        TOMLByte.isBareKey(byte) || byte == TOMLByte.dot || byte == TOMLByte.plus
    }
}

/// Checks one number token and computes its value.
private struct TOMLNumberReader {
    let bytes: [UInt8]
    let start: Int
    let end: Int
    var index: Int

    init(bytes: [UInt8], start: Int, end: Int) {
        self.bytes = bytes
        self.start = start
        self.end = end
        index = start
    }

    var current: UInt8? { index < end ? bytes[index] : nil }

    func failure(_ message: String, at offset: Int? = nil) -> TOMLFailure {
        TOMLFailure(offset: offset ?? index, message: message)
    }

    mutating func read() throws(TOMLFailure) -> ConfigNode {
        var isNegative = false
        let hasSign = current == TOMLByte.plus || current == TOMLByte.minus
        if hasSign {
            isNegative = current == TOMLByte.minus
            index += 1
        }
        if spells("inf") { return .double(isNegative ? -.infinity : .infinity) }
        if spells("nan") { return .double(isNegative ? -.nan : .nan) }
        guard let first = current, TOMLByte.isDigit(first) else {
            throw failure(hasSign ? "expected a digit, 'inf' or 'nan' after the sign" : "expected a value (strings must be quoted)")
        }
        if first == UInt8(ascii: "0"), index + 1 < end, let radix = Self.radix(prefix: bytes[index + 1]) {
            guard !hasSign else { throw failure("hexadecimal, octal and binary integers cannot have a sign", at: start) }
            index += 2
            return .integer(try readPrefixedInteger(radix: radix))
        }
        let integerStart = index
        try skipDigits(after: "", isDigit: TOMLByte.isDigit)
        if bytes[integerStart] == UInt8(ascii: "0") && index - integerStart > 1 {
            throw failure("leading zeros are not allowed in decimal numbers", at: integerStart)
        }
        var isFloat = false
        if current == TOMLByte.dot {
            isFloat = true
            index += 1
            try skipDigits(after: "the decimal point", isDigit: TOMLByte.isDigit)
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            if current == TOMLByte.plus || current == TOMLByte.minus { index += 1 }
            try skipDigits(after: "the exponent", isDigit: TOMLByte.isDigit)
        }
        guard index == end else {
            throw failure("invalid number: unexpected '\(Character(Unicode.Scalar(bytes[index])))'")
        }
        let digits = bytes[integerStart..<end].filter { $0 != TOMLByte.underscore }
        return isFloat
            ? .double(try floatValue(digits: digits, isNegative: isNegative))
            : .integer(try decimalValue(digits: digits, isNegative: isNegative))
    }

    /// Digits of one kind with single underscores between them; at least one digit.
    private mutating func skipDigits(after context: String, isDigit: (UInt8) -> Bool) throws(TOMLFailure) {
        guard let first = current, isDigit(first) else {
            let what = context.isEmpty ? "expected a digit" : "expected a digit after \(context)"
            throw failure(current == TOMLByte.underscore ? "\(what): an underscore must be between two digits" : what)
        }
        index += 1
        while let byte = current {
            if isDigit(byte) {
                index += 1
            } else if byte == TOMLByte.underscore {
                guard index + 1 < end, isDigit(bytes[index + 1]) else {
                    throw failure("an underscore in a number must be between two digits")
                }
                index += 2
            } else {
                return
            }
        }
    }

    private mutating func readPrefixedInteger(radix: Int64) throws(TOMLFailure) -> Int64 {
        let digitsStart = index
        let name = radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary"
        try skipDigits(after: "the \(name) prefix") { byte in
            guard let value = TOMLDocumentParser.hexValue(byte) else { return false }
            return Int64(value) < radix
        }
        guard index == end else {
            throw failure("invalid \(name) integer: unexpected '\(Character(Unicode.Scalar(bytes[index])))'")
        }
        var value: Int64 = 0
        for byte in bytes[digitsStart..<end] where byte != TOMLByte.underscore {
            let digit = Int64(TOMLDocumentParser.hexValue(byte) ?? 0)
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !overflow && !carry else { throw outOfRange() }
            value = sum
        }
        return value
    }

    /// Accumulates negatively so that -9223372036854775808 fits.
    private func decimalValue(digits: [UInt8], isNegative: Bool) throws(TOMLFailure) -> Int64 {
        var value: Int64 = 0
        for byte in digits {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.subtractingReportingOverflow(Int64(byte - 0x30))
            guard !overflow && !carry else { throw outOfRange() }
            value = sum
        }
        if isNegative { return value }
        let (positive, overflow) = Int64(0).subtractingReportingOverflow(value)
        guard !overflow else { throw outOfRange() }
        return positive
    }

    /// The grammar is already checked, so the standard library's correctly rounded conversion
    /// sees only digits, '.', 'e' and an exponent sign. Too large a magnitude becomes infinity.
    private func floatValue(digits: [UInt8], isNegative: Bool) throws(TOMLFailure) -> Double {
        guard let magnitude = Double(String(decoding: digits, as: UTF8.self)) else {
            throw failure("invalid floating-point number", at: start)
        }
        return isNegative ? -magnitude : magnitude
    }

    private func outOfRange() -> TOMLFailure {
        failure(
            "integer out of range: it must fit in 64 bits (-9223372036854775808 to 9223372036854775807)", at: start)
    }

    /// Whether the rest of the token is exactly `word`.
    private mutating func spells(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard end - index == count else { return false }
        let matched = word.withUTF8Buffer { buffer in buffer.indices.allSatisfy { bytes[index + $0] == buffer[$0] } }
        if matched { index = end }
        return matched
    }

    private static func radix(prefix: UInt8) -> Int64? {
        switch prefix {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }
}
