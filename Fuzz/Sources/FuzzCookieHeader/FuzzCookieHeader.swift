import FuzzSupport
import SessionGateCore

// The `Cookie` header parser, which decides which cookie the proxy opens and what the upstream
// sees. Input: the header value; optionally `name\0header` to choose the cookie name.

private let defaultNames = ["__Host-session", "session", "a", "__Host-session ", "sess\u{301}ion"]

/// An independent reading of RFC 6265 §4.2 pairs: split on `;`, trim SP/HTAB, split at the first
/// `=`, trim again, strip one pair of quotes from the value.
private func referencePairs(_ header: String) -> [(name: [Unicode.Scalar], value: [Unicode.Scalar])] {
    func trimmed(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var slice = scalars
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return Array(slice)
    }
    var out: [(name: [Unicode.Scalar], value: [Unicode.Scalar])] = []
    for piece in Array(header.unicodeScalars).split(separator: ";", omittingEmptySubsequences: false) {
        let pair = trimmed(piece)
        guard let equals = pair.firstIndex(of: "=") else { continue }
        var value = trimmed(pair[(equals + 1)...])
        if value.count >= 2, value.first == "\"", value.last == "\"" { value = Array(value.dropFirst().dropLast()) }
        out.append((trimmed(pair[..<equals]), value))
    }
    return out
}

private func scalars(_ values: [Substring]) -> [[Unicode.Scalar]] {
    values.map { Array($0.unicodeScalars) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCookieHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    var names = defaultNames
    var headerBytes = bytes
    if let separator = bytes.firstIndex(of: 0) {
        names.insert(String(decoding: bytes[..<separator], as: UTF8.self), at: 0)
        headerBytes = Array(bytes[(separator + 1)...])
    }
    let header = String(decoding: headerBytes, as: UTF8.self)
    let reference = referencePairs(header)

    for name in names {
        let values = CookieHeader.values(named: name, in: header)
        // Compared as scalars: String equality would treat canonically equivalent text as equal.
        let expected = reference.filter { $0.name == Array(name.unicodeScalars) }.map(\.value)
        check(
            scalars(values) == expected,
            "values(named: \(describe(name))) = \(values.map { describe(String($0)) }) disagrees with the pairs")

        let removed = CookieHeader.removing(named: name, from: header)
        if let removed {
            check(CookieHeader.values(named: name, in: removed).isEmpty, "removing(named:) left \(describe(name)) in the header")
            check(!removed.isEmpty, "removing(named:) returned an empty header instead of nil")
            check(CookieHeader.removing(named: name, from: removed) == removed, "removing(named:) is not idempotent")
            // Every other cookie keeps its values, in order.
            for other in names where !other.unicodeScalars.elementsEqual(name.unicodeScalars) {
                check(
                    scalars(CookieHeader.values(named: other, in: removed))
                        == scalars(CookieHeader.values(named: other, in: header)),
                    "removing \(describe(name)) changed cookie \(describe(other))")
            }
        } else {
            // nil means no pair survived: every non-empty piece was a pair named `name`.
            for piece in header.unicodeScalars.split(separator: ";") {
                let text = String(String.UnicodeScalarView(piece))
                let blank = text.unicodeScalars.allSatisfy { $0 == " " || $0 == "\t" }
                check(
                    blank || !CookieHeader.values(named: name, in: text).isEmpty,
                    "removing(named: \(describe(name))) dropped the unrelated piece \(describe(text))")
            }
        }
    }

    // The name an upstream `Set-Cookie` sets, as the response filter reads it.
    if let setName = SetCookie.cookieName(inHeaderValue: header) {
        check(!setName.unicodeScalars.contains(";"), "Set-Cookie name contains ';'")
        check(!setName.unicodeScalars.contains("="), "Set-Cookie name contains '='")
        check(
            SetCookie.setsCookie(named: String(setName), headerValue: header),
            "setsCookie(named:) does not recognise the name cookieName(inHeaderValue:) reads")
    }
    return 0
}
