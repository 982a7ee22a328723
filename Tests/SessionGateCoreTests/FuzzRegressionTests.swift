import Testing

@testable import SessionGateCore

/// Inputs the libFuzzer targets in `Fuzz/` (run by `scripts/fuzz.sh`) found to break a property,
/// kept as ordinary tests so a fixed bug stays fixed without a fuzz build. Each test names the fuzz
/// target and the property; the crashing input is also in `Fuzz/corpus/<target>/`.
@Suite struct FuzzRegressionTests {
    /// FuzzConfig and FuzzTOML, "every issue has a non-empty key": an unknown top-level key spelled
    /// as the empty string (valid TOML: `"" = 1`) was reported under the key "".
    @Test func unknownEmptyTopLevelKeyIsReportedUnderANonEmptyKey() throws {
        let document = ConfigNode.table([(key: "", value: .integer(1))])
        let result = ConfigLoader.load(document, environment: [:], configDirectory: "/etc/sessiongate")
        guard case .failure(let errors) = result else {
            Issue.record("a document with an unknown key was accepted")
            return
        }
        #expect(!errors.issues.isEmpty)
        for issue in errors.issues {
            #expect(!issue.key.isEmpty, "issue without a key: \(issue.message)")
        }
    }

    /// The same for empty keys inside sections: the issue names the section, not a bare dot.
    @Test(arguments: ["server", "cookie", "store", "signing", "log", "routes"])
    func unknownEmptyKeyInASectionNamesTheSection(section: String) throws {
        let document = ConfigNode.table([(key: section, value: .table([(key: "", value: .integer(1))]))])
        let result = ConfigLoader.load(document, environment: [:], configDirectory: "/etc/sessiongate")
        guard case .failure(let errors) = result else {
            Issue.record("a document with an unknown key was accepted")
            return
        }
        let unknown = try #require(errors.issues.first { $0.message.hasPrefix("unknown key") })
        #expect(unknown.key.hasPrefix(section))
    }

    /// FuzzDirectives, "agrees with the directive rules": `X-Session-Action` verbs are ASCII tokens,
    /// but they were matched after Unicode lower-casing, so `revo\u{212A}e-all` (KELVIN SIGN, which
    /// lower-cases to "k") and `\u{212A}` spellings were read as real verbs.
    @Test(arguments: ["revo\u{212A}e-all", "revo\u{212A}e-others", "ROTATE\u{0307}"])
    func nonASCIIActionSpellingsAreRefused(value: String) {
        let result = SessionDirectives.parse(set: [], action: [value], lifetime: [])
        guard case .failure(let error) = result else {
            Issue.record("accepted a non-ASCII spelling of an action")
            return
        }
        #expect(error.header == "X-Session-Action")
    }

    /// The ASCII spellings in any case still work (the fix must not over-correct).
    @Test func asciiActionSpellingsInAnyCaseAreAccepted() throws {
        let result = SessionDirectives.parse(set: [], action: ["ROTATE, Revoke-Others,revoke-ALL"], lifetime: [])
        let directives = try result.get()
        #expect(directives.actions == [.rotate, .revokeOthers, .revokeAll])
    }

    /// FuzzConfig, "whatever the loader accepts, the runtime accepts": the same cookie key listed
    /// twice passed the loader (`sessiongate check` said ok) but `CookieKeyRing` refuses duplicate
    /// key ids, so `serve` would not start and a SIGHUP reload would be rejected late.
    @Test func duplicateCookieKeysAreRefusedByTheLoader() {
        let key = Base64.encode((0..<32).map { UInt8($0) })
        let result = ConfigLoader.load(minimalDocument(cookieKeys: [key, key]), environment: [:], configDirectory: "/etc/sessiongate")
        guard case .failure(let errors) = result else {
            Issue.record("duplicate cookie keys were accepted")
            return
        }
        #expect(errors.keys.contains { $0.hasPrefix("cookie.keys") })
    }

    /// The same document with two different keys loads, and its key ring builds.
    @Test func distinctCookieKeysLoadAndBuildAKeyRing() throws {
        let keys = [Base64.encode((0..<32).map { UInt8($0) }), Base64.encode((0..<32).map { UInt8($0 + 32) })]
        let config = try ConfigLoader.load(minimalDocument(cookieKeys: keys), environment: [:], configDirectory: "/etc/sessiongate").get()
        let ring = try CookieKeyRing(keys: config.cookie.keys)
        #expect(ring.keyIDs.count == 2)
    }

    /// The smallest valid configuration with the given cookie keys.
    private func minimalDocument(cookieKeys: [String]) -> ConfigNode {
        .table([
            (key: "upstream", value: .table([(key: "url", value: .string("http://127.0.0.1:3000"))])),
            (key: "cookie", value: .table([(key: "keys", value: .array(cookieKeys.map(ConfigNode.string)))])),
            (key: "signing", value: .table([(key: "secret", value: .string("hs256-secret-that-is-long-enough-0123456789"))])),
        ])
    }

