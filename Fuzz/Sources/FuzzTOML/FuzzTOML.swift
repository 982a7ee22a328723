import FuzzSupport
import SessionGateCore

// The TOML parser (pure Swift, in the core) and the configuration loader behind it, on any text: no crash, positions of
// syntax errors are real positions, and every configuration issue names its key.

private let environment = [
    "SESSIONGATE_KEY": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    "SESSIONGATE_SIGNING_SECRET": "a-signing-secret-of-more-than-32-bytes",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let text = String(decoding: input.rest(), as: UTF8.self)
    let document: ConfigNode
    do {
        document = try TOMLParser.parse(text)
    } catch {
        // Count LF bytes: splitting the String on Character "\n" would miss "\r\n", one grapheme.
        let lines = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        check(error.line >= 1 && error.line <= lines, "syntax error on line \(error.line) of \(lines)")
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
            check(!issue.key.isEmpty, "an issue without a key: \(describe(issue.message))")
            check(!issue.message.isEmpty, "an issue without a message")
        }
    }
    return 0
}
