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
}
