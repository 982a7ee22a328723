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
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let id: UInt64
        let promise: EventLoopPromise<RESPValue>
    }

    private var stateMachine = RedisConnectionStateMachine<Pending>()
    private let processor: NIOSingleStepByteToMessageProcessor<RESPDecoder>
    private let logger: Logger
    private var nextID: UInt64 = 0
    /// Reply deadlines of queued commands, by command id.
    private var timers: [UInt64: Scheduled<Void>] = [:]
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
        for replyPromise in request.promises {
            nextID &+= 1
            let pending = Pending(id: nextID, promise: replyPromise)
            switch stateMachine.send(pending) {
            case .fail(let error):
                replyPromise.fail(error)
            case .write:
                accepted = true
                if let timeout = request.timeout {
                    timers[pending.id] = scheduleTimeout(id: pending.id, after: timeout, context: context)
                }
            }
        }
        if accepted {
            context.write(wrapOutboundOut(request.encoded), promise: promise)
        } else {
            promise?.fail(RedisError(.connectionClosed, "connection is closed"))
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
            timers.removeValue(forKey: pending.id)?.cancel()
            pending.promise.succeed(reply)
        case .ignore:
            logger.trace("ignored out-of-band redis value", metadata: ["shape": "\(value)"])
        case .close(let error, let failing):
            for pending in failing { fail(pending, error) }
            context.close(promise: nil)
        }
    }

    private func scheduleTimeout(id: UInt64, after timeout: TimeAmount, context: ChannelHandlerContext)
        -> Scheduled<Void>
    {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: timeout) {
            bound.value.timedOut(id: id, after: timeout)
        }
    }

    private func timedOut(id: UInt64, after timeout: TimeAmount) {
        timers[id] = nil
        guard stateMachine.contains(where: { $0.id == id }), let context else { return }
        let milliseconds = timeout.nanoseconds / 1_000_000
        let failing = stateMachine.fail(RedisError(.connectionClosed, "connection closed after a command timed out"))
        for pending in failing {
            if pending.id == id {
                fail(pending, RedisError(.timeout, "no reply within \(milliseconds) ms"))
            } else {
                fail(pending, RedisError(.connectionClosed, "connection closed after a command timed out"))
            }
        }
        context.close(promise: nil)
    }

    private func fail(_ pending: Pending, _ error: RedisError) {
        timers.removeValue(forKey: pending.id)?.cancel()
        pending.promise.fail(error)
    }

    private func failAll(_ error: RedisError) {
        for pending in stateMachine.fail(error) { fail(pending, error) }
    }

    private func closeWith(_ error: RedisError, context: ChannelHandlerContext) {
        failAll(error)
        context.close(promise: nil)
    }
}
