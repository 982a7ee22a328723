import FuzzSupport
import SessionGateCore

// The JSON parser, serializer and RFC 7396 merge patch. Input: one JSON document, or
// `patch\0target` (a raw NUL never appears in valid JSON, so the split is unambiguous).

private let maxDepth = 64

/// parse → serialize → parse gives an equal value, and serialising again gives the same bytes.
@discardableResult
private func checkRoundTrip(_ value: JSONValue, _ what: String) -> [UInt8] {
    let text = JSONSerializer.serialize(value)
    check(JSONSerializer.string(value).utf8.elementsEqual(text), "string(_:) differs from serialize(_:)")
    let again: JSONValue
    do {
        again = try JSONParser.parse(text, maxDepth: maxDepth, maxBytes: Int.max)
    } catch {
        check(false, "\(what) serialises to JSON that does not parse (\(error)): \(describe(text))")
        return text
    }
    check(sameJSON(again, value), "\(what) changes in a serialize/parse round trip: \(describe(text))")
    check(JSONSerializer.serialize(again) == text, "serialisation is not a fixed point: \(describe(text))")
    return text
}

private func parse(_ bytes: [UInt8]) -> JSONValue? {
    let fast = try? JSONParser.parse(bytes, maxDepth: maxDepth)
    // The non-contiguous path (a copy) must agree with the contiguous one.
    let slow = try? JSONParser.parse(bytes.lazy.map { $0 }, maxDepth: maxDepth)
    check(fast == slow, "contiguous and non-contiguous parses differ")
    if let fast {
        check(jsonDepth(fast) <= maxDepth, "accepted a document deeper than maxDepth")
        // Text in, text out: the String overload agrees whenever the bytes were valid UTF-8.
        if let text = String(validating: bytes, as: UTF8.self) {
            check((try? JSONParser.parse(text, maxDepth: maxDepth)) == fast, "String and byte parses differ")
        }
    }
    return fast
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let bytes = input.rest()
    let parts = fields(bytes)

    for part in parts {
        if let value = parse(part) { checkRoundTrip(value, "a parsed document") }
    }
    guard parts.count >= 2, let patch = parse(parts[0]) else { return 0 }
    let target = parse(parts[1]) ?? .object([:])

    let result = MergePatch.apply(patch, to: target)
    checkRoundTrip(result, "a merge-patch result")
    guard case .object(let members) = patch else {
        check(result == patch, "a non-object patch did not replace the target")
        return 0
    }
    guard case .object(let merged) = result else {
        check(false, "an object patch gave a non-object result")
        return 0
    }
    check(jsonDepth(result) <= max(jsonDepth(patch), jsonDepth(target)), "merge patch made the document deeper")
    for (name, value) in members {
        if value == .null {
            check(merged[name] == nil, "a null member did not remove \(describe(name))")
        } else if case .object = value {
            check(merged[name]?.objectValue != nil, "an object member did not merge into an object")
        } else {
            check(merged[name] == value, "member \(describe(name)) was not replaced")
        }
    }
    if case .object(let original) = target {
        for (name, value) in original where members[name] == nil {
            check(merged[name] == value, "member \(describe(name)) not named by the patch changed")
        }
    }
    check(MergePatch.apply(patch, to: result) == result, "merge patch is not idempotent")
    // The session is always an object: patching an object with an object keeps it one.
    check(MergePatch.apply(patch, to: .object([:])).objectValue != nil, "patching {} gave a non-object")
    return 0
}
