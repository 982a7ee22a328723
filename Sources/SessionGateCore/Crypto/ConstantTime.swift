/// Comparison that takes the same time wherever the inputs differ: for secrets compared with what
/// a client presented (the admin bearer token, a connection's memo of its opened cookie).
public enum ConstantTime {
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBufferPointer { lhs in rhs.withUnsafeBufferPointer { rhs in equal(lhs, rhs) } }
    }

    /// The same over buffers (bytes read in place, e.g. a `Substring`'s UTF-8). The time depends
    /// on the longer length only; the loops have no branch on the bytes.
    @inlinable
    public static func equal(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        let common = min(lhs.count, rhs.count)
        for index in 0..<common { difference |= lhs[index] ^ rhs[index] }
        // The longer input's tail, against the shorter one's (absent) zeros.
        let longer = lhs.count > rhs.count ? lhs : rhs
        for index in common..<longer.count { difference |= longer[index] }
        return difference == 0
    }
}
