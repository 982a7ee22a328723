import NIOCore

/// Why bytes from the server are not RESP. Never quotes the bytes.
public struct RESPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case invalidTypeByte = "unknown type byte"
        case invalidInteger = "invalid integer"
        case invalidLength = "invalid length"
        case missingCRLF = "missing CRLF"
        case lineTooLong = "line too long"
        case bulkTooLong = "bulk string longer than the limit"
        case aggregateTooLong = "aggregate longer than the limit"
        case tooDeep = "nesting deeper than the limit"
        case invalidDouble = "invalid double"
        case invalidBoolean = "invalid boolean"
        case invalidNull = "invalid null"
        case invalidVerbatim = "invalid verbatim string"
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String { "invalid RESP from server: \(code.rawValue)" }
}

/// Decodes RESP2 and RESP3 values from a byte stream that may arrive cut at any byte.
///
/// A value is returned only once all of its bytes are there; until then nothing is consumed.
/// Every size a peer announces is checked against `Limits` before any memory is reserved.
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    /// Bounds on what a server may send.
    public struct Limits: Sendable, Hashable {
        /// Longest bulk, blob-error or verbatim string.
        public var maxBulkLength: Int
        /// Most elements in one array, set or push (pairs in a map).
        public var maxAggregateCount: Int
        /// Deepest nesting of aggregates (a scalar is depth 0).
        public var maxDepth: Int
        /// Longest simple string, error, number or header line.
        public var maxLineLength: Int

        public init(
            maxBulkLength: Int = 64 << 20, maxAggregateCount: Int = 1 << 20, maxDepth: Int = 32,
            maxLineLength: Int = 64 << 10
        ) {
            self.maxBulkLength = maxBulkLength
            self.maxAggregateCount = maxAggregateCount
            self.maxDepth = maxDepth
            self.maxLineLength = maxLineLength
        }
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var parser = Parser(buffer: buffer, index: buffer.readerIndex, limits: limits)
        guard let value = try parser.value(depth: 0) else { return nil }
        buffer.moveReaderIndex(to: parser.index)
        return value
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        // A value cut off by EOF is simply lost: the connection is closing and its commands fail.
        try decode(buffer: &buffer)
    }
}

