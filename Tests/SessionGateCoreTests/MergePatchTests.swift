import Testing

@testable import SessionGateCore

@Suite struct MergePatchTests {
    /// Every example of RFC 7396 Appendix A: (original, patch, result).
    static let appendixA: [(String, String, String)] = [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ]

    @Test func appendixAHasAllFifteenExamples() {
        #expect(Self.appendixA.count == 15)
    }

    @Test(arguments: appendixA)
    func rfc7396AppendixA(original: String, patch: String, result: String) throws {
        let target = try JSONParser.parse(original)
        let patchValue = try JSONParser.parse(patch)
        #expect(MergePatch.apply(patchValue, to: target) == (try JSONParser.parse(result)))
    }

    @Test func rfc7396Section1Example() throws {
        let target = try JSONParser.parse(#"{"a":"b","c":{"d":"e","f":"g"}}"#)
        let patch = try JSONParser.parse(#"{"a":"z","c":{"f":null}}"#)
        #expect(MergePatch.apply(patch, to: target) == (try JSONParser.parse(#"{"a":"z","c":{"d":"e"}}"#)))
    }

    @Test func rfc7396Section3Example() throws {
        let target = try JSONParser.parse(
            #"""
            {"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},
             "tags":["example","sample"],"content":"This will be unchanged"}
            """#)
        let patch = try JSONParser.parse(
            #"""
            {"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]}
            """#)
        let expected = try JSONParser.parse(
            #"""
            {"title":"Hello!","author":{"givenName":"John"},"tags":["example"],
             "content":"This will be unchanged","phoneNumber":"+01-123-456-7890"}
            """#)
        #expect(MergePatch.apply(patch, to: target) == expected)
    }

    @Test func emptyPatchKeepsAnObjectAndTurnsOtherTargetsIntoEmptyObjects() {
        #expect(MergePatch.apply([:], to: ["a": 1]) == ["a": 1])
        #expect(MergePatch.apply([:], to: nil) == .object([:]))
        #expect(MergePatch.apply([:], to: [1, 2]) == .object([:]))
    }

    @Test func patchesApplyInOrderAndAreIdempotent() {
        var session: JSONValue = [:]
        session = MergePatch.apply(["user_id": 7, "cart": ["items": 1]], to: session)
        session = MergePatch.apply(["cart": ["items": 2, "coupon": "X"]], to: session)
        #expect(session == ["user_id": 7, "cart": ["items": 2, "coupon": "X"]])
        let patch: JSONValue = ["cart": ["coupon": nil], "theme": "dark"]
        let once = MergePatch.apply(patch, to: session)
        #expect(MergePatch.apply(patch, to: once) == once)
        #expect(once == ["user_id": 7, "cart": ["items": 2], "theme": "dark"])
    }
}
