import NIOCore
import Testing

@testable import SessionGateProxy

/// The parts of a request that arrive before its upstream connection go out in arrival order.
@Suite struct PendingRequestPartsTests {
    private func drained(_ pending: inout PendingRequestParts) -> [String] {
        var seen: [String] = []
        pending.drain { part in
            switch part {
            case .head: seen.append("head")
            case .body(let buffer): seen.append(String(buffer: buffer))
            case .end: seen.append("end")
            }
        }
        return seen
    }

    @Test func bodyPiecesThenTheEndInArrivalOrder() {
        var pending = PendingRequestParts()
        pending.append(.body(ByteBuffer(string: "a")))
        pending.append(.body(ByteBuffer(string: "b")))
        pending.append(.end)
        #expect(drained(&pending) == ["a", "b", "end"])
        #expect(drained(&pending).isEmpty, "drained parts are forgotten")
    }

    @Test func aRequestWithoutBodyIsJustItsEnd() {
        var pending = PendingRequestParts()
        #expect(drained(&pending).isEmpty)
        pending.append(.end)
        #expect(drained(&pending) == ["end"])
    }

    @Test func removeAllForgetsPiecesAndTheEnd() {
        var pending = PendingRequestParts()
        pending.append(.body(ByteBuffer(string: "a")))
        pending.append(.end)
        pending.removeAll()
        #expect(drained(&pending).isEmpty)
        pending.append(.body(ByteBuffer(string: "c")))
        #expect(drained(&pending) == ["c"])
    }
}
