import SessionGateCore

/// The session cookie a connection presented last, with the ticket it opened to: a memo, so that
/// a keep-alive connection (a browser's, an API client's) that sends the same cookie on every
/// request does not pay for opening it again (base64, then AES-GCM with a fresh key schedule
/// inside swift-crypto: the largest per-request cost of a session route after the system calls).
///
/// Opening is a pure function of the cookie value, the cookie's name and the key ring, and the
/// memo holds exactly that: a hit needs the same configuration generation (`ProxyRuntime`, which
/// owns the key ring and the name; remembered by its process-unique `generation`, so a
/// connection never keeps a replaced runtime alive) and the same single value, compared in
/// constant time. So a reload that drops a key
/// stops the cookie on the next request of an open connection, and a tampered value never matches.
/// Only values that opened are kept (a stream of bad cookies costs what it cost before), only
/// when the request carried exactly one session cookie, and only up to `maxValueBytes`, so an idle
/// connection holds at most that much.
///
/// What the memo saves is not the session: the store is asked on every request, as before.
struct OpenedCookie {
    /// Longer values (the cookie store's, which carry the session) are opened every time.
    static let maxValueBytes = 512

    /// `ProxyRuntime.generation` of the runtime that opened `value`; 0 is never one.
    private var generation: UInt64 = 0
    private var value: [UInt8] = []
    private var ticket = SessionTicket([])

    /// The ticket in the first of `values` that opens, as `SessionFlow.openTicket` answers it;
    /// from the memo when `values` is the one value opened last under `runtime`.
    mutating func ticket(
        for values: [Substring], runtime: ProxyRuntime,
        open: ([Substring], ProxyRuntime) -> SessionTicket? = SessionFlow.openTicket(cookieValues:runtime:)
    ) -> SessionTicket? {
        guard values.count == 1, values[0].utf8.count <= Self.maxValueBytes else {
            return open(values, runtime)
        }
        if generation == runtime.generation, holds(values[0]) {
            return ticket
        }
        guard let opened = open(values, runtime) else { return nil }
        generation = runtime.generation
        value.removeAll(keepingCapacity: true)
        value.append(contentsOf: values[0].utf8)
        // An id's store digest is worked out once here, not on each request that loads it.
        ticket = opened.bytes.count == SessionID.byteCount ? SessionTicket(precomputingDigestOf: opened.bytes) : opened
        return ticket
    }

    /// The memo's ticket when `presented` — the request's only session cookie value, read in
    /// place from the head — is the value it opened last under `runtime`; nil otherwise, and the
    /// caller goes the way of `ticket(for:runtime:)`. The same hit as there, without making the
    /// value a `String` first.
    func ticket(ifHolding presented: UnsafeRawBufferPointer, runtime: ProxyRuntime) -> SessionTicket? {
        guard generation == runtime.generation, presented.count <= Self.maxValueBytes, holds(presented) else { return nil }
        return ticket
    }

    /// Whether `presented` is the memo's value, compared in constant time (`ConstantTime`): a
    /// connection that carries several users' requests (a load balancer's) learns nothing about
    /// another user's cookie from how long a comparison took.
    func holds(_ presented: UnsafeRawBufferPointer) -> Bool {
        value.withUnsafeBufferPointer { ConstantTime.equal($0, presented.assumingMemoryBound(to: UInt8.self)) }
    }

    /// `holds` of a value read as a `String`.
    func holds(_ presented: Substring) -> Bool {
        var presented = presented
        return presented.withUTF8 { holds(UnsafeRawBufferPointer($0)) }
    }
}
