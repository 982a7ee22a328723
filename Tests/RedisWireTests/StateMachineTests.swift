import Testing

@testable import RedisWire

@Suite struct StateMachineTests {
    @Test func repliesCompleteCommandsInOrder() {
        var machine = RedisConnectionStateMachine<Int>()
        for id in 1...3 {
            guard case .write = machine.send(id) else { Issue.record("send \(id) refused"); return }
        }
        #expect(machine.pendingCount == 3)
        for id in 1...3 {
            guard case .complete(let completed, let value) = machine.receive(.integer(Int64(id * 10))) else {
                Issue.record("no completion")
                return
            }
            #expect(completed == id)
            #expect(value == .integer(Int64(id * 10)))
        }
        #expect(machine.pendingCount == 0)
    }

    @Test func pushValuesDoNotConsumeACommand() {
        var machine = RedisConnectionStateMachine<Int>()
        _ = machine.send(1)
        guard case .ignore = machine.receive(.push([.simpleString("invalidate")])) else {
            Issue.record("push consumed a command")
            return
        }
        guard case .complete(1, .simpleString("OK")) = machine.receive(.simpleString("OK")) else {
            Issue.record("reply lost")
            return
        }
    }

    @Test func unsolicitedReplyClosesTheConnection() {
        var machine = RedisConnectionStateMachine<Int>()
        guard case .close(let error, let failing) = machine.receive(.simpleString("OK")) else {
            Issue.record("expected close")
            return
        }
        #expect(error.code == .protocolError)
        #expect(failing.isEmpty)
        #expect(!machine.isOpen)
    }

    @Test func failureHandsBackEveryQueuedCommandAndRefusesNewOnes() {
        var machine = RedisConnectionStateMachine<Int>()
        _ = machine.send(1)
        _ = machine.send(2)
        #expect(machine.fail(RedisError(.connectionClosed, "gone")) == [1, 2])
        #expect(machine.fail(RedisError(.connectionClosed, "again")) == [])
        guard case .fail(let error) = machine.send(3) else {
            Issue.record("closed machine accepted a command")
            return
        }
        #expect(error.message == "gone")
        guard case .ignore = machine.receive(.integer(1)) else {
            Issue.record("closed machine completed a command")
            return
        }
    }
}
