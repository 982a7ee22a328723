import NIOCore

/// The request/reply bookkeeping of one connection, free of I/O so it can be tested alone.
///
/// Redis answers commands in the order it receives them, so in-flight commands wait in a FIFO and
/// each non-push reply completes the oldest. Once the connection fails, every queued and every
/// later command is handed back to be failed: nothing waits for a reply that cannot come.
struct RedisConnectionStateMachine<Pending> {
    private enum State {
        case open(CircularBuffer<Pending>)
        case closed(RedisError)
    }

    private var state: State = .open(CircularBuffer())

    enum SendAction {
        /// Queued: write the command to the socket.
        case write
        /// The connection is gone: fail the command with this error.
        case fail(RedisError)
    }

    enum ReceiveAction {
        case complete(Pending, RESPValue)
        /// Out-of-band data (RESP3 push) or a straggler after close.
        case ignore
        /// The server broke the protocol: fail these and close the channel.
        case close(RedisError, failing: [Pending])
    }

    var isOpen: Bool {
        if case .open = state { return true }
        return false
    }

    var pendingCount: Int {
        if case .open(let queue) = state { return queue.count }
        return 0
    }

    func contains(where predicate: (Pending) -> Bool) -> Bool {
        if case .open(let queue) = state { return queue.contains(where: predicate) }
        return false
    }

    /// The commands waiting for a reply, oldest first (none once closed).
    var pending: CircularBuffer<Pending> {
        if case .open(let queue) = state { return queue }
        return CircularBuffer()
    }

    mutating func send(_ pending: Pending) -> SendAction {
        switch state {
        case .open(var queue):
            state = .closed(RedisError(.protocolError, "unreachable"))  // drop the reference for CoW
            queue.append(pending)
            state = .open(queue)
            return .write
        case .closed(let error):
            return .fail(error)
        }
    }

    mutating func receive(_ value: RESPValue) -> ReceiveAction {
        guard case .open(var queue) = state else { return .ignore }
        if case .push = value { return .ignore }
        guard let oldest = queue.popFirst() else {
            let error = RedisError(.protocolError, "reply received with no command in flight")
            state = .closed(error)
            return .close(error, failing: [])
        }
        state = .open(queue)
        return .complete(oldest, value)
    }

    /// Closes the connection for good; returns the commands still waiting, to be failed.
    mutating func fail(_ error: RedisError) -> [Pending] {
        switch state {
        case .open(let queue):
            state = .closed(error)
            return Array(queue)
        case .closed:
            return []
        }
    }
}
