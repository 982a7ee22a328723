import NIOCore
import NIOHTTP1
import SessionGateCore

/// HTTP/1.1 message heads and chunked framing written straight into `ByteBuffer`s. The data plane
/// builds its outgoing heads while it filters the incoming ones, so no `HTTPHeaders` value is
/// built only to be encoded again, and no encoder handler sits in the pipeline. Every name and
/// value written here comes from a parsed head (already valid) or from the proxy itself
/// (constants, and session values checked for control characters by `ForwardedRequest`).
enum HTTPWire {
    private static let crlf: StaticString = "\r\n"

    /// `HTTP/1.x 200 OK\r\n`
    static func writeStatusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus, into buffer: inout ByteBuffer) {
        buffer.writeStaticString(version.minor == 0 && version.major == 1 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString(crlf)
    }

    /// `Name: value\r\n`
    static func writeHeader(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        var name = name
        name.withUTF8 { writeField(UnsafeRawBufferPointer($0), value, into: &buffer) }
    }

    /// `Name: value\r\n` with a static name.
    static func writeHeader(_ name: StaticString, _ value: String, into buffer: inout ByteBuffer) {
        name.withUTF8Buffer { writeField(UnsafeRawBufferPointer($0), value, into: &buffer) }
    }

    /// `Name: value\r\n` with a name read in place, copied in one step (one capacity check, one
    /// exclusivity check, instead of four of each).
    static func writeField(_ name: UnsafeRawBufferPointer, _ value: String, into buffer: inout ByteBuffer) {
        var value = value
        value.withUTF8 { writeField(name, UnsafeRawBufferPointer($0), into: &buffer) }
    }

    /// `Name: value\r\n` from bytes (a field of a parsed head, copied as it came).
    static func writeField(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        let valueStart = name.count + 2
        let valueEnd = valueStart + value.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: valueEnd + 2) { out in
            UnsafeMutableRawBufferPointer(rebasing: out[0..<name.count]).copyMemory(from: name)
            out[name.count] = UInt8(ascii: ":")
            out[name.count + 1] = UInt8(ascii: " ")
            UnsafeMutableRawBufferPointer(rebasing: out[valueStart..<valueEnd]).copyMemory(from: value)
            out[valueEnd] = UInt8(ascii: "\r")
            out[valueEnd + 1] = UInt8(ascii: "\n")
            return valueEnd + 2
        }
    }

    /// The field at `field` of a parsed head's `bytes`, as `Name: value\r\n`.
    static func writeField(_ field: RequestHeadLayout.Field, of bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        writeField(UnsafeRawBufferPointer(rebasing: bytes[field.name]), UnsafeRawBufferPointer(rebasing: bytes[field.value]), into: &buffer)
    }

    /// The blank line that ends a head.
    static func endHead(into buffer: inout ByteBuffer) {
        buffer.writeStaticString(crlf)
    }

    /// Bodies up to this size are copied into one framed buffer; larger ones are written as
    /// three buffers (size line, the body itself, CRLF) so they are never copied.
    static let chunkCopyLimit = 2048

    /// One chunk of a chunked body; an empty body writes nothing (an empty chunk would end it).
    static func writeChunk(_ body: ByteBuffer, allocator: ByteBufferAllocator, write: (ByteBuffer) -> Void) {
        let size = body.readableBytes
        guard size > 0 else { return }
        let sizeLine = String(size, radix: 16)
        if size <= chunkCopyLimit {
            var framed = allocator.buffer(capacity: size + sizeLine.utf8.count + 4)
            framed.writeString(sizeLine)
            framed.writeStaticString(crlf)
            var body = body
            framed.writeBuffer(&body)
            framed.writeStaticString(crlf)
            write(framed)
        } else {
            var line = allocator.buffer(capacity: sizeLine.utf8.count + 2)
            line.writeString(sizeLine)
            line.writeStaticString(crlf)
            write(line)
            write(body)
            var end = allocator.buffer(capacity: 2)
            end.writeStaticString(crlf)
            write(end)
        }
    }

    /// The last chunk with an empty trailer section (trailers are never forwarded).
    static func lastChunk(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5)
        buffer.writeStaticString("0\r\n\r\n")
        return buffer
    }
}
