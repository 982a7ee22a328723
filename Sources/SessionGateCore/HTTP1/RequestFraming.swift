/// How a request's body is delimited (RFC 9112 §6), decided from a parsed head — refusing every
/// head two servers could frame differently: `Content-Length` with `Transfer-Encoding`, more than
/// one `Content-Length` (even equal ones), a length that is not plain digits (`+5`, `-1`, `5 5`),
/// `Transfer-Encoding` on HTTP/1.0, or one whose last coding is not `chunked` (or that repeats
/// `chunked`, or has an empty element).
public enum RequestBodyFraming: Equatable, Sendable {
    case none
    case length(Int)
    case chunked

    /// The most digits accepted in a `Content-Length` (more cannot be a real body, and would overflow).
    static let maxLengthDigits = 18

    /// The framing of the head `layout` parsed from `bytes`.
    public static func decide(_ layout: RequestHeadLayout, in bytes: UnsafeRawBufferPointer) -> Result<
        RequestBodyFraming, HTTP1HeadError
    > {
        var length: Int?
        var codings: [ArraySlice<UInt8>] = []
        for field in layout.fields {
            if HeaderName.equals(field.name, "content-length", in: bytes) {
                guard length == nil else { return .failure(HTTP1HeadError(.malformed, "repeated Content-Length")) }
                // Nothing after the digits (llhttp refuses trailing whitespace here; so do we).
                guard field.value.upperBound < bytes.count, bytes[field.value.upperBound] == 0x0d,
                    let value = digits(field.value, in: bytes)
                else {
                    return .failure(HTTP1HeadError(.malformed, "Content-Length is not a plain number"))
                }
                length = value
            } else if HeaderName.equals(field.name, "transfer-encoding", in: bytes) {
                guard isPlainList(field, in: bytes) else {
                    return .failure(HTTP1HeadError(.malformed, "whitespace around Transfer-Encoding"))
                }
                let value = Array(bytes[field.value])
                for element in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                    codings.append(trimmed(element))
                }
            }
        }
        if codings.isEmpty { return .success(length.map(RequestBodyFraming.length) ?? RequestBodyFraming.none) }
        guard layout.minorVersion >= 1 else {
            return .failure(HTTP1HeadError(.malformed, "Transfer-Encoding on HTTP/1.0"))
        }
        guard length == nil else { return .failure(HTTP1HeadError(.malformed, "both Content-Length and Transfer-Encoding")) }
        for (index, coding) in codings.enumerated() {
            guard !coding.isEmpty, coding.allSatisfy(HTTPBytes.isToken) else {
                return .failure(HTTP1HeadError(.malformed, "malformed Transfer-Encoding"))
            }
            let isChunked = HeaderName.equalsIgnoringCase(coding, "chunked")
            guard isChunked == (index == codings.count - 1) else {
                return .failure(HTTP1HeadError(.malformed, "Transfer-Encoding must end in chunked, once"))
            }
        }
        return .success(.chunked)
    }

    /// No HTAB in the value and nothing after it: llhttp reads `chunked<TAB>` as another coding
    /// (found by `FuzzHTTP1Response`), so such a value could be framed two ways.
    static func isPlainList(_ field: RequestHeadLayout.Field, in bytes: UnsafeRawBufferPointer) -> Bool {
        field.value.upperBound < bytes.count && bytes[field.value.upperBound] == 0x0d
            && !bytes[field.value].contains(0x09)
    }

    static func digits(_ range: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard !range.isEmpty, range.count <= maxLengthDigits else { return nil }
        var value = 0
        for index in range {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func trimmed(_ element: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = element
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return slice
    }
}

/// Header names compared in place, ASCII case-insensitively.
public enum HeaderName {
    /// Whether the bytes at `range` spell `lowercased` in any case.
    public static func equals(_ range: Range<Int>, _ lowercased: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard range.count == lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { expected in
            var offset = 0
            for index in range {
                if folded(bytes[index]) != expected[offset] { return false }
                offset += 1
            }
            return true
        }
    }

    /// Whether the bytes at `range` start with `lowercased` in any case (ASCII letters folded).
    public static func hasPrefix(_ range: Range<Int>, _ lowercased: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard range.count >= lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { expected in
            var index = range.lowerBound
            for byte in expected {
                guard folded(bytes[index]) == byte else { return false }
                index += 1
            }
            return true
        }
    }

    /// Whether two ranges of `bytes` spell the same text ignoring ASCII case (a field name and a
    /// token of `Connection`, say).
    public static func equals(_ range: Range<Int>, _ other: Range<Int>, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard range.count == other.count else { return false }
        var index = other.lowerBound
        for position in range {
            guard folded(bytes[position]) == folded(bytes[index]) else { return false }
            index += 1
        }
        return true
    }

    /// `byte` with ASCII upper-case letters made lower case (nothing else changed).
    @inline(__always)
    static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    public static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercased: StaticString) -> Bool {
        guard bytes.count == lowercased.utf8CodeUnitCount else { return false }
        return lowercased.withUTF8Buffer { expected in zip(bytes, expected).allSatisfy { folded($0) == $1 } }
    }
}

extension HeaderName {
    /// The comma-separated tokens of the field value at `value` (a `Connection` list), trimmed of
    /// spaces and tabs, empty elements skipped — as ranges of `bytes`, read lazily (no array, no
    /// copies).
    public static func listElements(_ value: Range<Int>, in bytes: UnsafeRawBufferPointer) -> ListElements {
        ListElements(bytes: bytes, start: value.lowerBound, end: value.upperBound)
    }

    /// The elements of one list field value, as `listElements` reads them.
    public struct ListElements: Sequence, IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var start: Int
        let end: Int

        public mutating func next() -> Range<Int>? {
            while start < end {
                var stop = start
                while stop < end, bytes[stop] != UInt8(ascii: ",") { stop += 1 }
                var first = start
                var last = stop
                while first < last, bytes[first] == 0x20 || bytes[first] == 0x09 { first += 1 }
                while last > first, bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09 { last -= 1 }
                start = stop + 1
                if first < last { return first..<last }
            }
            return nil
        }
    }
}
