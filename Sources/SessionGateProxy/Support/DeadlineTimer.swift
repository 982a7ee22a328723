import NIOCore

/// A deadline on one event loop that costs almost nothing to move. One task stays scheduled; when
/// it fires before the current deadline (the deadline moved later meanwhile), it re-arms itself
/// for the new one. Moving a deadline per request is then a field write, where `scheduleTask` +
/// `cancel` would allocate a task and a promise and insert into and search the loop's timer heap.
/// Only an earlier deadline than the pending task's re-schedules at once.
///
/// Time is the event loop's (`EventLoop.now`), so an `EmbeddedEventLoop` drives it in tests.
/// Not thread-safe: use it from its event loop only. Call `stop()` when the owner goes away (the
/// pending task holds the timer until it fires or is cancelled).
final class DeadlineTimer {
    private let eventLoop: any EventLoop
    private var onExpiry: (() -> Void)?
    private var deadline: NIODeadline?
    private var pendingFireTime: NIODeadline?
    private var pending: Scheduled<Void>?

    init(eventLoop: any EventLoop, onExpiry: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.onExpiry = onExpiry
    }

    /// Sets (or with `nil` clears) the deadline.
    func set(_ newDeadline: NIODeadline?) {
        deadline = newDeadline
        guard let newDeadline, onExpiry != nil else { return }
        if let fireTime = pendingFireTime, fireTime <= newDeadline { return }
        schedule(at: newDeadline)
    }

    /// Sets the deadline `amount` from now.
    func set(in amount: TimeAmount) { set(eventLoop.now + amount) }

    /// Clears the deadline, cancels the pending task and drops the expiry action for good.
    func stop() {
        deadline = nil
        onExpiry = nil
        pending?.cancel()
        pending = nil
        pendingFireTime = nil
    }

    private func schedule(at fireTime: NIODeadline) {
        pending?.cancel()
        pendingFireTime = fireTime
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        pending = eventLoop.scheduleTask(deadline: fireTime) { loopBound.value.fired() }
    }

    private func fired() {
        pending = nil
        pendingFireTime = nil
        guard let deadline else { return }
        if deadline > eventLoop.now {
            schedule(at: deadline)
        } else {
            self.deadline = nil
            onExpiry?()
        }
    }
}
