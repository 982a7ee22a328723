/// Base64 (RFC 4648 §4) and base64url without padding (§5), with strict decoding: anything
/// that is not canonical is rejected rather than guessed at.
public enum Base64 {
    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static let standardTable: [UInt8] = table(standardAlphabet)
    static let urlTable: [UInt8] = table(urlAlphabet)

    private static func table(_ alphabet: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0xff, count: 256)
        for (index, char) in alphabet.enumerated() { out[Int(char)] = UInt8(index) }
        return out
    }

    /// Standard alphabet with `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        encode(bytes, alphabet: standardAlphabet, pad: true)
    }

    /// Standard alphabet; padding required when the length needs it. Whitespace is not allowed.
    public static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var padding = 0
        while padding < 2, utf8.last == UInt8(ascii: "=") {
            utf8.removeLast()
            padding += 1
        }
        return utf8.withUnsafeBufferPointer { decode($0, table: standardTable) }
    }

    static func encode(_ bytes: some Collection<UInt8>, alphabet: [UInt8], pad: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            if second != nil {
                out.append(alphabet[Int(value >> 6 & 63)])
            } else if pad {
                out.append(UInt8(ascii: "="))
            }
            if third != nil {
                out.append(alphabet[Int(value & 63)])
            } else if pad {
                out.append(UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes unpadded characters; rejects impossible lengths, characters outside the
    /// alphabet and non-zero trailing bits.
    static func decode(_ chars: UnsafeBufferPointer<UInt8>, table: [UInt8]) -> [UInt8]? {
        let count = chars.count
        guard count % 4 != 1 else { return nil }
        let outCount = count * 3 / 4
        var valid = true
        let out = table.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
                var read = 0
                var write = 0
                // Every table entry outside the alphabet is 0xff; valid ones are < 64.
                var bad: UInt8 = 0
                while read + 4 <= count {
                    let a = table[Int(chars[read])]
                    let b = table[Int(chars[read + 1])]
                    let c = table[Int(chars[read + 2])]
                    let d = table[Int(chars[read + 3])]
                    bad |= a | b | c | d
                    let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    out[write] = UInt8(truncatingIfNeeded: value >> 16)
                    out[write + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    out[write + 2] = UInt8(truncatingIfNeeded: value)
                    read += 4
                    write += 3
                }
                switch count - read {
                case 2:
                    let a = table[Int(chars[read])]
                    let b = table[Int(chars[read + 1])]
                    bad |= a | b
                    if b & 0x0f != 0 { bad = 0xff }
                    out[write] = UInt8(truncatingIfNeeded: UInt32(a) << 2 | UInt32(b) >> 4)
                case 3:
                    let a = table[Int(chars[read])]
                    let b = table[Int(chars[read + 1])]
                    let c = table[Int(chars[read + 2])]
                    bad |= a | b | c
                    if c & 0x03 != 0 { bad = 0xff }
                    let value = UInt32(a) << 10 | UInt32(b) << 4 | UInt32(c) >> 2
                    out[write] = UInt8(truncatingIfNeeded: value >> 8)
                    out[write + 1] = UInt8(truncatingIfNeeded: value)
                default: break
                }
                valid = bad & 0xc0 == 0
                initialized = outCount
            }
        }
        return valid ? out : nil
    }
}

/// base64url without padding (JWT, cookies).
public enum Base64URL {
    /// Characters the encoding of `count` bytes takes.
    static func encodedCount(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// The encoding of `input`, written straight into the String's storage.
    static func encode(raw input: UnsafeRawBufferPointer) -> String {
        let count = encodedCount(input.count)
        return String(unsafeUninitializedCapacity: count) { buffer in
            encode(input, into: buffer.baseAddress!)
            return count
        }
    }

    /// Appends the encoding of `input` to `out`, written in place (no String in between).
    static func append(_ input: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: encodedCount(input.count)))
        out.withUnsafeMutableBufferPointer { buffer in
            encode(input, into: buffer.baseAddress! + start)
        }
    }

    /// Writes the encoding of `input` at `output`, which has room for `encodedCount(input.count)`.
    private static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) {
        Base64.urlAlphabet.withUnsafeBufferPointer { alphabet in
            var read = 0
            var write = 0
            let count = input.count
            while read + 3 <= count {
                let value = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8 | UInt32(input[read + 2])
                output[write] = alphabet[Int(value >> 18 & 63)]
                output[write + 1] = alphabet[Int(value >> 12 & 63)]
                output[write + 2] = alphabet[Int(value >> 6 & 63)]
                output[write + 3] = alphabet[Int(value & 63)]
                read += 3
                write += 4
            }
            switch count - read {
            case 1:
                let value = UInt32(input[read]) << 16
                output[write] = alphabet[Int(value >> 18 & 63)]
                output[write + 1] = alphabet[Int(value >> 12 & 63)]
            case 2:
                let value = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8
                output[write] = alphabet[Int(value >> 18 & 63)]
                output[write + 1] = alphabet[Int(value >> 12 & 63)]
                output[write + 2] = alphabet[Int(value >> 6 & 63)]
            default: break
            }
        }
    }

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64.encode(bytes, alphabet: Base64.urlAlphabet, pad: false)
    }

    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        // The UTF-8 of a native String or Substring is contiguous: decode it without a copy.
        if let result = text.utf8.withContiguousStorageIfAvailable({ Base64.decode($0, table: Base64.urlTable) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBufferPointer { Base64.decode($0, table: Base64.urlTable) }
    }
}
