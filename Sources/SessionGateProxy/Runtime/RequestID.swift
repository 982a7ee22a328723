import SessionGateCore
import Synchronization

/// Request ids for `X-Request-Id`: a client's own id is kept when it is a plain token (so a
/// trace can cross several hops); otherwise a process-unique one is made from a random prefix and
/// a counter (no syscall per request): 8 base62 characters (47 random bits), `-`, the counter in
/// base62. Up to 56 billion requests per process the id has at most 15 bytes, which Swift keeps
/// inline in the `String` (no allocation per request).
enum RequestID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let prefix: [UInt8] = SystemRandomBytes().bytes(8).map { alphabet[Int($0) % 62] }
    private static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        var value = counter.add(1, ordering: .relaxed).newValue
        var digits = 0
        var rest = value
        repeat {
            digits += 1
            rest /= 62
        } while rest > 0
        return String(unsafeUninitializedCapacity: prefix.count + 1 + digits) { out in
            for (index, byte) in prefix.enumerated() { out[index] = byte }
            out[prefix.count] = UInt8(ascii: "-")
            var index = prefix.count + digits
            repeat {
                out[index] = alphabet[Int(value % 62)]
                value /= 62
                index -= 1
            } while value > 0
            return prefix.count + 1 + digits
        }
    }

    /// The inbound id if it is 1–128 characters of `A-Z a-z 0-9 - _ . :`, else a fresh one.
    static func accept(_ inbound: String?) -> String {
        guard let inbound, (1...128).contains(inbound.utf8.count),
            inbound.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x5f || byte == 0x2e || byte == 0x3a
            })
        else { return next() }
        return inbound
    }
}

extension String {
    /// Three digits, zero-padded (for millisecond fractions).
    init(format3 value: Int) {
        let digits = String(value)
        let padding = Swift.max(0, 3 - digits.count)
        self = String(repeating: "0", count: padding) + digits
    }
}
