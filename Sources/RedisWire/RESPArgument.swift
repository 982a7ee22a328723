import NIOCore
import SessionGateShared

/// One argument of a command, sent as a RESP bulk string. Strings, integers, byte arrays and
/// `ByteBuffer`s all convert, so `["SET", key, 42]` reads naturally.
public struct RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(_ number: some BinaryInteger) { self.bytes = Array(String(number).utf8) }
    public init(_ buffer: ByteBuffer) { self.bytes = Array(buffer.readableBytesView) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }

    /// The argument as UTF-8 text (for routing and command names).
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Writes commands in the form servers accept from clients: an array of bulk strings.
public enum RESPCommandEncoder {
    /// Appends `arguments` as one command. The length is worked out first and the bytes are
    /// copied into the buffer in one write (a `ByteBuffer` write per piece cost a session load
    /// about 1 µs: five writes for each of HMGET's 13 arguments).
    public static func encode(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        let length = encodedLength(arguments)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            var at = writeHeader(UInt8(ascii: "*"), arguments.count, into: out, at: 0)
            for argument in arguments {
                at = writeHeader(UInt8(ascii: "$"), argument.bytes.count, into: out, at: at)
                argument.bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[at...]).copyMemory(from: $0) }
                at += argument.bytes.count
                at = writeLineEnd(into: out, at: at)
            }
            precondition(at == length, "RESP command length worked out wrong")
            return at
        }
    }

    /// How many bytes `encode` writes for `arguments` (a buffer of exactly this capacity never
    /// grows while they are written).
    public static func encodedLength(_ arguments: [RESPArgument]) -> Int {
        var length = headerLength(arguments.count)
        for argument in arguments { length += headerLength(argument.bytes.count) + argument.bytes.count + 2 }
        return length
    }

    /// Bytes of `<type><count>\r\n`.
    static func headerLength(_ count: Int) -> Int {
        var digits = 1
        var rest = count
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return 1 + digits + 2
    }

    /// `<type><count>\r\n` at `start`, the digits written in place (no `String` per argument);
    /// returns where it ends.
    private static func writeHeader(_ type: UInt8, _ count: Int, into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        precondition(count >= 0, "a RESP count is never negative")
        out[start] = type
        let end = ASCIIDecimal.withDigits(of: UInt64(count)) { digits in
            UnsafeMutableRawBufferPointer(rebasing: out[(start + 1)...]).copyMemory(from: digits)
            return start + 1 + digits.count
        }
        return writeLineEnd(into: out, at: end)
    }

    private static func writeLineEnd(into out: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        out[start] = UInt8(ascii: "\r")
        out[start + 1] = UInt8(ascii: "\n")
        return start + 2
    }
}
