import SessionGateCore

/// The instants (and the idle window) a store may hand back, whatever its backend returned.
///
/// The data plane subtracts them from `now` (touch throttle, cookie `Max-Age`), so a value a
/// store did not write (a hand-edited row, another program's key, a server with other
/// semantics) must be refused before it can overflow that arithmetic: anything before 1970
/// or after the year 9999 is a malformed reply, never a session.
enum StoredTimes {
    /// 1970-01-01 ... 9999-12-31T23:59:59Z, in Unix seconds.
    static let range: ClosedRange<Int64> = 0...253_402_300_799

    /// True when every instant and the idle window are in `range`.
    static func areValid(_ times: SessionTimes) -> Bool {
        [times.createdAt, times.lastSeenAt, times.idleExpiresAt, times.absoluteExpiresAt, times.idleSeconds]
            .allSatisfy(range.contains)
    }
}
