/// Decimal digits of an unsigned number as ASCII, as `String(number)` spells them, written in a
/// scratch buffer on the stack (no `String` in between). Used by the JSON writer and RESP
/// command encoding.
public enum ASCIIDecimal {
    /// Calls `body` with the digits of `number` (at least one; at most 20).
    @inlinable
    public static func withDigits<Result>(of number: UInt64, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            var rest = number
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            return body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digits)[start...]))
        }
    }
}
