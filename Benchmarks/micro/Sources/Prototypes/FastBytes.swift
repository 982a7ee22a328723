import SessionGateCore

/// base64url without padding over raw buffers: the same output and the same strictness as
/// `SessionGateCore.Base64URL`, but no generic iteration, no per-byte `append`, and no String
/// round trip when the caller wants bytes.
public enum FastBase64URL {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let table: [UInt8] = {
        var out = [UInt8](repeating: 0xff, count: 256)
        for (index, char) in alphabet.enumerated() { out[Int(char)] = UInt8(index) }
        return out
    }()

    static func encodedCount(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    /// Writes the encoding of `input` at `output` (which has room for `encodedCount(input.count)`).
    static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) {
        alphabet.withUnsafeBufferPointer { alphabet in
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

    /// Appends the encoding of `input` to `out`.
    public static func append(_ input: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let start = out.count
        let added = encodedCount(input.count)
        out.append(contentsOf: repeatElement(0, count: added))
        out.withUnsafeMutableBufferPointer { buffer in
            encode(input, into: buffer.baseAddress! + start)
        }
    }

    /// The encoding as a String (one allocation).
    public static func encode(_ input: UnsafeRawBufferPointer) -> String {
        let count = encodedCount(input.count)
        return String(unsafeUninitializedCapacity: count) { buffer in
            encode(input, into: buffer.baseAddress!)
            return count
        }
    }

    /// Decodes without copying the text first (the UTF-8 of a native String or Substring is contiguous).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ decode($0) }) { return result }
        return Array(text.utf8).withUnsafeBufferPointer { decode($0) }
    }

    /// Rejects impossible lengths, characters outside the alphabet and non-zero trailing bits.
    public static func decode(_ chars: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = chars.count
        guard count % 4 != 1 else { return nil }
        let outCount = count * 3 / 4
        var valid = true
        let out = table.withUnsafeBufferPointer { table in
            [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
                var read = 0
                var write = 0
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
                // Every table entry outside the alphabet is 0xff; valid ones are < 64.
                valid = bad & 0xc0 == 0
                initialized = outCount
            }
        }
        return valid ? out : nil
    }
}

/// JSON output identical to `SessionGateCore.JSONSerializer`, written in runs instead of bytes,
/// and objects sorted as (key, value) pairs instead of sorted keys looked up again.
public enum FastJSON {
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .object(let members): writeObject(members, into: &out)
        case .string(let text): writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .int(let number): writeInt(number, into: &out)
        default: JSONSerializer.write(value, into: &out)  // null, bool, double: as the original
        }
    }

    public static func writeObject(_ members: [String: JSONValue], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            write(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Decimal digits without a String in between.
    public static func writeInt(_ number: Int64, into out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Copies runs of bytes that need no escape in one `append` each.
    public static func writeString(_ text: String, into out: inout [UInt8]) {
        var text = text
        out.append(UInt8(ascii: "\""))
        text.withUTF8 { bytes in
            var runStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte != 0x7f, byte != 0xe2 {
                    index += 1
                    continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0a: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0d: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0xe2:
                    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; other E2 sequences pass unchanged.
                    if index + 2 < count, bytes[index + 1] == 0x80, bytes[index + 2] == 0xa8 || bytes[index + 2] == 0xa9 {
                        out.append(contentsOf: (bytes[index + 2] == 0xa8 ? "\\u2028" : "\\u2029").utf8)
                        index += 3
                        runStart = index
                        continue
                    }
                    out.append(byte)
                default:
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0f)])
                }
                index += 1
                runStart = index
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