    /// FuzzResponseFramer, "the framer reuses a connection only when NIO's decoder agrees the
    /// response ended there": each input below is one NIO refuses (bare LF, CR inside the reason,
    /// a delimiter in a header name, bad trailer names, chunk extensions, duplicate or tabbed
    /// Content-Length, Content-Length with Transfer-Encoding on a 204, an HTTP/1.0 interim answer);
    /// the framer must never call it a clean, reusable end.
    @Test(arguments: [
        (
            "regression-bad-length-on-304", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 10, 67,
                111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58, 65, 114, 114, 97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-bare-lf", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103,
                116, 104, 58, 32, 50, 10, 10, 111, 107,
            ]
        ),
        (
            "regression-chunk-extension", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 97, 61, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 88, 58, 32, 121, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-cr-in-reason", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 114, 114,
                97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-duplicate-length", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 75, 13, 10, 67, 111, 110, 110, 101, 99, 116, 110, 116, 101, 110, 116,
                45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105, 111, 110, 58, 32, 99, 108, 118, 115, 41, 44, 44, 44, 44, 44, 50, 48, 32,
                75, 13, 10, 67, 111, 110, 110, 101, 99, 116, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105,
                111, 101, 99, 116, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 110, 101, 99, 116, 105, 111, 110, 58, 32, 99, 108,
                115, 41, 44, 44, 44, 44, 44, 50, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116,
                45, 76, 101, 110, 103, 116, 104, 58, 32, 48, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58,
                32, 48, 13, 10, 104, 58, 32, 48, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-empty-extension", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 13, 10, 88, 58, 32, 121, 13, 10, 13,
                10,
            ]
        ),
        (
            "regression-extension-equals", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 52, 48, 48, 32, 79, 75, 67, 101, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69,
                110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 48, 59, 97, 61, 114, 97, 110,
                65, 102, 101, 110, 99, 111, 114, 61, 69, 110, 99, 111, 100, 105, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-interim-http10", false,
            [
                72, 84, 84, 80, 47, 49, 46, 48, 32, 49, 48, 48, 32, 67, 111, 110, 96, 105, 110, 117, 101, 13, 10, 13, 10, 72, 84, 84, 80,
                47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58,
                32, 49, 13, 10, 13, 10, 120,
            ]
        ),
        (
            "regression-length-and-coding-on-204", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 52, 32, 79, 75, 101, 44, 44, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110,
                103, 58, 32, 35, 49, 100, 105, 110, 103, 58, 115, 102, 147, 141, 158, 145, 140, 153, 154, 141, 45, 69, 110, 99, 36, 105,
                110, 103, 58, 115, 102, 101, 114, 97, 110, 115, 102, 101, 114, 45, 72, 49, 255, 255, 75, 13, 10, 84, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 75, 13, 10, 84, 114, 97, 110, 115, 102,
                101, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 103, 58, 32, 99, 50, 13, 10, 88, 58,
                32, 9, 121, 13, 10, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 110, 99, 111,
                100, 105, 110, 103, 102, 100, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32,
                50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 69, 59, 99, 111, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58,
                32, 9, 121, 13, 10, 88, 58, 32, 9, 121, 13, 10, 111, 100, 105, 110, 103, 58, 32, 99, 49, 13, 10, 88, 58, 69, 110, 99, 111,
                100, 105, 110, 103, 102, 100, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32,
                50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58,
                32, 99, 50, 13, 10, 103, 58, 32, 99, 37, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99,
                50, 13, 10, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 58, 9, 121, 32,
                49, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 105,
                110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 115,
                99, 99, 111, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116, 103, 58, 111, 100, 105, 110, 103, 102, 100, 114,
                45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13,
                10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 103, 58,
                32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 50, 48, 48, 32, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 32, 49, 48, 48, 32, 79,
                75, 13, 10, 84, 111, 100, 105, 110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 105, 110, 103, 58, 32, 99,
                50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 116, 101, 110, 116, 45, 76, 101, 110, 103, 114, 45, 69, 105,
                110, 103, 58, 32, 99, 50, 13, 10, 88, 58, 32, 9, 121, 114, 45, 69, 110, 99, 111, 100, 105, 110, 103, 58, 32, 99, 49, 115,
                99, 99, 111, 44, 44, 44, 44, 111, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 116, 104, 58, 32, 48, 13,
                10, 13, 10,
            ]
        ),
        (
            "regression-length-tab", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 54, 32, 79, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103,
                116, 104, 58, 32, 48, 9, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-name-delimiter", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 48, 52, 32, 78, 111, 116, 32, 77, 111, 100, 105, 102, 105, 101, 100, 13, 10, 67,
                111, 110, 116, 101, 110, 116, 45, 76, 101, 110, 103, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125, 125,
                125, 125, 125, 125, 125, 116, 104, 58, 65, 114, 114, 97, 121, 32, 51, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-trailer-content-length", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 51, 57, 57, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 53, 59, 97, 53, 98, 13, 10, 104, 101,
                108, 108, 111, 13, 10, 48, 13, 10, 88, 58, 84, 80, 47, 50, 110, 110, 101, 99, 116, 105, 255, 255, 255, 255, 255, 255, 255,
                255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 111, 110, 32, 50, 75, 13, 10, 67, 111, 110, 116, 101, 110, 116, 45, 76,
                101, 110, 103, 116, 104, 58, 58, 32, 13, 10, 13, 10,
            ]
        ),
        (
            "regression-trailer-name", false,
            [
                72, 84, 84, 80, 47, 49, 46, 49, 32, 50, 48, 48, 32, 79, 75, 13, 10, 84, 114, 97, 110, 115, 102, 101, 114, 45, 69, 110, 99,
                111, 100, 105, 110, 103, 58, 32, 99, 104, 117, 110, 107, 101, 100, 13, 10, 13, 10, 53, 59, 97, 61, 98, 13, 10, 104, 101,
                108, 108, 111, 13, 10, 48, 13, 10, 88, 93, 58, 32, 121, 13, 10, 13, 10,
            ]
        ),
    ])
    func responseFramerNeverReusesWhatNIORefuses(name: String, head: Bool, bytes: [UInt8]) {
        var framer = ResponseFramer()
        framer.expectResponse(toHEAD: head)
        let verdict = framer.consume(bytes)
        #expect(!(verdict == .ok && framer.isIdle && framer.isReusable), "\(name)")
    }
}
