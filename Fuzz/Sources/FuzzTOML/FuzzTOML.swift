import FuzzSupport
import SessionGateCore
import SessionGateTOML

// The TOML reader and the configuration loader behind it, on any text: no crash, positions of
// syntax errors are real positions, and every configuration issue names its key.

private let environment = ["SESSIONGATE_KEY": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=", "SESSIONGATE_SIGNING_SECRET": "a-signing-secret-of-more-than-32-bytes"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let text = String(decoding: input.rest(), as: UTF8.self)
    if isSkipped("toml-header-assert"), hasMalformedTableHeader(text) { return 0 }
    let document: ConfigNode
    do {
        document = try TOMLReader.parse(text)
    } catch {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        check(error.line >= 1 && error.line <= lines + 1, "syntax error on line \(error.line) of \(lines)")
        check(error.column >= 1, "syntax error in column \(error.column)")
        check(!error.message.isEmpty, "syntax error without a message")
        return 0
    }
    guard case .table = document else {
        check(false, "a TOML document did not read as a table")
        return 0
    }
    if case .failure(let errors) = ConfigLoader.load(document, environment: environment, configDirectory: "/etc/sessiongate") {
        check(!errors.issues.isEmpty, "failure without issues")
        for issue in errors.issues {
            check(!issue.key.isEmpty || isSkipped("config-empty-key"), "an issue without a key: \(describe(issue.message))")
            check(!issue.message.isEmpty, "an issue without a message")
        }
    }
    return 0
}

/// A line that opens a table header (`[` or `[[`) whose key starts with a character that can
/// start no key: toml++ 3.4.0 asserts on it instead of reporting a syntax error
/// (marzer/tomlplusplus#301). Skipped only while that finding is listed in FUZZ_SKIP_KNOWN.
private func hasMalformedTableHeader(_ text: String) -> Bool {
    let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    for (number, line) in lines.enumerated() {
        var rest = line.drop { $0 == 0x20 || $0 == 0x09 }
        guard rest.first == UInt8(ascii: "[") else { continue }
        rest = rest.dropFirst()
        let hadSpace = rest.first == 0x20 || rest.first == 0x09
        rest = rest.drop { $0 == 0x20 || $0 == 0x09 }
        if rest.first == UInt8(ascii: "["), !hadSpace { rest = rest.dropFirst().drop { $0 == 0x20 || $0 == 0x09 } }
        guard let first = rest.first else {
            if number < lines.count - 1 { return true }  // the header runs into a line break
            continue
        }
        let startsKey =
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
            || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]")].contains(first)
        if !startsKey { return true }
    }
    return false
}
