import FuzzSupport
import SessionGateCore

// The upstream's session directives (`X-Session-Set`, `X-Session-Action`, `X-Session-Lifetime`).
// Input: header values separated by NUL; the first byte of each picks the header (0 set, 1
// action, 2 lifetime, by value modulo 3), the rest is the value. A single value without any NUL
// is tried under every header.

private enum Header: Int, CaseIterable { case set, action, lifetime }

/// An independent reading of PRODUCT.md's directive rules: accepts exactly what the proxy should.
private func reference(set: [String], action: [String], lifetime: [String]) -> SessionDirectives? {
    var out = SessionDirectives()
    for value in set {
        guard let patch = try? JSONParser.parse(value, maxDepth: 32, maxBytes: 64 * 1024) else { return nil }
        switch patch {
        case .object, .null: out.patches.append(patch)
        default: return nil
        }
    }
    for value in action {
        for element in value.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let word = trimmed(Substring(element))
            if word.isEmpty { continue }
            // `revoke <sid>`: the verb (any ASCII case), blanks, one base64url sid of 1...64.
            let words = word.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if lowercasedASCII(words[0]) == "revoke" {
                guard words.count == 2, (1...64).contains(words[1].utf8.count),
                    words[1].utf8.allSatisfy({ isBase64URL($0) })
                else { return nil }
                out.revocations.append(String(words[1]))
                continue
            }
            guard let verb = SessionAction.allCases.first(where: { $0.rawValue == lowercasedASCII(word) }) else {
                return nil
            }
            out.actions.append(verb)
        }
    }
    guard lifetime.count <= 1 else { return nil }
    if let value = lifetime.first {
        let digits = trimmed(Substring(value))
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let significant = digits.drop { $0 == "0" }
        guard !significant.isEmpty else { return nil }  // zero
        out.lifetime = significant.count > 18 ? (Int64(significant) ?? Int64.max) : Int64(significant)!
    }
    return out
}

private func isBase64URL(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2d || byte == 0x5f
}

private func trimmed(_ text: Substring) -> Substring {
    var slice = text.utf8[...]
    while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
    while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
    return Substring(slice)
}

private func lowercasedASCII(_ text: Substring) -> String {
    String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
}

private func run(set: [String], action: [String], lifetime: [String]) {
    let result = SessionDirectives.parse(set: set, action: action, lifetime: lifetime)
    let expected = reference(set: set, action: action, lifetime: lifetime)
    switch result {
    case .success(let directives):
        check(directives == expected, "accepted directives the rules refuse, or read them differently")
        for patch in directives.patches {
            switch patch {
            case .object, .null: break
            default: check(false, "accepted a patch that is neither an object nor null")
            }
        }
        check(directives.lifetime.map { $0 > 0 } ?? true, "accepted a lifetime that is not positive")
        check(
            directives.isEmpty == (set.isEmpty && directives.actions.isEmpty && directives.revocations.isEmpty && lifetime.isEmpty),
            "isEmpty is wrong")
    case .failure(let error):
        check(expected == nil, "refused directives the rules accept: \(error)")
        // The message goes to logs: one line, and never the patch itself.
        let description = error.description
        check(
            !description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f },
            "error description has a control character: \(describe(description))")
        for value in set where value.utf8.count >= 24 {
            check(!description.contains(value), "error description quotes a patch")
        }
        check(
            Header.allCases.contains { ["X-Session-Set", "X-Session-Action", "X-Session-Lifetime"][$0.rawValue] == error.header },
            "error names an unknown header")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDirectives(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    let parts = fields(bytes)
    if parts.count == 1 {
        let value = String(decoding: bytes, as: UTF8.self)
        run(set: [value], action: [], lifetime: [])
        run(set: [], action: [value], lifetime: [])
        run(set: [], action: [], lifetime: [value])
        return 0
    }
    var values: [Header: [String]] = [:]
    for part in parts where !part.isEmpty {
        let header = Header(rawValue: Int(part[0]) % 3)!
        values[header, default: []].append(String(decoding: part.dropFirst(), as: UTF8.self))
    }
    run(set: values[.set] ?? [], action: values[.action] ?? [], lifetime: values[.lifetime] ?? [])
    return 0
}
