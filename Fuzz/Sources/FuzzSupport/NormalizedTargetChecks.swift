import SessionGateCore

private func isUpperHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
}

private func hexValue(_ byte: UInt8) -> UInt8 {
    byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : byte - UInt8(ascii: "A") + 10
}

/// RFC 3986 §2.3 unreserved characters.
public func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        true
    default: false
    }
}

/// Everything a normalised target promises (see `NormalizedTarget`).
public func checkNormalizedTarget(_ target: NormalizedTarget, inputLength: Int) {
    let path = Array(target.path.utf8)
    let shown = describe(path)
    check(path.first == UInt8(ascii: "/"), "path does not start with /: \(shown)")
    check(!target.path.contains("//"), "empty segment in \(shown)")
    let segments = target.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    for (position, segment) in segments.enumerated() {
        check(segment != "." && segment != "..", "dot-segment left in \(shown)")
        check(!segment.isEmpty || position == segments.count - 1, "empty segment in \(shown)")
    }
    var index = 0
    while index < path.count {
        let byte = path[index]
        check(byte > 0x20 && byte < 0x7f, "control, space or non-ASCII byte in \(shown)")
        check(
            ![UInt8(ascii: "\\"), UInt8(ascii: ";"), UInt8(ascii: "#"), UInt8(ascii: "?")].contains(byte),
            "forbidden character in \(shown)")
        if byte == UInt8(ascii: "%") {
            check(
                index + 2 < path.count && isUpperHex(path[index + 1]) && isUpperHex(path[index + 2]),
                "escape not upper-case hex in \(shown)")
            let value = hexValue(path[index + 1]) << 4 | hexValue(path[index + 2])
            check(!isUnreserved(value), "escaped unreserved character in \(shown)")
            check(
                value != 0x2f && value != 0x5c && value >= 0x20 && value != 0x7f,
                "escaped slash, backslash or control character in \(shown)")
            index += 3
        } else {
            index += 1
        }
    }
    check(path.count <= inputLength + 1, "normalised path longer than the target: \(shown)")
    if let query = target.query {
        check(
            !query.utf8.contains { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: "#") },
            "query with a fragment, control or non-ASCII byte")
    }
}
