#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The production clock. Only the executable and the data plane construct it; the pure core
/// takes any `WallClock`.
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> UnixSeconds {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UnixSeconds(spec.tv_sec)
    }
}

/// The production CSPRNG (`SystemRandomNumberGenerator`: getrandom(2) on Linux).
public struct SystemRandomBytes: RandomBytes {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<8 where index < count {
                out[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return out
    }
}
