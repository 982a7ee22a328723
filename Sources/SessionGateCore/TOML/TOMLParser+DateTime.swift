/// Dates and times (RFC 3339 as TOML 1.0 restricts it): validated, but only their kind is kept.
extension TOMLDocumentParser {
    /// `dddd-` at the cursor: a local date, local date-time or offset date-time.
    func isDateAhead() -> Bool {
        digits(at: index, count: 4) != nil && byte(at: index + 4) == TOMLByte.minus
    }

    /// `dd:` at the cursor: a local time.
    func isTimeAhead() -> Bool {
        digits(at: index, count: 2) != nil && byte(at: index + 2) == TOMLByte.colon
    }

    /// `1979-05-27`, optionally followed by `T`, `t` or a space and a time, optionally followed by
    /// `Z`, `z` or `±HH:MM`.
    mutating func parseDateOrDateTime() throws(TOMLFailure) -> ConfigNode {
        let start = index
        guard let year = digits(at: index, count: 4), byte(at: index + 4) == TOMLByte.minus,
            let month = digits(at: index + 5, count: 2), byte(at: index + 7) == TOMLByte.minus,
            let day = digits(at: index + 8, count: 2)
        else {
            throw failure("invalid date: expected YYYY-MM-DD with two-digit month and day", at: start)
        }
        guard (1...12).contains(month) else { throw failure("invalid date: the month must be 01 to 12", at: start + 5) }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else {
            throw failure("invalid date: month \(month) of year \(year) has no day \(day)", at: start + 8)
        }
        index += 10
        let separator = current
        let hasTime =
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
            || (separator == TOMLByte.space && byte(at: index + 1).map(TOMLByte.isDigit) == true)
        guard hasTime else { return .other("date") }
        index += 1
        try parseTime(partOf: "date-time")
        switch current {
        case UInt8(ascii: "Z")?, UInt8(ascii: "z")?:
            index += 1
        case TOMLByte.plus?, TOMLByte.minus?:
            let offsetStart = index
            guard let hours = digits(at: index + 1, count: 2), byte(at: index + 3) == TOMLByte.colon,
                let minutes = digits(at: index + 4, count: 2)
            else {
                throw failure("invalid time-zone offset: expected +HH:MM or -HH:MM", at: offsetStart)
            }
            guard hours <= 23, minutes <= 59 else {
                throw failure("invalid time-zone offset: hours must be 00 to 23 and minutes 00 to 59", at: offsetStart)
            }
            index += 6
        default:
            break
        }
        return .other("date-time")
    }

    /// `07:32:00` or `00:32:00.999999`, without offset.
    mutating func parseLocalTime() throws(TOMLFailure) -> ConfigNode {
        try parseTime(partOf: "time")
        if let next = current,
            next == UInt8(ascii: "Z") || next == UInt8(ascii: "z") || next == TOMLByte.plus
                || next == TOMLByte.minus
        {
            throw failure("a local time cannot have a time-zone offset (only a date-time can)")
        }
        return .other("time")
    }

    /// `HH:MM:SS` with optional `.fraction`; seconds are required (TOML 1.0), 60 is accepted for
    /// leap seconds.
    private mutating func parseTime(partOf kind: String) throws(TOMLFailure) {
        let start = index
        guard let hour = digits(at: index, count: 2), byte(at: index + 2) == TOMLByte.colon,
            let minute = digits(at: index + 3, count: 2), byte(at: index + 5) == TOMLByte.colon,
            let second = digits(at: index + 6, count: 2)
        else {
            throw failure("invalid \(kind): expected a time HH:MM:SS with two-digit hours, minutes and seconds", at: start)
        }
        guard hour <= 23, minute <= 59, second <= 60 else {
            throw failure("invalid \(kind): hours must be 00 to 23, minutes 00 to 59 and seconds 00 to 60", at: start)
        }
        index += 8
        if current == TOMLByte.dot {
            index += 1
            guard let digit = current, TOMLByte.isDigit(digit) else {
                throw failure("invalid \(kind): expected a digit after the decimal point of the seconds")
            }
            while let digit = current, TOMLByte.isDigit(digit) { index += 1 }
        }
    }

    /// The value of exactly `count` ASCII digits at `offset`, or nil.
    private func digits(at offset: Int, count: Int) -> Int? {
        var value = 0
        for position in offset..<(offset + count) {
            guard let byte = byte(at: position), TOMLByte.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
