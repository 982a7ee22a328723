import Synchronization

/// Seconds since the Unix epoch. The core never reads the wall clock; callers pass `now` in.
public typealias UnixSeconds = Int64

/// A source of the current time, injected so tests can fast-forward instead of sleeping.
public protocol WallClock: Sendable {
    func now() -> UnixSeconds
}

/// A source of cryptographically secure random bytes, injected so the core stays pure.
/// Production code passes `SystemRandomBytes` (a CSPRNG); tests may pass a seeded source.
public protocol RandomBytes: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// A clock that tests move by hand.
public final class ManualClock: WallClock {
    private let current: Mutex<UnixSeconds>

    public init(_ start: UnixSeconds = 1_700_000_000) { current = Mutex(start) }

    public func now() -> UnixSeconds { current.withLock { $0 } }

    public func advance(by seconds: Int64) { current.withLock { $0 += seconds } }
}
