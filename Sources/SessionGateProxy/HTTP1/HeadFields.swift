import NIOCore
import SessionGateCore

/// The header fields of a parsed head, read in place: the head's own bytes (see `take`) and the
/// name and value range of each field in them, as `RequestHeadParser`
/// or `ResponseHeadParser` found them. Nothing is a `String` until the proxy reads that value;
/// heads going on are copied from these bytes (`ForwardedRequest`, `ClientHandler.sendResponseHead`).
struct HeadFields {
    /// The whole head; `ranges` index its readable bytes.
    let bytes: ByteBuffer
    let ranges: [RequestHeadLayout.Field]

    /// The head's bytes taken off the read buffer: a slice (no copy) when the buffer is about the
    /// head's size, a copy of just the head when the buffer is much larger (a head read together
    /// with a large body, say) — a long exchange (long polling, a slow stream) then holds its
    /// head, not the whole read buffer.
    static func take(_ length: Int, from buffer: inout ByteBuffer) -> ByteBuffer {
        let slice = buffer.readSlice(length: length)!
        guard slice.storageCapacity > max(4096, 2 * length) else { return slice }
        return ByteBuffer(bytes: slice.readableBytesView)
    }

    /// Calls `body` with the head's bytes (what `ranges` index).
    @inline(__always)
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeReadableBytes(body)
    }

    /// The text at `range` of the head.
    func text(_ range: Range<Int>) -> String { withBytes { Self.text(range, in: $0) } }

    static func text(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// The values of every field named `name` (lower case; matched ignoring ASCII case), in order.
    func values(_ name: StaticString) -> [String] {
        withBytes { bytes in
            var values: [String] = []
            for field in ranges where HeaderName.equals(field.name, name, in: bytes) {
                values.append(Self.text(field.value, in: bytes))
            }
            return values
        }
    }

    /// Calls `body` with the value of every field named `name` (lower case), in order.
    func forEachValue(_ name: StaticString, _ body: (String) -> Void) {
        withBytes { bytes in
            for field in ranges where HeaderName.equals(field.name, name, in: bytes) {
                body(Self.text(field.value, in: bytes))
            }
        }
    }

    /// How many values cookie `name` has across every `Cookie` field, and the range of the head's
    /// bytes of the first one: `CookieHeader.values(named:in:)` read in place, without a `String`.
    func cookieValues(named name: String) -> (count: Int, first: Range<Int>?) {
        var name = name
        var count = 0
        var first: Range<Int>?
        withBytes { bytes in
            name.withUTF8 { name in
                for field in ranges where HeaderName.equals(field.name, "cookie", in: bytes) {
                    let value = UnsafeRawBufferPointer(rebasing: bytes[field.value]).assumingMemoryBound(to: UInt8.self)
                    CookieHeader.forEachValue(named: name, in: value) { range in
                        count += 1
                        if first == nil {
                            first = (range.lowerBound + field.value.lowerBound)..<(range.upperBound + field.value.lowerBound)
                        }
                    }
                }
            }
        }
        return (count, first)
    }

    /// The value of the first field named `name` (lower case), if any.
    func first(_ name: StaticString) -> String? {
        withBytes { bytes in
            ranges.first { HeaderName.equals($0.name, name, in: bytes) }.map { Self.text($0.value, in: bytes) }
        }
    }

    /// How many fields are named `name` (lower case).
    func count(_ name: StaticString) -> Int {
        withBytes { bytes in ranges.reduce(0) { $0 + (HeaderName.equals($1.name, name, in: bytes) ? 1 : 0) } }
    }

    func contains(_ name: StaticString) -> Bool {
        withBytes { bytes in ranges.contains { HeaderName.equals($0.name, name, in: bytes) } }
    }

    /// Whether the first field named `name` has the value `value` (lower case), ignoring case.
    func first(_ name: StaticString, is value: StaticString) -> Bool {
        withBytes { bytes in
            guard let field = ranges.first(where: { HeaderName.equals($0.name, name, in: bytes) }) else { return false }
            return HeaderName.equals(field.value, value, in: bytes)
        }
    }

    /// Whether the field name at `name` is one of `tokens` (ranges of the same bytes, as
    /// `HeaderPolicy.connectionNominated(fields:in:)` returns them).
    static func isNamed(_ name: Range<Int>, by tokens: [Range<Int>], in bytes: UnsafeRawBufferPointer) -> Bool {
        tokens.contains { HeaderName.equals(name, $0, in: bytes) }
    }

    /// Every field as text, in order (tests and diagnostics; the data plane reads in place).
    var pairs: [(name: String, value: String)] {
        withBytes { bytes in ranges.map { (Self.text($0.name, in: bytes), Self.text($0.value, in: bytes)) } }
    }
}
