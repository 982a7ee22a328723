/// Reads structured values off the front of a fuzzer input. Running out of bytes is not an error:
/// every read then returns its zero value, so any input maps to some test case.
public struct FuzzInput {
    private var remaining: ArraySlice<UInt8>

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        remaining = ArraySlice(UnsafeBufferPointer(start: data, count: size))
    }

    public init(_ bytes: [UInt8]) {
        remaining = bytes[...]
    }

    public var isEmpty: Bool { remaining.isEmpty }

    /// The next byte, or 0 when none is left.
    public mutating func byte() -> UInt8 {
        remaining.popFirst() ?? 0
    }

    public mutating func bool() -> Bool {
        byte() & 1 == 1
    }

    /// A value in `range` (which should hold at most 256 values to stay uniform).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(byte()) % (range.count)
    }

    /// Eight bytes as a little-endian integer.
    public mutating func int64() -> Int64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(byte()) << UInt64(shift) }
        return Int64(bitPattern: value)
    }

    public mutating func pick<Element>(_ options: [Element]) -> Element {
        options[Int(byte()) % options.count]
    }

    /// Up to `count` bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        let taken = remaining.prefix(count)
        remaining = remaining.dropFirst(taken.count)
        return Array(taken)
    }

    /// A length byte, then that many bytes (fewer at the end of the input).
    public mutating func lengthPrefixedBytes() -> [UInt8] {
        bytes(Int(byte()))
    }

    /// `lengthPrefixedBytes` as text (invalid UTF-8 repaired, as a server would).
    public mutating func lengthPrefixedString() -> String {
        String(decoding: lengthPrefixedBytes(), as: UTF8.self)
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { remaining = [] }
        return Array(remaining)
    }
}

/// Splits `bytes` on every `separator` (empty pieces kept), the usual way to feed one input to
/// several parameters.
public func fields(_ bytes: [UInt8], separator: UInt8 = 0) -> [[UInt8]] {
    bytes.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
}

/// Stops the run with a message libFuzzer prints next to the crashing input. Used for property
/// violations, so a wrong result is reported exactly like a crash.
public func check(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        fatalError("property violated: \(message())", file: file, line: line)
    }
}

/// A printable, bounded rendering of bytes for failure messages.
public func describe(_ bytes: some Sequence<UInt8>) -> String {
    var out = ""
    for byte in bytes.prefix(200) {
        if byte >= 0x20, byte < 0x7f, byte != UInt8(ascii: "\\") {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = String(byte, radix: 16)
            out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    return out
}

public func describe(_ text: String) -> String {
    describe(text.utf8)
}
