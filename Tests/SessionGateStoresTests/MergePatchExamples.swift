import Testing
import SessionGateCore

/// RFC 7396 Appendix A, checked against every SQL merge implementation.
enum MergePatchExamples {
    struct Example: Sendable, CustomTestStringConvertible {
        let target: String
        let patch: String
        let result: String

        func expected() throws -> JSONValue { try JSONParser.parse(result) }
        var testDescription: String { "\(target) + \(patch)" }
    }

    static let rfc7396AppendixA: [Example] = [
        Example(target: #"{"a":"b"}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Example(target: #"{"a":"b"}"#, patch: #"{"b":"c"}"#, result: #"{"a":"b","b":"c"}"#),
        Example(target: #"{"a":"b"}"#, patch: #"{"a":null}"#, result: #"{}"#),
        Example(target: #"{"a":"b","b":"c"}"#, patch: #"{"a":null}"#, result: #"{"b":"c"}"#),
        Example(target: #"{"a":["b"]}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
        Example(target: #"{"a":"c"}"#, patch: #"{"a":["b"]}"#, result: #"{"a":["b"]}"#),
        Example(
            target: #"{"a":{"b":"c"}}"#, patch: #"{"a":{"b":"d","c":null}}"#, result: #"{"a":{"b":"d"}}"#),
        Example(target: #"{"a":[{"b":"c"}]}"#, patch: #"{"a":[1]}"#, result: #"{"a":[1]}"#),
        Example(target: #"["a","b"]"#, patch: #"["c","d"]"#, result: #"["c","d"]"#),
        Example(target: #"{"a":"b"}"#, patch: #"["c"]"#, result: #"["c"]"#),
        Example(target: #"{"a":"foo"}"#, patch: "null", result: "null"),
        Example(target: #"{"a":"foo"}"#, patch: #""bar""#, result: #""bar""#),
        Example(target: #"{"e":null}"#, patch: #"{"a":1}"#, result: #"{"e":null,"a":1}"#),
        Example(target: #"[1,2]"#, patch: #"{"a":"b","c":null}"#, result: #"{"a":"b"}"#),
        Example(target: #"{}"#, patch: #"{"a":{"bb":{"ccc":null}}}"#, result: #"{"a":{"bb":{}}}"#),
    ]
}
