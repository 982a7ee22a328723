import NIOCore
import SessionGateCore

/// The durations of a client connection's timers.
struct ConnectionTimeouts {
    /// Between requests, and for a client that stops reading a response (the slow reader).
    var idle: TimeAmount
    /// From a head's first byte to its end (the slowloris defence).
    var header: TimeAmount
    /// Between two pieces of a request body, while the proxy reads.
    var body: TimeAmount
    /// After an upstream answered before the request body ended: how long the rest is drained.
    var linger: TimeAmount = .seconds(5)

    init(idle: TimeAmount, header: TimeAmount, body: TimeAmount = .seconds(60)) {
        self.idle = idle
        self.header = header
        self.body = body
    }
}

/// The four deadlines of a client connection, on its event loop: the connection's (idle or
/// header), the request body's, the slow reader's and the exchange's (store, response or
/// linger). Which run is the state machine's `timers`; this only arms them (each a
/// `DeadlineTimer`, cheap to move) and reports which one expired.
final class ConnectionTimers {
    enum Kind {
        case connection
        case body
        case stall
        case exchange
    }

    private let connection: DeadlineTimer
    private let body: DeadlineTimer
    private let stall: DeadlineTimer
    private let exchange: DeadlineTimer
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop, onExpiry: @escaping (Kind) -> Void) {
        self.eventLoop = eventLoop
        // Each timer holds the handler only through its expiry action, dropped by `stop()`.
        connection = DeadlineTimer(eventLoop: eventLoop) { onExpiry(.connection) }
        body = DeadlineTimer(eventLoop: eventLoop) { onExpiry(.body) }
        stall = DeadlineTimer(eventLoop: eventLoop) { onExpiry(.stall) }
        exchange = DeadlineTimer(eventLoop: eventLoop) { onExpiry(.exchange) }
    }

    /// Arms what `wanted` adds or restarts, and clears what it drops. The exchange's own
    /// durations (`[store] timeout`, `response_timeout`) come from the runtime it started with.
    func apply(
        _ wanted: ClientConnectionStateMachine.Timers, previous: ClientConnectionStateMachine.Timers, timeouts: ConnectionTimeouts,
        exchangeRuntime: ProxyRuntime?
    ) {
        if wanted.connection != previous.connection {
            switch wanted.connection {
            case .idle: connection.set(in: timeouts.idle)
            case .header: connection.set(in: timeouts.header)
            case .none: connection.set(nil)
            }
        }
        if wanted.body != previous.body {
            if wanted.body == nil { body.set(nil) } else { body.set(in: timeouts.body) }
        }
        if wanted.stall != previous.stall {
            if wanted.stall == nil { stall.set(nil) } else { stall.set(in: timeouts.idle) }
        }
        if wanted.exchange != previous.exchange {
            switch wanted.exchange {
            // The machine runs these only during an exchange, which always has its runtime.
            case .store: exchange.set(exchangeRuntime.map { eventLoop.now + $0.storeTimeout })
            case .response: exchange.set(exchangeRuntime.map { eventLoop.now + $0.responseTimeout })
            case .linger: exchange.set(in: timeouts.linger)
            case .none: exchange.set(nil)
            }
        }
    }

    func stop() {
        connection.stop()
        body.stop()
        stall.stop()
        exchange.stop()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
