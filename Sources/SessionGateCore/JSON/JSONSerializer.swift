import SessionGateShared

/// Compact JSON output (RFC 8259) with sorted object keys, so equal values serialise to equal
/// bytes. Strings escape `"`, `\`, control characters, and U+2028/U+2029 (safe inside JS).
public enum JSONSerializer {
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(value, into: &out)
        return out
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: serialize(value), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): writeInt(number, into: &out)
        case .double(let number):
            if number.isFinite {
                if number == number.rounded(), abs(number) < 1e15 {
                    out.append(contentsOf: String(Int64(number)).utf8)
                } else {
                    out.append(contentsOf: "\(number)".utf8)
                }
            } else {
                out.append(contentsOf: "null".utf8)  // JSON has no NaN or infinity
            }
        case .string(let text): writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members): writeObject(members, into: &out)
        }
    }

    /// An object with its members in key order, sorted as (key, value) pairs so no value is
    /// looked up again.
    static func writeObject(_ members: [String: JSONValue], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if members.count <= smallObjectCount {
            // In key order without sorting a copy: each round writes the smallest key after the
            // last one written (keys are distinct). A session object is usually this small.
            var last: String? = nil
            for round in 0..<members.count {
                var next: Dictionary<String, JSONValue>.Index?
                for index in members.indices {
                    let key = members[index].key
                    if let last, key <= last { continue }
                    if let next, members[next].key <= key { continue }
                    next = index
                }
                let member = members[next!]
                writeMember(member.key, member.value, first: round == 0, into: &out)
                last = member.key
            }
        } else {
            for (position, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                writeMember(member.key, member.value, first: position == 0, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `"key":value`, after a comma unless it is the object's first member.
    private static func writeMember(_ key: String, _ value: JSONValue, first: Bool, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(value, into: &out)
    }

    /// Objects up to this many members are written without sorting a copy of them.
    static let smallObjectCount = 8

    /// Decimal digits, as `String(number)` spells them, without a String in between.
    static func writeInt(_ number: Int64, into out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        ASCIIDecimal.withDigits(of: number.magnitude) { out.append(contentsOf: $0) }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `text` as a JSON string. Runs of bytes that need no escape are copied in one `append`.
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
                    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9. Any other E2 leads a valid
                    // sequence whose continuation bytes (80...BF) need no escape.
                    if index + 2 < count, bytes[index + 1] == 0x80, bytes[index + 2] == 0xa8 || bytes[index + 2] == 0xa9 {
                        out.append(contentsOf: (bytes[index + 2] == 0xa8 ? "\\u2028" : "\\u2029").utf8)
                        index += 3
                        runStart = index
                        continue
                    }
                    out.append(byte)
                default:  // other control characters and DEL
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
