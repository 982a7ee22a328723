import NIOCore
import Testing

@testable import SessionGateProxy

/// The read loop both handlers decode through: bytes left unread wait for the next read, and a
/// read that arrives while one is being decoded (a reentrant `channelRead`) is decoded by the
/// running loop, after what came before it.
@Suite struct PendingBytesTests {
    /// Consumes whole lines ("x\n"), leaves a partial one.
    private func lines(_ buffer: inout ByteBuffer, into seen: inout [String]) {
        while let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = end - buffer.readerIndex + 1
            seen.append(buffer.readString(length: length)!)
        }
    }

    @Test func unreadBytesWaitAndReentrantReadsJoinTheRunningLoop() {
        let pending = PendingBytes()
        var seen: [String] = []
        pending.read(ByteBuffer(string: "a\nb")) { lines(&$0, into: &seen) }
        #expect(seen == ["a\n"])
        var reentered = false
        pending.read(ByteBuffer(string: "\nc")) { buffer in
            lines(&buffer, into: &seen)
            if !reentered {
                reentered = true
                pending.read(ByteBuffer(string: "\nd\ne")) { _ in Issue.record("decoded reentrantly") }
            }
        }
        #expect(seen == ["a\n", "b\n", "c\n", "d\n"])
        #expect(pending.takeAll().map { String(buffer: $0) } == "e")
        #expect(pending.takeAll() == nil)
    }
}