/// A read-only cursor: returns nil (and is then discarded) when the value is incomplete.
private struct Parser {
    let buffer: ByteBuffer
    var index: Int
    let limits: RESPDecoder.Limits

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    mutating func value(depth: Int) throws(RESPDecodingError) -> RESPValue? {
        guard let type = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        index += 1
        switch type {
        case UInt8(ascii: "+"):
            return try line().map { .simpleString(text($0)) }
        case UInt8(ascii: "-"):
            return try line().map { .error(text($0)) }
        case UInt8(ascii: ":"):
            guard let range = try line() else { return nil }
            return .integer(try integer(range))
        case UInt8(ascii: "$"):
            return try blob { .bulkString($0) }
        case UInt8(ascii: "!"):
            return try blob { .error(String(buffer: $0)) }
        case UInt8(ascii: "="):
            return try blob { (payload) throws(RESPDecodingError) -> RESPValue in
                guard payload.readableBytes >= 4, payload.getInteger(at: payload.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":")
                else { throw RESPDecodingError(.invalidVerbatim) }
                let format = payload.getString(at: payload.readerIndex, length: 3) ?? ""
                return .verbatimString(
                    format: format, text: payload.getSlice(at: payload.readerIndex + 4, length: payload.readableBytes - 4)!)
            }
        case UInt8(ascii: "_"):
            guard let range = try line() else { return nil }
            guard range.isEmpty else { throw RESPDecodingError(.invalidNull) }
            return .null
        case UInt8(ascii: ","):
            guard let range = try line() else { return nil }
            return .double(try double(range))
        case UInt8(ascii: "#"):
            guard let range = try line() else { return nil }
            switch text(range) {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw RESPDecodingError(.invalidBoolean)
            }
        case UInt8(ascii: "("):
            guard let range = try line() else { return nil }
            let digits = text(range)
            let unsigned = digits.hasPrefix("-") || digits.hasPrefix("+") ? digits.dropFirst() : Substring(digits)
            guard !unsigned.isEmpty, unsigned.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw RESPDecodingError(.invalidInteger)
            }
            return .bigNumber(digits)
        case UInt8(ascii: "*"):
            return try aggregate(depth: depth) { .array($0) }
        case UInt8(ascii: "~"):
            return try aggregate(depth: depth) { .set($0) }
        case UInt8(ascii: ">"):
            return try aggregate(depth: depth) { .push($0) }
        case UInt8(ascii: "%"):
            return try aggregate(depth: depth, pairs: true) { elements in
                .map(
                    stride(from: 0, to: elements.count, by: 2).map {
                        RESPMapEntry(key: elements[$0], value: elements[$0 + 1])
                    })
            }
        case UInt8(ascii: "|"):
            // Attributes annotate the value that follows; nothing here uses them.
            guard try aggregate(depth: depth, pairs: true, { .array($0) }) != nil else { return nil }
            return try value(depth: depth)
        default:
            throw RESPDecodingError(.invalidTypeByte)
        }
    }

    /// The content range of the line at `index`, moving past its CRLF; nil when incomplete.
    private mutating func line() throws(RESPDecodingError) -> Range<Int>? {
        let end = buffer.writerIndex
        let limit = min(end, index + limits.maxLineLength + 2)
        var cursor = index
        while cursor < limit {
            if buffer.getInteger(at: cursor, as: UInt8.self) == Parser.lf {
                guard cursor > index, buffer.getInteger(at: cursor - 1, as: UInt8.self) == Parser.cr else {
                    throw RESPDecodingError(.missingCRLF)
                }
                let range = index..<(cursor - 1)
                index = cursor + 1
                return range
            }
            cursor += 1
        }
        if limit < end || end - index > limits.maxLineLength + 2 { throw RESPDecodingError(.lineTooLong) }
        return nil
    }

    private func text(_ range: Range<Int>) -> String {
        buffer.getString(at: range.lowerBound, length: range.count) ?? ""
    }

    /// The integer of a `:` line or a length header, read from the bytes in place (a reply has
    /// one header per element: a `String` for each cost a session load more than its parsing).
    private func integer(_ range: Range<Int>) throws(RESPDecodingError) -> Int64 {
        let number = buffer.withUnsafeReadableBytes { bytes in
            RESPDecimal.parse(
                UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound - buffer.readerIndex)..<(range.upperBound - buffer.readerIndex)]))
        }
        guard let number else { throw RESPDecodingError(.invalidInteger) }
        return number
    }

    private func double(_ range: Range<Int>) throws(RESPDecodingError) -> Double {
        switch text(range) {
        case "inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        case let spelled:
            guard let number = Double(spelled) else { throw RESPDecodingError(.invalidDouble) }
            return number
        }
    }

    /// A length-prefixed string (`$`, `!`, `=`); length -1 is RESP2's null.
    private mutating func blob(
        _ make: (ByteBuffer) throws(RESPDecodingError) -> RESPValue
    ) throws(RESPDecodingError) -> RESPValue? {
        guard let header = try line() else { return nil }
        let length = try integer(header)
        if length == -1 { return .null }
        guard length >= 0 else { throw RESPDecodingError(.invalidLength) }
        guard length <= limits.maxBulkLength else { throw RESPDecodingError(.bulkTooLong) }
        let count = Int(length)
        guard buffer.writerIndex - index >= count + 2 else { return nil }
        guard buffer.getInteger(at: index + count, as: UInt8.self) == Parser.cr,
            buffer.getInteger(at: index + count + 1, as: UInt8.self) == Parser.lf
        else { throw RESPDecodingError(.missingCRLF) }
        let payload = buffer.getSlice(at: index, length: count)!
        index += count + 2
        return try make(payload)
    }

    /// A counted aggregate (`*`, `~`, `>`, `%`, `|`); count -1 is RESP2's null array.
    private mutating func aggregate(
        depth: Int, pairs: Bool = false, _ make: ([RESPValue]) -> RESPValue
    ) throws(RESPDecodingError) -> RESPValue? {
        guard let header = try line() else { return nil }
        let count = try integer(header)
        if count == -1, !pairs { return .null }
        guard count >= 0 else { throw RESPDecodingError(.invalidLength) }
        guard count <= limits.maxAggregateCount else { throw RESPDecodingError(.aggregateTooLong) }
        guard depth < limits.maxDepth else { throw RESPDecodingError(.tooDeep) }
        let total = Int(count) * (pairs ? 2 : 1)
        var elements: [RESPValue] = []
        elements.reserveCapacity(min(total, 1024))
        for _ in 0..<total {
            guard let element = try value(depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return make(elements)
    }
}

/// Decimal integers as RESP spells them, parsed from bytes (the decoder's headers and `:`
/// values; the session store's numeric hash fields).
public enum RESPDecimal {
    /// What `Int64(String(decoding: bytes, as: UTF8.self))` answers: an optional `+` or `-`, then
    /// one or more ASCII digits and nothing else, within `Int64`; nil otherwise.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard let first = bytes.first else { return nil }
        let negative = first == UInt8(ascii: "-")
        var index = negative || first == UInt8(ascii: "+") ? 1 : 0
        guard index < bytes.count else { return nil }
        // Accumulated as a negative number, so Int64.min (one more than Int64.max) fits.
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowB) = shifted.subtractingReportingOverflow(Int64(digit))
            guard !overflowA, !overflowB else { return nil }
            value = next
            index += 1
        }
        if negative { return value }
        let (positive, overflow) = value.multipliedReportingOverflow(by: -1)
        return overflow ? nil : positive
    }
}
