import Testing

@testable import SessionGateCore

@Suite struct DirectivesTests {
    private func parse(set: [String] = [], action: [String] = [], lifetime: [String] = []) -> Result<
        SessionDirectives, DirectiveError
    > {
        SessionDirectives.parse(set: set, action: action, lifetime: lifetime)
    }

    @Test func noHeadersIsEmpty() throws {
        let directives = try parse().get()
        #expect(directives.isEmpty)
        #expect(directives == SessionDirectives())
    }

    @Test func patchesKeepHeaderOrderAndNullMeansDestroy() throws {
        let directives = try parse(set: [#"{"user_id":1}"#, "null", #" {"a":{"b":null}} "#, "{}"]).get()
        #expect(directives.patches == [["user_id": 1], nil, ["a": ["b": nil]], [:]])
        #expect(!directives.isEmpty)
    }

    @Test(arguments: [
        (["rotate"], [SessionAction.rotate]),
        (["ROTATE"], [.rotate]),
        (["Revoke-Others"], [.revokeOthers]),
        (["rotate, revoke-others"], [.rotate, .revokeOthers]),
        (["destroy", " revoke-all \t"], [.destroy, .revokeAll]),
        (["rotate,,destroy", ""], [.rotate, .destroy]),
        (["revoke-all,rotate", "rotate"], [.revokeAll, .rotate, .rotate]),
    ])
    func actionsAreCaseInsensitiveCommaListsInOrder(values: [String], expected: [SessionAction]) throws {
        #expect(try parse(action: values).get().actions == expected)
    }

    @Test func revokeTakesOneSidAndKeepsItsCase() throws {
        let directives = try parse(action: ["Revoke AbC-_9", "rotate, revoke  xyz\t", "revoke q"]).get()
        #expect(directives.revocations == ["AbC-_9", "xyz", "q"])
        #expect(directives.actions == [.rotate])
        #expect(!directives.isEmpty)
        #expect(!(try parse(action: ["revoke abc"]).get().isEmpty))
    }

    @Test(arguments: ["revoke", "revoke a b", "revoke a/b", "revoke a%20", "revoke " + String(repeating: "a", count: 65), "rotate now"])
    func malformedRevokesFailTheWholeSet(value: String) {
        #expect(throws: DirectiveError.self) { try parse(set: [#"{"a":1}"#], action: [value]).get() }
    }

    @Test(arguments: [
        ("1", Int64(1)), ("3600", 3600), (" 86400 ", 86400), ("007", 7),
        ("99999999999999999999999", Int64.max),
    ])
    func lifetimeIsWholePositiveSeconds(value: String, expected: Int64) throws {
        #expect(try parse(lifetime: [value]).get().lifetime == expected)
    }

    @Test(arguments: ["0", "-1", "1.5", "1e3", "", " ", "abc", "+5", "60s", "60, 60", "0x10", "١٢"])
    func invalidLifetimeIsMalformed(value: String) throws {
        let error = try #require(parse(lifetime: [value]).failure)
        #expect(error.header == "X-Session-Lifetime")
    }

    @Test func moreThanOneLifetimeIsMalformed() throws {
        let error = try #require(parse(lifetime: ["60", "60"]).failure)
        #expect(error.header == "X-Session-Lifetime")
        #expect(error.reason.contains("more than once"))
    }

    @Test(arguments: ["[1]", "1", "\"x\"", "true", "{", "{\"a\":1} {}", "", "{'a':1}", "NaN"])
    func nonObjectOrInvalidPatchIsMalformed(value: String) throws {
        let error = try #require(parse(set: [#"{"ok":1}"#, value]).failure)
        #expect(error.header == "X-Session-Set")
        #expect(error.position == 1)
    }

    @Test(arguments: ["reset", "rotate;", "rotate destroy", "revoke_all", "revokeAll"])
    func unknownActionIsMalformed(value: String) throws {
        let error = try #require(parse(action: ["rotate", value]).failure)
        #expect(error.header == "X-Session-Action")
        #expect(error.position == 1)
    }

    @Test func oneMalformedDirectiveFailsTheWholeResponse() {
        #expect(parse(set: [#"{"user_id":1}"#], action: ["rotate"], lifetime: ["0"]).failure != nil)
        #expect(parse(set: [#"{"user_id":1}"#], action: ["nope"], lifetime: ["60"]).failure != nil)
        #expect(parse(set: ["[]"], action: ["rotate"], lifetime: ["60"]).failure != nil)
    }

    @Test func allThreeTogether() throws {
        let directives = try parse(set: [#"{"user_id":"u1"}"#], action: ["rotate"], lifetime: ["2592000"]).get()
        #expect(directives == SessionDirectives(patches: [["user_id": "u1"]], actions: [.rotate], lifetime: 2_592_000))
    }

    @Test func errorsEchoOnlyAShortSanitisedPrefix() throws {
        let actionError = try #require(parse(action: ["rotate-everything-token=hunter2"]).failure)
        #expect(!actionError.description.contains("hunter2"))
        #expect(actionError.description.contains("\"rotate-everythin…\""))
        let setError = try #require(parse(set: [#"{"password":"hunter2""#]).failure)
        #expect(!setError.description.contains("hunter2"))
        let arrayError = try #require(parse(set: [#"["hunter2"]"#]).failure)
        #expect(!arrayError.description.contains("hunter2"))
        #expect(arrayError.description.contains("an array"))
        let controlError = try #require(parse(action: ["\u{1B}[31mred"]).failure)
        #expect(!controlError.description.contains("\u{1B}"))
    }
}

extension Result {
    /// The error of a failed result (shared by this target's tests).
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
