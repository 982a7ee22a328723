import NIOCore
import Testing

@testable import RedisWire

/// Commands as bytes on the wire: an array of bulk strings with exact lengths.
@Suite struct RESPCommandEncoderTests {
    @Test func encodesEachArgumentAsABulkString() {
        #expect(encoded(["PING"]) == "*1\r\n$4\r\nPING\r\n")
        #expect(encoded(["SET", "k", 42]) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n")
        #expect(encoded(["GET", RESPArgument(bytes: [])]) == "*2\r\n$3\r\nGET\r\n$0\r\n\r\n")
    }

    /// Lengths and counts of every number of digits (0, 9, 10, 99, 100, 12345) are written in
    /// decimal, as `String(count)` writes them.
    @Test(arguments: [0, 1, 9, 10, 11, 99, 100, 999, 1000, 12345])
    func countsAndLengthsInDecimal(size: Int) {
        let argument = RESPArgument(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: size))
        let command = [RESPArgument](repeating: argument, count: max(size % 200, 1))
        var expected = "*\(command.count)\r\n"
        for _ in command { expected += "$\(size)\r\n" + String(repeating: "x", count: size) + "\r\n" }
        #expect(encoded(command) == expected)
        #expect(RESPCommandEncoder.encodedLength(command) == expected.utf8.count)
    }

    /// The length worked out before writing is the length written, for every number of digits.
    @Test func headerLengthsMatchTheirSpelling() {
        var number = 0
        for _ in 0..<18 {
            for n in [number, number + 1, max(number - 1, 0), number * 5] {
                #expect(RESPCommandEncoder.headerLength(n) == "$\(n)\r\n".utf8.count, "\(n)")
            }
            number = number == 0 ? 10 : number * 10
        }
        for n in [number - 1, number] {
            #expect(RESPCommandEncoder.headerLength(n) == "$\(n)\r\n".utf8.count, "\(n)")
        }
        #expect(RESPCommandEncoder.headerLength(Int.max) == "$\(Int.max)\r\n".utf8.count)
    }

    /// Commands are appended after what the buffer holds (a pipeline is one buffer).
    @Test func commandsAppendToTheBuffer() {
        var buffer = ByteBufferAllocator().buffer(capacity: 4)
        buffer.writeString("x")
        RESPCommandEncoder.encode(["GET", "k"], into: &buffer)
        RESPCommandEncoder.encode(["DEL", RESPArgument(bytes: [UInt8](repeating: 0x61, count: 300))], into: &buffer)
        #expect(
            String(buffer: buffer)
                == "x*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$3\r\nDEL\r\n$300\r\n" + String(repeating: "a", count: 300) + "\r\n")
    }

    private func encoded(_ command: [RESPArgument]) -> String {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        RESPCommandEncoder.encode(command, into: &buffer)
        return String(buffer: buffer)
    }
}
