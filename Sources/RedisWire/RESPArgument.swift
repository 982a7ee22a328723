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
    public static func encode(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.bytes.count, into: &buffer)
            buffer.writeBytes(argument.bytes)
            buffer.writeStaticString("\r\n")
        }
    }

    /// `<type><count>\r\n`, the digits written in place (no `String` per argument).
    private static func writeHeader(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        precondition(count >= 0, "a RESP count is never negative")
        buffer.writeInteger(type)
        ASCIIDecimal.withDigits(of: UInt64(count)) { _ = buffer.writeBytes($0) }
        buffer.writeStaticString("\r\n")
    }
}
