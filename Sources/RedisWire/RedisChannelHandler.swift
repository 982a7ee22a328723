import Logging
import NIOCore

/// Commands written to a `RedisChannelHandler` as one unit: encoded back to back and flushed
/// with one write (a pipeline), each completing its own promise in order.
struct RedisRequest: Sendable {
    var encoded: ByteBuffer
    var promises: [EventLoopPromise<RESPValue>]
    /// Per-command reply deadline; nil waits forever.
    var timeout: TimeAmount?
}

/// The only place that touches the channel: decodes replies, feeds the state machine and carries
/// out what it says. A command that times out closes the connection (as go-redis does): the
/// reply stream is no longer trustworthy, and a dead peer is found at once.
///
/// Two things keep the cost per command low when many run at once (the data plane loads one
/// session per request): flushes are deferred to the end of the event loop's current round, so
/// the commands of every request read in that round leave in one write (a pipeline the server
/// also reads at once); and reply deadlines share one timer, armed for the earliest deadline and
/// checked when it fires, instead of a scheduled task per command.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    /// Where a reply goes: a promise (commands written through the pipeline), or a callback
    /// (`send(_:timeout:completion:)`, called on the loop: no promise, future or pipeline hop).
    private enum Reply {
        case promise(EventLoopPromise<RESPValue>)
        /// An error reply arrives as `.failure(.server …)`.
        case callback((Result<RESPValue, RedisError>) -> Void)
    }

    private struct Pending {
        let id: UInt64
        let reply: Reply
        /// When the reply is overdue (nil: never).
        let deadline: NIODeadline?
        let timeout: TimeAmount?
    }

    private var stateMachine = RedisConnectionStateMachine<Pending>()
    private let processor: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private let logger: Logger
    private var nextID: UInt64 = 0
    /// The one reply-deadline timer, and the deadline it is armed for.
    private var timer: (task: Scheduled<Void>, deadline: NIODeadline)?
    /// A flush is scheduled for the end of the loop's current round.
    private var flushScheduled = false
    private var context: ChannelHandlerContext?

    init(limits: RESPDecoder.Limits, logger: Logger) {
        self.processor = NIOSingleStepByteToMessageProcessor(RESPDecoder(limits: limits))
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "connection handler removed"))
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var accepted = false
        let deadline = request.timeout.map { context.eventLoop.now + $0 }
        for replyPromise in request.promises {
            nextID &+= 1
            let pending = Pending(id: nextID, reply: .promise(replyPromise), deadline: deadline, timeout: request.timeout)
            switch stateMachine.send(pending) {
            case .fail(let error):
                replyPromise.fail(error)
            case .write:
                accepted = true
            }
        }
        if accepted, let deadline { armTimer(for: deadline, context: context) }
        if accepted {
            context.write(wrapOutboundOut(request.encoded), promise: promise)
        } else {
            promise?.fail(RedisError(.connectionClosed, "connection is closed"))
        }
    }

    /// Sends one encoded command from the loop itself, straight to the socket's write queue (the
    /// flush deferred like every other); `completion` runs once, on the loop — at once when the
    /// connection is already closed.
    func send(_ encoded: ByteBuffer, timeout: TimeAmount?, completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        guard let context else { return completion(.failure(RedisError(.connectionClosed, "connection is closed"))) }
        nextID &+= 1
        let deadline = timeout.map { context.eventLoop.now + $0 }
        let pending = Pending(id: nextID, reply: .callback(completion), deadline: deadline, timeout: timeout)
        switch stateMachine.send(pending) {
        case .fail(let error):
            fail(pending, error)
        case .write:
            if let deadline { armTimer(for: deadline, context: context) }
            context.write(wrapOutboundOut(encoded), promise: nil)
            flush(context: context)
        }
    }

    /// Deferred to the end of the loop's current round (`execute` from the loop runs after the
    /// I/O it is handling), so commands written meanwhile share one write.
    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            try processor.process(buffer: buffer) { value in
                handle(value, context: context)
            }
        } catch let error as RESPDecodingError {
            closeWith(RedisError(.protocolError, error.description), context: context)
        } catch {
            closeWith(RedisError(.protocolError, "undecodable reply"), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let detail = RedisTLSFailure.describeAfterHandshake(error) ?? "connection error: \(error)"
        closeWith(RedisError(.connectionClosed, detail), context: context)
    }

    // MARK: - Private

    private func handle(_ value: RESPValue, context: ChannelHandlerContext) {
        switch stateMachine.receive(value) {
        case .complete(let pending, let reply):
            switch pending.reply {
            case .promise(let promise): promise.succeed(reply)
            case .callback(let completion):
                if case .error(let message) = reply {
                    completion(.failure(RedisError(.server, message)))
                } else {
                    completion(.success(reply))
                }
            }
        case .ignore:
            logger.trace("ignored out-of-band redis value", metadata: ["shape": "\(value)"])
        case .close(let error, let failing):
            for pending in failing { fail(pending, error) }
            context.close(promise: nil)
        }
    }

    /// Makes sure the timer fires no later than `deadline`.
    private func armTimer(for deadline: NIODeadline, context: ChannelHandlerContext) {
        if let timer, timer.deadline <= deadline { return }
        timer?.task.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = (context.eventLoop.scheduleTask(deadline: deadline) { bound.value.timerFired() }, deadline)
    }

    /// Fails the connection if a queued command is overdue; otherwise re-arms for the earliest
    /// deadline still queued (replies that came in time need no timer work of their own).
    private func timerFired() {
        timer = nil
        guard let context else { return }
        let now = context.eventLoop.now
        var earliest: NIODeadline?
        for pending in stateMachine.pending {
            guard let deadline = pending.deadline else { continue }
            if deadline <= now { return timedOut(pending) }
            earliest = min(earliest ?? deadline, deadline)
        }
        if let earliest { armTimer(for: earliest, context: context) }
    }

    private func timedOut(_ overdue: Pending) {
        guard let context else { return }
        let milliseconds = (overdue.timeout?.nanoseconds ?? 0) / 1_000_000
        let failing = stateMachine.fail(RedisError(.connectionClosed, "connection closed after a command timed out"))
        for pending in failing {
            if pending.id == overdue.id {
                fail(pending, RedisError(.timeout, "no reply within \(milliseconds) ms"))
            } else {
                fail(pending, RedisError(.connectionClosed, "connection closed after a command timed out"))
            }
        }
        context.close(promise: nil)
    }

    private func fail(_ pending: Pending, _ error: RedisError) {
        switch pending.reply {
        case .promise(let promise): promise.fail(error)
        case .callback(let completion): completion(.failure(error))
        }
    }

    private func failAll(_ error: RedisError) {
        for pending in stateMachine.fail(error) { fail(pending, error) }
        timer?.task.cancel()
        timer = nil
    }

    private func closeWith(_ error: RedisError, context: ChannelHandlerContext) {
        failAll(error)
        context.close(promise: nil)
    }
}
